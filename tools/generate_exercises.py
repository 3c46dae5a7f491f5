"""Regenerate exercises/ (nbgrader's release) from solutions/ (nbgrader's source).

Runs the real ``nbgrader generate_assignment`` for every assignment folder in solutions/,
with a throwaway gradebook so the course's own gradebook is not touched.

    python tools/generate_exercises.py                 # all assignments
    python tools/generate_exercises.py 01-regression   # one
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def generate(names: list[str], root: Path = ROOT) -> None:
    nbgrader = Path(sys.executable).with_name("nbgrader")
    with tempfile.TemporaryDirectory() as tmp:
        # nbgrader runs `alembic` from PATH, so the venv's bin/ must come first.
        env = dict(os.environ, LOSSBOOK_GRADEBOOK_URL=f"sqlite:///{tmp}/gradebook.db",
                   PATH=f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        for name in names:
            subprocess.run(
                [str(nbgrader), "generate_assignment", name, "--force", "--log-level=WARN"],
                cwd=root, env=env, check=True,
            )


def main(argv: list[str]) -> int:
    names = argv or assignments()
    unknown = sorted(set(names) - set(assignments()))
    if unknown:
        print(f"unknown assignment(s): {', '.join(unknown)}; have {', '.join(assignments())}",
              file=sys.stderr)
        return 2
    generate(names)
    for name in names:
        print(f"exercises/{name} regenerated from solutions/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
