"""The coordinating process's side of grading: results into the gradebook, grades out to an LMS.

:func:`record` writes one result of :func:`lossbook_grader.unit.grade_submission` into the
course: per-cell scores and comments into nbgrader's gradebook (SQLite, or PostgreSQL through
``LOSSBOOK_GRADEBOOK_URL``), the autograded notebooks and feedback pages into the course's
``autograded/`` and ``feedback/`` folders (so formgrader, ``nbgrader generate_feedback`` and
``nbgrader export`` work on them as after ``nbgrader autograde``), and the sandbox's reports
into ``.lossbook/reports/``. Only this process touches the gradebook; workers never do.

Several graders may write into one PostgreSQL gradebook at once (two teaching assistants, two
assignments, two halves of a class). A write that collides with another grader's (the same
student created twice at once, a serialization failure) is rolled back and tried again, so no
grade is lost and none is written twice: a grade is a row keyed by assignment, student,
notebook and cell, and writing it again replaces it. (nbgrader's own helpers commit the
student and submission rows as they create them; the scores of a submission are committed
together.) A result whose cells or points differ from the gradebook's (``solutions/`` changed
since ``nbgrader generate_assignment``) is refused, not written.

:func:`export_canvas` writes the grades in the CSV layout of Canvas's gradebook import.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["CANVAS_COLUMNS", "RecordError", "export_canvas", "mark_for_review", "record"]

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class RecordError(RuntimeError):
    """A result could not be written into the gradebook; the message says why."""


def _retrying(url: str, course_id: str, write: Any, attempts: int = 8) -> Any:
    """Run ``write(gb)`` in a transaction, retrying when another grader's write collides."""
    from nbgrader.api import Gradebook, InvalidEntry
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

    for attempt in range(attempts):
        gb = None
        try:
            gb = Gradebook(url, course_id)
            value = write(gb)
            gb.db.commit()
            return value
        except (InvalidEntry, IntegrityError, OperationalError, DBAPIError) as err:
            if gb is not None:
                gb.db.rollback()
            if attempt == attempts - 1:
                raise RecordError(f"the gradebook refused the write {attempts} times: "
                                  f"{type(err).__name__}: {err}") from err
        finally:
            if gb is not None:
                gb.close()
        time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
    raise AssertionError("unreachable")


def _write_files(course: Path, coursedir: Any, result: dict[str, Any]) -> None:
    student, assignment = result["student"], result["assignment"]
    folders = {"autograded": course / coursedir.autograded_directory / student / assignment,
               "feedback": course / coursedir.feedback_directory / student / assignment}
    for kind, folder in folders.items():
        if any(name.startswith(kind + "/") for name in result.get("files", {})):
            shutil.rmtree(folder, ignore_errors=True)
    for name, data in result.get("files", {}).items():
        kind, _, rel = name.partition("/")
        if kind not in folders or not rel:
            raise RecordError(f"a result file {name!r} is neither autograded/ nor feedback/")
        root = folders[kind].resolve()
        target = (root / rel).resolve()
        if not str(target).startswith(str(root) + os.sep):
            raise RecordError(f"a result file {name!r} leaves its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
    from .execute import report_path

    for notebook, entry in result.get("notebooks", {}).items():
        path = report_path(course, assignment, student, notebook)
        if entry.get("report") is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(entry["report"], indent=1))
        elif path.exists():
            path.unlink()


def record(course: str | os.PathLike[str], coursedir: Any, result: dict[str, Any]) -> None:
    """Write one graded submission into the course (see the module's docstring).

    Raises:
        RecordError: if the result is a refusal or a failure (see :func:`mark_for_review`),
            does not match the gradebook's assignment (its source changed since
            ``nbgrader generate_assignment``), or the gradebook refuses the write.
    """
    if result.get("refused") or not result.get("ok"):
        raise RecordError(f"not a graded result: {result.get('error') or 'no reason given'}")
    course = Path(course)
    assignment, student = result["assignment"], result["student"]
    for notebook in result.get("notebooks", {}):
        if not isinstance(notebook, str) or not notebook or notebook.startswith(".") or \
                "/" in notebook or "\\" in notebook:
            raise RecordError(f"a result names a notebook {notebook!r}, which is not a plain "
                              "file name")
    for name in result.get("files", {}):
        kind, _, rel = str(name).partition("/")
        parts = Path(rel).parts
        if kind not in ("autograded", "feedback") or not parts or Path(rel).is_absolute() or \
                ".." in parts:
            raise RecordError(f"a result file {name!r} is not inside autograded/ or feedback/")

    def write(gb: Any) -> None:
        from nbgrader.api import MissingEntry

        gb.update_or_create_student(student)
        kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
        gb.update_or_create_submission(assignment, student, **kwargs)
        for notebook, entry in result["notebooks"].items():
            for row in entry["grades"]:
                try:
                    grade = gb.find_grade(row["name"], notebook, assignment, student)
                except MissingEntry:
                    raise RecordError(
                        f"cell {row['name']!r} of {notebook} is not in the gradebook's "
                        f"{assignment}: its source changed since `nbgrader "
                        f"generate_assignment {assignment}`; run that again") from None
                if row.get("max_score") is not None and grade.max_score is not None and \
                        abs(float(row["max_score"]) - float(grade.max_score)) > 1e-9:
                    raise RecordError(
                        f"cell {row['name']!r} of {notebook} is worth {row['max_score']:g} "
                        f"points in solutions/ but {grade.max_score:g} in the gradebook: the "
                        f"source changed since `nbgrader generate_assignment {assignment}`; "
                        "run that again")
                grade.auto_score = row["auto_score"]
                # as nbgrader's SaveAutoGrades: a grader's earlier manual score stays in view
                grade.needs_manual_grade = bool(row["needs_manual_grade"]) or \
                    grade.manual_score is not None
            for row in entry["comments"]:
                try:
                    comment = gb.find_comment(row["name"], notebook, assignment, student)
                except MissingEntry:
                    continue  # a solution cell without a comment row: nothing to keep
                comment.auto_comment = row["auto_comment"]
        _late_penalties(gb, coursedir, assignment, student, list(result["notebooks"]))

    _retrying(coursedir.db_url, coursedir.course_id, write)
    _write_files(course, coursedir, result)


def _late_penalties(gb: Any, coursedir: Any, assignment: str, student: str,
                    notebooks: list[str]) -> None:
    """nbgrader's late-submission step (``AssignLatePenalties``), with the course's own
    policy: the private course that graded the submission knows no due date."""
    from nbgrader.preprocessors import AssignLatePenalties

    step = AssignLatePenalties(config=coursedir.config)
    step.init_plugin()
    gb.db.flush()
    gb.db.expire_all()  # the scores are SQL expressions over the grades just written
    submission = gb.find_submission(assignment, student)
    late = submission.total_seconds_late
    for name in notebooks:
        notebook = gb.find_submission_notebook(name, assignment, student)
        notebook.late_submission_penalty = None
        if late > 0:
            penalty = step.plugin_inst.late_submission_penalty(student, notebook.score, late)
            if penalty is not None:
                notebook.late_submission_penalty = step._check_late_penalty(notebook, penalty)


def mark_for_review(coursedir: Any, assignment: str, student: str) -> None:
    """Give every cell of a submission that could not be graded 0 points, pending review
    (the submission is never dropped: it shows up in formgrader with every cell flagged)."""

    def write(gb: Any) -> None:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = True

    _retrying(coursedir.db_url, coursedir.course_id, write)


def export_canvas(coursedir: Any, out: str | os.PathLike[str],
                  canvas_ids: dict[str, str] | None = None) -> Path:
    """Write every assignment's grades as a Canvas gradebook import CSV; return its path.

    The layout is the one Canvas exports and reads back (Grades > Import): the columns
    ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment, then a
    second row ``Points Possible`` with each assignment's maximum. Filled in:

    * ``Student``: "Last, First" from the gradebook's names, or the nbgrader id without them;
    * ``ID``: the student's Canvas user id, nbgrader's ``lms_user_id`` (empty when unknown);
    * ``SIS User ID``: the nbgrader student id (the university id the course collects by);
    * ``SIS Login ID``, ``Section``: empty (Canvas matches by ``ID`` or ``SIS User ID``);
    * an assignment column is headed ``name (canvas id)`` when ``canvas_ids`` maps the name to
      the Canvas assignment's id (Canvas then fills that assignment), else ``name`` (Canvas
      creates a new assignment of that name);
    * a score is the points after nbgrader's late-submission penalty; a student with no
      submission gets 0, as in ``nbgrader export``.
    """
    from nbgrader.api import Gradebook, MissingEntry

    canvas_ids = canvas_ids or {}
    out = Path(out)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        assignments = sorted(gb.assignments, key=lambda a: (a.duedate is None, a.duedate,
                                                            a.name))
        students = sorted(gb.students, key=lambda s: s.id)
        header = list(CANVAS_COLUMNS) + [
            f"{a.name} ({canvas_ids[a.name]})" if a.name in canvas_ids else a.name
            for a in assignments]
        rows = [["    Points Possible", "", "", "", ""] +
                [f"{a.max_score:g}" for a in assignments]]
        for student in students:
            name = (f"{student.last_name}, {student.first_name}"
                    if student.last_name and student.first_name else student.id)
            row = [name, student.lms_user_id or "", student.id, "", ""]
            for assignment in assignments:
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.append("0")
                    continue
                score = max(0.0, sub.score - (sub.late_submission_penalty or 0.0))
                row.append(f"{score:g}")
            rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return out
