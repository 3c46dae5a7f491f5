"""The ban benchmark (bench/ban.py) runs and reports every case; no time is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ban_benchmark_reports_every_case(tmp_path):
    out = tmp_path / "ban.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "ban.py"), "--repeat", "3",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 3 and all(r["plain_us"] > 0 and r["banned_us"] > 0 for r in rows)
    assert len(proc.stdout.splitlines()) == 3
