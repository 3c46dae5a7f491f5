"""The whole grading round trip with the real nbgrader commands, for every assignment.

In a temporary copy of the course: generate the release, check it leaks nothing and equals
the committed exercises/, submit students (all answers right, nothing answered, some answered,
and the others of graded.py), autograde, check every score, generate feedback and export the
grades.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lossbook_grader.course import ROOT, assignments, graded_cells, nbgrader

import cases  # the students who answer only some parts: PARTIAL of the assignment's module

from graded import graded_course, group

# One xdist group per assignment, shared with test_feedback and test_cheating: their tests read
# one graded class (graded.py), while different assignments can be graded on different workers.
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module", params=[
    pytest.param(name, marks=pytest.mark.xdist_group(group(name))) for name in assignments()
])
def graded(request, tmp_path_factory):
    """A course copy where one assignment has been released, submitted and autograded; among
    its students ``honest`` (the solutions), ``blank`` and ``partial``."""
    name = request.param
    return name, graded_course(name, tmp_path_factory)


def _scores(course: Path, name: str, student: str) -> tuple[float, float, dict[str, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(name, student)
        per_cell = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
        return sub.score, sub.max_score, per_cell


def test_exercises_equal_a_fresh_generate_assignment(graded):
    name, course = graded
    fresh = sorted(p.name for p in (course / "exercises" / name).iterdir())
    committed = sorted(p.name for p in (ROOT / "exercises" / name).iterdir())
    assert fresh == committed, "run `make exercises` and commit exercises/"
    for nb_name in fresh:
        a = nbformat.read(course / "exercises" / name / nb_name, as_version=4)
        b = nbformat.read(ROOT / "exercises" / name / nb_name, as_version=4)
        assert a == b, f"exercises/{name}/{nb_name} is stale: run `make exercises`"


def test_release_leaks_no_solution_and_no_hidden_test(graded):
    name, course = graded
    for src in (course / "solutions" / name).glob("*.ipynb"):
        release = nbformat.read(course / "exercises" / name / src.name, as_version=4)
        text = "\n".join(c.source for c in release.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
        for cell in nbformat.read(src, as_version=4).cells:
            for block in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END",
                                    cell.source, flags=re.S):
                for line in block.splitlines():
                    # every non-trivial line of a solution or hidden test is gone
                    if len(line.strip()) > 25:
                        assert line.strip() not in text, f"leaked into the release: {line!r}"
        assert not any(c.get("outputs") for c in release.cells if c.cell_type == "code")


def _manual(course: Path, name: str) -> dict[str, float]:
    """grade_id -> points of the written parts (graded by a person)."""
    return {gid: pts for src in (course / "solutions" / name).glob("*.ipynb")
            for gid, (pts, manual) in graded_cells(src).items() if manual}


def _manual_points(course: Path, name: str) -> float:
    return sum(_manual(course, name).values())


def _manual_grades(course: Path, name: str, student: str) -> dict[str, tuple[bool, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(name, student)
        return {g.name: (g.needs_manual_grade, g.score) for nb in sub.notebooks
                for g in nb.grades if g.name in _manual(course, name)}


def test_solutions_get_full_marks(graded):
    """Every autograded point; the written parts wait for a person (0 until graded, and
    flagged for manual grading)."""
    name, course = graded
    score, max_score, per_cell = _scores(course, name, "honest")
    assert max_score >= 20 and score == max_score - _manual_points(course, name), per_cell
    assert _manual_grades(course, name, "honest") == \
        {gid: (True, 0) for gid in _manual(course, name)}


def test_untouched_release_gets_zero(graded):
    name, course = graded
    score, max_score, _ = _scores(course, name, "blank")
    assert max_score > 0 and score == 0
    # a written answer left as released scores 0 at once: nothing for the grader to read
    assert _manual_grades(course, name, "blank") == {gid: (False, 0) for gid in _manual(course, name)}


def test_partial_answers_get_partial_credit(graded):
    name, course = graded
    _, _, per_cell = _scores(course, name, "partial")
    assert per_cell == cases.load(name).PARTIAL[1]


def test_feedback_and_grade_export(graded):
    name, course = graded
    for student in ("honest", "blank"):  # feedback generated by graded_course
        pages = list((course / "feedback" / student / name).glob("*.html"))
        assert pages, f"no feedback for {student}"
        html = pages[0].read_text()
        assert "Score:" in html or "score" in html.lower()
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == name}
    assert float(rows["honest"]["score"]) == \
        float(rows["honest"]["max_score"]) - _manual_points(course, name)
    assert float(rows["blank"]["score"]) == 0.0


def test_plain_nbgrader_autograde_ran_in_the_sandbox_with_nothing_to_repair(graded):
    """`nbgrader autograde` (no lossbook command) picks the sandbox up from nbgrader_config.py,
    and honest work trips none of the tamper guard's wires, on every assignment."""
    name, course = graded
    for student in ("honest", "blank", "partial"):
        reports = list((course / ".lossbook" / "reports" / name / student).glob("*.json"))
        assert reports, f"no sandbox report for {student}: was the sandbox used?"
        for path in reports:
            report = json.loads(path.read_text())
            assert report["sandbox"] and report["guard"], report
            assert report["repairs"] == [] and report["guard_errors"] == [], (student, report)
            assert report["dead"] is None and report["truncated"] is None, report
