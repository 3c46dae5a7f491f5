"""The instructor's whole round, as the "For instructors" page describes it, on a synthetic class.

Release with nbgrader, set a due date, receive an LMS export (one zip of files named the way
Blackboard-style exports name them, with a resubmission, a late upload renamed by the LMS, a
notebook that is not valid JSON and stray files), run ``lossbook-grade``, review the submission
that needs it by hand, return feedback and export the grades. The checks read nbgrader's own
outputs: the gradebook, ``feedback/`` and the exported CSV.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from lossbook_grader.course import (auto_points, fill_in, graded_cells, lossbook_grade,
                                    make_course_copy, nbgrader, solution_sources)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workflow")]

A = "01-regression"
NB = "regression-losses.ipynb"
DUE = "2026-11-20 23:59:59"
PARTIAL = ("huber_loss", "log_cosh_stable", "coverage")  # 3 + 4 + 2 points


def _notebook(course: Path, answered: dict[str, str]) -> str:
    out = course / "tmp.ipynb"
    fill_in(course / "exercises" / A / NB, answered, out)
    text = out.read_text()
    out.unlink()
    return text


def _entry(student: str, when: str, name: str) -> str:
    return f"{A}_{student}_attempt_{when}_{name}"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("workflow"))
    # The instructor's late policy, in the course's own nbgrader_config.py.
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(course, "generate_assignment", A, "--force")
    nbgrader(course, "db", "assignment", "add", A, f"--duedate={DUE} UTC")
    answers = solution_sources(course / "solutions" / A / NB)
    partial = {k: answers[k] for k in PARTIAL}
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms-export.zip", "w") as z:
        z.writestr(_entry("alice", "2026-11-19-10-00-00", NB), _notebook(course, answers))
        # bob submits twice: the later attempt (all parts) replaces the earlier one
        z.writestr(_entry("bob", "2026-11-19-11-00-00", NB), _notebook(course, partial))
        z.writestr(_entry("bob", "2026-11-20-09-30-00", NB), _notebook(course, answers))
        z.writestr(_entry("carol", "2026-11-20-18-00-00", NB), _notebook(course, partial))
        # dave is a day late, and the LMS renamed his file
        z.writestr(_entry("dave", "2026-11-22-08-00-00", "regression-losses (1).ipynb"),
                   _notebook(course, answers))
        # erin's upload is cut off: not valid JSON
        z.writestr(_entry("erin", "2026-11-20-12-00-00", NB), '{"cells": [')
        # stray files in the export
        z.writestr(_entry("frank", "2026-11-20-12-00-00", "notes.txt"), "my notes")
        z.writestr("__MACOSX/._lms-export", "junk")
        z.writestr("index.html", "<html>export index</html>")
    return course


@pytest.fixture(scope="module")
def graded(course):
    return lossbook_grade(course, A, "--jobs", "2", "-q")


def _grades(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == A}


def test_zip_collect_puts_each_student_in_submitted(course, graded):
    students = sorted(p.name for p in (course / "submitted").iterdir())
    assert students == ["alice", "bob", "carol", "dave", "erin"]
    assert (course / "submitted" / "dave" / A / NB).exists()  # renamed back
    stamp = (course / "submitted" / "bob" / A / "timestamp.txt").read_text()
    assert stamp.startswith("2026-11-20 09:30:00")


def test_grades_exported_with_lateness_and_penalty(course, graded):
    assert graded.returncode == 1, graded.stdout + graded.stderr  # erin needs review
    grades = _grades(course / "grades.csv")
    points = auto_points(course / "solutions" / A / NB)
    total = sum(points.values())  # the written parts wait for a person
    assert float(grades["alice"]["max_score"]) == sum(
        pts for pts, _ in graded_cells(course / "solutions" / A / NB).values())
    partial_points = sum(points[f"test_{p}"] for p in PARTIAL)
    assert float(grades["alice"]["score"]) == total
    assert float(grades["bob"]["score"]) == total  # the later, complete attempt
    assert float(grades["carol"]["score"]) == partial_points
    assert float(grades["dave"]["raw_score"]) == total  # right answers ...
    assert float(grades["dave"]["late_submission_penalty"]) == total  # ... but late: zero
    assert float(grades["dave"]["score"]) == 0
    assert float(grades["erin"]["score"]) == 0
    assert "frank" not in grades  # a text file is not a submission
    row = next(line for line in graded.stdout.splitlines() if line.startswith("dave"))
    assert "32.0 h" in row  # 2026-11-22 08:00 against a due date of 2026-11-20 23:59:59


def test_feedback_for_every_graded_student(course, graded):
    for student in ("alice", "bob", "carol", "dave"):
        html = course / "feedback" / student / A / "regression-losses.html"
        assert html.exists() and "test_huber_loss" in html.read_text()
    assert not (course / "feedback" / "erin").exists()


def test_manual_review_then_export_again(course, graded):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(A, "erin")
        assert sub.needs_manual_grade
        # the instructor looks at erin's file, finds the first part right, grades it by hand
        nb = gb.find_submission_notebook("regression-losses", A, "erin")
        grade = next(g for g in nb.grades if g.name == "test_huber_loss")
        grade.manual_score = grade.max_score
        gb.db.commit()
    nbgrader(course, "export", "--to", "after-review.csv")
    grades = _grades(course / "after-review.csv")
    assert float(grades["erin"]["score"]) == 3.0


def test_rerun_changes_nothing(course, graded):
    before = _grades(course / "grades.csv")
    proc = lossbook_grade(course, A, "--no-zip", "-q", timeout=600)
    assert "0 graded, 4 unchanged, 1 failed" in proc.stdout, proc.stdout
    after = _grades(course / "grades.csv")
    assert {k: v["score"] for k, v in after.items() if k != "erin"} == \
        {k: v["score"] for k, v in before.items() if k != "erin"}


def _canvas(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_canvas_import_file_has_the_exported_scores(course, graded):
    """lossbook-grade writes grades-canvas.csv: Canvas's import columns, a Points Possible row,
    one row per student whose score is nbgrader's (after the late penalty)."""
    from lossbook_grader.gradebook import CANVAS_COLUMNS

    header, rows = _canvas(course / "grades-canvas.csv")
    assert header == [*CANVAS_COLUMNS, A]
    points, students = rows[0], rows[1:]
    expected = _grades(course / "grades.csv")
    assert points[0].strip() == "Points Possible"
    assert float(points[5]) == float(expected["alice"]["max_score"])
    by_sis = {row[2]: row for row in students}
    assert set(by_sis) == set(expected)  # every student once, no other
    for student, row in expected.items():
        assert float(by_sis[student][5]) == float(row["score"]), student
    assert float(by_sis["dave"][5]) == 0.0 and float(by_sis["alice"][5]) > 0


def test_canvas_ids_and_names_fill_their_columns(course, graded, tmp_path):
    from lossbook_grader.cli import _load_coursedir
    from lossbook_grader.gradebook import export_canvas

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_student("alice", first_name="Alice", last_name="Liddell",
                                    lms_user_id="4711")
    out = export_canvas(_load_coursedir(course), tmp_path / "canvas.csv", {A: "90210"})
    header, rows = _canvas(out)
    assert header[-1] == f"{A} (90210)"
    alice = next(row for row in rows if row[2] == "alice")
    assert alice[:2] == ["Liddell, Alice", "4711"]
    bob = next(row for row in rows if row[2] == "bob")
    assert bob[:2] == ["bob", ""]


def test_a_written_answer_graded_by_hand_enters_the_export(course, graded):
    """A TA grades alice's written answers in formgrader (its form stores a manual score and a
    comment on the answer's grade, as here); the exported score grows by exactly those points,
    and her feedback shows the comment."""
    written = {gid: pts for gid, (pts, manual) in
               graded_cells(course / "solutions" / A / NB).items() if manual}
    assert written, f"{A} has no written (manually graded) part"
    row = next(line for line in graded.stdout.splitlines() if line.startswith("alice"))
    assert f"{len(written)} written answer(s) to grade by hand" in row, row
    assert "hold written answers that count once graded by hand" in graded.stdout
    before = float(_grades(course / "grades.csv")["alice"]["score"])
    awarded = {gid: pts - 1 for gid, pts in written.items()}  # one point off each, by the rubric
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NB.removesuffix(".ipynb"), A, "alice")
        assert {g.name for g in nb.grades if g.needs_manual_grade} == set(written)
        for grade in nb.grades:
            if grade.name in awarded:  # formgrader's form: the score, and the flag cleared
                grade.manual_score = awarded[grade.name]
                grade.needs_manual_grade = False
        for comment in nb.comments:
            if comment.name in written:
                comment.manual_comment = "Right loss; the justification misses the outliers."
        gb.db.commit()
        assert not gb.find_submission(A, "alice").needs_manual_grade
    nbgrader(course, "export", "--to", "after-written.csv")
    after = _grades(course / "after-written.csv")["alice"]
    assert float(after["score"]) == before + sum(awarded.values())
    again = lossbook_grade(course, A, "--no-zip", "-q", timeout=600)
    row = next(line for line in again.stdout.splitlines() if line.startswith("alice"))
    assert "written answer" not in row, row  # graded: nothing left for a person
    nbgrader(course, "generate_feedback", A, "--student", "alice", "--force")
    page = (course / "feedback" / "alice" / A / NB.replace(".ipynb", ".html")).read_text()
    assert "the justification misses the outliers" in page
