"""The cells of book/api/conventions.md that torch, scikit-learn and lossbook can check.

(optax's cells were read from its source; JAX is not a dependency of the course.)
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_pinball_loss, mean_squared_error, ndcg_score

import lossbook as lb

R = np.array([3.0, 0.5, -2.0])
ZERO = np.zeros(3)


def test_mse_has_no_half_in_lossbook_torch_and_sklearn():
    want = float(np.mean(R**2))
    assert float(lb.mse(R, ZERO)) == pytest.approx(want)
    assert float(F.mse_loss(torch.tensor(R), torch.tensor(ZERO))) == pytest.approx(want)
    assert mean_squared_error(ZERO, R) == pytest.approx(want)


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_and_smooth_l1_have_the_half(delta):
    a = np.abs(R)
    huber = np.where(a <= delta, 0.5 * R**2, delta * (a - 0.5 * delta))
    smooth = np.where(a < delta, R**2 / (2 * delta), a - 0.5 * delta)
    t = torch.tensor(R), torch.tensor(ZERO)
    np.testing.assert_allclose(lb.huber(R, ZERO, delta=delta, reduction="none"), huber)
    np.testing.assert_allclose(F.huber_loss(*t, delta=delta, reduction="none").numpy(), huber)
    np.testing.assert_allclose(lb.smooth_l1(R, ZERO, beta=delta, reduction="none"), smooth)
    np.testing.assert_allclose(F.smooth_l1_loss(*t, beta=delta, reduction="none").numpy(), smooth)
    np.testing.assert_allclose(huber, delta * smooth)


def test_torch_accepts_beta_zero_and_lossbook_does_not():
    t = torch.tensor(R), torch.tensor(ZERO)
    np.testing.assert_allclose(F.smooth_l1_loss(*t, beta=0.0, reduction="none").numpy(), np.abs(R))
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        lb.smooth_l1(R, ZERO, beta=0.0)


def test_log_cosh_is_half_r_squared_near_zero_and_abs_minus_log2_far():
    assert float(lb.log_cosh(np.array([1e-3]), np.zeros(1))) == pytest.approx(0.5e-6, rel=1e-6)
    assert float(lb.log_cosh(np.array([50.0]), np.zeros(1))) == pytest.approx(50 - math.log(2))
    assert not hasattr(F, "log_cosh") and not hasattr(F, "pinball_loss")


def test_quantile_is_sklearn_pinball():
    y, yhat = np.array([10.0, 10.0, 3.0]), np.array([8.0, 12.0, 3.5])
    assert float(lb.quantile(yhat, y, q=0.9)) == pytest.approx(mean_pinball_loss(y, yhat, alpha=0.9))


def test_label_smoothing_gives_the_true_class_1_minus_eps_plus_eps_over_k():
    x, y, eps, k = np.array([[2.0, 0.0, -1.0]]), np.array([0]), 0.1, 3
    q = np.full((1, k), eps / k)
    q[0, 0] = 1 - eps + eps / k
    logp = x - np.log(np.exp(x).sum())
    want = float(-(q * logp).sum())
    assert float(lb.cross_entropy(x, y, label_smoothing=eps)) == pytest.approx(want)
    assert float(F.cross_entropy(torch.tensor(x), torch.tensor(y), label_smoothing=eps)) == pytest.approx(want)


def test_focal_alpha_weighs_positives_with_default_a_quarter():
    assert inspect.signature(lb.focal_loss).parameters["alpha"].default == 0.25
    assert inspect.signature(lb.focal_loss).parameters["gamma"].default == 2.0
    z = np.array([0.0, 0.0])
    per = lb.focal_loss(z, np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(per / per.sum(), [0.25, 0.75])


def test_contrastive_label_one_means_similar_and_torch_hinge_embedding_is_unsquared():
    x = np.array([[0.0, 0.0]])
    far = np.array([[0.3, 0.4]])  # distance 0.5
    assert float(lb.contrastive_loss(x, far, np.array([1]), margin=1.0)) == pytest.approx(0.25)
    assert float(lb.contrastive_loss(x, far, np.array([0]), margin=1.0)) == pytest.approx(0.25)
    assert float(lb.contrastive_loss(x, x, np.array([1]))) == 0.0  # similar and identical: 0
    d = torch.tensor([0.5, 0.5])
    got = F.hinge_embedding_loss(d, torch.tensor([1.0, -1.0]), margin=1.0, reduction="none")
    np.testing.assert_allclose(got.numpy(), [0.5, 0.5])  # d and max(0, 1 - d): not squared


def test_triplet_distances_are_not_squared():
    a, p, n = np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([[1.5, 0.0]])
    assert float(lb.triplet_loss(a, p, n, margin=1.0)) == pytest.approx(1 - 1.5 + 1)
    got = F.triplet_margin_loss(*map(torch.tensor, (a, p, n)), margin=1.0)
    assert float(got) == pytest.approx(0.5, abs=1e-5)
    assert inspect.signature(F.triplet_margin_loss).parameters["eps"].default == 1e-6
    # FaceNet's squared form gives another number with the same margin
    assert max(1.0**2 - 1.5**2 + 1.0, 0.0) != pytest.approx(0.5)


def test_simcse_ntxent_and_clip_are_three_losses():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(2, 5, 4))
    n1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    n2 = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    tau = 0.5
    s = n1 @ n2.T / tau  # SimCSE: first views against the N second views only
    simcse = float(np.mean(np.log(np.exp(s).sum(1)) - np.diag(s)))
    assert float(lb.info_nce(z1, z2, temperature=tau)) == pytest.approx(simcse)
    clip = 0.5 * (simcse + float(np.mean(np.log(np.exp(s.T).sum(1)) - np.diag(s))))
    assert float(lb.info_nce(z1, z2, temperature=tau, symmetric=True)) == pytest.approx(clip)
    nt = float(lb.nt_xent(z1, z2, temperature=tau))
    assert nt != pytest.approx(simcse) and nt != pytest.approx(clip)


def test_ndcg_gains_and_ties_against_sklearn():
    rel = np.array([[3, 0, 1]])
    distinct, tied = np.array([[0.9, 0.5, 0.1]]), np.array([[0.5, 0.5, 0.1]])
    assert float(lb.ndcg(distinct, rel, gain="linear")) == pytest.approx(ndcg_score(rel, distinct))
    assert float(lb.ndcg(distinct, rel)) != pytest.approx(ndcg_score(rel, distinct))  # exp2 gain
    # ties: lossbook keeps the given order, scikit-learn averages over the tied orderings
    first, second = float(lb.ndcg(tied, rel, gain="linear")), float(lb.ndcg(tied[:, [1, 0, 2]], rel[:, [1, 0, 2]], gain="linear"))
    assert ndcg_score(rel, tied) == pytest.approx((first + second) / 2)
    assert float(lb.ndcg(tied, rel, gain="linear")) != pytest.approx(ndcg_score(rel, tied))


def test_ranknet_averages_over_pairs():
    s, rel = np.zeros((1, 3)), np.array([[2, 1, 0]])  # 3 pairs, each costing log 2
    assert float(lb.ranknet_loss(s, rel)) == pytest.approx(math.log(2))
    assert float(lb.ranknet_loss(s, rel, reduction="sum")) == pytest.approx(math.log(2))


def test_listnet_uses_the_softmax_of_the_labels():
    s, rel = np.array([[1.0, 0.0, -1.0]]), np.array([[2.0, 1.0, 0.0]])
    t = np.exp(rel) / np.exp(rel).sum()
    logp = s - np.log(np.exp(s).sum())
    assert float(lb.listnet_loss(s, rel)) == pytest.approx(float(-(t * logp).sum()))


def test_kl_div_reductions():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(4, 5))
    logq = q - np.log(np.exp(q).sum(1, keepdims=True))
    t = rng.uniform(size=(4, 5))
    t /= t.sum(1, keepdims=True)
    total = float(np.sum(t * (np.log(t) - logq)))
    assert float(lb.kl_div(logq, t)) == pytest.approx(total / 4)  # lossbook default: batchmean
    assert inspect.signature(F.kl_div).parameters["reduction"].default == "mean"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = float(F.kl_div(torch.tensor(logq), torch.tensor(t)))
    assert got == pytest.approx(total / 20)  # every element
    assert any("batchmean" in str(w.message) for w in caught)
    assert float(F.kl_div(torch.tensor(logq), torch.tensor(t), reduction="batchmean")) == pytest.approx(total / 4)


def test_dpo_default_beta():
    assert inspect.signature(lb.dpo_loss).parameters["beta"].default == 0.1
