"""Benchmark: how long the course takes to run on a CPU, notebook by notebook, and the book build.

    python bench/course.py [--out bench/results/course.json] [--skip-book] [--only PATH ...]
                           [--slowest-cells N]

1. Every page of every chapter (``book/0*/*.ipynb``, each run from its own folder as Jupyter Book
   does) and every solution
   notebook (``solutions/*/*.ipynb``, run from its own folder) is executed with nbclient in a
   fresh kernel, one after another, on the CPU (``CUDA_VISIBLE_DEVICES=""``), with the kernel
   and the timeout the book build uses (the notebook's kernelspec, ``execute.timeout`` from
   ``_config.yml``). ``seconds`` is the wall time from the first cell to the end of the last one:
   starting the kernel is NOT included (the table prints it in its own column; it is about a
   second and says nothing about the notebook).
2. The whole book is built fresh, executing every page, with the command ``make book`` runs
   (``tools/build_book.py``: the pages executed two at a time on 2 cores, then
   ``jupyter-book build . --builder html -W -n --keep-going``) into a temporary folder
   (``--path-output``), so the developer's ``_build/html`` is left alone. ``book_build_seconds``
   is the wall time of that command, Python start-up included.

A notebook fails if a cell raises, times out, or writes to stderr (the book is built with -W,
where a warning in a cell's output fails the build; nbgrader scores such a test cell 0). The
JSON is written first; the exit status is 1 if a notebook failed, took longer than
``budget_notebook_s``, or the build failed or took longer than ``budget_book_s``.

``--slowest-cells N`` also prints the N slowest cells of each notebook (index, seconds, first
line), which is where to look when a notebook is over its budget.

This is a benchmark, not a test: ``make bench-course`` runs it. Timings depend on the machine
and on whatever else it is doing; the ``machine`` block of the JSON says which one it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
BUDGET_NOTEBOOK_S = 60
BUDGET_BOOK_S = 300


def course_notebooks() -> list[tuple[Path, str]]:
    """Every chapter, then every solution notebook, each with its kind."""
    chapters = sorted((ROOT / "book").glob("0*/*.ipynb"))
    solutions = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    return [(p, "chapter") for p in chapters] + [(p, "solution") for p in solutions]


def kind_of(path: Path) -> str:
    return "solution" if "solutions" in path.resolve().parts else "chapter"


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def book_timeout() -> int:
    """The per-cell timeout of the book build (``execute.timeout`` in ``_config.yml``)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return int(config.get("execute", {}).get("timeout", 30))


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        ram = float("nan")
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "torch": torch_version,
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


def _cell_seconds(cell: nbformat.NotebookNode) -> float | None:
    """A cell's run time from the timestamps nbclient records in its metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def run_notebook(path: Path, timeout: int) -> dict[str, object]:
    """Execute one notebook in a fresh kernel; return its timings and what went wrong, if anything."""
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=False,
                            record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    started = time.perf_counter()
    with client.setup_kernel():
        ready = time.perf_counter()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except CellTimeoutError as exc:
            error = f"timed out: {str(exc).strip().splitlines()[0]}"
        except CellExecutionError as exc:
            lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
            error = f"cell {index} raised: {lines[-1] if lines else type(exc).__name__}"
        finished = time.perf_counter()
    if error is None:
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    error = f"cell {index} wrote to stderr: {out.get('text', '')[:300].strip()}"
                    break
            if error:
                break
    cells = []
    for index, cell in enumerate(nb.cells):
        seconds = _cell_seconds(cell) if cell.cell_type == "code" else None
        if seconds is not None:
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            cells.append((seconds, index, first))
    return {"seconds": finished - ready, "kernel_start_seconds": ready - started,
            "error": error, "cells": sorted(cells, reverse=True)}


def build_book() -> tuple[float, str | None]:
    """Build the whole book fresh (every page executed) into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lossbook-course-bench-") as out:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"),
                               "--path-output", out],
                              cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or "build succeeded" not in log:
        return seconds, f"jupyter-book build failed (exit {proc.returncode}):\n{log[-4000:]}"
    return seconds, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "course.json"))
    parser.add_argument("--skip-book", action="store_true",
                        help="do not time the full book build (book_build_seconds is null)")
    parser.add_argument("--only", action="append", type=Path, metavar="PATH",
                        help="run only this notebook (repeatable); its kind is 'solution' if it "
                             "lies under a folder named solutions, else 'chapter'")
    parser.add_argument("--slowest-cells", type=int, default=0, metavar="N",
                        help="also print the N slowest cells of each notebook")
    args = parser.parse_args(argv)

    # On the CPU, whatever the machine has: the budgets are for a student's laptop.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy in kernels

    if args.only:
        notebooks = [(p, kind_of(p)) for p in args.only]
    else:
        notebooks = course_notebooks()
    timeout = book_timeout()

    report: dict[str, object] = {"machine": machine(), "notebooks": [],
                                 "book_build_seconds": None,
                                 "budget_notebook_s": BUDGET_NOTEBOOK_S,
                                 "budget_book_s": BUDGET_BOOK_S}
    problems = []
    print(f"{'notebook':58} {'kind':8} {'kernel s':>8} {'run s':>7}  status", flush=True)
    for path, kind in notebooks:
        result = run_notebook(path.resolve(), timeout)
        name = display_path(path)
        seconds = round(float(result["seconds"]), 2)
        entry = {"path": name, "kind": kind, "seconds": seconds, "error": result["error"]}
        report["notebooks"].append(entry)
        if result["error"]:
            status = f"FAIL {result['error']}"
            problems.append(f"{name}: {result['error']}")
        elif seconds > BUDGET_NOTEBOOK_S:
            status = f"OVER the {BUDGET_NOTEBOOK_S} s budget"
            problems.append(f"{name}: {seconds} s > {BUDGET_NOTEBOOK_S} s")
        else:
            status = "ok"
        print(f"{name:58} {kind:8} {result['kernel_start_seconds']:8.1f} {seconds:7.1f}  {status}",
              flush=True)
        for cell_s, index, first in result["cells"][:args.slowest_cells]:
            print(f"    cell {index:3d} {cell_s:6.2f} s  {first[:70]}", flush=True)

    if not args.skip_book:
        seconds, error = build_book()
        report["book_build_seconds"] = round(seconds, 1)
        status = "ok"
        if error:
            status = "FAIL"
            problems.append(error)
        elif seconds > BUDGET_BOOK_S:
            status = f"OVER the {BUDGET_BOOK_S} s budget"
            problems.append(f"book build: {seconds:.1f} s > {BUDGET_BOOK_S} s")
        print(f"{'book build (jupyter-book build, every page executed)':58} {'':8} {'':>8} "
              f"{seconds:7.1f}  {status}", flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {out}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
