"""``lossbook-grade`` set-up errors, and the collection helpers it uses (no kernels run here)."""

from __future__ import annotations

import pytest

from lossbook_grader.cli import main
from lossbook_grader.collect import LMSCollector, collect_folder, match_notebook
from lossbook_grader.course import make_course_copy, nbgrader

pytestmark = pytest.mark.xdist_group("grade-cli")  # one released course for the module

A = "01-regression"
NB = "regression-losses.ipynb"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("released"))
    nbgrader(course, "generate_assignment", A, "--force")
    return course


def _grade(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_unknown_assignment(released, capsys):
    code, err = _grade(capsys, "99-nothing", "--course", str(released))
    assert code == 2
    assert "unknown assignment '99-nothing'" in err and "01-regression" in err


def test_missing_gradebook(tmp_path, capsys):
    course = make_course_copy(tmp_path / "fresh")
    code, err = _grade(capsys, A, "--course", str(course))
    assert code == 2 and "no gradebook at" in err and "generate_assignment" in err


def test_no_submissions(released, capsys):
    code, err = _grade(capsys, A, "--course", str(released))
    assert code == 2 and "no submissions of '01-regression'" in err


def test_not_a_course(tmp_path, capsys):
    code, err = _grade(capsys, A, "--course", str(tmp_path))
    assert code == 2 and "no nbgrader_config.py" in err


def test_bad_jobs_and_missing_folder(released, capsys):
    code, err = _grade(capsys, A, "--course", str(released), "--jobs", "0")
    assert code == 2 and "--jobs must be at least 1, got 0" in err
    code, err = _grade(capsys, A, "--course", str(released), "--from",
                       str(released / "nowhere"))
    assert code == 2 and "does not exist" in err


def test_bad_canvas_ids_and_scheduler_timeout(released, capsys):
    code, err = _grade(capsys, A, "--course", str(released), "--canvas-id", "01-regression")
    assert code == 2 and "--canvas-id takes NAME=ID, got '01-regression'" in err
    code, err = _grade(capsys, A, "--course", str(released), "--scheduler-timeout", "0")
    assert code == 2 and "--scheduler-timeout must be positive, got 0" in err


def test_no_sandbox_stops_before_grading(released, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # bwrap cannot be found
    code, err = _grade(capsys, A, "--course", str(released))
    assert code == 2 and "bubblewrap" in err and "--no-sandbox" in err


def test_no_assignment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: lossbook-grade") and "required: assignment" in err


@pytest.mark.parametrize(("name", "expected"), [
    (NB, NB),
    ("regression-losses (1).ipynb", NB),
    ("regression-losses-2.ipynb", NB),
    ("Copy of regression_losses.ipynb", NB),
    ("Regression Losses copy.ipynb", NB),
    ("Untitled.ipynb", None),
    ("regression-losses.txt", None),
    ("classification-losses.ipynb", None),
])
def test_match_notebook(name, expected):
    assert match_notebook(name, [NB]) == expected


def test_match_notebook_is_strict_when_names_differ_only_by_number():
    expected = ["part-1.ipynb", "part-2.ipynb"]
    assert match_notebook("part-2.ipynb", expected) == "part-2.ipynb"
    assert match_notebook("part (1).ipynb", expected) is None


def test_lms_collector_reads_student_time_and_file():
    collector = LMSCollector()
    info = collector.collect(f"/x/extracted/{A}_jdoe_attempt_2026-11-30-21-15-02_{NB}")
    assert info == {"student_id": "jdoe", "timestamp": "2026-11-30 21:15:02", "file_id": NB}
    assert collector.collect("/x/extracted/readme.txt") is None
    assert collector.collect(f"/x/extracted/{NB}") is None  # no student in the name
    assert collector.collect(f"/x/{A}_jdoe_attempt_2026-13-45-00-00-00_{NB}") is None


def test_collect_folder(tmp_path):
    released = tmp_path / "course"
    (released / "exercises" / A).mkdir(parents=True)
    (released / "exercises" / A / NB).write_text("{}")
    src = tmp_path / "incoming"
    (src / "ann").mkdir(parents=True)
    (src / "ann" / "regression-losses (2).ipynb").write_text("{}")
    (src / "ann" / "data.csv").write_text("1")
    (src / "ben").mkdir()
    (src / "ben" / "Untitled.ipynb").write_text("{}")
    notes = collect_folder(src, released, A)
    assert notes == {"ann": [f"renamed 'regression-losses (2).ipynb' to '{NB}'"],
                     "ben": [f"missing {NB}"]}
    assert (released / "submitted" / "ann" / A / NB).exists()
    assert (released / "submitted" / "ann" / A / "data.csv").exists()
    assert (released / "submitted" / "ben" / A / "Untitled.ipynb").exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        collect_folder(tmp_path / "nope", released, A)
