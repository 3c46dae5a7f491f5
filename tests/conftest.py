"""Settings for the whole suite. The folders mirror the code:

- ``tests/lossbook/``: the library students install (``lossbook/``);
- ``tests/grader/``: the instructor's grader;
- ``tests/book/``: the book, its notebooks and the built site;
- ``tests/bench/``: the benchmarks (``bench/``);
- ``tests/tools/``: the scripts in ``tools/``.

Tests run with float64 unless they say otherwise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in CI; set before any pyplot import

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy in kernels

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The book, built once per session from scratch (every page executed) with -W -n.

    Shared by test_book.py and test_site.py (both in the xdist group "book", so one
    worker builds it once). Returns the folder of the HTML site.

    To iterate on the browser tests without rebuilding, point LOSSBOOK_BUILT_SITE at the html
    folder of a build you made yourself with the same command; CI never sets it.
    """
    prebuilt = os.environ.get("LOSSBOOK_BUILT_SITE")
    if prebuilt:
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(  # what `make book` runs
        [sys.executable, str(ROOT / "tools" / "build_book.py"), "--path-output", str(out)],
        capture_output=True, text=True, timeout=1500,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    assert "build succeeded" in log
    # -W already turns Sphinx warnings into a failed build; this catches any that slip past.
    # (The kernel's own log lines, "[IPKernelApp] WARNING | ...", are not Sphinx warnings.)
    assert not re.findall(r"WARNING: .*", log), re.findall(r"WARNING: .*", log)[:5]
    return out / "_build" / "html"
