"""lossbook.datasets is reproducible and lossbook.plotting draws labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import lossbook as lb
from lossbook import datasets, plotting


def test_line_with_outliers_is_seeded_and_has_the_requested_outliers():
    a = datasets.make_line_with_outliers(80, outlier_fraction=0.25, seed=3)
    b = datasets.make_line_with_outliers(80, outlier_fraction=0.25, seed=3)
    c = datasets.make_line_with_outliers(80, outlier_fraction=0.25, seed=4)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert a.is_outlier.sum() == 20 and np.all(a.x[a.is_outlier] > 0)
    # outliers sit above the line; inliers within a few noise widths of it
    resid = a.y - (a.slope * a.x + a.intercept)
    assert np.all(resid[a.is_outlier] > 5) and np.all(np.abs(resid[~a.is_outlier]) < 3)


def test_heteroscedastic_true_quantiles_have_the_right_coverage():
    x, y = datasets.make_heteroscedastic(20_000, seed=0)
    for q in (0.05, 0.5, 0.95):
        frac = np.mean(y <= datasets.true_quantile_heteroscedastic(x, q))
        assert abs(frac - q) < 0.01


def test_prices_span_orders_of_magnitude():
    d = datasets.make_prices(1000, seed=0)
    assert d.features.shape == (1000, 2) and d.price.shape == (1000,)
    cheap, premium = d.price[d.category == 0], d.price[d.category == 1]
    assert np.median(premium) / np.median(cheap) > 30


def test_two_blobs_balanced():
    x, y = datasets.make_two_blobs(101, seed=0)
    assert x.shape == (101,) and set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize("bad", [1, 0, 2.5, "10"])
def test_dataset_size_is_validated(bad):
    with pytest.raises(ValueError, match=f"n must be an integer >= 2; got {bad!r}"):
        datasets.make_heteroscedastic(bad)


def test_plot_loss_and_grad_draws_one_line_per_loss():
    ax_l, ax_g = plotting.plot_loss_and_grad({"MSE": (lb.mse, lb.mse_grad),
                                               "MAE": (lb.mae, lb.mae_grad)})
    def curves(ax):  # labelled lines only (the zero guides are unlabelled)
        return [line for line in ax.get_lines() if not line.get_label().startswith("_")]

    assert len(curves(ax_l)) == 2 and len(curves(ax_g)) == 2
    assert ax_l.get_title() and ax_l.get_xlabel() and ax_g.get_ylabel()
    # the drawn gradient of MSE is 2r
    r, g = curves(ax_g)[0].get_data()
    np.testing.assert_allclose(g, 2 * r)
    plt.close("all")


def test_plot_helpers_use_the_given_axes():
    fig, ax = plt.subplots()
    data = datasets.make_line_with_outliers(30, seed=0)
    assert plotting.plot_fits(data.x, data.y, {"fit": (2.0, 1.0)}, is_outlier=data.is_outlier,
                              ax=ax) is ax
    assert plotting.plot_descent_1d(lambda w: w**2, [2.0, 1.0, 0.5], ax=ax) is ax
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])
    assert plotting.plot_descent_2d(lambda a, b: a**2 + b**2, {"gd": path}, xlim=(-1, 1),
                                    ylim=(-1, 1), ax=ax) is ax
    x = np.linspace(0, 1, 20)
    assert plotting.plot_interval(x, x, x - 0.1, x + 0.1, ax=ax) is ax
    plt.close("all")


def test_notebook_setup_seeds_and_picks_a_device(capsys):
    from lossbook.notebook import setup

    env = setup(seed=7)
    first = np.random.rand()
    setup(seed=7)
    assert np.random.rand() == first
    assert env.device in ("cpu", "cuda", "mps")
    assert "lossbook 0.1.0" in capsys.readouterr().out
    with pytest.raises(ValueError, match="device must be 'cuda', 'mps' or 'cpu'; got 'tpu'"):
        setup(device="tpu")
