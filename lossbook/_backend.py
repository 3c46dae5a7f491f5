r"""NumPy or torch: the namespace of a call, and the few primitives that differ between the two.

Every loss in lossbook is written once, with Python operators (``+``, ``*``, ``**``) and the
functions of a *namespace* ``xp``: ``NUMPY`` when the arguments are NumPy arrays, the torch
namespace when they are tensors. The namespace is decided **once per call**, by the validation
that every public function starts with (it checks that the arguments are all of one kind), and
then passed along; nothing below asks an array what it is. This is the pattern of
scikit-learn's ``get_namespace``::

    xp, x, y = prepare_pair(input, target)      # validation decides: NUMPY or the torch one
    loss = 0.5 * xp.abs(x - y) ** 2             # np.abs or torch.abs

Why a namespace of our own and not the array API standard (``array_api_compat``, as
scikit-learn does)? Three reasons. torch is not an array-API namespace by itself: it needs that
extra package to wrap it, a dependency students would install for about twenty functions. The
primitives the losses lean on most (log-sum-exp, log-softmax, softplus, one-hot rows,
checkpointing) are not in the standard at all, so we would write them anyway. And here each one
is written twice, a few lines each, in the two classes below, so a student sees exactly what
differs between the libraries and nothing else.

A namespace has three kinds of members:

- the functions NumPy and torch share, same name and same meaning (``xp.exp``, ``xp.where``,
  ``xp.sum(x, axis=-1)``...: torch accepts NumPy's ``axis`` and ``keepdims``), taken from the
  library itself (:data:`SHARED`): no wrapper at all;
- the primitives that differ, written side by side in :class:`NumPyNamespace` and
  :class:`TorchNamespace` in the same order;
- the fused-kernel policy, :meth:`~TorchNamespace.fused`, the one place where a tensor may leave a
  loss's formula for a ``torch.nn.functional`` twin (see there).

torch is imported only when a tensor arrives, so ``import lossbook`` never imports it.

Types: :data:`ArrayT` is NumPy or torch, never a mix: a signature
``f(input: ArrayT, target: ArrayT) -> ArrayT`` says "NumPy in, NumPy out; tensor in, tensor out".
The NumPy side includes NumPy scalars (``np.float64``): a reduced NumPy loss is one.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["ArrayT", "Namespace", "NumPyNamespace", "TorchNamespace", "NUMPY", "is_tensor",
           "namespace_of", "torch_namespace"]

ArrayT = TypeVar("ArrayT", "np.ndarray | np.number", "torch.Tensor")
"""A NumPy array (or NumPy scalar) or a torch tensor: one kind throughout a signature."""
ArrayT.__module__ = "lossbook"  # public as lossbook.ArrayT: the API reference documents it there

T = TypeVar("T")

# Same name, same meaning in NumPy and torch: a namespace takes them from its library.
SHARED = ("abs", "sign", "exp", "log", "log1p", "log2", "sqrt", "tanh", "where", "full_like",
          "sum", "mean", "amax", "amin", "any", "moveaxis", "concatenate", "finfo", "int64")


def is_tensor(x: object) -> bool:
    """True when ``x`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def namespace_of(x: object) -> Namespace:
    """The namespace of one array: the torch one for a tensor, else ``NUMPY``."""
    return torch_namespace() if is_tensor(x) else NUMPY


class _Common:
    """What the two namespaces share: the shared functions and what is written from them."""

    name: str
    # the shared functions (see SHARED), set from the library by __init__
    abs: Callable[..., Any]
    sign: Callable[..., Any]
    exp: Callable[..., Any]
    log: Callable[..., Any]
    log1p: Callable[..., Any]
    log2: Callable[..., Any]
    sqrt: Callable[..., Any]
    tanh: Callable[..., Any]
    where: Callable[..., Any]
    full_like: Callable[..., Any]
    sum: Callable[..., Any]
    mean: Callable[..., Any]
    amax: Callable[..., Any]
    amin: Callable[..., Any]
    any: Callable[..., Any]
    moveaxis: Callable[..., Any]
    concatenate: Callable[..., Any]
    finfo: Callable[..., Any]
    int64: Any  # the dtype

    def __init__(self, library: Any) -> None:
        for name in SHARED:
            setattr(self, name, getattr(library, name))

    def __repr__(self) -> str:
        return f"<lossbook namespace: {self.name}>"

    def fused(self, twin: str | None, formula: Callable[[], T], *args: Any, when: bool = True,
              **kwargs: Any) -> T:
        """The loss: NumPy arrays always run the ``formula`` (see :meth:`TorchNamespace.fused`)."""
        return formula()

    # ------------------------------------------------------- written once, from the rest
    def log_sigmoid(self, x: Any) -> Any:
        """log(sigmoid(x)) = -softplus(-x), finite for every finite x."""
        return -self.softplus(-x)

    def softmax(self, x: Any, axis: int = -1) -> Any:
        return self.exp(self.log_softmax(x, axis=axis))

    def safe_divide(self, numerator: Any, denominator: Any) -> Any:
        """numerator / denominator where denominator > 0, else 0 with a zero gradient.

        The losses use it for means over "whatever counted" (targets not ignored, valid pairs,
        relevant items), so that an empty count gives 0 instead of NaN.
        """
        positive = denominator > 0
        return self.where(positive, numerator / self.where(positive, denominator, 1.0),
                          0.0 * numerator)

    def safe_sqrt(self, x: Any) -> Any:
        """sqrt(x) for x >= 0 whose gradient at 0 is 0 instead of inf (distances of identical
        points)."""
        positive = x > 0
        return self.where(positive, self.sqrt(self.where(positive, x, 1.0)), 0.0)

    def log_clamped(self, x: Any, floor: float = -100.0) -> Any:
        """max(log(x), floor), as torch's binary_cross_entropy computes it: ``x`` is clamped
        before the log, so log(0) is never evaluated and the gradient stays finite."""
        return self.log(self.maximum(x, math.exp(floor)))

    def smallest_accurate(self, x: Any) -> float:
        """The smallest positive value of ``x``'s dtype that keeps full relative precision with
        room to spare (the normal range's floor over the machine epsilon)."""
        info = self.finfo(x.dtype)
        return float(info.tiny / info.eps)

    # each namespace writes these (and the other primitives that differ) its own way
    def softplus(self, x: Any) -> Any:
        raise NotImplementedError

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        raise NotImplementedError

    def maximum(self, x: Any, y: float) -> Any:
        raise NotImplementedError


class NumPyNamespace(_Common):
    """The primitives for NumPy arrays."""

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(np)

    # dtypes and validation
    def is_floating(self, x: Any) -> bool:
        return bool(np.issubdtype(x.dtype, np.floating))

    def is_integer_or_bool(self, x: Any) -> bool:
        return bool(np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_)

    def astype(self, x: Any, dtype: Any) -> Any:
        return x.astype(dtype)

    def all_finite(self, x: Any) -> bool:
        """True when every value is finite: one cheap sum first (a sum is finite only if every
        term is), the exact elementwise test only when the sum is not finite."""
        if not np.issubdtype(x.dtype, np.inexact):
            return True
        with np.errstate(over="ignore", invalid="ignore"):
            if math.isfinite(float(np.sum(x, dtype=np.float64 if x.itemsize < 4 else None))):
                return True
        return bool(np.isfinite(x).all())

    def min_max(self, x: Any) -> tuple[float, float]:
        return float(np.min(x)), float(np.max(x))

    def detach(self, x: Any) -> Any:
        return x  # NumPy has no autograd graph

    # elementwise
    def maximum(self, x: Any, y: float) -> Any:
        """Elementwise max of an array and a scalar."""
        return np.maximum(x, y)

    def minimum(self, x: Any, y: float) -> Any:
        """Elementwise min of an array and a scalar."""
        return np.minimum(x, y)

    def softplus(self, x: Any) -> Any:
        """log(1 + exp(x)) without overflow: log-add-exp of 0 and x."""
        return np.logaddexp(0.0, x)

    def sigmoid(self, x: Any) -> Any:
        e = np.exp(-np.abs(x))  # exp of a non-positive number only: no overflow for large |x|
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def xlogy(self, x: Any, y: Any) -> Any:
        """x * log(y), defined as 0 where x == 0 (as in information theory)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))

    # along an axis
    def logsumexp(self, x: Any, axis: int = -1, keepdims: bool = False) -> Any:
        """log(sum(exp(x))) along ``axis``, shifted by the maximum so that nothing overflows."""
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        return out if keepdims else np.squeeze(out, axis=axis)

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        """x - logsumexp(x): the log-probabilities of a softmax, computed stably."""
        return x - self.logsumexp(x, axis=axis, keepdims=True)

    def reverse_logcumsumexp(self, x: Any) -> Any:
        """out[..., i] = log(sum_{j >= i} exp(x[..., j])), computed stably."""
        return np.flip(np.logaddexp.accumulate(np.flip(x, -1), axis=-1), -1)

    def argsort_desc(self, x: Any) -> Any:
        """Indices that sort the last axis in descending order; ties keep their order."""
        return np.argsort(-x, axis=-1, kind="stable")

    # gathering and scattering
    def take_along_last(self, x: Any, index: Any) -> Any:
        """``x[..., index[...]]``: one entry of the last axis per row (``index`` has one
        fewer axis)."""
        return np.take_along_axis(x, index[..., None], axis=-1)[..., 0]

    def gather_last(self, x: Any, index: Any) -> Any:
        """``x`` reordered along its last axis by ``index`` (same shape as ``x``)."""
        return np.take_along_axis(x, index, axis=-1)

    def one_hot(self, index: Any, num_classes: int, like: Any) -> Any:
        """One-hot rows of the dtype (and device) of ``like``."""
        return np.eye(num_classes, dtype=like.dtype)[index]

    def fill_at_index(self, x: Any, index: Any, value: float) -> Any:
        """A copy of the (M, C) array ``x`` with ``x[m, index[m]] = value`` in every row (no
        gradient flows to the replaced entries)."""
        out = x.copy()
        out[np.arange(x.shape[0]), index] = value
        return out

    def segment_sum(self, values: Any, index: Any, n: int) -> Any:
        """out[i] = sum of ``values[k]`` over every k with ``index[k] == i``, for i < n."""
        return np.bincount(index, weights=values, minlength=n).astype(values.dtype, copy=False)

    def nonzero(self, mask: Any) -> tuple[Any, ...]:
        """The indices of the true entries of ``mask``, one index array per axis."""
        return np.nonzero(mask)

    # new arrays
    def eye(self, n: int, like: Any) -> Any:
        """A boolean identity matrix (on the device of ``like``)."""
        return np.eye(n, dtype=bool)

    def arange(self, n: int, like: Any, floating: bool = False) -> Any:
        """0, 1, ..., n - 1: integers, or of the dtype of ``like`` if ``floating``."""
        return np.arange(n, dtype=like.dtype) if floating else np.arange(n)

    # embeddings
    def row_norm(self, x: Any, p: float = 2.0) -> Any:
        """The p-norm of each row (last axis); exactly 0, with a zero gradient, for a zero row."""
        if p == 2.0:
            return self.safe_sqrt(np.sum(x * x, axis=-1))
        if p == float("inf"):  # the max norm: the largest coordinate
            return np.max(np.abs(x), axis=-1)
        s = np.sum(np.abs(x) ** p, axis=-1)
        positive = s > 0
        return np.where(positive, np.where(positive, s, 1.0) ** (1.0 / p), 0.0)

    def pairwise_distances(self, x: Any) -> Any:
        """(N, N) Euclidean distances between the rows of ``x``, from the differences (no
        cancellation; an exact 0 diagonal)."""
        return self.row_norm(x[:, None, :] - x[None, :, :])

    def l2_normalize(self, x: Any, eps: float = 1e-12) -> Any:
        """Rows divided by their L2 norm (norms below ``eps`` are clamped, as F.normalize does)."""
        norm = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
        return x / np.maximum(norm, eps)

    def checkpointed(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` (the torch namespace keeps no intermediates of it for the backward)."""
        return fn(*args)


class TorchNamespace(_Common):
    """The primitives for torch tensors (CPU or GPU), and the fused-kernel policy."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        super().__init__(torch)
        self.torch = torch
        self.F = torch.nn.functional

    # ------------------------------------------------------------- the fused-kernel policy
    def fused(self, twin: str | None, formula: Callable[[], T], *args: Any, when: bool = True,
              **kwargs: Any) -> T:
        """The loss: torch's fused kernel ``torch.nn.functional.<twin>(*args, **kwargs)``, or
        ``formula()`` when there is no ``twin`` or ``when`` is false.

        This is the one place where a tensor leaves a loss's written formula. A twin computes
        exactly that formula, in one pass forward and one backward where the formula written
        with tensor operators takes several: same values and gradients, and the tests check the
        two paths against each other and against the references. ``when=False`` marks a case
        where the twin's answer is not lossbook's (torch's NaN for a mean over nothing). The
        docstring of every loss with a twin names it; NumPy arrays always run the formula.
        """
        if twin is None or not when:
            return formula()
        adapter = getattr(self, "_twin_" + twin, None)
        kernel = adapter if adapter is not None else getattr(self.F, twin)
        result: T = kernel(*args, **kwargs)
        return result

    # What two twins need that the formula does not.
    def _twin_binary_cross_entropy_with_logits(self, input: Any, target: Any, *,
                                               pos_weight: Any = None, **kwargs: Any) -> Any:
        if isinstance(pos_weight, float):  # torch wants a tensor: one weight for every class
            pos_weight = self.torch.full_like(input[..., :1], pos_weight)
        return self.F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight,
                                                       **kwargs)

    def _twin_kl_div(self, input: Any, target: Any, *, reduction: str, log_target: bool) -> Any:
        if reduction == "mean":  # torch warns about its 'mean'; it is the sum over the size
            return self.F.kl_div(input, target, reduction="sum",
                                 log_target=log_target) / input.numel()
        return self.F.kl_div(input, target, reduction=reduction, log_target=log_target)

    # dtypes and validation
    def is_floating(self, x: Any) -> bool:
        return bool(x.is_floating_point())

    def is_integer_or_bool(self, x: Any) -> bool:
        return not x.is_floating_point() and not x.is_complex()

    def astype(self, x: Any, dtype: Any) -> Any:
        return x.to(dtype)

    def all_finite(self, x: Any) -> bool:
        """As NumPy's: one sum (at least float32 wide), then the exact test if it is not finite."""
        x = x.detach()
        if not x.is_floating_point():
            return True
        wide = x.dtype if x.element_size() >= 4 else self.torch.float32
        if math.isfinite(float(x.sum(dtype=wide))):
            return True
        return bool(x.isfinite().all())

    def min_max(self, x: Any) -> tuple[float, float]:
        lo, hi = x.detach().aminmax()  # one pass over the data
        return float(lo), float(hi)

    def detach(self, x: Any) -> Any:
        return x.detach()

    # elementwise
    def maximum(self, x: Any, y: float) -> Any:
        return x.clamp_min(y)

    def minimum(self, x: Any, y: float) -> Any:
        return x.clamp_max(y)

    def softplus(self, x: Any) -> Any:
        # logaddexp is max(x, 0) + log1p(exp(-|x|)) inside, and its gradient is sigmoid(x)
        return self.torch.logaddexp(x, self.torch.zeros_like(x))

    def sigmoid(self, x: Any) -> Any:
        return x.sigmoid()

    def xlogy(self, x: Any, y: Any) -> Any:
        return self.torch.special.xlogy(x, y)

    # along an axis
    def logsumexp(self, x: Any, axis: int = -1, keepdims: bool = False) -> Any:
        return self.torch.logsumexp(x, dim=axis, keepdim=keepdims)

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        return x.log_softmax(dim=axis)

    def reverse_logcumsumexp(self, x: Any) -> Any:
        # Fast form: shift by the row maximum (a constant: the result does not depend on it),
        # then one cumulative sum of exp(). Exact unless a suffix sum falls below the normal
        # floating-point range (a suffix far below the row's maximum, or padding); then the
        # slower, always stable logcumsumexp kernel is used.
        torch = self.torch
        shift = x.detach().amax(dim=-1, keepdim=True)
        sums = torch.cumsum((x - shift).exp().flip(-1), dim=-1).flip(-1)
        if bool(sums.detach().amin() >= self.smallest_accurate(x)):
            return sums.log() + shift
        return torch.logcumsumexp(x.flip(-1), dim=-1).flip(-1)

    def argsort_desc(self, x: Any) -> Any:
        return self.torch.argsort(-x, dim=-1, stable=True)

    # gathering and scattering
    def take_along_last(self, x: Any, index: Any) -> Any:
        return x.gather(-1, index.unsqueeze(-1)).squeeze(-1)

    def gather_last(self, x: Any, index: Any) -> Any:
        return x.gather(-1, index)

    def one_hot(self, index: Any, num_classes: int, like: Any) -> Any:
        return self.F.one_hot(index, num_classes).to(like.dtype)

    def fill_at_index(self, x: Any, index: Any, value: float) -> Any:
        return x.scatter(-1, index[:, None], value)

    def segment_sum(self, values: Any, index: Any, n: int) -> Any:
        return values.new_zeros(n).index_add(0, index, values)

    def nonzero(self, mask: Any) -> tuple[Any, ...]:
        return tuple(mask.nonzero(as_tuple=True))

    # new arrays
    def eye(self, n: int, like: Any) -> Any:
        return self.torch.eye(n, dtype=self.torch.bool, device=like.device)

    def arange(self, n: int, like: Any, floating: bool = False) -> Any:
        if floating:
            return self.torch.arange(n, dtype=like.dtype, device=like.device)
        return self.torch.arange(n, device=like.device)

    # embeddings
    def row_norm(self, x: Any, p: float = 2.0) -> Any:
        # torch's norm kernel: one pass, and its gradient at 0 is also 0
        return self.torch.linalg.vector_norm(x, ord=p, dim=-1)

    def pairwise_distances(self, x: Any) -> Any:
        """Most entries come from the Gram matrix, ``|a|^2 + |b|^2 - 2 a.b`` (one matrix
        product, fast, no (N, N, D) array). That form cancels catastrophically when the
        distance is small next to the norms, so those entries (the diagonal among them) are
        recomputed from exact differences."""
        sq = (x * x).sum(-1)
        scale = sq[:, None] + sq[None, :]
        d2 = (scale - 2.0 * (x @ x.T)).clamp_min(0.0)
        near = (d2 <= 0.01 * scale).detach()
        n, dim = x.shape
        i, j = near.nonzero(as_tuple=True)
        if i.numel() * dim > 8 * n * n:  # most pairs are close: exact differences, all at once
            return self.torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
        diff = x[i] - x[j]
        return self.safe_sqrt(d2.index_put((i, j), (diff * diff).sum(-1)))

    def l2_normalize(self, x: Any, eps: float = 1e-12) -> Any:
        return self.F.normalize(x, p=2.0, dim=-1, eps=eps)

    def checkpointed(self, fn: Callable[..., Any], *args: Any) -> Any:
        """With tensors that need gradients, keep none of ``fn``'s intermediates
        (torch.utils.checkpoint recomputes them during the backward pass)."""
        if self.torch.is_grad_enabled() and any(a.requires_grad for a in args):
            from torch.utils.checkpoint import checkpoint

            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)


Namespace = NumPyNamespace | TorchNamespace
"""The type of ``xp``: either namespace (mypy checks that a primitive exists in both)."""

NUMPY = NumPyNamespace()
_TORCH: list[TorchNamespace] = []  # made when the first tensor arrives (torch is imported then)


def torch_namespace() -> TorchNamespace:
    """The torch namespace (imports torch the first time)."""
    if not _TORCH:
        _TORCH.append(TorchNamespace())
    return _TORCH[0]
