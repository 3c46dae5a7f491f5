"""The tamper guard, in process: patches to lossbook's private modules, its backend namespaces
(classes and instances) and the reference ban are undone before the next locked cell, so that
the oracle a hidden test computes with lossbook is the real one.

(The hostile suite, test_hostile.py, runs the guard in real grading kernels; these tests reach
the parts of lossbook that a refactor moved into namespace classes.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("IPython")
torch = pytest.importorskip("torch")


@pytest.fixture()
def guard():
    from IPython.core.interactiveshell import InteractiveShell

    from lossbook_grader import guard as g

    shell = InteractiveShell.instance()
    g.install(shell)
    yield g
    g.before_cell()  # whatever a test left behind is put back
    InteractiveShell.clear_instance()


def _repairs(g):
    return json.loads(g.report())


def test_patched_private_modules_and_namespaces_are_restored(guard):
    import lossbook as lb
    from lossbook import _backend, _reduction, _validation, notebook, testing

    x = np.array([[0.0, 0.0]])
    expected_np = _backend.NUMPY.log_softmax(x)
    t = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    expected_t = _backend.torch_namespace().log_softmax(t)
    # a student's cell: every primitive the oracle relies on, patched
    _backend.NUMPY.log_softmax = lambda x, axis=-1: x * 0              # instance attribute
    _backend.NumPyNamespace.logsumexp = lambda self, x, **k: x * 0    # class method
    _backend.torch_namespace().F = None                              # instance's module
    _backend.TorchNamespace.log_softmax = lambda self, x, axis=-1: x
    _backend._TORCH.clear()                                          # the lazily made one
    _reduction.reduce = lambda losses, reduction: 0.0
    _validation.prepare_pair.__code__ = (lambda *a, **k: None).__code__
    notebook.to_numpy = lambda v: 0
    testing.central_difference = lambda *a, **k: 0
    guard.before_cell()
    repairs = _repairs(guard)
    for what in ("lossbook._backend:NUMPY.log_softmax (added)",
                 "lossbook._backend.NumPyNamespace.logsumexp",
                 "lossbook._backend:torch_namespace().F",
                 "lossbook._backend.TorchNamespace.log_softmax", "lossbook._backend._TORCH",
                 "lossbook._reduction.reduce", "lossbook._validation.prepare_pair.__code__",
                 "lossbook.notebook.to_numpy", "lossbook.testing.central_difference"):
        assert what in repairs, (what, repairs)
    assert np.array_equal(_backend.NUMPY.log_softmax(x), expected_np)
    assert torch.equal(_backend.torch_namespace().log_softmax(t), expected_t)
    assert float(lb.huber(np.array([3.0]), np.array([0.0]))) == 2.5
    assert np.isclose(float(lb.cross_entropy(t, torch.tensor([0]))), np.log(2.0))


def test_a_replaced_ban_is_restored(guard):
    from lossbook_grader import ban

    real = ban.Ban.run
    ban.Ban.run = lambda self, fn, *a, **k: fn(*a, **k)
    ban.Ban.__call__ = ban.Ban.run
    ban._ACTIVE.append(object())
    guard.before_cell()
    assert ban.Ban.run is real and ban.Ban.__call__ is real
    assert ban._ACTIVE == []
    assert "lossbook_grader.ban.Ban.run" in _repairs(guard)
