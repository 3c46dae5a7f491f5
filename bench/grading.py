"""Benchmark: grading a class of 40 with plain nbgrader versus ``lossbook-grade --jobs N``.

    python bench/grading.py [--students 40] [--jobs 2] [--out _build/bench/grading.json]

In a temporary copy of the course, 40 synthetic submissions of 01-regression (a third with
every part answered, a third with some, a third with none; seeded) are graded twice:

1. ``nbgrader autograde 01-regression``: nbgrader's own loop, one submission after another
   (with the course's sandboxed Execute step, as every autograde of this course runs);
2. ``lossbook-grade 01-regression --jobs N --no-feedback``: the same autograde, N submissions
   at a time, plus the export.

Both must give every student the same score; the wall times and the speed-up are printed and
written to a JSON file. This is a benchmark, not a test: ``make bench`` runs it.

Then the engines (issue 19), each on the same class with feedback, in a fresh course copy:
the local engine with 1 and 2 jobs, and a Dask cluster (``distributed.LocalCluster``: a
scheduler and worker processes of its own) with 1 and 2 workers of one thread each. For each:
the wall time, the throughput, the per-submission split of the work (private course set-up,
sandbox start, kernel start, execution in the kernel, the rest of nbgrader's bookkeeping in the
worker, and the coordinator writing the result into the gradebook), and the core-seconds one
submission costs, from which the sizing table on the instructor page is derived
(``--engines-only`` skips the nbgrader comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lossbook_grader.course import (course_env, fill_in, make_course_copy, nbgrader,
                                    solution_sources)

ROOT = Path(__file__).resolve().parents[1]  # the course: this repository

A = "01-regression"
NB = "regression-losses.ipynb"


def build_class(course: Path, students: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    answers = solution_sources(course / "solutions" / A / NB)
    release = course / "exercises" / A / NB
    for i in range(students):
        kind = i % 3
        if kind == 0:
            chosen = answers
        elif kind == 1:
            chosen = {k: v for k, v in answers.items() if rng.random() < 0.5}
        else:
            chosen = {}
        fill_in(release, chosen, course / "submitted" / f"student{i:03d}" / A / NB)


def scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(A).submissions}


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=course_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


PARTS = ("setup", "sandbox_start", "kernel_start", "execution", "bookkeeping", "record")


def grade_with(course: Path, engine: str, workers: int) -> tuple[float, dict[str, float],
                                                                  dict[str, dict]]:
    """Grade the class of ``course`` in-process with ``lossbook_grader.cli.grade``; the wall
    time, every student's score and per-submission timings."""
    import argparse

    from lossbook_grader.cli import add_arguments, grade

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [A, "--course", str(course), "-q", "--jobs", str(workers)]
    cluster = None
    if engine == "dask":
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        argv += ["--scheduler", cluster.scheduler_address]
    try:
        start = time.perf_counter()
        results = grade(parser.parse_args(argv))
        wall = time.perf_counter() - start
    finally:
        if cluster is not None:
            cluster.close()
    bad = [r.student for r in results if r.status != "graded"]
    if bad:
        raise SystemExit(f"{engine} x{workers}: not graded: {bad}")
    return wall, {r.student: r.score for r in results}, {r.student: r.timings for r in results}


def engines(students: int, tmp: Path) -> list[dict]:
    rows, reference = [], None
    for engine, workers in (("local", 1), ("local", 2), ("dask", 1), ("dask", 2)):
        course = make_course_copy(tmp / f"{engine}{workers}", ROOT)
        nbgrader(course, "generate_assignment", A, "--force")
        build_class(course, students)
        wall, got, timings = grade_with(course, engine, workers)
        if reference is None:
            reference = got
        elif got != reference:
            raise SystemExit(f"{engine} x{workers} disagrees with local x1 on the scores")
        split = {k: round(sum(t.get(k, 0.0) for t in timings.values()) / students, 3)
                 for k in PARTS}
        rows.append({"engine": engine, "workers": workers, "wall_s": round(wall, 1),
                     "submissions_per_minute": round(60 * students / wall, 2),
                     "per_submission_s": split,
                     "core_seconds_per_submission": round(workers * wall / students, 2)})
        print(f"{engine} x{workers}: {wall:.1f} s for {students} ({rows[-1]['submissions_per_minute']}"
              f"/min); per submission: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
        shutil.rmtree(course)
    return rows


def sizing(core_seconds: float) -> list[dict]:
    """Worker cores for a class's submissions within an hour, at the measured cost per
    submission (rounded up, with nothing to spare)."""
    import math

    return [{"submissions": n, "cores_for_one_hour": math.ceil(n * core_seconds / 3600)}
            for n in (500, 2000, 10000)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--engines-only", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "_build" / "bench" / "grading.json"))
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    results = {}
    report: dict = {"students": args.students,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                               f"{platform.platform()}",
                    "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.engines_only:
            runs = {}
            for label in ("nbgrader", "lossbook"):
                course = make_course_copy(Path(tmp) / label, ROOT)
                nbgrader(course, "generate_assignment", A, "--force")
                build_class(course, args.students)
                if label == "nbgrader":
                    runs[label] = timed([str(bin_dir / "nbgrader"), "autograde", A], course)
                else:
                    runs[label] = timed([str(bin_dir / "lossbook-grade"), A, "--jobs",
                                         str(args.jobs), "--no-feedback", "-q"], course)
                results[label] = scores(course)
                shutil.rmtree(course)
            if results["nbgrader"] != results["lossbook"]:
                raise SystemExit("the two gradings disagree: "
                                 f"{ {k: (results['nbgrader'][k], results['lossbook'].get(k)) for k in results['nbgrader'] if results['nbgrader'][k] != results['lossbook'].get(k)} }")
            report.update({
                "jobs": args.jobs,
                "nbgrader_autograde_s": round(runs["nbgrader"], 1),
                "lossbook_grade_s": round(runs["lossbook"], 1),
                "speedup": round(runs["nbgrader"] / runs["lossbook"], 2),
                "per_submission_s": {k: round(v / args.students, 2) for k, v in runs.items()},
                "total_points": sum(results["lossbook"].values()),
            })
            print(f"{args.students} submissions: nbgrader autograde "
                  f"{report['nbgrader_autograde_s']} s, lossbook-grade --jobs {args.jobs} "
                  f"{report['lossbook_grade_s']} s, speed-up {report['speedup']}x")
        report["engines"] = engines(args.students, Path(tmp))
    cost = next(r for r in report["engines"] if (r["engine"], r["workers"]) == ("local", 2))
    report["sizing"] = sizing(cost["core_seconds_per_submission"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    for row in report["sizing"]:
        print(f"{row['submissions']} submissions in an hour: {row['cores_for_one_hour']} cores")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
