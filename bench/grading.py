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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "_build" / "bench" / "grading.json"))
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
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
    report = {
        "students": args.students,
        "jobs": args.jobs,
        "nbgrader_autograde_s": round(runs["nbgrader"], 1),
        "lossbook_grade_s": round(runs["lossbook"], 1),
        "speedup": round(runs["nbgrader"] / runs["lossbook"], 2),
        "per_submission_s": {k: round(v / args.students, 2) for k, v in runs.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "python": platform.python_version(),
        "total_points": sum(results["lossbook"].values()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"{args.students} submissions: nbgrader autograde {report['nbgrader_autograde_s']} s, "
          f"lossbook-grade --jobs {args.jobs} {report['lossbook_grade_s']} s, "
          f"speed-up {report['speedup']}x (written to {args.out})")


if __name__ == "__main__":
    main()
