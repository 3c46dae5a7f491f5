"""The fast paths behind lossbook's torch speed (the timings themselves live in ``make bench``).

With tensors, a loss that has an exact fused ``torch.nn.functional`` twin hands the work to it,
and finiteness is checked with one sum. These tests pin both down structurally: the autograd
graph lossbook builds is the twin's graph, and the cheap finiteness test agrees with the exact
one on every kind of non-finite or overflowing input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossbook as lb
from lossbook._backend import NUMPY, torch_namespace


def _graph(out: torch.Tensor) -> list[str]:
    """The names of the autograd nodes behind ``out``, in depth-first order."""
    names, stack, seen = [], [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(n for n, _ in node.next_functions)
    return names


G = torch.Generator().manual_seed(0)
X = torch.randn(64, 10, generator=G)
Y = torch.randn(64, 10, generator=G)
P = torch.rand(64, 10, generator=G).clamp(0.01, 0.99)
B01 = (torch.rand(64, 10, generator=G) < 0.5).float()
C = torch.randint(0, 10, (64,), generator=G)
LOGP = torch.log_softmax(torch.randn(64, 10, generator=G), 1)
Q = torch.softmax(torch.randn(64, 10, generator=G), 1)
SEQ = torch.randn(4, 9, 10, generator=G)
TOK = torch.randint(0, 10, (4, 9), generator=G)

TWINS = {
    "mse": (lambda x: lb.mse(x, Y), lambda x: F.mse_loss(x, Y), X),
    "mae": (lambda x: lb.mae(x, Y), lambda x: F.l1_loss(x, Y), X),
    "huber": (lambda x: lb.huber(x, Y, delta=0.5), lambda x: F.huber_loss(x, Y, delta=0.5), X),
    "smooth_l1": (lambda x: lb.smooth_l1(x, Y, beta=0.5),
                  lambda x: F.smooth_l1_loss(x, Y, beta=0.5), X),
    "binary_cross_entropy": (lambda x: lb.binary_cross_entropy(x, B01),
                             lambda x: F.binary_cross_entropy(x, B01), P),
    "binary_cross_entropy_with_logits": (
        lambda x: lb.binary_cross_entropy_with_logits(x, B01, pos_weight=2.0),
        lambda x: F.binary_cross_entropy_with_logits(x, B01, pos_weight=torch.tensor([2.0])), X),
    "cross_entropy": (lambda x: lb.cross_entropy(x, C, label_smoothing=0.1),
                      lambda x: F.cross_entropy(x, C, label_smoothing=0.1), X),
    "cross_entropy[probabilities]": (lambda x: lb.cross_entropy(x, Q),
                                     lambda x: F.cross_entropy(x, Q), X),
    "multiclass_hinge": (lambda x: lb.multiclass_hinge(x, C), lambda x: F.multi_margin_loss(x, C),
                         X),
    "kl_div": (lambda x: lb.kl_div(x, Q), lambda x: F.kl_div(x, Q, reduction="batchmean"), LOGP),
    "next_token_cross_entropy": (
        lambda x: lb.next_token_cross_entropy(x, TOK),
        lambda x: F.cross_entropy(x[:, :-1].reshape(-1, 10), TOK[:, 1:].reshape(-1)), SEQ),
}


@pytest.mark.parametrize("name", list(TWINS))
def test_tensors_take_the_fused_twins_graph(name):
    ours, twin, x0 = TWINS[name]
    x1, x2 = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    a, b = ours(x1), twin(x2)
    assert _graph(a) == _graph(b)  # the same kernels, forward and backward
    a.backward()
    b.backward()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=0, atol=0)


def test_cross_entropy_with_nothing_counted_is_zero_not_nan_on_the_fused_path():
    x = X.clone().requires_grad_()
    out = lb.cross_entropy(x, torch.full((64,), -100))
    out.backward()
    assert float(out.detach()) == 0.0 and torch.count_nonzero(x.grad) == 0
    w = torch.zeros(10)  # every target weighs 0: torch's own mean is 0/0
    assert float(lb.cross_entropy(X, C, weight=w)) == 0.0
    assert torch.isnan(F.cross_entropy(X, C, weight=w))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_one_sum_finiteness_test_agrees_with_the_exact_one(kind, dtype):
    big = float(np.finfo(dtype).max) / 2
    cases = {
        "ordinary": [1.0, -2.0, 3.5],
        "nan": [1.0, float("nan"), 2.0],
        "inf": [1.0, float("inf")],
        "-inf": [float("-inf"), 1.0],
        "inf and -inf": [float("inf"), float("-inf")],  # the sum is NaN, not a cancellation
        "finite but the sum overflows": [big, big, big, big],
    }
    for label, values in cases.items():
        a = np.array(values, dtype=dtype)
        x = torch.from_numpy(a) if kind == "torch" else a
        xp = torch_namespace() if kind == "torch" else NUMPY
        assert xp.all_finite(x) == bool(np.isfinite(a).all()), label


def test_integer_arrays_are_finite():
    assert NUMPY.all_finite(np.arange(5)) and torch_namespace().all_finite(torch.arange(5))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", [lb.mse, lb.mae, lb.huber, lb.smooth_l1, lb.log_cosh, lb.quantile])
def test_regression_losses_still_name_the_non_finite_argument(loss, reduction):
    # the finiteness of a reduced loss stands in for its inputs' (one scalar test); a NaN or
    # inf anywhere must still be caught and named
    for kind in (np.asarray, torch.as_tensor):
        bad = np.array([1.0, np.inf, 2.0])
        with pytest.raises(ValueError, match="^input contains NaN or inf"):
            loss(kind(bad), kind(np.zeros(3)), reduction=reduction)
        with pytest.raises(ValueError, match="^target contains NaN or inf"):
            loss(kind(np.zeros(3)), kind(np.array([np.nan, 0.0, 0.0])), reduction=reduction)


def test_an_overflowing_loss_of_finite_input_is_returned_not_refused():
    x = torch.tensor([3e38], dtype=torch.float32)
    assert torch.isinf(lb.mse(x, -x))  # (6e38)^2 overflows float32; the inputs are finite


@pytest.mark.parametrize("layout", ["spread", "duplicates", "tight cluster"])
def test_pairwise_distances_are_exact_where_the_gram_form_cancels(layout):
    pairwise_distances = torch_namespace().pairwise_distances

    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 16, generator=g, dtype=torch.float64) * 10
    if layout == "duplicates":
        x[5], x[17] = x[3], x[3]
    if layout == "tight cluster":  # every pair is close next to the norms: the all-exact branch
        x = 1e3 + 1e-6 * x
    x.requires_grad_()
    d = pairwise_distances(x)
    exact = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).sqrt()
    torch.testing.assert_close(d, exact, rtol=1e-9, atol=1e-12)
    assert torch.all(d.diagonal() == 0)
    w = torch.randn(40, 40, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad((d * w).sum(), x)
    assert torch.isfinite(grad).all()
    if layout == "duplicates":  # identical rows: distance exactly 0, and no NaN gradient
        assert d[3, 5] == 0 and d[5, 17] == 0


@pytest.mark.parametrize("spread", [1.0, 1e3], ids=["cumsum path", "logcumsumexp path"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reverse_logcumsumexp_takes_the_fast_path_only_where_it_is_exact(spread, dtype):
    reverse_logcumsumexp = torch_namespace().reverse_logcumsumexp

    g = torch.Generator().manual_seed(2)
    x0 = (torch.randn(8, 30, generator=g, dtype=torch.float64) * spread).to(dtype)
    x0[0, -5:] = -1e30  # padding: exp() is 0 there, so this batch always falls back
    for x_in in (x0[1:], x0):  # without padding, then with
        x1, x2 = x_in.clone().requires_grad_(), x_in.clone().requires_grad_()
        ours = reverse_logcumsumexp(x1)
        ref = torch.logcumsumexp(x2.flip(-1), dim=-1).flip(-1)
        tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
        torch.testing.assert_close(ours, ref, **tol)
        w = torch.randn(x_in.shape, generator=g, dtype=torch.float64).to(dtype)
        (g1,) = torch.autograd.grad((ours * w).sum(), x1)
        (g2,) = torch.autograd.grad((ref * w).sum(), x2)
        torch.testing.assert_close(g1, g2, **tol)
        assert torch.isfinite(ours).all() and torch.isfinite(g1).all()


@pytest.mark.parametrize("gap", [0.5, 30.0, 80.0, 1e4], ids=lambda g: f"gap={g:g}")
def test_softmax_focal_log_one_minus_pt_is_exact_as_pt_rounds_to_one(gap):
    # p_t = 1 / (1 + 3 exp(-gap)): in float32, 1 - p_t is 0 for every gap above about 17, yet
    # log(1 - p_t) = log 3 - gap - log(1 + 3 exp(-gap)) is a perfectly ordinary number
    from lossbook.classification import _log_pt_and_log_1m_pt

    rows = torch.tensor([[gap, 0.0, 0.0, 0.0]], dtype=torch.float32, requires_grad=True)
    logp_t, log_1m = _log_pt_and_log_1m_pt(torch_namespace(), rows, torch.tensor([0]))
    expected = np.log(3.0) - gap - np.log1p(3.0 * np.exp(-gap))
    assert float(log_1m.detach()) == pytest.approx(expected, rel=1e-6)
    assert float(logp_t.detach()) == pytest.approx(-np.log1p(3.0 * np.exp(-gap)), abs=1e-6)
    (g,) = torch.autograd.grad(log_1m.sum() + logp_t.sum(), rows)
    assert torch.isfinite(g).all()
