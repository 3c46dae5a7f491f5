"""Seeded, download-free data sets for the chapters and the exercises.

Every generator takes an explicit ``seed`` and returns plain NumPy arrays in a named tuple,
so the same call gives the same numbers on a laptop, on Colab and in CI.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lossbook._validation import check_open_interval, check_positive

__all__ = [
    "LineData",
    "PriceData",
    "make_line_with_outliers",
    "make_heteroscedastic",
    "make_prices",
    "make_two_blobs",
    "true_quantile_heteroscedastic",
    "load_corpus",
    "RankingData",
    "make_ranking",
]


class LineData(NamedTuple):
    """Points around a straight line ``y = slope * x + intercept``.

    Attributes:
        x: the inputs, shape (n,).
        y: the targets, shape (n,).
        slope: the slope of the true line.
        intercept: the intercept of the true line.
        is_outlier: shape (n,), ``True`` where the target was replaced by an outlier.
    """

    x: np.ndarray  # shape (n,)
    y: np.ndarray  # shape (n,)
    slope: float
    intercept: float
    is_outlier: np.ndarray  # shape (n,), bool


class PriceData(NamedTuple):
    """Items whose prices span several orders of magnitude.

    Attributes:
        features: shape (n, 2): the log10 of the list price and a demand signal (a standard
            normal draw; the price moves by about 10% per unit of it).
        price: shape (n,): the true price in dollars.
        category: shape (n,): 0 for an everyday item (about $10 to $300), 1 for a premium
            one (about $1k to $10k).
    """

    features: np.ndarray  # shape (n, 2): log10(list price), a demand signal
    price: np.ndarray  # shape (n,): the true price in dollars
    category: np.ndarray  # shape (n,): 0 = everyday item (~$10-$300), 1 = premium (~$1k-$10k)


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2; got {n!r}")
    return int(n)


def make_line_with_outliers(
    n: int = 100,
    *,
    slope: float = 2.0,
    intercept: float = 1.0,
    noise: float = 0.5,
    outlier_fraction: float = 0.1,
    outlier_shift: float = 15.0,
    seed: int = 0,
) -> LineData:
    """Noisy points on a line, a fraction of them pushed far *above* it.

    The outliers all move in one direction, as corrupted labels often do (a unit error, a
    sensor stuck high), which is the case where the mean-seeking MSE fit is dragged away and
    robust losses are not.

    Example:
        >>> from lossbook.datasets import make_line_with_outliers
        >>> data = make_line_with_outliers(50, outlier_fraction=0.2, seed=1)
        >>> data.x.shape, int(data.is_outlier.sum())
        ((50,), 10)
    """
    n = _check_n(n)
    noise = check_positive("noise", noise)
    if not 0.0 <= outlier_fraction < 1.0:
        raise ValueError(f"outlier_fraction must be in [0, 1); got {outlier_fraction!r}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, size=n))
    y = slope * x + intercept + rng.normal(0.0, noise, size=n)
    is_outlier = np.zeros(n, dtype=bool)
    k = int(round(outlier_fraction * n))
    if k:
        # Outliers sit on the right-hand side, where they have leverage on the slope.
        candidates = np.flatnonzero(x > 0)
        idx = rng.choice(candidates, size=min(k, candidates.size), replace=False)
        is_outlier[idx] = True
        y[idx] += outlier_shift * rng.uniform(0.7, 1.3, size=idx.size)
    return LineData(x, y, float(slope), float(intercept), is_outlier)


def make_heteroscedastic(n: int = 500, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x`` in [0, 10] and ``y = 0.5 x + 2 + noise`` whose spread grows with ``x``.

    The noise is skewed (a Gumbel draw scaled by ``0.2 + 0.3 x``), so the conditional mean,
    median and quantiles are all different straight lines: a good test for quantile loss.

    Example:
        >>> from lossbook.datasets import make_heteroscedastic
        >>> x, y = make_heteroscedastic(10, seed=0)
        >>> x.shape == y.shape == (10,)
        True
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, size=n)
    y = 0.5 * x + 2.0 + (0.2 + 0.3 * x) * rng.gumbel(0.0, 1.0, size=n)
    return x, y


def true_quantile_heteroscedastic(x: np.ndarray, q: float) -> np.ndarray:
    """The exact ``q``-quantile of ``y`` given ``x`` for :func:`make_heteroscedastic`.

    A Gumbel(0, 1) variable has quantile :math:`-\\log(-\\log q)`.

    Example:
        >>> import numpy as np
        >>> from lossbook.datasets import true_quantile_heteroscedastic
        >>> true_quantile_heteroscedastic(np.array([0.0]), 0.5).round(4)
        array([2.0733])
    """
    q = check_open_interval("q", q, 0.0, 1.0)
    return 0.5 * x + 2.0 + (0.2 + 0.3 * x) * (-np.log(-np.log(q)))


def make_prices(n: int = 400, *, seed: int = 0) -> PriceData:
    """Prices from about $10 to $10,000 with a noise that is *relative* (about 10%).

    Half the items are everyday goods, half are premium. Because the noise is proportional to
    the price, a squared error in dollars is dominated by the expensive items.

    Example:
        >>> from lossbook.datasets import make_prices
        >>> d = make_prices(100, seed=0)
        >>> bool(d.price.min() > 5 and d.price.max() < 20_000)
        True
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    category = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(category)
    log_list = np.where(
        category == 1, rng.uniform(3.0, 4.0, size=n), rng.uniform(1.0, 2.5, size=n)
    )
    demand = rng.normal(0.0, 1.0, size=n)
    # True price: list price moved by demand, times a 10% multiplicative noise.
    price = 10.0**log_list * np.exp(0.1 * demand + 0.1 * rng.normal(0.0, 1.0, size=n))
    features = np.column_stack([log_list, demand])
    return PriceData(features, price, category)


def make_two_blobs(
    n: int = 200, *, separation: float = 2.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D binary classification problem: ``x`` ~ N(-s/2, 1) for class 0, N(+s/2, 1) for 1.

    Returns ``x`` of shape (n,) and integer labels of shape (n,), half of each class.

    Example:
        >>> from lossbook.datasets import make_two_blobs
        >>> x, y = make_two_blobs(6, seed=0)
        >>> y.tolist()
        [0, 0, 0, 1, 1, 1]
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    x = rng.normal(0.0, 1.0, size=n) + separation * (y - 0.5)
    return x, y


def load_corpus() -> str:
    """The course's small English text corpus, for character-level language models.

    Original prose written for lossbook (under the project's MIT licence), shipped
    inside the package so that it loads offline and on Colab. About 20,000 characters.

    Example:
        >>> from lossbook.datasets import load_corpus
        >>> text = load_corpus()
        >>> len(text) > 10_000 and text.isascii()
        True
    """
    from importlib.resources import files

    # one name per joinpath: Python 3.10's Traversable.joinpath takes a single argument
    return files("lossbook").joinpath("data").joinpath("corpus.txt").read_text(encoding="utf-8")


class RankingData(NamedTuple):
    """A learning-to-rank data set: lists of items with features and graded relevance.

    Attributes:
        features: shape (Q, L, F): one feature vector per item; padding rows are 0.
        relevance: shape (Q, L), integers from 0 (not relevant) to 4; padding is 0.
        mask: shape (Q, L), ``True`` for a real item and ``False`` for padding.
        weights: shape (F,): the hidden direction that relevance depends on.
    """

    features: np.ndarray  # (Q, L, F): one feature vector per item; padding rows are 0
    relevance: np.ndarray  # (Q, L) int64 in 0..4 (0 = not relevant); padding is 0
    mask: np.ndarray  # (Q, L) bool: True for a real item, False for padding
    weights: np.ndarray  # (F,): the hidden direction that relevance depends on


def make_ranking(
    n_queries: int = 200,
    *,
    n_features: int = 10,
    min_items: int = 5,
    max_items: int = 30,
    noise: float = 1.0,
    seed: int = 0,
) -> RankingData:
    """Synthetic queries whose items have graded relevance, in padded arrays.

    Each query has between ``min_items`` and ``max_items`` items (padded to ``max_items``,
    with ``mask`` marking the real ones). An item's relevance (0 to 4) is a noisy, thresholded
    function of a hidden linear score of its features, so most items are irrelevant and a few
    are highly relevant, as in web search; a linear scorer can learn the ranking, but the noise
    keeps it from being perfect.

    Example:
        >>> from lossbook.datasets import make_ranking
        >>> d = make_ranking(4, n_features=3, min_items=2, max_items=6, seed=0)
        >>> d.features.shape, d.relevance.shape, d.mask.sum(axis=1).tolist()
        ((4, 6, 3), (4, 6), [2, 2, 2, 6])
    """
    n_queries = _check_n(n_queries)
    for name, value in (("n_features", n_features), ("min_items", min_items),
                        ("max_items", max_items)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    if min_items > max_items:
        raise ValueError(f"min_items ({min_items}) must not exceed max_items ({max_items})")
    noise = check_positive("noise", noise)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=n_features)
    weights /= np.linalg.norm(weights)
    lengths = rng.integers(min_items, max_items + 1, size=n_queries)
    mask = np.arange(max_items)[None, :] < lengths[:, None]
    # items of one query share a topic offset, so scores are only comparable within a query
    features = rng.normal(size=(n_queries, max_items, n_features))
    features += 0.5 * rng.normal(size=(n_queries, 1, n_features))
    utility = features @ weights + noise * rng.normal(size=(n_queries, max_items))
    relevance = np.digitize(utility, [1.0, 2.0, 3.0, 4.0]).astype(np.int64)
    features[~mask] = 0.0
    relevance[~mask] = 0
    return RankingData(features, relevance, mask, weights)
