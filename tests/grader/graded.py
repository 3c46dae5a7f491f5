"""One graded class per assignment, shared by test_grading, test_feedback and test_cheating.

The three suites need the same steps on a course copy: release the assignment, submit students,
run the real ``nbgrader autograde`` and ``nbgrader generate_feedback``. Each used to do them on
a copy of its own, so the honest and the blank submission of every assignment were graded three
times. Here one course copy per assignment holds every student the three suites ask for:

* ``honest``: the solutions; ``blank``: the release as it is;
* ``partial``: only the answer cells of the assignment's ``PARTIAL`` (test_grading);
* ``wrong``: every function answers 0.0 (test_feedback);
* one student per cheat of the assignment's ``CHEATS`` (test_cheating), who answers the other
  parts honestly (and leaves the ``TRAINING`` parts blank, for time).

They are graded by one ``nbgrader autograde`` and one ``generate_feedback``. The tests that read
the class carry the xdist group :func:`group`, so one worker grades it, once per session
(:func:`graded_course` keeps it for the worker's whole run).
"""

from __future__ import annotations

import ast
from pathlib import Path

from nbgrader.api import Gradebook

from lossbook_grader.course import (assignments, fill_in, make_course_copy, nbgrader,
                                    solution_sources)

import cases

ASSIGNMENTS = tuple(assignments())
CASES = {name: cases.load(name) for name in ASSIGNMENTS}
# Parts that train a model: a cheating student leaves them blank unless cheating on them (time).
TRAINING = set().union(*(case.TRAINING for case in CASES.values()))
PLAIN = ("honest", "blank", "partial", "wrong")


def group(name: str) -> str:
    """The xdist group of every test that reads the graded class of ``name``."""
    return f"course-{name}"


def wrong(source: str) -> str:
    """A wrong answer with the same names: every function returns 0.0."""
    code = "\n".join(line for line in source.splitlines() if "### " not in line)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "pass"
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.append(f"def {node.name}(*args, **kwargs):\n    return 0.0")
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            out += [f"{t.id} = 0.0" for t in node.targets]
    return "\n".join(out) or "pass"


def cheating_submissions(name: str, answers: dict[str, str]) -> dict[str, dict[str, str]]:
    """student -> answered cells: each cheat over the honest answers of the other parts."""
    cheats = CASES[name].CHEATS
    assert not set(cheats) & set(PLAIN), f"{name}: a cheat is named like {PLAIN}"
    cheap = {k: v for k, v in answers.items() if k not in TRAINING}
    out = {}
    for student, parts in cheats.items():
        missing = set(parts) - set(answers)
        assert not missing, f"{name}: no answer cell {missing}"
        out[student] = {**cheap, **{k: code for k, (code, _) in parts.items()}}
    return out


def submissions(name: str, notebook: str, answers: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every student of the shared class for one notebook of ``name``."""
    partial = CASES[name].PARTIAL[0]
    out = {"honest": dict(answers), "blank": {},
           "partial": {k: v for k, v in answers.items() if k in partial},
           "wrong": {k: wrong(v) for k, v in answers.items()}}
    if notebook == CASES[name].NOTEBOOK:
        out |= cheating_submissions(name, answers)
    return out


def scores(course: Path, name: str, notebook: str, students) -> dict[str, dict[str, float]]:
    """student -> test grade_id -> score, for one notebook of ``name``."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {student: {g.name: g.score for g in gb.find_submission_notebook(
                    notebook.removesuffix(".ipynb"), name, student).grades}
                for student in students}


_COURSES: dict[str, Path] = {}


def graded_course(name: str, tmp_path_factory) -> Path:
    """The course copy where every student of ``name`` is autograded and has feedback."""
    if name not in _COURSES:
        course = make_course_copy(tmp_path_factory.mktemp(f"course-{name}"))
        nbgrader(course, "generate_assignment", name, "--force")
        for nb in sorted((course / "exercises" / name).glob("*.ipynb")):
            answers = solution_sources(course / "solutions" / name / nb.name)
            for student, answered in submissions(name, nb.name, answers).items():
                fill_in(nb, answered, course / "submitted" / student / name / nb.name)
        nbgrader(course, "autograde", name, "--force")
        nbgrader(course, "generate_feedback", name, "--force")
        _COURSES[name] = course
    return _COURSES[name]
