"""The backend of a call: decided once, and the one fused-kernel policy (lossbook/_backend.py).

Every loss is written once against a namespace ``xp`` that validation picks from the arguments.
Tensors leave a written formula for a ``torch.nn.functional`` twin in one place only,
``TorchNamespace.fused``, and exactly where the loss's docstring says so. These tests pin
that down: they spy on ``fused`` while every loss of the registry runs on tensors.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import lossbook as lb
from lossbook import _backend, _validation
from lossbook._backend import NUMPY, NumPyNamespace, TorchNamespace, torch_namespace
from registry import ALL_LOSSES

FAMILIES = ["regression", "classification", "embedding", "ranking", "business"]
DOCUMENTED = re.compile(r"fused\s+kernel\s+``torch\.nn\.functional\.(\w+)``", re.IGNORECASE)


def _documented_twins(fn) -> set[str]:
    return set(DOCUMENTED.findall(inspect.getdoc(fn) or ""))


@pytest.fixture
def twins_used(monkeypatch):
    """The twins that tensors were handed to, in order, while the test runs."""
    used: list[str] = []
    original = TorchNamespace.fused

    def spy(self, twin, formula, *args, when=True, **kwargs):
        if twin is not None and when:
            used.append(twin)
        return original(self, twin, formula, *args, when=when, **kwargs)

    monkeypatch.setattr(TorchNamespace, "fused", spy)
    return used


@pytest.mark.parametrize("module", FAMILIES)
def test_family_modules_write_formulas_only(module):
    # no kind test and no torch in the code (docstrings may name torch's twins): the namespace
    # that validation returns does the rest
    tree = ast.parse((Path(lb.__file__).parent / f"{module}.py").read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
              for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    forbidden = {"is_tensor", "namespace_of", "torch_namespace", "torch", "functional"}
    assert not names & forbidden, f"lossbook/{module}.py uses {sorted(names & forbidden)}"


def _tensor_calls():
    """(public function, call) for every registry case and knob setting, on float64 tensors."""
    for case in ALL_LOSSES:
        public = case.public or case.fn
        for knobs in case.knob_settings:
            arrays = [torch.from_numpy(np.asarray(a)) for a in case.make(np.random.default_rng(0), 2.0)]
            kn = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                  for k, v in knobs.items()}
            for reduction in case.reductions:
                yield public, lambda: case.fn(*arrays, reduction=reduction, **kn)
                if case.grad is not None:
                    yield case.grad, lambda: case.grad(*arrays, reduction=reduction, **kn)
    seq, tok = torch.randn(2, 5, 7, dtype=torch.float64), torch.randint(0, 7, (2, 5))
    yield lb.perplexity, lambda: lb.perplexity(seq, tok)


def test_tensors_run_a_fused_twin_exactly_where_the_docstring_names_one(twins_used):
    seen: dict[str, set[str]] = {}
    for fn, call in _tensor_calls():
        twins_used.clear()
        call()
        documented = _documented_twins(fn)
        assert set(twins_used) <= documented, (fn.__name__, twins_used)
        if documented:
            assert twins_used, f"{fn.__name__} documents a fused kernel but ran its formula"
        seen.setdefault(fn.__name__, set()).update(twins_used)
    with_twin = {name for name, used in seen.items() if used}
    assert with_twin == {
        "mse", "mae", "huber", "smooth_l1", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "cross_entropy", "multiclass_hinge", "kl_div",
        "next_token_cross_entropy", "perplexity", "cost_sensitive_binary_cross_entropy",
    }
    # every public function whose docstring names a twin was run above
    documented = {n for n in lb.__all__ if callable(getattr(lb, n))
                  and _documented_twins(getattr(lb, n))}
    assert documented == with_twin


def test_numpy_never_runs_a_twin(twins_used):
    x, y = np.array([0.5, 3.0]), np.zeros(2)
    assert lb.huber(x, y) == pytest.approx(1.3125)
    assert twins_used == []


def test_cross_entropy_mean_over_nothing_runs_the_formula_and_gives_zero(twins_used):
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    ignored = torch.full((4,), -100)
    out = lb.cross_entropy(x, ignored)
    assert twins_used == []  # torch's kernel would say NaN
    out.backward()
    assert float(out.detach()) == 0.0 and torch.count_nonzero(x.grad) == 0
    lb.cross_entropy(x, ignored, reduction="sum")
    lb.cross_entropy(x, torch.tensor([0, 1, 2, -100]))  # something counts: the twin again
    assert twins_used == ["cross_entropy", "cross_entropy"]


def test_the_backend_is_decided_once_per_call(monkeypatch):
    # The kind of each argument is asked once, when it is validated; no primitive asks again.
    calls = []

    def counting_is_tensor(x):
        calls.append(type(x).__name__)
        return isinstance(x, torch.Tensor)

    monkeypatch.setattr(_validation, "is_tensor", counting_is_tensor)
    monkeypatch.setattr(_backend, "is_tensor", counting_is_tensor)
    x = torch.randn(8, dtype=torch.float64, requires_grad=True)
    lb.huber(x, torch.zeros(8, dtype=torch.float64), delta=0.5)
    lb.log_cosh(x, torch.zeros(8, dtype=torch.float64))  # the written formula, on tensors
    assert calls == ["Tensor"] * 4  # two arguments, two calls


def test_both_namespaces_offer_the_same_primitives_in_the_same_order():
    # so that a student can read them side by side
    def public(cls):
        return [n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")]

    assert public(NumPyNamespace) == [n for n in public(TorchNamespace) if n != "fused"]
    for name in _backend.SHARED:  # taken from the library, same name in both
        assert getattr(NUMPY, name) is getattr(np, name)
        assert getattr(torch_namespace(), name) is getattr(torch, name)


def test_validation_returns_the_namespace_of_the_arguments():
    assert _validation.namespace(a=np.zeros(2), b=np.ones(2)) is NUMPY
    assert _validation.namespace(a=torch.zeros(2)) is torch_namespace()
    with pytest.raises(TypeError, match="cannot mix NumPy arrays and torch tensors: b is a "
                                        "torch.Tensor but a is a numpy.ndarray"):
        _validation.namespace(a=np.zeros(2), b=torch.zeros(2))
