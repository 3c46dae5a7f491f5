"""The registry of lossbook losses that drives the generic tests (see test_common.py).

Each entry names the lossbook function, its NumPy gradient (if any), the knob settings to
try, the kind of inputs it takes, and an independent reference: a torch.nn.functional twin, a
scikit-learn metric or a naive loop written here. A new loss joins every generic test by
adding one entry.

The inputs come from ``lossbook.testing.INPUTS``, the one registry of input makers, which the
benchmark (bench/losses.py) uses too, at its own sizes: a kind of input is declared there once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_pinball_loss

import lossbook as lb
from lossbook.testing import INPUTS


def _inputs(kind: str) -> dict[str, Callable[..., tuple[np.ndarray, ...]]]:
    """The ``make`` and ``extreme`` fields of a case whose inputs are of this kind."""
    return {"make": INPUTS[kind].make, "extreme": INPUTS[kind].extreme}


# test_validation.py draws the ranking metrics' and perplexity's inputs from these
_lists = INPUTS["lists"].make
_sequences = INPUTS["token_logits"].make


def _reduce(per_element: np.ndarray, reduction: str) -> np.ndarray | float:
    if reduction == "mean":
        return float(np.mean(per_element))
    if reduction == "sum":
        return float(np.sum(per_element))
    return per_element


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _log_cosh_loop(input, target, reduction):
    # Naive, element by element, with math.cosh; fine for the moderate residuals it is given.
    import math

    r = (_np(input) - _np(target)).ravel()
    out = np.array([math.log(math.cosh(v)) for v in r]).reshape(np.shape(_np(input)))
    return _reduce(out, reduction)


def _quantile_reference(input, target, reduction, q):
    y_pred, y_true = _np(input), _np(target)
    if reduction == "mean":
        # scikit-learn's pinball loss: alpha * max(y - yhat, 0) + (1 - alpha) * max(yhat - y, 0)
        return mean_pinball_loss(y_true.ravel(), y_pred.ravel(), alpha=q)
    u = y_true - y_pred
    per = np.array([q * v if v >= 0 else (q - 1) * v for v in u.ravel()]).reshape(u.shape)
    return _reduce(per, reduction)


def _torch_ref(fn: Callable[..., torch.Tensor], **fixed: Any) -> Callable[..., Any]:
    def ref(input, target, reduction, **knobs):
        return _np(fn(torch.as_tensor(input), torch.as_tensor(target), reduction=reduction,
                      **fixed, **knobs))

    return ref


@dataclass(frozen=True)
class LossCase:
    """One loss in the registry.

    ``make(rng, scale)`` returns the loss's array arguments as a tuple of NumPy arrays (the first
    is the one the generic tests differentiate); ``extreme()`` returns arguments at which value
    and gradient must still be finite. Both come from ``lossbook.testing.INPUTS`` (regression
    inputs unless said otherwise). ``reference(*arrays, reduction, **knobs)`` is the
    independent implementation. ``plain_mean`` says that ``'mean'`` is the
    mean of the ``'none'`` output (false for class-weighted cross-entropy, for example).
    """

    name: str
    fn: Callable[..., Any]
    grad: Callable[..., Any] | None
    reference: Callable[..., Any]
    knob_settings: tuple[dict[str, Any], ...] = field(default=({},))
    make: Callable[..., tuple[np.ndarray, ...]] = INPUTS["regression"].make
    extreme: Callable[[], tuple[np.ndarray, ...]] = INPUTS["regression"].extreme
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    plain_mean: bool = True
    zero_at_target: bool = False  # loss(y, y) == 0: true for the regression losses
    # every element of the 'none' output is >= 0 (KL's terms are not; only their sum is)
    elementwise_nonnegative: bool = True
    # the public lossbook function this case covers, when ``fn`` wraps it (default: ``fn``)
    public: Callable[..., Any] | None = None
    # array knobs that also apply at the extreme inputs (others, shaped like the usual inputs,
    # are dropped there)
    extreme_knobs: tuple[str, ...] = ()

    def __str__(self) -> str:  # readable pytest ids
        return self.name


REGRESSION = (
    LossCase("mse", lb.mse, lb.mse_grad, _torch_ref(F.mse_loss), zero_at_target=True),
    LossCase("mae", lb.mae, lb.mae_grad, _torch_ref(F.l1_loss), zero_at_target=True),
    LossCase("huber", lb.huber, lb.huber_grad,
             lambda i, t, reduction, delta=1.0: _np(F.huber_loss(
                 torch.as_tensor(i), torch.as_tensor(t), reduction=reduction, delta=delta)),
             ({}, {"delta": 0.3}, {"delta": 2.5}), zero_at_target=True),
    LossCase("smooth_l1", lb.smooth_l1, lb.smooth_l1_grad,
             lambda i, t, reduction, beta=1.0: _np(F.smooth_l1_loss(
                 torch.as_tensor(i), torch.as_tensor(t), reduction=reduction, beta=beta)),
             ({}, {"beta": 0.3}, {"beta": 2.5}), zero_at_target=True),
    LossCase("log_cosh", lb.log_cosh, lb.log_cosh_grad, _log_cosh_loop, zero_at_target=True),
    LossCase("quantile", lb.quantile, lb.quantile_grad,
             lambda i, t, reduction, q=0.5: _quantile_reference(i, t, reduction, q),
             ({}, {"q": 0.1}, {"q": 0.9}), zero_at_target=True),
)


# ------------------------------------------------------------------------------ classification
def _t(x: Any) -> Any:
    """NumPy -> torch for references (arrays only; numbers pass through)."""
    return torch.from_numpy(x) if isinstance(x, np.ndarray) else x


def _knobs_t(knobs: dict[str, Any]) -> dict[str, Any]:
    return {k: _t(v) for k, v in knobs.items()}


def _torch_call(fn: Callable[..., torch.Tensor]) -> Callable[..., Any]:
    def ref(input, target, reduction, **knobs):
        return _np(fn(_t(input), _t(target), reduction=reduction, **_knobs_t(knobs)))

    return ref


def _torchvision_focal(input, target, reduction, alpha=0.25, gamma=2.0):
    # The formula of torchvision.ops.sigmoid_focal_loss, written out (torchvision is not a
    # dependency): p = sigmoid(x); ce = BCE-with-logits; loss = ce * (1 - p_t) ** gamma * alpha_t
    x, y = _t(input), _t(target)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return _np({"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction])


def _softmax_focal_loop(input, target, reduction, gamma=2.0, alpha=None):
    import math

    out = []
    for row, y in zip(np.asarray(input), np.asarray(target)):
        m = max(row)
        z = sum(math.exp(v - m) for v in row)
        p = math.exp(row[y] - m) / z
        a = 1.0 if alpha is None else alpha[y]
        out.append(-a * (1 - p) ** gamma * math.log(p))
    return _reduce(np.array(out), reduction)


def _hinge_reference(input, target, reduction, margin=1.0, squared=False):
    from sklearn.metrics import hinge_loss

    if reduction == "mean" and margin == 1.0 and not squared:
        return hinge_loss(target, input)  # scikit-learn, binary labels -1/+1
    per = np.array([max(0.0, margin - y * f) for f, y in zip(input, target)])
    return _reduce(per**2 if squared else per, reduction)


def _next_token_reference(input, target, reduction, ignore_index=-100):
    x, t = _t(input), _t(target)
    out = F.cross_entropy(x[:, :-1].reshape(-1, x.shape[-1]), t[:, 1:].reshape(-1),
                          ignore_index=ignore_index, reduction=reduction)
    return _np(out.reshape(t[:, 1:].shape) if reduction == "none" else out)


def _kl_reference(input, target, reduction, **knobs):
    import warnings

    with warnings.catch_warnings():
        # torch warns that 'mean' will change meaning; lossbook matches today's behaviour
        warnings.simplefilter("ignore", UserWarning)
        return _torch_call(F.kl_div)(input, target, reduction, **knobs)


W4 = np.array([0.5, 2.0, 1.0, 3.0])
W3 = np.array([1.0, 0.2, 3.0])

CLASSIFICATION = (
    LossCase("binary_cross_entropy", lb.binary_cross_entropy, None,
             _torch_call(F.binary_cross_entropy),
             ({}, {"weight": np.linspace(0.1, 2.0, 24).reshape(6, 4)}),
             **_inputs("probabilities")),
    LossCase("binary_cross_entropy_with_logits", lb.binary_cross_entropy_with_logits,
             lb.binary_cross_entropy_with_logits_grad,
             _torch_call(F.binary_cross_entropy_with_logits),
             ({}, {"pos_weight": W4}, {"weight": np.linspace(0.1, 2.0, 24).reshape(6, 4),
                                       "pos_weight": W4}),
             **_inputs("soft_logits")),
    LossCase("cross_entropy", lb.cross_entropy, lb.cross_entropy_grad,
             _torch_call(F.cross_entropy),
             ({}, {"label_smoothing": 0.1}, {"weight": W4},
              {"weight": W4, "label_smoothing": 0.2}, {"ignore_index": 2},
              {"ignore_index": 0, "weight": W4, "label_smoothing": 0.3}),
             **_inputs("class_logits"), plain_mean=False),
    LossCase("cross_entropy[spatial]", lb.cross_entropy, lb.cross_entropy_grad,
             _torch_call(F.cross_entropy),
             ({}, {"weight": W4, "label_smoothing": 0.1}),
             **_inputs("spatial_logits"), plain_mean=False),
    LossCase("cross_entropy[probabilities]", lb.cross_entropy, lb.cross_entropy_grad,
             _torch_call(F.cross_entropy),
             ({}, {"label_smoothing": 0.25}, {"weight": W4}),
             **_inputs("probability_targets")),
    LossCase("focal_loss", lb.focal_loss, None, _torchvision_focal,
             ({}, {"gamma": 0.5}, {"alpha": None, "gamma": 0.0}, {"alpha": 0.9, "gamma": 3.0}),
             **_inputs("binary_logits")),
    LossCase("softmax_focal_loss", lb.softmax_focal_loss, None, _softmax_focal_loop,
             ({}, {"gamma": 0.0}, {"gamma": 0.5, "alpha": W4}),
             **_inputs("class_logits")),
    LossCase("hinge", lb.hinge, None, _hinge_reference, ({}, {"margin": 0.5}),
             **_inputs("signed_scores")),
    LossCase("squared_hinge", lb.squared_hinge, None,
             lambda i, t, reduction, margin=1.0: _hinge_reference(i, t, reduction, margin, True),
             ({}, {"margin": 2.0}), **_inputs("signed_scores")),
    LossCase("multiclass_hinge", lb.multiclass_hinge, None, _torch_call(F.multi_margin_loss),
             ({}, {"p": 2}, {"margin": 0.5}), **_inputs("class_logits")),
    LossCase("kl_div", lb.kl_div, None, _kl_reference,
             ({}, ), **_inputs("log_probabilities"),
             reductions=("batchmean", "sum", "mean", "none"), elementwise_nonnegative=False),
    LossCase("next_token_cross_entropy", lb.next_token_cross_entropy, None,
             _next_token_reference, ({}, {"ignore_index": 3}),
             **_inputs("token_logits"), plain_mean=False),
)

# ----------------------------------------------------------------------------------- embedding
def _dist(a, b) -> float:
    import math

    return math.sqrt(sum((u - v) ** 2 for u, v in zip(a, b)))


def _contrastive_loop(x1, x2, label, reduction, margin=1.0):
    per = []
    for a, b, y in zip(x1, x2, label):
        d = _dist(a, b)
        per.append(y * d * d + (1 - y) * max(margin - d, 0.0) ** 2)
    return _reduce(np.array(per), reduction)


def _batch_triplet_loop(x, labels, reduction, margin=1.0, mining="batch_all"):
    n = len(x)
    d = [[_dist(x[i], x[j]) for j in range(n)] for i in range(n)]
    per_anchor, count = np.zeros(n), 0
    for a in range(n):
        pos = [p for p in range(n) if p != a and labels[p] == labels[a]]
        neg = [k for k in range(n) if labels[k] != labels[a]]
        if not pos or not neg:
            continue
        if mining == "batch_all":
            for p in pos:
                for k in neg:
                    loss = max(d[a][p] - d[a][k] + margin, 0.0)
                    per_anchor[a] += loss
                    count += loss > 0
        elif mining == "batch_hard":
            per_anchor[a] = max(max(d[a][p] for p in pos) - min(d[a][k] for k in neg) + margin, 0.0)
            count += 1
        else:  # semi_hard: closest negative beyond the positive, else the farthest negative
            for p in pos:
                beyond = [d[a][k] for k in neg if d[a][k] > d[a][p]]
                d_an = min(beyond) if beyond else max(d[a][k] for k in neg)
                per_anchor[a] += max(d[a][p] - d_an + margin, 0.0)
                count += 1
    if reduction == "none":
        return per_anchor
    if reduction == "sum":
        return float(per_anchor.sum())
    return float(per_anchor.sum() / count) if count else 0.0


def _cosine_logits(q, k, scale):
    # sentence-transformers' util.cos_sim: normalise the rows, then a matrix product
    return scale * F.normalize(_t(q), dim=-1) @ F.normalize(_t(k), dim=-1).T


def _mnrl_reference(*args, scale=20.0):
    *arrays, reduction = args
    candidates = np.concatenate(arrays[1:])
    scores = _cosine_logits(arrays[0], candidates, scale)
    labels = torch.arange(len(arrays[0]))
    return _np(F.cross_entropy(scores, labels, reduction=reduction))


def _info_nce_reference(q, k, reduction, temperature=0.07, symmetric=False, chunk_size=None):
    logits = _cosine_logits(q, k, 1.0 / temperature)
    labels = torch.arange(len(q))
    per = F.cross_entropy(logits, labels, reduction="none")
    if symmetric:
        per = 0.5 * (per + F.cross_entropy(logits.T, labels, reduction="none"))
    return _np({"mean": per.mean(), "sum": per.sum(), "none": per}[reduction])


def _nt_xent_reference(z1, z2, reduction, temperature=0.5):
    n = len(z1)
    if reduction == "mean":  # pytorch-metric-learning, pairing row i of z1 with row i of z2
        from pytorch_metric_learning.losses import NTXentLoss

        labels = torch.cat([torch.arange(n), torch.arange(n)])
        return _np(NTXentLoss(temperature=temperature)(torch.cat([_t(z1), _t(z2)]), labels))
    import math

    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    per = []
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        others = [math.exp(z[i] @ z[j] / temperature) for j in range(2 * n) if j != i]
        per.append(-math.log(math.exp(z[i] @ z[partner] / temperature) / sum(others)))
    return _reduce(np.array(per), reduction)


EMBEDDING = (
    LossCase("contrastive_loss", lb.contrastive_loss, None, _contrastive_loop,
             ({}, {"margin": 3.0}), **_inputs("pairs")),
    LossCase("triplet_loss", lb.triplet_loss, None,
             lambda a, pos, neg, reduction, margin=1.0, p=2.0: _np(F.triplet_margin_loss(
                 _t(a), _t(pos), _t(neg), margin=margin, p=p, eps=0.0, reduction=reduction)),
             ({}, {"margin": 0.2}, {"p": 1}, {"p": 3.0}, {"p": float("inf")}),
             **_inputs("triplets")),
    LossCase("batch_triplet_loss", lb.batch_triplet_loss, None, _batch_triplet_loop,
             ({}, {"mining": "batch_hard"}, {"mining": "semi_hard"},
              {"mining": "batch_hard", "margin": 0.3}, {"mining": "semi_hard", "margin": 2.0}),
             **_inputs("labelled_embeddings"), plain_mean=False),
    LossCase("multiple_negatives_ranking_loss", lb.multiple_negatives_ranking_loss, None,
             _mnrl_reference, ({}, {"scale": 1.0}), **_inputs("two_views")),
    LossCase("multiple_negatives_ranking_loss[hard negatives]",
             lb.multiple_negatives_ranking_loss, None, _mnrl_reference, ({}, {"scale": 5.0}),
             **_inputs("two_views_with_negatives")),
    LossCase("info_nce", lb.info_nce, None, _info_nce_reference,
             ({}, {"temperature": 0.5}, {"symmetric": True}, {"chunk_size": 4},
              {"chunk_size": 1, "symmetric": True, "temperature": 0.2}),
             **_inputs("two_views")),
    LossCase("nt_xent", lb.nt_xent, None, _nt_xent_reference, ({}, {"temperature": 0.1}),
             **_inputs("two_views")),
)

# ------------------------------------------------------------------------------------- ranking
RANK_MASK = np.array([[True] * 6, [True] * 4 + [False] * 2, [True] * 2 + [False] * 4,
                      [True] * 5 + [False]])


def _per_query(fn, scores, relevance, reduction, mask=None):
    """Apply ``fn(real_scores, real_relevance) -> (loss, counts)`` to each query's real items."""
    mask = np.ones(np.shape(scores), dtype=bool) if mask is None else np.asarray(mask)
    per, counted = [], []
    for s, r, m in zip(np.asarray(scores), np.asarray(relevance), mask):
        loss, counts = fn(list(s[m]), list(r[m]))
        per.append(loss)
        counted.append(counts)
    per = np.array(per)
    if reduction == "none":
        return per
    if reduction == "sum":
        return float(per.sum())
    n = sum(counted)
    return float(per.sum() / n) if n else 0.0


def _softplus(x):
    import math

    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _ranknet_loop(scores, relevance, reduction, sigma=1.0, mask=None):
    def one(s, r):
        terms = [_softplus(-sigma * (s[i] - s[j])) for i in range(len(s)) for j in range(len(s))
                 if r[i] > r[j]]
        return (sum(terms) / len(terms) if terms else 0.0), bool(terms)

    return _per_query(one, scores, relevance, reduction, mask)


def _listnet_loop(scores, relevance, reduction, mask=None):
    import math

    def one(s, r):
        zs, zr = sum(math.exp(v - max(s)) for v in s), sum(math.exp(v - max(r)) for v in r)
        loss = 0.0
        for si, ri in zip(s, r):
            loss -= math.exp(ri - max(r)) / zr * (si - max(s) - math.log(zs))
        return loss, bool(s)

    return _per_query(one, scores, relevance, reduction, mask)


def _listmle_loop(scores, relevance, reduction, mask=None):
    import math

    def one(s, r):
        order = sorted(range(len(s)), key=lambda i: -r[i])  # stable: ties keep their order
        loss = 0.0
        for pos, i in enumerate(order):
            rest = [s[j] for j in order[pos:]]
            m = max(rest)
            loss += m + math.log(sum(math.exp(v - m) for v in rest)) - s[i]
        return loss, bool(s)

    return _per_query(one, scores, relevance, reduction, mask)


def _lambdarank_loop(scores, relevance, reduction, k=None, sigma=1.0, mask=None):
    import math

    def one(s, r):
        n = len(s)
        ranked = sorted(range(n), key=lambda i: -s[i])
        rank = {item: pos for pos, item in enumerate(ranked)}
        disc = [1 / math.log2(rank[i] + 2) if k is None or rank[i] < k else 0.0 for i in range(n)]
        g = [2.0**v - 1 for v in r]
        ideal = sorted(g, reverse=True)
        idcg = sum(v / math.log2(p + 2) for p, v in enumerate(ideal) if k is None or p < k)
        loss, pairs = 0.0, 0
        for i in range(n):
            for j in range(n):
                if r[i] > r[j]:
                    pairs += 1
                    if idcg > 0:
                        delta = abs((g[i] - g[j]) * (disc[i] - disc[j])) / idcg
                        loss += delta * _softplus(-sigma * (s[i] - s[j]))
        return loss, pairs > 0

    return _per_query(one, scores, relevance, reduction, mask)


def _dpo_reference(pc, pr, rc, rr, reduction, beta=0.1, label_smoothing=0.0):
    # TRL's sigmoid DPO loss, written out
    z = beta * ((_t(pc) - _t(pr)) - (_t(rc) - _t(rr)))
    loss = -(1 - label_smoothing) * F.logsigmoid(z) - label_smoothing * F.logsigmoid(-z)
    return _np({"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction])


RANKING = (
    LossCase("ranknet_loss", lb.ranknet_loss, None, _ranknet_loop,
             ({}, {"sigma": 2.0}, {"mask": RANK_MASK}), **_inputs("lists"),
             plain_mean=False),
    LossCase("listnet_loss", lb.listnet_loss, None, _listnet_loop, ({}, {"mask": RANK_MASK}),
             **_inputs("lists"), plain_mean=False),
    LossCase("listmle_loss", lb.listmle_loss, None, _listmle_loop, ({}, {"mask": RANK_MASK}),
             **_inputs("lists"), plain_mean=False),
    LossCase("lambdarank_loss", lb.lambdarank_loss, None, _lambdarank_loop,
             ({}, {"k": 3}, {"mask": RANK_MASK, "k": 2, "sigma": 0.5}),
             **_inputs("lists"), plain_mean=False),
    LossCase("dpo_loss", lb.dpo_loss, None, _dpo_reference,
             ({}, {"beta": 0.5}, {"label_smoothing": 0.2}), **_inputs("preferences")),
)

# ------------------------------------------------------------------------------------ business
COSTS2 = np.array([[0.0, 10.0], [500.0, 0.0]])
COSTS3 = np.array([[0.0, 1.0, 4.0], [2.0, 0.0, 1.0], [8.0, 3.0, 0.5]])


def _asymmetric_loop(input, target, reduction, under_weight=1.0, over_weight=1.0):
    per = [(under_weight if p < t else over_weight) * (p - t) ** 2
           for p, t in zip(np.ravel(input), np.ravel(target))]
    return _reduce(np.array(per).reshape(np.shape(input)), reduction)


def _cost_sensitive_reference(input, target, reduction, fn_cost=1.0, fp_cost=1.0):
    pos_weight = torch.tensor(fn_cost / fp_cost, dtype=torch.float64)
    return fp_cost * _np(F.binary_cross_entropy_with_logits(_t(input), _t(target),
                                                            pos_weight=pos_weight,
                                                            reduction=reduction))


def _expected_cost_loop(probs, labels, reduction, cost_matrix=COSTS3):
    probs = np.asarray(probs)
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], axis=1)
    per = [sum(p[j] * cost_matrix[y][j] for j in range(len(p))) for p, y in zip(probs, labels)]
    return _reduce(np.array(per), reduction)


def _penalty(kind):
    fn = lb.l1_penalty if kind == "l1" else lb.l2_penalty

    def wrapped(w, reduction="sum", weight=1.0):  # penalties have no reduction: always a sum
        return fn(w, weight=weight)

    return wrapped


BUSINESS = (
    LossCase("asymmetric_squared_error", lb.asymmetric_squared_error, None, _asymmetric_loop,
             ({}, {"under_weight": 3.0}, {"under_weight": 0.5, "over_weight": 4.0})),
    LossCase("cost_sensitive_binary_cross_entropy", lb.cost_sensitive_binary_cross_entropy, None,
             _cost_sensitive_reference, ({}, {"fn_cost": 50.0, "fp_cost": 2.0}),
             **_inputs("soft_logits")),
    LossCase("expected_cost", lb.expected_cost, None, _expected_cost_loop,
             ({"cost_matrix": COSTS3},), extreme_knobs=("cost_matrix",),
             **_inputs("class_probabilities")),
    LossCase("expected_cost[binary]", lb.expected_cost, None, _expected_cost_loop,
             ({"cost_matrix": COSTS2},), extreme_knobs=("cost_matrix",),
             **_inputs("binary_probabilities")),
    LossCase("l1_penalty", _penalty("l1"), None,
             lambda w, reduction, weight=1.0: weight * float(np.abs(w).sum()),
             ({}, {"weight": 0.01}), **_inputs("parameters"),
             reductions=("sum",), public=lb.l1_penalty),
    LossCase("l2_penalty", _penalty("l2"), None,
             lambda w, reduction, weight=1.0: weight * float((w ** 2).sum()),
             ({}, {"weight": 0.01}), **_inputs("parameters"),
             reductions=("sum",), public=lb.l2_penalty),
)

ALL_LOSSES = REGRESSION + CLASSIFICATION + EMBEDDING + RANKING + BUSINESS
