"""lossbook's type hints: mypy is clean over the package, and the hints mean something.

lossbook ships ``py.typed``, so a student's type checker reads these signatures. The first test
runs mypy over the package with the settings of ``[tool.mypy]`` in pyproject.toml; the second
checks that those signatures say "NumPy in, NumPy out; tensor in, tensor out" by showing mypy
code that gets the kinds wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy(*args: str, cache: str) -> subprocess.CompletedProcess[str]:
    # Each test its own cache (under _build/, which git ignores): two pytest workers may run
    # them at the same time. A cold run analyses torch's annotations (about 10-20 s).
    cmd = [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / "_build" / cache), *args]
    env = {**os.environ, "MYPY_FORCE_COLOR": "0"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_mypy_is_clean_on_the_lossbook_package():
    run = _mypy("-p", "lossbook", cache=".mypy_cache")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Success: no issues found"), run.stdout


def test_signatures_keep_numpy_and_torch_apart(tmp_path):
    code = textwrap.dedent("""
        import numpy as np
        import torch
        import lossbook as lb

        a, b = np.zeros(3), np.ones(3)
        t, u = torch.zeros(3), torch.ones(3)
        ok_numpy: np.ndarray | np.number = lb.huber(a, b)
        ok_torch: torch.Tensor = lb.cross_entropy(t, u, reduction="none")
        wrong_kind: torch.Tensor = lb.mse(a, b)  # line 10: NumPy in, so NumPy out
        mixed = lb.mae(a, t)  # line 11: NumPy and torch in one call
    """)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code)
    run = _mypy("--config-file", str(ROOT / "pyproject.toml"), "--no-warn-unused-configs",
                str(snippet), cache=".mypy_cache_snippet")
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["10", "11"], run.stdout
    assert "Incompatible types in assignment" in errors[0], run.stdout
    assert 'Value of type variable "ArrayT"' in errors[1], run.stdout
