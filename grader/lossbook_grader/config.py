"""Make nbgrader's autograde use the sandboxed, guarded Execute step (and zip_collect our
LMS collector).

``nbgrader_config.py`` calls :func:`configure` with nbgrader's config object ``c``. Autograde's
preprocessors stay nbgrader's own, in nbgrader's order, with ``Execute`` swapped for
:class:`~lossbook.grading.execute.SandboxedExecute`.

Environment variables (set by ``lossbook grade``, or by hand around ``nbgrader autograde``):

``LOSSBOOK_SANDBOX``
    ``off`` (or ``0``, ``false``, ``no``) runs student code without the sandbox. Only for code
    you trust; the default is on, and grading stops if the sandbox cannot be set up.
``LOSSBOOK_CELL_TIMEOUT``
    seconds one cell may run before it is interrupted (default 300).
``LOSSBOOK_MEMORY_MB``, ``LOSSBOOK_CPU_SECONDS``
    the sandboxed kernel's memory and CPU-time limits.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["configure", "switched_on"]

OFF = ("off", "0", "false", "no")


def switched_on(name: str, environ: dict[str, str] | None = None) -> bool:
    """Whether the switch ``name`` (``LOSSBOOK_SANDBOX``, ``LOSSBOOK_GUARD``) is on: it is
    unless set to one of ``OFF``."""
    value = (environ if environ is not None else os.environ).get(name, "on")
    return value.strip().lower() not in OFF


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def configure(c: Any) -> None:
    """Point nbgrader's autograde at the sandboxed Execute step and set its limits."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from .execute import SandboxedExecute
    from .sandbox import Limits

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    c.Autograde.autograde_preprocessors = [SandboxedExecute if p is Execute else p
                                           for p in default]
    # zip_collect reads LMS file names with our collector (timestamps, renamed copies).
    c.ZipCollectApp.collector_plugin = "lossbook.grading.collect.LMSCollector"
    c.SandboxedExecute.sandbox = switched_on("LOSSBOOK_SANDBOX")
    # LOSSBOOK_GUARD=off skips the tamper guard (the test suite uses it to show that the
    # attacks it defends against are real).
    c.SandboxedExecute.guard = switched_on("LOSSBOOK_GUARD")
    timeout = _int_env("LOSSBOOK_CELL_TIMEOUT", 300)
    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.SandboxedExecute.memory_mb = _int_env("LOSSBOOK_MEMORY_MB", Limits.memory_mb)
    c.SandboxedExecute.cpu_seconds = _int_env("LOSSBOOK_CPU_SECONDS",
                                              max(Limits.cpu_seconds, 3 * timeout))
