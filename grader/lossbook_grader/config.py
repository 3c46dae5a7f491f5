"""nbgrader's configuration for the lossbook course, filled in by a function.

nbgrader reads ``nbgrader_config.py`` from the course directory; the course's file is three
lines that call :func:`configure_course` with nbgrader's config object ``c`` and the folder the
file is in. That sets:

* the course layout: nbgrader's *source* folder is ``solutions/`` (notebooks with solutions and
  hidden tests), its *release* folder ``exercises/`` (what students get); submissions,
  autograded copies and feedback go to nbgrader's default folders (``submitted/``,
  ``autograded/``, ``feedback/``);
* the gradebook: nbgrader's SQLite database ``gradebook.db`` in the course directory, or the
  database URL in ``LOSSBOOK_GRADEBOOK_URL``;
* what students see in place of a solution;
* through :func:`configure`, the sandboxed, guarded Execute step for autograde, the feedback
  step that strips hidden tests and explains failures in words
  (:class:`~lossbook_grader.feedback.HideHiddenTests`, in ``GenerateFeedback.preprocessors``)
  and our LMS collector for ``zip_collect``. Autograde's preprocessors stay nbgrader's own, in nbgrader's
  order, with ``Execute`` swapped for :class:`~lossbook_grader.execute.SandboxedExecute`.

Anything the course's ``nbgrader_config.py`` sets after the call (a late-submission policy,
another LMS file-name pattern) overrides these settings, as in any nbgrader config file.

Environment variables (set by ``lossbook-grade``, or by hand around ``nbgrader autograde``):

``LOSSBOOK_GRADEBOOK_URL``
    the gradebook's database URL (default: ``sqlite:///<course>/gradebook.db``).

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

__all__ = ["configure", "configure_course", "switched_on"]

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
    # Feedback shows no hidden test: nbgrader's GetGrades, then our step, then its CSS.
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters.generate_feedback import GenerateFeedback

    from .feedback import HideHiddenTests

    steps = list(GenerateFeedback.class_traits()["preprocessors"].default())
    steps.insert(steps.index(CSSHTMLHeaderPreprocessor) if CSSHTMLHeaderPreprocessor in steps
                 else len(steps), HideHiddenTests)
    c.GenerateFeedback.preprocessors = steps
    # zip_collect reads LMS file names with our collector (timestamps, renamed copies).
    c.ZipCollectApp.collector_plugin = "lossbook_grader.collect.LMSCollector"
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


def configure_course(c: Any, root: str | os.PathLike[str]) -> None:
    """Fill nbgrader's config object ``c`` for the lossbook course whose directory is ``root``.

    The course's ``nbgrader_config.py`` calls it as
    ``configure_course(get_config(), os.path.dirname(os.path.abspath(__file__)))``.

    Example:
        >>> from traitlets.config import Config
        >>> c = Config()
        >>> configure_course(c, "/srv/course")
        >>> c.CourseDirectory.source_directory, c.CourseDirectory.release_directory
        ('solutions', 'exercises')
    """
    root = os.fspath(root)
    c.CourseDirectory.root = root
    c.CourseDirectory.course_id = "lossbook"
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "exercises"
    # The gradebook is nbgrader's SQLite database; point LOSSBOOK_GRADEBOOK_URL elsewhere to
    # move it.
    c.CourseDirectory.db_url = os.environ.get(
        "LOSSBOOK_GRADEBOOK_URL", "sqlite:///" + os.path.join(root, "gradebook.db"))
    # Only notebooks are assignment files; nothing else is copied into the release.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

    # What students see in place of a solution.
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

    # Autograding runs student code in a sandboxed kernel (no network, bounded memory, CPU time
    # and output, a filesystem view without the gradebook, other submissions or solutions) and
    # undoes tampering before every test cell. A cell is interrupted after
    # LOSSBOOK_CELL_TIMEOUT seconds (default 300). LOSSBOOK_SANDBOX=off turns the sandbox off,
    # for trusted code only; see the "For instructors" page. Grading stops with a clear error
    # when the sandbox cannot be set up.
    configure(c)
