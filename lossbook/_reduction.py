"""The one place where per-element losses become a batch loss."""

from __future__ import annotations

from lossbook import _backend as B
from lossbook._backend import Array

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: object) -> str:
    """Return ``reduction`` if it is one of ``'mean'``, ``'sum'``, ``'none'``; raise otherwise."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of 'mean', 'sum' or 'none'; got {reduction!r}"
        )
    return reduction


def reduce(losses: Array, reduction: str) -> Array:
    """Reduce per-element ``losses`` by their mean, their sum, or not at all (``'none'``).

    ``'mean'`` divides by the number of elements, like ``torch.nn.functional``.
    """
    check_reduction(reduction)
    if reduction == "mean":
        return B.mean(losses)
    if reduction == "sum":
        return B.sum(losses)
    return losses


def reduce_grad(grads: Array, reduction: str) -> Array:
    """Turn per-element derivatives into the gradient of the reduced loss.

    ``'mean'`` divides by the number of elements, ``'sum'`` and ``'none'`` leave them as they
    are (with ``'none'`` the result is the derivative of each element's own loss).
    """
    check_reduction(reduction)
    if reduction == "mean":
        n = grads.numel() if B.is_tensor(grads) else grads.size
        return grads / n
    return grads
