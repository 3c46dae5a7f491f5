"""The reference ban (lossbook_grader.ban): every cheat class of issue 18 trips it, honest code
that uses an allowed building block passes, and tampering with the ban itself is seen.

Each cheat is a tiny student function run in this process under the ban, as a hidden test runs
it in the grading kernel: the oracle first, outside the ban, then the call through the ban.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import inspect
import subprocess
import sys
import threading
import time

import nbformat
import numpy as np
import pytest

import lossbook as lb
from lossbook_grader.ban import Ban, BanViolation, check_declarations, describe, parse

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(18)
P, T = RNG.normal(0, 3, size=40), RNG.normal(0, 3, size=40)
LOGITS = RNG.normal(size=(5, 4))
LABELS = np.array([0, 3, 1, 2, 0])
EMB = RNG.normal(size=(6, 3))


# ----------------------------------------------------------------------- honest students
def honest_huber(y_pred, y_true, delta=1.0):
    r = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))))


def honest_log_softmax(z):
    z = torch.as_tensor(z)
    return z - torch.logsumexp(z, dim=1, keepdim=True)  # torch.logsumexp is allowed


def honest_cross_entropy_grad(z, y):
    z = torch.as_tensor(z)
    with torch.no_grad():  # no_grad is fine where autograd is forbidden
        p = torch.exp(z - torch.logsumexp(z, dim=1, keepdim=True))
        p[torch.arange(len(y)), torch.as_tensor(y)] -= 1
    return p / len(y)


def honest_distances(x):
    d = x[:, None, :] - x[None, :, :]
    return np.sqrt((d * d).sum(-1))


HUBER_BAN = ("lossbook", "torch:huber_loss", "scipy", "sklearn")


def test_honest_numpy_passes_and_equals_the_oracle():
    expected = float(lb.huber(P, T, delta=0.5))
    got = Ban(*HUBER_BAN)(honest_huber, P, T, delta=0.5)
    assert np.isclose(got, expected, rtol=1e-12)


def test_honest_torch_with_an_allowed_building_block_passes():
    ban = Ban("lossbook", "torch:log_softmax", "torch:softmax", "scipy.special")
    got = ban(honest_log_softmax, torch.as_tensor(LOGITS))
    assert torch.allclose(got, torch.log_softmax(torch.as_tensor(LOGITS), 1))


def test_honest_hand_gradient_passes_under_the_autograd_ban():
    ban = Ban("lossbook", "autograd", "torch:cross_entropy", "torch:log_softmax")
    got = ban(honest_cross_entropy_grad, LOGITS, LABELS)
    z = torch.as_tensor(LOGITS).requires_grad_()
    F.cross_entropy(z, torch.as_tensor(LABELS)).backward()  # the oracle, outside the ban
    assert torch.allclose(got, z.grad)


def test_the_ban_is_really_installed_during_the_call():
    seen = []
    ban = Ban("lossbook")
    ban(lambda: seen.append(sys.getprofile()))
    assert seen[0] is not None and getattr(seen[0], "__self__", None) is ban
    assert sys.getprofile() is None  # and removed after


# ------------------------------------------------------------ every path into lossbook
from lossbook import huber as bound_before  # noqa: E402  (a name bound before the test)

LOSSBOOK_PATHS = {
    "lb.huber": lambda p, t: float(lb.huber(p, t)),
    "submodule": lambda p, t: float(__import__("lossbook.regression").regression.huber(p, t)),
    "bound_before": lambda p, t: float(bound_before(p, t)),
    "importlib": lambda p, t: float(
        importlib.import_module("lossbook." + "regression").huber(p, t)),
    "sys.modules": lambda p, t: float(sys.modules["lossbook.regression"].huber(p, t)),
    "getattr": lambda p, t: float(getattr(lb, "hu" + "ber")(p, t)),
    "never_banned_gradient": lambda p, t: float(np.sum(lb.huber_grad(p, t) * 0)) + 1.0,
    "private_namespace_method": lambda p, t: float(
        np.mean(lb._backend.NUMPY.softplus(p - t))),
    "private_torch_namespace": lambda p, t: float(
        lb._backend.torch_namespace().pairwise_distances(torch.as_tensor(EMB)).sum()),
    "validation_helper": lambda p, t: float(np.mean(
        lb._validation.prepare_pair(p, t)[1] * 0.0)),
    "reduction_helper": lambda p, t: float(lb._reduction.reduce(np.abs(p - t), "mean")),
    "datasets_answer": lambda p, t: float(
        lb.datasets.true_quantile_heteroscedastic(np.array([1.0]), 0.05)[0]),
    "function_copy": lambda p, t: float(_function_copy(lb.regression.huber)(p, t)),
}


def _function_copy(f):
    import types

    g = types.FunctionType(f.__code__.replace(co_filename="<mine>"), dict(f.__globals__))
    g.__kwdefaults__ = dict(f.__kwdefaults__)
    return g


@pytest.mark.parametrize("path", sorted(LOSSBOOK_PATHS))
def test_every_path_into_lossbook_trips(path):
    with pytest.raises(BanViolation, match=r"called lossbook\.|lossbook"):
        Ban(*HUBER_BAN)(LOSSBOOK_PATHS[path], P, T)


def test_catching_the_exception_does_not_help():
    def catches(p, t):
        try:
            return float(lb.huber(p, t))
        except BaseException:
            return honest_huber(p, t)  # the right value, after the cheat was caught

    ban = Ban(*HUBER_BAN)
    with pytest.raises(BanViolation, match="your catches called lossbook.regression.huber"):
        ban(catches, P, T)
    assert ban.trips  # recorded


def test_the_message_names_the_function_and_the_path_in_words():
    def huber_loss(p, t):
        return float(lb.huber(p, t))

    with pytest.raises(BanViolation) as info:
        Ban(*HUBER_BAN)(huber_loss, P, T)
    assert str(info.value) == ("your huber_loss called lossbook.regression.huber, which this "
                               "part forbids ('lossbook')")


def test_source_read_and_copied_code_trip():
    def exec_source(p, t):
        ns = dict(vars(lb.regression))
        exec(inspect.getsource(lb.regression.huber), ns)
        return float(ns["huber"](p, t))

    with pytest.raises(BanViolation, match="lossbook"):
        Ban("lossbook")(exec_source, P, T)
    # the source copied before the test, compiled under another name and file
    ns = dict(vars(lb.regression))
    exec(compile(inspect.getsource(lb.regression.huber), "<mine>", "exec"), ns)
    with pytest.raises(BanViolation, match="identical to lossbook.regression.huber"):
        Ban("lossbook")(lambda p, t: float(ns["huber"](p, t)), P, T)


# -------------------------------------------------------------- twins in other libraries
cdist_before = torch.cdist


TWINS = {
    # name: (forbidden entries, cheat, args)
    "F.huber_loss": (HUBER_BAN, lambda p, t: float(F.huber_loss(torch.as_tensor(p),
                                                                  torch.as_tensor(t))), (P, T)),
    "torch._C._nn.huber_loss": (HUBER_BAN, lambda p, t: float(torch._C._nn.huber_loss(
        torch.as_tensor(p), torch.as_tensor(t), 1, 1.0)), (P, T)),
    "F.cross_entropy": (("torch:cross_entropy",), lambda z, y: F.cross_entropy(
        torch.as_tensor(z), torch.as_tensor(y)), (LOGITS, LABELS)),
    "torch.log_softmax": (("torch:log_softmax",), lambda z: torch.log_softmax(
        torch.as_tensor(z), 1), (LOGITS,)),
    "Tensor.log_softmax": (("torch:log_softmax",), lambda z: torch.as_tensor(
        z).log_softmax(1), (LOGITS,)),
    "torch.special.log_softmax": (("torch:log_softmax",), lambda z: torch.special.log_softmax(
        torch.as_tensor(z), 1), (LOGITS,)),
    "aten._log_softmax": (("torch:log_softmax",), lambda z: torch.ops.aten._log_softmax(
        torch.as_tensor(z), 1, False), (LOGITS,)),
    "Tensor.log_softmax by dotted path": (("torch.Tensor.log_softmax",), lambda z: getattr(
        torch.as_tensor(z), "log_" + "softmax")(1), (LOGITS,)),
    "scipy.special.log_softmax": (("scipy.special.log_softmax",), lambda z: __import__(
        "scipy.special").special.log_softmax(z, axis=1), (LOGITS,)),
    "torch.cdist bound before": (("torch:cdist",), lambda x: cdist_before(
        torch.as_tensor(x), torch.as_tensor(x)), (EMB,)),
    "torch.functional.cdist": (("torch.functional.cdist",), lambda x: torch.functional.cdist(
        torch.as_tensor(x), torch.as_tensor(x)), (EMB,)),
    "scipy cdist": (("scipy",), lambda x: __import__("scipy.spatial.distance").spatial
                    .distance.cdist(x, x), (EMB,)),
    "sklearn dcg_score": (("sklearn",), lambda s, r: __import__(
        "sklearn.metrics").metrics.dcg_score(r, s), (LOGITS, np.abs(LOGITS))),
    "QuantileRegressor": (("sklearn",), lambda x, y: __import__(
        "sklearn.linear_model").linear_model.QuantileRegressor(alpha=0.0).fit(
        x[:, None], y).predict(x[:, None]), (P, T)),
    "Lasso": (("sklearn.linear_model.Lasso",), lambda x, y: __import__(
        "sklearn.linear_model").linear_model.Lasso(alpha=0.1).fit(x[:, None], y).coef_,
        (P, T)),
    "LogisticRegression": (("sklearn",), lambda x, y: __import__(
        "sklearn.linear_model").linear_model.LogisticRegression(class_weight={0: 1, 1: 9}).fit(
        x[:, None], y > 0).coef_, (P, T)),
    "autograd backward": (("autograd",), lambda z, y: _autograd_backward(z, y),
                          (LOGITS, LABELS)),
    "autograd grad": (("autograd",), lambda z, y: _autograd_grad(z, y), (LOGITS, LABELS)),
}


def _autograd_backward(z, y):
    z = torch.as_tensor(z).clone().requires_grad_()
    (-(z - torch.logsumexp(z, 1, keepdim=True))[range(len(y)), y].mean()).backward()
    return z.grad


def _autograd_grad(z, y):
    z = torch.as_tensor(z).clone().requires_grad_()
    loss = -(z - torch.logsumexp(z, 1, keepdim=True))[range(len(y)), y].mean()
    return torch.autograd.grad(loss, z)[0]


@pytest.mark.parametrize("twin", sorted(TWINS))
def test_every_twin_trips(twin):
    forbid, cheat, args = TWINS[twin]
    with pytest.raises(BanViolation, match="which this part forbids"):
        Ban(*forbid)(cheat, *args)


# ------------------------------------------------------------------ escaping the hook
def _in_a_thread(p, t):
    out = []
    th = threading.Thread(target=lambda: out.append(float(lb.huber(p, t))))
    th.start()
    th.join()
    return out[0]


def _in_a_process(p, t):
    return float(subprocess.run([sys.executable, "-c", "print(1.0)"], capture_output=True,
                                text=True).stdout)


def _removes_the_profiler(p, t):
    sys.setprofile(None)
    return float(lb.huber(p, t))


def _sets_a_tracer(p, t):
    sys.settrace(lambda *a: None)
    return float(lb.huber(p, t))


def _threading_setprofile(p, t):
    threading.setprofile(None)
    sys.setprofile(None)
    return float(lb.huber(p, t))


def _clears_the_records(p, t):
    from lossbook_grader import ban

    ban._ACTIVE.clear()
    return honest_huber(p, t)


ESCAPES = {"records": _clears_the_records, "thread": _in_a_thread, "process": _in_a_process,
           "setprofile": _removes_the_profiler, "settrace": _sets_a_tracer,
           "threading.setprofile": _threading_setprofile}


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_escaping_the_profiler_trips(escape):
    try:
        with pytest.raises(BanViolation):
            Ban(*HUBER_BAN)(ESCAPES[escape], P, T)
    finally:
        sys.settrace(None)
    assert sys.getprofile() is None


def test_a_thread_started_before_the_test_trips():
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.submit(lambda: None).result()  # the worker thread is running, idle

    def delegates(p, t):
        return pool.submit(lambda: float(lb.huber(p, t))).result()

    try:
        with pytest.raises(BanViolation, match="threads of its own"):
            Ban(*HUBER_BAN)(delegates, P, T)
    finally:
        pool.shutdown()


def _raw_thread(target, *args):
    """Start ``target(*args)`` in a thread that the threading module does not know (as
    execnet's I/O thread under pytest-xdist is) and wait until it runs; its ident."""
    import _thread

    before = set(sys._current_frames())
    ident = _thread.start_new_thread(target, args)
    deadline = time.monotonic() + 10
    while set(sys._current_frames()) <= before:
        assert time.monotonic() < deadline, "the thread did not start"
        time.sleep(0.01)
    return ident


def _wait_gone(ident):
    """Wait until the raw thread ``ident`` has ended (so that it cannot trip the next test)."""
    deadline = time.monotonic() + 10
    while ident in sys._current_frames():
        assert time.monotonic() < deadline, "the thread did not end"
        time.sleep(0.01)


def test_a_raw_thread_of_a_trusted_tool_does_not_trip_honest_work():
    stop = threading.Event()
    ident = _raw_thread(stop.wait)  # idle in threading's own code, nothing else on its stack
    try:
        assert np.isclose(Ban(*HUBER_BAN)(honest_huber, P, T), float(lb.huber(P, T)))
    finally:
        stop.set()
        _wait_gone(ident)


def test_a_raw_thread_running_user_code_trips():
    stop = threading.Event()

    def user_loop():  # defined here, in a file outside every library folder
        while not stop.wait(0.01):
            pass

    ident = _raw_thread(user_loop)
    try:
        with pytest.raises(BanViolation, match="a thread started without threading"):
            Ban(*HUBER_BAN)(honest_huber, P, T)
    finally:
        stop.set()
        _wait_gone(ident)


def test_the_context_manager_bans_a_block():
    ban = Ban(*HUBER_BAN)
    with ban:
        honest_huber(P, T)
    with pytest.raises(BanViolation, match="your code called lossbook.regression.huber"):
        with ban:
            try:
                lb.huber(P, T)
            except BanViolation:
                pass


def test_the_guard_restores_a_replaced_ban_module_method():
    # The grading guard watches this module (see test_guard.py); here: Ban.run is what the
    # hidden test calls, so a replaced one must be a repair the guard makes.
    from lossbook_grader import guard

    assert "lossbook_grader.ban" in guard.WATCHED


# ------------------------------------------------------------------------ the grammar
def test_entries_that_name_nothing_are_refused():
    for bad in ("", "lossbookk", "torch.nn.functional.no_such_loss", "torch:", "a b:c"):
        with pytest.raises(ValueError):
            parse(bad)


def test_describe_says_entries_in_words():
    assert describe("torch:log_softmax") == "any torch function or tensor method named log_softmax"
    assert describe("lossbook") == "anything from lossbook"


def _notebook(tmp_path, text, hidden):
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell(text)
    sol = nbformat.v4.new_code_cell("def f(x):\n    return x")
    sol.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "f",
                                "locked": False, "schema_version": 3, "task": False}
    test = nbformat.v4.new_code_cell("assert f(1) == 1\n### BEGIN HIDDEN TESTS\n" + hidden +
                                     "\n### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_f", "locked": True,
                                 "points": 1, "schema_version": 3, "solution": False,
                                 "task": False}
    nb.cells = [md, sol, test]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_check_declarations(tmp_path):
    good = _notebook(tmp_path, "Write f yourself: no `lossbook`, no `huber_loss`.",
                     "from lossbook_grader.ban import Ban\n"
                     "ban = Ban('lossbook', 'torch:huber_loss')\nassert ban(f, 2) == 2")
    assert check_declarations(good) == []
    unused = _notebook(tmp_path, "No `lossbook`.", "ban = Ban('lossbook')\nassert f(2) == 2")
    assert any("no hidden test calls through it" in p for p in check_declarations(unused))
    unsaid = _notebook(tmp_path, "Write f.", "ban = Ban('torch:huber_loss')\nban(f, 1)")
    assert any("huber_loss" in p and "text does not say" in p
               for p in check_declarations(unsaid))


# ------------------------------------------------------------------------ the cost
def test_module_state_does_not_change_when_a_ban_runs():
    """The tamper guard restores this module's globals before every test cell: a ban that
    changed them (the audit hook installed at the first ban) would be reported as tampering
    on honest work, and its hook added twice."""
    import lossbook_grader.ban as ban_module

    assert ban_module._AUDIT_INSTALLED == [True]
    before = {k: (v, list(v) if isinstance(v, list) else None) for k, v in vars(ban_module).items()}
    Ban("lossbook")(sum, [1, 2])
    after = {k: (v, list(v) if isinstance(v, list) else None) for k, v in vars(ban_module).items()}
    assert before.keys() == after.keys()
    for key, (value, items) in before.items():
        assert after[key][0] is value and after[key][1] == items, key


# ------------------------------------------------------------ scipy's ufuncs (issue 18)
import scipy.special as _sp  # noqa: E402
from scipy.special import log_expit as _bound_log_expit  # noqa: E402


def _ufunc_cheats():
    def attribute(x):
        return _sp.expit(x)

    def bound_at_import(x):
        return _bound_log_expit(x)

    def default_argument(x, f=_sp.xlogy):
        return f(x, x)

    def imported_inside(x):
        from scipy.special import huber

        return huber(1.0, x)

    g = _sp.log_expit

    def closure(x):
        return g(x)

    class Holder:
        f = _sp.expit

    def class_attribute(x):
        return Holder.f(x)

    def caught(x):
        try:
            return _sp.expit(x)
        except Exception:
            return 1.0 / (1.0 + np.exp(-x))

    return [attribute, bound_at_import, default_argument, imported_inside, closure,
            class_attribute, caught]


@pytest.mark.parametrize("cheat", _ufunc_cheats(), ids=lambda f: f.__name__)
def test_a_forbidden_packages_ufunc_trips_by_every_name(cheat):
    with pytest.raises(BanViolation, match=r"called scipy\.special\.\w+, which this part forbids"):
        Ban("scipy")(cheat, np.linspace(-3, 3, 5))


def test_ufuncs_come_back_after_the_ban_and_numpys_own_stay_allowed():
    def cheat(x, f=_sp.xlogy):
        return _bound_log_expit(x) + f(x, x)

    before = (_sp.expit, _sp.__dict__["log_expit"], _bound_log_expit, cheat.__defaults__)
    with pytest.raises(BanViolation):
        Ban("scipy")(cheat, np.ones(3))
    after = (_sp.expit, _sp.__dict__["log_expit"], globals()["_bound_log_expit"],
             cheat.__defaults__)
    assert all(a is b for a, b in zip(before[:3], after[:3])) and before[3] == after[3]
    assert isinstance(after[3][0], np.ufunc)
    x = np.linspace(0.5, 2.0, 7)
    assert np.allclose(cheat(x), _sp.log_expit(x) + _sp.xlogy(x, x))  # works again

    def numpy_only(x):
        return -np.logaddexp(0.0, -x)

    assert np.allclose(Ban("scipy")(numpy_only, x), _sp.log_expit(x))


def test_a_scipy_ufunc_is_not_blamed_on_a_package_that_imports_it():
    """scikit-learn imports scipy.special.expit: with only scikit-learn forbidden, a student
    who may use scipy keeps expit."""
    import sklearn.linear_model  # noqa: F401 (its modules hold scipy's expit)

    def allowed(x):
        return _sp.expit(x)

    x = np.linspace(-2, 2, 5)
    assert np.allclose(Ban("sklearn")(allowed, x), 1.0 / (1.0 + np.exp(-x)))


# ------------------------------------------------- the test's own values are out of reach
CELL = '''
def reads_globals(x):
    return globals().get("expected", -1.0)


def walks_frames(x):
    import sys
    frame = sys._getframe()
    while frame is not None:
        if "expected" in frame.f_locals:
            return frame.f_locals["expected"]
        frame = frame.f_back
    return -1.0


def _hook():
    return counts  # a helper of the test that reads a value during the call


def uses_the_tests_helper(x):
    return _hook()["n"]


ban = Ban("lossbook")
counts = {"n": 7}
expected = 42.0
got = [ban(reads_globals, 1.0), ban(walks_frames, 1.0), ban(uses_the_tests_helper, 1.0)]
after = expected
'''


def test_the_oracle_of_the_calling_cell_is_out_of_reach():
    """A hidden test cell computes `expected` before the banned call; the student's function
    cannot read it through the notebook's globals or by walking frames, and it is back after
    the call. Helpers that the cell defines still see what they read."""
    space = {"__name__": "__main__", "Ban": Ban}
    exec(compile(CELL, "<hidden test cell>", "exec"), space)
    assert space["got"] == [-1.0, -1.0, 7]
    assert space["after"] == 42.0 and space["expected"] == 42.0
