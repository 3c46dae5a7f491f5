"""Ranking metrics against scikit-learn and by hand, padding invariance, edge cases, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

import lossbook as lb

RNG = np.random.default_rng(0)
SCORES = RNG.normal(size=(5, 7))  # continuous: no ties
REL = RNG.integers(0, 4, size=(5, 7))
LOSSES = [lb.ranknet_loss, lb.listnet_loss, lb.listmle_loss, lb.lambdarank_loss]
METRICS = [lb.dcg, lb.ndcg, lb.mrr, lambda s, r, **kw: lb.recall_at_k(s, r, k=3, **kw)]


@pytest.mark.parametrize("k", [None, 1, 3, 7, 20])
def test_linear_ndcg_matches_sklearn(k):
    got = lb.ndcg(SCORES, REL, k=k, gain="linear")
    assert math.isclose(float(got), ndcg_score(REL, SCORES, k=k), rel_tol=1e-12)


def test_metrics_by_hand_on_one_query():
    s = np.array([[3.0, 1.0, 2.0, 0.0]])  # ranked order: items 0, 2, 1, 3
    r = np.array([[0, 2, 3, 0]])           # relevance in ranked order: 0, 3, 2, 0
    dcg = (2**3 - 1) / math.log2(3) + (2**2 - 1) / math.log2(4)
    idcg = (2**3 - 1) / 1 + (2**2 - 1) / math.log2(3)
    assert math.isclose(float(lb.dcg(s, r)), dcg, rel_tol=1e-12)
    assert math.isclose(float(lb.ndcg(s, r)), dcg / idcg, rel_tol=1e-12)
    assert math.isclose(float(lb.dcg(s, r, k=1)), 0.0, abs_tol=0)
    assert math.isclose(float(lb.dcg(s, r, gain="linear")), 3 / math.log2(3) + 2 / 2, rel_tol=1e-12)
    assert math.isclose(float(lb.mrr(s, r)), 1 / 2, rel_tol=1e-12)
    assert float(lb.mrr(s, r, k=1)) == 0.0
    assert float(lb.recall_at_k(s, r, k=2)) == 0.5 and float(lb.recall_at_k(s, r, k=3)) == 1.0


def test_ties_keep_the_given_order():
    s = np.zeros((1, 3))
    assert float(lb.mrr(s, np.array([[0, 1, 0]]))) == 0.5  # item 1 is ranked second


def test_queries_without_relevant_items_score_zero_and_without_items_do_not_count():
    s, r = np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[0, 0], [1, 0]])
    assert lb.ndcg(s, r, reduction="none")[0] == 0.0
    assert lb.mrr(s, r, reduction="none")[0] == 0.0 and lb.recall_at_k(s, r, k=1, reduction="none")[0] == 0.0
    mask = np.array([[False, False], [True, True]])  # the first list is all padding
    assert float(lb.ndcg(s, r, mask=mask)) == float(lb.ndcg(s[1:], r[1:]))


def _pad(x, extra, fill):
    return np.concatenate([x, np.full((x.shape[0], extra), fill, dtype=x.dtype)], axis=1)


@pytest.mark.parametrize("fn", LOSSES + METRICS, ids=["ranknet", "listnet", "listmle", "lambdarank",
                                                     "dcg", "ndcg", "mrr", "recall@3"])
def test_padding_never_changes_a_value_or_a_gradient(fn):
    s0 = torch.tensor(SCORES, requires_grad=True)
    base = fn(s0, torch.tensor(REL))
    # three padded items with scores and relevance that would dominate if they counted
    s_pad = torch.tensor(_pad(SCORES, 3, 50.0), requires_grad=True)
    r_pad = torch.tensor(_pad(REL, 3, 3))
    mask = torch.tensor(_pad(np.ones_like(REL, dtype=bool), 3, False))
    padded = fn(s_pad, r_pad, mask=mask)
    torch.testing.assert_close(padded, base, rtol=1e-12, atol=1e-14)
    assert not torch.isclose(fn(s_pad, r_pad), base)  # without the mask the padding counts
    if base.requires_grad:
        base.backward()
        padded.backward()
        torch.testing.assert_close(s_pad.grad[:, :7], s0.grad, rtol=1e-12, atol=1e-14)
        assert torch.equal(s_pad.grad[:, 7:], torch.zeros(5, 3, dtype=torch.float64))


@pytest.mark.parametrize("fn", LOSSES, ids=["ranknet", "listnet", "listmle", "lambdarank"])
@pytest.mark.parametrize("case", ["all-masked", "no-relevant-item"])
def test_nothing_to_rank_gives_zero_not_nan(fn, case):
    s = torch.tensor(SCORES[:2], requires_grad=True)
    if case == "all-masked":
        out = fn(s, torch.tensor(REL[:2]), mask=torch.zeros(2, 7, dtype=torch.bool))
    else:
        out = fn(s, torch.zeros(2, 7))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(s.grad).all()
    if case == "all-masked" or fn in (lb.ranknet_loss, lb.lambdarank_loss):
        assert out.item() == 0.0


def test_lambdarank_weights_pairs_by_their_effect_on_ndcg():
    # the same misordered pair costs more at the top of the list than at the bottom
    top = lb.lambdarank_loss(np.array([[0.0, 1.0, -5.0, -6.0]]), np.array([[2, 0, 0, 0]]))
    bottom = lb.lambdarank_loss(np.array([[6.0, 5.0, 0.0, 1.0]]), np.array([[3, 3, 2, 0]]))
    assert float(top) > float(bottom) > 0
    # with k=1, the misordered pair (items 1 and 2, ranked 3rd and 2nd) is beyond the cut-off
    # and weighs 0: only the pair (0, 2), weight |1 - 0| * |1 - 0| / IDCG = 1, remains
    got = lb.lambdarank_loss(np.array([[5.0, 0.0, 1.0]]), np.array([[1, 1, 0]]), k=1)
    assert math.isclose(float(got), math.log1p(math.exp(-4.0)), rel_tol=1e-12)


def test_dpo_is_log2_at_the_reference_and_decreases_with_the_margin():
    c, r = np.array([-5.0, -7.0]), np.array([-6.0, -9.0])
    assert math.isclose(float(lb.dpo_loss(c, r, c, r)), math.log(2), rel_tol=1e-12)
    assert float(lb.dpo_loss(c + 1, r, c, r)) < math.log(2) < float(lb.dpo_loss(c, r + 1, c, r))


def test_make_ranking_is_learnable_and_reproducible():
    d = lb.datasets.make_ranking(50, seed=1)
    assert np.array_equal(d.relevance, lb.datasets.make_ranking(50, seed=1).relevance)
    oracle = d.features @ d.weights
    random = np.random.default_rng(0).normal(size=oracle.shape)
    assert float(lb.ndcg(oracle, d.relevance, k=10, mask=d.mask)) > float(
        lb.ndcg(random, d.relevance, k=10, mask=d.mask)) + 0.2
    assert not d.relevance[~d.mask].any() and not d.features[~d.mask].any()


@pytest.mark.parametrize("call, error, match", [
    (lambda: lb.ndcg(SCORES, REL[:, :3]), ValueError, r"relevance has shape \(5, 3\) but scores has shape \(5, 7\)"),
    (lambda: lb.ndcg(SCORES, -REL - 1), ValueError, r"relevance must be >= 0 \(graded labels\); got -4"),
    (lambda: lb.ndcg(SCORES, REL, mask=np.ones((5, 7))), TypeError, "mask must be a boolean array .*; got dtype float64"),
    (lambda: lb.ndcg(SCORES, REL, mask=np.ones((5, 6), bool)), ValueError, r"mask has shape \(5, 6\) but scores has shape \(5, 7\)"),
    (lambda: lb.ndcg(SCORES, REL, k=0), ValueError, r"k must be >= 1 \(or None for the whole list\); got 0"),
    (lambda: lb.ndcg(SCORES, REL, gain="log"), ValueError, "gain must be 'exp2' or 'linear'; got 'log'"),
    (lambda: lb.recall_at_k(SCORES, REL, k=None), ValueError, "k must be an integer >= 1 for recall_at_k"),
    (lambda: lb.ranknet_loss(SCORES, REL, sigma=0), ValueError, "sigma must be a finite number > 0; got 0"),
    (lambda: lb.lambdarank_loss(SCORES, REL, k=1.5), TypeError, "k must be an integer; got 1.5"),
    (lambda: lb.listnet_loss(SCORES[0], REL[0]), ValueError, r"scores must have shape \(Q, L\), one row per query; got shape \(7,\)"),
    (lambda: lb.listmle_loss(torch.tensor(SCORES), REL), TypeError, "cannot mix NumPy arrays and torch tensors"),
    (lambda: lb.dpo_loss(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), beta=0.0), ValueError, "beta must be a finite number > 0; got 0.0"),
    (lambda: lb.dpo_loss(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), label_smoothing=0.5), ValueError, r"label_smoothing must be < 0.5"),
    (lambda: lb.dpo_loss(np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(2)), ValueError, r"ref_chosen has shape \(2,\) but policy_chosen has shape \(3,\)"),
    (lambda: lb.dpo_loss(np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3)), ValueError, r"policy_rejected has shape \(2,\) but policy_chosen has shape \(3,\)"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
