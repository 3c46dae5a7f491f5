r"""Ranking losses, ranking metrics and the DPO preference loss.

Scores and relevance labels are arrays of shape (Q, L): Q queries (lists), L items per list.
An optional boolean ``mask`` of the same shape marks the real items (True) among padding
(False), so lists of different lengths fit in one batch; padding never changes a loss, a
metric or a gradient. Items are ranked by descending score, ties in the order they are given.
"""

from __future__ import annotations

from typing import Any

from lossbook._backend import ArrayT, Namespace
from lossbook._reduction import check_reduction, reduce
from lossbook._validation import (
    as_array,
    cast_like,
    check_closed_interval,
    check_finite,
    check_floating,
    check_int,
    check_nonempty,
    check_positive,
    check_same_shape,
    namespace,
    prepare_pair,
)

__all__ = [
    "ranknet_loss",
    "listnet_loss",
    "listmle_loss",
    "lambdarank_loss",
    "dcg",
    "ndcg",
    "mrr",
    "recall_at_k",
    "dpo_loss",
]

_PAD = -1e30  # a score that loses to every real score and has exp() == 0 exactly
GAINS = ("exp2", "linear")


# ----------------------------------------------------------------------------------- checks
def _prepare(scores: Any, relevance: Any, mask: Any) -> tuple[Namespace, Any, Any, Any]:
    s = as_array(scores, "scores")
    r = as_array(relevance, "relevance")
    named = {"scores": s, "relevance": r}
    if mask is not None:
        named["mask"] = as_array(mask, "mask")
    xp = namespace(**named)
    check_floating(xp, s, "scores")
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (Q, L), one row per query; got shape "
                         f"{tuple(s.shape)}")
    check_nonempty(s, "scores")
    check_finite(xp, s, "scores")
    if not (xp.is_floating(r) or xp.is_integer_or_bool(r)):
        raise TypeError(f"relevance must be real-valued; got dtype {r.dtype}")
    check_same_shape(s, r, "scores", "relevance")
    r = cast_like(xp, r, s)
    check_finite(xp, r, "relevance")
    if bool((r < 0).any()):
        raise ValueError(f"relevance must be >= 0 (graded labels); got {float(r.min()):g}")
    if mask is None:
        m = xp.full_like(s, 1.0) > 0
    else:
        m = named["mask"]
        if str(m.dtype) not in ("bool", "torch.bool"):
            raise TypeError(f"mask must be a boolean array (True = real item); got dtype {m.dtype}")
        check_same_shape(s, m, "scores", "mask")
    return xp, s, r, m


def _check_k(k: Any) -> int | None:
    if k is None:
        return None
    k = check_int("k", k)
    if k < 1:
        raise ValueError(f"k must be >= 1 (or None for the whole list); got {k}")
    return k


def _check_gain(gain: Any) -> str:
    if gain not in GAINS:
        raise ValueError(f"gain must be 'exp2' or 'linear'; got {gain!r}")
    return gain


def _reduce_queries(xp: Namespace, per_query: Any, counts: Any, reduction: str) -> Any:
    """'mean' over the queries that have something to score (``counts`` > 0)."""
    if reduction == "none":
        return per_query
    if reduction == "sum":
        return xp.sum(per_query)
    return xp.safe_divide(xp.sum(per_query), xp.sum(cast_like(xp, counts > 0, per_query)))


def _gain(relevance: Any, gain: str) -> Any:
    return 2.0**relevance - 1.0 if gain == "exp2" else relevance


def _discounts(xp: Namespace, length: int, k: int | None, like: Any) -> Any:
    """1 / log2(rank + 1) for ranks 1..L, and 0 beyond rank k."""
    pos = xp.arange(length, like, floating=True)
    disc = 1.0 / xp.log2(pos + 2.0)
    if k is not None:
        disc = disc * cast_like(xp, pos < k, like)
    return disc


def _sorted_by(xp: Namespace, key: Any, mask: Any, *arrays: Any) -> list[Any]:
    """Sort ``arrays`` (and the mask) by ``key`` descending, padding last."""
    order = xp.argsort_desc(xp.where(mask, xp.detach(key), float("-inf")))
    return [xp.gather_last(a, order) for a in (mask, *arrays)]


def _dcg(xp: Namespace, key: Any, relevance: Any, mask: Any, k: int | None, gain: str) -> Any:
    m, rel = _sorted_by(xp, key, mask, relevance)
    disc = _discounts(xp, key.shape[-1], k, relevance)
    return xp.sum(_gain(rel, gain) * cast_like(xp, m, relevance) * disc, axis=-1)


# ---------------------------------------------------------------------------------- metrics
def dcg(
    scores: ArrayT,
    relevance: ArrayT,
    *,
    k: int | None = None,
    gain: str = "exp2",
    mask: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Discounted cumulative gain of the ranking given by ``scores``.

    .. math::
        \mathrm{DCG@}k = \sum_{r=1}^{k} \frac{g(\mathrm{rel}_{(r)})}{\log_2(r + 1)},
        \qquad g(x) = 2^x - 1 \ (\texttt{exp2}) \text{ or } x \ (\texttt{linear})

    where :math:`\mathrm{rel}_{(r)}` is the relevance of the item ranked :math:`r`-th.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        k: only the top ``k`` positions count (``None``: the whole list).
        gain: ``'exp2'`` (default, rewards highly relevant items strongly) or ``'linear'``.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'`` (shape (Q,)).

    Returns:
        The metric, same kind as ``scores`` (no gradient: a sort has none).

    Raises:
        TypeError: non-float scores, non-boolean mask, NumPy and torch mixed.
        ValueError: shapes that differ, negative relevance, ``k < 1``, unknown ``gain``,
            unknown ``reduction``.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> # ranked order: relevance 3, 0, 1 -> 7/1 + 0/1.585 + 1/2
        >>> float(lb.dcg(np.array([[0.9, 0.5, 0.1]]), np.array([[3, 0, 1]])))
        7.5
    """
    check_reduction(reduction)
    k, gain = _check_k(k), _check_gain(gain)
    xp, s, r, m = _prepare(scores, relevance, mask)
    per = _dcg(xp, s, r, m, k, gain)
    return _reduce_queries(xp, per, xp.sum(cast_like(xp, m, s), axis=-1), reduction)


def ndcg(
    scores: ArrayT,
    relevance: ArrayT,
    *,
    k: int | None = None,
    gain: str = "exp2",
    mask: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Normalised DCG: :func:`dcg` divided by the DCG of the ideal ranking, in [0, 1].

    .. math::
        \mathrm{NDCG@}k = \frac{\mathrm{DCG@}k}{\mathrm{IDCG@}k}

    A query without any relevant item scores 0 (as in ``sklearn.metrics.ndcg_score``).

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        k: cut-off (``None``: the whole list).
        gain: ``'exp2'`` (default) or ``'linear'``.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'`` (shape (Q,)).

    Returns:
        The metric, same kind as ``scores``.

    Raises:
        The same errors as :func:`dcg`.

    Notes:
        ``ndcg(gain='linear')`` equals ``sklearn.metrics.ndcg_score`` when no two scores of a
        query are equal (scikit-learn averages over tied orderings, lossbook keeps the given
        order). Järvelin & Kekäläinen (2002), who introduced (N)DCG, used the relevance itself
        as the gain and no discount before rank :math:`b` (then :math:`1/\log_b r`); the gain
        :math:`2^{\mathrm{rel}} - 1` with the discount :math:`1/\log_2(r + 1)` is the form of
        Burges et al. (2005).

    References:
        Järvelin & Kekäläinen (2002). Cumulated gain-based evaluation of IR techniques. ACM
        TOIS 20(4). Burges et al. (2005). Learning to rank using gradient descent. ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> round(float(lb.ndcg(np.array([[0.9, 0.5, 0.1]]), np.array([[3, 0, 1]]))), 4)
        0.9828
    """
    check_reduction(reduction)
    k, gain = _check_k(k), _check_gain(gain)
    xp, s, r, m = _prepare(scores, relevance, mask)
    actual = _dcg(xp, s, r, m, k, gain)
    ideal = _dcg(xp, r, r, m, k, gain)
    per = xp.safe_divide(actual, ideal)
    return _reduce_queries(xp, per, xp.sum(cast_like(xp, m, s), axis=-1), reduction)


def mrr(
    scores: ArrayT,
    relevance: ArrayT,
    *,
    k: int | None = None,
    mask: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Mean reciprocal rank: :math:`1 / \text{rank}` of the first relevant item.

    An item is relevant when its relevance is > 0. A query whose top ``k`` holds no relevant
    item scores 0.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) relevance, >= 0.
        k: only the top ``k`` positions count (``None``: the whole list).
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'``.

    Returns:
        The metric, same kind as ``scores``.

    Raises:
        The same errors as :func:`dcg`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.mrr(np.array([[0.9, 0.5, 0.1]]), np.array([[0, 0, 2]])))  # found at rank 3
        0.3333333333333333
    """
    check_reduction(reduction)
    k = _check_k(k)
    xp, s, r, m = _prepare(scores, relevance, mask)
    m_sorted, rel = _sorted_by(xp, s, m, r)
    pos = xp.arange(s.shape[-1], s, floating=True)
    hit = (rel > 0) & m_sorted
    if k is not None:
        hit = hit & (pos < k)
    per = xp.amax(cast_like(xp, hit, s) / (pos + 1.0), axis=-1)
    return _reduce_queries(xp, per, xp.sum(cast_like(xp, m, s), axis=-1), reduction)


def recall_at_k(
    scores: ArrayT, relevance: ArrayT, *, k: int, mask: ArrayT | None = None, reduction: str = "mean"
) -> ArrayT:
    r"""Recall@k: the fraction of a query's relevant items (relevance > 0) found in its top k.

    A query without any relevant item scores 0.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) relevance, >= 0.
        k: the cut-off, >= 1.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'``.

    Returns:
        The metric, same kind as ``scores``.

    Raises:
        The same errors as :func:`dcg`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.recall_at_k(np.array([[0.9, 0.5, 0.1]]), np.array([[1, 0, 1]]), k=2))
        0.5
    """
    check_reduction(reduction)
    cutoff = _check_k(k)
    if cutoff is None:
        raise ValueError("k must be an integer >= 1 for recall_at_k; got None")
    xp, s, r, m = _prepare(scores, relevance, mask)
    m_sorted, rel = _sorted_by(xp, s, m, r)
    pos = xp.arange(s.shape[-1], s, floating=True)
    relevant = cast_like(xp, (rel > 0) & m_sorted, s)
    found = xp.sum(relevant * cast_like(xp, pos < cutoff, s), axis=-1)
    total = xp.sum(relevant, axis=-1)
    per = xp.safe_divide(found, total)
    return _reduce_queries(xp, per, xp.sum(cast_like(xp, m, s), axis=-1), reduction)


# ----------------------------------------------------------------------------------- losses
def _pair_terms(xp: Namespace, s: Any, r: Any, m: Any, sigma: float) -> tuple[Any, Any]:
    """log(1 + exp(-sigma (s_i - s_j))) for every (i, j), and the mask of pairs rel_i > rel_j."""
    valid = (r[:, :, None] > r[:, None, :]) & m[:, :, None] & m[:, None, :]
    diff = s[:, :, None] - s[:, None, :]
    return xp.softplus(-sigma * diff), cast_like(xp, valid, s)


def ranknet_loss(
    scores: ArrayT,
    relevance: ArrayT,
    *,
    sigma: float = 1.0,
    mask: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""RankNet: a logistic loss on every pair of items with different relevance.

    For each pair with :math:`\mathrm{rel}_i > \mathrm{rel}_j` the model's probability that
    :math:`i` ranks above :math:`j` is :math:`\sigma(\sigma_0 (s_i - s_j))`, and the loss is
    its negative log:

    .. math::
        \ell_{ij} = \log\left(1 + e^{-\sigma_0 (s_i - s_j)}\right) .

    A query's loss is the mean over its pairs (Burges et al. sum the pair costs; the mean
    keeps queries with many pairs from dominating the batch). Pairs of equal relevance are
    left out, where the paper gives them a target probability of 1/2.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        sigma: :math:`\sigma_0 > 0`, the steepness of the pair probability.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one pair), ``'sum'`` or ``'none'``
            (shape (Q,), 0 for a query without pairs).

    Returns:
        The loss, same kind as ``scores``.

    Raises:
        TypeError: non-float scores, non-boolean mask, NumPy and torch mixed.
        ValueError: shapes that differ, negative relevance, ``sigma <= 0``, unknown
            ``reduction``.

    References:
        Burges et al. (2005). Learning to rank using gradient descent. ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> round(float(lb.ranknet_loss(np.array([[0.0, 0.0]]), np.array([[1, 0]]))), 6)  # log 2
        0.693147
    """
    check_reduction(reduction)
    sigma = check_positive("sigma", sigma)
    xp, s, r, m = _prepare(scores, relevance, mask)
    terms, valid = _pair_terms(xp, s, r, m, sigma)
    count = xp.sum(xp.sum(valid, axis=-1), axis=-1)
    total = xp.sum(xp.sum(terms * valid, axis=-1), axis=-1)
    per = xp.safe_divide(total, count)
    return _reduce_queries(xp, per, count, reduction)


def _masked_log_softmax(xp: Namespace, x: Any, m: Any) -> Any:
    return xp.log_softmax(xp.where(m, x, _PAD), axis=-1)


def listnet_loss(
    scores: ArrayT, relevance: ArrayT, *, mask: ArrayT | None = None, reduction: str = "mean"
) -> ArrayT:
    r"""ListNet: cross-entropy between the top-one distributions of the labels and the scores.

    .. math::
        \ell = -\sum_i \operatorname{softmax}(\mathrm{rel})_i \,
        \log \operatorname{softmax}(s)_i

    over the real items of a query: each item's probability of being ranked first, with the
    exponential as the paper's increasing function :math:`\phi` on both sides. (optax's
    ``ranking_softmax_loss`` weights the log-softmax by the raw labels instead of their
    softmax.)

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'``.

    Returns:
        The loss, same kind as ``scores``.

    Raises:
        The same errors as :func:`ranknet_loss` (without ``sigma``).

    References:
        Cao, Qin, Liu, Tsai & Li (2007). Learning to rank: from pairwise approach to listwise
        approach. ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> round(float(lb.listnet_loss(np.zeros((1, 4)), np.zeros((1, 4)))), 6)  # log 4
        1.386294
    """
    check_reduction(reduction)
    xp, s, r, m = _prepare(scores, relevance, mask)
    if mask is None:  # every item is real: the same formula without the padding arithmetic
        per = -xp.sum(xp.softmax(r, axis=-1) * xp.log_softmax(s, axis=-1), axis=-1)
        return _reduce_queries(xp, per, xp.full_like(per, 1.0), reduction)
    target = xp.exp(_masked_log_softmax(xp, r, m))
    mf = cast_like(xp, m, s)
    per = -xp.sum(target * mf * xp.where(m, _masked_log_softmax(xp, s, m), 0.0), axis=-1)
    return _reduce_queries(xp, per, xp.sum(mf, axis=-1), reduction)


def listmle_loss(
    scores: ArrayT, relevance: ArrayT, *, mask: ArrayT | None = None, reduction: str = "mean"
) -> ArrayT:
    r"""ListMLE: the negative log-likelihood of the ideal ranking under the Plackett-Luce model.

    With :math:`\pi` the items sorted by relevance (descending, ties in the order given),

    .. math::
        \ell = \sum_{i=1}^{n} \left[ \log \sum_{j=i}^{n} e^{s_{\pi(j)}} - s_{\pi(i)} \right] ,

    the cost of drawing the items, best first, one at a time from a softmax over those left.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one real item), ``'sum'`` or
            ``'none'``.

    Returns:
        The loss, same kind as ``scores``.

    Raises:
        The same errors as :func:`listnet_loss`.

    References:
        Xia, Liu, Wang, Zhang & Li (2008). Listwise approach to learning to rank: theory and
        algorithm. ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> round(float(lb.listmle_loss(np.zeros((1, 3)), np.array([[2, 1, 0]]))), 6)  # log 3!
        1.791759
    """
    check_reduction(reduction)
    xp, s, r, m = _prepare(scores, relevance, mask)
    m_sorted, s_sorted = _sorted_by(xp, r, m, s)
    x = xp.where(m_sorted, s_sorted, _PAD)
    mf = cast_like(xp, m_sorted, s)
    per = xp.sum((xp.reverse_logcumsumexp(x) - x) * mf, axis=-1)
    return _reduce_queries(xp, per, xp.sum(mf, axis=-1), reduction)


def lambdarank_loss(
    scores: ArrayT,
    relevance: ArrayT,
    *,
    k: int | None = None,
    sigma: float = 1.0,
    mask: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""LambdaRank: RankNet's pair loss weighted by how much swapping the pair changes NDCG@k.

    .. math::
        \ell = \sum_{\mathrm{rel}_i > \mathrm{rel}_j} |\Delta \mathrm{NDCG@}k(i, j)|\,
        \log\left(1 + e^{-\sigma_0 (s_i - s_j)}\right)

    :math:`|\Delta \mathrm{NDCG}|` is computed from the current ranking (without gradient):
    pairs whose order matters at the top of the list get large weights, pairs deep in the
    list (or both beyond ``k``) get small or zero ones. Its gradients are LambdaRank's
    "lambdas"; boosting trees on them gives LambdaMART.

    Args:
        scores: (Q, L) model scores.
        relevance: (Q, L) graded relevance, >= 0.
        k: the NDCG cut-off (``None``: the whole list).
        sigma: :math:`\sigma_0 > 0`.
        mask: optional boolean (Q, L), True for real items.
        reduction: ``'mean'`` (over queries with at least one pair), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``scores``.

    Raises:
        The same errors as :func:`ranknet_loss`, and ``k < 1``.

    Notes:
        Uses the exponential gain :math:`2^{\mathrm{rel}} - 1`. A query without a relevant
        item has no pair and contributes 0.

    References:
        Burges (2010). From RankNet to LambdaRank to LambdaMART: an overview. Wang et al.
        (2018). The LambdaLoss framework for ranking metric optimization. CIKM.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> s, rel = np.array([[0.0, 1.0]]), np.array([[1, 0]])   # the relevant item is 2nd
        >>> round(float(lb.lambdarank_loss(s, rel)), 6)
        0.484686
    """
    check_reduction(reduction)
    k = _check_k(k)
    sigma = check_positive("sigma", sigma)
    xp, s, r, m = _prepare(scores, relevance, mask)
    n = s.shape[-1]
    # the rank of every item under the current scores (padding last), without gradient
    order = xp.argsort_desc(xp.where(m, xp.detach(s), float("-inf")))
    rank = xp.argsort_desc(-cast_like(xp, order, s))  # inverse permutation
    inv_disc = xp.gather_last(xp.full_like(s, 0.0) + _discounts(xp, n, k, s), rank)
    g = _gain(r, "exp2")
    ideal = _dcg(xp, r, r, m, k, "exp2")
    delta = xp.abs((g[:, :, None] - g[:, None, :])
                  * (inv_disc[:, :, None] - inv_disc[:, None, :]))
    delta = xp.safe_divide(delta, ideal[:, None, None] + 0.0 * delta)
    terms, valid = _pair_terms(xp, s, r, m, sigma)
    per = xp.sum(xp.sum(xp.detach(delta) * terms * valid, axis=-1), axis=-1)
    return _reduce_queries(xp, per, xp.sum(xp.sum(valid, axis=-1), axis=-1), reduction)


# ------------------------------------------------------------------------------------- DPO
def dpo_loss(
    policy_chosen: ArrayT,
    policy_rejected: ArrayT,
    ref_chosen: ArrayT,
    ref_rejected: ArrayT,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Direct preference optimisation: a pairwise logistic loss on log-probability ratios.

    With the log-probabilities of the chosen and rejected responses under the policy
    (:math:`\pi`) and under a frozen reference model (:math:`\pi_0`),

    .. math::
        z = \beta \left[ \left(\log \pi(y_w) - \log \pi(y_l)\right)
            - \left(\log \pi_0(y_w) - \log \pi_0(y_l)\right) \right]

    .. math::
        \ell = -(1 - \varepsilon) \log \sigma(z) - \varepsilon \log \sigma(-z) .

    This is RankNet on a list of two responses, with the implicit reward
    :math:`\beta \log(\pi / \pi_0)` as the score; :math:`\beta` is the weight of the KL
    penalty the loss is derived from: the larger it is, the closer the policy stays to the
    reference. The default 0.1 is TRL's.

    Args:
        policy_chosen: log-probabilities (summed over tokens) of the chosen responses, (B,).
        policy_rejected: the same for the rejected responses, (B,).
        ref_chosen: the reference model's log-probabilities of the chosen responses, (B,).
        ref_rejected: the reference model's for the rejected ones, (B,).
        beta: :math:`\beta > 0`.
        label_smoothing: :math:`\varepsilon` in [0, 0.5): the assumed probability that a
            preference label is flipped (conservative DPO).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``policy_chosen``.

    Raises:
        TypeError: non-float inputs; NumPy and torch mixed.
        ValueError: shapes that differ, ``beta <= 0``, ``label_smoothing`` outside [0, 0.5),
            empty or non-finite input, unknown ``reduction``.

    Notes:
        TRL's ``loss_type="sigmoid"`` DPO loss. Computed with log-sigmoid, so huge margins
        give finite values and gradients.

    References:
        Rafailov et al. (2023). Direct preference optimization: your language model is
        secretly a reward model. NeurIPS.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> same = np.array([-10.0])   # policy equals the reference: z = 0, loss = log 2
        >>> round(float(lb.dpo_loss(same, same - 1, same, same - 1)), 6)
        0.693147
    """
    check_reduction(reduction)
    beta = check_positive("beta", beta)
    eps = check_closed_interval("label_smoothing", label_smoothing, 0.0, 0.5)
    if eps >= 0.5:
        raise ValueError(f"label_smoothing must be < 0.5 (0.5 would ignore the labels); got {eps}")
    xp, pc, pr = prepare_pair(policy_chosen, policy_rejected, input_name="policy_chosen",
                              target_name="policy_rejected")
    _, rc, rr = prepare_pair(ref_chosen, ref_rejected, input_name="ref_chosen",
                             target_name="ref_rejected")
    namespace(policy_chosen=pc, ref_chosen=rc)
    check_same_shape(pc, rc, "policy_chosen", "ref_chosen")
    rc, rr = cast_like(xp, rc, pc), cast_like(xp, rr, pc)
    z = beta * ((pc - pr) - (rc - rr))
    loss = -(1.0 - eps) * xp.log_sigmoid(z) - eps * xp.log_sigmoid(-z)
    return reduce(loss, reduction)


