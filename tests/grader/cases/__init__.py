"""Per-assignment expectations of the grading suites: one module per assignment (``aNN_name.py``,
for ``NN-name``), so that an assignment's parts, partial credit and cheats are changed in one place.

Every assignment in ``solutions/`` must have a module here: :func:`load` fails otherwise.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BAN, OTHER = True, False  # does the cheat earn points when the ban does nothing?


def module_name(assignment: str) -> str:
    return "cases.a" + assignment.replace("-", "_")


def load(assignment: str) -> ModuleType:
    """The expectations of one assignment; a clear error when its module is missing."""
    try:
        mod = importlib.import_module(module_name(assignment))
    except ModuleNotFoundError as exc:
        raise AssertionError(f"no expectations for assignment {assignment!r}: add "
                             f"tests/grader/{module_name(assignment).replace('.', '/')}.py "
                             f"(NOTEBOOK, PARTIAL, CHEATS, TRAINING)") from exc
    assert mod.ASSIGNMENT == assignment, (mod.__name__, mod.ASSIGNMENT)
    return mod
