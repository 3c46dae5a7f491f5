r"""Regression losses: how far a real-valued prediction is from a real-valued target.

All functions take ``input`` (the prediction :math:`\hat y`) and ``target`` (:math:`y`) of
the same shape, as NumPy arrays or torch tensors, and work on the residual
:math:`r = \hat y - y`. Each loss has a NumPy-and-torch gradient ``<name>_grad`` that
returns :math:`\partial L / \partial \hat y` for the same reduction.

Four of them have a fused ``torch.nn.functional`` twin that tensors run (each docstring names
it); the formula written here is what NumPy runs, and the tests hold the two together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lossbook._backend import ArrayT, Namespace
from lossbook._reduction import check_reduction, gradient_of, reduce, reduce_grad
from lossbook._validation import (
    check_finite_after,
    check_open_interval,
    check_positive,
    prepare_pair,
)

__all__ = [
    "mse", "mse_grad",
    "mae", "mae_grad",
    "huber", "huber_grad",
    "smooth_l1", "smooth_l1_grad",
    "log_cosh", "log_cosh_grad",
    "quantile", "quantile_grad",
]


def _residual(input: Any, target: Any, reduction: str) -> tuple[Namespace, Any]:
    check_reduction(reduction)
    xp, input, target = prepare_pair(input, target)
    return xp, input - target


def _loss(
    input: Any,
    target: Any,
    reduction: str,
    per_element: Callable[[Namespace, Any], Any],
    twin: str | None = None,
    **knobs: Any,
) -> Any:
    """Validate, apply ``per_element(xp, residual)``, reduce; tensors run the fused ``twin``
    (called with ``knobs``) when there is one."""
    check_reduction(reduction)
    xp, x, y = prepare_pair(input, target, finite=False)
    out = xp.fused(twin, lambda: reduce(per_element(xp, x - y), reduction),
                   x, y, reduction=reduction, **knobs)
    # any NaN or inf in input or target makes every one of these losses NaN or inf
    return check_finite_after(xp, out, reduction, input=x, target=y)


# ----------------------------------------------------------------------------------------- MSE
def mse(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Mean squared error (squared L2 loss).

    The unreduced loss is :math:`\ell = \{l_1, \dots, l_N\}` with

    .. math::
        l_n = (\hat y_n - y_n)^2 .

    ``'mean'`` returns :math:`\frac1N \sum_n l_n`, ``'sum'`` returns :math:`\sum_n l_n`.

    Squaring makes large errors count far more than small ones, so a few outliers can
    dominate the fit; in exchange the loss is smooth and its gradient :math:`2r` shrinks as
    the prediction approaches the target. Minimising it estimates the conditional *mean*.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input`` (integer targets are cast to its dtype).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar, or an array shaped like ``input`` when ``reduction='none'``; the same
        kind (NumPy or torch) as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        No ½ factor, matching ``torch.nn.functional.mse_loss``, ``optax.squared_error`` and
        ``sklearn.metrics.mean_squared_error``; many textbooks (and ``optax.l2_loss``) write
        :math:`\frac12 r^2` so that the gradient is exactly :math:`r`.

        Tensors run the fused kernel ``torch.nn.functional.mse_loss`` (same value and gradient).

    References:
        Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 5.5.1.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])))
        1.3333333333333333
    """
    return _loss(input, target, reduction, lambda xp, r: r * r, "mse_loss")


@gradient_of(mse)
def mse_grad(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`mse` with respect to ``input``: :math:`2 r` per element.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.mse_grad(np.array([1.0, 2.0]), np.array([0.0, 0.0]), reduction="sum")
        array([2., 4.])
    """
    _, r = _residual(input, target, reduction)
    return reduce_grad(2.0 * r, reduction)


# ----------------------------------------------------------------------------------------- MAE
def mae(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Mean absolute error (L1 loss).

    .. math::
        l_n = |\hat y_n - y_n| .

    Every unit of error costs the same, so outliers pull on the fit no harder than any other
    point: the minimiser is the conditional *median*. The gradient is :math:`\pm 1` whatever
    the size of the error, which makes plain gradient descent oscillate near the optimum
    unless the learning rate decays.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.l1_loss`` and
        ``sklearn.metrics.mean_absolute_error``. At :math:`r = 0` the gradient used is 0.

        Tensors run the fused kernel ``torch.nn.functional.l1_loss`` (same value and gradient).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.mae(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])))
        0.6666666666666666
    """
    return _loss(input, target, reduction, lambda xp, r: xp.abs(r), "l1_loss")


@gradient_of(mae)
def mae_grad(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`mae` with respect to ``input``: :math:`\operatorname{sign}(r)`.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.mae_grad(np.array([3.0, -1.0, 0.0]), np.zeros(3), reduction="none")
        array([ 1., -1.,  0.])
    """
    xp, r = _residual(input, target, reduction)
    return reduce_grad(xp.sign(r), reduction)


# --------------------------------------------------------------------------------------- Huber
def huber(input: ArrayT, target: ArrayT, *, delta: float = 1.0, reduction: str = "mean") -> ArrayT:
    r"""Huber loss: quadratic for small residuals, linear for large ones.

    .. math::
        l_n = \begin{cases}
            \frac12 r_n^2 & |r_n| \le \delta \\
            \delta \left(|r_n| - \frac12 \delta\right) & |r_n| > \delta
        \end{cases}

    The two pieces meet with equal value and slope at :math:`|r| = \delta`, so the loss is
    smooth like MSE near the target and robust like MAE far from it. ``delta`` is in the units
    of the target: residuals beyond it are treated as possible outliers.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        delta: where the quadratic part turns linear; must be > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``delta``, NumPy and torch mixed.
        ValueError: ``delta <= 0``, shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        Equals ``torch.nn.functional.huber_loss(delta=delta)``. Huber and
        :func:`smooth_l1` differ only by scale: ``huber(delta=d) == d * smooth_l1(beta=d)``.

        Tensors run the fused kernel ``torch.nn.functional.huber_loss`` (same value and
        gradient).

    References:
        Huber, P. J. (1964). Robust estimation of a location parameter. *Annals of
        Mathematical Statistics* 35(1).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.huber(np.array([0.5, 3.0]), np.zeros(2), delta=1.0, reduction="none")
        array([0.125, 2.5  ])
    """
    delta = check_positive("delta", delta)

    def per_element(xp: Namespace, r: Any) -> Any:
        a = xp.abs(r)
        # Branch-free form: m = min(|r|, delta) never squares a huge residual (no overflow).
        m = xp.minimum(a, delta)
        return 0.5 * m * m + delta * (a - m)

    return _loss(input, target, reduction, per_element, "huber_loss", delta=delta)


@gradient_of(huber)
def huber_grad(input: ArrayT, target: ArrayT, *, delta: float = 1.0, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`huber`: :math:`r` inside :math:`[-\delta, \delta]`, else
    :math:`\delta \operatorname{sign}(r)`, i.e. :math:`r` clipped to :math:`[-\delta, \delta]`.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.huber_grad(np.array([0.5, 3.0, -3.0]), np.zeros(3), delta=1.0, reduction="none")
        array([ 0.5,  1. , -1. ])
    """
    delta = check_positive("delta", delta)
    xp, r = _residual(input, target, reduction)
    return reduce_grad(xp.sign(r) * xp.minimum(xp.abs(r), delta), reduction)


# ----------------------------------------------------------------------------------- Smooth L1
def smooth_l1(input: ArrayT, target: ArrayT, *, beta: float = 1.0, reduction: str = "mean") -> ArrayT:
    r"""Smooth L1 loss: Huber rescaled so that the linear part has slope 1.

    .. math::
        l_n = \begin{cases}
            \frac{r_n^2}{2\beta} & |r_n| < \beta \\
            |r_n| - \frac12 \beta & |r_n| \ge \beta
        \end{cases}

    As ``beta`` shrinks the loss tends to MAE; the gradient never exceeds 1 in size, which is
    why Fast R-CNN (Girshick, 2015) introduced it, with :math:`\beta = 1`, for box regression.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        beta: width of the quadratic zone; must be > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``beta``, NumPy and torch mixed.
        ValueError: ``beta <= 0``, shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        Equals ``torch.nn.functional.smooth_l1_loss(beta=beta)``; torch also accepts
        ``beta=0`` (pure L1), lossbook asks for :func:`mae` instead.

        Tensors run the fused kernel ``torch.nn.functional.smooth_l1_loss`` (same value and
        gradient).

    References:
        Girshick, R. (2015). Fast R-CNN. ICCV.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.smooth_l1(np.array([0.5, 3.0]), np.zeros(2), beta=1.0, reduction="none")
        array([0.125, 2.5  ])
    """
    beta = check_positive("beta", beta)

    def per_element(xp: Namespace, r: Any) -> Any:
        a = xp.abs(r)
        m = xp.minimum(a, beta)  # same branch-free trick as huber
        return m * m / (2.0 * beta) + (a - m)

    return _loss(input, target, reduction, per_element, "smooth_l1_loss", beta=beta)


@gradient_of(smooth_l1)
def smooth_l1_grad(input: ArrayT, target: ArrayT, *, beta: float = 1.0, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`smooth_l1`: :math:`r / \beta` clipped to :math:`[-1, 1]`.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.smooth_l1_grad(np.array([0.5, 3.0]), np.zeros(2), beta=2.0, reduction="none")
        array([0.25, 1.  ])
    """
    beta = check_positive("beta", beta)
    xp, r = _residual(input, target, reduction)
    # clip before dividing: r / beta overflows for a huge residual and a tiny beta
    return reduce_grad(xp.minimum(xp.maximum(r, -beta), beta) / beta, reduction)


# ------------------------------------------------------------------------------------ log-cosh
_LOG2 = math.log(2.0)


def log_cosh(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Log-cosh loss: :math:`\log\cosh(r)`, like :math:`r^2/2` near 0 and :math:`|r| - \log 2`
    far away.

    .. math::
        l_n = \log \cosh(\hat y_n - y_n)
            = |r_n| + \log\!\left(1 + e^{-2|r_n|}\right) - \log 2 .

    A smooth cousin of Huber with :math:`\delta \approx 1` and no knob; it is twice
    differentiable everywhere, which some second-order optimisers (and gradient-boosting
    libraries) need.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        ``np.log(np.cosh(r))`` overflows to ``inf`` once :math:`|r|` exceeds about 710.48 in
        float64 (89.42 in float32). The right-hand form above only exponentiates :math:`-2|r| \le 0`, so it is
        finite for every finite residual.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.log_cosh(np.array([0.0, 1e4]), np.zeros(2), reduction="none")
        array([   0.        , 9999.30685282])
    """

    def per_element(xp: Namespace, r: Any) -> Any:
        a = xp.abs(r)
        # log(cosh r) = |r| + log1p(exp(-2|r|)) - log 2: exp of a non-positive number never
        # overflows.
        return a + xp.log1p(xp.exp(-2.0 * a)) - _LOG2

    return _loss(input, target, reduction, per_element)


@gradient_of(log_cosh)
def log_cosh_grad(input: ArrayT, target: ArrayT, *, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`log_cosh`: :math:`\tanh(r)`, bounded by 1 like MAE's.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.log_cosh_grad(np.array([0.0, 1e4]), np.zeros(2), reduction="none")
        array([0., 1.])
    """
    xp, r = _residual(input, target, reduction)
    return reduce_grad(xp.tanh(r), reduction)


# ------------------------------------------------------------------------------------ quantile
def quantile(input: ArrayT, target: ArrayT, *, q: float = 0.5, reduction: str = "mean") -> ArrayT:
    r"""Quantile (pinball) loss: fits the ``q``-th conditional quantile instead of the mean.

    With :math:`u_n = y_n - \hat y_n` (target minus prediction),

    .. math::
        l_n = \max\left(q\, u_n,\; (q - 1)\, u_n\right)
            = \begin{cases} q\, u_n & u_n \ge 0 \\ (1 - q)(-u_n) & u_n < 0 \end{cases}

    Under-predictions cost :math:`q` per unit and over-predictions :math:`1 - q`, so the
    minimiser is the value below which a fraction :math:`q` of the targets fall. Two models
    trained with :math:`q = 0.05` and :math:`q = 0.95` give a 90% prediction interval;
    ``q = 0.5`` is half the MAE.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        q: the quantile, strictly between 0 and 1.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``q``, NumPy and torch mixed.
        ValueError: ``q`` outside (0, 1), shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        ``reduction='mean'`` equals ``sklearn.metrics.mean_pinball_loss(target, input,
        alpha=q)``. At :math:`u = 0` the gradient used is :math:`-q`.

    References:
        Koenker, R. & Bassett, G. (1978). Regression quantiles. *Econometrica* 46(1).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> # target 10: predicting 8 (too low) costs 0.9 * 2, predicting 12 costs 0.1 * 2
        >>> lb.quantile(np.array([8.0, 12.0]), np.array([10.0, 10.0]), q=0.9, reduction="none")
        array([1.8, 0.2])
    """
    q = check_open_interval("q", q, 0.0, 1.0)
    # r = prediction - target = -u
    return _loss(input, target, reduction, lambda xp, r: xp.where(r > 0, (1.0 - q) * r, -q * r))


@gradient_of(quantile)
def quantile_grad(input: ArrayT, target: ArrayT, *, q: float = 0.5, reduction: str = "mean") -> ArrayT:
    r"""Gradient of :func:`quantile` with respect to ``input``: :math:`1 - q` where the
    prediction is too high, :math:`-q` elsewhere.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.quantile_grad(np.array([8.0, 12.0]), np.array([10.0, 10.0]), q=0.9, reduction="none")
        array([-0.9,  0.1])
    """
    q = check_open_interval("q", q, 0.0, 1.0)
    xp, r = _residual(input, target, reduction)
    return reduce_grad(xp.where(r > 0, xp.full_like(r, 1.0 - q), xp.full_like(r, -q)), reduction)
