"""The few array primitives that differ between NumPy and torch.

Every loss in lossbook is written once, in terms of Python operators (``+``, ``*``, ``**``)
and the functions below. Each function looks at the kind of its first argument and calls
NumPy or torch. torch is only touched when a tensor arrives, so ``import lossbook`` never
imports torch.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

Array = Any  # a numpy.ndarray or a torch.Tensor


def is_tensor(x: object) -> bool:
    """True when ``x`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _torch() -> Any:
    import torch

    return torch


def abs(x: Array) -> Array:  # noqa: A001 - mirrors numpy/torch naming
    return x.abs() if is_tensor(x) else np.abs(x)


def sign(x: Array) -> Array:
    return x.sign() if is_tensor(x) else np.sign(x)


def exp(x: Array) -> Array:
    return x.exp() if is_tensor(x) else np.exp(x)


def log(x: Array) -> Array:
    return x.log() if is_tensor(x) else np.log(x)


def log1p(x: Array) -> Array:
    return x.log1p() if is_tensor(x) else np.log1p(x)


def tanh(x: Array) -> Array:
    return x.tanh() if is_tensor(x) else np.tanh(x)


def where(condition: Array, a: Array, b: Array) -> Array:
    """Elementwise ``a if condition else b``; ``a`` and ``b`` may be Python scalars."""
    if is_tensor(condition):
        torch = _torch()
        return torch.where(condition, a, b)
    return np.where(condition, a, b)


def maximum(x: Array, y: float) -> Array:
    """Elementwise max of an array and a scalar."""
    return x.clamp_min(y) if is_tensor(x) else np.maximum(x, y)


def minimum(x: Array, y: float) -> Array:
    """Elementwise min of an array and a scalar."""
    return x.clamp_max(y) if is_tensor(x) else np.minimum(x, y)


def softplus(x: Array) -> Array:
    """log(1 + exp(x)) without overflow: log-add-exp of 0 and x."""
    if is_tensor(x):
        return _torch().nn.functional.softplus(x, beta=1.0, threshold=float("inf"))
    return np.logaddexp(0.0, x)


def sum(x: Array) -> Array:  # noqa: A001
    return x.sum() if is_tensor(x) else np.sum(x)


def mean(x: Array) -> Array:
    return x.mean() if is_tensor(x) else np.mean(x)


def full_like(x: Array, value: float) -> Array:
    if is_tensor(x):
        return _torch().full_like(x, value)
    return np.full_like(x, value)
