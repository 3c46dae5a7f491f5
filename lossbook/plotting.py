"""Matplotlib helpers shared by the chapters and the exercises.

Each helper draws on the axes it is given (or on a new figure when ``ax=None``), labels
everything, returns the axes and never calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "plot_loss_and_grad",
    "plot_descent_1d",
    "plot_descent_2d",
    "plot_fits",
    "plot_interval",
]


def _axes(ax: Any = None, ncols: int = 1, figsize: tuple[float, float] | None = None) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(1, ncols, figsize=figsize or (4.5 * ncols, 3.5), layout="constrained")
    return ax


def plot_loss_and_grad(
    losses: Mapping[str, tuple[Callable[..., Any], Callable[..., Any]]],
    residual: np.ndarray | None = None,
    axes: Sequence[Any] | None = None,
) -> Sequence[Any]:
    """Plot each loss and its derivative against the residual :math:`r = \\hat y - y`.

    Args:
        losses: ``{label: (loss_fn, grad_fn)}``; both are called as
            ``fn(r, zeros, reduction="none")`` (use ``functools.partial`` for knobs).
        residual: the residuals to evaluate; default 401 points in [-3, 3].
        axes: two matplotlib axes (loss, gradient); new ones when ``None``.

    Returns:
        The two axes.
    """
    r = np.linspace(-3.0, 3.0, 401) if residual is None else np.asarray(residual, dtype=float)
    ax_loss, ax_grad = _axes(axes, ncols=2)
    zeros = np.zeros_like(r)
    for label, (loss_fn, grad_fn) in losses.items():
        ax_loss.plot(r, loss_fn(r, zeros, reduction="none"), label=label)
        ax_grad.plot(r, grad_fn(r, zeros, reduction="none"), label=label)
    ax_loss.set(title="Loss per example", xlabel="residual  $r = \\hat y - y$", ylabel="loss")
    ax_grad.set(title="Its derivative", xlabel="residual  $r = \\hat y - y$",
                ylabel="$\\partial \\ell / \\partial \\hat y$")
    for ax in (ax_loss, ax_grad):
        ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
        ax.axvline(0.0, color="0.8", lw=0.8, zorder=0)
        ax.legend(fontsize="small")
    return ax_loss, ax_grad


def plot_descent_1d(
    f: Callable[[np.ndarray], np.ndarray],
    path: Sequence[float],
    *,
    xlim: tuple[float, float] | None = None,
    ax: Any = None,
    title: str = "Gradient descent on a 1-D loss",
    xlabel: str = "parameter $w$",
) -> Any:
    """Draw the curve ``f`` and the successive iterates ``path`` of gradient descent on it."""
    ax = _axes(ax)
    steps = np.asarray(path, dtype=float)
    lo, hi = xlim or (min(steps.min(), -1.0) - 0.5, max(steps.max(), 1.0) + 0.5)
    w = np.linspace(lo, hi, 400)
    ax.plot(w, f(w), color="C0", label="loss $L(w)$")
    ax.plot(steps, f(steps), "o-", color="C3", ms=4, lw=1, label="iterates")
    ax.plot(steps[:1], f(steps[:1]), "s", color="k", ms=6, label="start")
    ax.set(title=title, xlabel=xlabel, ylabel="loss")
    ax.legend(fontsize="small")
    return ax


def plot_descent_2d(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    paths: Mapping[str, np.ndarray],
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    ax: Any = None,
    title: str = "Gradient descent on a 2-D loss surface",
    labels: tuple[str, str] = ("$w_1$", "$w_2$"),
    legend_loc: str = "best",
) -> Any:
    """Contour plot of ``f(w1, w2)`` with one or more descent paths (arrays of shape (k, 2))."""
    ax = _axes(ax, figsize=(5.0, 4.0))
    g1, g2 = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    z = f(g1, g2)
    levels = np.quantile(z, np.linspace(0.0, 1.0, 25) ** 2)
    ax.contour(g1, g2, z, levels=np.unique(levels), cmap="viridis", linewidths=0.8)
    for i, (label, path) in enumerate(paths.items()):
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], ".-", color=f"C{i + 1}", ms=3, lw=1, label=label)
        ax.plot(path[0, 0], path[0, 1], "ks", ms=5, label="start" if i == 0 else None)
    ax.set(title=title, xlabel=labels[0], ylabel=labels[1], xlim=xlim, ylim=ylim)
    ax.legend(fontsize="small", loc=legend_loc)
    return ax


def plot_fits(
    x: np.ndarray,
    y: np.ndarray,
    lines: Mapping[str, tuple[float, float]],
    *,
    is_outlier: np.ndarray | None = None,
    true_line: tuple[float, float] | None = None,
    ax: Any = None,
    title: str = "Straight-line fits",
) -> Any:
    """Scatter ``(x, y)`` and draw fitted lines given as ``{label: (slope, intercept)}``."""
    ax = _axes(ax, figsize=(5.5, 4.0))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    inlier = np.ones_like(x, dtype=bool) if is_outlier is None else ~np.asarray(is_outlier)
    ax.scatter(x[inlier], y[inlier], s=12, color="0.55", label="data")
    if is_outlier is not None and (~inlier).any():
        ax.scatter(x[~inlier], y[~inlier], s=22, marker="x", color="k", label="outliers")
    grid = np.linspace(x.min(), x.max(), 2)
    if true_line is not None:
        ax.plot(grid, true_line[0] * grid + true_line[1], "k--", lw=1, label="true line")
    for i, (label, (slope, intercept)) in enumerate(lines.items()):
        ax.plot(grid, slope * grid + intercept, color=f"C{i}", lw=2, label=label)
    ax.set(title=title, xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize="small")
    return ax


def plot_interval(
    x: np.ndarray,
    y: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    middle: np.ndarray | None = None,
    ax: Any = None,
    title: str = "Prediction interval",
) -> Any:
    """Scatter ``(x, y)`` with a shaded band between ``lower`` and ``upper`` (sorted by x)."""
    ax = _axes(ax, figsize=(5.5, 4.0))
    order = np.argsort(x)
    xs = np.asarray(x)[order]
    inside = (y >= lower) & (y <= upper)
    ax.scatter(x[inside], y[inside], s=8, color="0.55", label="inside")
    ax.scatter(x[~inside], y[~inside], s=10, color="C3", label="outside")
    ax.fill_between(xs, np.asarray(lower)[order], np.asarray(upper)[order], alpha=0.25,
                    color="C0", label="interval")
    if middle is not None:
        ax.plot(xs, np.asarray(middle)[order], color="C0", lw=2, label="median")
    ax.set(title=title, xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize="small")
    return ax
