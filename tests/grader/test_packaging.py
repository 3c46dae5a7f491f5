"""Two distributions: ``lossbook`` (the library students install) and ``lossbook-grader``.

* The lossbook wheel, built from the checkout, holds the library alone: no grading module, no
  console script, no nbgrader requirement, no file that imports nbgrader.
* The grader wheel, built from ``grader/``, holds every module of ``lossbook_grader`` and the
  ``lossbook-grade`` console script, and requires lossbook and nbgrader.
* In an interpreter where nbgrader cannot be imported, every lossbook module imports and
  ``pytest --doctest-modules lossbook`` passes.
* ``lossbook-grade --help``, run from the venv, lists the command's options.

Wheels are built offline, without build isolation (setuptools comes from the pinned venv), from
a copy of the checkout: a build in the working tree would write build/ and egg-info into it, and
setuptools can put stale files left in build/ into a later wheel.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("packaging")  # each wheel is built once, on one worker

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GRADER_MODULES = sorted(p.name for p in (ROOT / "grader" / "lossbook_grader").glob("*.py"))
# What `lossbook-grade` had as `lossbook grade`: the same options, no more, no fewer.
OPTIONS = ["--course", "--jobs", "-j", "--from", "--no-zip", "--timeout", "--memory-mb",
           "--no-sandbox", "--force", "--no-feedback", "--export", "--canvas", "--canvas-id",
           "--scheduler", "--scheduler-timeout", "--quiet", "-q"]
# Not part of a source tree: build outputs, caches, the venv, the sandbox tests' scratch folders.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "_build", "build", "dist", "*.egg-info",
                                    "__pycache__", "*.pyc", ".hypothesis", ".pytest_cache",
                                    ".jupyter_cache", ".ipynb_checkpoints", ".lossbook",
                                    ".sandbox-test-*")


def _build_wheel(src: Path, out: Path) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                           "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PIP_CONFIG_FILE=os.devnull))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return wheel


def _dist_info(zf: zipfile.ZipFile, name: str) -> str | None:
    found = [n for n in zf.namelist() if re.fullmatch(rf"[^/]+\.dist-info/{name}", n)]
    return zf.read(found[0]).decode() if found else None


def _console_scripts(zf: zipfile.ZipFile) -> dict[str, str]:
    text = _dist_info(zf, "entry_points.txt")
    if text is None:
        return {}
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep names as written
    parser.read_string(text)
    return dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}


def _requires(zf: zipfile.ZipFile) -> list[str]:
    meta = Parser().parsestr(_dist_info(zf, "METADATA") or "")
    return meta.get_all("Requires-Dist") or []


def _imports_nbgrader(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and \
                any(a.name.split(".")[0] == "nbgrader" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nbgrader":
            return True
    # importlib.import_module("nbgrader...") or __import__("nbgrader...")
    return re.search(r"""(import_module|__import__)\(\s*['"]nbgrader""", source) is not None


@pytest.fixture(scope="module")
def lossbook_wheel(tmp_path_factory) -> Path:
    """The library's wheel, built from the repository's root (pyproject.toml there)."""
    tmp = tmp_path_factory.mktemp("lossbook-wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCE)
    return _build_wheel(tmp / "src", tmp / "dist")


@pytest.fixture(scope="module")
def grader_wheel(tmp_path_factory) -> Path:
    """The grader's wheel, built from grader/ (its own pyproject.toml)."""
    tmp = tmp_path_factory.mktemp("grader-wheel")
    shutil.copytree(ROOT / "grader", tmp / "src", ignore=NOT_SOURCE)
    return _build_wheel(tmp / "src", tmp / "dist")


def test_the_lossbook_wheel_holds_the_library_alone(lossbook_wheel):
    assert lossbook_wheel.name.startswith("lossbook-0")
    with zipfile.ZipFile(lossbook_wheel) as zf:
        names = zf.namelist()
        tops = {n.split("/")[0] for n in names}
        assert tops == {"lossbook", next(t for t in tops if t.endswith(".dist-info"))}, tops
        assert "lossbook/__init__.py" in names and "lossbook/regression.py" in names
        assert not [n for n in names if n.startswith("lossbook/grading/")]
        assert "lossbook/cli.py" not in names
        assert _console_scripts(zf) == {}
        requires = _requires(zf)
        assert requires and not [r for r in requires
                                 if re.match(r"(nbgrader|lossbook-grader)\b", r)], requires
        assert "grading" not in re.findall(r"^Provides-Extra: (\S+)",
                                           _dist_info(zf, "METADATA") or "", re.M)
        py = {n: zf.read(n).decode() for n in names if n.endswith(".py")}
    assert len(py) >= 10, sorted(py)
    assert not [n for n, text in py.items() if _imports_nbgrader(text)]
    assert not [n for n, text in py.items()
                if "lossbook_grader" in text or "lossbook.grading" in text]


def test_the_nbgrader_import_check_can_fail():
    assert _imports_nbgrader("from nbgrader.api import Gradebook")
    assert _imports_nbgrader("import os, nbgrader.apps as apps")
    assert _imports_nbgrader("mod = importlib.import_module('nbgrader.api')")
    assert not _imports_nbgrader('"""Scored the way nbgrader scores a cell."""')


def test_the_grader_wheel_has_its_modules_and_the_console_script(grader_wheel):
    assert grader_wheel.name.startswith("lossbook_grader-0")
    assert {"cli.py", "collect.py", "config.py", "course.py", "execute.py", "guard.py",
            "sandbox.py"} <= set(GRADER_MODULES)
    with zipfile.ZipFile(grader_wheel) as zf:
        names = set(zf.namelist())
        assert {f"lossbook_grader/{m}" for m in GRADER_MODULES} <= names
        assert "lossbook_grader/py.typed" in names
        assert not [n for n in names if n.startswith("lossbook/")]  # the library is not in it
        assert _console_scripts(zf) == {"lossbook-grade": "lossbook_grader.cli:main"}
        requires = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in _requires(zf)}
    assert {"lossbook", "nbgrader", "tqdm"} <= requires


def _blocked_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import nbgrader (as if it were not installed)."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nsys.modules['nbgrader'] = None  # `import nbgrader` raises ImportError\n")
    return dict(os.environ, PYTHONPATH=str(block), MPLBACKEND="Agg")


def test_every_lossbook_module_imports_without_nbgrader(tmp_path):
    env = _blocked_env(tmp_path)
    probe = "try:\n    import nbgrader\nexcept ImportError:\n    print('blocked')\n"
    blocked = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert blocked.stdout.strip() == "blocked", blocked.stdout + blocked.stderr
    # nbgrader is installed here: the block, nothing else, is what stops it
    unblocked = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
    assert unblocked.returncode == 0 and unblocked.stdout == "", unblocked.stderr

    expected = sorted("lossbook" if p.name == "__init__.py" else
                      "lossbook." + p.relative_to(ROOT / "lossbook").with_suffix("")
                      .as_posix().replace("/", ".")
                      for p in (ROOT / "lossbook").rglob("*.py") if "__pycache__" not in p.parts)
    code = ("import importlib, sys\n"
            f"for name in {expected!r}:\n"
            "    importlib.import_module(name)\n"
            "import lossbook\n"
            "print(lossbook.__file__)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('nbgrader', 'lossbook_grader') and sys.modules[m] is not None))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where, grading = proc.stdout.splitlines()[-2:]
    assert Path(where).resolve() == ROOT / "lossbook" / "__init__.py"
    assert grading == "[]"
    assert {"lossbook", "lossbook.notebook", "lossbook.regression"} <= set(expected)


def test_lossbook_doctests_pass_without_nbgrader(tmp_path):
    """``pytest --doctest-modules lossbook`` (the repository's pytest settings) without
    nbgrader: the library's own tests need nothing of the grader."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--doctest-modules", "lossbook",
                           "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
                          env=_blocked_env(tmp_path), cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    passed = re.search(r"(\d+) passed", out)
    assert passed and int(passed.group(1)) >= 20, out[-2000:]
    assert "error" not in out.splitlines()[-1], out[-2000:]


def test_lossbook_grade_help_lists_the_options():
    exe = BIN / "lossbook-grade"
    assert exe.is_file(), "lossbook-grade is not installed in the venv (run `make venv`)"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: lossbook-grade ")
    listed = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", proc.stdout))
    assert set(OPTIONS) | {"-h", "--help"} == listed, sorted(listed)
    assert "assignment" in proc.stdout


def test_the_installed_library_has_no_command():
    scripts = metadata.entry_points(group="console_scripts")
    assert not [ep.name for ep in scripts if ep.dist and ep.dist.name == "lossbook"]
    assert [ep.value for ep in scripts if ep.name == "lossbook-grade"] == \
        ["lossbook_grader.cli:main"]


def test_nbgrader_refuses_to_grade_without_the_grader(tmp_path):
    """Without lossbook_grader, nbgrader would log nbgrader_config.py's ImportError and grade
    with its defaults: student code unsandboxed. The config stops every command but a
    student's ``validate`` instead."""
    from lossbook_grader.course import course_env, make_course_copy

    course = make_course_copy(tmp_path / "course")
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nsys.modules['lossbook_grader'] = None  # as if only lossbook were installed\n")
    env = course_env(PYTHONPATH=str(block))
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    for command in (["autograde", "01-regression"], ["generate_assignment", "01-regression"]):
        proc = subprocess.run([nbgrader, *command], cwd=course, env=env, capture_output=True,
                              text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-2000:]
        assert "the lossbook grader is not installed" in out, out[-2000:]
        assert "pip install -e grader" in out
    assert not (course / "gradebook.db").exists()  # stopped before nbgrader touched anything
    # a student's validate still runs their notebook: the released exercise, answered
    from lossbook_grader.course import fill_in, solution_sources

    notebook = course / "regression-losses.ipynb"
    fill_in(ROOT / "exercises" / "01-regression" / notebook.name,
            solution_sources(course / "solutions" / "01-regression" / notebook.name), notebook)
    proc = subprocess.run([nbgrader, "validate", str(notebook)], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert "the lossbook grader is not installed" not in out
    assert "Success! Your notebook passes all the tests." in out, out[-2000:]
