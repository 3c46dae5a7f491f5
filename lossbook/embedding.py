r"""Embedding (metric-learning) losses: they shape the geometry of a vector space.

Each loss pulls the embeddings of related items together and pushes unrelated ones apart, so
that nearest-neighbour search in the embedding space finds related items. Embeddings are 2-D
arrays of shape (N, D): one row per item.
"""

from __future__ import annotations

import functools
from typing import Any

from lossbook._backend import ArrayT, Namespace
from lossbook._reduction import check_reduction, reduce
from lossbook._validation import (
    as_array,
    cast_like,
    check_finite,
    check_floating,
    check_int,
    check_nonempty,
    check_nonnegative,
    check_positive,
    check_real,
    check_values_in,
    namespace,
)

__all__ = [
    "contrastive_loss",
    "triplet_loss",
    "batch_triplet_loss",
    "multiple_negatives_ranking_loss",
    "info_nce",
    "nt_xent",
]

MINING = ("batch_all", "batch_hard", "semi_hard")


# ----------------------------------------------------------------------------------- checks
def _embeddings(**named: Any) -> tuple[Namespace, list[Any]]:
    """Validate 2-D float embeddings of one kind; all share the dimension D of the first."""
    arrays = {name: as_array(x, name) for name, x in named.items()}
    xp = namespace(**arrays)
    first_name = next(iter(arrays))
    out = []
    for name, x in arrays.items():
        check_floating(xp, x, name)
        if x.ndim != 2:
            raise ValueError(f"{name} must have shape (N, D), one embedding per row; "
                             f"got shape {tuple(x.shape)}")
        check_nonempty(x, name)
        check_finite(xp, x, name)
        d0 = arrays[first_name].shape[1]
        if x.shape[1] != d0:
            raise ValueError(f"{name} has {x.shape[1]} dimensions per row but {first_name} "
                             f"has {d0}")
        out.append(cast_like(xp, x, arrays[first_name]))
    return xp, out


def _same_batch(a: Any, b: Any, a_name: str, b_name: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{b_name} has {b.shape[0]} rows but {a_name} has {a.shape[0]}; "
                         "row i of each must describe the same example")


def _labels(labels: Any, name: str, like: Any) -> Any:
    y = as_array(labels, name)
    namespace(**{name: y, "embeddings": like})
    if tuple(y.shape) != (like.shape[0],):
        raise ValueError(f"{name} must have shape ({like.shape[0]},), one per row of embeddings "
                         f"{tuple(like.shape)}; got shape {tuple(y.shape)}")
    return y


# ------------------------------------------------------------------------------ contrastive
def contrastive_loss(
    x1: ArrayT, x2: ArrayT, label: ArrayT, *, margin: float = 1.0, reduction: str = "mean"
) -> ArrayT:
    r"""Contrastive loss on pairs of embeddings (Hadsell, Chopra & LeCun, 2006).

    With :math:`d_n = \lVert x_{1,n} - x_{2,n} \rVert_2` and :math:`y_n = 1` for a similar pair,

    .. math::
        l_n = y_n\, d_n^2 + (1 - y_n) \max(m - d_n, 0)^2 .

    Similar pairs are pulled together; dissimilar pairs are pushed apart until they are at
    least the margin :math:`m` apart, and then left alone.

    Args:
        x1: embeddings of shape (N, D).
        x2: embeddings of shape (N, D); row n pairs with row n of ``x1``.
        label: shape (N,): 1 (or True) for a similar pair, 0 for a dissimilar one.
        margin: :math:`m \ge 0`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape (N,)).

    Returns:
        The loss, same kind as ``x1``.

    Raises:
        TypeError: non-float embeddings; NumPy and torch mixed.
        ValueError: shapes that differ, labels other than 0 and 1, ``margin < 0``, empty or
            non-finite input, unknown ``reduction``.

    Notes:
        Two conventions differ from the paper's: Hadsell, Chopra & LeCun write
        :math:`Y = 0` for a similar pair and :math:`Y = 1` for a dissimilar one (lossbook's
        ``label`` is the opposite: 1 means similar), and they put a :math:`\tfrac12` in front
        of both terms (lossbook has none). Identical embeddings give a finite (zero) gradient.

    References:
        Hadsell, Chopra & LeCun (2006). Dimensionality reduction by learning an invariant
        mapping. CVPR.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> a, b = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[0.3, 0.4], [0.3, 0.4]])
        >>> lb.contrastive_loss(a, b, np.array([1, 0]), margin=1.0, reduction="none")
        array([0.25, 0.25])
    """
    check_reduction(reduction)
    margin = check_nonnegative("margin", margin)
    xp, (x1, x2) = _embeddings(x1=x1, x2=x2)
    if tuple(x2.shape) != tuple(x1.shape):
        raise ValueError(f"x2 has shape {tuple(x2.shape)} but x1 has shape {tuple(x1.shape)}")
    y = _labels(label, "label", x1)
    check_values_in(y, "label", (0.0, 1.0))
    y = cast_like(xp, y, x1)
    d2 = xp.sum((x1 - x2) ** 2, axis=-1)
    push = xp.maximum(margin - xp.safe_sqrt(d2), 0.0)
    return reduce(y * d2 + (1.0 - y) * push * push, reduction)


# ---------------------------------------------------------------------------------- triplet
def triplet_loss(
    anchor: ArrayT,
    positive: ArrayT,
    negative: ArrayT,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Triplet margin loss: the positive must be closer to the anchor than the negative, by a margin.

    .. math::
        l_n = \max\left(d(a_n, p_n) - d(a_n, n_n) + m,\ 0\right)

    with :math:`d` the :math:`p`-norm distance.

    Args:
        anchor: embeddings of shape (N, D).
        positive: (N, D), same identity as the anchor.
        negative: (N, D), a different identity.
        margin: :math:`m \ge 0`.
        p: the norm, :math:`p \ge 1` (2 = Euclidean, ``float('inf')`` = the max norm).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape (N,)).

    Returns:
        The loss, same kind as ``anchor``.

    Raises:
        TypeError: non-float embeddings; NumPy and torch mixed.
        ValueError: shapes that differ, ``margin < 0``, ``p < 1``, empty or non-finite input,
            unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.triplet_margin_loss(..., eps=0)``; torch adds
        ``eps=1e-6`` to every difference to avoid the infinite gradient of a norm at 0,
        lossbook computes the exact distance and gives it a zero gradient there.

        The distances are not squared. FaceNet's loss uses *squared* Euclidean distances
        between unit-length embeddings, with margin 0.2; that margin does not carry over to
        the unsquared distances used here (the squared form is ``max(d_ap**2 - d_an**2 + m, 0)``).

    References:
        Schroff, Kalenichenko & Philbin (2015). FaceNet. CVPR.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> a, pos, neg = np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([[1.5, 0.0]])
        >>> float(lb.triplet_loss(a, pos, neg, margin=1.0))   # 1 - 1.5 + 1
        0.5
    """
    check_reduction(reduction)
    margin = check_nonnegative("margin", margin)
    p = check_real("p", p)
    if not p >= 1.0:
        raise ValueError(f"p must be >= 1 (a norm); got {p!r}")
    xp, (a, pos, neg) = _embeddings(anchor=anchor, positive=positive, negative=negative)
    for name, x in (("positive", pos), ("negative", neg)):
        if tuple(x.shape) != tuple(a.shape):
            raise ValueError(f"{name} has shape {tuple(x.shape)} but anchor has shape "
                             f"{tuple(a.shape)}")
    # the p-norm distances, exactly 0 (with a zero gradient) for identical points
    d_ap, d_an = xp.row_norm(a - pos, p), xp.row_norm(a - neg, p)
    return reduce(xp.maximum(d_ap - d_an + margin, 0.0), reduction)


def batch_triplet_loss(
    embeddings: ArrayT,
    labels: ArrayT,
    *,
    margin: float = 1.0,
    mining: str = "batch_all",
    reduction: str = "mean",
) -> ArrayT:
    r"""Triplet loss with the triplets mined inside a labelled batch.

    Every pair of embeddings with the same label is a (anchor, positive) pair; every
    embedding with another label is a candidate negative. Distances are Euclidean and the
    triplet loss is :math:`\max(d_{ap} - d_{an} + m, 0)`. ``mining`` chooses which triplets
    count:

    - ``'batch_all'``: every valid triplet; ``'mean'`` averages over the *active* ones (loss
      > 0), so that the many already-satisfied triplets do not dilute the gradient.
    - ``'batch_hard'``: for each anchor, its farthest positive and its closest negative;
      ``'mean'`` over the anchors that have both.
    - ``'semi_hard'``: for each (anchor, positive) pair, the closest negative that is still
      farther than the positive (a semi-hard negative in FaceNet's sense), or the farthest
      negative when there is none, the rule of TensorFlow's ``triplet_semihard_loss``;
      ``'mean'`` over those pairs. FaceNet's own loss squares the distances; this one does
      not.

    Args:
        embeddings: shape (N, D).
        labels: integer class labels of shape (N,).
        margin: :math:`m \ge 0`.
        mining: ``'batch_all'`` (default), ``'batch_hard'`` or ``'semi_hard'``.
        reduction: ``'mean'`` (default, as above), ``'sum'``, or ``'none'``: one loss per
            anchor, shape (N,), summed over that anchor's triplets (0 for an anchor without
            any).

    Returns:
        The loss, same kind as ``embeddings``. A batch with no valid triplet (every label
        different, or all the same) gives 0 with a zero gradient.

    Raises:
        TypeError: non-float embeddings, non-integer labels, NumPy and torch mixed.
        ValueError: labels of the wrong shape, ``margin < 0``, unknown ``mining``, empty or
            non-finite input, unknown ``reduction``.

    Notes:
        ``'batch_all'`` and ``'semi_hard'`` build (K, N) arrays: one row per (anchor,
        positive) pair, one column per candidate negative. K is the number of positive pairs,
        :math:`\sum_c n_c (n_c - 1)` for classes of :math:`n_c` embeddings, so far below
        :math:`N^2` when the batch holds many classes (N = 1024 in 64 classes: K = 15,360, an
        array of about 16 million entries), but close to it when a few classes fill the batch.

    References:
        Schroff, Kalenichenko & Philbin (2015). FaceNet. CVPR. Hermans, Beyer & Leibe (2017).
        In defense of the triplet loss for person re-identification. arXiv:1703.07737.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> x = np.array([[0.0], [0.5], [1.0]])
        >>> float(lb.batch_triplet_loss(x, np.array([0, 0, 1]), margin=1.0, mining="batch_hard"))
        0.75
    """
    check_reduction(reduction)
    margin = check_nonnegative("margin", margin)
    if mining not in MINING:
        raise ValueError(f"mining must be one of {', '.join(map(repr, MINING))}; got {mining!r}")
    xp, (x,) = _embeddings(embeddings=embeddings)
    y = _labels(labels, "labels", x)
    if xp.is_floating(y) or not xp.is_integer_or_bool(y):
        raise TypeError(f"labels must be integer class labels; got dtype {y.dtype}")
    n = x.shape[0]
    dist = xp.pairwise_distances(x)  # (N, N), an exact 0 diagonal
    same = y[:, None] == y[None, :]
    pos_mask = same & ~xp.eye(n, x)
    neg_mask = ~same
    # a stand-in larger than every real distance, so min() ignores the masked entries
    far = float(xp.detach(dist).max()) + 1.0

    if mining == "batch_hard":
        hardest_pos = xp.amax(xp.where(pos_mask, dist, 0.0), axis=-1)
        hardest_neg = xp.amin(xp.where(neg_mask, dist, far), axis=-1)
        valid = cast_like(xp, xp.any(pos_mask, axis=-1) & xp.any(neg_mask, axis=-1), x)
        per_anchor = xp.maximum(hardest_pos - hardest_neg + margin, 0.0) * valid
        count = xp.sum(valid)
    else:
        # One row per positive pair (a, p), one column per candidate negative: (K, N) arrays
        # rather than (N, N, N) ones; K is the number of positive pairs, far below N^2.
        a_idx, p_idx = xp.nonzero(pos_mask)
        d_ap = dist[a_idx, p_idx]
        d_an = dist[a_idx]
        neg = neg_mask[a_idx]
        if mining == "batch_all":
            per = xp.maximum(d_ap[:, None] - d_an + margin, 0.0) * cast_like(xp, neg, x)
            per_pair = xp.sum(per, axis=-1)
            count = xp.sum(cast_like(xp, per > 0, x))
        else:  # semi_hard: the closest negative beyond the positive, else the farthest one
            semi = neg & (d_an > d_ap[:, None])
            closest_semi = xp.amin(xp.where(semi, d_an, far), axis=-1)
            farthest_neg = xp.amax(xp.where(neg_mask, dist, 0.0), axis=-1)[a_idx]
            chosen = xp.where(xp.any(semi, axis=-1), closest_semi, farthest_neg)
            valid = cast_like(xp, xp.any(neg, axis=-1), x)
            per_pair = xp.maximum(d_ap - chosen + margin, 0.0) * valid
            count = xp.sum(valid)
        per_anchor = xp.segment_sum(per_pair, a_idx, n)

    if reduction == "none":
        return per_anchor
    if reduction == "sum":
        return xp.sum(per_anchor)
    return xp.safe_divide(xp.sum(per_anchor), count)


# ------------------------------------------------------------------- in-batch negative losses
def _row_cross_entropy(xp: Namespace, logits: Any, positives: Any) -> Any:
    """-log softmax(logits)[i, positive_i] per row, given the positive logits themselves."""
    return xp.logsumexp(logits, axis=-1) - positives


def multiple_negatives_ranking_loss(
    anchors: ArrayT,
    positives: ArrayT,
    negatives: ArrayT | None = None,
    *,
    scale: float = 20.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Multiple negatives ranking loss: every other positive in the batch is a negative.

    With cosine similarities :math:`s(a_i, c_j)` between anchor :math:`i` and every candidate
    :math:`c_j` (all positives, then any extra hard negatives),

    .. math::
        l_i = -\log \frac{e^{\lambda s(a_i, p_i)}}
        {\sum_j e^{\lambda s(a_i, p_j)} + \sum_k e^{\lambda s(a_i, n_k)}}

    a cross-entropy whose correct "class" for anchor :math:`i` is positive :math:`i`. One
    forward pass of N pairs gives every anchor N - 1 negatives for free.

    Args:
        anchors: (N, D), e.g. questions.
        positives: (N, D), e.g. their answers; row i belongs to anchor i.
        negatives: optional (M, D) hard negatives shared by every anchor.
        scale: :math:`\lambda > 0`, the inverse temperature (20 by default).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape (N,)).

    Returns:
        The loss, same kind as ``anchors``.

    Raises:
        TypeError: non-float embeddings; NumPy and torch mixed.
        ValueError: different batch sizes or dimensions, ``scale <= 0``, empty or non-finite
            input, unknown ``reduction``.

    Notes:
        The formulation of sentence-transformers' ``MultipleNegativesRankingLoss``
        (cross-entropy over scaled cosine similarities). Henderson et al. score a pair by the
        plain dot product of its two encodings, with no scale. Zero vectors are handled like
        ``F.normalize`` (their norm is clamped at 1e-12).

    References:
        Henderson et al. (2017). Efficient natural language response suggestion for Smart
        Reply. arXiv:1705.00652.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])   # each positive is 90 degrees from the other
        >>> print(f"{float(lb.multiple_negatives_ranking_loss(q, q, scale=20.0)):.4e}")
        2.0612e-09
    """
    check_reduction(reduction)
    scale = check_positive("scale", scale)
    named = {"anchors": anchors, "positives": positives}
    if negatives is not None:
        named["negatives"] = negatives
    xp, arrays = _embeddings(**named)
    a, pos = arrays[0], arrays[1]
    _same_batch(a, pos, "anchors", "positives")
    a, pos = xp.l2_normalize(a), xp.l2_normalize(pos)
    candidates = pos if negatives is None else xp.concatenate([pos, xp.l2_normalize(arrays[2])])
    logits = scale * (a @ candidates.T)
    per = _row_cross_entropy(xp, logits, scale * xp.sum(a * pos, axis=-1))
    return reduce(per, reduction)


def _check_chunk_size(chunk_size: Any) -> int | None:
    if chunk_size is None:
        return None
    c = check_int("chunk_size", chunk_size)
    if c < 1:
        raise ValueError(f"chunk_size must be >= 1 (or None); got {c}")
    return c


def _in_row_blocks(xp: Namespace, block: Any, rows: Any, keys: Any, chunk: int | None) -> Any:
    """``block(rows, keys, start)`` (one value per row), ``chunk`` rows at a time.

    With tensors each block is checkpointed: its (chunk, len(keys)) intermediates are not kept
    but recomputed in the backward pass, so memory is O(chunk * len(keys)).
    """
    if chunk is None or chunk >= rows.shape[0]:
        return block(rows, keys, 0)
    return xp.concatenate([xp.checkpointed(functools.partial(block, start=s), rows[s:s + chunk],
                                           keys) for s in range(0, rows.shape[0], chunk)])


def _info_nce_rows(xp: Namespace, q: Any, k: Any, temperature: float, chunk: int | None) -> Any:
    """Per-row InfoNCE of normalised q against k, computed ``chunk`` rows at a time."""
    positives = xp.sum(q * k, axis=-1) / temperature

    def block_lse(q_block: Any, keys: Any, start: int) -> Any:
        return xp.logsumexp((q_block @ keys.T) / temperature, axis=-1)

    return _in_row_blocks(xp, block_lse, q, k, chunk) - positives


def info_nce(
    query: ArrayT,
    key: ArrayT,
    *,
    temperature: float = 0.07,
    symmetric: bool = False,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""InfoNCE: pick the right key for each query among all keys of the batch.

    With L2-normalised rows, :math:`s_{ij} = q_i \cdot k_j / \tau`, and

    .. math::
        l_i = -\log \frac{e^{s_{ii}}}{\sum_j e^{s_{ij}}} ,

    a cross-entropy over the similarity matrix with targets :math:`0, 1, \dots, N-1`. With
    ``symmetric=True`` the loss is averaged with the same loss from the keys' side (columns of
    the matrix), as CLIP trains images and texts.

    With two views ``info_nce(z1, z2, temperature=0.05)`` is the loss of unsupervised SimCSE
    (Gao et al., 2021): each first view has the N - 1 other second views as negatives, none
    from its own view. :func:`nt_xent` (SimCLR) adds the 2N - 2 in-view negatives and scores
    both views; ``symmetric=True`` is CLIP's loss (Radford et al., 2021), whose temperature is
    learned (initialised at 0.07).

    Args:
        query: (N, D).
        key: (N, D); row i is the positive of query i, the other rows are its negatives.
        temperature: :math:`\tau > 0`; small values sharpen the softmax and concentrate the
            gradient on the hardest negatives.
        symmetric: average the query-to-key and key-to-query losses.
        chunk_size: compute the (N, N) similarities this many rows at a time. With tensors each
            block is checkpointed (recomputed in the backward pass), so memory is O(chunk * N)
            instead of O(N^2) while value and gradients stay the same.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape (N,)).

    Returns:
        The loss, same kind as ``query``.

    Raises:
        TypeError: non-float embeddings, non-bool ``symmetric``, non-integer ``chunk_size``,
            NumPy and torch mixed.
        ValueError: different batch sizes or dimensions, ``temperature <= 0``,
            ``chunk_size < 1``, empty or non-finite input, unknown ``reduction``.

    Notes:
        van den Oord et al. score a pair with a learned bilinear critic
        :math:`\exp(q^\top W k)`; the cosine similarity divided by a temperature used here is
        the later form of SimCLR, SimCSE and CLIP.

    References:
        van den Oord, Li & Vinyals (2018). Representation learning with contrastive predictive
        coding. arXiv:1807.03748. Gao, Yao & Chen (2021). SimCSE: simple contrastive learning
        of sentence embeddings. EMNLP. Radford et al. (2021). Learning transferable visual
        models from natural language supervision (CLIP). ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> q = np.eye(3)
        >>> bool(np.isclose(lb.info_nce(q, q, temperature=1.0),
        ...                 lb.cross_entropy(q @ q.T, np.arange(3))))
        True
    """
    check_reduction(reduction)
    temperature = check_positive("temperature", temperature)
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be True or False; got {symmetric!r}")
    chunk = _check_chunk_size(chunk_size)
    xp, (q, k) = _embeddings(query=query, key=key)
    _same_batch(q, k, "query", "key")
    q, k = xp.l2_normalize(q), xp.l2_normalize(k)
    per = _info_nce_rows(xp, q, k, temperature, chunk)
    if symmetric:
        per = 0.5 * (per + _info_nce_rows(xp, k, q, temperature, chunk))
    return reduce(per, reduction)


def _others_lse(xp: Namespace, z: Any, temperature: float, chunk: int | None) -> Any:
    """log sum_{j != i} exp(z_i . z_j / temperature) for every row i, ``chunk`` rows at a time."""
    m = z.shape[0]

    def block_lse(rows: Any, keys: Any, start: int) -> Any:
        sim = (rows @ keys.T) / temperature
        # an item is never its own negative: drop the diagonal from every softmax
        own = (xp.arange(rows.shape[0], rows) + start)[:, None] == xp.arange(m, rows)[None, :]
        return xp.logsumexp(xp.where(own, float("-inf"), sim), axis=-1)

    return _in_row_blocks(xp, block_lse, z, z, chunk)


def nt_xent(
    z1: ArrayT,
    z2: ArrayT,
    *,
    temperature: float = 0.5,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""NT-Xent, SimCLR's normalised temperature-scaled cross-entropy.

    The 2N embeddings :math:`z = [z_1; z_2]` are two views of N examples. For each of them the
    positive is the other view of the same example and the negatives are the other 2N - 2:

    .. math::
        l_i = -\log \frac{e^{s_{i, \pi(i)}}}{\sum_{j \ne i} e^{s_{ij}}}, \qquad
        s_{ij} = \frac{z_i \cdot z_j}{\lVert z_i \rVert \lVert z_j \rVert\, \tau} .

    Args:
        z1: (N, D), the first view of each example.
        z2: (N, D), the second view; row i pairs with row i of ``z1``.
        temperature: :math:`\tau > 0` (0.5 by default, as in SimCLR's CIFAR experiments).
        chunk_size: compute the (2N, 2N) similarities this many rows at a time, as in
            :func:`info_nce`: with tensors each block is checkpointed, so memory is
            O(chunk * N) instead of O(N^2) and the value and gradients stay the same.
        reduction: ``'mean'`` (default, over the 2N anchors), ``'sum'`` or ``'none'``
            (shape (2N,): ``z1``'s rows first).

    Returns:
        The loss, same kind as ``z1``.

    Raises:
        TypeError: non-float embeddings, non-integer ``chunk_size``; NumPy and torch mixed.
        ValueError: different shapes, ``temperature <= 0``, ``chunk_size < 1``, empty or
            non-finite input, unknown ``reduction``.

    Notes:
        Equals pytorch-metric-learning's ``NTXentLoss(temperature)`` applied to
        ``cat([z1, z2])`` with labels that pair row i with row N + i, and the same formula as
        ``optax.ntxent`` (whose default temperature is 0.07). Not the same loss as SimCSE's or
        CLIP's: see :func:`info_nce`.

    References:
        Chen, Kornblith, Norouzi & Hinton (2020). A simple framework for contrastive learning
        of visual representations (SimCLR). ICML.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> z = np.eye(2)
        >>> round(float(lb.nt_xent(z, z, temperature=1.0)), 6)  # -log(e / (e + 1 + 1))
        0.551445
    """
    check_reduction(reduction)
    temperature = check_positive("temperature", temperature)
    chunk = _check_chunk_size(chunk_size)
    xp, (a, b) = _embeddings(z1=z1, z2=z2)
    if tuple(b.shape) != tuple(a.shape):
        raise ValueError(f"z2 has shape {tuple(b.shape)} but z1 has shape {tuple(a.shape)}")
    n = a.shape[0]
    z = xp.l2_normalize(xp.concatenate([a, b]))
    pair = xp.sum(z[:n] * z[n:], axis=-1) / temperature  # s_{i, i+N} = s_{i+N, i}
    return reduce(_others_lse(xp, z, temperature, chunk) - xp.concatenate([pair, pair]),
                  reduction)
