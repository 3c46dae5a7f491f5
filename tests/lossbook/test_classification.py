"""Classification-specific behaviour: documented edge cases, identities and every error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import log_loss

import lossbook as lb

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(5, 3))
LABELS = np.array([0, 2, 1, 1, 0])


# ----------------------------------------------------------------------- documented behaviour
def test_all_targets_ignored_gives_zero_and_a_zero_gradient_not_nan():
    x = torch.tensor(LOGITS, requires_grad=True)
    t = torch.full((5,), -100)
    assert F.cross_entropy(x, t).isnan()  # what torch does
    loss = lb.cross_entropy(x, t)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros_like(x))
    np.testing.assert_array_equal(lb.cross_entropy_grad(LOGITS, np.full(5, -100)), 0.0)
    assert float(lb.cross_entropy(LOGITS, np.full(5, -100), label_smoothing=0.1)) == 0.0


def test_binary_cross_entropy_matches_sklearn_log_loss():
    p = RNG.uniform(0.01, 0.99, size=20)
    y = (RNG.uniform(size=20) < 0.5).astype(float)
    assert math.isclose(float(lb.binary_cross_entropy(p, y)), log_loss(y, p), rel_tol=1e-12)


def test_cross_entropy_matches_sklearn_log_loss():
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    assert math.isclose(float(lb.cross_entropy(LOGITS, LABELS)), log_loss(LABELS, p),
                        rel_tol=1e-12)


def test_focal_loss_reduces_to_bce_and_softmax_focal_to_cross_entropy():
    z, y = RNG.normal(size=8), (RNG.uniform(size=8) < 0.5).astype(float)
    np.testing.assert_allclose(lb.focal_loss(z, y, alpha=None, gamma=0.0),
                               lb.binary_cross_entropy_with_logits(z, y), rtol=1e-13)
    np.testing.assert_allclose(lb.softmax_focal_loss(LOGITS, LABELS, gamma=0.0),
                               lb.cross_entropy(LOGITS, LABELS), rtol=1e-13)


def test_focal_loss_with_small_gamma_stays_finite_where_the_naive_form_does_not():
    z = torch.tensor([40.0, -40.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    p = torch.sigmoid(z)
    p_t = p * y + (1 - p) * (1 - y)
    naive = (F.binary_cross_entropy_with_logits(z, y, reduction="none") * (1 - p_t) ** 0.5).sum()
    naive.backward()
    assert not torch.isfinite(z.grad).all()  # 0 ** (gamma - 1) = inf in the naive gradient
    z.grad = None
    lb.focal_loss(z, y, gamma=0.5, reduction="sum").backward()
    assert torch.isfinite(z.grad).all()


def test_perplexity_is_exp_of_the_mean_next_token_loss_and_the_vocabulary_when_uniform():
    logits = RNG.normal(size=(2, 7, 6))
    tokens = RNG.integers(0, 6, size=(2, 7))
    ce = F.cross_entropy(torch.tensor(logits[:, :-1]).reshape(-1, 6),
                         torch.tensor(tokens[:, 1:]).reshape(-1))
    assert math.isclose(float(lb.perplexity(logits, tokens)), math.exp(ce.item()), rel_tol=1e-12)
    assert math.isclose(float(lb.perplexity(np.zeros((9, 37)), np.arange(9))), 37.0,
                        rel_tol=1e-12)
    t = lb.perplexity(torch.tensor(logits), torch.tensor(tokens))
    assert isinstance(t, torch.Tensor) and t.ndim == 0


def test_next_token_unbatched_equals_batched():
    logits, tokens = RNG.normal(size=(7, 6)), RNG.integers(0, 6, size=7)
    np.testing.assert_allclose(lb.next_token_cross_entropy(logits, tokens),
                               lb.next_token_cross_entropy(logits[None], tokens[None]))
    assert lb.next_token_cross_entropy(logits, tokens, reduction="none").shape == (6,)


def test_kl_is_cross_entropy_minus_entropy_and_asymmetric():
    t = np.array([[0.7, 0.2, 0.1]])
    q_logits = np.array([[0.1, 0.5, -0.3]])
    log_q = q_logits - np.log(np.exp(q_logits).sum())
    h_tq = float(lb.cross_entropy(q_logits, t))
    h_t = -float(np.sum(t * np.log(t)))
    assert math.isclose(float(lb.kl_div(log_q, t)), h_tq - h_t, rel_tol=1e-12)
    q = np.exp(log_q)
    assert not math.isclose(float(lb.kl_div(log_q, t)), float(lb.kl_div(np.log(t), q)))
    # log_target=True gives the same divergence
    assert math.isclose(float(lb.kl_div(log_q, np.log(t), log_target=True)),
                        float(lb.kl_div(log_q, t)), rel_tol=1e-12)
    tt = torch.tensor(np.log(t))
    assert math.isclose(float(lb.kl_div(torch.tensor(log_q), tt, log_target=True)),
                        F.kl_div(torch.tensor(log_q), tt, log_target=True,
                                 reduction="batchmean").item(), rel_tol=1e-12)


def test_pos_weight_as_a_number_or_a_full_array():
    z, y = RNG.normal(size=(4, 3)), (RNG.uniform(size=(4, 3)) < 0.5).astype(float)
    want = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y),
                                              pos_weight=torch.full((3,), 3.0))
    np.testing.assert_allclose(lb.binary_cross_entropy_with_logits(z, y, pos_weight=3.0), want)
    np.testing.assert_allclose(
        lb.binary_cross_entropy_with_logits(z, y, pos_weight=np.full((4, 3), 3.0)), want)
    np.testing.assert_allclose(lb.binary_cross_entropy_with_logits(z, y, pos_weight=np.array([3.0])),
                               want)
    # 1-D logits with a one-element pos_weight, as torch users write it
    z1, y1 = torch.tensor(z[:, 0]), torch.tensor(y[:, 0])
    pw = torch.tensor([49.0], dtype=torch.float64)
    np.testing.assert_allclose(lb.binary_cross_entropy_with_logits(z1, y1, pos_weight=pw).item(),
                               F.binary_cross_entropy_with_logits(z1, y1, pos_weight=pw).item())


def test_integer_labels_of_any_integer_dtype():
    for dtype in (np.int32, np.int64, np.uint8):
        np.testing.assert_allclose(lb.cross_entropy(LOGITS, LABELS.astype(dtype)),
                                   lb.cross_entropy(LOGITS, LABELS))
    t32 = torch.tensor(LABELS, dtype=torch.int32)
    np.testing.assert_allclose(lb.cross_entropy(torch.tensor(LOGITS), t32).item(),
                               lb.cross_entropy(LOGITS, LABELS))


def test_corpus_ships_with_the_package():
    text = lb.datasets.load_corpus()
    assert len(text) > 10_000 and len(set(text)) < 100


# -------------------------------------------------------------------------- validation errors
@pytest.mark.parametrize("bad, match", [
    (np.array([0, 3, 1, 1, 0]), r"target holds the class index 3, outside \[0, 2\] and is not ignore_index=-100"),
    (np.array([0, -1, 1, 1, 0]), r"target holds the class index -1, outside \[0, 2\]"),
])
def test_labels_out_of_range(bad, match):
    with pytest.raises(ValueError, match=match):
        lb.cross_entropy(LOGITS, bad)


def test_float_labels_of_the_wrong_shape_are_explained():
    with pytest.raises(ValueError, match=r"target holds probabilities, so it must be shaped like input \(5, 3\); got shape \(5,\)"):
        lb.cross_entropy(LOGITS, LABELS.astype(float))


def test_bool_labels_are_rejected():
    with pytest.raises(TypeError, match="target must hold integer class indices; got dtype bool"):
        lb.cross_entropy(LOGITS[:, :2], np.array([True, False, True, True, False]))


def test_index_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"target has shape \(5, 1\) but class-index targets for input of shape \(5, 3\) must have shape \(5,\)"):
        lb.cross_entropy(LOGITS, LABELS[:, None])


def test_logits_must_have_a_class_axis():
    with pytest.raises(ValueError, match=r"input must have shape \(N, C\) or \(N, C, d1, ...\)"):
        lb.cross_entropy(np.zeros(3), np.array(1))


@pytest.mark.parametrize("fn", [lb.binary_cross_entropy])
def test_probabilities_outside_the_unit_interval(fn):
    with pytest.raises(ValueError, match=r"input must hold probabilities in \[0, 1\]; got values from -0.1 to 0.5"):
        fn(np.array([-0.1, 0.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target must hold labels in \[0, 1\]; got values from 0 to 2"):
        fn(np.array([0.2, 0.5]), np.array([0.0, 2.0]))


def test_probability_targets_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"target must hold probabilities in \[0, 1\]"):
        lb.cross_entropy(LOGITS, np.full((5, 3), 1.5))


@pytest.mark.parametrize("fn", [lb.hinge, lb.squared_hinge])
def test_hinge_needs_plus_minus_one_labels(fn):
    with pytest.raises(ValueError, match=r"target must contain only -1 and 1; got 0 \(hinge losses take -1/\+1 labels: convert 0/1 labels with 2 \* y - 1\)"):
        fn(np.array([0.3, -0.2]), np.array([0, 1]))


def test_focal_loss_needs_zero_one_labels():
    with pytest.raises(ValueError, match="target must contain only 0 and 1; got 0.5"):
        lb.focal_loss(np.array([0.3, -0.2]), np.array([0.5, 1.0]))


@pytest.mark.parametrize("kwargs, match", [
    ({"weight": np.ones(4)}, r"weight must have shape \(3,\), one entry per class; got shape \(4,\)"),
    ({"weight": np.array([1.0, -1.0, 1.0])}, "weight must be non-negative; got a value of -1"),
    ({"label_smoothing": 1.5}, r"label_smoothing must lie in \[0, 1\]; got 1.5"),
    ({"label_smoothing": -0.1}, r"label_smoothing must lie in \[0, 1\]; got -0.1"),
    ({"ignore_index": 1.5}, "ignore_index must be an integer; got 1.5"),
    ({"reduction": "batchmean"}, "reduction must be one of 'mean', 'sum' or 'none'; got 'batchmean'"),
])
def test_cross_entropy_knobs(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        lb.cross_entropy(LOGITS, LABELS, **kwargs)


def test_pos_weight_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"pos_weight must have shape \(3,\), one entry per class; got shape \(2,\)"):
        lb.binary_cross_entropy_with_logits(LOGITS, np.zeros((5, 3)), pos_weight=np.ones(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"gamma": -1.0}, "gamma must be a finite number >= 0; got -1.0"),
    ({"alpha": 1.5}, r"alpha must lie in \[0, 1\]; got 1.5"),
    ({"alpha": -0.2}, r"alpha must lie in \[0, 1\]; got -0.2"),
])
def test_focal_knobs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lb.focal_loss(np.array([0.3]), np.array([1.0]), **kwargs)


def test_softmax_focal_knobs():
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0; got -2"):
        lb.softmax_focal_loss(LOGITS, LABELS, gamma=-2)
    with pytest.raises(ValueError, match=r"alpha must have shape \(3,\)"):
        lb.softmax_focal_loss(LOGITS, LABELS, alpha=np.ones(2))
    with pytest.raises(ValueError, match="softmax_focal_loss needs at least 2 classes; got C=1"):
        lb.softmax_focal_loss(np.zeros((3, 1)), np.zeros(3, dtype=int))


def test_multiclass_hinge_knobs():
    with pytest.raises(ValueError, match="p must be 1 or 2; got 3"):
        lb.multiclass_hinge(LOGITS, LABELS, p=3)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0; got -1"):
        lb.multiclass_hinge(LOGITS, LABELS, margin=-1)


def test_kl_div_catches_probabilities_passed_as_log_probabilities():
    p = np.array([[0.2, 0.8]])
    with pytest.raises(ValueError, match="input must hold log-probabilities .* Did you pass probabilities"):
        lb.kl_div(p, p)
    with pytest.raises(ValueError, match="reduction must be one of 'batchmean', 'sum', 'mean' or 'none'; got 'avg'"):
        lb.kl_div(np.log(p), p, reduction="avg")
    with pytest.raises(TypeError, match="log_target must be True or False; got 1"):
        lb.kl_div(np.log(p), p, log_target=1)


@pytest.mark.parametrize("logits, tokens, match", [
    (np.zeros((2, 5, 4)), np.zeros((2, 4), dtype=int), r"tokens has shape \(2, 4\) but logits of shape \(2, 5, 4\) need tokens of shape \(2, 5\)"),
    (np.zeros((1, 4)), np.zeros(1, dtype=int), "a sequence needs at least 2 tokens to predict one; got T=1"),
    (np.zeros((3, 4)), np.array([0, 1, 9]), r"tokens holds the class index 9, outside \[0, 3\]"),
    (np.zeros(4), np.zeros(4, dtype=int), r"logits must have shape \(B, T, V\) or \(T, V\)"),
])
def test_next_token_errors(logits, tokens, match):
    with pytest.raises(ValueError, match=match):
        lb.next_token_cross_entropy(logits, tokens)


def test_mixing_kinds_in_classification():
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors"):
        lb.cross_entropy(torch.tensor(LOGITS), LABELS)
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors"):
        lb.cross_entropy(LOGITS, LABELS, weight=torch.ones(3))
