"""Generic tests run over every loss in the registry (tests/registry.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from registry import ALL_LOSSES, LossCase

REDUCTIONS = ("mean", "sum", "none")

CASES = [
    pytest.param(case, knobs, id=f"{case.name}-{'-'.join(f'{k}={v}' for k, v in knobs.items()) or 'default'}")
    for case in ALL_LOSSES
    for knobs in case.knob_settings
]
WITH_GRAD = [p for p in CASES if p.values[0].grad is not None]


def _data(shape=(7, 3), seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, scale, size=shape)
    y = rng.normal(0.0, scale, size=shape)
    return x, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, knobs", CASES)
def test_matches_reference(case: LossCase, knobs, reduction):
    x, y = _data()
    got = case.fn(x, y, reduction=reduction, **knobs)
    want = case.reference(x, y, reduction, **knobs)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, knobs", CASES)
def test_numpy_equals_torch(case, knobs, reduction):
    x, y = _data(seed=1)
    got_np = case.fn(x, y, reduction=reduction, **knobs)
    got_t = case.fn(torch.from_numpy(x), torch.from_numpy(y), reduction=reduction, **knobs)
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    assert isinstance(got_np, (np.ndarray, np.floating))
    np.testing.assert_allclose(got_t.numpy(), got_np, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case, knobs", CASES)
def test_returns_input_kind_dtype_and_shape(case, knobs):
    x, y = _data(shape=(4, 5))
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert case.fn(x32, y32, **knobs).dtype == np.float32
    assert case.fn(x, y, reduction="none", **knobs).shape == (4, 5)
    assert np.ndim(case.fn(x, y, reduction="sum", **knobs)) == 0
    t = case.fn(torch.from_numpy(x32), torch.from_numpy(y32), reduction="none", **knobs)
    assert t.dtype == torch.float32 and t.shape == (4, 5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, knobs", WITH_GRAD)
def test_grad_matches_autograd(case, knobs, reduction):
    x, y = _data(seed=2)
    xt = torch.from_numpy(x).requires_grad_(True)
    out = case.fn(xt, torch.from_numpy(y), reduction=reduction, **knobs)
    # For 'none' the i-th derivative of the i-th loss is the gradient of their sum.
    (out.sum() if reduction == "none" else out).backward()
    got = case.grad(x, y, reduction=reduction, **knobs)
    np.testing.assert_allclose(got, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    # the gradient function accepts tensors too and agrees
    got_t = case.grad(torch.from_numpy(x), torch.from_numpy(y), reduction=reduction, **knobs)
    np.testing.assert_allclose(got_t.numpy(), got, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case, knobs", WITH_GRAD)
def test_grad_matches_central_differences(case, knobs):
    x, y = _data(seed=3)
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
    x, y = _data(shape=(5,), seed=4)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = torch.from_numpy(y)
    assert torch.autograd.gradcheck(lambda a: case.fn(a, yt, reduction="sum", **knobs), (xt,))


@pytest.mark.parametrize("case, knobs", CASES)
def test_extreme_inputs_are_finite(case, knobs):
    big = case.extreme
    x = np.array([big, -big, 0.5, 0.0])
    y = np.array([-big, big, 0.0, 0.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # overflow = error
        value = case.fn(x, y, reduction="none", **knobs)
        assert np.all(np.isfinite(value))
        if case.grad is not None:
            assert np.all(np.isfinite(case.grad(x, y, reduction="none", **knobs)))
    xt = torch.from_numpy(x).requires_grad_(True)
    out = case.fn(xt, torch.from_numpy(y), reduction="sum", **knobs)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(xt.grad).all()


@pytest.mark.parametrize("case, knobs", CASES)
def test_zero_at_target_and_permutation_invariant(case, knobs):
    x, y = _data(shape=(12,), seed=5)
    assert float(case.fn(y, y, reduction="sum", **knobs)) == 0.0
    perm = np.random.default_rng(0).permutation(12)
    np.testing.assert_allclose(case.fn(x[perm], y[perm], **knobs), case.fn(x, y, **knobs),
                               rtol=1e-12)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("case, knobs", CASES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_property_nonnegative_and_reductions_agree(case, knobs, data):
    n = data.draw(st.integers(1, 12))
    x = data.draw(arrays(np.float64, n, elements=finite))
    y = data.draw(arrays(np.float64, n, elements=finite))
    per = case.fn(x, y, reduction="none", **knobs)
    assert np.all(per >= 0)
    np.testing.assert_allclose(case.fn(x, y, reduction="sum", **knobs), per.sum(), rtol=1e-12)
    np.testing.assert_allclose(case.fn(x, y, reduction="mean", **knobs), per.mean(), rtol=1e-12)


# Every torch device this machine has: CI checks the CPU, a GPU machine checks CUDA too.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case, knobs", CASES)
def test_value_and_gradient_on_each_device(case, knobs, device):
    x, y = _data(seed=6)
    xt = torch.tensor(x, device=device, requires_grad=True)
    out = case.fn(xt, torch.tensor(y, device=device), **knobs)
    assert out.device.type == device
    out.backward()
    np.testing.assert_allclose(out.item(), case.fn(x, y, **knobs), rtol=1e-10)
    if case.grad is not None:
        np.testing.assert_allclose(xt.grad.cpu().numpy(), case.grad(x, y, **knobs), rtol=1e-10,
                                   atol=1e-15)
