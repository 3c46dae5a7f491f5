"""Inside the grading kernel: undo a submission's tampering before every test cell.

A student's code and the tests run in the same Python process, so a submission can try to pass
the tests without solving anything: replace ``numpy.testing.assert_allclose`` with a function
that accepts everything, rebind ``np`` to a fake module, swallow ``AssertionError`` with
``get_ipython().set_custom_exc``, add an AST transformer that deletes ``assert`` statements, or
patch the kernel so that errors are never reported.

The grader loads this module as an IPython extension when the kernel starts, before any cell.
:func:`install` imports the modules the tests rely on and records what they look like.
Before each locked cell (tests and read-only cells) the grader calls :func:`before_cell`,
which puts everything back and records what had to be repaired; after it, :func:`after_cell`
records the names that the locked cell itself defined (``np``, ``lb``, helpers), so that a
later rebinding by the student is undone too. :func:`report` lists every repair; the grader
flags such a submission for review.

This is a tripwire, not a wall: code in the same process can always reach these records. The
sandbox around the kernel is what protects the machine, the gradebook and other students;
this module makes the common ways of faking a test result fail, and shows the rest.
"""

from __future__ import annotations

import builtins
import importlib
import json
import sys
import types
from typing import Any

__all__ = ["after_cell", "before_cell", "install", "load_ipython_extension", "rebase",
           "report"]

# Modules whose contents the tests rely on (those not installed are skipped).
WATCHED = (
    "builtins", "math", "operator", "functools", "unittest", "unittest.mock", "warnings",
    "numpy", "numpy.testing", "numpy.linalg", "numpy.random",
    "torch", "torch.testing", "torch.nn", "torch.nn.functional", "torch.autograd",
    "lossbook", "lossbook_grader.ban",
)
# Packages whose every module is watched (found when the guard installs), with their classes,
# their module-level lists and dicts, and the objects listed in WATCHED_OBJECTS: the reference
# the hidden tests compute their expected values with must be the real one.
WATCHED_PACKAGES = ("lossbook",)
# Instances whose attributes are put back exactly (a namespace's primitives are attributes and
# methods of these objects): "module:attribute", or "module:function()" for an object made on
# first use.
WATCHED_OBJECTS = ("lossbook._backend:NUMPY", "lossbook._backend:torch_namespace()")
# Names that change on every request by design (ipykernel swaps in its own input(); the
# display hook stores the last results in _, __ and ___).
VOLATILE = {"builtins": {"_", "__", "___", "input", "raw_input"},
            # the first optimizer step imports torch._dynamo, which wraps torch.manual_seed
            "torch": {"manual_seed"},
            # a student may call lossbook.notebook.setup() again: the device it records
            "lossbook.notebook": {"_chosen_device"}}
# Event callbacks registered by these packages are the course's (matplotlib's inline backend
# flushes figures after each cell); any other new callback is the submission's.
TRUSTED_CALLBACK_PACKAGES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline",
                             "ipywidgets", "tqdm", "lossbook", "lossbook_grader")
# Attributes of objects that decide whether an error is reported.
SHELL_LISTS = ("ast_transformers", "input_transformers_post")
TRANSFORMER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")

_state: dict[str, Any] = {}


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()


def _is_function(value: Any) -> bool:
    return isinstance(value, types.FunctionType)


def _watched_classes(shell: Any) -> list[type]:
    """Classes of the shell, kernel, session and hooks, plus torch.Tensor, whose methods a
    submission could replace."""
    objects = [shell, getattr(shell, "kernel", None), getattr(shell, "displayhook", None),
               getattr(shell, "display_pub", None)]
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        objects.append(getattr(kernel, "session", None))
    classes: list[type] = []
    for obj in objects:
        if obj is None:
            continue
        for cls in type(obj).__mro__:
            if cls.__module__.split(".")[0] in ("IPython", "ipykernel", "jupyter_client"):
                if cls not in classes:
                    classes.append(cls)
    torch = sys.modules.get("torch")
    if torch is not None:
        classes.append(torch.Tensor)
    return classes


def _instances(shell: Any) -> dict[str, Any]:
    kernel = getattr(shell, "kernel", None)
    out = {"shell": shell, "displayhook": getattr(shell, "displayhook", None),
           "display_pub": getattr(shell, "display_pub", None), "kernel": kernel,
           "session": getattr(kernel, "session", None)}
    return {k: v for k, v in out.items() if v is not None}


def _package_modules(package: str) -> list[str]:
    """The names of every module of an installed package (the package itself first)."""
    import pkgutil

    try:
        root = importlib.import_module(package)
    except ImportError:
        return []
    names = [package]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=package + "."):
        names.append(info.name)
    return names


def _package_classes(modules: dict[str, Any]) -> list[type]:
    """The classes defined in the watched packages' modules (lossbook's namespaces)."""
    out: list[type] = []
    for name, module in modules.items():
        if not name.startswith(tuple(p + "." for p in WATCHED_PACKAGES) + WATCHED_PACKAGES) \
                and name != "lossbook_grader.ban":
            continue
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == name and value not in out:
                out.append(value)
    return out


def _watched_objects(modules: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for entry in WATCHED_OBJECTS:
        module_name, _, attr = entry.partition(":")
        module = modules.get(module_name)
        if module is None:
            continue
        try:
            obj = getattr(module, attr[:-2])() if attr.endswith("()") else getattr(module, attr)
        except Exception:  # torch is not installed: no torch namespace to watch
            continue
        if hasattr(obj, "__dict__"):
            out[entry] = obj
    return out


def install(shell: Any = None) -> None:
    """Record the trusted state; called once when the kernel starts."""
    shell = shell or _shell()
    modules = {}
    names = list(WATCHED)
    for package in WATCHED_PACKAGES:
        names += [n for n in _package_modules(package) if n not in names]
    for name in names:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:
            continue
    objects = _watched_objects(modules)  # first: it makes the torch namespace
    _state.clear()
    _state["modules"] = modules
    _state["objects"] = {label: (obj, dict(vars(obj))) for label, obj in objects.items()}
    _state["module_dicts"] = {name: dict(vars(m)) for name, m in modules.items()}
    _state["code"] = {
        id(f): (f, f.__code__, f.__defaults__, f.__kwdefaults__)
        for d in _state["module_dicts"].values() for f in d.values() if _is_function(f)
    }
    # the contents of the packages' module-level lists and dicts (lossbook._backend._TORCH)
    _state["containers"] = [
        (f"{name}.{key}", value, list(value) if isinstance(value, list) else dict(value))
        for name, d in _state["module_dicts"].items()
        if name.split(".")[0] in WATCHED_PACKAGES or name == "lossbook_grader.ban"
        for key, value in d.items() if type(value) in (list, dict) and not key.startswith("__")
    ]
    classes = _watched_classes(shell) + [c for c in _package_classes(modules)
                                         if c not in _watched_classes(shell)]
    _state["classes"] = [(cls, dict(vars(cls))) for cls in classes]
    for _cls, attrs in _state["classes"]:
        for f in attrs.values():
            if _is_function(f):
                _state["code"][id(f)] = (f, f.__code__, f.__defaults__, f.__kwdefaults__)
    _state["instances"] = {k: (obj, dict(vars(obj))) for k, obj in _instances(shell).items()}
    _state["shell_lists"] = {k: list(getattr(shell, k)) for k in SHELL_LISTS
                             if hasattr(shell, k)}
    manager = getattr(shell, "input_transformer_manager", None)
    _state["transformer_lists"] = {k: list(getattr(manager, k)) for k in TRANSFORMER_LISTS
                                   if hasattr(manager, k)}
    _state["events"] = {k: list(v) for k, v in shell.events.callbacks.items()}
    _state["custom_exceptions"] = shell.custom_exceptions
    _state["custom_tb"] = vars(shell).get("CustomTB", _missing)
    kernel = getattr(shell, "kernel", None)
    _state["handlers"] = {k: dict(getattr(kernel, k)) for k in ("shell_handlers",
                                                                "control_handlers")
                          if kernel is not None and hasattr(kernel, k)}
    _state.setdefault("names", {})
    _state.setdefault("mark", {})
    _state.setdefault("repairs", [])


def rebase() -> None:
    """Take the current state as the trusted one (after the course's own set-up cells, before
    any student code has run)."""
    names, mark, repairs = (_state.get(k, {}) for k in ("names", "mark", "repairs"))
    install()
    _state.update(names=names, mark=mark, repairs=repairs or [])


def load_ipython_extension(shell: Any) -> None:
    """IPython extension hook: ``--IPKernelApp.extra_extensions=lossbook_grader.guard``."""
    install(shell)


def _repair(what: str) -> None:
    if what not in _state["repairs"]:
        _state["repairs"].append(what)


def _restore_mapping(label: str, target: dict[str, Any], saved: dict[str, Any],
                     setter: Any, only_callables: bool = False) -> None:
    for key, value in saved.items():
        if only_callables and not callable(value):
            continue
        if key not in target or target[key] is not value:
            setter(key, value)
            _repair(f"{label}.{key}")


def before_cell() -> None:
    """Put back every recorded object; run before each locked cell."""
    if "modules" not in _state:
        raise RuntimeError("the grading guard lost its state (the submission removed it)")
    shell = _shell()
    for name, module in _state["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            _repair(f"sys.modules[{name!r}]")
        skip = VOLATILE.get(name, set())
        saved = {k: v for k, v in _state["module_dicts"][name].items() if k not in skip}
        _restore_mapping(name, vars(module), saved, lambda k, v, m=module: setattr(m, k, v))
    for f, code, defaults, kwdefaults in _state["code"].values():
        if (f.__code__, f.__defaults__, f.__kwdefaults__) != (code, defaults, kwdefaults):
            f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults
            _repair(f"{getattr(f, '__module__', '?')}.{f.__qualname__}.__code__")
    for cls, saved in _state["classes"]:
        current = vars(cls)
        for key, value in saved.items():
            if current.get(key, _missing) is not value:
                try:
                    setattr(cls, key, value)
                except (AttributeError, TypeError):  # e.g. __dict__ slots of builtin types
                    continue
                _repair(f"{cls.__module__}.{cls.__qualname__}.{key}")
        for key in [k for k in current if k not in saved and callable(current[k])]:
            delattr(cls, key)
            _repair(f"{cls.__module__}.{cls.__qualname__}.{key} (added)")
    for label, current_list, saved_items in _state["containers"]:
        if not _same_items(current_list, saved_items):
            if isinstance(current_list, list):
                current_list[:] = saved_items
            else:
                current_list.clear()
                current_list.update(saved_items)
            _repair(label)
    for label, (obj, saved) in _state["objects"].items():
        current = vars(obj)
        for key, value in saved.items():
            if current.get(key, _missing) is not value:
                current[key] = value
                _repair(f"{label}.{key}")
        for key in [k for k in current if k not in saved]:
            del current[key]
            _repair(f"{label}.{key} (added)")
    for label, (obj, saved) in _state["instances"].items():
        current = vars(obj)
        _restore_mapping(label, current, saved, lambda k, v, o=obj: setattr(o, k, v),
                         only_callables=True)
        # An instance attribute that shadows a method (shell.showtraceback = ...) goes away.
        for key in [k for k in current if k not in saved and callable(current[k])
                    and hasattr(type(obj), k)]:
            delattr(obj, key)
            _repair(f"{label}.{key} (shadowed)")
    for key, saved_list in _state["shell_lists"].items():
        if list(getattr(shell, key)) != saved_list:
            setattr(shell, key, list(saved_list))
            _repair(f"shell.{key}")
    manager = shell.input_transformer_manager
    for key, saved_list in _state["transformer_lists"].items():
        if list(getattr(manager, key)) != saved_list:
            setattr(manager, key, list(saved_list))
            _repair(f"input_transformer_manager.{key}")
    for key, saved_list in _state["events"].items():
        current = shell.events.callbacks.setdefault(key, [])
        keep = [cb for cb in current if cb in saved_list or _trusted_callback(cb)]
        keep += [cb for cb in saved_list if cb not in keep]
        if keep != current:
            current[:] = keep
            _repair(f"events[{key!r}]")
    custom_tb = vars(shell).get("CustomTB", _missing)
    if shell.custom_exceptions != _state["custom_exceptions"] or \
            custom_tb is not _state["custom_tb"]:
        shell.custom_exceptions = _state["custom_exceptions"]
        if _state["custom_tb"] is _missing:
            vars(shell).pop("CustomTB", None)
        else:
            shell.CustomTB = _state["custom_tb"]
        _repair("shell.set_custom_exc")
    kernel = getattr(shell, "kernel", None)
    for key, saved_handlers in _state["handlers"].items():
        current = getattr(kernel, key)
        if current != saved_handlers:
            current.clear()
            current.update(saved_handlers)
            _repair(f"kernel.{key}")
    user_ns = shell.user_ns
    for key, value in _state["names"].items():
        if user_ns.get(key, _missing) is not value:
            user_ns[key] = value
            _repair(f"name {key!r}")
    _state["mark"] = {k: id(v) for k, v in user_ns.items()}


def _same_items(current: Any, saved: Any) -> bool:
    """Whether a list or dict holds the same objects as its saved copy (by identity: arrays
    have no truth value)."""
    if len(current) != len(saved):
        return False
    if isinstance(current, list):
        return all(a is b for a, b in zip(current, saved))
    return all(k in current and current[k] is v for k, v in saved.items())


def _trusted_callback(callback: Any) -> bool:
    func = getattr(callback, "__func__", callback)
    module = getattr(func, "__module__", None) or ""
    return module.split(".")[0] in TRUSTED_CALLBACK_PACKAGES


def after_cell(trust: bool = False) -> None:
    """Record the names a locked cell bound (run after it); with ``trust``, also take the
    current state as trusted (the grader asks for this while no student code has run yet)."""
    if "modules" not in _state:
        raise RuntimeError("the grading guard lost its state (the submission removed it)")
    if trust:
        rebase()
    before = _state["mark"]
    for key, value in _shell().user_ns.items():
        if not key.startswith("_") and before.get(key) != id(value):
            _state["names"][key] = value


def report() -> str:
    """Every repair made so far, as a JSON list of strings."""
    return json.dumps(list(_state.get("repairs", ["the grading guard lost its state"])))


class _Missing:
    pass


_missing = _Missing()
# The builtins module is watched like any other; keep a reference so `builtins` stays bound.
_ = builtins
