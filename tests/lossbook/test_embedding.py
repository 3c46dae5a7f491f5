"""Embedding-specific behaviour: chunked InfoNCE, empty mining, references, every error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossbook as lb

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 4))
Y = RNG.normal(size=(6, 4))
LABELS = np.array([0, 0, 1, 1, 2, 2])


# ----------------------------------------------------------------------------- chunked InfoNCE
def _largest_saved_tensor(fn) -> int:
    """The numel of the largest tensor autograd keeps for the backward pass of ``fn()``."""
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, max(sizes)


CHUNKED = {
    "info_nce": lambda q, k, c: lb.info_nce(q, k, temperature=0.1, chunk_size=c),
    "info_nce[symmetric]": lambda q, k, c: lb.info_nce(q, k, temperature=0.1, symmetric=True,
                                                       chunk_size=c),
    "nt_xent": lambda q, k, c: lb.nt_xent(q, k, temperature=0.1, chunk_size=c),
}


@pytest.mark.parametrize("chunk", [8, 24])  # 24 does not divide 64 (or 128): a short last block
@pytest.mark.parametrize("name", list(CHUNKED))
def test_chunked_contrastive_losses_have_the_same_value_and_gradients_with_less_memory(name, chunk):
    n, d = 64, 8
    m = 2 * n if name == "nt_xent" else n  # rows of the similarity matrix
    g = torch.Generator().manual_seed(0)
    q0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    k0 = torch.randn(n, d, generator=g, dtype=torch.float64)

    def run(chunk_size):
        q, k = q0.clone().requires_grad_(), k0.clone().requires_grad_()
        out, largest = _largest_saved_tensor(lambda: CHUNKED[name](q, k, chunk_size))
        out.backward()
        return out, q.grad, k.grad, largest

    full, gq, gk, big = run(None)
    part, gq_c, gk_c, small = run(chunk)
    torch.testing.assert_close(part, full, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gq_c, gq, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(gk_c, gk, rtol=1e-10, atol=1e-14)
    assert big >= m * m  # the unchunked graph keeps the whole similarity matrix
    assert small < m * m and small <= max(chunk * m, m * d)  # the chunked one never does


@pytest.mark.parametrize("loss", [lb.info_nce, lb.nt_xent])
def test_chunked_contrastive_losses_in_numpy_match(loss):
    np.testing.assert_allclose(loss(X, Y, chunk_size=4, reduction="none"),
                               loss(X, Y, reduction="none"), rtol=1e-12)


def test_info_nce_is_a_cross_entropy_over_the_similarity_matrix():
    q = X / np.linalg.norm(X, axis=1, keepdims=True)
    k = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    np.testing.assert_allclose(lb.info_nce(X, Y, temperature=0.2),
                               lb.cross_entropy(q @ k.T / 0.2, np.arange(6)), rtol=1e-12)
    # MNRL is the same loss with scale = 1 / temperature
    np.testing.assert_allclose(lb.multiple_negatives_ranking_loss(X, Y, scale=5.0),
                               lb.info_nce(X, Y, temperature=0.2), rtol=1e-12)


# ------------------------------------------------------------------------------------- mining
@pytest.mark.parametrize("mining", ["batch_all", "batch_hard", "semi_hard"])
@pytest.mark.parametrize("labels", [np.arange(6), np.zeros(6, dtype=int)], ids=["all-different", "all-same"])
def test_no_valid_triplet_gives_zero_and_a_zero_gradient(mining, labels):
    x = torch.tensor(X, requires_grad=True)
    loss = lb.batch_triplet_loss(x, torch.tensor(labels), mining=mining)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros_like(x))


def test_batch_all_matches_pytorch_metric_learning():
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.losses import TripletMarginLoss

    x, labels = RNG.normal(size=(12, 3)), RNG.integers(0, 3, size=12)
    pml = TripletMarginLoss(margin=0.5, distance=LpDistance(normalize_embeddings=False))
    want = pml(torch.tensor(x), torch.tensor(labels)).item()
    assert np.isclose(float(lb.batch_triplet_loss(x, labels, margin=0.5)), want, rtol=1e-7)


def test_identical_embeddings_have_finite_gradients_everywhere():
    x = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    total = (lb.contrastive_loss(x, x.detach().clone(), torch.tensor([0, 1, 0, 1]))
             + lb.triplet_loss(x, x * 1.0, x * 1.0)
             + sum(lb.batch_triplet_loss(x, labels, mining=m) for m in
                   ("batch_all", "batch_hard", "semi_hard"))
             + lb.info_nce(x, x * 1.0) + lb.nt_xent(x, x * 1.0)
             + lb.multiple_negatives_ranking_loss(x, x * 1.0))
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(x.grad).all()


def test_triplet_loss_equals_torch_at_its_default_eps_up_to_that_eps():
    a, p, n = (torch.tensor(RNG.normal(size=(5, 3))) for _ in range(3))
    np.testing.assert_allclose(lb.triplet_loss(a, p, n).item(),
                               F.triplet_margin_loss(a, p, n).item(), atol=1e-5)


# -------------------------------------------------------------------------- validation errors
@pytest.mark.parametrize("call, error, match", [
    (lambda: lb.contrastive_loss(X, Y[:5], np.ones(6)), ValueError,
     r"x2 has shape \(5, 4\) but x1 has shape \(6, 4\)"),
    (lambda: lb.contrastive_loss(X, Y, np.ones(5)), ValueError,
     r"label must have shape \(6,\), one per row of embeddings \(6, 4\); got shape \(5,\)"),
    (lambda: lb.contrastive_loss(X, Y, np.full(6, 2)), ValueError,
     "label must contain only 0 and 1; got 2"),
    (lambda: lb.contrastive_loss(X, Y, np.ones(6), margin=-1.0), ValueError,
     "margin must be a finite number >= 0; got -1.0"),
    (lambda: lb.contrastive_loss(X[0], Y[0], np.ones(1)), ValueError,
     r"x1 must have shape \(N, D\), one embedding per row; got shape \(4,\)"),
    (lambda: lb.triplet_loss(X, Y, Y[:, :3]), ValueError,
     "negative has 3 dimensions per row but anchor has 4"),
    (lambda: lb.triplet_loss(X, Y, Y, p=0.5), ValueError, r"p must be >= 1 \(a norm\); got 0.5"),
    (lambda: lb.batch_triplet_loss(X, LABELS, mining="hardest"), ValueError,
     "mining must be one of 'batch_all', 'batch_hard', 'semi_hard'; got 'hardest'"),
    (lambda: lb.batch_triplet_loss(X, LABELS.astype(float)), TypeError,
     "labels must be integer class labels; got dtype float64"),
    (lambda: lb.batch_triplet_loss(X, LABELS[:, None]), ValueError,
     r"labels must have shape \(6,\), one per row of embeddings \(6, 4\); got shape \(6, 1\)"),
    (lambda: lb.multiple_negatives_ranking_loss(X, Y[:4]), ValueError,
     "positives has 4 rows but anchors has 6; row i of each must describe the same example"),
    (lambda: lb.multiple_negatives_ranking_loss(X, Y, scale=0.0), ValueError,
     "scale must be a finite number > 0; got 0.0"),
    (lambda: lb.multiple_negatives_ranking_loss(X, Y, np.zeros((3, 5))), ValueError,
     "negatives has 5 dimensions per row but anchors has 4"),
    (lambda: lb.info_nce(X, Y, temperature=-0.1), ValueError,
     "temperature must be a finite number > 0; got -0.1"),
    (lambda: lb.info_nce(X, Y, chunk_size=0), ValueError, r"chunk_size must be >= 1 \(or None\); got 0"),
    (lambda: lb.info_nce(X, Y, chunk_size=2.5), TypeError, "chunk_size must be an integer; got 2.5"),
    (lambda: lb.nt_xent(X, Y, chunk_size=0), ValueError, r"chunk_size must be >= 1 \(or None\); got 0"),
    (lambda: lb.nt_xent(X, Y, chunk_size="8"), TypeError, "chunk_size must be an integer; got '8'"),
    (lambda: lb.info_nce(X, Y, symmetric="yes"), TypeError, "symmetric must be True or False; got 'yes'"),
    (lambda: lb.info_nce(X, Y[:3]), ValueError, "key has 3 rows but query has 6"),
    (lambda: lb.nt_xent(X, Y[:, :2]), ValueError, "z2 has 2 dimensions per row but z1 has 4"),
    (lambda: lb.nt_xent(X, Y, temperature=0), ValueError, "temperature must be a finite number > 0; got 0"),
    (lambda: lb.nt_xent(torch.tensor(X), Y), TypeError, "cannot mix NumPy arrays and torch tensors"),
    (lambda: lb.info_nce(X.astype(int), Y), TypeError, "query must have a floating-point dtype"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
