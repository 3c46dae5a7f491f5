"""The one place where per-element losses become a batch loss (and derivatives a gradient).

NumPy arrays and torch tensors both have ``.mean()`` and ``.sum()``, so nothing here needs to
know which one it holds.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import TypeVar

from lossbook._backend import ArrayT

REDUCTIONS = ("mean", "sum", "none")

FuncT = TypeVar("FuncT", bound=Callable[..., object])


def check_reduction(reduction: object) -> str:
    """Return ``reduction`` if it is one of ``'mean'``, ``'sum'``, ``'none'``; raise otherwise."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of 'mean', 'sum' or 'none'; got {reduction!r}"
        )
    return reduction


def reduce(losses: ArrayT, reduction: str) -> ArrayT:
    """Reduce per-element ``losses`` by their mean, their sum, or not at all (``'none'``).

    ``'mean'`` divides by the number of elements, like ``torch.nn.functional``.
    """
    check_reduction(reduction)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def reduce_grad(grads: ArrayT, reduction: str) -> ArrayT:
    """Turn per-element derivatives into the gradient of the reduced loss.

    ``'mean'`` divides by the number of elements, ``'sum'`` and ``'none'`` leave them as they
    are (with ``'none'`` the result is the derivative of each element's own loss).
    """
    check_reduction(reduction)
    if reduction == "mean":
        return grads / math.prod(grads.shape)
    return grads


# The Args, Returns and Raises sections that every ``<loss>_grad`` docstring shares, written once
# (as torch writes its shared argument docs once and formats them into each docstring).
_GRAD_ARG = "        {name}: as in :func:`{loss}`."
_GRAD_RETURNS = """\
        :math:`\\partial L / \\partial \\hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss)."""
GRAD_SECTIONS = "{gradient sections}"


def gradient_of(loss: Callable[..., object], returns: str = _GRAD_RETURNS) -> Callable[[FuncT], FuncT]:
    """Complete the docstring of ``loss``'s gradient function with the sections every gradient
    shares: each argument "as in ``loss``", what it returns, and "the same errors as ``loss``".

    The gradient's docstring marks where they go with a line ``{gradient sections}``; the
    result is a whole docstring, as autodoc and the doctests read it.
    """

    def complete(grad: FuncT) -> FuncT:
        args = "\n".join(_GRAD_ARG.format(name=p, loss=loss.__name__)
                         for p in inspect.signature(grad).parameters)
        sections = (f"Args:\n{args}\n\n    Returns:\n{returns}\n\n    Raises:\n"
                    f"        The same errors as :func:`{loss.__name__}`.")
        doc = grad.__doc__ or ""
        if GRAD_SECTIONS not in doc:
            raise ValueError(f"{grad.__name__}'s docstring has no {GRAD_SECTIONS} line")
        grad.__doc__ = doc.replace(GRAD_SECTIONS, sections)
        return grad

    return complete
