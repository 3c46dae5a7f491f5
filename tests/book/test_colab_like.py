"""The students' side: links to Colab, a fresh environment like Colab's, and self-checks.

* Colab links: every badge and every Colab address in the repository opens an ``.ipynb`` that
  exists, in this repository, on the published branch.
* The Colab-like run: a wheel of lossbook is built from the checkout (``python -m build``),
  a fresh virtual environment is made **without lossbook**, and each exercise, with its
  solutions filled in, runs there: its setup cell must install the wheel (``LOSSBOOK_PIP_SPEC``
  points pip at it, and pip has no index, so nothing can come from the network), then every
  test cell must pass with nothing on stderr.
* Self-check: ``nbgrader validate``, the command students run on their copy, passes a solved
  exercise and reports every test of an unanswered one.

How the fresh environment gets its other packages. Colab comes with numpy, torch, matplotlib,
scikit-learn and a Jupyter kernel installed, and lacks lossbook; the fresh venv is made the same:
``python -m venv --without-pip``, then the distributions the notebooks need (and their
dependencies, and pip) are placed in its own site-packages, file by file as listed in each
distribution's RECORD, from the course's pinned environment (.venv, built from
requirements.txt). Files are hard-linked (copied where links are impossible): this takes
about 4 s on a 2-core machine, where repacking the same distributions into wheels and
installing them with ``pip install --no-index`` took about 40 s (1 GB of it is torch), and the
package indexes configured on a machine cannot be relied on to hold every pinned version
offline. Nothing of lossbook is placed; the test checks that lossbook cannot be imported
before the setup cell runs, and that the versions placed are the ones requirements.txt pins.
Hard links are safe here: pip and Python replace files (new directory entries in the fresh
venv), they never write into an installed file.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from lossbook_grader.course import ROOT, assignments, fill_in, solution_sources

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
COLAB = re.compile(r"https://colab\.research\.google\.com/github/([^/\s)\"'>]+/[^/\s)\"'>]+)"
                   r"/blob/([^/\s)\"'>]+)/([^\s)\"'>#?]+)")
# Distributions that a student's kernel has besides what the notebooks import (Colab has them).
KERNEL_PIECES = ["ipykernel", "pip", "ipywidgets", "tqdm"]


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def _code(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


# =============================================================================== Colab links

def _text_files() -> list[Path]:
    """Every file a reader or student follows a link from: notebooks, pages, the README."""
    files = [ROOT / "README.md", *ROOT.glob("book/**/*.md"), *ROOT.glob("book/**/*.ipynb"),
             *SOLUTIONS, *EXERCISES]
    return sorted(p for p in files if ".ipynb_checkpoints" not in p.parts)


def test_every_colab_link_opens_a_notebook_that_exists():
    links = []
    for path in _text_files():
        for repo, branch, target in COLAB.findall(path.read_text()):
            links.append((path.relative_to(ROOT), repo, branch, target))
    assert len(links) >= len(EXERCISES), "expected at least one Colab badge per exercise"
    bad = [link for link in links
           if link[1] != REPO or link[2] != BRANCH or not link[3].endswith(".ipynb")
           or not (ROOT / link[3]).is_file()]
    assert not bad, f"Colab links to {REPO}@{BRANCH} that open no notebook: {bad}"


@pytest.mark.parametrize("path", SOLUTIONS + EXERCISES, ids=_ids(SOLUTIONS + EXERCISES))
def test_the_badge_at_the_top_opens_the_students_copy(path):
    """The first cell's badge opens this exercise (a solution's badge, its released copy)."""
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    badges = [m for m in COLAB.finditer(first.source)]
    assert len(badges) == 1, f"{path.name}: expected one Colab badge in the first cell"
    assert "colab-badge.svg" in first.source
    rel = path.relative_to(ROOT)
    release = Path("exercises", *rel.parts[1:])
    assert badges[0].group(3) == release.as_posix(), (badges[0].group(3), release)
    assert (ROOT / release).is_file()


def test_each_exercise_states_its_run_time_and_the_student_page_agrees():
    page = (ROOT / "book" / "for-students.md").read_text()
    table = dict(re.findall(r"^\| `([0-9][0-9]-[a-z-]+)` \|.*?\| about (\d+) s \|", page, re.M))
    assert sorted(table) == assignments(), "book/for-students.md: one row per assignment"
    for path in SOLUTIONS + EXERCISES:
        intro = nbformat.read(path, as_version=4).cells[0].source
        match = re.search(r"Runs in about (\d+) s on a laptop CPU", intro)
        assert match, f"{path.relative_to(ROOT)}: no 'Runs in about N s on a laptop CPU' line"
        assert 0 < int(match.group(1)) <= 60, match.group(0)
        assert table[path.parent.name] == match.group(1), (path.parent.name, table, match.group(0))
        # points, parts, written parts and the student's hours: the header's, in the table's row
        head = re.search(r"Points: (\d+), in (\d+) parts \(\d+ autograded, (\d+) written.*?"
                         r"Expect to spend about (\d+) hours", intro, re.S)
        assert head, f"{path.relative_to(ROOT)}: the header's points line"
        row = re.search(rf"^\| `{path.parent.name}` \|.*?\| (\d+) in (\d+) parts \| (\d+) \| "
                        r"about \d+ s \| about (\d+) hours \|", page, re.M)
        assert row and row.groups() == head.groups(), (path.parent.name, head.groups())


# =============================================================================== the wheel

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of lossbook, built with ``python -m build`` from a copy of the checkout.

    A copy, so that the build writes no build/ or egg-info into the working tree. No build
    isolation: the build backend (setuptools) comes from the pinned environment, not the network.
    """
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "lossbook", src / "lossbook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                           "--outdir", str(tmp / "dist"), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (built,) = (tmp / "dist").glob("lossbook-*.whl")
    return built


def _imported_lossbook_names(paths: list[Path]) -> tuple[set[str], set[str]]:
    """(submodules, names imported from the package) in the code cells of the notebooks."""
    modules, names = set(), set()
    for path in paths:
        for source in _code(path):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue  # an unanswered exercise cell; its imports are in the solution
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules |= {a.name for a in node.names if _is_lossbook(a.name)}
                elif isinstance(node, ast.ImportFrom) and _is_lossbook(node.module or ""):
                    modules.add(node.module)
                    if node.module == "lossbook":
                        names |= {a.name for a in node.names}
    return modules, names


def _is_lossbook(module: str) -> bool:
    """The library or one of its modules (not the grader, lossbook_grader, which the hidden
    tests of solutions/ import and students never install)."""
    return module == "lossbook" or module.startswith("lossbook.")


@pytest.mark.slow
@pytest.mark.xdist_group("colab-like")
def test_the_wheel_ships_types_data_and_everything_the_notebooks_import(wheel):
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
        init = zf.read("lossbook/__init__.py").decode()
    assert "lossbook/py.typed" in files
    assert "lossbook/data/corpus.txt" in files
    # every module and data file of the package in the checkout
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "lossbook").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert not package - files, f"missing from the wheel: {sorted(package - files)}"
    # every lossbook module and name the chapters and exercises import
    modules, names = _imported_lossbook_names(
        [*ROOT.glob("book/**/*.ipynb"), *SOLUTIONS, *EXERCISES])
    assert {"lossbook", "lossbook.notebook"} <= modules
    for module in modules:
        stem = module.replace(".", "/")
        assert f"{stem}.py" in files or f"{stem}/__init__.py" in files, module
    exported = set(ast.literal_eval(next(
        n.value for n in ast.parse(init).body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__")))
    for name in names:
        assert name in exported or f"lossbook/{name}.py" in files, f"from lossbook import {name}"


# =============================================================================== a fresh venv

def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _needed_distributions() -> dict[str, metadata.Distribution]:
    """What the notebooks import, plus a kernel and pip, and all their dependencies."""
    top_modules = set()
    for path in SOLUTIONS:
        for source in _code(path):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    top_modules |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    top_modules.add(node.module.split(".")[0])
    owners = metadata.packages_distributions()
    todo = [d for m in sorted(top_modules) for d in owners.get(m, [])]
    todo += [r for r in metadata.requires("lossbook") or [] if "extra ==" not in r]
    todo += KERNEL_PIECES
    found: dict[str, metadata.Distribution] = {}
    while todo:
        name = canonicalize_name(Requirement(todo.pop()).name)
        if name in found or name == "lossbook":
            continue
        found[name] = dist = metadata.distribution(name)
        for requirement in dist.requires or []:
            req = Requirement(requirement)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def _place(dist: metadata.Distribution, site_packages: Path) -> None:
    """Put an installed distribution's files (its RECORD) into another site-packages."""
    base = Path(dist.locate_file(""))
    for entry in dist.files or []:
        if entry.parts[0] == "..":
            continue  # console scripts and shared data outside site-packages: not needed
        src = base / entry
        if not src.is_file():
            continue
        dst = site_packages / entry
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _clean_env(venv: Path, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a student's kernel: the fresh venv first, pip offline, no lossbook."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "LOSSBOOK_", "PYTHON", "VIRTUAL_ENV", "JPY_", "CONDA"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), *path]),
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",                  # no ~/.local packages either
        PIP_CONFIG_FILE=os.devnull,            # ignore the machine's pip configuration ...
        PIP_NO_INDEX="1",                      # ... and every package index: no network
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        MPLCONFIGDIR=str(tmp / "matplotlib"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True, timeout=120)
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(python), "-c", purelib], check=True, capture_output=True,
                               text=True).stdout.strip())
    pins = _pins()
    dists = _needed_distributions()
    assert {"numpy", "torch", "ipykernel", "pip"} <= set(dists)
    # "==2.13.0" accepts the local version "2.13.0+cpu", as pip does
    wrong = {n: (d.version, pins[n]) for n, d in dists.items() if n in pins
             and not SpecifierSet(f"=={pins[n]}").contains(d.version, prereleases=True)}
    assert not wrong, f".venv differs from requirements.txt (run `make venv`): {wrong}"
    for dist in dists.values():
        _place(dist, site)
    return venv


def _probe(python: Path, env: dict[str, str], cwd: Path) -> dict:
    code = ("import importlib.util, json, sys; print(json.dumps({'spec': "
            "importlib.util.find_spec('lossbook') is not None, 'prefix': sys.prefix}))")
    out = subprocess.run([str(python), "-c", code], env=env, cwd=cwd, capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout)


PROBE_BEFORE = """\
import importlib.util as _util, json as _json, sys as _sys
print("PROBE " + _json.dumps({"absent": _util.find_spec("lossbook") is None,
                              "prefix": _sys.prefix}))
"""
PROBE_AFTER = """\
import importlib.metadata as _md, json as _json, sys as _sys
import lossbook as _lossbook
print("PROBE " + _json.dumps({"file": _lossbook.__file__, "version": _lossbook.__version__,
                               "direct_url": _md.distribution("lossbook")
                                                .read_text("direct_url.json"),
                               "device": DEVICE}))
"""


def _probe_cell(source: str, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        cell.pop("id", None)
    else:
        cell["id"] = f"probe-{len(nb.cells)}"
    return cell


@pytest.mark.slow
@pytest.mark.xdist_group("colab-like")
@pytest.mark.parametrize("name", assignments())
def test_exercise_installs_the_wheel_and_passes_in_a_fresh_environment(
        name, wheel, fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    env = _clean_env(fresh_venv, tmp_path, LOSSBOOK_PIP_SPEC=str(wheel))
    work = tmp_path / "student"  # nothing else in it: not the checkout, not lossbook
    work.mkdir()
    before = _probe(python, env, work)
    assert not before["spec"], "lossbook is importable in the fresh venv before the setup cell"
    assert Path(before["prefix"]).resolve() == fresh_venv.resolve()

    (source,) = sorted((ROOT / "solutions" / name).glob("*.ipynb"))
    student = work / source.name
    fill_in(ROOT / "exercises" / name / source.name, solution_sources(source), student)
    nb = nbformat.read(student, as_version=4)
    setup_at = next(i for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and c.source.startswith("# lossbook setup"))
    nb.cells.insert(setup_at + 1, _probe_cell(PROBE_AFTER, nb))
    nb.cells.insert(setup_at, _probe_cell(PROBE_BEFORE, nb))

    specs = tmp_path / "kernels"
    (specs / "fresh").mkdir(parents=True)
    (specs / "fresh" / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    km = AsyncKernelManager(kernel_name="fresh",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    try:
        # cleanup_kc: shut the kernel down and close its channels although we made the manager
        NotebookClient(nb, km=km, timeout=300, resources={"metadata": {"path": str(work)}}
                       ).execute(env=env, cleanup_kc=True)
    finally:
        subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "lossbook"],
                       env=env, cwd=work, capture_output=True, timeout=120)

    outputs = [(i, o) for i, c in enumerate(nb.cells) for o in c.get("outputs", [])]
    stdout = "".join(o.text for _, o in outputs
                     if o.output_type == "stream" and o.name == "stdout")
    probes = [json.loads(line[len("PROBE "):]) for line in stdout.splitlines()
              if line.startswith("PROBE ")]
    assert len(probes) == 2, stdout[-2000:]
    first, second = probes
    assert first["absent"] and Path(first["prefix"]).resolve() == fresh_venv.resolve()
    # the setup cell installed the wheel into the fresh venv, and that is what was imported
    assert Path(second["file"]).resolve().is_relative_to(fresh_venv.resolve()), second["file"]
    assert json.loads(second["direct_url"])["url"].endswith("/" + wheel.name), second["direct_url"]
    setup_out = "".join(o.get("text", "") for o in nb.cells[setup_at + 1].outputs)
    assert re.fullmatch(rf"lossbook {re.escape(second['version'])} \| device {second['device']} "
                        r"\| seed 0 \| .*\n", setup_out), setup_out

    stderr = [(i, o.text) for i, o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"cells wrote to stderr (nbgrader scores such a test cell 0): {stderr}"
    assert not [i for i, o in outputs if o.output_type == "error"]
    graded = [c for c in nb.cells  # a written part is a markdown cell: nothing to execute
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.execution_count for c in graded)  # every test cell ran, and passed
    assert not _probe(python, env, work)["spec"], "lossbook was not uninstalled after the run"


# =============================================================================== self-check

@pytest.mark.slow
@pytest.mark.xdist_group("nbgrader-validate")
def test_nbgrader_validate_passes_a_solved_copy_and_reports_an_unanswered_one(tmp_path):
    """``nbgrader validate`` on a student's copies, in a folder without nbgrader_config.py."""
    solved, blank, n_tests = [], [], []
    for name in assignments():
        for source in sorted((ROOT / "solutions" / name).glob("*.ipynb")):
            release = ROOT / "exercises" / name / source.name
            solved.append(tmp_path / "solved" / name / source.name)
            fill_in(release, solution_sources(source), solved[-1])
            blank.append(tmp_path / "blank" / name / source.name)
            fill_in(release, {}, blank[-1])
            n_tests.append(sum(1 for c in nbformat.read(release, as_version=4).cells
                               if c.metadata.get("nbgrader", {}).get("grade")))
    nbgrader = Path(sys.executable).with_name("nbgrader")
    env = dict(os.environ, PATH=f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("LOSSBOOK_GRADEBOOK_URL", None)

    def validate(paths):
        proc = subprocess.run([str(nbgrader), "validate", *map(str, paths)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    out = validate(solved)
    assert out.count("Success! Your notebook passes all the tests.") == len(solved), out[-3000:]
    assert "FAILED" not in out

    out = validate(blank)
    failed = [int(n) for n in re.findall(r"VALIDATION FAILED ON (\d+) CELL\(S\)", out)]
    assert failed == n_tests, (failed, n_tests)
    assert "Success!" not in out
    assert out.count("NotImplementedError") >= len(blank)
