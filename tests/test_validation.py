"""Every validation error has a test: the message names the argument and shows what arrived."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import lossbook as lb
from registry import REGRESSION

GOOD = np.array([0.5, 1.5, -2.0])
TARGET = np.array([0.0, 1.0, -1.0])
ALL = [pytest.param(c.fn, id=c.name) for c in REGRESSION]


@pytest.mark.parametrize("fn", ALL)
def test_shape_mismatch_is_an_error_not_a_broadcast(fn):
    with pytest.raises(ValueError, match=r"target has shape \(3, 1\) but input has shape \(3,\)"):
        fn(GOOD, TARGET.reshape(3, 1))


@pytest.mark.parametrize("fn", ALL)
def test_empty_input(fn):
    with pytest.raises(ValueError, match=r"input is empty \(shape \(0,\)\)"):
        fn(np.array([]), np.array([]))


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(fn, bad):
    with pytest.raises(ValueError, match="input contains NaN or inf"):
        fn(np.array([0.0, bad]), np.zeros(2))


@pytest.mark.parametrize("fn", ALL)
def test_non_finite_target(fn):
    with pytest.raises(ValueError, match="target contains NaN or inf"):
        fn(torch.zeros(2), torch.tensor([0.0, float("nan")]))


@pytest.mark.parametrize("fn", ALL)
def test_integer_input_is_rejected(fn):
    with pytest.raises(TypeError, match="input must have a floating-point dtype .* got int64"):
        fn(np.array([1, 2, 3]), TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_integer_target_is_cast(fn):
    np.testing.assert_allclose(fn(GOOD, np.array([0, 1, -1])), fn(GOOD, TARGET))


@pytest.mark.parametrize("fn", ALL)
def test_unknown_reduction(fn):
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum' or 'none'; got 'avg'"):
        fn(GOOD, TARGET, reduction="avg")


@pytest.mark.parametrize("fn", ALL)
def test_mixing_numpy_and_torch(fn):
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors: input is a torch.Tensor but target is a numpy.ndarray"):
        fn(torch.from_numpy(GOOD), TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_not_an_array(fn):
    with pytest.raises(TypeError, match="input must be a NumPy array or a torch tensor; got str"):
        fn("1.0", TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_tensors_on_different_devices(fn):
    with pytest.raises(ValueError, match="target is on device meta but input is on cpu"):
        fn(torch.zeros(3), torch.zeros(3, device="meta"))


def test_python_lists_are_accepted():
    assert float(lb.mse([1.0, 2.0], [1.0, 4.0])) == 2.0


def test_ragged_list():
    with pytest.raises(TypeError, match="input could not be converted to an array"):
        lb.mse([[1.0], [1.0, 2.0]], [1.0, 2.0])


@pytest.mark.parametrize("fn, knob", [(lb.huber, "delta"), (lb.smooth_l1, "beta"),
                                      (lb.huber_grad, "delta"), (lb.smooth_l1_grad, "beta")])
@pytest.mark.parametrize("value", [0.0, -1.0, float("inf")])
def test_knob_must_be_positive(fn, knob, value):
    with pytest.raises(ValueError, match=rf"{knob} must be a finite number > 0; got {value!r}"):
        fn(GOOD, TARGET, **{knob: value})


@pytest.mark.parametrize("fn, knob", [(lb.huber, "delta"), (lb.quantile, "q")])
@pytest.mark.parametrize("value", ["1", None, True])
def test_knob_must_be_a_number(fn, knob, value):
    with pytest.raises(TypeError, match=rf"{knob} must be a real number; got {value!r}"):
        fn(GOOD, TARGET, **{knob: value})


def test_knob_nan():
    with pytest.raises(ValueError, match="q must be a number; got nan"):
        lb.quantile(GOOD, TARGET, q=float("nan"))


@pytest.mark.parametrize("fn", [lb.quantile, lb.quantile_grad])
@pytest.mark.parametrize("q", [0.0, 1.0, 1.5, -0.1])
def test_quantile_outside_unit_interval(fn, q):
    with pytest.raises(ValueError, match=rf"q must lie strictly between 0.0 and 1.0; got {q!r}"):
        fn(GOOD, TARGET, q=q)


def test_gradient_functions_validate_too():
    with pytest.raises(ValueError, match="target has shape"):
        lb.mse_grad(GOOD, TARGET[:2])
    with pytest.raises(ValueError, match="reduction must be one of"):
        lb.log_cosh_grad(GOOD, TARGET, reduction="max")


def test_import_lossbook_does_not_import_torch():
    code = "import sys, lossbook, lossbook.datasets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_api_is_exported():
    for name in lb.__all__:
        assert hasattr(lb, name), name
    for case in REGRESSION:
        assert case.name in lb.__all__ and f"{case.name}_grad" in lb.__all__


def test_every_public_loss_is_in_the_registry():
    """A new loss must join the generic tests: add it to tests/registry.py."""
    from registry import ALL_LOSSES

    covered = ({c.public or c.fn for c in ALL_LOSSES} | {c.grad for c in ALL_LOSSES if c.grad})
    # perplexity is exp(next_token_cross_entropy), tested in test_classification.py
    # metrics have no gradient; they are tested in test_ranking.py
    not_losses = {"datasets", "reduce", "perplexity", "dcg", "ndcg", "mrr", "recall_at_k",
                  # decision rules and combinators, tested in test_business.py
                  "best_threshold", "CompositeLoss", "composite_loss"}
    missing = [n for n in lb.__all__ if n not in not_losses and getattr(lb, n) not in covered]
    assert not missing, f"not in tests/registry.py: {missing}"
