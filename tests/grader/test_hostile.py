"""Hostile submissions: a whole class graded by ``lossbook-grade`` with the real nbgrader.

One class of 01-regression submissions, most of them hostile, is collected from a folder and
graded in one parallel run in the sandbox. Each test checks one student's exact score (derived
from the points of the test cells that the attack leaves standing) and that the honest students
graded in the same run still get theirs. A second, small class is graded with the sandbox and
the guard turned off, to show that the attacks they stop are real.

The points of 01-regression's parts are read from its source notebook (POINTS, in notebook
order). The attacks sit in the answer cell of a part whose test depends on nothing later, so
what an attack costs is that part's points.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from servers import dask_cluster, postgres_server  # noqa: F401 (fixtures)

from lossbook_grader.course import (ROOT, auto_points, fill_in, graded_cells, lossbook_grade,
                                    make_course_copy, nbgrader, solution_sources)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]

A = "01-regression"
NB = "regression-losses.ipynb"
SOURCE = ROOT / "solutions" / A / NB
# The autograded cells; the written parts score 0 until a person grades them.
POINTS = auto_points(SOURCE)
TOTAL = sum(POINTS.values())
ANSWERS = solution_sources(SOURCE)
# Seconds per cell: the infinite loops are cut after this. The slowest honest cell, 01's banned
# prediction-interval test, takes about 4 s on an idle machine; 30 leaves room for a loaded CI.
TIMEOUT = 30
LAST = "relative_mse"  # its test uses nothing else, and nothing uses it


def pts(*tests: str) -> int:
    return sum(POINTS[f"test_{t}"] for t in tests)


def pts_before(part: str) -> int:
    """The points of every autograded part before ``part`` (in notebook order)."""
    order = list(POINTS)
    return sum(POINTS[t] for t in order[:order.index(f"test_{part}")])


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _release(course: Path) -> Path:
    return course / "exercises" / A / NB


def _student_notebook(course: Path, answered: dict[str, str], edit=None) -> str:
    """The release with ``answered`` filled in and ``edit`` applied, as notebook JSON."""
    tmp = course / "build.ipynb"
    fill_in(_release(course), answered, tmp)
    nb = nbformat.read(tmp, as_version=4)
    if edit is not None:
        edit(nb)
    tmp.unlink()
    return nbformat.writes(nb)


def _replace(grade_id: str, source: str):
    def edit(nb):
        _cell(nb, grade_id).source = source
    return edit


def _all_but(*grade_ids: str) -> dict[str, str]:
    return {k: v for k, v in ANSWERS.items() if k not in grade_ids}


BLANK_HUBER_CHEAT = "def huber_loss(y_pred, y_true, delta=1.0):\n    return 0.0\n"

# Attack code, each in one answer cell. {port} is the local server of the network test.
INFINITE_LOOP = "while True:\n    pass\n"
IGNORES_INTERRUPT = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                     "while True:\n    pass\n")
KILLS_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
MEMORY_BOMB = ("def grow():\n    blocks = []\n    while True:\n"
               "        blocks.append(bytearray(256 * 2**20))\ngrow()\n")
OUTPUT_BOMB = "while True:\n    print('spam' * 25_000)\n"
SYNTAX_ERROR = "def relative_mse(price_pred, price_true)\n    return 0\n"
PATCH_ASSERTS = BLANK_HUBER_CHEAT + (
    "import numpy, numpy.testing\n"
    "numpy.isclose = lambda *a, **k: True\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "numpy.testing.assert_allclose = lambda *a, **k: None\n")
REBIND_NP = BLANK_HUBER_CHEAT + (
    "import numpy as _real\n"
    "class _Fake:\n"
    "    def __getattr__(self, name):\n"
    "        return getattr(_real, name)\n"
    "    isclose = staticmethod(lambda *a, **k: True)\n"
    "    allclose = staticmethod(lambda *a, **k: True)\n"
    "np = _Fake()\n")
SWALLOW_ERRORS = BLANK_HUBER_CHEAT + (
    "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n")
DROP_ASSERTS = BLANK_HUBER_CHEAT + (
    "import ast\n"
    "class _NoAsserts(ast.NodeTransformer):\n"
    "    def visit_Assert(self, node):\n"
    "        return ast.copy_location(ast.Pass(), node)\n"
    "get_ipython().ast_transformers.append(_NoAsserts())\n")
REPLACE_GUARD = PATCH_ASSERTS + (
    "import lossbook_grader.guard as _g\n"
    "_g.before_cell = lambda *a, **k: None\n")
UNLOAD_GUARD = PATCH_ASSERTS + (
    "import sys\nsys.modules.pop('lossbook_grader.guard', None)\n")
# Reads the instructor's solutions (and the notebook being graded, which holds the hidden
# tests at that moment); if it can, it gets the answer from them.
READ_SOLUTIONS = (
    "import json, pathlib\n"
    "course = pathlib.Path.cwd().parents[2]\n"
    "try:\n"
    f"    nb = json.loads((course / 'solutions' / '{A}' / '{NB}').read_text())\n"
    "    code = [''.join(c['source']) for c in nb['cells']\n"
    f"            if c.get('metadata', {{}}).get('nbgrader', {{}}).get('grade_id') == '{LAST}']\n"
    "    exec(code[0])\n"
    "except OSError as err:\n"
    "    print('cannot read the solutions:', type(err).__name__)\n"
    "    def relative_mse(price_pred, price_true):\n"
    "        return 0.0\n")
PEEK_NOTEBOOK = (
    f"hidden = open('{NB}').read()\n"
    "print('notebook bytes visible:', len(hidden))\n"
    "if hidden:\n" + "\n".join("    " + line for line in ANSWERS[LAST].splitlines()
                               if "### " not in line) + "\n"
    "else:\n"
    "    def relative_mse(price_pred, price_true):\n"
    "        return 0.0\n")
NETWORK = (
    "import socket, urllib.request\n"
    "try:\n"
    "    exec(urllib.request.urlopen('http://127.0.0.1:{port}/answer', timeout=3).read().decode())\n"
    "except OSError as err:\n"
    "    print('no network:', type(err).__name__)\n"
    "    def relative_mse(price_pred, price_true):\n"
    "        return 0.0\n"
    "try:\n"
    "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
    "    print('internet reachable')\n"
    "except OSError as err:\n"
    "    print('no internet:', type(err).__name__)\n")
VANDAL = (
    "import pathlib, sqlite3\n"
    "course = pathlib.Path.cwd().parents[2]\n"
    "for target in [course / 'gradebook.db',\n"
    f"               course / 'submitted' / 'honest_full' / '{A}' / '{NB}',\n"
    f"               course / 'autograded' / 'honest_full' / '{A}' / '{NB}']:\n"
    "    try:\n"
    "        target.parent.mkdir(parents=True, exist_ok=True)\n"
    "        target.write_text('vandalised')\n"
    "    except OSError as err:\n"
    "        print('cannot write', target.name, type(err).__name__)\n"
    "try:\n"
    "    con = sqlite3.connect(str(course / 'gradebook.db'))\n"
    "    con.execute('UPDATE grade SET auto_score = 100')\n"
    "    con.commit()\n"
    "except sqlite3.Error as err:\n"
    "    print('no gradebook:', err)\n"
    "pathlib.Path('/tmp/lossbook-hostile-marker').write_text('x')\n"
    "pathlib.Path('scratch.txt').write_text('writing in my own folder is fine')\n"
    + "\n".join(line for line in ANSWERS[LAST].splitlines() if "### " not in line) + "\n")


def _with_code_before_answer(code: str, grade_id: str = LAST):
    """Answer ``grade_id`` correctly, but only after ``code`` has run."""
    answer = "\n".join(line for line in ANSWERS[grade_id].splitlines() if "### " not in line)
    return _replace(grade_id, code + "\n" + answer)


def _delete_test(grade_id: str):
    def edit(nb):
        nb.cells = [c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _edit_tests_to_pass(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.source = "pass  # every test passes now"


def _add_and_reorder(nb):
    extra = nbformat.v4.new_code_cell("print('my own scratch cell')")
    extra.metadata = {}
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("My notes on the assignment"))
    nb.cells.insert(3, extra)
    # move Part G (relative MSE: its markdown, answer and test) before Part A
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    start = ids.index("relative_mse") - 1
    block = nb.cells[start:start + 3]
    del nb.cells[start:start + 3]
    first = ids.index("huber_loss") - 1 + 2  # the two inserted cells shift it
    nb.cells[first:first] = block


# student -> (answered parts, edit, expected score)
CLASS: dict[str, tuple[dict[str, str], object, int]] = {
    "honest_full": (ANSWERS, None, TOTAL),
    "honest_partial": ({k: ANSWERS[k] for k in ("huber_loss", "log_cosh_stable", "coverage")},
                       None, pts("huber_loss", "log_cosh_stable", "coverage")),
    "infinite_loop": (ANSWERS, _with_code_before_answer(INFINITE_LOOP), TOTAL - pts(LAST)),
    "ignores_interrupt": (ANSWERS, _with_code_before_answer(IGNORES_INTERRUPT),
                          TOTAL - pts(LAST)),
    "kills_kernel": (ANSWERS, _with_code_before_answer(KILLS_KERNEL, "coverage"),
                     pts_before("coverage")),
    "memory_bomb": (ANSWERS, _with_code_before_answer(MEMORY_BOMB), TOTAL - pts(LAST)),
    "output_bomb": (ANSWERS, _with_code_before_answer(OUTPUT_BOMB), TOTAL - pts(LAST)),
    "syntax_error": (ANSWERS, _replace(LAST, SYNTAX_ERROR), TOTAL - pts(LAST)),
    "edits_tests": ({}, _edit_tests_to_pass, 0),
    "deletes_a_test": (ANSWERS, _delete_test("test_huber_loss"), TOTAL - pts("huber_loss")),
    "adds_and_reorders_cells": (ANSWERS, _add_and_reorder, TOTAL),
    "patches_asserts": ({}, _replace("huber_loss", PATCH_ASSERTS), 0),
    "rebinds_numpy": ({}, _replace("huber_loss", REBIND_NP), 0),
    "swallows_errors": ({}, _replace("huber_loss", SWALLOW_ERRORS), 0),
    "drops_asserts": ({}, _replace("huber_loss", DROP_ASSERTS), 0),
    "replaces_guard": ({}, _replace("huber_loss", REPLACE_GUARD), 0),
    "unloads_guard": ({}, _replace("huber_loss", UNLOAD_GUARD), 0),
    "reads_solutions": (_all_but(LAST), _replace(LAST, READ_SOLUTIONS), TOTAL - pts(LAST)),
    "peeks_at_notebook": (_all_but(LAST), _replace(LAST, PEEK_NOTEBOOK), TOTAL - pts(LAST)),
    "uses_network": (_all_but(LAST), _replace(LAST, NETWORK), TOTAL - pts(LAST)),
    "vandal": ({}, _replace(LAST, VANDAL), pts(LAST)),
}
# Submissions that are not notebooks nbgrader can grade, collected from the same folder.
MALFORMED = '{"cells": [{"cell_type": "code", "source": "print(1)"'  # cut off mid-file


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = "\n".join(line for line in ANSWERS[LAST].splitlines() if "### " not in line)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _course(tmp: Path) -> Path:
    course = make_course_copy(tmp)
    nbgrader(course, "generate_assignment", A, "--force")
    return course


def _lossbook_grade(course: Path, *args: str, env: dict[str, str] | None = None):
    return lossbook_grade(course, A, "--jobs", "2", "--timeout", str(TIMEOUT), "-q", *args,
                          env=env)


def _score(course: Path, student: str) -> float:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission(A, student).score


@pytest.fixture(scope="module")
def graded(tmp_path_factory, server):
    course = _course(tmp_path_factory.mktemp("hostile"))
    incoming = course / "incoming"
    for student, (answered, edit, _) in CLASS.items():
        text = _student_notebook(course, answered, edit).replace("{port}", str(server))
        (incoming / student).mkdir(parents=True)
        (incoming / student / NB).write_text(text)
    (incoming / "malformed_json").mkdir()
    (incoming / "malformed_json" / NB).write_text(MALFORMED)
    (incoming / "missing_notebook").mkdir()
    (incoming / "missing_notebook" / "Untitled.ipynb").write_text(
        _student_notebook(course, ANSWERS))
    (incoming / "misnamed_notebook").mkdir()
    (incoming / "misnamed_notebook" / "regression-losses (1).ipynb").write_text(
        _student_notebook(course, ANSWERS))
    marker = Path("/tmp/lossbook-hostile-marker")
    marker.unlink(missing_ok=True)
    honest = incoming / "honest_full" / NB
    proc = _lossbook_grade(course, "--from", str(incoming), "--no-feedback")
    shutil.copy(course / "grades.csv", course / "grades-first-run.csv")  # before any rerun
    return course, proc, hashlib.sha256(honest.read_bytes()).hexdigest(), marker


@pytest.mark.parametrize("student", sorted(CLASS))
def test_each_submission_gets_its_exact_score(graded, student):
    course, proc, _, _ = graded
    assert _score(course, student) == CLASS[student][2], proc.stdout[-4000:]


def test_the_whole_class_is_graded_in_one_run(graded):
    course, proc, _, _ = graded
    # 1: one submission (malformed JSON) could not be graded and waits for review
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded_students = {s.student.id for s in gb.find_assignment(A).submissions}
    assert graded_students == set(CLASS) | {"malformed_json", "missing_notebook",
                                            "misnamed_notebook"}
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
    assert "failed" in rows["malformed_json"] and "not graded" in rows["malformed_json"]
    assert all(" graded " in rows[s] for s in CLASS), proc.stdout


def test_malformed_notebook_scores_zero_and_waits_for_manual_review(graded):
    course, proc, _, _ = graded
    assert _score(course, "malformed_json") == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(A, "malformed_json").needs_manual_grade


def test_missing_and_misnamed_notebooks(graded):
    course, proc, _, _ = graded
    assert _score(course, "missing_notebook") == 0
    assert _score(course, "misnamed_notebook") == TOTAL
    assert (course / "submitted" / "misnamed_notebook" / A / NB).exists()
    row = next(line for line in proc.stdout.splitlines() if line.startswith("missing_notebook"))
    assert f"missing {NB}" in row


def test_vandal_changed_nothing_outside_its_own_folder(graded):
    course, _, honest_digest, marker = graded
    submitted = course / "submitted" / "honest_full" / A / NB
    assert hashlib.sha256(submitted.read_bytes()).hexdigest() == honest_digest
    autograded = nbformat.read(course / "autograded" / "honest_full" / A / NB, as_version=4)
    assert autograded.cells  # still a notebook, not "vandalised"
    assert _score(course, "honest_full") == TOTAL
    assert not marker.exists()  # /tmp in the sandbox is its own
    assert (course / "autograded" / "vandal" / A / "scratch.txt").exists()


def test_reports_flag_tampering_and_resource_limits(graded):
    course, proc, _, _ = graded
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
    for student in ("patches_asserts", "rebinds_numpy", "drops_asserts", "swallows_errors"):
        assert "tampering undone" in rows[student], rows[student]
    assert "kernel died in cell" in rows["kills_kernel"]
    assert "timed out in cell" in rows["ignores_interrupt"]
    assert "output cut in cell" in rows["output_bomb"]
    for student in ("honest_full", "honest_partial", "misnamed_notebook"):
        assert "tampering" not in rows[student] and "died" not in rows[student], rows[student]
    report = json.loads((course / ".lossbook" / "reports" / A / "replaces_guard" /
                         "regression-losses.json").read_text())
    assert any("replaced" in e for e in report["guard_errors"])


def test_output_bomb_leaves_a_small_notebook(graded):
    course, _, _, _ = graded
    path = course / "autograded" / "output_bomb" / A / NB
    assert path.stat().st_size < 4_000_000


def test_rerun_grades_only_what_changed(graded):
    course, _, _, _ = graded
    (course / "submitted" / "honest_partial" / A / NB).write_text(
        _student_notebook(course, ANSWERS))
    proc = _lossbook_grade(course, "--no-feedback")
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[2:]
            if line.strip() and not line.startswith(("0 ", "1 ", "2 "))}
    assert rows["honest_partial"] == "graded"
    assert rows["honest_full"] == "unchanged"
    assert _score(course, "honest_partial") == TOTAL
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # one grade per cell
        sub = gb.find_submission_notebook(NB.removesuffix(".ipynb"), A, "honest_partial")
        assert len(sub.grades) == len(graded_cells(SOURCE))


# Without the sandbox and the guard, the same attacks work: the defences above are real.
UNPROTECTED = {
    "patches_asserts": lambda score: score > 0,
    "drops_asserts": lambda score: score > 0,
    "reads_solutions": lambda score: score == TOTAL,
    "peeks_at_notebook": lambda score: score == TOTAL,
    "uses_network": lambda score: score == TOTAL,
}


def test_without_the_sandbox_the_attacks_succeed(tmp_path_factory, server):
    course = _course(tmp_path_factory.mktemp("unprotected"))
    incoming = course / "incoming"
    for student in UNPROTECTED:
        answered, edit, _ = CLASS[student]
        (incoming / student).mkdir(parents=True)
        (incoming / student / NB).write_text(
            _student_notebook(course, answered, edit).replace("{port}", str(server)))
    proc = _lossbook_grade(course, "--from", str(incoming), "--no-sandbox", "--no-feedback",
                           env={"LOSSBOOK_GUARD": "off"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "WITHOUT the sandbox" in proc.stdout
    for student, succeeded in UNPROTECTED.items():
        assert succeeded(_score(course, student)), (student, _score(course, student))


# The same class through a Dask cluster (a scheduler and two worker processes) into a
# PostgreSQL gradebook (a private server): the same grades as the local engine on SQLite.
def _scores(path: Path) -> dict[str, tuple[str, str, str, str]]:
    with path.open(newline="") as fh:
        return {row["student_id"]: (row["score"], row["raw_score"], row["max_score"],
                                    row["late_submission_penalty"])
                for row in csv.DictReader(fh) if row["assignment"] == A}


def test_dask_and_postgresql_give_the_local_sqlite_grades(graded, dask_cluster, postgres_server,
                                                          tmp_path_factory):
    course, local, _, _ = graded
    env = {"LOSSBOOK_GRADEBOOK_URL": postgres_server.new_database()}
    other = make_course_copy(tmp_path_factory.mktemp("hostile-dask"))
    nbgrader(other, "generate_assignment", A, "--force", env=env)
    proc = lossbook_grade(other, A, "--scheduler", dask_cluster.address, "--timeout",
                          str(TIMEOUT), "-q", "--from", str(course / "incoming"),
                          "--no-feedback", env=env)
    assert proc.returncode == local.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (other / "gradebook.db").exists()  # the grades went to PostgreSQL
    expected = _scores(course / "grades-first-run.csv")
    assert _scores(other / "grades.csv") == expected
    assert len(expected) == len(CLASS) + 3
