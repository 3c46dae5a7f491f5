"""Grading a class across machines (issue 19): a real Dask cluster and a real PostgreSQL server,
both started by the tests (tests/grader/servers.py), no mocks.

* a worker killed while it grades: its submission is graded again by the other worker, and
  every student ends with exactly one grade per cell;
* two graders at once on one PostgreSQL gradebook (two assignments, the same students): no
  grade lost, none twice; then the rest of the round (a grade by hand as in formgrader,
  feedback, export) runs on that gradebook with plain nbgrader;
* a cluster whose workers cannot start the sandbox grades nothing and says why; a cluster with
  one such worker grades on the others and names the one it left out;
* the engine's client takes bytes back and refuses a pickle from a worker, unopened.

The hostile class graded through the Dask cluster into PostgreSQL, compared with the local
engine on SQLite, is in test_hostile.py (it reuses that class).
"""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from servers import by_value, dask_cluster, make_dask_cluster, postgres_server  # noqa: F401

from lossbook_grader.course import (BIN, course_env, fill_in, lossbook_grade, make_course_copy,
                                    nbgrader, solution_sources)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engines")]

NOTEBOOKS = {"01-regression": "regression-losses.ipynb",
             "02-classification": "classification-losses.ipynb"}


def _class(course: Path, assignment: str, students: dict[str, str], env=None) -> Path:
    """Release ``assignment`` and write submissions to an incoming folder: "honest" students
    answer every part, "blank" none."""
    nb = NOTEBOOKS[assignment]
    nbgrader(course, "generate_assignment", assignment, "--force", env=env)
    answers = solution_sources(course / "solutions" / assignment / nb)
    incoming = course / f"incoming-{assignment}"
    for student, kind in students.items():
        fill_in(course / "exercises" / assignment / nb, answers if kind == "honest" else {},
                incoming / student / nb)
    return incoming


def _total(course: Path, assignment: str) -> float:
    """The points autograde gives honest work (written parts wait for a person)."""
    from lossbook_grader.course import auto_points

    return sum(auto_points(course / "solutions" / assignment / NOTEBOOKS[assignment]).values())


def _export(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="") as fh:
        return {(row["assignment"], row["student_id"]): row for row in csv.DictReader(fh)}


def _duplicates(url: str) -> list:
    """Grade rows that exist twice for one notebook and cell (there must be none)."""
    import sqlalchemy

    with sqlalchemy.create_engine(url).connect() as conn:
        return list(conn.execute(sqlalchemy.text(
            "SELECT notebook_id, cell_id, count(*) FROM grade GROUP BY notebook_id, cell_id "
            "HAVING count(*) > 1")))


# --------------------------------------------------------------------- a worker dies mid-run
def test_a_worker_killed_mid_submission_loses_nothing(tmp_path, make_dask_cluster):
    cluster = make_dask_cluster(2)
    course = make_course_copy(tmp_path / "course")
    students = {"s1": "honest", "s2": "blank", "s3": "honest", "s4": "blank"}
    incoming = _class(course, "01-regression", students)
    grader = subprocess.Popen(
        [str(BIN / "lossbook-grade"), "01-regression", "--scheduler", cluster.address,
         "--from", str(incoming), "--no-feedback", "-q"],
        cwd=course, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    client = cluster.client()
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and grader.poll() is None:
        busy = {addr: keys for addr, keys in client.processing().items() if keys}
        if busy:
            time.sleep(2.0)  # well inside the submission: its kernel is running
            names = {addr: name for name, addr in cluster.workers().items()}
            victim = names[sorted(busy)[0]]
            cluster.kill_worker(victim)
        else:
            time.sleep(0.1)
    out, err = grader.communicate(timeout=900)
    client.close()
    assert victim is not None, "no submission was ever seen running: " + out + err
    assert grader.returncode == 0, out + err
    assert "4 graded, 0 unchanged, 0 failed" in out, out
    total = _total(course, "01-regression")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment("01-regression").submissions}
        cells = [len(nb.grades) for s in gb.find_assignment("01-regression").submissions
                 for nb in s.notebooks]
    assert scores == {s: (total if kind == "honest" else 0.0) for s, kind in students.items()}
    assert len(set(cells)) == 1  # every submission has the assignment's cells, once each
    assert _duplicates(f"sqlite:///{course / 'gradebook.db'}") == []


# ------------------------------------------------------- two graders on one PostgreSQL gradebook
def test_two_graders_at_once_on_one_postgresql_gradebook(tmp_path, postgres_server):
    url = postgres_server.new_database()
    env = {"LOSSBOOK_GRADEBOOK_URL": url}
    course = make_course_copy(tmp_path / "course")
    students = {"ana": "honest", "ben": "blank", "cho": "honest"}
    incoming = {a: _class(course, a, students, env=env) for a in NOTEBOOKS}
    graders = [subprocess.Popen(
        [str(BIN / "lossbook-grade"), a, "--jobs", "1", "--from", str(incoming[a]), "-q",
         "--export", f"grades-{a}.csv", "--canvas", f"canvas-{a}.csv"],
        cwd=course, env=course_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for a in NOTEBOOKS]
    outputs = [g.communicate(timeout=900) for g in graders]
    for grader, (out, err) in zip(graders, outputs):
        assert grader.returncode == 0, out + err
        assert "3 graded, 0 unchanged, 0 failed" in out, out
    assert not (course / "gradebook.db").exists()  # everything went to PostgreSQL

    nbgrader(course, "export", "--to", "all.csv", env=env)
    grades = _export(course / "all.csv")
    for assignment in NOTEBOOKS:
        total = _total(course, assignment)
        for student, kind in students.items():
            row = grades[(assignment, student)]
            assert float(row["score"]) == (total if kind == "honest" else 0.0), row
    assert len(grades) == len(NOTEBOOKS) * len(students)
    assert _duplicates(url) == []
    with Gradebook(url, "lossbook") as gb:
        assert sorted(s.id for s in gb.students) == sorted(students)

    # The rest of the round on the same gradebook, with plain nbgrader: a grade by hand (what
    # formgrader writes), feedback, export.
    with Gradebook(url, "lossbook") as gb:
        grade = next(g for g in gb.find_submission_notebook(
            "regression-losses", "01-regression", "ben").grades if g.name == "test_huber_loss")
        grade.manual_score = grade.max_score
        gb.db.commit()
    nbgrader(course, "generate_feedback", "01-regression", "--force", env=env)
    assert (course / "feedback" / "ben" / "01-regression" / "regression-losses.html").is_file()
    nbgrader(course, "export", "--to", "after-review.csv", env=env)
    assert float(_export(course / "after-review.csv")[("01-regression", "ben")]["score"]) == 3.0


# ------------------------------------------------------------------ workers without a sandbox
def test_workers_without_the_sandbox_refuse_and_are_named(tmp_path, make_dask_cluster):
    cluster = make_dask_cluster(0)
    cluster.start_worker("nobwrap", env={"PATH": cluster.path_without("bwrap")})
    cluster.wait_for_workers(1)
    course = make_course_copy(tmp_path / "course")
    incoming = _class(course, "01-regression", {"s1": "honest"})
    proc = lossbook_grade(course, "01-regression", "--scheduler", cluster.address,
                          "--from", str(incoming), "-q", timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no worker of the Dask cluster can run the sandbox" in proc.stderr
    assert "bwrap" in proc.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_assignment("01-regression").submissions == []  # nothing graded

    # One worker that can: the class is graded there, and the summary names the other.
    cluster.start_worker("good")
    cluster.wait_for_workers(2)
    proc = lossbook_grade(course, "01-regression", "--scheduler", cluster.address, "-q",
                          "--from", str(incoming), "--no-feedback", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 graded" in proc.stdout and "refuses to grade" in proc.stdout, proc.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission("01-regression", "s1").score == _total(course, "01-regression")


def test_no_scheduler_at_the_address_is_a_setup_error(tmp_path):
    course = make_course_copy(tmp_path / "course")
    nbgrader(course, "generate_assignment", "01-regression", "--force")
    proc = subprocess.run([str(BIN / "lossbook-grade"), "01-regression", "--scheduler",
                           "tcp://127.0.0.1:9", "--scheduler-timeout", "3", "-q"],
                          cwd=course, env=course_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no Dask scheduler answers at tcp://127.0.0.1:9" in \
        proc.stderr, proc.stderr


# ------------------------------------------------------------ data back, never code
class _RunsOnUnpickling:
    """An object whose unpickling touches a file: what a malicious or broken worker could
    send back instead of bytes."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _evil_result(marker: str):
    return _RunsOnUnpickling(marker)


def test_the_engine_takes_only_bytes_back_never_a_pickle(dask_cluster, tmp_path):
    from lossbook_grader.engines import DaskEngine

    marker = tmp_path / "unpickled-on-the-instructors-machine"
    engine = DaskEngine(dask_cluster.address)
    try:
        future = engine.client.submit(by_value(_evil_result), str(marker), pure=False)
        with pytest.raises(TypeError, match="msgpack"):
            future.result(timeout=60)
        assert engine.client.submit(by_value(_bytes_back), pure=False).result(60) == b"{}"
    finally:
        engine.close()
    assert not marker.exists()


def _bytes_back():
    return b"{}"
