"""Run notebooks without Jupyter: execute their code cells in order, in one namespace each.

Meant for machines that have torch but no Jupyter stack (for example a borrowed GPU box):

    MPLBACKEND=Agg PYTHONPATH=. python tools/run_notebooks_plain.py book/*.ipynb solutions/*/*.ipynb

Prints one line per notebook: device, seconds, and ``ok`` or the failing cell. Exits 1 if any
notebook failed. IPython magics are not supported (the course's notebooks use none).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path


def run(path: Path) -> tuple[bool, str, float]:
    cells = json.loads(path.read_text())["cells"]
    namespace: dict[str, object] = {"__name__": "__main__"}
    with contextlib.suppress(ImportError):
        import matplotlib.pyplot as plt

        plt.show = lambda *args, **kwargs: None  # inline figures need no window
    start = time.perf_counter()
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for i, cell in enumerate(cells):
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            tags = cell.get("metadata", {}).get("tags", [])
            out, err = io.StringIO(), io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                        warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)
            except Exception:
                if "raises-exception" in tags:
                    continue
                return False, f"cell {i} failed:\n{traceback.format_exc(limit=3)}", time.perf_counter() - start
            # The book build and nbgrader treat stderr (warnings included) as a failure.
            noise = err.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
            if noise:
                return False, f"cell {i} wrote to stderr:\n{noise[:2000]}", time.perf_counter() - start
    finally:
        os.chdir(cwd)
        with contextlib.suppress(Exception):
            import matplotlib.pyplot as plt

            plt.close("all")
    env = namespace.get("env")
    device = getattr(env, "device", "?")
    return True, f"device={device}", time.perf_counter() - start


def main(paths: list[str]) -> int:
    failed = 0
    for p in paths:
        ok, msg, seconds = run(Path(p).resolve())
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {p}  {seconds:6.1f} s  {msg}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
