"""The few array primitives that differ between NumPy and torch.

Every loss in lossbook is written once, in terms of Python operators (``+``, ``*``, ``**``)
and the functions below. Each function looks at the kind of its first argument and calls
NumPy or torch. torch is only touched when a tensor arrives, so ``import lossbook`` never
imports torch.

Speed: where torch has a fused kernel that computes exactly a loss's formula (``F.mse_loss``,
``F.cross_entropy``, a vector norm...), tensors go to that kernel (see :func:`functional`): one
pass forward and one backward instead of one per operator. The formula stays the NumPy path,
and the tests check the two paths against each other and against the references.
"""

from __future__ import annotations

import math
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


def functional() -> Any:
    """``torch.nn.functional``, for the losses that hand tensors to a fused torch kernel."""
    return _torch().nn.functional


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
        # logaddexp is max(x, 0) + log1p(exp(-|x|)) inside, and its gradient is sigmoid(x)
        return _torch().logaddexp(x, _torch().zeros_like(x))
    return np.logaddexp(0.0, x)


def sum(x: Array) -> Array:  # noqa: A001
    return x.sum() if is_tensor(x) else np.sum(x)


def mean(x: Array) -> Array:
    return x.mean() if is_tensor(x) else np.mean(x)


def full_like(x: Array, value: float) -> Array:
    if is_tensor(x):
        return _torch().full_like(x, value)
    return np.full_like(x, value)


def expm1(x: Array) -> Array:
    return x.expm1() if is_tensor(x) else np.expm1(x)


def log_sigmoid(x: Array) -> Array:
    """log(sigmoid(x)) = -softplus(-x), finite for every finite x."""
    return -softplus(-x)


def sigmoid(x: Array) -> Array:
    if is_tensor(x):
        return x.sigmoid()
    # exp of a non-positive number only: no overflow for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sum_axis(x: Array, axis: int, keepdims: bool = False) -> Array:
    return x.sum(dim=axis, keepdim=keepdims) if is_tensor(x) else np.sum(x, axis=axis, keepdims=keepdims)


def max_axis(x: Array, axis: int, keepdims: bool = False) -> Array:
    if is_tensor(x):
        return x.amax(dim=axis, keepdim=keepdims)
    return np.max(x, axis=axis, keepdims=keepdims)


def logsumexp(x: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """log(sum(exp(x))) along ``axis``, shifted by the maximum so that nothing overflows."""
    if is_tensor(x):
        return _torch().logsumexp(x, dim=axis, keepdim=keepdims)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: Array, axis: int = -1) -> Array:
    """x - logsumexp(x): the log-probabilities of a softmax, computed stably."""
    if is_tensor(x):
        return x.log_softmax(dim=axis)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Array, axis: int = -1) -> Array:
    return exp(log_softmax(x, axis=axis))


def take_along_last(x: Array, index: Array) -> Array:
    """``x[..., index[...]]``: pick one entry of the last axis per row (``index`` has one fewer axis)."""
    if is_tensor(x):
        return x.gather(-1, index.unsqueeze(-1)).squeeze(-1)
    return np.take_along_axis(x, index[..., None], axis=-1)[..., 0]


def one_hot(index: Array, num_classes: int, like: Array) -> Array:
    """One-hot rows of the dtype and device of ``like``."""
    if is_tensor(index):
        torch = _torch()
        return torch.nn.functional.one_hot(index, num_classes).to(like.dtype)
    return np.eye(num_classes, dtype=like.dtype)[index]


def fill_at_index(x: Array, index: Array, value: float) -> Array:
    """A copy of the (M, C) array ``x`` with ``x[m, index[m]] = value`` in every row (no
    gradient flows to the replaced entries)."""
    if is_tensor(x):
        return x.scatter(-1, index[:, None], value)
    out = x.copy()
    out[np.arange(x.shape[0]), index] = value
    return out


def moveaxis(x: Array, source: int, destination: int) -> Array:
    if is_tensor(x):
        return x.movedim(source, destination)
    return np.moveaxis(x, source, destination)


def reshape(x: Array, shape: tuple[int, ...]) -> Array:
    return x.reshape(shape)


def xlogy(x: Array, y: Array) -> Array:
    """x * log(y), defined as 0 where x == 0 (as in information theory)."""
    if is_tensor(x):
        return _torch().special.xlogy(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def log_clamped(x: Array, floor: float = -100.0) -> Array:
    """max(log(x), floor), as torch's binary_cross_entropy computes it.

    The clamp is applied to ``x`` before the log, so log(0) is never evaluated and the gradient
    stays finite (zero where the clamp is active).
    """
    tiny = math.exp(floor)
    if is_tensor(x):
        return x.clamp_min(tiny).log()
    return np.log(np.maximum(x, tiny))


def zeros_like(x: Array) -> Array:
    return _torch().zeros_like(x) if is_tensor(x) else np.zeros_like(x)


def count_true(mask: Array) -> Array:
    return mask.sum() if is_tensor(mask) else np.sum(mask)


def sqrt(x: Array) -> Array:
    return x.sqrt() if is_tensor(x) else np.sqrt(x)


def safe_divide(numerator: Array, denominator: Array) -> Array:
    """numerator / denominator where denominator > 0, else 0 with a zero gradient.

    The losses use it for means over "whatever counted" (targets not ignored, valid pairs,
    relevant items), so that an empty count gives 0 instead of NaN.
    """
    positive = denominator > 0
    return where(positive, numerator / where(positive, denominator, 1.0), 0.0 * numerator)


def safe_sqrt(x: Array) -> Array:
    """sqrt(x) for x >= 0 whose gradient at 0 is 0 instead of inf (distances of identical points)."""
    positive = x > 0
    return where(positive, sqrt(where(positive, x, 1.0)), 0.0)


def l2_normalize(x: Array, eps: float = 1e-12) -> Array:
    """Rows divided by their L2 norm (norms below ``eps`` are clamped, as F.normalize does)."""
    if is_tensor(x):
        return _torch().nn.functional.normalize(x, p=2.0, dim=-1, eps=eps)
    norm = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    return x / np.maximum(norm, eps)


def row_norm(x: Array, p: float = 2.0) -> Array:
    """The p-norm along the last axis (tensors only: the NumPy callers write the formula)."""
    return _torch().linalg.vector_norm(x, ord=p, dim=-1)


def pairwise_distances(x: Array) -> Array:
    """(N, N) Euclidean distances between the rows of a tensor; exactly 0, with a zero
    gradient, where two rows coincide.

    Most entries come from the Gram matrix, ``|a|^2 + |b|^2 - 2 a.b`` (one matrix product,
    fast). That form cancels catastrophically when the distance is small next to the norms,
    so those entries (the diagonal among them) are recomputed from exact differences.
    """
    torch = _torch()
    sq = (x * x).sum(-1)
    scale = sq[:, None] + sq[None, :]
    d2 = (scale - 2.0 * (x @ x.T)).clamp_min(0.0)
    near = (d2 <= 0.01 * scale).detach()
    n, dim = x.shape
    i, j = near.nonzero(as_tuple=True)
    if i.numel() * dim > 8 * n * n:  # most pairs are close: exact differences, all at once
        return torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    diff = x[i] - x[j]
    return safe_sqrt(d2.index_put((i, j), (diff * diff).sum(-1)))


def nonzero(mask: Array) -> tuple[Array, ...]:
    """The indices of the true entries of ``mask``, one index array per axis."""
    return mask.nonzero(as_tuple=True) if is_tensor(mask) else np.nonzero(mask)


def segment_sum(values: Array, index: Array, n: int) -> Array:
    """out[i] = sum of ``values[k]`` over every k with ``index[k] == i``, for i < n."""
    if is_tensor(values):
        return values.new_zeros(n).index_add(0, index, values)
    return np.bincount(index, weights=values, minlength=n).astype(values.dtype, copy=False)


def matmul_t(a: Array, b: Array) -> Array:
    """a @ b.T"""
    return a @ (b.transpose(-1, -2) if is_tensor(b) else b.T)


def concat(arrays: list[Array], axis: int = 0) -> Array:
    if is_tensor(arrays[0]):
        return _torch().cat(arrays, dim=axis)
    return np.concatenate(arrays, axis=axis)


def eye_like(n: int, like: Array) -> Array:
    """A boolean identity matrix on the device of ``like``."""
    if is_tensor(like):
        return _torch().eye(n, dtype=_torch().bool, device=like.device)
    return np.eye(n, dtype=bool)


def arange_like(n: int, like: Array) -> Array:
    if is_tensor(like):
        return _torch().arange(n, device=like.device)
    return np.arange(n)


def any_axis(x: Array, axis: int) -> Array:
    return x.any(dim=axis) if is_tensor(x) else np.any(x, axis=axis)


def min_axis(x: Array, axis: int) -> Array:
    return x.amin(dim=axis) if is_tensor(x) else np.min(x, axis=axis)


def checkpointed(fn: Any, *args: Array) -> Array:
    """Run ``fn(*args)``; with tensors that need gradients, keep none of its intermediates
    (torch.utils.checkpoint recomputes them during the backward pass)."""
    if is_tensor(args[0]) and _torch().is_grad_enabled() and any(a.requires_grad for a in args):
        from torch.utils.checkpoint import checkpoint

        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


def argsort_desc(x: Array) -> Array:
    """Indices that sort the last axis in descending order; ties keep their original order."""
    if is_tensor(x):
        return _torch().argsort(-x, dim=-1, stable=True)
    return np.argsort(-x, axis=-1, kind="stable")


def gather_last(x: Array, index: Array) -> Array:
    """``x`` reordered along its last axis by ``index`` (same shape as ``x``)."""
    if is_tensor(x):
        return x.gather(-1, index)
    return np.take_along_axis(x, index, axis=-1)


def smallest_accurate(x: Array) -> float:
    """The smallest positive value of ``x``'s dtype that keeps full relative precision with
    room to spare (the normal range's floor over the machine epsilon)."""
    info = _torch().finfo(x.dtype) if is_tensor(x) else np.finfo(x.dtype)
    return float(info.tiny / info.eps)


def reverse_logcumsumexp(x: Array) -> Array:
    """out[..., i] = log(sum_{j >= i} exp(x[..., j])), computed stably."""
    if is_tensor(x):
        torch = _torch()
        # Fast form: shift by the row maximum (a constant: the result does not depend on it),
        # then one cumulative sum of exp(). Exact unless a suffix sum falls below the normal
        # floating-point range (a suffix far below the row's maximum, or padding); then the
        # slower, always stable logcumsumexp kernel is used.
        shift = x.detach().amax(dim=-1, keepdim=True)
        sums = torch.cumsum((x - shift).exp().flip(-1), dim=-1).flip(-1)
        if bool(sums.detach().amin() >= smallest_accurate(x)):
            return sums.log() + shift
        return torch.logcumsumexp(x.flip(-1), dim=-1).flip(-1)
    return np.flip(np.logaddexp.accumulate(np.flip(x, -1), axis=-1), -1)


def detach(x: Array) -> Array:
    return x.detach() if is_tensor(x) else x


def log2(x: Array) -> Array:
    return x.log2() if is_tensor(x) else np.log2(x)


def arange_float(n: int, like: Array) -> Array:
    if is_tensor(like):
        return _torch().arange(n, dtype=like.dtype, device=like.device)
    return np.arange(n, dtype=like.dtype)
