"""Stamp the canonical setup cell (tools/setup_cell.py) into every notebook.

The first code cell of each notebook in book/ and solutions/ is the setup cell. Its text is
kept in one file so that the pip spec and the seeding live in one place.

    python tools/sync_setup_cells.py          # rewrite notebooks whose setup cell differs
    python tools/sync_setup_cells.py --check  # exit 1 and list them instead
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SETUP = (ROOT / "tools" / "setup_cell.py").read_text().strip()
MARKER = "# lossbook setup"


def notebooks() -> list[Path]:
    paths = [*ROOT.glob("book/**/*.ipynb"), *ROOT.glob("solutions/**/*.ipynb")]
    return sorted(p for p in paths if ".ipynb_checkpoints" not in p.parts)


def sync(path: Path, check: bool) -> bool:
    """Return True when the notebook was (or, with check, would be) changed."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and code[0].source.startswith(MARKER):
        if code[0].source == SETUP:
            return False
        if not check:
            code[0].source = SETUP
    else:
        if not check:
            cell = nbformat.v4.new_code_cell(SETUP)
            if (nb.nbformat, nb.nbformat_minor) < (4, 5):
                cell.pop("id", None)  # cell ids exist from nbformat 4.5 on
            else:
                cell["id"] = "lossbook-setup"
            first = nb.cells.index(code[0]) if code else len(nb.cells)
            nb.cells.insert(first, cell)
    if not check:
        nbformat.write(nb, path)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    args = parser.parse_args()
    changed = [p for p in notebooks() if sync(p, args.check)]
    for p in changed:
        print(f"{'out of date' if args.check else 'updated'}: {p.relative_to(ROOT)}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
