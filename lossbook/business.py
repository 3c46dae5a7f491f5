r"""Custom and business losses: put what a mistake really costs into the objective.

A standard loss prices every error by a statistical convention (a squared residual, a log
probability). When the business prices errors differently, the loss can say so: asymmetric
penalties, cost matrices, several objectives at once, and penalties on the weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from lossbook._backend import ArrayT, Namespace
from lossbook._reduction import check_reduction, reduce
from lossbook._validation import (
    as_array,
    cast_like,
    check_class_indices,
    check_closed_interval,
    check_finite,
    check_floating,
    check_in_unit_interval,
    check_nonempty,
    check_positive,
    kind_name,
    namespace,
    prepare_pair,
)
from lossbook.classification import binary_cross_entropy_with_logits

__all__ = [
    "asymmetric_squared_error",
    "cost_sensitive_binary_cross_entropy",
    "expected_cost",
    "best_threshold",
    "CompositeLoss",
    "composite_loss",
    "l1_penalty",
    "l2_penalty",
]


def asymmetric_squared_error(
    input: ArrayT,
    target: ArrayT,
    *,
    under_weight: float = 1.0,
    over_weight: float = 1.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Squared error that prices under- and over-prediction differently.

    With :math:`r = \hat y - y`,

    .. math::
        l_n = \begin{cases} w_{\text{under}}\, r_n^2 & r_n < 0 \\
        w_{\text{over}}\, r_n^2 & r_n \ge 0 \end{cases}

    The minimiser of the expected loss is no longer the mean but an *expectile* shifted
    towards the cheaper side: with ``under_weight > over_weight`` the model learns to
    predict high.

    Args:
        input: predictions, any shape.
        target: targets, same shape.
        under_weight: cost per squared unit when the prediction is too low, > 0.
        over_weight: cost per squared unit when the prediction is too high, > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric weights, NumPy and torch mixed.
        ValueError: weights <= 0, shapes that differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        ``under_weight == over_weight == 1`` is :func:`lossbook.mse`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> # a price 2 too low costs 3 * 4, a price 2 too high costs 1 * 4
        >>> lb.asymmetric_squared_error(np.array([8.0, 12.0]), np.array([10.0, 10.0]),
        ...                             under_weight=3.0, over_weight=1.0, reduction="none")
        array([12.,  4.])
    """
    check_reduction(reduction)
    under = check_positive("under_weight", under_weight)
    over = check_positive("over_weight", over_weight)
    xp, x, y = prepare_pair(input, target)
    r = x - y
    return reduce(xp.where(r < 0, under * r * r, over * r * r), reduction)


def cost_sensitive_binary_cross_entropy(
    input: ArrayT,
    target: ArrayT,
    *,
    fn_cost: float = 1.0,
    fp_cost: float = 1.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Binary cross-entropy from logits, with the two kinds of error priced separately.

    .. math::
        l_n = -\left[ c_{\text{FN}}\, y_n \log \sigma(z_n)
              + c_{\text{FP}}\, (1 - y_n) \log \sigma(-z_n) \right]

    The positive term is what a missed positive (a false negative) costs, the negative term
    what a false alarm costs. Only the ratio :math:`c_{\text{FN}} / c_{\text{FP}}` changes the
    optimum; it moves the model's probabilities as moving the threshold to
    :math:`c_{\text{FP}} / (c_{\text{FP}} + c_{\text{FN}})` would.

    Args:
        input: logits, any shape.
        target: labels in [0, 1], same shape.
        fn_cost: cost of a false negative (missing a positive), > 0.
        fp_cost: cost of a false positive (a false alarm), > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``; NumPy and torch mixed.
        ValueError: costs <= 0, targets outside [0, 1], bad shapes, empty or non-finite input,
            unknown ``reduction``.

    Notes:
        Equals ``fp_cost * binary_cross_entropy_with_logits(pos_weight=fn_cost / fp_cost)``,
        and is computed so: tensors run the fused kernel
        ``torch.nn.functional.binary_cross_entropy_with_logits``.

    References:
        Elkan (2001). The foundations of cost-sensitive learning. IJCAI.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> z, y = np.array([0.0, 0.0]), np.array([1.0, 0.0])
        >>> lb.cost_sensitive_binary_cross_entropy(z, y, fn_cost=50.0, fp_cost=1.0, reduction="none")
        array([34.65735903,  0.69314718])
    """
    check_reduction(reduction)
    fn = check_positive("fn_cost", fn_cost)
    fp = check_positive("fp_cost", fp_cost)
    # -(fn y log s(x) + fp (1 - y) log s(-x)) is fp times a BCE whose positives weigh fn / fp:
    # written once there (a single fused kernel with tensors)
    return fp * binary_cross_entropy_with_logits(input, target, pos_weight=fn / fp,
                                                 reduction=reduction)


def _cost_matrix(cost_matrix: Any, like: Any = None) -> tuple[Namespace, Any]:
    c = as_array(cost_matrix, "cost_matrix")
    xp = namespace(cost_matrix=c) if like is None else namespace(cost_matrix=c, input=like)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise ValueError("cost_matrix must be square, (C, C) with C >= 2, indexed "
                         f"[true class, predicted class]; got shape {tuple(c.shape)}")
    if not (xp.is_floating(c) or xp.is_integer_or_bool(c)):
        raise TypeError(f"cost_matrix must be real-valued; got dtype {c.dtype}")
    check_finite(xp, c, "cost_matrix")
    if bool((c < 0).any()):
        raise ValueError(f"cost_matrix must be non-negative; got {float(c.min()):g}")
    return xp, (c if like is None else cast_like(xp, c, like))


def expected_cost(
    input: ArrayT,
    target: ArrayT,
    *,
    cost_matrix: ArrayT,
    threshold: float | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Expected cost of (randomised) decisions under a cost matrix.

    With :math:`C_{ij}` the cost of predicting class :math:`j` when the truth is :math:`i`
    and :math:`p_{n,j}` the probability of deciding :math:`j` for example :math:`n`,

    .. math::
        l_n = \sum_j p_{n,j}\, C_{y_n, j} .

    With one-hot decisions this is the realised cost; with predicted probabilities it is a
    differentiable surrogate that can be trained on directly.

    Args:
        input: probabilities of shape (N, C), or (N,) probabilities of class 1 for a binary
            problem.
        target: integer true classes, shape (N,).
        cost_matrix: (C, C) non-negative costs, indexed [true class, predicted class].
        threshold: binary problems only: decide class 1 when the probability is >= this value
            (in [0, 1]) and return the realised cost of those hard decisions (no gradient).
        reduction: ``'mean'`` (default, the cost per example), ``'sum'`` (the total bill) or
            ``'none'``.

    Returns:
        The cost, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-integer labels, NumPy and torch mixed.
        ValueError: a cost matrix that is not square or has negative entries, probabilities
            outside [0, 1], labels out of range, a ``threshold`` outside [0, 1] or with more
            than two classes, unknown ``reduction``.

    References:
        Elkan (2001). The foundations of cost-sensitive learning. IJCAI.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> costs = np.array([[0.0, 10.0], [500.0, 0.0]])   # a false alarm $10, a miss $500
        >>> p = np.array([0.02, 0.3])                       # predicted fraud probabilities
        >>> y = np.array([1, 0])
        >>> lb.expected_cost(p, y, cost_matrix=costs, reduction="none")   # 0.98 * 500, 0.3 * 10
        array([490.,   3.])
        >>> lb.expected_cost(p, y, cost_matrix=costs, threshold=0.1, reduction="none")
        array([500.,  10.])
    """
    check_reduction(reduction)
    x = as_array(input, "input")
    check_floating(namespace(input=x), x, "input")
    xp, c = _cost_matrix(cost_matrix, x)
    n_classes = c.shape[0]
    if x.ndim == 1:
        if n_classes != 2:
            raise ValueError(f"input of shape (N,) is a binary problem, but cost_matrix is "
                             f"{n_classes}x{n_classes}")
        check_nonempty(x, "input")
        check_finite(xp, x, "input")
        check_in_unit_interval(xp, x, "input")
        if threshold is not None:
            t = check_closed_interval("threshold", threshold, 0.0, 1.0)
            x = cast_like(xp, xp.detach(x) >= t, x)
        probs = xp.concatenate([(1.0 - x)[:, None], x[:, None]], axis=1)
    else:
        if threshold is not None:
            raise ValueError("threshold applies to binary problems with input of shape (N,); "
                             f"got input of shape {tuple(x.shape)}")
        if x.ndim != 2 or x.shape[1] != n_classes:
            raise ValueError(f"input must have shape (N, {n_classes}) to match cost_matrix; "
                             f"got shape {tuple(x.shape)}")
        check_nonempty(x, "input")
        check_finite(xp, x, "input")
        check_in_unit_interval(xp, x, "input")
        probs = x
    y = as_array(target, "target")
    namespace(input=x, target=y)
    if tuple(y.shape) != (x.shape[0],):
        raise ValueError(f"target must have shape ({x.shape[0]},), one class per row of input "
                         f"{tuple(x.shape)}; got shape {tuple(y.shape)}")
    y = check_class_indices(xp, y, "target", n_classes)
    rows = c[y]  # the cost of every decision for each example's true class
    return reduce(xp.sum(probs * rows, axis=-1), reduction)


def best_threshold(cost_matrix: ArrayT) -> float:
    r"""The probability above which predicting class 1 has the lower expected cost.

    For calibrated probabilities :math:`p = P(y = 1)`, predicting 1 costs
    :math:`(1 - p) C_{01} + p\, C_{11}` and predicting 0 costs
    :math:`(1 - p) C_{00} + p\, C_{10}`; they are equal at

    .. math::
        p^* = \frac{C_{01} - C_{00}}{(C_{01} - C_{00}) + (C_{10} - C_{11})} .

    Args:
        cost_matrix: 2x2 non-negative costs indexed [true class, predicted class], where a
            wrong decision costs more than the right one for each true class.

    Returns:
        :math:`p^*` as a Python float in (0, 1).

    Raises:
        TypeError: a non-numeric matrix.
        ValueError: a matrix that is not 2x2, has negative entries, or where a mistake is not
            costlier than the correct decision.

    References:
        Elkan (2001). The foundations of cost-sensitive learning. IJCAI.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.best_threshold(np.array([[0.0, 10.0], [500.0, 0.0]]))   # 10 / 510
        0.0196078431372549
    """
    _, c = _cost_matrix(cost_matrix)
    if tuple(c.shape) != (2, 2):
        raise ValueError(f"best_threshold needs a 2x2 cost matrix; got shape {tuple(c.shape)}")
    c00, c01, c10, c11 = (float(v) for v in c.reshape(-1).tolist())
    fp_regret, fn_regret = c01 - c00, c10 - c11
    if fp_regret <= 0 or fn_regret <= 0:
        raise ValueError(
            "cost_matrix must make each mistake costlier than the right decision "
            f"(C[0,1] > C[0,0] and C[1,0] > C[1,1]); got {c.tolist()}"
        )
    return fp_regret / (fp_regret + fn_regret)


class CompositeLoss(NamedTuple):
    """The result of :func:`composite_loss`: the total to minimise and each weighted part.

    Attributes:
        total: the weighted sum of the terms, the value to minimise.
        parts: each term after weighting, by name, for logging.
    """

    total: Any  # a NumPy scalar or a 0-d tensor, the kind of the terms
    parts: dict[str, Any]


def composite_loss(terms: Mapping[str, Any], *, weights: Mapping[str, float] | None = None) -> CompositeLoss:
    r"""Combine several losses into one objective, keeping each part for monitoring.

    .. math::
        L = \sum_k w_k L_k

    An object detector, for example, adds a classification term, a box-regression term and an
    objectness term; a recommender adds engagement and quality terms. The weights matter as
    much as the terms: a term whose scale is 100 times the others dominates the gradient.
    YOLO (Redmon et al., 2016) sums squared errors for all three (box coordinates weighted by
    :math:`\lambda_{\text{coord}} = 5`, the confidence of boxes without an object by
    :math:`\lambda_{\text{noobj}} = 0.5`); binary cross-entropy for objectness and classes
    came with YOLOv3 (Redmon & Farhadi, 2018).

    Args:
        terms: a mapping from a name to a scalar loss (all NumPy or all torch).
        weights: optional mapping from a name to a weight > 0; names not given weigh 1.

    Returns:
        ``CompositeLoss(total, parts)``: the weighted sum (differentiable with tensors) and a
        dict of the weighted terms, in the order of ``terms``.

    Raises:
        TypeError: a term that is not a floating-point scalar array or tensor, a non-mapping
            argument, NumPy and torch mixed.
        ValueError: no terms, a term that is NaN or inf, a weight <= 0, or a weight for a name
            that is not a term.

    References:
        Redmon et al. (2016). You only look once: unified, real-time object detection. CVPR.
        Redmon & Farhadi (2018). YOLOv3: an incremental improvement. arXiv:1804.02767.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> out = lb.composite_loss({"cls": np.float64(0.7), "box": np.float64(0.02)},
        ...                         weights={"box": 5.0})
        >>> float(out.total), {k: float(v) for k, v in out.parts.items()}
        (0.8, {'cls': 0.7, 'box': 0.1})
    """
    if not isinstance(terms, Mapping):
        raise TypeError(f"terms must be a mapping from names to losses; got {kind_name(terms)}")
    if not terms:
        raise ValueError("terms is empty; a composite loss needs at least one term")
    weights = {} if weights is None else weights
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a mapping from names to numbers; got {kind_name(weights)}")
    unknown = sorted(set(weights) - set(terms))
    if unknown:
        raise ValueError(f"weights names unknown terms {unknown}; the terms are {sorted(terms)}")
    arrays = {}
    for name, value in terms.items():
        arr = as_array(value, f"terms[{name!r}]")
        if arr.ndim != 0:
            raise TypeError(f"terms[{name!r}] must be a scalar loss (reduce it first); got shape "
                            f"{tuple(arr.shape)}")
        label = f"terms[{name!r}]"
        xp = namespace(**{label: arr})
        check_floating(xp, arr, label)
        check_finite(xp, arr, label)  # a NaN term would make the total NaN
        arrays[name] = arr
    namespace(**{f"terms[{n!r}]": a for n, a in arrays.items()})
    parts = {name: check_positive(f"weights[{name!r}]", weights.get(name, 1.0)) * arr
             for name, arr in arrays.items()}
    total: Any = None
    for part in parts.values():
        total = part if total is None else total + part
    return CompositeLoss(total, parts)


def _params(params: Any, name: str = "params") -> tuple[Namespace, list[Any]]:
    if not isinstance(params, Iterable) or hasattr(params, "dtype"):  # one array or tensor
        items = [params]
    else:
        items = list(params)
        if not items:
            raise ValueError(f"{name} is empty; pass an array or an iterable of arrays")
    arrays = [as_array(p, name) for p in items]
    xp = namespace(**{f"{name}[{i}]": a for i, a in enumerate(arrays)})
    for a in arrays:
        check_floating(xp, a, name)
    return xp, arrays


def _penalty(params: Any, weight: Any, term: Callable[[Namespace, Any], Any]) -> Any:
    """weight * the sum of ``term(p)`` over every element of every parameter array.

    ``term`` (``abs`` or the square) turns a NaN into a NaN and an inf into an inf, so a finite
    total proves every parameter finite for the price of one scalar test; otherwise each array
    is checked and the first non-finite one is named (a finite total that overflows, squares of
    weights beyond 1e154, stays a legitimate ``inf``).
    """
    weight = check_positive("weight", weight)
    xp, arrays = _params(params)
    if sum(math.prod(a.shape) for a in arrays) == 0:
        shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
        raise ValueError(f"params holds no elements (shapes {shapes}); there is nothing to "
                         "penalise")
    total: Any = None
    for p in arrays:
        s = xp.sum(term(xp, p))
        total = s if total is None else total + s
    if not math.isfinite(float(xp.detach(total))):
        single = len(arrays) == 1
        for i, a in enumerate(arrays):
            check_finite(xp, a, "params" if single else f"params[{i}]")
    return weight * total


def l1_penalty(params: ArrayT | Iterable[ArrayT], *, weight: float = 1.0) -> ArrayT:
    r"""L1 penalty :math:`\lambda \sum_i |w_i|`, to add to a loss; it favours sparse weights.

    The minimiser of a loss plus this penalty has weights that are exactly 0 (the lasso), but
    plain gradient descent only makes them hover around 0, since the subgradient is
    :math:`\pm\lambda` on either side; a proximal step (soft-thresholding) reaches the zeros.

    Args:
        params: an array, or an iterable of arrays (e.g. ``model.parameters()``).
        weight: :math:`\lambda > 0`.

    Returns:
        A scalar of the parameters' kind (differentiable with tensors).

    Raises:
        TypeError: non-float parameters; NumPy and torch mixed.
        ValueError: ``weight <= 0``, no parameters (or only empty ones), a parameter that
            holds NaN or inf.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.l1_penalty([np.array([1.0, -2.0]), np.array([0.5])], weight=0.1))
        0.35
    """
    return _penalty(params, weight, lambda xp, p: xp.abs(p))


def l2_penalty(params: ArrayT | Iterable[ArrayT], *, weight: float = 1.0) -> ArrayT:
    r"""L2 penalty :math:`\lambda \sum_i w_i^2` (weight decay), to add to a loss.

    Its gradient is :math:`2 \lambda w`: plain SGD with ``weight_decay=wd`` applies the same
    update as adding ``l2_penalty(params, weight=wd / 2)`` to the loss (AdamW's decoupled
    decay does not).

    Args:
        params: an array, or an iterable of arrays (e.g. ``model.parameters()``).
        weight: :math:`\lambda > 0`.

    Returns:
        A scalar of the parameters' kind (differentiable with tensors).

    Raises:
        TypeError: non-float parameters; NumPy and torch mixed.
        ValueError: ``weight <= 0``, no parameters (or only empty ones), a parameter that
            holds NaN or inf.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.l2_penalty(np.array([1.0, -2.0]), weight=0.1))
        0.5
    """
    return _penalty(params, weight, lambda xp, p: p * p)
