"""Feedback without hidden tests: real `nbgrader autograde` + `nbgrader generate_feedback` on a
course copy, with an honest, a wrong and a blank submission.

No line of any hidden test block (read from solutions/) may appear in any feedback HTML, in its
text or anywhere in its markup, while the autograded notebooks (the negative control) do hold
them; failed checks are explained in words.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from lossbook_grader.ban import hidden_block
from lossbook_grader.course import assignments
from lossbook_grader.feedback import HideHiddenTests, explain, visible_source

from graded import graded_course, group

ASSIGNMENTS = tuple(assignments())
STUDENTS = ("honest", "wrong", "blank")


def _hidden_lines(name: str, course: Path) -> set[str]:
    """Lines of the hidden tests that appear nowhere else in the notebook, not even inside
    another line (``dist.fill_diagonal_(float("inf"))`` is also part of a solution's line, so
    it shows up in honest work)."""
    lines, elsewhere = set(), set()
    for src in (course / "solutions" / name).glob("*.ipynb"):
        for cell in nbformat.read(src, as_version=4).cells:
            hidden = hidden_block(cell.source)
            for line in hidden.splitlines():
                if len(line.strip()) > 25:  # shorter lines can coincide with visible ones
                    lines.add(line.strip())
            rest = cell.source.replace(hidden, "") if hidden else cell.source
            elsewhere.update(line.strip() for line in rest.splitlines())
    text = "\n".join(elsewhere)
    return {line for line in lines if line not in text}


@pytest.fixture(scope="module", params=[
    pytest.param(name, marks=[pytest.mark.slow, pytest.mark.xdist_group(group(name))])
    for name in ASSIGNMENTS
])
def feedback(request, tmp_path_factory):
    """The class shared with test_grading and test_cheating (graded.py), autograded and with
    feedback; among its students ``honest``, ``wrong`` (every function returns 0.0), ``blank``."""
    name = request.param
    return name, graded_course(name, tmp_path_factory)


def _pages(course: Path, name: str, student: str) -> list[Path]:
    pages = sorted((course / "feedback" / student / name).glob("*.html"))
    assert pages, f"no feedback for {student}"
    return pages


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_autograded_notebooks_hold_the_hidden_tests(feedback):
    """The negative control: what the feedback step has to remove is really there."""
    name, course = feedback
    hidden = _hidden_lines(name, course)
    assert hidden
    for nb in (course / "autograded" / "honest" / name).glob("*.ipynb"):
        text = nb.read_text()
        assert any(line.replace('"', '\\"') in text or line in text for line in hidden)


@pytest.mark.parametrize("student", STUDENTS)
def test_no_hidden_line_in_any_feedback(feedback, student):
    name, course = feedback
    hidden = _hidden_lines(name, course)
    for page_path in _pages(course, name, student):
        page = page_path.read_text()
        text = _text(page)
        raw = html.unescape(page)
        leaked = [line for line in hidden if line in text or line in raw
                  or html.escape(line) in page]
        assert not leaked, f"{student}: {leaked[:3]}"
        assert "HIDDEN TESTS" not in page


def test_failures_are_explained_in_words(feedback):
    name, course = feedback
    wrong = "".join(_text(p.read_text()) for p in _pages(course, name, "wrong"))
    assert "A hidden check failed" in wrong or "A check failed" in wrong or \
        "A visible check failed" in wrong
    blank = "".join(_text(p.read_text()) for p in _pages(course, name, "blank"))
    assert "This part is not answered yet" in blank
    honest = "".join(_text(p.read_text()) for p in _pages(course, name, "honest"))
    assert "check failed" not in honest and "not answered" not in honest


# ------------------------------------------------------------------ the step in isolation
SOURCE = ("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nsecret = 42\n"
          "assert f(secret) == 43\nassert f(2) == 3, 'f(2) differs from the reference'\n"
          "### END HIDDEN TESTS")


def _error(line: int, ename="AssertionError", evalue=""):
    return nbformat.NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[
        "\x1b[0;31mAssertionError\x1b[0m Traceback",
        f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m\n----> {line} {SOURCE.splitlines()[line - 1]}",
    ])


def test_explanations():
    assert explain(_error(4), SOURCE) == "A hidden check failed."
    assert explain(_error(5, evalue="f(2) differs from the reference"), SOURCE) == \
        "A check failed: f(2) differs from the reference"
    assert explain(_error(1), SOURCE) == "A visible check failed: assert f(1) == 1"
    assert explain(_error(4, "NotImplementedError"), SOURCE).startswith("This part is not")
    assert visible_source(SOURCE) == "assert f(1) == 1"


def test_the_preprocessor_strips_source_and_traceback():
    cell = nbformat.v4.new_code_cell(SOURCE)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret = 42"),
                    _error(4)]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    dumped = nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))
    assert "secret" not in dumped and "f(2)" not in dumped
    assert cell.outputs[0]["evalue"] == "A hidden check failed."


def test_honest_work_trips_no_guard_wire(feedback):
    """The guard now watches every lossbook module, class and namespace: honest work (which
    calls lossbook freely) must still need no repair."""
    import json

    name, course = feedback
    reports = list((course / ".lossbook" / "reports" / name / "honest").glob("*.json"))
    assert reports
    for path in reports:
        report = json.loads(path.read_text())
        assert report["repairs"] == [] and report["guard_errors"] == [], report
