r"""The reference implementations that ``bench/losses.py`` times lossbook against.

Every function takes torch tensors, has the argument order of the lossbook function it stands
beside, returns a scalar (the ``'mean'`` reduction unless said otherwise) and says in its
docstring exactly what it follows: a ``torch.nn.functional`` call, a class of
pytorch-metric-learning (a benchmark-only package, never a dependency of lossbook), the formula
of a file of another project (sentence-transformers, allRank, torchvision, TRL) written out
here, or a naive written formula. Nothing here is numerically careful on purpose: the references
are what people write, and ``book/performance.ipynb`` shows where some of them break.

The groups (``GROUPS``) say what a reference is and what the benchmark expects of lossbook:

- ``"fused F twin"``: a single fused ``torch.nn.functional`` call with the same formula;
  lossbook composes its loss from several tensor operations, so it may be somewhat slower
  (target: median ratio lossbook / reference at most 1.1).
- ``"pytorch-metric-learning"``: the classes of pytorch-metric-learning (target: 1.0).
- ``"allRank"``: the formulas of allRank's ``allrank/models/losses/*.py``, commit c884756
  (target: 1.0). allRank itself pins ``torch<=1.8`` and imports torchvision and gcsfs, so it is
  not installed: the functions below follow its files line by line (same epsilons, same
  padding convention: a relevance of -1 marks a padded item).
- ``"written formula"``: the naive formula, as written in a paper or another project's file
  (no target: these rows show what lossbook's stable forms cost).

Not benchmarked, because they are not losses with a backward pass or are helpers: the metrics
``dcg``, ``ndcg``, ``mrr``, ``recall_at_k`` and ``perplexity`` (``exp`` of a cross-entropy that
is benchmarked), ``best_threshold`` (a number from a cost matrix), the NumPy gradient helpers
``*_grad``, ``reduce``, ``composite_loss`` / ``CompositeLoss`` (a sum of other losses) and the
``datasets`` module. ``SKIPPED`` lists them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GROUPS = {
    "fused F twin": 1.1,
    "pytorch-metric-learning": 1.0,
    "allRank": 1.0,
    "written formula": None,
}

SKIPPED = {
    "dcg": "ranking metric (a sort; no gradient)",
    "ndcg": "ranking metric (a sort; no gradient)",
    "mrr": "ranking metric (a sort; no gradient)",
    "recall_at_k": "ranking metric (a sort; no gradient)",
    "perplexity": "metric: exp of next_token_cross_entropy, which is benchmarked",
    "best_threshold": "returns a number computed from a cost matrix",
    "composite_loss": "helper: a weighted sum of other losses",
    "CompositeLoss": "helper: the named tuple composite_loss returns",
    "reduce": "helper: the shared reduction",
    "datasets": "module of data generators",
    "mse_grad": "NumPy gradient helper",
    "mae_grad": "NumPy gradient helper",
    "huber_grad": "NumPy gradient helper",
    "smooth_l1_grad": "NumPy gradient helper",
    "log_cosh_grad": "NumPy gradient helper",
    "quantile_grad": "NumPy gradient helper",
    "binary_cross_entropy_with_logits_grad": "NumPy gradient helper",
    "cross_entropy_grad": "NumPy gradient helper",
}

ALLRANK_EPS = 1e-10  # allrank/models/losses/__init__.py: DEFAULT_EPS
ALLRANK_PAD = -1  # allrank/data/dataset_loading.py: PADDED_Y_VALUE


# ------------------------------------------------------------------- torch.nn.functional twins
def mse(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.mse_loss(input, target)`` (torch/nn/functional.py)."""
    return F.mse_loss(input, target)


def mae(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.l1_loss(input, target)`` (torch/nn/functional.py)."""
    return F.l1_loss(input, target)


def huber(input: torch.Tensor, target: torch.Tensor, *, delta: float = 1.0) -> torch.Tensor:
    """``torch.nn.functional.huber_loss(input, target, delta=delta)``."""
    return F.huber_loss(input, target, delta=delta)


def smooth_l1(input: torch.Tensor, target: torch.Tensor, *, beta: float = 1.0) -> torch.Tensor:
    """``torch.nn.functional.smooth_l1_loss(input, target, beta=beta)``."""
    return F.smooth_l1_loss(input, target, beta=beta)


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.binary_cross_entropy(input, target)`` (probabilities in)."""
    return F.binary_cross_entropy(input, target)


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.binary_cross_entropy_with_logits(input, target)``."""
    return F.binary_cross_entropy_with_logits(input, target)


def cross_entropy(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.cross_entropy(input, target)`` with class-index targets."""
    return F.cross_entropy(input, target)


def multiclass_hinge(input: torch.Tensor, target: torch.Tensor, *, margin: float = 1.0,
                     p: int = 1) -> torch.Tensor:
    """``torch.nn.functional.multi_margin_loss(input, target, p=p, margin=margin)``."""
    return F.multi_margin_loss(input, target, p=p, margin=margin)


def kl_div(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.kl_div(input, target, reduction="batchmean")``."""
    return F.kl_div(input, target, reduction="batchmean")


def next_token_cross_entropy(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.cross_entropy`` on the shifted logits and tokens.

    The logits at position t score the token at t + 1, the usual language-model training step:
    ``F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))``.
    """
    vocab = logits.shape[-1]
    return F.cross_entropy(logits[..., :-1, :].reshape(-1, vocab), tokens[..., 1:].reshape(-1))


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, *,
                 margin: float = 1.0) -> torch.Tensor:
    """``torch.nn.functional.triplet_margin_loss(a, p, n, margin=margin, p=2, eps=0)``.

    ``eps=0``: torch's default ``eps=1e-6`` is added to every coordinate difference, which moves
    the distances by about ``1e-6 * sqrt(D)``; lossbook computes the exact distance, and so
    does the reference with ``eps=0`` (the cost is the same).
    """
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2, eps=0.0)


# -------------------------------------------------------------------- pytorch-metric-learning
def _pml():
    # Imported on first use: pytorch-metric-learning is needed by the benchmark only.
    from pytorch_metric_learning import distances, losses, miners, reducers

    return distances, losses, miners, reducers


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, *, temperature: float = 0.5) -> torch.Tensor:
    """pytorch-metric-learning ``NTXentLoss(temperature)`` on ``cat([z1, z2])``.

    The labels pair row i with row N + i (``cat([arange(N), arange(N)])``), so each of the 2N
    embeddings has one positive (its other view) and 2N - 2 negatives. PML builds every
    (positive pair, negative pair) combination, a (2N, 2N (2N - 2)) matrix, hence its cost.
    It adds ``finfo.tiny`` inside the log (pytorch_metric_learning/losses/ntxent_loss.py).
    """
    _, losses, _, _ = _pml()
    n = z1.shape[0]
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    return losses.NTXentLoss(temperature=temperature)(torch.cat([z1, z2]), labels)


def batch_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, *, margin: float = 1.0,
                       mining: str = "batch_all") -> torch.Tensor:
    """pytorch-metric-learning ``TripletMarginLoss`` with Euclidean distances.

    ``mining="batch_all"``: ``TripletMarginLoss(margin, distance=LpDistance(
    normalize_embeddings=False))`` on every valid triplet; its default ``AvgNonZeroReducer``
    averages over the triplets with a positive loss, as lossbook's ``'mean'`` does.

    ``mining="batch_hard"``: the same loss on the triplets of ``BatchHardMiner`` (same distance),
    reduced with ``MeanReducer``: the mean over the anchors that have a positive and a negative,
    lossbook's ``'mean'`` (PML's default ``AvgNonZeroReducer`` would skip the anchors whose
    hardest triplet is already satisfied).
    """
    distances, losses, miners, reducers = _pml()
    dist = distances.LpDistance(normalize_embeddings=False)
    if mining == "batch_all":
        return losses.TripletMarginLoss(margin=margin, distance=dist)(embeddings, labels)
    if mining == "batch_hard":
        triplets = miners.BatchHardMiner(distance=dist)(embeddings, labels)
        loss = losses.TripletMarginLoss(margin=margin, distance=dist,
                                        reducer=reducers.MeanReducer())
        return loss(embeddings, labels, triplets)
    raise ValueError(f"mining must be 'batch_all' or 'batch_hard'; got {mining!r}")


def contrastive_loss(x1: torch.Tensor, x2: torch.Tensor, label: torch.Tensor, *,
                     margin: float = 1.0) -> torch.Tensor:
    """pytorch-metric-learning ``ContrastiveLoss(pos_margin=0, neg_margin=margin)``, pairs given.

    The embeddings are ``cat([x1, x2])`` and the pairs (i, N + i) are passed through
    ``indices_tuple`` (similar pairs as (anchor, positive), dissimilar ones as (anchor,
    negative)), with ``distance=LpDistance(normalize_embeddings=False)``.

    **Not the same formula as lossbook's**: PML's terms are :math:`d` and
    :math:`\\max(m - d, 0)` (not squared), and its ``AvgNonZeroReducer`` averages the positive
    and the negative terms separately over the non-zero ones and adds the two means; lossbook
    averages :math:`y d^2 + (1 - y) \\max(m - d, 0)^2` over all pairs. PML also computes the
    full (2N, 2N) distance matrix and then picks the N pairs. A time-only comparison.
    """
    distances, losses, _, _ = _pml()
    n = x1.shape[0]
    rows = torch.arange(n)
    similar = label.bool()
    pairs = (rows[similar], rows[similar] + n, rows[~similar], rows[~similar] + n)
    loss = losses.ContrastiveLoss(pos_margin=0.0, neg_margin=margin,
                                  distance=distances.LpDistance(normalize_embeddings=False))
    return loss(torch.cat([x1, x2]), indices_tuple=pairs)


# ------------------------------------------------- sentence-transformers and CLIP, written out
def multiple_negatives_ranking_loss(anchors: torch.Tensor, positives: torch.Tensor, *,
                                    scale: float = 20.0) -> torch.Tensor:
    """sentence-transformers' MNRL, the formula of its file written out.

    File: sentence_transformers/losses/MultipleNegativesRankingLoss.py.
    ``util.cos_sim(anchors, candidates) * scale`` (cos_sim: ``F.normalize`` both sides, then a
    matrix product), then ``F.cross_entropy`` with targets ``arange(N)``: positive i is the right
    candidate for anchor i. Written out here; sentence-transformers is not installed.
    """
    a = F.normalize(anchors, p=2, dim=1)
    c = F.normalize(positives, p=2, dim=1)
    scores = a @ c.T * scale
    return F.cross_entropy(scores, torch.arange(anchors.shape[0]))


def info_nce(query: torch.Tensor, key: torch.Tensor, *, temperature: float = 0.07) -> torch.Tensor:
    """The CLIP-style InfoNCE as usually written: normalise, ``q @ k.T / temperature``, then
    ``F.cross_entropy`` with targets ``arange(N)`` (the one-directional half of CLIP's loss).
    """
    q = F.normalize(query, dim=1)
    k = F.normalize(key, dim=1)
    return F.cross_entropy(q @ k.T / temperature, torch.arange(query.shape[0]))


# ---------------------------------------------------------------------------------- allRank
def _allrank_pad(y_pred: torch.Tensor, y_true: torch.Tensor, pad: float):
    y_pred, y_true = y_pred.clone(), y_true.clone()
    padded = y_true == pad
    y_pred[padded] = float("-inf")
    y_true[padded] = float("-inf")
    return y_pred, y_true


def listnet_loss(y_pred: torch.Tensor, y_true: torch.Tensor, *, eps: float = ALLRANK_EPS,
                 pad: float = ALLRANK_PAD) -> torch.Tensor:
    """allRank's ListNet (allrank/models/losses/listNet.py): the formula, written out.

    Padded items (``y_true == -1``) get -inf in both score and label, then
    ``mean over queries of -sum(softmax(y_true) * log(softmax(y_pred) + eps))``, eps = 1e-10.
    The ``+ eps`` inside the log means that an item whose predicted probability underflows to 0
    gets a finite loss and **no gradient at all** (see the Performance page).
    """
    y_pred, y_true = _allrank_pad(y_pred, y_true, pad)
    preds_log = torch.log(F.softmax(y_pred, dim=1) + eps)
    return torch.mean(-torch.sum(F.softmax(y_true, dim=1) * preds_log, dim=1))


def ranknet_loss(y_pred: torch.Tensor, y_true: torch.Tensor, *,
                 pad: float = ALLRANK_PAD) -> torch.Tensor:
    """allRank's RankNet (allrank/models/losses/rankNet.py, no weighting): the formula, written out.

    Every ordered pair (i, j) of a query, from ``itertools.product``; the pairs with
    ``y_true[i] > y_true[j]`` and no padded item give ``pred[i] - pred[j]``, and the loss is
    ``BCEWithLogitsLoss()`` of those differences against 1: the mean over **all pairs of the
    batch**. lossbook averages per query, then over queries: the two agree when every query
    has the same number of pairs (the benchmark's labels are permutations of one multiset).
    """
    y_pred, y_true = _allrank_pad(y_pred, y_true, pad)
    length = y_true.shape[1]
    first = torch.arange(length).repeat_interleave(length)
    second = torch.arange(length).repeat(length)
    true_diffs = y_true[:, first] - y_true[:, second]
    pred_diffs = y_pred[:, first] - y_pred[:, second]
    keep = (true_diffs > 0) & ~torch.isinf(true_diffs)
    pred_diffs = pred_diffs[keep]
    return F.binary_cross_entropy_with_logits(pred_diffs, torch.ones_like(pred_diffs))


def listmle_loss(y_pred: torch.Tensor, y_true: torch.Tensor, *, eps: float = ALLRANK_EPS,
                 pad: float = ALLRANK_PAD) -> torch.Tensor:
    """allRank's ListMLE (allrank/models/losses/listMLE.py): the formula, written out.

    The items are shuffled (``torch.randperm``: ties in the labels are broken at random), sorted
    by label, the scores of padded items set to -inf; then with ``x = s - max(s)``,
    ``sum over positions of log(reverse cumsum(exp(x)) + eps) - x``, 0 at padded positions, and
    the mean over queries. lossbook breaks label ties in the given order: the two agree on
    lists without tied labels.
    """
    perm = torch.randperm(y_pred.shape[-1])
    y_pred, y_true = y_pred[:, perm], y_true[:, perm]
    y_true_sorted, order = y_true.sort(descending=True, dim=-1)
    padded = y_true_sorted == pad
    preds = torch.gather(y_pred, dim=1, index=order)
    preds[padded] = float("-inf")
    x = preds - preds.max(dim=1, keepdim=True).values
    cumsums = torch.cumsum(x.exp().flip(dims=[1]), dim=1).flip(dims=[1])
    per_item = torch.log(cumsums + eps) - x
    per_item[padded] = 0.0
    return torch.mean(torch.sum(per_item, dim=1))


def lambda_loss(y_pred: torch.Tensor, y_true: torch.Tensor, *, eps: float = ALLRANK_EPS,
                pad: float = ALLRANK_PAD, k: int | None = None, sigma: float = 1.0,
                reduction: str = "sum", reduction_log: str = "binary") -> torch.Tensor:
    """allRank's ``lambdaLoss(weighing_scheme="lambdaRank_scheme")``, written out.

    File: allrank/models/losses/lambdaLoss.py.
    The formula written out, for that one weighing scheme. Items are sorted by predicted score;
    for the pairs with a larger label first (no padded item, both positions < k), the weight is
    ``|1/D_i - 1/D_j| * |G_i - G_j|`` with ``D = log2(1 + position)`` and
    ``G = (2^rel - 1) / maxDCG@k`` (maxDCG clamped at eps): LambdaRank's |delta NDCG|. The
    loss is ``-log(clamp(clamp(sigmoid(sigma * clamp(s_i - s_j, -1e8, 1e8)), min=eps) **
    weight, min=eps))`` summed (``reduction="sum"``) over the pairs of the batch, in base 2
    (``reduction_log="binary"``, allRank's default) or e (``"natural"``). The clamps at eps
    give the worst-ordered pairs **exactly zero gradient** once sigmoid underflows.
    """
    y_pred, y_true = _allrank_pad(y_pred, y_true, pad)
    y_pred_sorted, by_pred = y_pred.sort(descending=True, dim=-1)
    y_true_sorted, _ = y_true.sort(descending=True, dim=-1)
    true_by_pred = torch.gather(y_true, dim=1, index=by_pred)
    true_diffs = true_by_pred[:, :, None] - true_by_pred[:, None, :]
    pairs = torch.isfinite(true_diffs) & (true_diffs > 0)
    length = y_pred.shape[1]
    at_k = torch.zeros((length, length), dtype=torch.bool)
    at_k[:k, :k] = True
    true_by_pred = true_by_pred.clamp(min=0.0)
    y_true_sorted = y_true_sorted.clamp(min=0.0)
    discount = torch.log2(1.0 + torch.arange(1, length + 1, dtype=y_pred.dtype))[None, :]
    max_dcg = torch.sum(((2.0 ** y_true_sorted - 1.0) / discount)[:, :k], dim=-1).clamp(min=eps)
    gain = (2.0 ** true_by_pred - 1.0) / max_dcg[:, None]
    weights = (torch.abs(discount[:, :, None] ** -1.0 - discount[:, None, :] ** -1.0)
               * torch.abs(gain[:, :, None] - gain[:, None, :]))
    diffs = (y_pred_sorted[:, :, None] - y_pred_sorted[:, None, :]).clamp(min=-1e8, max=1e8)
    probas = (torch.sigmoid(sigma * diffs).clamp(min=eps) ** weights).clamp(min=eps)
    logs = torch.log(probas) if reduction_log == "natural" else torch.log2(probas)
    selected = logs[pairs & at_k]
    return -torch.sum(selected) if reduction == "sum" else -torch.mean(selected)


def lambdarank_loss(y_pred: torch.Tensor, y_true: torch.Tensor, *, sigma: float = 1.0,
                    pad: float = ALLRANK_PAD) -> torch.Tensor:
    """allRank's lambdaLoss, the configuration that is lossbook's ``lambdarank_loss(k=None)``.

    ``lambda_loss(weighing_scheme="lambdaRank_scheme", k=None, sigma, reduction="sum",
    reduction_log="natural")`` divided by the number of queries: allRank sums over the batch,
    lossbook averages over the queries (that have a pair). With a cut-off ``k`` the two differ:
    allRank keeps only the pairs with both items in the top k, lossbook every pair with a
    non-zero |delta NDCG@k| (one item inside the top k is enough).
    """
    total = lambda_loss(y_pred, y_true, pad=pad, k=None, sigma=sigma, reduction="sum",
                        reduction_log="natural")
    return total / y_pred.shape[0]


# ----------------------------------------------------------------------- written formulas
def log_cosh(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The naive log-cosh: ``torch.log(torch.cosh(input - target)).mean()``.

    ``cosh`` overflows float32 beyond a residual of about 89 (float64: 710): the value becomes
    inf and the gradient ``sinh / cosh = inf / inf`` NaN.
    """
    return torch.log(torch.cosh(input - target)).mean()


def quantile(input: torch.Tensor, target: torch.Tensor, *, q: float = 0.5) -> torch.Tensor:
    """The pinball loss as ``sklearn.metrics.mean_pinball_loss(alpha=q)`` defines it.

    ``mean(q * max(y - y_hat, 0) + (1 - q) * max(y_hat - y, 0))``, written with torch.
    """
    diff = target - input
    return torch.mean(q * torch.clamp(diff, min=0) + (1.0 - q) * torch.clamp(-diff, min=0))


def focal_loss(input: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.25,
               gamma: float = 2.0) -> torch.Tensor:
    """torchvision's ``sigmoid_focal_loss`` formula (torchvision/ops/focal_loss.py), mean.

    ``p = sigmoid(x)``, ``ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")``,
    ``p_t = p y + (1 - p)(1 - y)``, loss ``ce * (1 - p_t) ** gamma`` times
    ``alpha_t = alpha y + (1 - alpha)(1 - y)``. With ``gamma < 1`` and a confident right
    answer, ``1 - p_t`` rounds to 0 and the derivative of the power is infinite: the gradient
    is NaN (0 * inf). Written out; torchvision is not installed.
    """
    p = torch.sigmoid(input)
    ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    return (alpha_t * loss).mean()


def softmax_focal_loss(input: torch.Tensor, target: torch.Tensor, *,
                       gamma: float = 2.0) -> torch.Tensor:
    """The multi-class focal loss as usually written (Lin et al. 2017, applied to a softmax).

    ``logp_t = log_softmax(x).gather(target)``, ``p_t = exp(logp_t)``, loss
    ``-(1 - p_t) ** gamma * logp_t``, mean over examples.
    """
    logp_t = F.log_softmax(input, dim=-1).gather(1, target[:, None]).squeeze(1)
    return torch.mean(-(1 - logp_t.exp()) ** gamma * logp_t)


def hinge(input: torch.Tensor, target: torch.Tensor, *, margin: float = 1.0) -> torch.Tensor:
    """The hinge loss written out: ``clamp(margin - y * f, min=0).mean()``, y in {-1, +1}."""
    return torch.clamp(margin - target * input, min=0).mean()


def squared_hinge(input: torch.Tensor, target: torch.Tensor, *,
                  margin: float = 1.0) -> torch.Tensor:
    """The squared hinge written out: ``clamp(margin - y * f, min=0).pow(2).mean()``."""
    return torch.clamp(margin - target * input, min=0).pow(2).mean()


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *,
             beta: float = 0.1) -> torch.Tensor:
    """TRL's sigmoid DPO loss (trl/trainer/dpo_trainer.py, ``loss_type="sigmoid"``), written out.

    ``logits = (pc - pr) - (rc - rr)``, loss ``-F.logsigmoid(beta * logits)``, mean (no label
    smoothing).
    """
    logits = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)
    return (-F.logsigmoid(beta * logits)).mean()


def asymmetric_squared_error(input: torch.Tensor, target: torch.Tensor, *,
                             under_weight: float = 1.0, over_weight: float = 1.0) -> torch.Tensor:
    """The definition written out: ``under * relu(-r)**2 + over * relu(r)**2``, r = x - y."""
    r = input - target
    return torch.mean(under_weight * F.relu(-r) ** 2 + over_weight * F.relu(r) ** 2)


def cost_sensitive_binary_cross_entropy(input: torch.Tensor, target: torch.Tensor, *,
                                        fn_cost: float = 1.0,
                                        fp_cost: float = 1.0) -> torch.Tensor:
    """``fp_cost * F.binary_cross_entropy_with_logits(input, target, pos_weight=fn / fp)``.

    The identity lossbook's docstring states; torch fuses it into one kernel.
    """
    pos_weight = torch.tensor(fn_cost / fp_cost, dtype=input.dtype)
    return fp_cost * F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight)


def expected_cost(input: torch.Tensor, target: torch.Tensor, *,
                  cost_matrix: torch.Tensor) -> torch.Tensor:
    """The expected cost written out: ``(probabilities * cost_matrix[target]).sum(1).mean()``."""
    return (input * cost_matrix[target]).sum(dim=1).mean()


def l1_penalty(params: list[torch.Tensor], *, weight: float = 1.0) -> torch.Tensor:
    """The L1 penalty written out: ``weight * sum(p.abs().sum() for p in params)``."""
    return weight * sum(p.abs().sum() for p in params)


def l2_penalty(params: list[torch.Tensor], *, weight: float = 1.0) -> torch.Tensor:
    """The L2 penalty written out: ``weight * sum(p.pow(2).sum() for p in params)``."""
    return weight * sum(p.pow(2).sum() for p in params)
