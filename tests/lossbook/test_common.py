"""Generic tests run over every loss in the registry (tests/lossbook/registry.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lossbook as lb
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import ALL_LOSSES, LossCase


def _label(knobs: dict) -> str:
    parts = [f"{k}={v}" if not isinstance(v, np.ndarray) else k for k, v in knobs.items()]
    return "-".join(parts) or "default"


CASES = [pytest.param(case, knobs, id=f"{case.name}-{_label(knobs)}")
         for case in ALL_LOSSES for knobs in case.knob_settings]
WITH_GRAD = [p for p in CASES if p.values[0].grad is not None]
CASES_AND_REDUCTIONS = [
    pytest.param(case, knobs, reduction, id=f"{case.name}-{_label(knobs)}-{reduction}")
    for case in ALL_LOSSES for knobs in case.knob_settings for reduction in case.reductions
]


def _inputs(case: LossCase, seed: int = 0, scale: float = 2.0) -> tuple[np.ndarray, ...]:
    """The case's arrays: the first is the differentiated input, the rest its partners."""
    return case.make(np.random.default_rng(seed), scale)


def _t(x, device="cpu", requires_grad=False):
    t = torch.tensor(x, device=device)
    return t.requires_grad_(True) if requires_grad else t


def _ts(arrays, device="cpu"):
    return [_t(a, device) for a in arrays]


def _f32(a):
    return a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a


def _knobs_t(knobs: dict, device="cpu") -> dict:
    return {k: (_t(v, device) if isinstance(v, np.ndarray) else v) for k, v in knobs.items()}


def _none(case: LossCase) -> str:
    return "none" if "none" in case.reductions else case.reductions[0]


@pytest.mark.parametrize("case, knobs, reduction", CASES_AND_REDUCTIONS)
def test_matches_reference(case: LossCase, knobs, reduction):
    arrays = _inputs(case)
    got = case.fn(*arrays, reduction=reduction, **knobs)
    want = case.reference(*arrays, reduction, **knobs)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("case, knobs, reduction", CASES_AND_REDUCTIONS)
def test_numpy_equals_torch(case, knobs, reduction):
    arrays = _inputs(case, seed=1)
    got_np = case.fn(*arrays, reduction=reduction, **knobs)
    got_t = case.fn(*_ts(arrays), reduction=reduction, **_knobs_t(knobs))
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    assert isinstance(got_np, (np.ndarray, np.floating))
    # atol: losses such as log-sum-exp minus a logit of ~20 carry ~1e-14 of rounding
    np.testing.assert_allclose(got_t.numpy(), got_np, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case, knobs", CASES)
def test_returns_input_kind_dtype_and_shape(case, knobs):
    arrays = _inputs(case)
    f32 = {k: (_f32(v) if isinstance(v, np.ndarray) else v) for k, v in knobs.items()}
    arrays32 = [_f32(a) for a in arrays]
    assert case.fn(*arrays32, **f32).dtype == np.float32
    want_shape = np.shape(case.reference(*arrays, _none(case), **knobs))
    assert np.shape(case.fn(*arrays, reduction=_none(case), **knobs)) == want_shape
    assert np.ndim(case.fn(*arrays, reduction="sum", **knobs)) == 0
    t = case.fn(*_ts(arrays32), reduction=_none(case), **_knobs_t(f32))
    assert t.dtype == torch.float32 and tuple(t.shape) == want_shape


@pytest.mark.parametrize("case, knobs, reduction",
                         [p for p in CASES_AND_REDUCTIONS if p.values[0].grad is not None])
def test_grad_matches_autograd(case, knobs, reduction):
    x, *rest = _inputs(case, seed=2)
    y = rest[0]
    xt = _t(x, requires_grad=True)
    out = case.fn(xt, *_ts(rest), reduction=reduction, **_knobs_t(knobs))
    # For 'none' the i-th derivative of the i-th loss is the gradient of their sum.
    (out.sum() if reduction == "none" else out).backward()
    got = case.grad(x, y, reduction=reduction, **knobs)
    np.testing.assert_allclose(got, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    # the gradient function accepts tensors too and agrees
    got_t = case.grad(_t(x), _t(y), reduction=reduction, **_knobs_t(knobs))
    np.testing.assert_allclose(got_t.numpy(), got, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case, knobs", WITH_GRAD)
def test_grad_matches_central_differences(case, knobs):
    x, y = _inputs(case, seed=3)
    eps = 1e-6
    analytic = case.grad(x, y, reduction="sum", **knobs)
    numeric = np.empty_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        numeric[i] = (case.fn(hi, y, reduction="sum", **knobs)
                      - case.fn(lo, y, reduction="sum", **knobs)) / (2 * eps)
    bad = np.argwhere(~np.isclose(analytic, numeric, rtol=1e-5, atol=1e-6))
    assert bad.size == 0, (
        f"{case.name}: d/dinput at {tuple(bad[0])}: analytic {analytic[tuple(bad[0])]!r} "
        f"vs central difference {numeric[tuple(bad[0])]!r}"
    )


@pytest.mark.parametrize("case, knobs", CASES)
def test_torch_gradcheck(case, knobs):
    x, *rest = _inputs(case, seed=4)
    xt = _t(x, requires_grad=True)
    rest_t, kt = _ts(rest), _knobs_t(knobs)
    assert torch.autograd.gradcheck(lambda a: case.fn(a, *rest_t, reduction="sum", **kt), (xt,))


@pytest.mark.parametrize("case, knobs", CASES)
def test_extreme_inputs_are_finite(case, knobs):
    x, *rest = case.extreme()
    knobs = {k: v for k, v in knobs.items()  # array knobs are shaped for the usual inputs
             if not isinstance(v, np.ndarray) or k in case.extreme_knobs}
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # overflow = error
        value = case.fn(x, *rest, reduction=_none(case), **knobs)
        assert np.all(np.isfinite(value))
        if case.grad is not None:
            assert np.all(np.isfinite(case.grad(x, *rest, reduction=_none(case), **knobs)))
    xt = _t(x, requires_grad=True)
    out = case.fn(xt, *_ts(rest), reduction="sum", **_knobs_t(knobs))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(xt.grad).all()


@pytest.mark.parametrize("case, knobs", CASES)
def test_row_permutation_invariant(case, knobs):
    arrays = _inputs(case, seed=5)
    x = arrays[0]
    perm = np.random.default_rng(0).permutation(x.shape[0])
    reduction = case.reductions[0]
    # per-element weights travel with their rows
    permuted = {k: (v[perm] if isinstance(v, np.ndarray) and v.shape == x.shape else v)
                for k, v in knobs.items()}
    shuffled = [a[perm] if a.shape[0] == x.shape[0] else a for a in arrays]
    np.testing.assert_allclose(case.fn(*shuffled, reduction=reduction, **permuted),
                               case.fn(*arrays, reduction=reduction, **knobs), rtol=1e-12)


@pytest.mark.parametrize("case", [c for c in ALL_LOSSES if c.zero_at_target], ids=str)
def test_zero_at_target(case):
    _, y = _inputs(case)
    assert float(case.fn(y, y, reduction="sum")) == 0.0


@pytest.mark.parametrize("case, knobs", CASES)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_property_nonnegative_and_reductions_agree(case, knobs, seed, scale):
    arrays = case.make(np.random.default_rng(seed), scale)
    per = case.fn(*arrays, reduction=_none(case), **knobs)
    tol = -1e-12 * np.abs(per).max(initial=1.0)
    assert np.all(per >= tol) if case.elementwise_nonnegative else per.sum() >= tol
    np.testing.assert_allclose(case.fn(*arrays, reduction="sum", **knobs), per.sum(),
                               rtol=1e-10, atol=1e-12)
    if case.plain_mean and "mean" in case.reductions:
        np.testing.assert_allclose(case.fn(*arrays, reduction="mean", **knobs), per.mean(),
                                   rtol=1e-10, atol=1e-12)


# Every torch device this machine has: CI checks the CPU, a GPU machine checks CUDA too.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case, knobs", CASES)
def test_value_and_gradient_on_each_device(case, knobs, device):
    x, *rest = _inputs(case, seed=6)
    xt = _t(x, device, requires_grad=True)
    out = case.fn(xt, *_ts(rest, device), **_knobs_t(knobs, device))
    assert out.device.type == device
    out.backward()
    np.testing.assert_allclose(out.item(), case.fn(x, *rest, **knobs), rtol=1e-10)
    if case.grad is not None:
        np.testing.assert_allclose(xt.grad.cpu().numpy(), case.grad(x, *rest, **knobs),
                                   rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("fn", "grad", "knob"), [(lb.huber, lb.huber_grad, "delta"),
                                                   (lb.smooth_l1, lb.smooth_l1_grad, "beta")])
def test_a_tiny_knob_and_huge_residuals_raise_no_overflow(fn, grad, knob):
    """A residual of 1e300 beside a knob of 1e-12: the slope is clipped before anything is
    divided (r / beta alone would overflow), so the gradient is exactly +-1 (smooth L1) or
    +-delta (Huber), with no warning."""
    r = np.array([1e300, -1e300, 0.0, 5e-13])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        g = grad(r, np.zeros(4), reduction="none", **{knob: 1e-12})
        assert np.all(np.isfinite(fn(r, np.zeros(4), reduction="none", **{knob: 1e-12})))
    scale = 1.0 if knob == "beta" else 1e-12
    np.testing.assert_allclose(g, [scale, -scale, 0.0, 0.5 * scale], rtol=1e-12)
