r"""Classification losses: how well predicted probabilities (or scores) match class labels.

Most functions take **logits** (unnormalised scores) rather than probabilities: the loss is
then computed with log-sigmoid or log-softmax, which stay finite for logits of any size. The
only exception is :func:`~lossbook.binary_cross_entropy`, which takes probabilities like its torch twin.

Six losses here have a fused ``torch.nn.functional`` twin that tensors run (each docstring
names it); the formula written here is what NumPy runs, and the tests hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from lossbook._backend import ArrayT, Namespace
from lossbook._reduction import check_reduction, gradient_of, reduce, reduce_grad
from lossbook._validation import (
    as_array,
    cast_like,
    check_class_indices,
    check_closed_interval,
    check_finite,
    check_floating,
    check_in_unit_interval,
    check_int,
    check_nonempty,
    check_nonnegative,
    check_values_in,
    finite_range,
    namespace,
    prepare_elementwise,
    prepare_pair,
    prepare_vector,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "focal_loss",
    "softmax_focal_loss",
    "hinge",
    "squared_hinge",
    "multiclass_hinge",
    "kl_div",
    "next_token_cross_entropy",
    "perplexity",
]


# ------------------------------------------------------------------------- binary cross-entropy
def binary_cross_entropy(
    input: ArrayT, target: ArrayT, *, weight: ArrayT | None = None, reduction: str = "mean"
) -> ArrayT:
    r"""Binary cross-entropy (log loss) of predicted probabilities.

    The negative log-likelihood of a Bernoulli variable with success probability :math:`p_n`:

    .. math::
        l_n = -w_n \left[ y_n \log p_n + (1 - y_n) \log(1 - p_n) \right] .

    A confident wrong answer (:math:`p \to 0` when :math:`y = 1`) costs without bound, which
    is what pushes models away from overconfidence on the training set.

    Args:
        input: predicted probabilities :math:`p`, any shape, values in [0, 1].
        target: labels or soft labels in [0, 1], same shape as ``input``.
        weight: optional non-negative weight per element, same shape as ``input``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``; NumPy and torch mixed.
        ValueError: values outside [0, 1], shapes differ, empty or non-finite input, negative
            ``weight``, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.binary_cross_entropy`` and
        ``sklearn.metrics.log_loss`` for hard labels. Like torch, each log is clamped at
        :math:`-100`, so :math:`p = 0` with :math:`y = 1` costs 100 instead of ``inf``. Prefer
        :func:`binary_cross_entropy_with_logits`: with :math:`p = 1 / (1 + e^{-z})` computed
        first, :math:`1 - p` rounds to 0 once the logit :math:`z` exceeds about 36.7 (float64)
        or 16.6 (float32), so a negative example's loss is clipped at 100 and its gradient
        lost; below about -709.8 (float64) or -88.7 (float32) :math:`e^{-z}` overflows and
        :math:`p` becomes 0.

        Tensors run the fused kernel ``torch.nn.functional.binary_cross_entropy`` (the same
        formula, each log clamped at -100).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.binary_cross_entropy(np.array([0.9, 0.1]), np.array([1.0, 1.0]), reduction="none")
        array([0.10536052, 2.30258509])
    """
    check_reduction(reduction)
    xp, p, y = prepare_pair(input, target, finite=False)
    check_in_unit_interval(xp, p, "input")  # values in [0, 1] are finite
    check_in_unit_interval(xp, y, "target", "labels")
    w = None if weight is None else prepare_elementwise(xp, weight, "weight", p)

    def formula() -> Any:
        loss = -(y * xp.log_clamped(p) + (1.0 - y) * xp.log_clamped(1.0 - p))
        return reduce(loss if w is None else loss * w, reduction)

    return xp.fused("binary_cross_entropy", formula, p, y, weight=w, reduction=reduction)


def _bce_logits_parts(input: Any, target: Any, weight: Any, pos_weight: Any) -> tuple[Any, ...]:
    """Validated (xp, logits, targets, weight or None, pos_weight: None, a number or an array)."""
    xp, input, target = prepare_pair(input, target, finite=False)
    check_finite(xp, input, "input")
    check_in_unit_interval(xp, target, "target", "labels")  # values in [0, 1] are finite
    w = None if weight is None else prepare_elementwise(xp, weight, "weight", input)
    pw = None
    if pos_weight is not None:
        if input.ndim == 0:
            raise ValueError("pos_weight needs an input with a class axis (its last axis)")
        n_classes = input.shape[-1]
        shape = None if isinstance(pos_weight, (int, float)) else tuple(
            as_array(pos_weight, "pos_weight").shape)
        if shape == tuple(input.shape):
            pw = prepare_elementwise(xp, pos_weight, "pos_weight", input)
        elif shape == (1,):  # one weight for every class, as torch broadcasts it
            pw = prepare_vector(xp, pos_weight, "pos_weight", 1, input)
        else:
            pw = prepare_vector(xp, pos_weight, "pos_weight", n_classes, input, allow_scalar=True)
    return xp, input, target, w, pw


def binary_cross_entropy_with_logits(
    input: ArrayT,
    target: ArrayT,
    *,
    weight: ArrayT | None = None,
    pos_weight: ArrayT | float | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Binary cross-entropy computed from logits, stable for any logit.

    With :math:`z_n` the logit, :math:`\sigma` the sigmoid and :math:`c` the positive weight,

    .. math::
        l_n = -w_n \left[ c\, y_n \log \sigma(z_n) + (1 - y_n) \log\left(1 - \sigma(z_n)\right)
        \right]

    where :math:`\log \sigma(z) = -\operatorname{softplus}(-z)` and
    :math:`\log(1 - \sigma(z)) = \log \sigma(-z)` are evaluated without forming
    :math:`\sigma(z)`.

    Args:
        input: logits :math:`z`, any shape.
        target: labels or soft labels in [0, 1], same shape as ``input``.
        weight: optional non-negative weight per element, same shape as ``input``.
        pos_weight: optional weight :math:`c` of the positive term: a number, a one-element
            vector, a vector with one entry per class (the last axis of ``input``), or an
            array shaped like ``input``.
            Setting it to (negatives / positives) balances a rare positive class.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``; NumPy and torch mixed.
        ValueError: targets outside [0, 1], shapes differ, negative or wrongly shaped weights,
            empty or non-finite input, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.binary_cross_entropy_with_logits``. Finite, with a finite
        gradient, for logits of :math:`\pm 10^4` and beyond.

        Tensors run the fused kernel ``torch.nn.functional.binary_cross_entropy_with_logits``
        (the same stable formula).

    References:
        Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 6.2.2.2.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> z = np.array([1e4, -1e4, 0.0])
        >>> lb.binary_cross_entropy_with_logits(z, np.array([1.0, 1.0, 1.0]), reduction="none")
        array([0.00000000e+00, 1.00000000e+04, 6.93147181e-01])
    """
    check_reduction(reduction)
    xp, x, y, w, pw = _bce_logits_parts(input, target, weight, pos_weight)

    def formula() -> Any:
        positive = y if pw is None else pw * y
        # log(sigmoid(z)) and log(1 - sigmoid(z)) = log(sigmoid(-z)), via softplus: no overflow
        loss = -(positive * xp.log_sigmoid(x) + (1.0 - y) * xp.log_sigmoid(-x))
        return reduce(loss if w is None else loss * w, reduction)

    return xp.fused("binary_cross_entropy_with_logits", formula, x, y, weight=w, pos_weight=pw,
                    reduction=reduction)


@gradient_of(binary_cross_entropy_with_logits, returns="""\
        An array shaped like ``input`` and of the same kind (divided by the number of elements
        for ``'mean'``).""")
def binary_cross_entropy_with_logits_grad(
    input: ArrayT,
    target: ArrayT,
    *,
    weight: ArrayT | None = None,
    pos_weight: ArrayT | float | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to the logits.

    .. math::
        \frac{\partial l_n}{\partial z_n} = w_n \left[ \sigma(z_n)\,(c\, y_n + 1 - y_n)
        - c\, y_n \right]

    which is :math:`\sigma(z) - y` without weights: the predicted probability minus the label.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.binary_cross_entropy_with_logits_grad(np.array([0.0, 1e4]), np.array([1.0, 0.0]),
        ...                                          reduction="none")
        array([-0.5,  1. ])
    """
    check_reduction(reduction)
    xp, x, y, w, pw = _bce_logits_parts(input, target, weight, pos_weight)
    c = 1.0 if pw is None else pw
    grad = xp.sigmoid(x) * (c * y + 1.0 - y) - c * y
    if w is not None:
        grad = grad * w
    return reduce_grad(grad, reduction)


# -------------------------------------------------------------------------------- cross-entropy
@dataclass(frozen=True)
class _Targets(Generic[ArrayT]):
    """Cross-entropy's arguments, validated once and shaped for the formula.

    The logits become ``rows``, one row of C scores per prediction: (N, C, d1, ...) becomes
    (N * d1 * ..., C). Exactly one of ``index`` and ``probabilities`` is set, matching the rows.
    """

    xp: Namespace
    logits: ArrayT  # the input in its own layout, (N, C) or (N, C, d1, ...), as torch takes it
    target: ArrayT  # the target in its own layout: int64 class indices or probabilities
    rows: ArrayT  # (M, C) logits, classes last
    index: ArrayT | None  # (M,) class indices, or None for probability targets
    probabilities: ArrayT | None  # (M, C) target probabilities, or None for index targets
    weight: ArrayT | None  # (C,) class weights, or None
    smoothing: float  # label smoothing, in [0, 1]
    num_classes: int
    ignore_index: int | None  # index targets equal to it do not count (None: all count)
    out_shape: tuple[int, ...]  # the shape of the 'none' output, (N, d1, ...)


def _prepare_logits_targets(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    label_smoothing: Any,
    names: tuple[str, str] = ("input", "target"),
) -> _Targets[Any]:
    """Validate cross-entropy arguments; return logits as (M, C) rows and targets to match."""
    in_name, t_name = names
    x = as_array(input, in_name)
    t = as_array(target, t_name)
    xp = namespace(**{in_name: x, t_name: t})
    check_floating(xp, x, in_name)
    if x.ndim < 2:
        raise ValueError(
            f"{in_name} must have shape (N, C) or (N, C, d1, ...) with classes on axis 1; "
            f"got shape {tuple(x.shape)}"
        )
    check_nonempty(x, in_name)
    check_finite(xp, x, in_name)
    ignore_index = None if ignore_index is None else check_int("ignore_index", ignore_index)
    eps = check_closed_interval("label_smoothing", label_smoothing, 0.0, 1.0)
    n_classes = x.shape[1]
    w = None if weight is None else prepare_vector(xp, weight, "weight", n_classes, x)
    # classes last, then one row per prediction: (N, C, d1, ...) -> (N * d1 * ..., C)
    rows = xp.moveaxis(x, 1, -1).reshape((-1, n_classes))
    out_shape = (x.shape[0], *x.shape[2:])
    if xp.is_floating(t):  # probability targets
        if ignore_index is not None and ignore_index != -100:
            # torch raises a RuntimeError here; a probability row cannot be "ignored"
            raise ValueError(
                f"ignore_index={ignore_index} applies to class-index targets only, but {t_name} "
                f"holds probabilities (dtype {t.dtype}, shape {tuple(t.shape)}); leave "
                "ignore_index at its default -100, or pass integer class indices"
            )
        if tuple(t.shape) != tuple(x.shape):
            raise ValueError(
                f"{t_name} holds probabilities, so it must be shaped like {in_name} "
                f"{tuple(x.shape)}; got shape {tuple(t.shape)}"
            )
        t = cast_like(xp, t, x)
        check_in_unit_interval(xp, t, t_name)  # values in [0, 1] are finite
        return _Targets(xp, x, t, rows, None, xp.moveaxis(t, 1, -1).reshape((-1, n_classes)),
                        w, eps, n_classes, None, out_shape)
    if tuple(t.shape) != out_shape:
        raise ValueError(
            f"{t_name} has shape {tuple(t.shape)} but class-index targets for {in_name} of "
            f"shape {tuple(x.shape)} must have shape {out_shape}"
        )
    t = check_class_indices(xp, t, t_name, n_classes, ignore_index)
    return _Targets(xp, x, t, rows, t.reshape((-1,)), None, w, eps, n_classes, ignore_index,
                    out_shape)


def _index_weights(p: _Targets[Any], index: Any) -> tuple[Any, Any, Any]:
    """For index targets: the indices with ignored ones replaced by 0, each row's class weight,
    and 1.0 where the target counts (0.0 where it equals ``ignore_index``)."""
    xp = p.xp
    valid = index != p.ignore_index if p.ignore_index is not None else index >= 0  # all valid
    safe = xp.where(valid, index, 0)
    w_row = p.weight[safe] if p.weight is not None else xp.full_like(p.rows[:, 0], 1.0)
    return safe, w_row, cast_like(xp, valid, p.rows)


def _ce_coefficients(p: _Targets[Any]) -> tuple[Any, Any]:
    """Loss = -sum_c a[m, c] * log_softmax(rows)[m, c]; return (a, denominator of the mean).

    One formula covers index and probability targets, class weights, ignore_index and label
    smoothing, so the value and the gradient are written once.
    """
    xp, w, eps, C = p.xp, p.weight, p.smoothing, p.num_classes
    if p.probabilities is not None:
        a = p.probabilities * (1.0 - eps) + eps / C if eps else p.probabilities
        if w is not None:
            a = a * w
        return a, p.rows.shape[0]
    safe, w_row, valid_f = _index_weights(p, p.index)
    onehot = xp.one_hot(safe, C, p.rows)
    a = (1.0 - eps) * (w_row * valid_f)[:, None] * onehot
    if eps:
        smooth = (w if w is not None else xp.full_like(p.rows[0], 1.0)) * (eps / C)
        a = a + valid_f[:, None] * smooth[None, :]
    # torch normalises the weighted mean by the weights of the targets that count
    return a, xp.sum(w_row * valid_f)


def _safe_mean(xp: Namespace, total: Any, denominator: Any) -> Any:
    """total / denominator, and 0 (with a zero gradient) when nothing counted."""
    if isinstance(denominator, int):
        return total / denominator
    return xp.safe_divide(total, denominator)


def _anything_counts(p: _Targets[Any]) -> bool:
    """Whether the weighted mean of index targets has a non-zero denominator."""
    if p.index is None:
        return True
    _, w_row, valid_f = _index_weights(p, p.index)
    return bool(p.xp.sum(w_row * valid_f) > 0)


def _ce_from_parts(p: _Targets[Any], reduction: str) -> Any:
    xp = p.xp

    def formula() -> Any:
        logp = xp.log_softmax(p.rows, axis=-1)
        a, denominator = _ce_coefficients(p)
        per_row = -xp.sum(a * logp, axis=-1)
        if reduction == "none":
            return per_row.reshape(p.out_shape)
        if reduction == "sum":
            return xp.sum(per_row)
        return _safe_mean(xp, xp.sum(per_row), denominator)

    # torch's kernel computes the same without building the (M, C) coefficients, but where
    # nothing counts its mean is 0 / 0 = NaN: the formula's is 0, with a zero gradient
    return xp.fused("cross_entropy", formula, p.logits, p.target, weight=p.weight,
                    ignore_index=-100 if p.ignore_index is None else p.ignore_index,
                    label_smoothing=p.smoothing, reduction=reduction,
                    when=reduction != "mean" or _anything_counts(p))


def cross_entropy(
    input: ArrayT,
    target: ArrayT,
    *,
    weight: ArrayT | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Softmax cross-entropy between logits and class indices or class probabilities.

    With :math:`\log p_{n,c} = z_{n,c} - \log\sum_k e^{z_{n,k}}` (log-softmax, computed with
    the log-sum-exp trick) and class index targets :math:`y_n`,

    .. math::
        l_n = -w_{y_n} \log p_{n, y_n},
        \qquad \text{mean} = \frac{\sum_n l_n}{\sum_n w_{y_n}}

    over the targets that are not ``ignore_index``. With probability targets :math:`t_{n,c}`,
    :math:`l_n = -\sum_c w_c\, t_{n,c} \log p_{n,c}` and the mean divides by :math:`N`.
    Label smoothing :math:`\varepsilon` mixes the target with the uniform distribution:
    :math:`(1 - \varepsilon)\,\text{target} + \varepsilon / C`, so the true class keeps
    :math:`1 - \varepsilon + \varepsilon / C` and every other class gets
    :math:`\varepsilon / C` (Szegedy et al., 2016; torch and ``optax.smooth_labels`` do the
    same).

    Args:
        input: logits of shape (N, C) or (N, C, d1, ...) (classes on axis 1).
        target: integer class indices of shape (N,) or (N, d1, ...), or probabilities shaped
            like ``input``.
        weight: optional non-negative weight per class, shape (C,).
        ignore_index: an index target equal to it contributes nothing (not even to the mean's
            denominator); ``None``: every target counts. The default, -100, is torch's (and
            Hugging Face's label for padding), so code ported from torch behaves the same.
            Index targets only: with probability targets leave it at -100 (or ``None``).
        label_smoothing: :math:`\varepsilon` in [0, 1].
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape (N, d1, ...)).

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float logits, float targets of the wrong shape taken for indices,
            non-integer ``ignore_index``, NumPy and torch mixed.
        ValueError: class indices outside [0, C), probabilities outside [0, 1], ``weight`` not
            of shape (C,), ``label_smoothing`` outside [0, 1], ``ignore_index`` set with
            probability targets, bad shapes, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.cross_entropy`` in every mode. Where torch returns NaN
        (``'mean'`` when every target is ``ignore_index``), lossbook returns 0 with a zero
        gradient.

        Tensors run the fused kernel ``torch.nn.functional.cross_entropy``, except for that
        ``'mean'`` of nothing, which the formula computes.

    References:
        Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 6.2.2.3;
        Szegedy et al. (2016). Rethinking the Inception architecture for computer vision. CVPR
        (label smoothing); Müller, Kornblith & Hinton (2019). When does label smoothing help?
        NeurIPS.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> logits = np.array([[1000.0, 1001.0, 1002.0]])   # a naive softmax overflows here
        >>> lb.cross_entropy(logits, np.array([2]), reduction="none")
        array([0.40760596])
    """
    check_reduction(reduction)
    parts = _prepare_logits_targets(input, target, weight, ignore_index, label_smoothing)
    return _ce_from_parts(parts, reduction)


@gradient_of(cross_entropy, returns="""\
        An array shaped like ``input`` and of the same kind. For ``'mean'`` it is divided by the
        same denominator as the loss; ignored targets get a zero gradient.""")
def cross_entropy_grad(
    input: ArrayT,
    target: ArrayT,
    *,
    weight: ArrayT | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    For a row with coefficients :math:`a_c` (the one-hot target, smoothed and weighted),
    :math:`\partial l / \partial z_c = p_c \sum_k a_k - a_c`; without weights or smoothing
    that is the familiar :math:`p - \text{onehot}(y)`.

    {gradient sections}

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.cross_entropy_grad(np.array([[0.0, 0.0]]), np.array([1]))
        array([[ 0.5, -0.5]])
    """
    check_reduction(reduction)
    p = _prepare_logits_targets(input, target, weight, ignore_index, label_smoothing)
    xp, logits = p.xp, p.logits
    a, denominator = _ce_coefficients(p)
    grad = xp.softmax(p.rows, axis=-1) * xp.sum(a, axis=-1, keepdims=True) - a
    if reduction == "mean":
        grad = _safe_mean(xp, grad, denominator)
    # back to the input's layout: (M, C) -> (N, d1, ..., C) -> (N, C, d1, ...)
    n, c, *rest = logits.shape
    return xp.moveaxis(grad.reshape((n, *rest, c)), -1, 1)


# ------------------------------------------------------------------------------------- focal
def focal_loss(
    input: ArrayT,
    target: ArrayT,
    *,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> ArrayT:
    r"""Binary (sigmoid) focal loss: cross-entropy scaled down on easy examples.

    With :math:`p_t` the predicted probability of the true class and
    :math:`\alpha_t = \alpha` for positives, :math:`1 - \alpha` for negatives,

    .. math::
        l_n = -\alpha_t\, (1 - p_t)^{\gamma} \log p_t .

    An example the model already gets right with :math:`p_t = 0.9` is down-weighted by
    :math:`0.1^\gamma` (100 times for :math:`\gamma = 2`), so the many easy negatives of a
    detector no longer drown the few hard examples.

    Args:
        input: logits, any shape.
        target: 0/1 labels, same shape as ``input``.
        alpha: weight of the positive class in [0, 1], or ``None`` for no class weighting.
        gamma: focusing parameter :math:`\gamma \ge 0`; ``0`` gives plain cross-entropy.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric knobs, NumPy and torch mixed.
        ValueError: targets other than 0 and 1, ``alpha`` outside [0, 1], ``gamma < 0``,
            bad shapes, empty or non-finite input, unknown ``reduction``.

    Notes:
        The formula of torchvision's ``sigmoid_focal_loss`` (whose default reduction is
        ``'none'``; lossbook's is ``'mean'``). The default :math:`\alpha = 0.25`,
        :math:`\gamma = 2` are the paper's best setting and torchvision's defaults;
        ``optax.sigmoid_focal_loss`` applies no :math:`\alpha` unless given one. :math:`(1 - p_t)^\gamma` is evaluated as
        :math:`\exp(\gamma \log \sigma(\mp z))`, so value and gradient stay finite at large
        logits even for :math:`\gamma < 1`, where the naive power has an infinite derivative.

    References:
        Lin, Goyal, Girshick, He & Dollár (2017). Focal loss for dense object detection. ICCV.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> z, y = np.array([3.0, -3.0]), np.array([1.0, 1.0])   # an easy and a hard positive
        >>> lb.focal_loss(z, y, alpha=None, gamma=2.0, reduction="none")
        array([1.09283324e-04, 2.76628044e+00])
    """
    check_reduction(reduction)
    gamma = check_nonnegative("gamma", gamma)
    if alpha is not None:
        alpha = check_closed_interval("alpha", alpha, 0.0, 1.0)
    xp, x, y = prepare_pair(input, target)
    check_values_in(y, "target", (0.0, 1.0))
    log_p, log_not_p = xp.log_sigmoid(x), xp.log_sigmoid(-x)
    log_pt = y * log_p + (1.0 - y) * log_not_p  # log p_t
    log_1m_pt = y * log_not_p + (1.0 - y) * log_p  # log(1 - p_t), exact for 0/1 labels
    loss = -xp.exp(gamma * log_1m_pt) * log_pt
    if alpha is not None:
        loss = loss * (alpha * y + (1.0 - alpha) * (1.0 - y))
    return reduce(loss, reduction)


def _log_pt_and_log_1m_pt(xp: Namespace, rows: Any, index: Any) -> tuple[Any, Any]:
    """log p_t and log(1 - p_t) of the softmax of each row, both accurate where p_t -> 1.

    1 - p_t is never computed as 1 minus something: it is the other classes' own share, the
    sum of their exponentials. One exp() of the (shifted) rows serves both sums. Where every
    other class underflows (logit gaps beyond about 87 in float32), their log-sum-exp is
    taken instead, which stays exact at any gap.
    """
    shift = xp.detach(xp.amax(rows, axis=-1, keepdims=True))
    e = xp.exp(rows - shift)
    others = xp.sum(xp.fill_at_index(e, index, 0.0), axis=-1)
    if float(xp.detach(xp.amin(others, axis=-1))) >= xp.smallest_accurate(rows):
        log_total = xp.log(xp.sum(e, axis=-1))
        logp_t = xp.take_along_last(rows, index) - shift[:, 0] - log_total
        return logp_t, xp.log(others) - log_total
    lse = xp.logsumexp(rows, axis=-1)
    logp_t = xp.take_along_last(rows, index) - lse
    return logp_t, xp.logsumexp(xp.fill_at_index(rows, index, float("-inf")), axis=-1) - lse


def softmax_focal_loss(
    input: ArrayT,
    target: ArrayT,
    *,
    gamma: float = 2.0,
    alpha: ArrayT | None = None,
    reduction: str = "mean",
) -> ArrayT:
    r"""Multi-class focal loss on softmax probabilities.

    .. math::
        l_n = -\alpha_{y_n} (1 - p_{n,y_n})^{\gamma} \log p_{n,y_n}

    Args:
        input: logits of shape (N, C), C >= 2.
        target: class indices of shape (N,).
        gamma: focusing parameter :math:`\ge 0`; ``gamma=0`` (and no ``alpha``) is
            :func:`cross_entropy`.
        alpha: ``None`` or a non-negative weight per class, shape (C,).
        reduction: ``'mean'`` (default, divides by N even with ``alpha``), ``'sum'`` or
            ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float logits, non-integer targets, NumPy and torch mixed.
        ValueError: indices outside [0, C), ``gamma < 0``, ``alpha`` not of shape (C,), fewer
            than two classes, bad shapes, unknown ``reduction``.

    Notes:
        :math:`\log(1 - p_y)` is computed as the log-sum-exp of the other classes' logits
        minus that of all logits, so it stays finite when :math:`p_y` rounds to 1. There is no
        ``ignore_index``: every target is a class index in [0, C).

    References:
        Lin et al. (2017). Focal loss for dense object detection. ICCV.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> z, y = np.array([[2.0, 0.0, 0.0]]), np.array([0])
        >>> bool(np.isclose(lb.softmax_focal_loss(z, y, gamma=0.0), lb.cross_entropy(z, y)))
        True
    """
    check_reduction(reduction)
    gamma = check_nonnegative("gamma", gamma)
    x = as_array(input, "input")
    if x.ndim != 2:
        raise ValueError(f"input must have shape (N, C); got shape {tuple(x.shape)}")
    if x.shape[1] < 2:
        raise ValueError(f"softmax_focal_loss needs at least 2 classes; got C={x.shape[1]}")
    p = _prepare_logits_targets(input, target, None, None, 0.0)
    if p.index is None:
        raise TypeError("target must hold integer class indices for softmax_focal_loss")
    xp, rows, index = p.xp, p.rows, p.index
    logp_t, log_1m_pt = _log_pt_and_log_1m_pt(xp, rows, index)
    loss = -xp.exp(gamma * log_1m_pt) * logp_t
    if alpha is not None:
        a = prepare_vector(xp, alpha, "alpha", p.num_classes, rows)
        loss = loss * a[index]
    return reduce(loss, reduction)


# ------------------------------------------------------------------------------------- hinge
_HINGE_HINT = " (hinge losses take -1/+1 labels: convert 0/1 labels with 2 * y - 1)"


def _hinge_margins(input: Any, target: Any, margin: Any) -> Any:
    margin = check_nonnegative("margin", margin)
    xp, x, y = prepare_pair(input, target)
    check_values_in(y, "target", (-1.0, 1.0), _HINGE_HINT)
    return xp.maximum(margin - y * x, 0.0)


def hinge(input: ArrayT, target: ArrayT, *, margin: float = 1.0, reduction: str = "mean") -> ArrayT:
    r"""Hinge loss of a linear classifier (the support vector machine's loss).

    .. math::
        l_n = \max(0,\ m - y_n f_n), \qquad y_n \in \{-1, +1\}

    Zero once an example is on the right side of the boundary by at least the margin
    :math:`m`; linear in how far it falls short. Only the examples inside the margin (the
    support vectors) produce a gradient.

    Args:
        input: decision values :math:`f` (scores, not probabilities), any shape.
        target: labels in {-1, +1}, same shape.
        margin: :math:`m \ge 0` (1 by default; 0 gives the perceptron loss).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``; NumPy and torch mixed.
        ValueError: labels other than -1 and +1, ``margin < 0``, bad shapes, unknown
            ``reduction``.

    Notes:
        ``reduction='mean'`` equals ``sklearn.metrics.hinge_loss`` for binary labels.

    References:
        Vapnik, *Statistical Learning Theory* (1998).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.hinge(np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1]), reduction="none")
        array([0. , 0.5, 2. ])
    """
    check_reduction(reduction)
    return reduce(_hinge_margins(input, target, margin), reduction)


def squared_hinge(
    input: ArrayT, target: ArrayT, *, margin: float = 1.0, reduction: str = "mean"
) -> ArrayT:
    r"""Squared hinge loss: :math:`l_n = \max(0,\ m - y_n f_n)^2`, targets in {-1, +1}.

    Smooth at the margin (its gradient is continuous), and harsher than the hinge on badly
    misclassified points; the loss of scikit-learn's ``LinearSVC`` by default.

    Args:
        input: decision values, any shape.
        target: labels in {-1, +1}, same shape.
        margin: :math:`m \ge 0`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``; NumPy and torch mixed.
        ValueError: labels other than -1 and +1, ``margin < 0``, bad shapes, unknown
            ``reduction``.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.squared_hinge(np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1]), reduction="none")
        array([0.  , 0.25, 4.  ])
    """
    check_reduction(reduction)
    h = _hinge_margins(input, target, margin)
    return reduce(h * h, reduction)


def multiclass_hinge(
    input: ArrayT, target: ArrayT, *, margin: float = 1.0, p: int = 1, reduction: str = "mean"
) -> ArrayT:
    r"""Multi-class hinge loss (Weston-Watkins form, as ``torch.nn.functional.multi_margin_loss``).

    .. math::
        l_n = \frac{1}{C} \sum_{c \ne y_n} \max(0,\ m - f_{n,y_n} + f_{n,c})^p

    Every wrong class whose score comes within :math:`m` of the true class's score costs. The
    division by the number of classes :math:`C` is torch's; Weston and Watkins's formulation
    sums the terms without it.

    Args:
        input: scores of shape (N, C).
        target: class indices of shape (N,).
        margin: :math:`m \ge 0`.
        p: 1 or 2 (the power of each term).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float scores, non-integer targets or ``p``, NumPy and torch mixed.
        ValueError: indices outside [0, C), ``p`` not 1 or 2, ``margin < 0``, bad shapes,
            unknown ``reduction``.

    Notes:
        There is no ``ignore_index``: every target is a class index in [0, C). Tensors run
        the fused kernel ``torch.nn.functional.multi_margin_loss`` (the same formula).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.multiclass_hinge(np.array([[3.0, 2.5, 0.0]]), np.array([0]), reduction="none")
        array([0.16666667])
    """
    check_reduction(reduction)
    margin = check_nonnegative("margin", margin)
    p = check_int("p", p)
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2; got {p}")
    x = as_array(input, "input")
    if x.ndim != 2:
        raise ValueError(f"input must have shape (N, C); got shape {tuple(x.shape)}")
    parts = _prepare_logits_targets(input, target, None, None, 0.0)
    if parts.index is None:
        raise TypeError("target must hold integer class indices for multiclass_hinge")
    xp, rows, index, C = parts.xp, parts.rows, parts.index, parts.num_classes

    def formula() -> Any:
        true_score = xp.take_along_last(rows, index)
        terms = xp.maximum(margin - true_score[:, None] + rows, 0.0)
        if p == 2:
            terms = terms * terms
        terms = terms * (1.0 - xp.one_hot(index, C, rows))  # the true class does not count
        return reduce(xp.sum(terms, axis=-1) / C, reduction)

    return xp.fused("multi_margin_loss", formula, parts.logits, parts.target, p=p, margin=margin,
                    reduction=reduction)


# ------------------------------------------------------------------------------ KL divergence
def _check_log_probabilities(xp: Namespace, x: Any, name: str, hint: str, when: str = "") -> None:
    """Finite values <= 0, tested in one pass over the data (its minimum and maximum)."""
    _, hi = finite_range(xp, x, name)
    if hi > 0.0:
        raise ValueError(f"{name} must hold log-probabilities (<= 0){when}; got a value of "
                         f"{hi:g}" + (f". {hint}" if hint else ""))


def kl_div(
    input: ArrayT, target: ArrayT, *, log_target: bool = False, reduction: str = "batchmean"
) -> ArrayT:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(t \,\|\, q)` with torch's conventions.

    ``input`` holds **log**-probabilities :math:`\log q` (the model), ``target`` the
    probabilities :math:`t` (the data), and

    .. math::
        l_{n,c} = t_{n,c} \left(\log t_{n,c} - \log q_{n,c}\right), \qquad 0 \log 0 = 0 .

    Summed over classes this is :math:`H(t, q) - H(t)`: the cross-entropy minus the target's
    own entropy. It is never negative, zero only when :math:`q = t`, and not symmetric.

    Args:
        input: log-probabilities, any shape with the batch on axis 0 (all values <= 0).
        target: probabilities in [0, 1] (or log-probabilities if ``log_target``), same shape.
        log_target: whether ``target`` is given as log-probabilities.
        reduction: ``'batchmean'`` (default: the sum divided by the batch size, the true KL
            per example), ``'sum'``, ``'mean'`` (divides by every element, rarely what you
            want) or ``'none'``.

    Returns:
        The divergence, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-bool ``log_target``; NumPy and torch mixed.
        ValueError: ``input`` with positive values (probabilities passed instead of
            log-probabilities), target outside its range, bad shapes, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.kl_div`` for every reduction. torch's default reduction
        is ``'mean'`` (and warns that it is not the KL divergence); lossbook's default is
        ``'batchmean'``, which is also what ``optax.kl_divergence`` (one value per example)
        gives once averaged over the batch.

        Tensors run the fused kernel ``torch.nn.functional.kl_div`` (for ``'mean'``, its
        ``'sum'`` divided by the number of elements: the same number, without torch's warning).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> t = np.array([[0.5, 0.5, 0.0]])
        >>> q = np.array([[0.25, 0.5, 0.25]])
        >>> float(lb.kl_div(np.log(q), t))   # 0.5 * log(0.5 / 0.25)
        0.34657359027997264
    """
    if reduction not in ("batchmean", "sum", "mean", "none"):
        raise ValueError(
            "reduction must be one of 'batchmean', 'sum', 'mean' or 'none'; "
            f"got {reduction!r}"
        )
    if not isinstance(log_target, bool):
        raise TypeError(f"log_target must be True or False; got {log_target!r}")
    xp, x, t = prepare_pair(input, target, finite=False)  # the range checks below test it
    if x.ndim == 0:
        raise ValueError("input must have a batch axis; got a 0-d array")
    _check_log_probabilities(xp, x, "input", "Did you pass probabilities? Use their log, e.g. "
                                             "a log_softmax of the logits.")
    if log_target:
        _check_log_probabilities(xp, t, "target", "", " when log_target=True")
    else:
        check_in_unit_interval(xp, t, "target")

    def formula() -> Any:
        loss = xp.exp(t) * (t - x) if log_target else xp.xlogy(t, t) - t * x
        if reduction == "batchmean":
            return xp.sum(loss) / x.shape[0]
        return reduce(loss, reduction)

    return xp.fused("kl_div", formula, x, t, reduction=reduction, log_target=log_target)


# --------------------------------------------------------------------------- language models
def _next_token_parts(
    logits: Any, tokens: Any, ignore_index: Any
) -> tuple[_Targets[Any], tuple[int, ...]]:
    x = as_array(logits, "logits")
    t = as_array(tokens, "tokens")
    xp = namespace(logits=x, tokens=t)
    check_floating(xp, x, "logits")
    if x.ndim not in (2, 3):
        raise ValueError(f"logits must have shape (B, T, V) or (T, V); got shape {tuple(x.shape)}")
    if tuple(t.shape) != tuple(x.shape[:-1]):
        raise ValueError(
            f"tokens has shape {tuple(t.shape)} but logits of shape {tuple(x.shape)} need tokens "
            f"of shape {tuple(x.shape[:-1])}"
        )
    if x.shape[-2] < 2:
        raise ValueError(f"a sequence needs at least 2 tokens to predict one; got T={x.shape[-2]}")
    check_nonempty(x, "logits")
    check_finite(xp, x, "logits")  # the last position is never scored, but a NaN there is a bug
    if xp.is_floating(t):
        raise TypeError(f"tokens must hold integer token ids; got dtype {t.dtype}")
    vocab = x.shape[-1]
    # the logits at position t predict the token at position t + 1
    pred = x[..., :-1, :].reshape((-1, vocab))
    nxt = t[..., 1:].reshape((-1,))
    parts = _prepare_logits_targets(pred, nxt, None, ignore_index, 0.0, names=("logits", "tokens"))
    if parts.index is None:
        raise TypeError(f"tokens must hold integer token ids; got dtype {t.dtype}")
    return parts, tuple(t[..., 1:].shape)


def next_token_cross_entropy(
    logits: ArrayT, tokens: ArrayT, *, ignore_index: int | None = -100, reduction: str = "mean"
) -> ArrayT:
    r"""The language-modelling loss: cross-entropy of each next token given the ones before.

    With :math:`z_{b,t}` the logits the model produces at position :math:`t` of sequence
    :math:`b`, the loss scores the token that actually comes next:

    .. math::
        l_{b,t} = -\log \operatorname{softmax}(z_{b,t})_{x_{b,t+1}}, \qquad t = 1, \dots, T-1 .

    Args:
        logits: shape (B, T, V) or (T, V): a distribution over the vocabulary at every position.
        tokens: integer token ids of shape (B, T) or (T,), the sequence the logits were
            computed from.
        ignore_index: next tokens equal to it (padding) are not scored; ``None``: all are.
            The default, -100, is torch's and Hugging Face's label for padding.
        reduction: ``'mean'`` (default, over scored tokens), ``'sum'`` or ``'none'`` (shape
            (B, T-1) or (T-1,)).

    Returns:
        The loss, same kind as ``logits``.

    Raises:
        TypeError: non-float logits, non-integer tokens, NumPy and torch mixed.
        ValueError: shapes that do not match, sequences shorter than 2, token ids outside
            [0, V), unknown ``reduction``.

    Notes:
        The shift is done here: pass the logits and tokens of the same sequence, unshifted.
        The logits at the last position and the first token are never scored.

        Tensors run the fused kernel ``torch.nn.functional.cross_entropy`` on the shifted
        logits (as :func:`cross_entropy` does).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> logits = np.zeros((4, 5))       # a model that knows nothing: uniform over 5 tokens
        >>> float(lb.next_token_cross_entropy(logits, np.array([0, 3, 1, 2])))  # log 5
        1.6094379124341003
    """
    check_reduction(reduction)
    parts, shape = _next_token_parts(logits, tokens, ignore_index)
    out = _ce_from_parts(parts, reduction)
    return out.reshape(shape) if reduction == "none" else out


def perplexity(logits: ArrayT, tokens: ArrayT, *, ignore_index: int | None = -100) -> ArrayT:
    r"""Perplexity: the exponential of the mean next-token cross-entropy (in nats).

    .. math::
        \mathrm{PPL} = \exp\!\Big(\frac{1}{N} \sum_{b,t} l_{b,t}\Big)

    A perplexity of :math:`k` means the model is, on average, as uncertain as if it chose
    uniformly among :math:`k` tokens; a model that knows nothing scores the vocabulary size.

    Args:
        logits: shape (B, T, V) or (T, V).
        tokens: shape (B, T) or (T,).
        ignore_index: tokens not to score, as in :func:`next_token_cross_entropy`.

    Returns:
        A scalar of the kind of ``logits`` (no ``reduction``: perplexity is defined on the
        mean).

    Raises:
        The same errors as :func:`next_token_cross_entropy`.

    Notes:
        Tensors run the fused kernel ``torch.nn.functional.cross_entropy``, as
        :func:`next_token_cross_entropy` does.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> round(float(lb.perplexity(np.zeros((6, 50)), np.arange(6))), 6)
        50.0
    """
    parts, _ = _next_token_parts(logits, tokens, ignore_index)
    return parts.xp.exp(_ce_from_parts(parts, "mean"))  # exp(next_token_cross_entropy)

