"""From an LMS export or a plain folder to nbgrader's ``submitted/<student>/<assignment>/``.

Two ways in, both ending in nbgrader's own layout:

* **An LMS export** (zip files in ``downloaded/<assignment>/archive/``) goes through nbgrader's
  ``zip_collect`` with :class:`LMSCollector` as its collector plugin (the course's
  ``nbgrader_config.py`` sets it, through :func:`lossbook_grader.config.configure`). The default file-name pattern is the one Blackboard-style exports use,
  ``<anything>_<student>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>``; change
  ``LMSCollector.named_regexp`` for another LMS (the "For instructors" page shows the Canvas
  pattern). Files that do not match, or are not notebooks, are skipped with a warning.
* **A plain folder** with one sub-folder per student (``<folder>/<student>/*.ipynb``) is
  copied by :func:`collect_folder`.

Either way a notebook whose name is a decorated copy of the released one
(``regression-losses (1).ipynb``, ``Copy of regression-losses.ipynb``,
``regression_losses-2.ipynb``) is saved under the released name, so that an LMS renaming a
re-upload does not cost a student their grade. Any other name is kept, and nbgrader then scores
the expected notebook as missing.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

__all__ = ["DEFAULT_PATTERN", "LMSCollector", "collect_folder", "match_notebook"]

DEFAULT_PATTERN = (r"^(?:.*?_)?(?P<student_id>[A-Za-z0-9.@-]+)_attempt_"
                   r"(?P<timestamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})_(?P<file_id>.+)$")
_DECORATIONS = (
    re.compile(r"^copy of\s+", re.IGNORECASE),
    re.compile(r"\s*\(\d+\)$"),            # "name (1)"
    re.compile(r"[-_ ]\d+$"),              # "name-1", "name_2"
    re.compile(r"[-_ ]copy$", re.IGNORECASE),
)


def _canonical(stem: str) -> str:
    previous = None
    while previous != stem:
        previous = stem
        for pattern in _DECORATIONS:
            stem = pattern.sub("", stem.strip())
    return re.sub(r"[\s_]+", "-", stem.lower())


def match_notebook(filename: str, expected: list[str]) -> str | None:
    """The released notebook that ``filename`` is a (possibly renamed) copy of, or None.

    Args:
        filename: the submitted file's name, e.g. ``"regression-losses (1).ipynb"``.
        expected: the released notebooks' names, e.g. ``["regression-losses.ipynb"]``.

    Returns:
        The matching released name, or None if the name matches none of them.

    Example:
        >>> match_notebook("Copy of regression_losses (2).ipynb", ["regression-losses.ipynb"])
        'regression-losses.ipynb'
        >>> match_notebook("Untitled.ipynb", ["regression-losses.ipynb"]) is None
        True
    """
    stem, ext = os.path.splitext(os.path.basename(filename))
    if ext != ".ipynb":
        return None
    if filename in expected:
        return filename
    canonical = [_canonical(os.path.splitext(name)[0]) for name in expected]
    # Only a name that one released notebook alone reduces to can be matched loosely.
    wanted = {c: name for c, name in zip(canonical, expected) if canonical.count(c) == 1}
    return wanted.get(_canonical(stem))


def released_notebooks(course: str | os.PathLike[str], release: str, assignment: str) -> list[str]:
    """Names of the released notebooks of ``assignment``."""
    folder = Path(course) / release / assignment
    return sorted(p.name for p in folder.glob("*.ipynb"))


class LMSCollector(FileNameCollectorPlugin):
    """nbgrader ``zip_collect`` plugin: LMS file names to student, notebook and timestamp."""

    named_regexp = Unicode(DEFAULT_PATTERN, help="Pattern with the named groups student_id, "
                           "file_id and optionally timestamp, matched against each file's "
                           "name (not its folder).").tag(config=True)
    timestamp_format = Unicode("%Y-%m-%d-%H-%M-%S", help="strptime format of the timestamp "
                               "group (UTC)").tag(config=True)

    def collect(self, submitted_file: str) -> dict[str, Any] | None:
        _, ext = os.path.splitext(submitted_file)
        if ext not in self.valid_ext:
            self.log.warning("Skipped (not a notebook): %s", submitted_file)
            return None
        info = self._match(os.path.basename(submitted_file))
        if not info:
            return None
        stamp = info.get("timestamp")
        if stamp:
            try:
                when = datetime.strptime(stamp, self.timestamp_format)
            except ValueError:
                self.log.warning("Skipped (timestamp %r is not %s): %s", stamp,
                                 self.timestamp_format, submitted_file)
                return None
            info["timestamp"] = when.isoformat(" ")
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is not None:
            expected = released_notebooks(coursedir.root, coursedir.release_directory,
                                          coursedir.assignment_id)
            name = match_notebook(info["file_id"], expected)
            if name is not None and name != info["file_id"]:
                self.log.warning("Renamed %r to %r (a copy of the released notebook)",
                                 info["file_id"], name)
                info["file_id"] = name
        return info


def collect_folder(source: str | os.PathLike[str], course: str | os.PathLike[str],
                   assignment: str, *, submitted: str = "submitted",
                   release: str = "exercises") -> dict[str, list[str]]:
    """Copy ``source/<student>/*`` into ``course/submitted/<student>/<assignment>/``.

    A student's earlier copy is replaced. Notebook names are matched to the released ones with
    :func:`match_notebook`.

    Returns:
        student id -> notes about the collection (renamed notebooks, missing ones).

    Raises:
        FileNotFoundError: if ``source`` is not a folder.
    """
    src = Path(source)
    if not src.is_dir():
        raise FileNotFoundError(f"submissions folder {str(src)!r} does not exist")
    expected = released_notebooks(course, release, assignment)
    notes: dict[str, list[str]] = {}
    for student_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        student = student_dir.name
        dest = Path(course) / submitted / student / assignment
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        notes[student] = []
        for path in sorted(p for p in student_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(student_dir)
            name = match_notebook(path.name, expected) if path.suffix == ".ipynb" else None
            if name is not None and len(rel.parts) == 1:
                if name != path.name:
                    notes[student].append(f"renamed {path.name!r} to {name!r}")
                rel = Path(name)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
        for name in expected:
            if not (dest / name).exists():
                notes[student].append(f"missing {name}")
    return notes
