"""Input checks shared by every lossbook function.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the argument and
shows what arrived, so a student sees *their* mistake instead of an error deep inside NumPy
or torch. Checks run before any arithmetic; nothing is broadcast silently.

:func:`namespace` is where a call's backend is decided, once: it checks that the arguments are
all NumPy arrays or all tensors (on one device) and returns the namespace ``xp`` of that kind
(see ``lossbook._backend``). The checks below that depend on the kind take that ``xp``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from lossbook._backend import NUMPY, Namespace, is_tensor, torch_namespace


def kind_name(x: object) -> str:
    """A short, readable name for the type of ``x`` (used in error messages)."""
    if is_tensor(x):
        return "torch.Tensor"
    if isinstance(x, np.ndarray):
        return "numpy.ndarray"
    return type(x).__name__


def as_array(x: Any, name: str) -> Any:
    """Return ``x`` as a NumPy array or torch tensor.

    Tensors and arrays pass through unchanged; Python numbers, lists and tuples become NumPy
    arrays. Anything else (strings, ``None``, dicts...) is a ``TypeError``.
    """
    if isinstance(x, np.ndarray) or is_tensor(x):
        return x
    if isinstance(x, (numbers.Number, np.generic, list, tuple)) and not isinstance(x, bool):
        try:
            arr = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise TypeError(f"{name} could not be converted to an array: {err}") from None
        if arr.dtype == object:
            first = x[0] if isinstance(x, (list, tuple)) else x
            raise TypeError(f"{name} must contain numbers; got a list of {kind_name(first)}")
        return arr
    raise TypeError(f"{name} must be a NumPy array or a torch tensor; got {kind_name(x)}")


def check_floating(xp: Namespace, x: Any, name: str) -> None:
    if not xp.is_floating(x):
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64); got {x.dtype}"
        )


def check_nonempty(x: Any, name: str) -> None:
    if math.prod(x.shape) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); a loss needs at least one element")


def check_finite(xp: Namespace, x: Any, name: str) -> None:
    if not xp.all_finite(x):
        raise ValueError(f"{name} contains NaN or inf; lossbook expects finite values")


def namespace(**arrays: Any) -> Namespace:
    """All arguments (each from :func:`as_array`) must be NumPy arrays, or all torch tensors on
    one device; return the namespace of that kind: the one decision of a call."""
    names = list(arrays)
    # as_array has made each argument an ndarray or a tensor: no need to ask torch again
    tensors = [n for n in names if not isinstance(arrays[n], np.ndarray)]
    if tensors and len(tensors) != len(names):
        other = next(n for n in names if n not in tensors)
        raise TypeError(
            f"cannot mix NumPy arrays and torch tensors: {tensors[0]} is a torch.Tensor "
            f"but {other} is a {kind_name(arrays[other])}"
        )
    if tensors:
        first = arrays[tensors[0]].device
        for n in tensors[1:]:
            if arrays[n].device != first:
                raise ValueError(
                    f"{n} is on device {arrays[n].device} but {tensors[0]} is on {first}"
                )
    return torch_namespace() if tensors else NUMPY


def check_same_shape(a: Any, b: Any, a_name: str, b_name: str) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{b_name} has shape {tuple(b.shape)} but {a_name} has shape {tuple(a.shape)}; "
            "they must match exactly (lossbook never broadcasts silently)"
        )


def cast_like(xp: Namespace, x: Any, like: Any) -> Any:
    """Cast ``x`` to the dtype of ``like`` (a no-op when they already agree)."""
    if x.dtype == like.dtype:
        return x
    return xp.astype(x, like.dtype)


def prepare_pair(
    input: Any,
    target: Any,
    *,
    input_name: str = "input",
    target_name: str = "target",
    finite: bool = True,
) -> tuple[Namespace, Any, Any]:
    """Validate a prediction and its target of the same shape; return their namespace and
    them, ready to use.

    ``input`` must be floating point. ``target`` may be floating, integer or boolean; it is
    cast to the dtype of ``input``. ``finite=False`` leaves the finiteness checks to the
    caller (see :func:`check_finite_after`).
    """
    input = as_array(input, input_name)
    target = as_array(target, target_name)
    xp = namespace(**{input_name: input, target_name: target})
    check_floating(xp, input, input_name)
    if not (xp.is_floating(target) or xp.is_integer_or_bool(target)):
        raise TypeError(f"{target_name} must be a real-valued array; got dtype {target.dtype}")
    check_same_shape(input, target, input_name, target_name)
    check_nonempty(input, input_name)
    target = cast_like(xp, target, input)
    if finite:
        check_finite(xp, input, input_name)
        check_finite(xp, target, target_name)
    return xp, input, target


def check_finite_after(xp: Namespace, result: Any, reduction: str, **arrays: Any) -> Any:
    """Check the finiteness of ``arrays`` cheaply, given a loss computed from them.

    For losses in which any NaN or inf among the inputs makes the reduced loss NaN or inf
    (the regression losses), a finite ``'mean'`` or ``'sum'`` proves every input finite, for
    the price of one scalar test. Otherwise (a non-finite loss, or ``'none'``) each array is
    checked and the first non-finite one is named. Returns ``result``.
    """
    if reduction != "none" and math.isfinite(float(xp.detach(result))):
        return result
    for name, x in arrays.items():
        check_finite(xp, x, name)
    return result


def check_real(name: str, value: object) -> float:
    """``value`` must be a real Python or NumPy number (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r} ({kind_name(value)})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number; got nan")
    return value


def check_positive(name: str, value: object) -> float:
    """``value`` must be a finite number > 0."""
    v = check_real(name, value)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return v


def check_open_interval(name: str, value: object, low: float, high: float) -> float:
    """``value`` must lie strictly between ``low`` and ``high``."""
    v = check_real(name, value)
    if not (low < v < high):
        raise ValueError(f"{name} must lie strictly between {low} and {high}; got {value!r}")
    return v


def finite_range(xp: Namespace, x: Any, name: str) -> tuple[float, float]:
    """The minimum and maximum of ``x``, in one pass; they also prove it finite (a NaN anywhere
    makes both NaN, an inf shows in one of them), else the usual error is raised."""
    lo, hi = xp.min_max(x)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf; lossbook expects finite values")
    return lo, hi


def check_in_unit_interval(xp: Namespace, x: Any, name: str, what: str = "probabilities") -> None:
    """Every value of ``x`` must lie in [0, 1] (so it is finite too)."""
    lo, hi = finite_range(xp, x, name)
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} must hold {what} in [0, 1]; got values from {lo:g} to {hi:g}")


def check_values_in(x: Any, name: str, allowed: tuple[float, ...], hint: str = "") -> None:
    """Every value of ``x`` must be one of ``allowed`` (for example 0 and 1, or -1 and +1)."""
    ok: Any = None
    for v in allowed:
        hit = x == v
        ok = hit if ok is None else (ok | hit)
    if not bool(ok.all()):
        bad = x[~ok]
        first = float(bad.reshape(-1)[0])
        shown = " and ".join(f"{v:g}" for v in allowed)
        raise ValueError(f"{name} must contain only {shown}; got {first:g}{hint}")


def check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r} ({kind_name(value)})")
    return int(value)


def check_closed_interval(name: str, value: object, low: float, high: float) -> float:
    """``value`` must lie in [low, high]."""
    v = check_real(name, value)
    if not (low <= v <= high):
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}]; got {value!r}")
    return v


def check_nonnegative(name: str, value: object) -> float:
    v = check_real(name, value)
    if not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return v


def check_class_indices(
    xp: Namespace, target: Any, name: str, num_classes: int, ignore_index: int | None = None
) -> Any:
    """Integer class indices in [0, num_classes) (or equal to ``ignore_index``); returns int64."""
    is_bool = str(target.dtype) in ("bool", "torch.bool")
    if is_bool or not xp.is_integer_or_bool(target):
        raise TypeError(
            f"{name} must hold integer class indices; got dtype {target.dtype}. "
            "(For probability targets pass a float array shaped like the input.)"
        )
    ok = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        ok = ok | (target == ignore_index)
    if not bool(ok.all()):
        first = int(target[~ok].reshape(-1)[0])
        extra = f" and is not ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{name} holds the class index {first}, outside [0, {num_classes - 1}]{extra}"
        )
    return xp.astype(target, xp.int64)


def prepare_vector(
    xp: Namespace, value: Any, name: str, length: int, like: Any, *, allow_scalar: bool = False
) -> Any:
    """A non-negative per-class vector of shape (length,), of the kind and dtype of ``like``."""
    if allow_scalar and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_nonnegative(name, value)
    arr = as_array(value, name)
    namespace(**{name: arr, "input": like})
    if tuple(arr.shape) != (length,):
        raise ValueError(
            f"{name} must have shape ({length},), one entry per class; got shape {tuple(arr.shape)}"
        )
    return _nonnegative_weights(xp, arr, name, like)


def prepare_elementwise(xp: Namespace, value: Any, name: str, like: Any) -> Any:
    """A non-negative array shaped exactly like ``like`` (per-element weights)."""
    arr = as_array(value, name)
    namespace(**{name: arr, "input": like})
    check_same_shape(like, arr, "input", name)
    return _nonnegative_weights(xp, arr, name, like)


def _nonnegative_weights(xp: Namespace, arr: Any, name: str, like: Any) -> Any:
    """Real, finite, >= 0, cast to the dtype of ``like``."""
    if not (xp.is_floating(arr) or xp.is_integer_or_bool(arr)):
        raise TypeError(f"{name} must be real-valued; got dtype {arr.dtype}")
    arr = cast_like(xp, arr, like)
    check_finite(xp, arr, name)
    lo, _ = xp.min_max(arr)
    if lo < 0:
        raise ValueError(f"{name} must be non-negative; got a value of {lo:g}")
    return arr
