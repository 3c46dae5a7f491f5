"""Helpers for driving the real nbgrader commands on a temporary copy of the course."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def make_course_copy(dest: Path) -> Path:
    """A fresh course directory holding only what an instructor's checkout has."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions", dest / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def course_env(**extra: str) -> dict[str, str]:
    """The environment of a command run in a course copy: the venv's tools first on PATH, and
    the course's own gradebook (never one set for the developer's checkout)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
    env.pop("LOSSBOOK_GRADEBOOK_URL", None)
    return env


def lossbook_grade(course: Path, *args: str, env: dict[str, str] | None = None,
                   timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    """Run ``lossbook grade <args>`` in ``course`` and return what happened (no check)."""
    return subprocess.run([str(BIN / "lossbook"), "grade", *args], cwd=course,
                          env=course_env(**(env or {})), capture_output=True, text=True,
                          timeout=timeout)


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader <args>`` in ``course``; raise with its output if it fails."""
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=course_env(),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def solution_sources(notebook: Path) -> dict[str, str]:
    """grade_id -> source of every solution cell in a source notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def fill_in(release_nb: Path, answers: dict[str, str], out: Path) -> None:
    """Write a student's copy of ``release_nb`` with the given solution cells answered.

    Only the code inside BEGIN/END SOLUTION is kept (as a student would type it), the markers
    themselves are not.
    """
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = "\n".join(line for line in answers[gid].splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
