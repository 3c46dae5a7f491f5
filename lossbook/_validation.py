"""Input checks shared by every lossbook function.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the argument and
shows what arrived, so a student sees *their* mistake instead of an error deep inside NumPy
or torch. Checks run before any arithmetic; nothing is broadcast silently.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from lossbook._backend import Array, is_tensor


def kind_name(x: object) -> str:
    """A short, readable name for the type of ``x`` (used in error messages)."""
    if is_tensor(x):
        return "torch.Tensor"
    if isinstance(x, np.ndarray):
        return "numpy.ndarray"
    return type(x).__name__


def as_array(x: object, name: str) -> Array:
    """Return ``x`` as a NumPy array or torch tensor.

    Tensors and arrays pass through unchanged; Python numbers, lists and tuples become NumPy
    arrays. Anything else (strings, ``None``, dicts...) is a ``TypeError``.
    """
    if is_tensor(x) or isinstance(x, np.ndarray):
        return x
    if isinstance(x, (numbers.Number, np.generic, list, tuple)) and not isinstance(x, bool):
        try:
            arr = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise TypeError(f"{name} could not be converted to an array: {err}") from None
        if arr.dtype == object:
            raise TypeError(f"{name} must contain numbers; got a list of {kind_name(x[0])}")
        return arr
    raise TypeError(f"{name} must be a NumPy array or a torch tensor; got {kind_name(x)}")


def is_floating(x: Array) -> bool:
    if is_tensor(x):
        return bool(x.is_floating_point())
    return bool(np.issubdtype(x.dtype, np.floating))


def is_integer_or_bool(x: Array) -> bool:
    if is_tensor(x):
        return not x.is_floating_point() and not x.is_complex()
    return bool(np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_)


def check_floating(x: Array, name: str) -> None:
    if not is_floating(x):
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64); got {x.dtype}"
        )


def check_nonempty(x: Array, name: str) -> None:
    size = x.numel() if is_tensor(x) else x.size
    if size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); a loss needs at least one element")


def check_finite(x: Array, name: str) -> None:
    if is_tensor(x):
        bad = not bool(x.detach().isfinite().all())
    else:
        bad = not bool(np.isfinite(x).all())
    if bad:
        raise ValueError(f"{name} contains NaN or inf; lossbook expects finite values")


def check_same_kind(**arrays: Array) -> None:
    """All arguments must be NumPy arrays, or all torch tensors on one device."""
    names = list(arrays)
    tensors = [n for n in names if is_tensor(arrays[n])]
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


def check_same_shape(a: Array, b: Array, a_name: str, b_name: str) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{b_name} has shape {tuple(b.shape)} but {a_name} has shape {tuple(a.shape)}; "
            "they must match exactly (lossbook never broadcasts silently)"
        )


def cast_like(x: Array, like: Array) -> Array:
    """Cast ``x`` to the dtype of ``like`` (a no-op when they already agree)."""
    if x.dtype == like.dtype:
        return x
    return x.to(like.dtype) if is_tensor(x) else x.astype(like.dtype)


def prepare_pair(
    input: Any, target: Any, *, input_name: str = "input", target_name: str = "target"
) -> tuple[Array, Array]:
    """Validate a prediction and its target of the same shape; return them ready to use.

    ``input`` must be floating point. ``target`` may be floating, integer or boolean; it is
    cast to the dtype of ``input``.
    """
    input = as_array(input, input_name)
    target = as_array(target, target_name)
    check_same_kind(**{input_name: input, target_name: target})
    check_floating(input, input_name)
    if not (is_floating(target) or is_integer_or_bool(target)):
        raise TypeError(f"{target_name} must be a real-valued array; got dtype {target.dtype}")
    check_same_shape(input, target, input_name, target_name)
    check_nonempty(input, input_name)
    check_finite(input, input_name)
    target = cast_like(target, input)
    check_finite(target, target_name)
    return input, target


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
