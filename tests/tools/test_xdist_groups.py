"""The suite's ``--dist loadgroup`` really keeps an ``xdist_group`` on one worker.

Module fixtures such as the hostile class and the built book are made once per worker that
runs their tests: with the grouping lost (pytest 9.2.0 with pytest-xdist 3.8.0, xdist's issue
#1386), both workers grade the same class and build the same book, and CI takes twice as long.
"""

from __future__ import annotations

import subprocess
import sys


def test_a_group_runs_on_a_single_worker(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "test_grouped.py").write_text(
        "import os, pathlib, pytest\n"
        "@pytest.mark.xdist_group('together')\n"
        "@pytest.mark.parametrize('i', range(8))\n"
        "def test_one(i):\n"
        "    marks = pathlib.Path(os.environ['LOSSBOOK_MARKS'])\n"
        "    (marks / f'w{i}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n")
    import os

    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "2", "--dist", "loadgroup", "test_grouped.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LOSSBOOK_MARKS": str(marks)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    workers = {(marks / f"w{i}").read_text() for i in range(8)}
    assert len(workers) == 1, f"one group ran on {sorted(workers)}"
