r"""Regression losses: how far a real-valued prediction is from a real-valued target.

All functions take ``input`` (the prediction :math:`\hat y`) and ``target`` (:math:`y`) of
the same shape, as NumPy arrays or torch tensors, and work on the residual
:math:`r = \hat y - y`. Each loss has a NumPy-and-torch gradient ``<name>_grad`` that
returns :math:`\partial L / \partial \hat y` for the same reduction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lossbook import _backend as B
from lossbook._backend import Array
from lossbook._reduction import check_reduction, reduce, reduce_grad
from lossbook._validation import (
    check_finite_after,
    check_open_interval,
    check_positive,
    prepare_pair,
)

__all__ = [
    "mse", "mse_grad",
    "mae", "mae_grad",
    "huber", "huber_grad",
    "smooth_l1", "smooth_l1_grad",
    "log_cosh", "log_cosh_grad",
    "quantile", "quantile_grad",
]


def _residual(input: Any, target: Any, reduction: str) -> Array:
    check_reduction(reduction)
    input, target = prepare_pair(input, target)
    return input - target


def _loss(
    input: Any,
    target: Any,
    reduction: str,
    per_element: Callable[[Array], Array],
    fused: str | None = None,
    **knobs: float,
) -> Array:
    """Validate, apply ``per_element`` to the residual, reduce.

    ``per_element`` is the formula the docstring shows, used for NumPy arrays. With tensors a
    loss that has a fused ``torch.nn.functional`` twin computing the same formula (``fused``,
    called with ``knobs``) runs that kernel instead: one pass forward and one backward, where
    the formula written with tensor operators takes several (same value and gradient; the
    tests check both paths against each other and against the reference).
    """
    check_reduction(reduction)
    x, y = prepare_pair(input, target, finite=False)
    if fused is not None and B.is_tensor(x):
        out = getattr(B.functional(), fused)(x, y, reduction=reduction, **knobs)
    else:
        out = reduce(per_element(x - y), reduction)
    # any NaN or inf in input or target makes every one of these losses NaN or inf
    return check_finite_after(out, reduction, input=x, target=y)


# ----------------------------------------------------------------------------------------- MSE
def mse(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Mean squared error (squared L2 loss).

    The unreduced loss is :math:`\ell = \{l_1, \dots, l_N\}` with

    .. math::
        l_n = (\hat y_n - y_n)^2 .

    ``'mean'`` returns :math:`\frac1N \sum_n l_n`, ``'sum'`` returns :math:`\sum_n l_n`.

    Squaring makes large errors count far more than small ones, so a few outliers can
    dominate the fit; in exchange the loss is smooth and its gradient :math:`2r` shrinks as
    the prediction approaches the target. Minimising it estimates the conditional *mean*.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input`` (integer targets are cast to its dtype).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar, or an array shaped like ``input`` when ``reduction='none'``; the same
        kind (NumPy or torch) as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        No ½ factor, matching ``torch.nn.functional.mse_loss``, ``optax.squared_error`` and
        ``sklearn.metrics.mean_squared_error``; many textbooks (and ``optax.l2_loss``) write
        :math:`\frac12 r^2` so that the gradient is exactly :math:`r`.

    References:
        Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 5.5.1.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])))
        1.3333333333333333
    """
    return _loss(input, target, reduction, lambda r: r * r, "mse_loss")


def mse_grad(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`mse` with respect to ``input``: :math:`2 r` per element.

    Args:
        input: as in :func:`mse`.
        target: as in :func:`mse`.
        reduction: as in :func:`mse`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`mse`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.mse_grad(np.array([1.0, 2.0]), np.array([0.0, 0.0]), reduction="sum")
        array([2., 4.])
    """
    r = _residual(input, target, reduction)
    return reduce_grad(2.0 * r, reduction)


# ----------------------------------------------------------------------------------------- MAE
def mae(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Mean absolute error (L1 loss).

    .. math::
        l_n = |\hat y_n - y_n| .

    Every unit of error costs the same, so outliers pull on the fit no harder than any other
    point: the minimiser is the conditional *median*. The gradient is :math:`\pm 1` whatever
    the size of the error, which makes plain gradient descent oscillate near the optimum
    unless the learning rate decays.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        Equals ``torch.nn.functional.l1_loss`` and
        ``sklearn.metrics.mean_absolute_error``. At :math:`r = 0` the gradient used is 0.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> float(lb.mae(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])))
        0.6666666666666666
    """
    return _loss(input, target, reduction, B.abs, "l1_loss")


def mae_grad(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`mae` with respect to ``input``: :math:`\operatorname{sign}(r)`.

    Args:
        input: as in :func:`mae`.
        target: as in :func:`mae`.
        reduction: as in :func:`mae`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`mae`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.mae_grad(np.array([3.0, -1.0, 0.0]), np.zeros(3), reduction="none")
        array([ 1., -1.,  0.])
    """
    r = _residual(input, target, reduction)
    return reduce_grad(B.sign(r), reduction)


# --------------------------------------------------------------------------------------- Huber
def huber(input: Any, target: Any, *, delta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Huber loss: quadratic for small residuals, linear for large ones.

    .. math::
        l_n = \begin{cases}
            \frac12 r_n^2 & |r_n| \le \delta \\
            \delta \left(|r_n| - \frac12 \delta\right) & |r_n| > \delta
        \end{cases}

    The two pieces meet with equal value and slope at :math:`|r| = \delta`, so the loss is
    smooth like MSE near the target and robust like MAE far from it. ``delta`` is in the units
    of the target: residuals beyond it are treated as possible outliers.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        delta: where the quadratic part turns linear; must be > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``delta``, NumPy and torch mixed.
        ValueError: ``delta <= 0``, shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        Equals ``torch.nn.functional.huber_loss(delta=delta)``. Huber and
        :func:`smooth_l1` differ only by scale: ``huber(delta=d) == d * smooth_l1(beta=d)``.

    References:
        Huber, P. J. (1964). Robust estimation of a location parameter. *Annals of
        Mathematical Statistics* 35(1).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.huber(np.array([0.5, 3.0]), np.zeros(2), delta=1.0, reduction="none")
        array([0.125, 2.5  ])
    """
    delta = check_positive("delta", delta)

    def per_element(r: Array) -> Array:
        a = B.abs(r)
        # Branch-free form: m = min(|r|, delta) never squares a huge residual (no overflow).
        m = B.minimum(a, delta)
        return 0.5 * m * m + delta * (a - m)

    return _loss(input, target, reduction, per_element, "huber_loss", delta=delta)


def huber_grad(input: Any, target: Any, *, delta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`huber`: :math:`r` inside :math:`[-\delta, \delta]`, else
    :math:`\delta \operatorname{sign}(r)`, i.e. :math:`r` clipped to :math:`[-\delta, \delta]`.

    Args:
        input: as in :func:`huber`.
        target: as in :func:`huber`.
        delta: as in :func:`huber`.
        reduction: as in :func:`huber`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`huber`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.huber_grad(np.array([0.5, 3.0, -3.0]), np.zeros(3), delta=1.0, reduction="none")
        array([ 0.5,  1. , -1. ])
    """
    delta = check_positive("delta", delta)
    r = _residual(input, target, reduction)
    return reduce_grad(B.sign(r) * B.minimum(B.abs(r), delta), reduction)


# ----------------------------------------------------------------------------------- Smooth L1
def smooth_l1(input: Any, target: Any, *, beta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Smooth L1 loss: Huber rescaled so that the linear part has slope 1.

    .. math::
        l_n = \begin{cases}
            \frac{r_n^2}{2\beta} & |r_n| < \beta \\
            |r_n| - \frac12 \beta & |r_n| \ge \beta
        \end{cases}

    As ``beta`` shrinks the loss tends to MAE; the gradient never exceeds 1 in size, which is
    why Fast R-CNN (Girshick, 2015) introduced it, with :math:`\beta = 1`, for box regression.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        beta: width of the quadratic zone; must be > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``beta``, NumPy and torch mixed.
        ValueError: ``beta <= 0``, shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        Equals ``torch.nn.functional.smooth_l1_loss(beta=beta)``; torch also accepts
        ``beta=0`` (pure L1), lossbook asks for :func:`mae` instead.

    References:
        Girshick, R. (2015). Fast R-CNN. ICCV.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.smooth_l1(np.array([0.5, 3.0]), np.zeros(2), beta=1.0, reduction="none")
        array([0.125, 2.5  ])
    """
    beta = check_positive("beta", beta)

    def per_element(r: Array) -> Array:
        a = B.abs(r)
        m = B.minimum(a, beta)  # same branch-free trick as huber
        return m * m / (2.0 * beta) + (a - m)

    return _loss(input, target, reduction, per_element, "smooth_l1_loss", beta=beta)


def smooth_l1_grad(input: Any, target: Any, *, beta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`smooth_l1`: :math:`r / \beta` clipped to :math:`[-1, 1]`.

    Args:
        input: as in :func:`smooth_l1`.
        target: as in :func:`smooth_l1`.
        beta: as in :func:`smooth_l1`.
        reduction: as in :func:`smooth_l1`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`smooth_l1`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.smooth_l1_grad(np.array([0.5, 3.0]), np.zeros(2), beta=2.0, reduction="none")
        array([0.25, 1.  ])
    """
    beta = check_positive("beta", beta)
    r = _residual(input, target, reduction)
    return reduce_grad(B.sign(r) * B.minimum(B.abs(r) / beta, 1.0), reduction)


# ------------------------------------------------------------------------------------ log-cosh
_LOG2 = math.log(2.0)


def log_cosh(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Log-cosh loss: :math:`\log\cosh(r)`, like :math:`r^2/2` near 0 and :math:`|r| - \log 2`
    far away.

    .. math::
        l_n = \log \cosh(\hat y_n - y_n)
            = |r_n| + \log\!\left(1 + e^{-2|r_n|}\right) - \log 2 .

    A smooth cousin of Huber with :math:`\delta \approx 1` and no knob; it is twice
    differentiable everywhere, which some second-order optimisers (and gradient-boosting
    libraries) need.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, or NumPy and torch arguments mixed.
        ValueError: shapes differ, empty or non-finite input, unknown ``reduction``.

    Notes:
        ``np.log(np.cosh(r))`` overflows to ``inf`` once :math:`|r|` exceeds about 710.48 in
        float64 (89.42 in float32). The right-hand form above only exponentiates :math:`-2|r| \le 0`, so it is
        finite for every finite residual.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.log_cosh(np.array([0.0, 1e4]), np.zeros(2), reduction="none")
        array([   0.        , 9999.30685282])
    """

    def per_element(r: Array) -> Array:
        a = B.abs(r)
        # log(cosh r) = |r| + log1p(exp(-2|r|)) - log 2: exp of a non-positive number never
        # overflows.
        return a + B.log1p(B.exp(-2.0 * a)) - _LOG2

    return _loss(input, target, reduction, per_element)


def log_cosh_grad(input: Any, target: Any, *, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`log_cosh`: :math:`\tanh(r)`, bounded by 1 like MAE's.

    Args:
        input: as in :func:`log_cosh`.
        target: as in :func:`log_cosh`.
        reduction: as in :func:`log_cosh`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`log_cosh`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.log_cosh_grad(np.array([0.0, 1e4]), np.zeros(2), reduction="none")
        array([0., 1.])
    """
    r = _residual(input, target, reduction)
    return reduce_grad(B.tanh(r), reduction)


# ------------------------------------------------------------------------------------ quantile
def quantile(input: Any, target: Any, *, q: float = 0.5, reduction: str = "mean") -> Array:
    r"""Quantile (pinball) loss: fits the ``q``-th conditional quantile instead of the mean.

    With :math:`u_n = y_n - \hat y_n` (target minus prediction),

    .. math::
        l_n = \max\left(q\, u_n,\; (q - 1)\, u_n\right)
            = \begin{cases} q\, u_n & u_n \ge 0 \\ (1 - q)(-u_n) & u_n < 0 \end{cases}

    Under-predictions cost :math:`q` per unit and over-predictions :math:`1 - q`, so the
    minimiser is the value below which a fraction :math:`q` of the targets fall. Two models
    trained with :math:`q = 0.05` and :math:`q = 0.95` give a 90% prediction interval;
    ``q = 0.5`` is half the MAE.

    Args:
        input: predictions, any shape.
        target: targets, same shape as ``input``.
        q: the quantile, strictly between 0 and 1.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        The loss, same kind as ``input``.

    Raises:
        TypeError: non-float ``input``, non-numeric ``q``, NumPy and torch mixed.
        ValueError: ``q`` outside (0, 1), shapes differ, empty or non-finite input, unknown
            ``reduction``.

    Notes:
        ``reduction='mean'`` equals ``sklearn.metrics.mean_pinball_loss(target, input,
        alpha=q)``. At :math:`u = 0` the gradient used is :math:`-q`.

    References:
        Koenker, R. & Bassett, G. (1978). Regression quantiles. *Econometrica* 46(1).

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> # target 10: predicting 8 (too low) costs 0.9 * 2, predicting 12 costs 0.1 * 2
        >>> lb.quantile(np.array([8.0, 12.0]), np.array([10.0, 10.0]), q=0.9, reduction="none")
        array([1.8, 0.2])
    """
    q = check_open_interval("q", q, 0.0, 1.0)
    # r = prediction - target = -u
    return _loss(input, target, reduction, lambda r: B.where(r > 0, (1.0 - q) * r, -q * r))


def quantile_grad(input: Any, target: Any, *, q: float = 0.5, reduction: str = "mean") -> Array:
    r"""Gradient of :func:`quantile` with respect to ``input``: :math:`1 - q` where the
    prediction is too high, :math:`-q` elsewhere.

    Args:
        input: as in :func:`quantile`.
        target: as in :func:`quantile`.
        q: as in :func:`quantile`.
        reduction: as in :func:`quantile`.

    Returns:
        :math:`\partial L / \partial \hat y`, shaped like ``input`` and of the same kind:
        divided by the number of elements for ``'mean'``, per element for ``'sum'`` and
        ``'none'`` (where it is the derivative of each element's own loss).

    Raises:
        The same errors as :func:`quantile`.

    Example:
        >>> import numpy as np
        >>> import lossbook as lb
        >>> lb.quantile_grad(np.array([8.0, 12.0]), np.array([10.0, 10.0]), q=0.9, reduction="none")
        array([-0.9,  0.1])
    """
    q = check_open_interval("q", q, 0.0, 1.0)
    r = _residual(input, target, reduction)
    return reduce_grad(B.where(r > 0, B.full_like(r, 1.0 - q), B.full_like(r, -q)), reduction)
