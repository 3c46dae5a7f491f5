"""lossbook.testing: central differences against known derivatives, the gradient check's
messages, and the registry of inputs (shapes, seeds, sizes, and extreme values that stay
finite through the losses that take them)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import lossbook as lb
from lossbook.testing import INPUTS, Inputs, central_difference, check_gradient

# ------------------------------------------------------------------------ central_difference


@pytest.mark.parametrize(("f", "df", "x"), [
    # smooth functions with derivatives known in closed form
    (lambda v: np.sum(np.sin(v)), np.cos, np.array([-2.0, 0.0, 0.3, 1.5])),
    (lambda v: np.sum(np.exp(v)), np.exp, np.array([-1.0, 0.5, 2.0])),
    (lambda v: np.sum(v**3), lambda v: 3 * v**2, np.array([[1.0, -2.0], [0.5, 3.0]])),
    (lambda v: np.sum(np.log1p(v**2)), lambda v: 2 * v / (1 + v**2), np.linspace(-3, 3, 7)),
])
def test_central_difference_matches_known_derivatives(f, df, x):
    grad = central_difference(f, x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    # error: O(eps^2) truncation plus rounding of about 1e-16 / 1e-6 per evaluation
    np.testing.assert_allclose(grad, df(x), rtol=0, atol=1e-8)


def test_central_difference_of_a_quadratic_is_exact_up_to_rounding():
    # for a quadratic the truncation error is zero: only the rounding of f remains
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    x = np.array([0.7, -1.3])
    grad = central_difference(lambda v: 0.5 * v @ a @ v, x)
    np.testing.assert_allclose(grad, a @ x, rtol=0, atol=1e-9)


def test_central_difference_is_the_mean_of_the_one_sided_slopes_at_a_kink():
    grad = central_difference(lambda v: np.sum(np.abs(v)), np.array([0.0, 2.0, -2.0]))
    np.testing.assert_allclose(grad, [0.0, 1.0, -1.0], atol=1e-9)


def test_central_difference_nudges_one_entry_at_a_time_and_leaves_x_alone():
    seen = []
    x = np.array([1.0, 2.0, 3.0])

    def f(v):
        seen.append(v.copy())
        return float(v[1])  # depends on the second entry only

    grad = central_difference(f, x, eps=0.5)
    np.testing.assert_array_equal(grad, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    # two evaluations per entry, each moving exactly one entry by +-eps
    assert len(seen) == 6
    for k, v in enumerate(seen):
        moved = np.flatnonzero(v != x)
        assert moved.tolist() == [k // 2] and abs(v[k // 2] - x[k // 2]) == 0.5


def test_central_difference_accepts_lists_and_functions_returning_arrays_or_tensors():
    torch = pytest.importorskip("torch")
    grad = central_difference(lambda v: torch.tensor(v).pow(2).sum(), [1.0, -1.0])
    np.testing.assert_allclose(grad, [2.0, -2.0], atol=1e-8)
    grad = central_difference(lambda v: np.asarray(np.sum(v)), [[1, 2]])  # ints become floats
    np.testing.assert_allclose(grad, [[1.0, 1.0]], atol=1e-8)


def test_central_difference_checks_a_lossbook_gradient():
    rng = np.random.default_rng(0)
    y_hat, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    numeric = central_difference(lambda p: lb.huber(p, y, delta=0.7), y_hat)
    np.testing.assert_allclose(numeric, lb.huber_grad(y_hat, y, delta=0.7), rtol=1e-6,
                               atol=1e-9)


# ---------------------------------------------------------------------------- check_gradient

def test_check_gradient_passes_a_right_gradient():
    x = np.array([[0.3, -1.2], [2.0, 0.1]])
    check_gradient(lambda v: np.sum(v**2) / 2, x, x, name="input")


def test_check_gradient_names_the_argument_the_entry_and_both_derivatives():
    x = np.array([[0.3, -1.2], [2.0, 0.1]])
    wrong = x.copy()
    wrong[1, 0] = 2.5
    with pytest.raises(AssertionError,
                       match=re.escape("d/d logits at (1, 0): gradient 2.5, central difference 2 "
                                       "(1 of 4 entries disagree)")):
        check_gradient(lambda v: np.sum(v**2) / 2, wrong, x, name="logits")


def test_check_gradient_refuses_a_gradient_of_another_shape():
    x = np.zeros(4)
    with pytest.raises(AssertionError,
                       match=r"with respect to y_pred has shape \(1, 4\) but y_pred has shape \(4,\)"):
        check_gradient(lambda v: np.sum(v), np.ones((1, 4)), x, name="y_pred")


def test_check_gradient_tolerances():
    x = np.array([1.0])
    f = lambda v: float(v[0] ** 2)  # noqa: E731 - derivative 2
    check_gradient(f, [2.0 + 1e-6], x)  # within atol=1e-6 + rtol * 2
    with pytest.raises(AssertionError):
        check_gradient(f, [2.0 + 1e-4], x)
    check_gradient(f, [2.0 + 1e-4], x, atol=1e-3)


# ------------------------------------------------------------------------- the registry

KINDS = sorted(INPUTS)


def test_every_kind_is_documented_in_the_module():
    import lossbook.testing as testing

    source = Path(testing.__file__).read_text()
    documented = set(re.findall(r'^#: - ``"(\w+)"``', source, flags=re.M))
    assert documented == set(INPUTS)
    assert all(isinstance(entry, Inputs) for entry in INPUTS.values())


@pytest.mark.parametrize("kind", KINDS)
def test_makers_are_seeded_and_return_numpy_arrays(kind):
    make = INPUTS[kind].make
    first = make(np.random.default_rng(3))
    again = make(np.random.default_rng(3))
    other = make(np.random.default_rng(4))
    assert isinstance(first, tuple) and first and all(isinstance(a, np.ndarray) for a in first)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
    # the first array is the one a loss differentiates: floating point
    assert np.issubdtype(first[0].dtype, np.floating)
    for a in INPUTS[kind].extreme():
        assert isinstance(a, np.ndarray)


@pytest.mark.parametrize("kind", KINDS)
def test_scale_scales_the_first_array(kind):
    if kind in ("probabilities", "class_probabilities", "binary_probabilities",
                "log_probabilities", "preferences"):
        return  # bounded by construction, or (preferences) a fixed base plus noise of size scale
    small = INPUTS[kind].make(np.random.default_rng(0), 0.01)[0]
    large = INPUTS[kind].make(np.random.default_rng(0), 100.0)[0]
    assert np.abs(large).mean() > 100 * np.abs(small).mean()


def test_sizes_are_keywords_with_small_defaults():
    rng = np.random.default_rng(0)
    x, y = INPUTS["regression"].make(rng, 1.0, shape=(1000,))
    assert x.shape == y.shape == (1000,)
    logits, tokens = INPUTS["token_logits"].make(rng, batch=2, length=7, vocab=11)
    assert logits.shape == (2, 7, 11) and tokens.shape == (2, 7) and tokens.max() < 11
    q, k, neg = INPUTS["two_views_with_negatives"].make(rng, n=5, dim=3, negatives=2)
    assert q.shape == k.shape == (5, 3) and neg.shape == (2, 3)
    ws = INPUTS["parameters"].make(rng, shapes=((2, 2), (3,)))
    assert [w.shape for w in ws] == [(2, 2), (3,)]


def test_binary_labels_follow_the_positive_rate():
    _, labels = INPUTS["binary_logits"].make(np.random.default_rng(0), shape=(20_000,),
                                             positive_rate=0.3)
    assert set(np.unique(labels)) == {0.0, 1.0} and abs(labels.mean() - 0.3) < 0.01


def test_the_constraints_each_kind_promises():
    rng = np.random.default_rng(1)
    p, t = INPUTS["probabilities"].make(rng)
    assert np.all((p > 0) & (p < 1)) and np.all((t >= 0) & (t <= 1))
    _, dist = INPUTS["probability_targets"].make(rng)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    log_q, t = INPUTS["log_probabilities"].make(rng)
    np.testing.assert_allclose(np.exp(log_q).sum(axis=1), 1.0)
    assert t[0, 0] == 0.0
    _, signs = INPUTS["signed_scores"].make(rng, shape=(50,))
    assert set(np.unique(signs)) == {-1.0, 1.0}
    x1, x2, label = INPUTS["pairs"].make(rng)
    np.testing.assert_array_equal(x1[0], x2[0])
    assert label[0] == 1
    _, labels = INPUTS["labelled_embeddings"].make(rng, n=12, classes=4, balanced=True)
    np.testing.assert_array_equal(np.bincount(labels), [3, 3, 3, 3])
    _, graded = INPUTS["graded_lists"].make(rng, queries=5, items=16)
    assert all(sorted(row) == sorted(graded[0]) for row in graded) and graded.max() == 4
    _, distinct = INPUTS["distinct_lists"].make(rng, queries=3, items=6)
    assert all(sorted(row) == list(range(6)) for row in distinct)
    probs, labels = INPUTS["class_probabilities"].make(rng)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert len(INPUTS["preferences"].make(rng)) == 4


@pytest.mark.parametrize(("kind", "loss"), [
    ("regression", lb.huber), ("regression", lb.log_cosh),
    ("probabilities", lb.binary_cross_entropy), ("binary_logits", lb.focal_loss),
    ("soft_logits", lb.binary_cross_entropy_with_logits), ("class_logits", lb.cross_entropy),
    ("spatial_logits", lb.cross_entropy), ("probability_targets", lb.cross_entropy),
    ("signed_scores", lb.hinge), ("log_probabilities", lb.kl_div),
    ("token_logits", lb.next_token_cross_entropy), ("pairs", lb.contrastive_loss),
    ("triplets", lb.triplet_loss), ("labelled_embeddings", lb.batch_triplet_loss),
    ("two_views", lb.info_nce), ("two_views_with_negatives", lb.multiple_negatives_ranking_loss),
    ("lists", lb.listnet_loss), ("graded_lists", lb.ranknet_loss),
    ("distinct_lists", lb.listmle_loss), ("preferences", lb.dpo_loss),
    ("binary_probabilities", lambda p, y: lb.expected_cost(p, y, cost_matrix=np.eye(2))),
    ("class_probabilities", lambda p, y: lb.expected_cost(p, y, cost_matrix=np.ones((3, 3)))),
    ("parameters", lb.l2_penalty),
])
def test_random_and_extreme_inputs_are_valid_for_the_losses_that_take_them(kind, loss):
    for arrays in (INPUTS[kind].make(np.random.default_rng(0)), INPUTS[kind].extreme()):
        assert np.isfinite(loss(*arrays))


# --------------------------------------------------------------- the API pages' signatures
def test_signatures_written_out_in_the_api_pages_are_the_real_ones():
    """book/api/notebook.md and testing.md write some signatures out (torch's and NumPy's
    types cannot be linked in the offline build): they must stay those of the code."""
    import ast
    import importlib
    import inspect

    root = Path(__file__).resolve().parents[2]
    checked = 0
    for page, module in (("notebook", "lossbook.notebook"), ("testing", "lossbook.testing")):
        text = (root / "book" / "api" / f"{page}.md").read_text()
        for name, params in re.findall(r"^\.\. autofunction:: (\w+)\((.*)\)$", text, flags=re.M):
            fn = getattr(importlib.import_module(module), name)
            written = ast.parse(f"def f({params}): pass").body[0].args
            real = inspect.signature(fn).parameters
            names = [a.arg for a in written.posonlyargs + written.args + written.kwonlyargs]
            assert names == list(real), (name, names, list(real))
            defaults = dict(zip([a.arg for a in written.args][::-1], written.defaults[::-1]))
            defaults |= {a.arg: d for a, d in zip(written.kwonlyargs, written.kw_defaults) if d}
            for arg, node in defaults.items():
                assert ast.literal_eval(node) == real[arg].default, (name, arg)
            assert {p for p, v in real.items() if v.default is not inspect.Parameter.empty} \
                == set(defaults), name
            checked += 1
    assert checked >= 4
