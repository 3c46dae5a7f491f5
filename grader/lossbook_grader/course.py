"""Course operations: the real nbgrader commands, and ``lossbook-grade``, on a course directory.

What the grader's tests, the Colab-like test and the grading benchmark (``bench/grading.py``)
do with the course, written once: copy the course to a fresh folder (:func:`make_course_copy`),
run ``nbgrader`` and ``lossbook-grade`` there (:func:`nbgrader`, :func:`lossbook_grade`, with
:func:`course_env`), and make students' submissions from the solutions
(:func:`solution_sources`, :func:`fill_in`)::

    from lossbook_grader.course import fill_in, make_course_copy, nbgrader, solution_sources

    course = make_course_copy(Path("/tmp/course"))
    nbgrader(course, "generate_assignment", "01-regression", "--force")

**Which course.** Every function that reads the course takes its directory as ``course=``.
Left out, it is :func:`course_root`: the nearest folder at or above the current directory that
holds ``nbgrader_config.py``; in a checkout of the repository, from anywhere inside it, that is
the repository's root. It is never derived from where this package is installed: a grader
installed without ``-e`` lives in site-packages, inside no course. ``ROOT`` is
``course_root()``, found the first time it is used.

The commands are the ones of the Python environment this module runs in (:data:`BIN`, the
folder of ``sys.executable``, where pip put ``nbgrader`` and ``lossbook-grade``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

__all__ = ["BIN", "NbgraderError", "assignments", "auto_points", "course_env", "course_root",
           "fill_in", "graded_cells", "lossbook_grade", "make_course_copy", "nbgrader",
           "solution_sources"]

BIN = Path(sys.executable).parent
CONFIG = "nbgrader_config.py"


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


def course_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The course directory: the nearest folder at or above ``start`` holding nbgrader_config.py.

    Args:
        start: where to start looking (default: the current directory).

    Raises:
        FileNotFoundError: if neither ``start`` nor any folder above it is a course directory.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     course = Path(tmp).resolve()
        ...     _ = (course / "nbgrader_config.py").write_text("")
        ...     (course / "solutions" / "01-regression").mkdir(parents=True)
        ...     print(course_root(course / "solutions" / "01-regression") == course)
        True
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise FileNotFoundError(f"no {CONFIG} in {here} or any folder above it: run this in the "
                            "course directory (the repository's root) or pass course=")


@functools.cache
def _root() -> Path:
    return course_root()


def __getattr__(name: str) -> Path:
    # ROOT is looked up on first use, from the current directory at that moment.
    if name == "ROOT":
        return _root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def assignments(course: str | os.PathLike[str] | None = None) -> list[str]:
    """The assignments of the course: the folders of ``solutions/`` that hold a notebook."""
    root = Path(course) if course is not None else _root()
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def make_course_copy(dest: str | os.PathLike[str],
                     course: str | os.PathLike[str] | None = None) -> Path:
    """A fresh course directory at ``dest`` holding only what an instructor's checkout has:
    ``nbgrader_config.py`` and ``solutions/`` (no gradebook, no release, no submissions)."""
    root = Path(course) if course is not None else _root()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / CONFIG, dest / CONFIG)
    shutil.copytree(root / "solutions", dest / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def course_env(**extra: str) -> dict[str, str]:
    """The environment of a command run in a course copy: the venv's tools first on PATH, and
    the course's own gradebook (never one set for the developer's checkout)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("LOSSBOOK_GRADEBOOK_URL", None)  # unless ``extra`` names one
    env.update(extra)
    return env


def lossbook_grade(course: str | os.PathLike[str], *args: str,
                   env: dict[str, str] | None = None,
                   timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    """Run ``lossbook-grade <args>`` in ``course`` and return what happened (no check)."""
    return subprocess.run([str(BIN / "lossbook-grade"), *args], cwd=course,
                          env=course_env(**(env or {})), capture_output=True, text=True,
                          timeout=timeout)


def nbgrader(course: str | os.PathLike[str], *args: str,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader <args>`` in ``course`` (``env``: extra environment variables, such as
    ``LOSSBOOK_GRADEBOOK_URL``).

    Raises:
        NbgraderError: if it fails, with its exit status and output.
    """
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course,
                          env=course_env(**(env or {})),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise NbgraderError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                            f"{proc.stdout}\n{proc.stderr}")
    return proc


def solution_sources(notebook: str | os.PathLike[str]) -> dict[str, str]:
    """grade_id -> source of every solution cell in a source notebook (from ``solutions/``)."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def graded_cells(notebook: str | os.PathLike[str]) -> dict[str, tuple[float, bool]]:
    """grade_id -> (points, manual) of every graded cell of a source notebook.

    ``manual`` is nbgrader's rule: a graded cell that is also a solution cell (a written
    answer, say) is graded by a person in formgrader; a graded cell that is only a test is
    graded by ``autograde``. Until a person grades it, a manual cell scores 0 (an answer left
    as released scores 0 at once; any other answer waits for review).
    """
    out = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = (float(meta.get("points", 0)), bool(meta.get("solution")))
    return out


def auto_points(notebook: str | os.PathLike[str]) -> dict[str, float]:
    """grade_id -> points of the cells ``autograde`` scores by itself (no manual ones)."""
    return {gid: pts for gid, (pts, manual) in graded_cells(notebook).items() if not manual}


def fill_in(release_nb: str | os.PathLike[str], answers: dict[str, str],
            out: str | os.PathLike[str]) -> None:
    """Write a student's copy of ``release_nb`` with the given solution cells answered.

    Only the code inside BEGIN/END SOLUTION is kept (as a student would type it), the markers
    themselves are not.

    Args:
        release_nb: a released notebook (from ``exercises/``).
        answers: grade_id -> the cell's source, as :func:`solution_sources` returns them; the
            cells not named keep the release's stub.
        out: where to write the student's notebook (its folders are created).
    """
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = "\n".join(line for line in answers[gid].splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
