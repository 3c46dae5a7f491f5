"""Checking a loss you wrote: gradients by central differences, and inputs to try it on.

:func:`central_difference` estimates a gradient without any calculus, two evaluations of the
function per entry; :func:`check_gradient` compares a gradient you derived with that estimate
and, when they disagree, says for which argument, at which entry and by how much.

:data:`INPUTS` is the one registry of the arguments the losses take: for each kind of input
(regression pairs, logits and labels, embeddings, ranked lists, ...) a seeded random maker
and a set of extreme values at which a stable loss must stay finite. lossbook's own tests
and its benchmark draw their inputs from it (the tests at the small default sizes, the
benchmark at large ones), and you can use it to test your own implementation against
``lossbook``. Everything here is NumPy; ``import lossbook.testing`` does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import SupportsFloat

import numpy as np
import numpy.typing as npt

__all__ = ["INPUTS", "Inputs", "central_difference", "check_gradient"]


# --------------------------------------------------------------------------------------------
# Gradients by central differences
# --------------------------------------------------------------------------------------------

def central_difference(f: Callable[[np.ndarray], SupportsFloat], x: npt.ArrayLike, *,
                       eps: float = 1e-6) -> np.ndarray:
    r"""The gradient of a scalar function ``f`` at ``x``, estimated by central differences.

    .. math::

        \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2 \varepsilon}

    for every entry ``i`` of ``x``, where :math:`e_i` is 1 at entry ``i`` and 0 elsewhere. The
    error is of order :math:`\varepsilon^2` for a smooth ``f`` (plus the rounding error of
    ``f``, divided by :math:`\varepsilon`), so with float64 and the default ``eps`` an
    estimate agrees with the exact derivative to about 1e-8 where ``f`` is smooth. At a kink
    (``|r|`` at 0, a hinge at its margin) it returns the mean of the two one-sided slopes.

    Args:
        f: a function of one array shaped like ``x`` that returns a number (a float, a 0-d
            array or a 0-d tensor).
        x: the point, any shape; it is converted to a float64 array and never modified.
        eps: the step :math:`\varepsilon`.

    Returns:
        A float64 array shaped like ``x``.

    Example:
        >>> import numpy as np
        >>> grad = central_difference(lambda v: np.sum(v**3), [1.0, -2.0])
        >>> np.round(grad, 6)  # 3 v**2
        array([ 3., 12.])
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (float(f(x + step)) - float(f(x - step))) / (2 * eps)
    return grad


def check_gradient(f: Callable[[np.ndarray], SupportsFloat], grad: npt.ArrayLike,
                   x: npt.ArrayLike, *, name: str = "x", eps: float = 1e-6, rtol: float = 1e-5,
                   atol: float = 1e-6) -> None:
    """Assert that ``grad`` is the gradient of ``f`` at ``x``, comparing with central differences.

    The test of every hand-derived gradient: ``grad`` must have the shape of ``x`` and agree
    with :func:`central_difference` entry by entry, ``|grad - numeric| <= atol + rtol *
    |numeric|`` (the rule of ``np.isclose``).

    Args:
        f: a function of one array shaped like ``x`` that returns a number.
        grad: the gradient to check, shaped like ``x``.
        x: the point.
        name: the name of the argument ``x`` stands for, used in the error message.
        eps: the step of the central differences.
        rtol: relative tolerance.
        atol: absolute tolerance.

    Raises:
        AssertionError: naming ``name``, the first entry where the two disagree and both
            derivatives; or the two shapes, if they differ.

    Example:
        >>> import numpy as np
        >>> check_gradient(lambda v: np.sum(v**2), [2.0, -6.0], [1.0, -3.0], name="input")
        >>> check_gradient(lambda v: np.sum(v**2), [2.0, 6.0], [1.0, -3.0], name="input")
        Traceback (most recent call last):
        ...
        AssertionError: d/d input at (1,): gradient 6, central difference -6 (1 of 2 entries disagree)
    """
    x = np.asarray(x, dtype=np.float64)
    analytic = np.asarray(grad, dtype=np.float64)
    if analytic.shape != x.shape:
        raise AssertionError(f"the gradient with respect to {name} has shape {analytic.shape} "
                             f"but {name} has shape {x.shape}")
    numeric = central_difference(f, x, eps=eps)
    bad = np.argwhere(~np.isclose(analytic, numeric, rtol=rtol, atol=atol))
    if bad.size:
        i = tuple(int(k) for k in bad[0])
        raise AssertionError(f"d/d {name} at {i}: gradient {analytic[i]:.8g}, central "
                             f"difference {numeric[i]:.8g} ({len(bad)} of {x.size} entries "
                             "disagree)")


# --------------------------------------------------------------------------------------------
# The registry of inputs
# --------------------------------------------------------------------------------------------

Shape = tuple[int, ...]
Arrays = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Inputs:
    """One kind of input: how to draw random arguments, and extreme ones.

    ``make(rng, scale=2.0, **sizes)`` returns the arguments of a loss as a tuple of NumPy arrays,
    the differentiated one (predictions, logits, scores, embeddings) first; float values are
    drawn with standard deviation ``scale``. Each maker has keyword-only sizes whose defaults
    are small (the sizes of lossbook's own tests). ``extreme()`` returns arguments at which a
    numerically stable loss must still give a finite value and gradient (logits of 1e4,
    probabilities of exactly 0 and 1, identical embeddings, ...).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> inputs = INPUTS["class_logits"]
        >>> logits, labels = inputs.make(np.random.default_rng(0), n=5, classes=3)
        >>> logits.shape, labels.shape
        ((5, 3), (5,))
        >>> bool(np.isfinite(lb.cross_entropy(*inputs.extreme())))
        True
    """

    make: Callable[..., Arrays]
    extreme: Callable[[], Arrays]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(z / 2))  # = 1 / (1 + exp(-z)), without overflow


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # shifted: exp never overflows
    return e / e.sum(axis=-1, keepdims=True)


# ---- regression and probabilities

def _regression(rng: np.random.Generator, scale: float = 2.0, *,
                shape: Shape = (7, 3)) -> Arrays:
    """Predictions and targets: two independent normal arrays."""
    return rng.normal(0.0, scale, size=shape), rng.normal(0.0, scale, size=shape)


def _regression_extreme() -> Arrays:
    big = 1e4
    return np.array([big, -big, 0.5, 0.0]), np.array([-big, big, 0.0, 0.0])


def _probabilities(rng: np.random.Generator, scale: float = 2.0, *,
                   shape: Shape = (6, 4)) -> Arrays:
    """Probabilities (the sigmoid of normal logits) and soft targets in [0, 1]."""
    return _sigmoid(rng.normal(0.0, scale, size=shape)), rng.uniform(0.0, 1.0, size=shape)


def _probabilities_extreme() -> Arrays:
    return np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])


# ---- logits and labels

def _binary_logits(rng: np.random.Generator, scale: float = 2.0, *, shape: Shape = (6, 4),
                   positive_rate: float = 0.4) -> Arrays:
    """Logits and 0/1 labels (float), each label 1 with probability ``positive_rate``."""
    logits = rng.normal(0.0, scale, size=shape)
    return logits, (rng.uniform(size=shape) < positive_rate).astype(np.float64)


def _soft_logits(rng: np.random.Generator, scale: float = 2.0, *,
                 shape: Shape = (6, 4)) -> Arrays:
    """Logits and soft targets in [0, 1]."""
    return rng.normal(0.0, scale, size=shape), rng.uniform(0.0, 1.0, size=shape)


def _binary_extreme() -> Arrays:
    return np.array([1e4, -1e4, 1e4, -1e4, 0.0]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])


def _class_logits(rng: np.random.Generator, scale: float = 2.0, *, n: int = 9,
                  classes: int = 4) -> Arrays:
    """Logits of shape (n, classes) and class indices of shape (n,)."""
    return rng.normal(0.0, scale, size=(n, classes)), rng.integers(0, classes, size=n)


def _class_extreme() -> Arrays:
    return np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 0.0]]), np.array([1, 1, 2])


def _spatial_logits(rng: np.random.Generator, scale: float = 2.0, *, n: int = 3,
                    classes: int = 4, positions: int = 5) -> Arrays:
    """Logits of shape (n, classes, positions) and indices of shape (n, positions)."""
    logits = rng.normal(0.0, scale, size=(n, classes, positions))
    return logits, rng.integers(0, classes, size=(n, positions))


def _probability_targets(rng: np.random.Generator, scale: float = 2.0, *, n: int = 5,
                         classes: int = 4) -> Arrays:
    """Logits of shape (n, classes) and target distributions (rows that sum to 1)."""
    logits = rng.normal(0.0, scale, size=(n, classes))
    t = rng.uniform(0.0, 1.0, size=(n, classes))
    return logits, t / t.sum(axis=1, keepdims=True)


def _signed_scores(rng: np.random.Generator, scale: float = 2.0, *,
                   shape: Shape = (12,)) -> Arrays:
    """Decision values and labels -1 or +1 (the hinge losses' convention)."""
    return rng.normal(0.0, scale, size=shape), rng.choice([-1.0, 1.0], size=shape)


def _signed_extreme() -> Arrays:
    return np.array([1e4, -1e4, 1e4, -1e4]), np.array([1.0, 1.0, -1.0, -1.0])


def _log_probabilities(rng: np.random.Generator, scale: float = 2.0, *, n: int = 5,
                       classes: int = 4) -> Arrays:
    """Log-probabilities of shape (n, classes) and target distributions, one target 0."""
    q = rng.normal(0.0, scale, size=(n, classes))
    t = rng.uniform(0.0, 1.0, size=(n, classes))
    t[0, 0] = 0.0  # a zero target probability (0 log 0 = 0)
    m = q.max(axis=1, keepdims=True)
    log_q = q - m - np.log(np.exp(q - m).sum(axis=1, keepdims=True))
    return log_q, t / t.sum(axis=1, keepdims=True)


def _log_probabilities_extreme() -> Arrays:
    return np.array([[0.0, -1e4], [-1e4, 0.0]]), np.array([[0.5, 0.5], [1.0, 0.0]])


def _token_logits(rng: np.random.Generator, scale: float = 2.0, *, batch: int = 3,
                  length: int = 6, vocab: int = 5) -> Arrays:
    """Logits of shape (batch, length, vocab) and tokens of shape (batch, length)."""
    logits = rng.normal(0.0, scale, size=(batch, length, vocab))
    return logits, rng.integers(0, vocab, size=(batch, length))


def _token_extreme() -> Arrays:
    x = np.zeros((1, 3, 4))
    x[0, 0, 0], x[0, 1, 3], x[0, 2, 2] = 1e4, -1e4, 1e4
    return x, np.array([[2, 3, 0]])


# ---- embeddings

def _pairs(rng: np.random.Generator, scale: float = 2.0, *, n: int = 8, dim: int = 3) -> Arrays:
    """Two embeddings per pair and a 0/1 label; pair 0 is identical and similar.

    The second embedding is the first plus noise of standard deviation ``scale / 2``, so the
    pair distances are about ``scale / 2 * sqrt(dim)``. The identical pair has distance 0,
    where the gradient of a distance needs care.
    """
    x1 = rng.normal(0.0, scale, size=(n, dim))
    x2 = x1 + rng.normal(0.0, scale / 2, size=(n, dim))
    label = rng.integers(0, 2, size=n)
    x2[0], label[0] = x1[0], 1
    return x1, x2, label


def _pairs_extreme() -> Arrays:
    x = np.array([[0.0, 0.0], [1e4, -1e4], [3.0, 4.0]])
    return x, x.copy(), np.array([0, 1, 0])


def _triplets(rng: np.random.Generator, scale: float = 2.0, *, n: int = 7,
              dim: int = 4) -> Arrays:
    """Anchors, positives (the anchors plus noise) and independent negatives, each (n, dim)."""
    a = rng.normal(0.0, scale, size=(n, dim))
    return a, a + rng.normal(0.0, scale / 2, size=(n, dim)), rng.normal(0.0, scale, size=(n, dim))


def _triplets_extreme() -> Arrays:
    x = np.array([[0.0, 0.0], [1e4, -1e4]])
    return x, x.copy(), x.copy()


def _labelled_embeddings(rng: np.random.Generator, scale: float = 2.0, *, n: int = 10,
                         dim: int = 3, classes: int = 3, balanced: bool = False) -> Arrays:
    """Embeddings (n, dim) and class labels (n,): random, or cycling through the classes.

    ``balanced=True`` gives every class the same number of rows (``arange(n) % classes``), so
    the number of triplets is known in advance.
    """
    x = rng.normal(0.0, scale, size=(n, dim))
    labels = np.arange(n) % classes if balanced else rng.integers(0, classes, size=n)
    return x, labels


def _labelled_extreme() -> Arrays:
    return np.zeros((4, 2)), np.array([0, 0, 1, 1])


def _two_views(rng: np.random.Generator, scale: float = 2.0, *, n: int = 6, dim: int = 5,
               snr: float = 3.0) -> Arrays:
    """Two noisy views (n, dim) of the same items: row i of one matches row i of the other.

    Each view is the item (standard deviation ``scale``) plus noise of standard deviation
    ``scale / snr``: with the default signal-to-noise ratio of 3 the views of an item are
    much closer to each other than to other items; below 1 they are barely related.
    """
    x = rng.normal(0.0, scale, size=(n, dim))
    return (x + rng.normal(0.0, scale / snr, size=(n, dim)),
            x + rng.normal(0.0, scale / snr, size=(n, dim)))


def _views_extreme() -> Arrays:
    x = np.array([[0.0, 0.0], [1e4, -1e4], [1e-300, 0.0]])
    return x, x.copy()


def _two_views_with_negatives(rng: np.random.Generator, scale: float = 2.0, *, n: int = 6,
                              dim: int = 5, negatives: int = 4) -> Arrays:
    """Two views as in ``"two_views"``, and hard negatives (negatives, dim) shared by all."""
    q, k = _two_views(rng, scale, n=n, dim=dim)
    return q, k, rng.normal(0.0, scale, size=(negatives, dim))


def _views_with_negatives_extreme() -> Arrays:
    return (*_views_extreme(), np.array([[1e4, 1e4], [0.0, 0.0]]))


# ---- ranking

def _lists(rng: np.random.Generator, scale: float = 2.0, *, queries: int = 4,
           items: int = 6) -> Arrays:
    """Scores (queries, items) and graded relevance 0-3, ties included."""
    return (rng.normal(0.0, scale, size=(queries, items)),
            rng.integers(0, 4, size=(queries, items)))


def _lists_extreme() -> Arrays:
    return (np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, 1e4, 0.0]]),
            np.array([[0, 3, 1, 2], [2, 0, 0, 1]]))


def _graded_lists(rng: np.random.Generator, scale: float = 2.0, *, queries: int = 4,
                  items: int = 8) -> Arrays:
    """Scores and relevance 0-4 where every query holds the same grades, shuffled.

    Half the items have grade 0, a quarter grade 1, an eighth grade 2, and at least one item
    has grade 4: every query then has the same number of ordered pairs, where a mean over the
    pairs of a batch and a mean per query agree (float relevance).
    """
    counts = [items // 2, items // 4, items // 8,
              items - items // 2 - items // 4 - items // 8 - max(items // 16, 1),
              max(items // 16, 1)]
    grades = np.concatenate([np.full(c, float(grade)) for grade, c in enumerate(counts)])
    relevance = np.stack([rng.permutation(grades) for _ in range(queries)])
    return rng.normal(0.0, scale, size=(queries, items)), relevance


def _distinct_lists(rng: np.random.Generator, scale: float = 2.0, *, queries: int = 4,
                    items: int = 6) -> Arrays:
    """Scores and relevance without ties: a permutation of 0, ..., items - 1 per query."""
    relevance = np.stack([rng.permutation(items) for _ in range(queries)]).astype(np.float64)
    return rng.normal(0.0, scale, size=(queries, items)), relevance


def _preferences(rng: np.random.Generator, scale: float = 2.0, *, batch: int = 8) -> Arrays:
    """Sequence log-probabilities: policy chosen, policy rejected, reference chosen, rejected.

    Around -20 times a half-normal draw (log-probabilities of whole sequences are large and
    negative), plus noise of standard deviation ``scale`` for each of the four.
    """
    base = -20.0 * np.abs(rng.normal(0.0, 1.0, size=(4, batch)))
    return tuple(base[i] + rng.normal(0.0, scale, size=batch) for i in range(4))


def _preferences_extreme() -> Arrays:
    return np.array([1e4, -1e4]), np.array([-1e4, 1e4]), np.zeros(2), np.zeros(2)


# ---- business

def _class_probabilities(rng: np.random.Generator, scale: float = 2.0, *, n: int = 8,
                         classes: int = 3) -> Arrays:
    """Predicted class probabilities (n, classes) (a softmax of normal logits) and labels."""
    probs = _softmax(rng.normal(0.0, scale, size=(n, classes)))
    return probs, rng.integers(0, classes, size=n)


def _class_probabilities_extreme() -> Arrays:
    return np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), np.array([2, 0])


def _binary_probabilities(rng: np.random.Generator, scale: float = 2.0, *,
                          n: int = 9) -> Arrays:
    """Probabilities of class 1, shape (n,), and 0/1 labels (integers)."""
    return _sigmoid(rng.normal(0.0, scale, size=n)), rng.integers(0, 2, size=n)


def _binary_probabilities_extreme() -> Arrays:
    return np.array([0.0, 1.0]), np.array([1, 0])


def _parameters(rng: np.random.Generator, scale: float = 2.0, *,
                shapes: tuple[Shape, ...] = ((3, 4),)) -> Arrays:
    """Weight arrays, one normal array per shape (for the penalties)."""
    return tuple(rng.normal(0.0, scale, size=shape) for shape in shapes)


def _parameters_extreme() -> Arrays:
    return (np.array([1e4, -1e4]),)


#: The registry of inputs, from the name of a kind of input to its :class:`Inputs`. Each kind,
#: and the losses that take it:
#:
#: - ``"regression"``: predictions and targets (the regression losses, the asymmetric error);
#: - ``"probabilities"``: probabilities and soft targets (``binary_cross_entropy``);
#: - ``"binary_logits"``: logits and 0/1 labels (``focal_loss``; ``positive_rate``);
#: - ``"soft_logits"``: logits and soft targets (the cross-entropies with logits);
#: - ``"class_logits"``: (N, C) logits and class indices (``cross_entropy``, the multi-class
#:   focal and hinge losses);
#: - ``"spatial_logits"``: (N, C, d) logits and (N, d) indices (``cross_entropy``);
#: - ``"probability_targets"``: logits and target distributions (``cross_entropy``);
#: - ``"signed_scores"``: decision values and -1/+1 labels (``hinge``, ``squared_hinge``);
#: - ``"log_probabilities"``: log-probabilities and distributions (``kl_div``);
#: - ``"token_logits"``: (B, T, V) logits and (B, T) tokens (``next_token_cross_entropy``,
#:   ``perplexity``);
#: - ``"pairs"``: two embeddings and a similar/dissimilar label (``contrastive_loss``);
#: - ``"triplets"``: anchors, positives, negatives (``triplet_loss``);
#: - ``"labelled_embeddings"``: embeddings and class labels (``batch_triplet_loss``);
#: - ``"two_views"``: two views of the same items (``info_nce``, ``nt_xent``, MNRL);
#: - ``"two_views_with_negatives"``: the same and shared hard negatives (MNRL);
#: - ``"lists"``: scores and graded relevance (the ranking losses and metrics);
#: - ``"graded_lists"``: the same grades in every query, shuffled;
#: - ``"distinct_lists"``: relevance without ties;
#: - ``"preferences"``: the four sequence log-probabilities of ``dpo_loss``;
#: - ``"class_probabilities"``: class probabilities and labels (``expected_cost``);
#: - ``"binary_probabilities"``: probabilities of class 1 and 0/1 labels (``expected_cost``);
#: - ``"parameters"``: weight arrays (``l1_penalty``, ``l2_penalty``).
INPUTS: dict[str, Inputs] = {
    "regression": Inputs(_regression, _regression_extreme),
    "probabilities": Inputs(_probabilities, _probabilities_extreme),
    "binary_logits": Inputs(_binary_logits, _binary_extreme),
    "soft_logits": Inputs(_soft_logits, _binary_extreme),
    "class_logits": Inputs(_class_logits, _class_extreme),
    "spatial_logits": Inputs(_spatial_logits, _class_extreme),
    "probability_targets": Inputs(_probability_targets, _class_extreme),
    "signed_scores": Inputs(_signed_scores, _signed_extreme),
    "log_probabilities": Inputs(_log_probabilities, _log_probabilities_extreme),
    "token_logits": Inputs(_token_logits, _token_extreme),
    "pairs": Inputs(_pairs, _pairs_extreme),
    "triplets": Inputs(_triplets, _triplets_extreme),
    "labelled_embeddings": Inputs(_labelled_embeddings, _labelled_extreme),
    "two_views": Inputs(_two_views, _views_extreme),
    "two_views_with_negatives": Inputs(_two_views_with_negatives, _views_with_negatives_extreme),
    "lists": Inputs(_lists, _lists_extreme),
    "graded_lists": Inputs(_graded_lists, _lists_extreme),
    "distinct_lists": Inputs(_distinct_lists, _lists_extreme),
    "preferences": Inputs(_preferences, _preferences_extreme),
    "class_probabilities": Inputs(_class_probabilities, _class_probabilities_extreme),
    "binary_probabilities": Inputs(_binary_probabilities, _binary_probabilities_extreme),
    "parameters": Inputs(_parameters, _parameters_extreme),
}
