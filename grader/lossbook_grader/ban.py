r"""The reference ban: run a student's function where every path to a forbidden computation fails.

A part that says "write it yourself" is tested by calling the student's function under a
:class:`Ban`. While it runs, a profile hook (:func:`sys.setprofile`) sees every Python function
that starts and every C function that is called, and an audit hook (:func:`sys.addaudithook`,
which cannot be removed once added) sees files opened, threads and processes started and
profilers replaced. Anything that reaches a forbidden computation, by whatever path, **trips**
the ban: the call raises :class:`BanViolation` at that point, and the trip is *recorded*, so a
submission that catches the exception and returns something else fails all the same.

Writing a hidden test with it
=============================

One declaration per part, at the top of the part's hidden tests, then every call of the
student's function that the part grades goes through it; the expected value (the *oracle*) is
computed before, outside the ban, with whatever the test likes (lossbook included)::

    ### BEGIN HIDDEN TESTS
    from lossbook_grader.ban import Ban

    ban = Ban("lossbook", "torch:huber_loss", "scipy", "sklearn")   # this part's declaration
    rng = np.random.default_rng(...)
    p, t = rng.normal(size=40), rng.normal(size=40)
    expected = float(lb.huber(p, t, delta=0.5))          # the oracle: before the call
    got = ban(huber_loss, p, t, delta=0.5)               # huber_loss(p, t, delta=0.5), banned
    assert np.isclose(got, expected, rtol=1e-10), "value differs from the reference at delta = 0.5"
    ### END HIDDEN TESTS

``ban(f, *args, **kwargs)`` (the same as ``ban.run(f, ...)``) returns ``f(*args, **kwargs)``, or
raises :class:`BanViolation` (an ``AssertionError``: the test cell fails) when anything tripped
during the call, even if the function caught it, or when the profile hook was removed or
replaced during the call. ``with ban: ...`` bans a block instead (for a training loop that calls
the student's code many times); put nothing but the student's calls in the block, since the
test's own calls are banned too. Messages say in words what was used, for example::

    your huber_loss called lossbook.regression.huber, which this part forbids ("lossbook")

and never quote the test's source.

Rules for authors:

* **Declare once per part**, as the first statement of the part's hidden tests, bound to the
  name ``ban`` (or any name: :func:`check_declarations` follows it). Every hidden call of the
  function the part asks for goes through the ban, and at least one must.
* **Say it in the part's text**: every forbidden name must appear in the part's markdown (the
  last dotted name of each entry: ``huber_loss`` for ``"torch:huber_loss"``, ``lossbook`` for
  ``"lossbook"``, ``scikit-learn`` or ``sklearn`` for ``"sklearn"``), together with what *is*
  allowed ("NumPy only", "``torch.logsumexp`` is fine"). :func:`check_declarations` checks both.
* **Compute the oracle before the call**, never inside ``with ban:``; compare the result with
  an ``assert`` whose message says in words what differs (the feedback shows only that message).
* **Keep banned inputs small** (tens to thousands of elements, a few dozen steps): every Python
  call and C call is seen by the profile hook. ``python bench/ban.py`` (in ``make bench``)
  measures it; on a 2-core machine in December 2026: a NumPy Huber loss on 40 values, 6 µs
  plain, about 85 µs banned, about 220 µs when the ban also forbids SciPy (its ufuncs are
  swapped at each call); 20 SGD steps of a one-weight torch model, 1.6 ms plain, 11.5 ms banned.

The grammar of a forbidden entry
================================

``"lossbook"``, ``"scipy"``, ``"sklearn"``, ``"scipy.special"``, ``"torch.autograd"`` (a module or package)
    everything defined in it: any Python function, method, lambda or class body from its files
    (every module, private helpers such as the methods of ``lossbook._backend``'s namespaces,
    names bound before the test, modules reached through ``importlib``, ``sys.modules`` or
    ``getattr`` with a built string), and the C functions it exports. For ``lossbook`` also:
    reading its source (``inspect.getsource``, ``open``, ``linecache``) during the call, and
    functions whose bytecode is lossbook's own (source copied with ``exec`` earlier).
``"torch.nn.functional.huber_loss"``, ``"sklearn.linear_model.Lasso"`` (a dotted path to an object)
    that one object: a Python function (``functools.wraps`` chains followed), every method of a
    class, a C function by identity, a tensor method (``torch.Tensor.log_softmax``) bound to any
    tensor.
``"torch:log_softmax"`` (``package:name``)
    every callable of the package with that name, however it is reached: Python functions
    (``torch.nn.functional.log_softmax``), C functions (``torch.log_softmax``,
    ``torch._C._nn.huber_loss``, ``torch.special.log_softmax``), tensor methods
    (``x.log_softmax(1)``) and operators (``torch.ops.aten._log_softmax``). Leading and trailing
    underscores are ignored (in-place ``huber_`` and private ``_log_softmax`` count). Prefer this
    form for torch twins: a dotted path misses the C function underneath.
``"autograd"``
    shorthand for automatic differentiation, for parts that ask for a gradient by hand:
    ``"torch.autograd.grad"``, ``"torch.autograd.backward"``, ``"torch.autograd.functional"``,
    ``"torch.func"``, ``"torch._functorch"``, ``"torch:backward"``, ``"torch:run_backward"``
    (``torch.no_grad`` stays allowed; do not forbid all of ``torch.autograd`` for that reason).

The test's own values are out of reach: for the length of a ``ban(f, ...)`` call from a
notebook cell, the data values that cell stored (``expected = ...``, the inputs, the random
generator) are taken out of the notebook's namespace and put back after, so the student's
function cannot read the oracle through ``globals()`` or by walking frames back to the cell.
Modules, functions and classes stay (a cell may re-import ``numpy``), and so does every name
that a function defined in the cell reads (a hook the test installs). Test authors: pass
everything the function needs as arguments, never through a global of the test cell.

Always, whatever is declared: changing the profile or trace function (``sys.setprofile``,
``sys.settrace``, ``threading.setprofile``, ``threading.settrace``), starting a thread or a
process (``threading.Thread.start``, ``os.fork``, ``subprocess``, ``multiprocessing``,
``os.system``), calling foreign functions with ``ctypes``, walking the garbage collector's
objects, and having a thread of the submission's own running when the call starts.
NumPy ufuncs (``np.exp``, ``np.logaddexp``, and scipy's ``expit``, ``log_expit``, ``xlogy``)
are not functions Python can see being called. NumPy's own stay allowed. Those that a
forbidden module defines (every ``scipy.special`` ufunc under ``"scipy"``) are *swapped* for
the length of the call: wherever the submission can name them (the forbidden modules'
attributes, the notebook's globals, the called function's closure and defaults, and the
closures and defaults of the functions and the attributes of the classes in the notebook's
globals), a stand-in that trips the ban takes their place, and the originals come back after.
A ufunc object hidden deeper (inside a list, a dict, an instance) is not found.

This is a tripwire in the student's own process, like the tamper guard
(:mod:`lossbook_grader.guard`, which restores this module before every test cell): it makes
every ordinary path to a reference fail and shows the rest for review.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Ban", "BanViolation", "check_declarations", "describe", "parse", "run_banned"]

SHORTHANDS = {"autograd": ("torch.autograd.grad", "torch.autograd.backward",
                           "torch.autograd.functional", "torch.func", "torch._functorch",
                           "torch:backward", "torch:run_backward")}
# Prefixes of C function names that name a namespace, not the operation (torch.special's
# log_softmax is the C function special_log_softmax).
C_PREFIXES = ("special_", "linalg_", "fft_", "nn_", "sparse_", "nested_")
# Audit events that trip every ban: the profiler replaced, threads and processes started,
# foreign calls, the garbage collector walked.
ALWAYS = {
    "sys.setprofile": "replaced the profile function (sys.setprofile)",
    "sys.settrace": "replaced the trace function (sys.settrace)",
    "_thread.start_new_thread": "started a thread",
    "os.fork": "forked a process", "os.forkpty": "forked a process",
    "os.posix_spawn": "started a process", "os.spawn": "started a process",
    "os.exec": "started a program", "os.system": "ran a shell command",
    "subprocess.Popen": "started a process", "os.startfile": "started a program",
    "ctypes.call_function": "called a C function through ctypes",
    "ctypes.dlsym": "looked up a C function through ctypes",
    "ctypes.dlopen": "loaded a C library through ctypes",
    "gc.get_objects": "walked the garbage collector's objects",
    "gc.get_referrers": "walked the garbage collector's objects",
    "gc.get_referents": "walked the garbage collector's objects",
    "sys._current_frames": "inspected other threads' frames",
}
# Threads of these packages belong to the kernel (ipykernel's IOPub, heartbeat and control
# threads, IPython's history saver, tqdm's monitor); any other thread running when a ban starts
# is the submission's.
TRUSTED_THREAD_MODULES = ("ipykernel", "IPython.core", "zmq", "jupyter_client", "tornado",
                          "tqdm", "pytest", "_pytest", "execnet", "threading")
FINGERPRINT_MIN_BYTES = 48  # shorter functions may coincide with a student's own


class BanViolation(AssertionError):
    """A banned call reached something the part forbids (or the ban was interfered with)."""


# ----------------------------------------------------------------------------------- rules
class _Rule:
    """One forbidden entry, resolved: what it matches, and the entry as written."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.roots: tuple[str, ...] = ()      # package/module: its files (realpath prefixes)
        self.module = ""                      # ... and its dotted name (for C functions)
        self.codes: dict[int, Any] = {}       # one object: its code objects (id -> code)
        self.cfuncs: dict[int, Any] = {}      # ... its C functions (id -> function)
        self.descriptors: list[tuple[type, str]] = []  # ... tensor methods (class, name)
        self.package = ""                     # package:name: the package ...
        self.name = ""                        # ... and the name
        self.is_lossbook = False

    def __repr__(self) -> str:
        return f"_Rule({self.spec!r})"


def _module_files(name: str) -> tuple[str, ...]:
    """Where the module or package ``name`` lives, as realpath prefixes (without importing it
    when it is not imported yet)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ValueError(f"forbidden entry {name!r}: no module of that name is installed")
    if spec.submodule_search_locations:
        return tuple(os.path.realpath(p) + os.sep for p in spec.submodule_search_locations)
    if spec.origin and os.path.isfile(spec.origin):
        return (os.path.realpath(spec.origin),)
    return ()  # a built-in module: its C functions only


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _resolve(path: str) -> Any:
    """The object at the dotted ``path`` (the longest importable module, then attributes)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        if not _is_module(module_name):
            continue
        obj: Any = importlib.import_module(module_name)
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"forbidden entry {path!r}: nothing of that name can be imported")


def _codes_of(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """The code objects of a function (through wrappers), or of every method of a class."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    out: list[Any] = []
    if isinstance(obj, (staticmethod, classmethod)):
        return _codes_of(obj.__func__, seen)
    if isinstance(obj, property):
        return [c for f in (obj.fget, obj.fset, obj.fdel) if f is not None
                for c in _codes_of(f, seen)]
    if isinstance(obj, functools.partial):
        return _codes_of(obj.func, seen)
    if isinstance(obj, types.MethodType):
        return _codes_of(obj.__func__, seen)
    if isinstance(obj, types.FunctionType):
        out.append(obj.__code__)
        out += _nested_codes(obj.__code__)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            out += _codes_of(wrapped, seen)
        return out
    if isinstance(obj, type):  # the class and what it inherits (object's C methods aside)
        for cls in obj.__mro__:
            if cls.__module__ != "builtins":
                for value in vars(cls).values():
                    out += _codes_of(value, seen)
        return out
    wrapped = getattr(obj, "__wrapped__", None)
    if wrapped is not None:
        out += _codes_of(wrapped, seen)
    call = getattr(type(obj), "__call__", None)
    if isinstance(call, types.FunctionType) and not isinstance(obj, type):
        out += _codes_of(call, seen)
    return out


def _nested_codes(code: Any) -> list[Any]:
    out = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out.append(const)
            out += _nested_codes(const)
    return out


def parse(spec: str) -> list[_Rule]:
    """The rules of one forbidden entry (see the module's docstring for the grammar).

    Raises:
        ValueError: if the entry names nothing installed, or is not of the grammar.

    Example:
        >>> [r.spec for r in parse("torch:log_softmax")]
        ['torch:log_softmax']
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a forbidden entry is a non-empty string, got {spec!r}")
    spec = spec.strip()
    if spec in SHORTHANDS:
        return [r for s in SHORTHANDS[spec] for r in parse(s)]
    rule = _Rule(spec)
    if ":" in spec:
        package, _, name = spec.partition(":")
        if not package.isidentifier() or not name.strip("_").isidentifier():
            raise ValueError(f"forbidden entry {spec!r}: write 'package:name', such as "
                             "'torch:log_softmax'")
        rule.package, rule.name = package, name.strip("_")
        rule.roots = _module_files(package)
        return [rule]
    if _is_module(spec):
        rule.module = spec
        rule.roots = _module_files(spec)
        rule.is_lossbook = spec == "lossbook"
        return [rule]
    try:
        obj = _resolve(spec)
    except AttributeError as err:
        raise ValueError(f"forbidden entry {spec!r}: {err}") from None
    if isinstance(obj, types.BuiltinFunctionType):
        rule.cfuncs[id(obj)] = obj
    elif type(obj).__name__ in ("method_descriptor", "wrapper_descriptor"):
        rule.descriptors.append((obj.__objclass__, obj.__name__))
    codes = _codes_of(obj)
    if not codes and not rule.cfuncs and not rule.descriptors:
        raise ValueError(f"forbidden entry {spec!r}: {type(obj).__name__} is not something "
                         "the ban can see being called")
    rule.codes = {id(c): c for c in codes}
    return [rule]


def describe(spec: str) -> str:
    """The entry in words, as a part's text may say it.

    Example:
        >>> describe("torch:log_softmax")
        'any torch function or tensor method named log_softmax'
    """
    if spec in SHORTHANDS:
        return "automatic differentiation (torch.autograd, backward(), torch.func)"
    if ":" in spec:
        package, _, name = spec.partition(":")
        return f"any {package} function or tensor method named {name.strip('_')}"
    return f"anything from {spec}" if _is_module(spec) else spec


# ------------------------------------------------------------------------------ the hooks
_ACTIVE: list[Ban] = []  # the bans running now (innermost last)
_AUDIT_INSTALLED: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _ACTIVE:
        return
    me = threading.get_ident()
    ban = next((b for b in reversed(_ACTIVE) if type(b) is Ban and b._thread == me), None)
    if ban is None:
        return
    what = ALWAYS.get(event)
    if what is not None:
        ban._trip(what)
    elif event == "open" and ban._lossbook_roots and args and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if any(os.path.realpath(path).startswith(r) for r in ban._lossbook_roots):
            ban._trip(f"read the file {os.path.basename(path)} of lossbook")


def _install_audit_hook() -> None:
    if not _AUDIT_INSTALLED:
        sys.addaudithook(_audit)
        _AUDIT_INSTALLED.append(True)


# Installed when this module is imported, not by the first ban: the tamper guard records this
# module's state when the kernel starts, and a state that changed at the first ban would be
# "repaired" before the next test cell (and the hook added a second time).
_install_audit_hook()


class Ban:
    """Call a student's function where every declared reference is forbidden.

    Args:
        *forbid: the forbidden entries (see the module's docstring): ``"lossbook"``,
            ``"torch:huber_loss"``, ``"scipy.special.log_softmax"``, ``"sklearn"``, ...
        part: the part's name for messages (default: the name of the function called).

    Raises:
        ValueError: at once, if an entry names nothing installed.

    Example:
        >>> import numpy as np
        >>> ban = Ban("lossbook")
        >>> float(ban(np.add, 1.0, 2.0))
        3.0
    """

    def __init__(self, *forbid: str | Iterable[str], part: str | None = None) -> None:
        specs: list[str] = []
        for entry in forbid:
            specs += [entry] if isinstance(entry, str) else list(entry)
        self.forbid = tuple(specs)
        self.part = part
        self.rules = [r for s in specs for r in parse(s)]
        self.trips: list[str] = []
        _install_audit_hook()
        self._setup()

    # -- matching ---------------------------------------------------------------------------
    def _setup(self) -> None:
        self._codes: dict[int, tuple[Any, _Rule]] = {}
        self._cfuncs: dict[int, tuple[Any, _Rule]] = {}
        self._descriptors: dict[str, list[tuple[type, _Rule]]] = {}
        self._names: dict[str, _Rule] = {}
        self._name_roots: list[tuple[tuple[str, ...], str, _Rule]] = []
        self._root_rules: list[tuple[str, _Rule]] = []
        self._c_modules: list[tuple[str, _Rule]] = []
        self._lossbook_roots: tuple[str, ...] = ()
        for rule in self.rules:
            for key, code in rule.codes.items():
                self._codes[key] = (code, rule)
            for key, func in rule.cfuncs.items():
                self._cfuncs[key] = (func, rule)
            for cls, name in rule.descriptors:
                self._descriptors.setdefault(name, []).append((cls, rule))
            if rule.name:
                self._names[rule.name] = rule
                self._name_roots.append((rule.roots, rule.package, rule))
            elif rule.module:
                self._root_rules += [(root, rule) for root in rule.roots]
                self._c_modules.append((rule.module, rule))
            if rule.is_lossbook:
                self._lossbook_roots = rule.roots
        # Always trips: starting a thread (not audited before Python 3.13) and handing new
        # threads a profile or trace function.
        import _thread

        self._always_c = {id(f): f for f in (getattr(_thread, "start_new_thread", None),
                                             getattr(_thread, "start_new", None)) if f}
        self._always_codes = {id(f.__code__): f.__code__ for f in (
            getattr(threading, n, None) for n in ("setprofile", "settrace",
                                                  "setprofile_all_threads",
                                                  "settrace_all_threads"))
            if isinstance(f, types.FunctionType)}
        self._fingerprints = _lossbook_fingerprints() if self._lossbook_roots else {}
        self._op_calls: set[int] = set()
        if self._names and "torch" in sys.modules:
            ops = getattr(sys.modules["torch"], "_ops", None)
            for cls in (getattr(ops, "OpOverloadPacket", None), getattr(ops, "OpOverload", None)):
                call = getattr(cls, "__call__", None)
                if isinstance(call, types.FunctionType):
                    self._op_calls.add(id(call.__code__))
                    self._op_code_keep = call.__code__
        # filename -> the rule its code falls under (None: clean; False: check fingerprints)
        self._files: dict[str, Any] = {}
        self._library_roots = _library_roots()
        if self._lossbook_roots:
            import linecache

            self._files[linecache.getlines.__code__.co_filename] = "linecache"

    def _file_verdict(self, filename: str) -> Any:
        real = os.path.realpath(filename) if filename and not filename.startswith("<") \
            else filename
        for root, rule in self._root_rules:
            if real == root or real.startswith(root):
                return rule
        if self._name_roots:
            for roots, _package, rule in self._name_roots:
                if any(real == r or real.startswith(r) for r in roots):
                    return ("names", rule)
        if self._fingerprints and not any(real.startswith(r) for r in self._library_roots):
            return False  # not a library file: compare its code with lossbook's
        return None

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            hit = self._codes.get(id(code))
            if hit is not None and hit[0] is code:
                self._trip_call(hit[1], _python_name(frame), frame)
                return
            if self._always_codes.get(id(code)) is code:
                self._trip(f"called {_python_name(frame)}")
            filename = code.co_filename
            verdict = self._files.get(filename, _missing)
            if verdict is _missing:
                verdict = self._files[filename] = self._file_verdict(filename)
            if verdict is None:
                return
            if verdict is False:
                key = (code.co_code, code.co_names)
                name = self._fingerprints.get(key)
                if name is not None:
                    self._trip(f"ran code identical to {name}, copied from lossbook",
                               self._rule_lossbook())
                return
            if isinstance(verdict, tuple):
                rule = self._names.get(code.co_name.strip("_"))
                if rule is not None and rule.package == verdict[1].package:
                    self._trip_call(rule, _python_name(frame), frame)
                elif id(code) in self._op_calls:
                    op = frame.f_locals.get("self")
                    qualified = str(getattr(op, "_qualified_op_name", None)
                                    or getattr(op, "_name", ""))
                    opname = qualified.split("::")[-1].split(".")[0].strip("_")
                    rule = self._names.get(opname)
                    if rule is not None:
                        self._trip_call(rule, f"torch.ops.{qualified.replace('::', '.')}",
                                        frame)
                return
            if verdict == "linecache":
                name = frame.f_locals.get("filename")
                if code.co_name in ("getlines", "updatecache") and isinstance(name, str) and \
                        os.path.realpath(name).startswith(self._lossbook_roots):
                    self._trip(f"read the source of lossbook ({os.path.basename(name)})",
                               self._rule_lossbook())
                return
            self._trip_call(verdict, _python_name(frame), frame)
        elif event == "c_call":
            if self._always_c.get(id(arg)) is arg:
                self._trip("started a thread")
            hit = self._cfuncs.get(id(arg))
            if hit is not None and hit[0] is arg:
                self._trip_call(hit[1], _c_name(arg), frame)
                return
            name = getattr(arg, "__name__", "")
            bare = name.strip("_")
            owner = getattr(arg, "__self__", None)
            for cls, rule in self._descriptors.get(name, ()):
                if isinstance(owner, cls):
                    self._trip_call(rule, _c_name(arg), frame)
                    return
            if self._names:
                rule = self._names.get(bare)
                if rule is None:
                    for prefix in C_PREFIXES:
                        if bare.startswith(prefix):
                            rule = self._names.get(bare[len(prefix):])
                            if rule is not None:
                                break
                if rule is not None and _c_package(arg) == rule.package:
                    self._trip_call(rule, _c_name(arg), frame)
                    return
            if self._c_modules:
                module = _c_module(arg)
                for prefix, rule in self._c_modules:
                    if module == prefix or module.startswith(prefix + "."):
                        self._trip_call(rule, _c_name(arg), frame)
                        return

    def _rule_lossbook(self) -> _Rule:
        return next(r for r in self.rules if r.is_lossbook)

    def _trip_call(self, rule: _Rule, what: str, frame: Any) -> None:
        self._trip(f"called {what}", rule)

    def _trip(self, what: str, rule: _Rule | None = None) -> None:
        who = self._who
        reason = f"which this part forbids ({rule.spec!r})" if rule is not None else \
            "which no graded call may do"
        message = f"your {who} {what}, {reason}"
        if message not in self.trips:
            self.trips.append(message)
        # The ban has failed. Python drops a profile function that raises (and audits that
        # as sys.setprofile): disarm the audit hook first, so that it is not a second trip.
        while any(b is self for b in _ACTIVE):
            _ACTIVE.remove(self)
        raise BanViolation(message)

    # -- running ----------------------------------------------------------------------------
    def _foreign_threads(self) -> list[str]:
        out = []
        current = threading.get_ident()
        known = {t.ident: t for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            if ident == current:
                continue
            thread = known.get(ident)
            if thread is None:
                # Raw threads (``_thread.start_new_thread``) of the tools around the kernel,
                # such as execnet's I/O thread under pytest-xdist, run only their own code.
                if not _runs_only_trusted_code(frame):
                    out.append("a thread started without threading")
                continue
            if not _trusted_thread(thread) or _runs_user_code(frame, self._library_roots):
                out.append(f"thread {thread.name!r}")
        return out

    def _forbidden_ufuncs(self) -> dict[int, tuple[Any, _Rule, str]]:
        """The ufuncs that the forbidden packages define in their compiled modules (never
        NumPy's own, nor one a forbidden package merely imports from an allowed one): id ->
        (ufunc, rule, public dotted name). Only modules imported already count: importing
        one during the call runs its files, which trips the ban by itself."""
        numpy = sys.modules.get("numpy")
        if numpy is None or not self._c_modules:
            return {}
        import importlib.machinery

        compiled = tuple(importlib.machinery.EXTENSION_SUFFIXES)
        modules = [(name, m) for name, m in list(sys.modules.items()) if m is not None]
        out: dict[int, tuple[Any, _Rule, str]] = {}
        for prefix, rule in self._c_modules:
            mine = [(name, m) for name, m in modules
                    if name == prefix or name.startswith(prefix + ".")]
            for name, module in mine:
                if str(getattr(module, "__file__", "") or "").endswith(compiled):
                    for attr, value in list(vars(module).items()):
                        if isinstance(value, numpy.ufunc):
                            out.setdefault(id(value), (value, rule, f"{name}.{attr}"))
            for name, module in sorted(mine, key=lambda item: len(item[0])):
                if any(part.startswith("_") for part in name.split(".")):
                    continue
                for attr, value in list(vars(module).items()):
                    hit = out.get(id(value))
                    if hit is not None and hit[0] is value and "._" in hit[2]:
                        out[id(value)] = (value, hit[1], f"{name}.{attr}")
        return out

    def _stand_in(self, ufunc: Any, rule: _Rule, name: str) -> Callable[..., Any]:
        """What takes a forbidden ufunc's place during a call: it trips the ban."""

        def forbidden(*args: Any, **kwargs: Any) -> Any:
            self._trip(f"called {name}", rule)

        forbidden.__name__ = getattr(ufunc, "__name__", "ufunc")
        return forbidden

    def _swap_ufuncs(self, fn: Any) -> list[tuple[Any, Any, Any, Any]]:
        """Put stand-ins that trip the ban where the submission can name a forbidden ufunc;
        the list of swaps, to undo in :meth:`_stop`."""
        cached = getattr(self, "_ufunc_cache", None)
        if cached is None or cached[0] != len(sys.modules):
            ufuncs = self._forbidden_ufuncs()
            stand_ins: dict[int, Any] = {}
            for value, rule, name in ufuncs.values():
                stand_ins[id(value)] = self._stand_in(value, rule, name)
            # The forbidden modules' own names for them, with their stand-ins.
            places = [(vars(m), key, value, stand_ins[id(value)])
                      for name, m in (list(sys.modules.items()) if ufuncs else ())
                      if m is not None and any(name == prefix or name.startswith(prefix + ".")
                                               for prefix, _ in self._c_modules)
                      for key, value in list(vars(m).items())
                      if id(value) in ufuncs and ufuncs[id(value)][0] is value]
            self._ufunc_cache = cached = (len(sys.modules), ufuncs, places, stand_ins)
        ufuncs, places, stand_ins = cached[1], cached[2], cached[3]
        if not ufuncs:
            return []
        swaps: list[tuple[Any, Any, Any, Any]] = []
        for place in places:
            where, key, value, new = place
            if where.get(key) is value:
                where[key] = new
                swaps.append(place)

        def stand_in(value: Any) -> Any:
            return stand_ins[id(value)]

        def is_forbidden(value: Any) -> bool:
            hit = ufuncs.get(id(value))
            return hit is not None and hit[0] is value

        # A walk from the called function and the notebook's globals through closures,
        # defaults, the globals each function names, and class attributes.
        todo: list[Any] = []
        seen: set[int] = set()

        def scan_dict(where: dict[Any, Any], follow: bool) -> None:
            for key, value in list(where.items()):
                if is_forbidden(value):
                    new = stand_ins[id(value)]
                    where[key] = new
                    swaps.append((where, key, value, new))
                elif follow:
                    todo.append(value)

        spaces = [vars(sys.modules["__main__"])] if "__main__" in sys.modules else []
        target = getattr(fn, "__func__", fn)
        todo.append(target)
        for space in spaces:
            scan_dict(space, follow=True)
        while todo:
            obj = todo.pop()
            obj = getattr(obj, "__func__", obj)  # methods, static and class methods
            if id(obj) in seen or not isinstance(obj, (types.FunctionType, type)):
                continue
            seen.add(id(obj))
            if isinstance(obj, type):
                if obj.__module__ in ("builtins",) or obj.__module__.split(".")[0] in (
                        "numpy", "torch", "scipy", "sklearn", "lossbook", "lossbook_grader"):
                    continue
                for key, value in list(vars(obj).items()):
                    if is_forbidden(value):
                        swaps += _swap_class_attr(obj, ufuncs, stand_in)
                        break
                todo += [v for v in vars(obj).values()]
                continue
            for cell in obj.__closure__ or ():
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue
                if is_forbidden(value):
                    new = stand_ins[id(value)]
                    cell.cell_contents = new
                    swaps.append((cell, None, value, new))
                else:
                    todo.append(value)
            defaults = obj.__defaults__
            if defaults and any(is_forbidden(v) for v in defaults):
                new_defaults = tuple(stand_ins[id(v)] if is_forbidden(v) else v
                                     for v in defaults)
                obj.__defaults__ = new_defaults
                swaps.append((obj, "__defaults__", defaults, new_defaults))
            if isinstance(obj.__kwdefaults__, dict):
                scan_dict(obj.__kwdefaults__, follow=False)
            space = obj.__globals__
            if all(space is not g for g in spaces) and not str(
                    space.get("__name__", "")).startswith(_SKIP_GLOBALS):
                named = {n: space[n] for n in obj.__code__.co_names if n in space}
                for key, value in named.items():
                    if is_forbidden(value):
                        new = stand_ins[id(value)]
                        space[key] = new
                        swaps.append((space, key, value, new))
                    else:
                        todo.append(value)
        return swaps

    def __enter__(self) -> Ban:
        if _ACTIVE and _ACTIVE[-1]._thread == threading.get_ident():
            raise RuntimeError("bans do not nest: declare one Ban with every entry")
        self._who = self.part or "code"
        return self._start()

    def _start(self, fn: Any = None) -> Ban:
        self.trips = []
        self._thread = threading.get_ident()
        threads = self._foreign_threads()
        if threads:
            self.trips.append(f"your {self._who} had threads of its own running during the "
                              f"test ({', '.join(threads)}), which no graded call may have")
        self._swaps = self._swap_ufuncs(fn)
        self._previous = sys.getprofile()
        self._hook_ref = self._hook
        sys.setprofile(self._hook_ref)  # before the audit hook is armed: this one is ours
        _ACTIVE.append(self)
        return self

    def _stop(self) -> None:
        current = sys.getprofile()
        armed = any(b is self for b in _ACTIVE)
        while any(b is self for b in _ACTIVE):  # disarm the audit hook before our setprofile
            _ACTIVE.remove(self)
        if not armed and not self.trips:
            self.trips.append(f"your {self._who} tampered with the ban's records, which no "
                              "graded call may do")
        sys.setprofile(self._previous)
        for where, key, original, stand_in in self._swaps:
            _put_back(where, key, original, stand_in)
        self._swaps = []
        if current is not self._hook_ref and not self.trips:
            self.trips.append(f"your {self._who} removed or replaced the ban's profile "
                              "function, which no graded call may do")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._stop()
        self.check()

    def check(self) -> None:
        """Raise :class:`BanViolation` if anything tripped in the last call or block."""
        if self.trips:
            raise BanViolation("; ".join(self.trips)) from None

    def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` under the ban: its result, or :class:`BanViolation` if the
        call tripped (even when the function caught the exception)."""
        if _ACTIVE and _ACTIVE[-1]._thread == threading.get_ident():
            raise RuntimeError("bans do not nest: declare one Ban with every entry")
        self._who = self.part or getattr(fn, "__name__", "function")
        hidden = _hide_test_values(sys._getframe(1), fn)
        self._start(fn)
        try:
            result = fn(*args, **kwargs)
        except BanViolation:
            self._stop()
            _put_values_back(hidden)
            self.check()
            raise
        except BaseException:
            self._stop()
            _put_values_back(hidden)
            self.check()  # a trip explains the error better than the error itself
            raise
        self._stop()
        _put_values_back(hidden)
        self.check()
        return result

    __call__ = run

    def __repr__(self) -> str:
        return f"Ban({', '.join(map(repr, self.forbid))})"


def run_banned(fn: Callable[..., Any], /, *args: Any, forbid: Iterable[str],
               **kwargs: Any) -> Any:
    """``Ban(*forbid).run(fn, *args, **kwargs)``, for a one-off call."""
    return Ban(*forbid).run(fn, *args, **kwargs)


# ----------------------------------------------------------------------------- helpers
class _Missing:
    pass


_missing = _Missing()


# Libraries whose functions the walk of Ban._swap_ufuncs does not enter.
_SKIP_GLOBALS = ("numpy", "torch", "scipy", "sklearn", "lossbook", "lossbook_grader")


def _hide_test_values(frame: Any, fn: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Take the values that the calling test cell stored (its oracle: ``expected = ...``) out
    of the notebook's namespace for the length of the call, so that the student's function
    cannot read them (``globals()["expected"]``, a frame walk back to the cell).

    Only when the caller is module-level code (a notebook cell). Kept: modules, functions and
    classes (a re-import of ``numpy`` or a helper the test defines), the called function, and
    every name that a function defined in the cell reads (hooks the test installs). Returns
    the namespace and what was taken out, for :func:`_put_values_back`."""
    import dis

    space = frame.f_globals
    if frame.f_locals is not space or frame.f_code.co_name != "<module>":
        return space, {}
    code = frame.f_code
    stored = {ins.argval for ins in dis.get_instructions(code)
              if ins.opname in ("STORE_NAME", "STORE_GLOBAL")}
    used_by_helpers: set[str] = set()
    for nested in _nested_codes(code):
        used_by_helpers.update(nested.co_names)
    taken = {}
    for name in stored - used_by_helpers:
        value = space.get(name, _missing)
        if value is _missing or value is fn or callable(value) or \
                isinstance(value, types.ModuleType):
            continue
        taken[name] = space.pop(name)
    return space, taken


def _put_values_back(hidden: tuple[dict[str, Any], dict[str, Any]]) -> None:
    space, taken = hidden
    space.update(taken)


def _swap_class_attr(cls: type, ufuncs: dict[int, Any],
                     stand_in: Callable[[Any], Any]) -> list[tuple[Any, Any, Any, Any]]:
    swaps = []
    for key, value in list(vars(cls).items()):
        if id(value) in ufuncs and ufuncs[id(value)][0] is value:
            new = stand_in(value)
            setattr(cls, key, new)
            swaps.append((cls, ("class", key), value, new))
    return swaps


def _put_back(where: Any, key: Any, original: Any, stand_in: Any) -> None:
    """Undo one swap of :meth:`Ban._swap_ufuncs`, unless the submission changed it since."""
    if isinstance(where, dict):
        if where.get(key, _missing) is stand_in:
            where[key] = original
    elif isinstance(where, types.CellType):
        try:
            if where.cell_contents is stand_in:
                where.cell_contents = original
        except ValueError:
            pass
    elif isinstance(key, tuple):  # a class attribute
        if vars(where).get(key[1], _missing) is stand_in:
            setattr(where, key[1], original)
    elif getattr(where, key, None) is stand_in:  # a function's __defaults__
        setattr(where, key, original)


def _python_name(frame: Any) -> str:
    module = frame.f_globals.get("__name__", "?") if frame.f_globals is not None else "?"
    qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
    return f"{module}.{qualname}"


def _c_owner_module(owner: Any) -> str:
    if owner is None:
        return ""
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    cls = owner if isinstance(owner, type) else type(owner)
    return getattr(cls, "__module__", "") or ""


def _c_module(func: Any) -> str:
    module = getattr(func, "__module__", None)
    if isinstance(module, str) and module:
        return module
    return _c_owner_module(getattr(func, "__self__", None))


def _c_package(func: Any) -> str:
    owner = getattr(func, "__self__", None)
    module = _c_owner_module(owner) or _c_module(func)
    return module.split(".")[0]


def _c_name(func: Any) -> str:
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", repr(func))
    if owner is None or isinstance(owner, types.ModuleType):
        module = _c_module(func)
        return f"{module}.{name}" if module else name
    cls = owner if isinstance(owner, type) else type(owner)
    if cls.__name__ == "Tensor" or cls.__name__ == "TensorBase":
        return f"Tensor.{name} (a tensor method)"
    return f"{cls.__module__}.{cls.__qualname__}.{name}"


def _library_roots() -> tuple[str, ...]:
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    grader = os.path.dirname(os.path.abspath(__file__))
    roots.add(grader)
    return tuple(os.path.realpath(r) + os.sep for r in roots) + ("<frozen ",)


@functools.cache
def _trusted_thread_dirs() -> tuple[str, ...]:
    """The folders (or files) of the installed modules of TRUSTED_THREAD_MODULES."""
    import importlib.util

    dirs = []
    for name in TRUSTED_THREAD_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and spec.origin not in ("built-in", "frozen"):
            origin = os.path.realpath(spec.origin)
            dirs.append(os.path.dirname(origin) + os.sep if spec.submodule_search_locations
                        else origin)
    return tuple(dirs)


def _runs_only_trusted_code(frame: Any) -> bool:
    """Whether every frame of a thread's stack is code of a trusted package or of the standard
    library proper (a tool's I/O thread caught inside ``selectors`` or ``queue``; installed
    packages, under site-packages, do not count)."""
    trusted = _trusted_thread_dirs()
    stdlib, site = _stdlib_roots()
    while frame is not None:
        filename = frame.f_code.co_filename
        real = os.path.realpath(filename) if not filename.startswith("<") else filename
        if not (real.startswith(trusted) or real.startswith("<frozen ") or
                (real.startswith(stdlib) and not real.startswith(site))):
            return False
        frame = frame.f_back
    return True


@functools.cache
def _stdlib_roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The standard library's folders, and the site-packages folders (which may lie inside)."""
    import site as site_module
    import sysconfig

    paths = sysconfig.get_paths()
    stdlib = {os.path.realpath(paths[k]) + os.sep for k in ("stdlib", "platstdlib")
              if paths.get(k)}
    site = {os.path.realpath(paths[k]) + os.sep for k in ("purelib", "platlib") if paths.get(k)}
    site |= {os.path.realpath(p) + os.sep for p in site_module.getsitepackages()}
    site |= {os.path.realpath(p) + os.sep for p in sys.path if "-packages" in p}
    return tuple(stdlib), tuple(site)


def _trusted_thread(thread: threading.Thread) -> bool:
    cls = type(thread)
    if cls is threading._MainThread:  # type: ignore[attr-defined]
        return True
    if cls is not threading.Thread:
        module = cls.__module__ or ""
    else:
        target = getattr(thread, "_target", None)
        owner = getattr(target, "__self__", None)
        module = (getattr(target, "__module__", None)
                  or (type(owner).__module__ if owner is not None else "")) or ""
    return module.startswith(tuple(m for m in TRUSTED_THREAD_MODULES if m != "threading"))


def _runs_user_code(frame: Any, roots: tuple[str, ...]) -> bool:
    while frame is not None:
        filename = frame.f_code.co_filename
        real = os.path.realpath(filename) if not filename.startswith("<") else filename
        if not any(real.startswith(r) for r in roots):
            return True
        frame = frame.f_back
    return False


@functools.cache
def _lossbook_fingerprints() -> dict[tuple[bytes, tuple[str, ...]], str]:
    """(bytecode, names) -> qualified name, for every function compiled from lossbook's files
    (so that a copy of its source, compiled elsewhere, is recognised)."""
    out: dict[tuple[bytes, tuple[str, ...]], str] = {}
    for root in _module_files("lossbook"):
        for dirpath, _dirs, files in os.walk(root):
            for filename in files:
                if not filename.endswith(".py"):
                    continue
                path = os.path.join(dirpath, filename)
                try:
                    with open(path, encoding="utf-8") as fh:
                        module = compile(fh.read(), path, "exec")
                except (OSError, SyntaxError):
                    continue
                rel = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                modname = "lossbook" if rel == "__init__" else f"lossbook.{rel}"
                for code in _nested_codes(module):
                    if len(code.co_code) >= FINGERPRINT_MIN_BYTES:
                        key = (code.co_code, code.co_names)
                        name = f"{modname}.{code.co_qualname}"
                        out[key] = f"{out[key]} or {name}" if key in out else name
    return out


# ---------------------------------------------------------------------- declarations
def _declared_bans(source: str) -> dict[str, tuple[list[str], int]]:
    """name -> (entries, number of uses) for every ``name = Ban(...)`` in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    bans: dict[str, tuple[list[str], int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            fname = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            if fname == "Ban" and len(node.targets) == 1 and isinstance(node.targets[0],
                                                                         ast.Name):
                entries = [a.value for a in node.value.args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                bans[node.targets[0].id] = (entries, 0)
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                target = func.id
            elif isinstance(func, ast.Attribute) and func.attr == "run" and \
                    isinstance(func.value, ast.Name):
                target = func.value.id
        elif isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Name):
            target = node.context_expr.id
        if target in bans:
            entries, uses = bans[target]
            bans[target] = (entries, uses + 1)
    return bans


def _text_names(spec: str) -> list[str]:
    """The words a part's text must contain for one entry (any one of them)."""
    if spec in SHORTHANDS:
        return ["autograd", "backward"]
    name = spec.partition(":")[2] if ":" in spec else spec.split(".")[-1]
    name = name.strip("_")
    if spec == "sklearn":
        return ["sklearn", "scikit-learn"]
    if spec == "lossbook":
        return ["lossbook", "lb."]
    return [name]


def hidden_block(source: str) -> str:
    """The lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of a cell."""
    out, inside = [], False
    for line in source.splitlines():
        if "### BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "### END HIDDEN TESTS" in line:
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out)


def check_declarations(notebook: str | os.PathLike[str]) -> list[str]:
    """Problems with the bans of a source notebook (from ``solutions/``); empty when none.

    For every test cell (a graded cell) whose hidden tests declare a ``Ban``: each entry parses,
    the ban is used at least once (``ban(...)``, ``ban.run(...)`` or ``with ban:``), and each
    entry is named in the part's text (the markdown cells since the previous test cell).

    Args:
        notebook: a source notebook with hidden tests.

    Returns:
        One sentence per problem, naming the test cell.
    """
    import nbformat

    nb = nbformat.read(os.fspath(notebook), as_version=4)
    problems: list[str] = []
    text: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            text.append(cell.source)
            continue
        if not meta.get("grade"):
            continue
        gid = meta.get("grade_id", "?")
        part_text = "\n".join(text)
        text = []
        for name, (entries, uses) in _declared_bans(hidden_block(cell.source)).items():
            if not entries:
                problems.append(f"{gid}: {name} = Ban() forbids nothing")
            if uses == 0:
                problems.append(f"{gid}: {name} is declared but no hidden test calls through "
                                "it")
            for entry in entries:
                try:
                    parse(entry)
                except ValueError as err:
                    problems.append(f"{gid}: {err}")
                    continue
                if not any(w in part_text for w in _text_names(entry)):
                    problems.append(f"{gid}: the part's text does not say that "
                                    f"{describe(entry)} is forbidden (write "
                                    f"{' or '.join(_text_names(entry))!r} in it)")
    return problems
