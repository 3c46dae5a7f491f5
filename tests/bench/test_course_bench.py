"""bench/course.py: the JSON it writes (read by the book's Performance page) and its exit status.

It runs on tiny synthetic notebooks with ``--only`` and ``--skip-book``: a few seconds, no timings
asserted (they depend on the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_files import write_notebook

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "course.py"

pytestmark = pytest.mark.xdist_group("course-bench")

MACHINE_KEYS = {"cpu", "cores", "ram_gib", "python", "torch", "platform", "date"}
TOP_KEYS = {"machine", "notebooks", "book_build_seconds", "budget_notebook_s", "budget_book_s"}


def run_bench(tmp_path: Path, *notebooks: Path) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "results" / "course.json"
    args = [sys.executable, str(SCRIPT), "--skip-book", "--out", str(out)]
    for nb in notebooks:
        args += ["--only", str(nb)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.exists(), f"no JSON written:\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(out.read_text())


def check_schema(report: dict) -> None:
    assert set(report) == TOP_KEYS
    assert set(report["machine"]) == MACHINE_KEYS
    assert isinstance(report["machine"]["cores"], int) and report["machine"]["cores"] >= 1
    assert report["machine"]["date"].endswith("+00:00")  # UTC, ISO 8601
    assert report["budget_notebook_s"] == 60 and report["budget_book_s"] == 300
    assert report["book_build_seconds"] is None  # --skip-book
    for entry in report["notebooks"]:
        assert {"path", "kind", "seconds"} <= set(entry)
        assert entry["kind"] in ("chapter", "solution")
        assert isinstance(entry["seconds"], float) and entry["seconds"] >= 0


def test_a_clean_notebook_is_recorded_and_exits_0(tmp_path):
    # It runs from its own folder (as the book build and nbgrader run notebooks).
    (tmp_path / "solutions" / "00-demo" / "data.txt").parent.mkdir(parents=True)
    (tmp_path / "solutions" / "00-demo" / "data.txt").write_text("42")
    nb = write_notebook(tmp_path / "solutions" / "00-demo" / "demo.ipynb",
                        "assert open('data.txt').read() == '42'",
                        "import os\nassert os.environ['CUDA_VISIBLE_DEVICES'] == ''  # on the CPU")
    proc, report = run_bench(tmp_path, nb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_schema(report)
    [entry] = report["notebooks"]
    assert entry["path"] == str(nb) and entry["kind"] == "solution" and entry["error"] is None
    assert "demo.ipynb" in proc.stdout  # the table


def test_a_failing_notebook_is_recorded_as_failed_and_exits_1(tmp_path):
    ok = write_notebook(tmp_path / "book" / "ok.ipynb", "x = 1")
    raises = write_notebook(tmp_path / "book" / "raises.ipynb", "x = 1", "raise ValueError('boom')")
    noisy = write_notebook(tmp_path / "book" / "noisy.ipynb",
                           "import warnings\nwarnings.warn('careful')")  # stderr fails the -W build
    proc, report = run_bench(tmp_path, ok, raises, noisy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    check_schema(report)
    entries = {Path(e["path"]).name: e for e in report["notebooks"]}
    assert list(entries) == ["ok.ipynb", "raises.ipynb", "noisy.ipynb"]  # every one, in order
    assert all(e["kind"] == "chapter" for e in entries.values())
    assert entries["ok.ipynb"]["error"] is None
    assert "cell 1" in entries["raises.ipynb"]["error"] and "ValueError" in entries["raises.ipynb"]["error"]
    assert "stderr" in entries["noisy.ipynb"]["error"] and "careful" in entries["noisy.ipynb"]["error"]
    assert "FAIL" in proc.stdout
