"""Every validation error has a test: the message names the argument and shows what arrived."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import lossbook as lb
from registry import REGRESSION

GOOD = np.array([0.5, 1.5, -2.0])
TARGET = np.array([0.0, 1.0, -1.0])
ALL = [pytest.param(c.fn, id=c.name) for c in REGRESSION]


@pytest.mark.parametrize("fn", ALL)
def test_shape_mismatch_is_an_error_not_a_broadcast(fn):
    with pytest.raises(ValueError, match=r"target has shape \(3, 1\) but input has shape \(3,\)"):
        fn(GOOD, TARGET.reshape(3, 1))


@pytest.mark.parametrize("fn", ALL)
def test_empty_input(fn):
    with pytest.raises(ValueError, match=r"input is empty \(shape \(0,\)\)"):
        fn(np.array([]), np.array([]))


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(fn, bad):
    with pytest.raises(ValueError, match="input contains NaN or inf"):
        fn(np.array([0.0, bad]), np.zeros(2))


@pytest.mark.parametrize("fn", ALL)
def test_non_finite_target(fn):
    with pytest.raises(ValueError, match="target contains NaN or inf"):
        fn(torch.zeros(2), torch.tensor([0.0, float("nan")]))


@pytest.mark.parametrize("fn", ALL)
def test_integer_input_is_rejected(fn):
    with pytest.raises(TypeError, match="input must have a floating-point dtype .* got int64"):
        fn(np.array([1, 2, 3]), TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_integer_target_is_cast(fn):
    np.testing.assert_allclose(fn(GOOD, np.array([0, 1, -1])), fn(GOOD, TARGET))


@pytest.mark.parametrize("fn", ALL)
def test_unknown_reduction(fn):
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum' or 'none'; got 'avg'"):
        fn(GOOD, TARGET, reduction="avg")


@pytest.mark.parametrize("fn", ALL)
def test_mixing_numpy_and_torch(fn):
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors: input is a torch.Tensor but target is a numpy.ndarray"):
        fn(torch.from_numpy(GOOD), TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_not_an_array(fn):
    with pytest.raises(TypeError, match="input must be a NumPy array or a torch tensor; got str"):
        fn("1.0", TARGET)


@pytest.mark.parametrize("fn", ALL)
def test_tensors_on_different_devices(fn):
    with pytest.raises(ValueError, match="target is on device meta but input is on cpu"):
        fn(torch.zeros(3), torch.zeros(3, device="meta"))


def test_python_lists_are_accepted():
    assert float(lb.mse([1.0, 2.0], [1.0, 4.0])) == 2.0


def test_ragged_list():
    with pytest.raises(TypeError, match="input could not be converted to an array"):
        lb.mse([[1.0], [1.0, 2.0]], [1.0, 2.0])


@pytest.mark.parametrize("fn, knob", [(lb.huber, "delta"), (lb.smooth_l1, "beta"),
                                      (lb.huber_grad, "delta"), (lb.smooth_l1_grad, "beta")])
@pytest.mark.parametrize("value", [0.0, -1.0, float("inf")])
def test_knob_must_be_positive(fn, knob, value):
    with pytest.raises(ValueError, match=rf"{knob} must be a finite number > 0; got {value!r}"):
        fn(GOOD, TARGET, **{knob: value})


@pytest.mark.parametrize("fn, knob", [(lb.huber, "delta"), (lb.quantile, "q")])
@pytest.mark.parametrize("value", ["1", None, True])
def test_knob_must_be_a_number(fn, knob, value):
    with pytest.raises(TypeError, match=rf"{knob} must be a real number; got {value!r}"):
        fn(GOOD, TARGET, **{knob: value})


def test_knob_nan():
    with pytest.raises(ValueError, match="q must be a number; got nan"):
        lb.quantile(GOOD, TARGET, q=float("nan"))


@pytest.mark.parametrize("fn", [lb.quantile, lb.quantile_grad])
@pytest.mark.parametrize("q", [0.0, 1.0, 1.5, -0.1])
def test_quantile_outside_unit_interval(fn, q):
    with pytest.raises(ValueError, match=rf"q must lie strictly between 0.0 and 1.0; got {q!r}"):
        fn(GOOD, TARGET, q=q)


def test_gradient_functions_validate_too():
    with pytest.raises(ValueError, match="target has shape"):
        lb.mse_grad(GOOD, TARGET[:2])
    with pytest.raises(ValueError, match="reduction must be one of"):
        lb.log_cosh_grad(GOOD, TARGET, reduction="max")


def test_import_lossbook_does_not_import_torch():
    code = "import sys, lossbook, lossbook.datasets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_api_is_exported():
    for name in lb.__all__:
        assert hasattr(lb, name), name
    for case in REGRESSION:
        assert case.name in lb.__all__ and f"{case.name}_grad" in lb.__all__


def test_every_public_loss_is_in_the_registry():
    """A new loss must join the generic tests: add it to tests/lossbook/registry.py."""
    from registry import ALL_LOSSES

    covered = ({c.public or c.fn for c in ALL_LOSSES} | {c.grad for c in ALL_LOSSES if c.grad})
    # perplexity is exp(next_token_cross_entropy), tested in test_classification.py
    # metrics have no gradient; they are tested in test_ranking.py
    not_losses = {"datasets", "reduce", "perplexity", "dcg", "ndcg", "mrr", "recall_at_k",
                  # decision rules and combinators, tested in test_business.py
                  "best_threshold", "CompositeLoss", "composite_loss"}
    missing = [n for n in lb.__all__ if n not in not_losses and getattr(lb, n) not in covered]
    assert not missing, f"not in tests/lossbook/registry.py: {missing}"


# ------------------------------------------------------------------------------------------
# The same checks over every public function of the registry (tests/lossbook/registry.py), each with
# its own valid inputs: a function without a clear error for bad input fails here.
# ------------------------------------------------------------------------------------------
import inspect
import math
from dataclasses import dataclass as _dataclass

from registry import ALL_LOSSES


@_dataclass(frozen=True)
class Entry:
    """One public function, its valid array arguments (by name) and its base knobs."""

    name: str
    fn: object
    make: object
    knobs: dict
    has_reduction: bool = True
    # array arguments whose number of rows is free (hard negatives shared by every anchor)
    free_rows: tuple = ()

    def arrays(self):
        return self.make(np.random.default_rng(0), 2.0)

    def names(self):
        params = list(inspect.signature(self.fn).parameters)
        return params[: len(self.arrays())]

    def call(self, *arrays, **knobs):
        return self.fn(*arrays, **{**self.knobs, **knobs})

    def __str__(self):
        return self.name


def _entries():
    out, seen = [], set()
    for case in ALL_LOSSES:
        public = case.public or case.fn
        base = dict(case.knob_settings[0])
        has_reduction = "reduction" in inspect.signature(public).parameters
        free = ("negatives",) if "hard negatives" in case.name else ()
        out.append(Entry(case.name, public, case.make, base, has_reduction, free))
        if case.grad is not None and case.grad not in seen:
            seen.add(case.grad)
            out.append(Entry(f"{case.name}_grad", case.grad, case.make, base, has_reduction))
    # the metrics and perplexity, with inputs of their own
    from registry import _lists, _sequences

    for fn, knobs in ((lb.dcg, {}), (lb.ndcg, {}), (lb.mrr, {}), (lb.recall_at_k, {"k": 2})):
        out.append(Entry(fn.__name__, fn, _lists, knobs))
    out.append(Entry("perplexity", lb.perplexity, _sequences, {}, has_reduction=False))
    return out


ENTRIES = _entries()
E = [pytest.param(e, id=e.name) for e in ENTRIES]
E_ARG = [pytest.param(e, i, id=f"{e.name}-{n}") for e in ENTRIES for i, n in enumerate(e.names())]
E_MULTI = [p for p in E if len(p.values[0].names()) > 1]
E_RED = [p for p in E if p.values[0].has_reduction]


def _torch_knobs(entry, device="cpu"):
    """The entry's array knobs (a cost matrix) as tensors, to go with tensor arguments."""
    return {k: torch.from_numpy(v).to(device) for k, v in entry.knobs.items()
            if isinstance(v, np.ndarray)}


def _error_names(err: BaseException, name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", str(err)), (
        f"the error does not name the argument {name!r}: {type(err).__name__}: {err}")


def _replace(arrays, i, value):
    arrays = list(arrays)
    arrays[i] = value
    return arrays


def test_every_public_function_is_covered():
    covered = {e.fn for e in ENTRIES}
    # combinators and decision rules: their own tests in test_business.py
    not_here = {"datasets", "reduce", "best_threshold", "CompositeLoss", "composite_loss"}
    missing = [n for n in lb.__all__ if n not in not_here and getattr(lb, n) not in covered]
    assert not missing, missing


@pytest.mark.parametrize("entry", E)
def test_valid_inputs_give_a_finite_value(entry):
    out = entry.call(*entry.arrays())
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("entry, i", E_ARG)
@pytest.mark.parametrize("bad", ["1.0", None, {"a": 1}])
def test_argument_that_is_not_an_array(entry, i, bad):
    if bad is None and entry.names()[i] in entry.free_rows:
        return  # negatives=None means "no hard negatives"
    name = entry.names()[i]
    with pytest.raises(TypeError) as err:
        entry.call(*_replace(entry.arrays(), i, bad))
    _error_names(err.value, name)


@pytest.mark.parametrize("entry, i", E_ARG)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_non_finite_values(entry, i, bad, kind):
    arrays = entry.arrays()
    name = entry.names()[i]
    x = np.array(arrays[i], dtype=np.float64)
    x.reshape(-1)[-1] = bad
    arrays = _replace(arrays, i, x)
    knobs = {}
    if kind == "torch":
        arrays = [torch.from_numpy(np.asarray(a)) for a in arrays]
        knobs = _torch_knobs(entry)
    with pytest.raises((ValueError, TypeError)) as err:
        entry.call(*arrays, **knobs)
    _error_names(err.value, name)
    if np.issubdtype(entry.arrays()[i].dtype, np.floating):  # a float argument: say why
        assert err.type is ValueError and "NaN or inf" in str(err.value), err.value


@pytest.mark.parametrize("entry", E)
def test_integer_first_argument_is_rejected(entry):
    arrays = entry.arrays()
    name = entry.names()[0]
    with pytest.raises(TypeError, match=rf"{name} must have a floating-point dtype .* got int64"):
        entry.call(*_replace(arrays, 0, np.round(arrays[0]).astype(np.int64)))


@pytest.mark.parametrize("entry", E)
def test_empty_arguments(entry):
    arrays = [a[:0] for a in entry.arrays()]
    with pytest.raises(ValueError, match=r"is empty \(shape \(0|holds no elements \(shapes \(0"):
        entry.call(*arrays)


@pytest.mark.parametrize("entry, i", [p for p in E_ARG if len(p.values[0].names()) > 1])
def test_extra_axis_is_an_error_not_a_broadcast(entry, i):
    arrays = entry.arrays()
    name = entry.names()[i]
    with pytest.raises(ValueError) as err:
        entry.call(*_replace(arrays, i, arrays[i][..., None]))
    _error_names(err.value, name)


@pytest.mark.parametrize("entry, i", [p for p in E_ARG if len(p.values[0].names()) > 1])
def test_one_row_missing(entry, i):
    arrays = entry.arrays()
    name = entry.names()[i]
    if name in entry.free_rows:
        return
    with pytest.raises(ValueError) as err:
        entry.call(*_replace(arrays, i, arrays[i][:-1]))
    _error_names(err.value, name)


@pytest.mark.parametrize("entry", E_RED)
@pytest.mark.parametrize("bad", ["avg", None, "MEAN"])
def test_unknown_reduction_everywhere(entry, bad):
    with pytest.raises(ValueError, match=rf"reduction must be one of .*; got {re.escape(repr(bad))}"):
        entry.call(*entry.arrays(), reduction=bad)


@pytest.mark.parametrize("entry", E_MULTI)
@pytest.mark.parametrize("which", [0, 1])
def test_mixing_numpy_and_torch_everywhere(entry, which):
    arrays = list(entry.arrays())
    arrays[which] = torch.from_numpy(arrays[which])
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors"):
        entry.call(*arrays)


@pytest.mark.parametrize("entry", E_MULTI)
def test_tensors_on_different_devices_everywhere(entry):
    arrays = [torch.from_numpy(a) for a in entry.arrays()]
    arrays[1] = arrays[1].to("meta")
    with pytest.raises(ValueError, match=r"is on device (meta|cpu) but .* is on (cpu|meta)") as err:
        entry.call(*arrays, **_torch_knobs(entry))
    _error_names(err.value, entry.names()[1])


def _knobs(entry):
    """(knob, default) for every keyword-only knob except reduction."""
    sig = inspect.signature(entry.fn)
    return [(n, p.default) for n, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "reduction"]


E_KNOB = [pytest.param(e, k, d, id=f"{e.name}-{k}") for e in ENTRIES for k, d in _knobs(e)]
E_NUM_KNOB = [p for p in E_KNOB if isinstance(p.values[2], (int, float))
              and not isinstance(p.values[2], bool)]


@pytest.mark.parametrize("entry, knob, default", E_KNOB)
@pytest.mark.parametrize("bad", ["1", [object()]])
def test_knob_of_the_wrong_type(entry, knob, default, bad):
    if isinstance(default, str):
        bad = 1  # a string knob given a number
    with pytest.raises((TypeError, ValueError)) as err:
        entry.call(*entry.arrays(), **{knob: bad})
    _error_names(err.value, knob)


@pytest.mark.parametrize("entry, knob, default", E_NUM_KNOB)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_numeric_knob_not_finite(entry, knob, default, bad):
    if (entry.fn, knob, bad) == (lb.triplet_loss, "p", math.inf):
        return  # the max norm, as in torch (tested in test_embedding.py)
    with pytest.raises((TypeError, ValueError)) as err:
        entry.call(*entry.arrays(), **{knob: bad})
    _error_names(err.value, knob)
    if isinstance(default, float):
        assert err.type is ValueError, err.value


@pytest.mark.parametrize("entry, knob, default", [p for p in E_KNOB if isinstance(p.values[2], bool)])
def test_boolean_knob_given_something_else(entry, knob, default):
    with pytest.raises(TypeError, match=rf"{knob} must be True or False; got 'yes'"):
        entry.call(*entry.arrays(), **{knob: "yes"})


# ------------------------------------------------------------- regressions found by the above
@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("ignore_index", [0, 2, -1])
def test_cross_entropy_probability_targets_refuse_ignore_index(kind, ignore_index):
    # NumPy used to ignore ignore_index silently, tensors leaked torch's RuntimeError
    x = np.zeros((3, 4))
    t = np.full((3, 4), 0.25)
    if kind == "torch":
        x, t = torch.from_numpy(x), torch.from_numpy(t)
    with pytest.raises(ValueError, match=rf"ignore_index={ignore_index} applies to class-index "
                                         r"targets only, but target holds probabilities .*shape \(3, 4\)"):
        lb.cross_entropy(x, t, ignore_index=ignore_index)
    with pytest.raises(ValueError, match="ignore_index"):
        lb.cross_entropy_grad(x, t, ignore_index=ignore_index)
    assert float(lb.cross_entropy(x, t)) == pytest.approx(np.log(4))  # the default is fine


@pytest.mark.parametrize("fn", [lb.l1_penalty, lb.l2_penalty])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_penalties_refuse_non_finite_parameters(fn, bad, kind):
    # they used to return nan or inf
    conv = torch.tensor if kind == "torch" else np.array
    with pytest.raises(ValueError, match=r"^params contains NaN or inf"):
        fn(conv([1.0, bad]))
    with pytest.raises(ValueError, match=r"^params\[1\] contains NaN or inf"):
        fn([conv([1.0]), conv([2.0, bad])])


@pytest.mark.parametrize("fn", [lb.l1_penalty, lb.l2_penalty])
def test_penalties_refuse_parameters_without_elements(fn):
    with pytest.raises(ValueError, match=r"params holds no elements \(shapes \(0,\), \(0, 3\)\)"):
        fn([np.zeros(0), np.zeros((0, 3))])
    assert float(fn([np.zeros(0), np.ones(2)])) == 2.0  # an empty array among others is fine


def test_penalty_overflow_of_finite_weights_is_inf_not_an_error():
    with np.errstate(over="ignore"):
        assert lb.l2_penalty(np.array([1e200])) == np.inf


@pytest.mark.parametrize("fn", [lb.next_token_cross_entropy, lb.perplexity])
def test_nan_in_the_unscored_last_position_is_still_an_error(fn):
    logits = np.zeros((2, 4, 5))
    logits[1, -1, 0] = np.nan  # the last position predicts nothing, but NaN there is a bug
    with pytest.raises(ValueError, match="logits contains NaN or inf"):
        fn(logits, np.zeros((2, 4), dtype=np.int64))


def test_triplet_max_norm_matches_torch_with_numpy():
    # p=inf used to give 0/1 nonsense with NumPy (|d| ** inf) while tensors were right
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    a, p, n = rng.normal(size=(3, 5, 4))
    want = F.triplet_margin_loss(*map(torch.from_numpy, (a, p, n)), p=float("inf"), eps=0.0,
                                 reduction="none").numpy()
    np.testing.assert_allclose(lb.triplet_loss(a, p, n, p=float("inf"), reduction="none"), want)


def test_shape_errors_name_both_arguments():
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\), one per row of "
                                         r"embeddings \(3, 2\); got shape \(4,\)"):
        lb.batch_triplet_loss(np.zeros((3, 2)), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"target must have shape \(2,\), one class per row of "
                                         r"input \(2, 2\); got shape \(3,\)"):
        lb.expected_cost(np.full((2, 2), 0.5), np.array([0, 1, 1]), cost_matrix=np.ones((2, 2)))


def test_next_token_float_tokens_are_named_as_such():
    # the message used to speak of probabilities shaped like the shifted logits
    with pytest.raises(TypeError, match="tokens must hold integer token ids; got dtype float64"):
        lb.next_token_cross_entropy(np.zeros((4, 5)), np.zeros(4))


@pytest.mark.parametrize("bad, error, match", [
    (np.float64(np.nan), ValueError, r"terms\['box'\] contains NaN or inf"),
    (torch.tensor(float("inf")), ValueError, r"terms\['box'\] contains NaN or inf"),
    (np.int64(1), TypeError, r"terms\['box'\] must have a floating-point dtype"),
])
def test_composite_loss_refuses_non_finite_or_integer_terms(bad, error, match):
    cls = torch.tensor(0.5) if isinstance(bad, torch.Tensor) else np.float64(0.5)
    with pytest.raises(error, match=match):
        lb.composite_loss({"cls": cls, "box": bad})
