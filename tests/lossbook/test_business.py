"""Business losses: decision rules, composite losses, penalties, and every error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lossbook as lb

COSTS = np.array([[0.0, 10.0], [500.0, 0.0]])


def test_best_threshold_is_where_both_decisions_cost_the_same():
    t = lb.best_threshold(COSTS)
    assert math.isclose(t, 10 / 510)
    cost_if_1 = (1 - t) * COSTS[0, 1] + t * COSTS[1, 1]
    cost_if_0 = (1 - t) * COSTS[0, 0] + t * COSTS[1, 0]
    assert math.isclose(cost_if_1, cost_if_0)
    assert lb.best_threshold(np.array([[0, 1], [1, 0]])) == 0.5


def test_best_threshold_minimises_the_realised_cost_of_calibrated_probabilities():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200_000)
    y = (rng.uniform(size=p.size) < p).astype(int)  # calibrated by construction
    grid = np.linspace(0.0, 0.2, 81)
    costs = [float(lb.expected_cost(p, y, cost_matrix=COSTS, threshold=t)) for t in grid]
    assert abs(grid[int(np.argmin(costs))] - lb.best_threshold(COSTS)) < 0.01


def test_expected_cost_of_one_hot_decisions_is_the_realised_cost():
    decisions = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    y = np.array([1, 0, 1])
    assert float(lb.expected_cost(decisions, y, cost_matrix=COSTS, reduction="sum")) == 510.0


def test_expected_cost_is_differentiable_and_threshold_decisions_are_not():
    p = torch.tensor([0.2, 0.7], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 0])
    lb.expected_cost(p, y, cost_matrix=torch.tensor(COSTS)).backward()
    assert torch.allclose(p.grad, torch.tensor([-250.0, 5.0], dtype=torch.float64))
    assert not lb.expected_cost(p, y, cost_matrix=torch.tensor(COSTS), threshold=0.5).requires_grad


def test_asymmetric_error_with_equal_weights_is_mse_and_shifts_the_optimum():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    np.testing.assert_allclose(lb.asymmetric_squared_error(x, y), lb.mse(x, y))
    # the best constant under 3:1 asymmetry lies above the mean (an expectile)
    grid = np.linspace(-1, 1, 2001)
    best = grid[np.argmin([float(lb.asymmetric_squared_error(np.full(50, c), y, under_weight=3.0))
                           for c in grid])]
    assert best > y.mean() + 0.1


def test_cost_sensitive_bce_equals_weighted_bce():
    z, y = np.array([0.3, -1.0, 2.0]), np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(
        lb.cost_sensitive_binary_cross_entropy(z, y, fn_cost=6.0, fp_cost=2.0),
        2.0 * lb.binary_cross_entropy_with_logits(z, y, pos_weight=3.0))


def test_composite_loss_weights_terms_and_passes_gradients_to_each():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    out = lb.composite_loss({"cls": a**2, "box": 10 * b}, weights={"box": 0.5})
    assert out.total.item() == 4.0 + 15.0 and list(out.parts) == ["cls", "box"]
    assert out.parts["box"].item() == 15.0
    out.total.backward()
    assert a.grad.item() == 4.0 and b.grad.item() == 5.0


def test_penalties_over_model_parameters_and_sgd_weight_decay():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    want = sum((p**2).sum() for p in model.parameters())
    assert torch.isclose(lb.l2_penalty(model.parameters(), weight=1.0), want)
    assert torch.isclose(lb.l1_penalty(list(model.parameters()), weight=2.0),
                         2 * sum(p.abs().sum() for p in model.parameters()))
    # SGD(weight_decay=wd) takes the same step as adding l2_penalty(weight=wd / 2)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    twin = torch.nn.Linear(3, 2).double()
    twin.load_state_dict(model.state_dict())
    opt_a = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.2)
    opt_b = torch.optim.SGD(twin.parameters(), lr=0.1)
    lb.mse(model(x), y).backward()
    opt_a.step()
    (lb.mse(twin(x), y) + lb.l2_penalty(twin.parameters(), weight=0.1)).backward()
    opt_b.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("call, error, match", [
    (lambda: lb.best_threshold(np.ones((3, 3))), ValueError, r"best_threshold needs a 2x2 cost matrix; got shape \(3, 3\)"),
    (lambda: lb.best_threshold(np.array([[0.0, -1.0], [5.0, 0.0]])), ValueError, "cost_matrix must be non-negative; got -1"),
    (lambda: lb.best_threshold(np.array([[2.0, 1.0], [5.0, 0.0]])), ValueError, "each mistake costlier than the right decision"),
    (lambda: lb.best_threshold(np.ones(4)), ValueError, r"cost_matrix must be square, \(C, C\) with C >= 2"),
    (lambda: lb.expected_cost(np.array([0.2]), np.array([1]), cost_matrix=np.ones((3, 3))), ValueError, "input of shape .N,. is a binary problem, but cost_matrix is 3x3"),
    (lambda: lb.expected_cost(np.array([0.2]), np.array([1]), cost_matrix=COSTS, threshold=1.5), ValueError, r"threshold must lie in \[0, 1\]; got 1.5"),
    (lambda: lb.expected_cost(np.array([1.2]), np.array([1]), cost_matrix=COSTS), ValueError, r"input must hold probabilities in \[0, 1\]"),
    (lambda: lb.expected_cost(np.array([0.2]), np.array([2]), cost_matrix=COSTS), ValueError, r"target holds the class index 2, outside \[0, 1\]"),
    (lambda: lb.expected_cost(np.full((2, 3), 0.3), np.array([0, 1]), cost_matrix=COSTS), ValueError, r"input must have shape \(N, 2\) to match cost_matrix"),
    (lambda: lb.expected_cost(np.full((2, 2), 0.5), np.array([0, 1]), cost_matrix=COSTS, threshold=0.5), ValueError, "threshold applies to binary problems"),
    (lambda: lb.asymmetric_squared_error(np.zeros(2), np.zeros(2), under_weight=0.0), ValueError, "under_weight must be a finite number > 0; got 0.0"),
    (lambda: lb.asymmetric_squared_error(np.zeros(2), np.zeros(2), over_weight=-1), ValueError, "over_weight must be a finite number > 0; got -1"),
    (lambda: lb.cost_sensitive_binary_cross_entropy(np.zeros(2), np.zeros(2), fn_cost=0), ValueError, "fn_cost must be a finite number > 0; got 0"),
    (lambda: lb.cost_sensitive_binary_cross_entropy(np.zeros(2), np.array([0.0, 2.0])), ValueError, r"target must hold labels in \[0, 1\]"),
    (lambda: lb.composite_loss({"cls": np.float64(1.0)}, weights={"boxes": 2.0}), ValueError, r"weights names unknown terms \['boxes'\]; the terms are \['cls'\]"),
    (lambda: lb.composite_loss({"cls": np.float64(1.0)}, weights={"cls": 0.0}), ValueError, r"weights\['cls'\] must be a finite number > 0; got 0.0"),
    (lambda: lb.composite_loss({}), ValueError, "terms is empty"),
    (lambda: lb.composite_loss({"cls": np.ones(3)}), TypeError, r"terms\['cls'\] must be a scalar loss \(reduce it first\); got shape \(3,\)"),
    (lambda: lb.composite_loss([1.0, 2.0]), TypeError, "terms must be a mapping from names to losses; got list"),
    (lambda: lb.composite_loss({"a": torch.tensor(1.0), "b": np.float64(2.0)}), TypeError, "cannot mix NumPy arrays and torch tensors"),
    (lambda: lb.l2_penalty([], weight=1.0), ValueError, "params is empty"),
    (lambda: lb.l1_penalty(np.ones(3), weight=-0.1), ValueError, "weight must be a finite number > 0; got -0.1"),
    (lambda: lb.l2_penalty([np.ones(2), torch.ones(2)]), TypeError, "cannot mix NumPy arrays and torch tensors"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
