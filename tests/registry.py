"""The registry of lossbook losses that drives the generic tests (see test_common.py).

Each entry names the lossbook function, its NumPy gradient (if any), the knob settings to
try, and an independent reference: a torch.nn.functional twin, a scikit-learn metric or a
naive loop written here. A new loss joins every generic test by adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_pinball_loss

import lossbook as lb


def _reduce(per_element: np.ndarray, reduction: str) -> np.ndarray | float:
    if reduction == "mean":
        return float(np.mean(per_element))
    if reduction == "sum":
        return float(np.sum(per_element))
    return per_element


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _log_cosh_loop(input, target, reduction):
    # Naive, element by element, with math.cosh; fine for the moderate residuals it is given.
    import math

    r = (_np(input) - _np(target)).ravel()
    out = np.array([math.log(math.cosh(v)) for v in r]).reshape(np.shape(_np(input)))
    return _reduce(out, reduction)


def _quantile_reference(input, target, reduction, q):
    y_pred, y_true = _np(input), _np(target)
    if reduction == "mean":
        # scikit-learn's pinball loss: alpha * max(y - yhat, 0) + (1 - alpha) * max(yhat - y, 0)
        return mean_pinball_loss(y_true.ravel(), y_pred.ravel(), alpha=q)
    u = y_true - y_pred
    per = np.array([q * v if v >= 0 else (q - 1) * v for v in u.ravel()]).reshape(u.shape)
    return _reduce(per, reduction)


def _torch_ref(fn: Callable[..., torch.Tensor], **fixed: Any) -> Callable[..., Any]:
    def ref(input, target, reduction, **knobs):
        return _np(fn(torch.as_tensor(input), torch.as_tensor(target), reduction=reduction,
                      **fixed, **knobs))

    return ref


@dataclass(frozen=True)
class LossCase:
    name: str
    fn: Callable[..., Any]
    grad: Callable[..., Any] | None
    reference: Callable[..., Any]
    knob_settings: tuple[dict[str, Any], ...] = field(default=({},))
    # Residual scale of "extreme" inputs that must still give finite values and gradients.
    extreme: float = 1e4

    def __str__(self) -> str:  # readable pytest ids
        return self.name


REGRESSION = (
    LossCase("mse", lb.mse, lb.mse_grad, _torch_ref(F.mse_loss)),
    LossCase("mae", lb.mae, lb.mae_grad, _torch_ref(F.l1_loss)),
    LossCase("huber", lb.huber, lb.huber_grad,
             lambda i, t, reduction, delta=1.0: _np(F.huber_loss(
                 torch.as_tensor(i), torch.as_tensor(t), reduction=reduction, delta=delta)),
             ({}, {"delta": 0.3}, {"delta": 2.5})),
    LossCase("smooth_l1", lb.smooth_l1, lb.smooth_l1_grad,
             lambda i, t, reduction, beta=1.0: _np(F.smooth_l1_loss(
                 torch.as_tensor(i), torch.as_tensor(t), reduction=reduction, beta=beta)),
             ({}, {"beta": 0.3}, {"beta": 2.5})),
    LossCase("log_cosh", lb.log_cosh, lb.log_cosh_grad, _log_cosh_loop),
    LossCase("quantile", lb.quantile, lb.quantile_grad,
             lambda i, t, reduction, q=0.5: _quantile_reference(i, t, reduction, q),
             ({}, {"q": 0.1}, {"q": 0.9})),
)

ALL_LOSSES = REGRESSION
