"""Grading one submission as a pure unit of work (lossbook_grader.unit, issue 19).

A job is data: the assignment's source, the course's nbgrader_config.py, one student's files and
the settings. Graded in a process whose working folder is empty and after the course folder is
gone, it still gives the scores nbgrader gives, the autograded notebook and the feedback, as
data; the worker's own environment changes none of the settings; a machine that cannot sandbox
refuses instead of grading.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lossbook_grader.cli import _load_coursedir
from lossbook_grader.course import (auto_points, fill_in, make_course_copy, nbgrader,
                                    solution_sources)
from lossbook_grader.unit import (decode_files, encode_files, grade_submission,
                                  grade_submission_bytes, make_job, sandbox_refusal)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("unit")]

A = "01-regression"
NB = "regression-losses.ipynb"


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Jobs of an honest and a blank student, made from a course folder that is then deleted."""
    course = make_course_copy(tmp_path_factory.mktemp("unit") / "course")
    nbgrader(course, "generate_assignment", A, "--force")
    answers = solution_sources(course / "solutions" / A / NB)
    fill_in(course / "exercises" / A / NB, answers, course / "submitted" / "honest" / A / NB)
    fill_in(course / "exercises" / A / NB, {}, course / "submitted" / "blank" / A / NB)
    (course / "submitted" / "honest" / A / "timestamp.txt").write_text(
        "2026-11-19 10:00:00.000000 UTC")
    coursedir = _load_coursedir(course)
    points = sum(auto_points(course / "solutions" / A / NB).values())  # written parts: 0 for now
    out = {s: make_job(course, coursedir, A, s, {"feedback": True}) for s in ("honest", "blank")}
    shutil.rmtree(course)  # nothing of the course is left to share
    return out, points


@pytest.fixture(scope="module")
def graded(jobs, tmp_path_factory):
    """Both jobs graded by `python -m lossbook_grader.unit` in an empty folder, with an
    environment that asks for no sandbox (the job's settings win)."""
    import os

    jobs, points = jobs
    empty = tmp_path_factory.mktemp("empty")
    env = {**os.environ, "LOSSBOOK_SANDBOX": "off", "LOSSBOOK_CELL_TIMEOUT": "1"}
    results = {}
    for student, job in jobs.items():
        proc = subprocess.run([sys.executable, "-m", "lossbook_grader.unit"],
                              input=json.dumps(job).encode(), cwd=empty, env=env,
                              capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()
        results[student] = json.loads(proc.stdout)
    assert list(empty.iterdir()) == []  # nothing written where it ran
    return results, points


def _score(result):
    return sum(g["auto_score"] or 0 for nb in result["notebooks"].values() for g in nb["grades"])


def test_the_job_is_json_and_holds_only_data(jobs):
    job = jobs[0]["honest"]
    assert json.loads(json.dumps(job)) == job
    assert set(job["source"]) == {NB} and set(job["submission"]) == {NB, "timestamp.txt"}
    assert job["settings"]["sandbox"] is True


def test_honest_gets_every_point_and_blank_none(graded):
    results, points = graded
    assert results["honest"]["ok"] and results["blank"]["ok"], results["honest"]["error"]
    assert _score(results["honest"]) == points
    assert _score(results["blank"]) == 0
    assert results["honest"]["timestamp"].startswith("2026-11-19 10:00:00")


def test_the_result_carries_the_autograded_notebook_and_feedback(graded):
    results, _ = graded
    files = results["honest"]["files"]
    assert set(files) >= {f"autograded/{NB}", "feedback/regression-losses.html",
                          "autograded/timestamp.txt"}
    nb = nbformat.reads(base64.b64decode(files[f"autograded/{NB}"]).decode(), as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    html = base64.b64decode(files["feedback/regression-losses.html"]).decode()
    assert "BEGIN HIDDEN TESTS" not in html and "Ban(" not in html


def test_the_jobs_settings_beat_the_workers_environment(graded):
    """The worker's environment said LOSSBOOK_SANDBOX=off and a 1 s timeout: the job said
    sandbox on and the course's 300 s, and that is what ran (all points, in the sandbox)."""
    report = graded[0]["honest"]["notebooks"]["regression-losses"]["report"]
    assert report["sandbox"] is True and report["guard"] is True
    assert report["dead"] is None and report["stopped"] is None


def test_timings_split_the_work(graded):
    timings = graded[0]["honest"]["timings"]
    parts = ("setup", "sandbox_start", "kernel_start", "execution", "bookkeeping")
    assert all(timings[k] >= 0 for k in parts)
    assert timings["execution"] > 0 and timings["kernel_start"] > 0
    assert sum(timings[k] for k in parts) == pytest.approx(timings["total"], rel=0.02, abs=0.05)


def test_a_machine_without_the_sandbox_refuses(jobs, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    reason = sandbox_refusal()
    assert "bwrap" in reason
    result = grade_submission(jobs[0]["honest"])
    assert result["refused"] == reason and not result["ok"] and result["notebooks"] == {}


def test_bad_jobs_say_what_is_wrong():
    with pytest.raises(ValueError, match="'source'"):
        grade_submission({"version": 1, "assignment": A, "student": "x", "config": "",
                          "submission": {}, "settings": {}})
    answer = json.loads(grade_submission_bytes(b"not json"))
    assert answer["ok"] is False and "not JSON" in answer["error"]


def test_files_cannot_leave_their_folder(tmp_path):
    with pytest.raises(ValueError, match="leaves the folder"):
        decode_files({"../escape.txt": base64.b64encode(b"x").decode()}, tmp_path / "in")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("hi")
    decode_files(encode_files(tmp_path / "a"), tmp_path / "copy")
    assert (tmp_path / "copy" / "b" / "f.txt").read_text() == "hi"


def test_a_result_cannot_write_outside_the_course(tmp_path):
    """The coordinator writes what a worker sends back: names that leave their folder are
    refused before anything is written."""
    from lossbook_grader.gradebook import RecordError, record

    class Dirs:
        autograded_directory, feedback_directory = "autograded", "feedback"
        db_url, course_id = f"sqlite:///{tmp_path / 'none.db'}", "lossbook"

    base = {"ok": True, "refused": "", "assignment": A, "student": "s", "timestamp": None,
            "files": {}}
    with pytest.raises(RecordError, match="not a plain file name"):
        record(tmp_path, Dirs, {**base, "notebooks": {"../../evil": {"grades": [],
                                                                      "comments": []}}})
    with pytest.raises(RecordError, match="not a graded result"):
        record(tmp_path, Dirs, {**base, "ok": False, "error": "boom", "notebooks": {}})
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(RecordError, match="not inside autograded/ or feedback/"):
        record(tmp_path, Dirs, {**base, "notebooks": {},
                                "files": {"autograded/../../../etc/x": "eA=="}})
    assert not (tmp_path / "none.db").exists()


def _outside_always_hidden(root):
    """A writable folder that the sandbox does not hide on its own (it always hides /tmp,
    /var/tmp, /dev/shm and the home folder): the repository itself, or, for a clone kept in
    /tmp, a system folder. The control below needs one, or it would prove nothing."""
    import os

    always = [Path(p).resolve() for p in ("/tmp", "/var/tmp", "/dev/shm")]
    if os.environ.get("HOME"):
        always.append(Path(os.environ["HOME"]).resolve())
    for place in (root, Path("/srv"), Path("/opt"), Path("/var/lib"), Path("/mnt")):
        place = Path(place).resolve()
        if (place.is_dir() and os.access(place, os.W_OK) and place != Path("/")
                and not any(place == h or h in place.parents for h in always)):
            return place
    raise AssertionError(f"no writable folder outside {always} for the course (repository at "
                         f"{root}); the test needs one to show what the hide setting hides")


def test_the_real_course_is_hidden_from_student_code(tmp_path):
    """A course kept outside /tmp and the home folder (as on a grading server): the job names
    it in its settings, and student code in the sandbox cannot see its solutions; without that
    setting it could (the control)."""
    import os

    from lossbook_grader.course import ROOT

    course = make_course_copy(_outside_always_hidden(ROOT) / f".sandbox-test-unit-{os.getpid()}")
    try:
        nbgrader(course, "generate_assignment", A, "--force")
        secret = course / "solutions" / A / NB
        answers = solution_sources(secret)
        first = next(iter(answers))
        answers[first] = (f"print('LEAK:', __import__('os').path.exists({str(secret)!r}))\n"
                          + answers[first])
        fill_in(course / "exercises" / A / NB, answers, course / "submitted" / "peek" / A / NB)
        coursedir = _load_coursedir(course)
        seen = {}
        for label, hide in (("hidden", [str(course)]), ("control", [])):
            job = make_job(course, coursedir, A, "peek", {"feedback": False, "hide": hide})
            result = grade_submission(job)
            assert result["ok"], result["error"]
            nb = base64.b64decode(result["files"][f"autograded/{NB}"]).decode()
            seen[label] = "LEAK: True" in nb, "LEAK: False" in nb
    finally:
        shutil.rmtree(course, ignore_errors=True)
    assert seen == {"hidden": (False, True), "control": (True, False)}


def test_a_dying_local_worker_loses_no_submission():
    """One job kills its worker process (its nbgrader_config.py calls os._exit while it is
    loaded); the other jobs are answered all the same, and the killer is reported, never
    dropped."""
    from lossbook_grader.engines import LocalEngine

    def job(student, config="", version=1):
        return ({"assignment": A, "student": student}, lambda: json.dumps({
            "version": version, "assignment": A, "student": student, "config": config,
            "source": {}, "submission": {}, "settings": {"sandbox": False}}).encode())

    jobs = [job(f"s{i}", version=0) for i in range(4)]  # answered at once: a version error
    jobs.insert(1, job("killer", config="import os\nos._exit(3)\n"))
    results = {r["student"]: r for r in LocalEngine(1).run(jobs)}
    assert sorted(results) == ["killer", "s0", "s1", "s2", "s3"]
    assert all("job version 0" in results[f"s{i}"]["error"] for i in range(4))
    assert results["killer"]["lost"] and "died three times" in results["killer"]["error"]
