"""``lossbook-grade``: nbgrader's collect, autograde, feedback and export, in parallel.

    lossbook-grade 01-regression --jobs 4

The console script of the ``lossbook-grader`` distribution; ``lossbook-grade --help`` lists
its options and the "For instructors" page of the book walks through a whole grading round.

Every step is nbgrader's own: collection and export are nbgrader commands run in the course
directory, and autograde and feedback are nbgrader's API run on each submission in a private
copy of the course, whose results this command writes into the course's gradebook and
folders. So the gradebook stays nbgrader's database, and formgrader, ``nbgrader export`` and
the rest keep working on it.
What this adds:

* setup errors (unknown assignment, no gradebook, no submissions, no sandbox) stop everything
  with one clear message and exit status 2, before any student code runs;
* every submission is a job for an engine (:mod:`lossbook_grader.engines`): ``--jobs``
  worker processes here (nbgrader itself grades one at a time), or the workers of a Dask
  cluster (``--scheduler tcp://HOST:8786``). A job is pure data and so is its result
  (:mod:`lossbook_grader.unit`: each submission is autograded by nbgrader's own API in a
  private course, in the sandbox); this process alone writes the gradebook
  (:mod:`lossbook_grader.gradebook`), which may be SQLite or PostgreSQL
  (``LOSSBOOK_GRADEBOOK_URL``), with a progress bar;
* a rerun grades only submissions that are new or changed, comparing a digest of each
  submission folder and of the assignment's source (``--force`` regrades all); grades live in
  nbgrader's database keyed by student, assignment and cell, so a rerun replaces a grade and
  never adds a second one;
* a submission nbgrader cannot grade (a notebook that is not valid JSON, say) is not lost: its
  cells get 0 points and are marked for manual grading, and the summary says why;
* the summary table lists every student's score, lateness and anything the sandbox or the
  tamper guard reported;
* besides nbgrader's CSV (``--export``), the grades are written as a Canvas gradebook import
  file (``--canvas``; :func:`lossbook_grader.gradebook.export_canvas` says which columns).

Exit status: 0 when every submission was graded, 1 when some need manual review because
grading failed, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import switched_on

__all__ = ["GradeSetupError", "Result", "add_arguments", "grade", "main", "run"]

STATE_DIR = Path(".lossbook") / "grade-state"
LOG_DIR = Path(".lossbook") / "logs"


class GradeSetupError(Exception):
    """Something about the course set-up prevents grading; the message says what."""


@dataclass
class Result:
    """What happened to one student's submission."""

    student: str
    status: str  # "graded", "unchanged" or "failed"
    score: float = 0.0
    max_score: float = 0.0
    seconds_late: float = 0.0
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # see lossbook_grader.unit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name, e.g. 01-regression")
    parser.add_argument("--course", default=".", help="course directory (where "
                        "nbgrader_config.py is; default: the current one)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--from", dest="source", metavar="FOLDER",
                        help="collect from a folder with one sub-folder per student")
    parser.add_argument("--no-zip", action="store_true", help="ignore an LMS export in "
                        "downloaded/<assignment>/archive/")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell may run (default: nbgrader_config.py's, 300)")
    parser.add_argument("--memory-mb", type=int, default=None,
                        help="memory limit of each sandboxed kernel (MiB)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code unsandboxed (only for code you trust)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, changed or not")
    parser.add_argument("--no-feedback", action="store_true",
                        help="skip nbgrader generate_feedback")
    parser.add_argument("--export", default="grades.csv", metavar="CSV",
                        help="where nbgrader export writes the grades (relative to the course; "
                             "default grades.csv)")
    parser.add_argument("--canvas", default="grades-canvas.csv", metavar="CSV",
                        help="where the Canvas gradebook import file is written (relative to "
                             "the course; default grades-canvas.csv; '' for none)")
    parser.add_argument("--canvas-id", action="append", default=[], metavar="NAME=ID",
                        help="the Canvas id of an assignment, so that its column fills that "
                             "assignment (repeatable)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the workers of a running Dask cluster "
                             "(tcp://HOST:8786) instead of --jobs processes here")
    parser.add_argument("--scheduler-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait for the Dask scheduler to answer (default 30)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _nbgrader_bin() -> str:
    exe = Path(sys.executable).with_name("nbgrader")
    return str(exe) if exe.exists() else "nbgrader"


def _load_coursedir(course: Path) -> Any:
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (course / "nbgrader_config.py").is_file():
        raise GradeSetupError(f"no nbgrader_config.py in {course}: run `lossbook-grade` in the "
                              "course directory or pass --course")
    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except Exception as err:  # the config file's own error, whatever it is
        raise GradeSetupError(f"{course / 'nbgrader_config.py'} could not be loaded: "
                              f"{type(err).__name__}: {err}") from err
    coursedir = CourseDirectory(config=config)
    if not coursedir.root:
        coursedir.root = str(course)
    return coursedir


def _check_assignment(coursedir: Any, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    source = Path(coursedir.root) / coursedir.source_directory
    known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    if assignment not in known:
        raise GradeSetupError(f"unknown assignment {assignment!r}: {source} has "
                              f"{', '.join(known) or 'no assignments'}")
    url = coursedir.db_url
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):].split("?", 1)[0])
        if not path.is_file():
            raise GradeSetupError(f"no gradebook at {path}: run `nbgrader generate_assignment "
                                  f"{assignment}` first (it creates the gradebook)")
    with Gradebook(url, coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise GradeSetupError(f"assignment {assignment!r} is not in the gradebook "
                                  f"({url}): run `nbgrader generate_assignment {assignment}` "
                                  "first") from None


def _digest(folder: Path, salt: str) -> str:
    h = hashlib.sha256(salt.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def _run(cmd: list[str], course: Path, env: dict[str, str], log: Path) -> int:
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        return subprocess.run(cmd, cwd=course, env=env, stdout=fh, stderr=subprocess.STDOUT,
                              check=False).returncode


def _last_error(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    for line in reversed(lines):  # the most specific line first: the exception itself
        if line and not line.startswith(("[", "$", "File ", "^")) and \
                ("Error" in line or "error" in line):
            return line[:200]
    errors = [line for line in lines if "| ERROR]" in line]
    return errors[0][:200] if errors else "nbgrader failed (see the log)"


def _report_notes(course: Path, assignment: str, student: str) -> list[str]:
    notes = []
    folder = course / ".lossbook" / "reports" / assignment / student
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text())
        where = path.stem
        if report.get("repairs"):
            notes.append(f"{where}: tampering undone ({', '.join(report['repairs'][:3])}"
                         f"{', ...' if len(report['repairs']) > 3 else ''})")
        for key, text in (("dead", "kernel died in cell"), ("stopped", "timed out in cell"),
                          ("truncated", "output cut in cell")):
            if report.get(key) is not None:
                notes.append(f"{where}: {text} {report[key]}")
        if not report.get("sandbox", True):
            notes.append(f"{where}: graded WITHOUT the sandbox")
    return notes


def _collect(args: argparse.Namespace, coursedir: Any, course: Path) -> dict[str, list[str]]:
    from .collect import collect_folder

    notes: dict[str, list[str]] = {}
    if args.source:
        try:
            notes = collect_folder(args.source, course, args.assignment,
                                   submitted=coursedir.submitted_directory,
                                   release=coursedir.release_directory)
        except FileNotFoundError as err:
            raise GradeSetupError(str(err)) from None
    archive = course / "downloaded" / args.assignment / "archive"
    if not args.source and not args.no_zip and archive.is_dir() and any(archive.iterdir()):
        log = course / LOG_DIR / args.assignment / "_zip_collect.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        code = _run([_nbgrader_bin(), "zip_collect", args.assignment, "--force"], course,
                    _env(args), log)
        if code != 0:
            raise GradeSetupError(f"nbgrader zip_collect failed: {_last_error(log)} "
                                  f"(log: {log})")
    return notes


def _env(args: argparse.Namespace, threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if args.no_sandbox:
        env["LOSSBOOK_SANDBOX"] = "off"
    if args.timeout is not None:
        env["LOSSBOOK_CELL_TIMEOUT"] = str(args.timeout)
    if args.memory_mb is not None:
        env["LOSSBOOK_MEMORY_MB"] = str(args.memory_mb)
    if threads is not None:
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[key] = str(threads)
    return env


def _validate(args: argparse.Namespace) -> None:
    if args.jobs < 1:
        raise GradeSetupError(f"--jobs must be at least 1, got {args.jobs}")
    for name in ("timeout", "memory_mb", "scheduler_timeout"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise GradeSetupError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _canvas_ids(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise GradeSetupError(f"--canvas-id takes NAME=ID, got {pair!r}")
        out[name] = value
    return out


def grade(args: argparse.Namespace, notes: list[str] | None = None) -> list[Result]:
    """Run the whole round for ``args.assignment``; return one result per submission (and
    add what the engine reported, such as Dask workers that refused, to ``notes``).

    Each submission is a job for the engine (:mod:`lossbook_grader.engines`: worker processes
    here, or a Dask cluster), graded by the pure unit of work :mod:`lossbook_grader.unit` in
    a private course; only this process writes the gradebook (:mod:`lossbook_grader.gradebook`).
    """
    from nbgrader.api import Gradebook, MissingEntry

    from .engines import EngineError, make_engine
    from .gradebook import RecordError, export_canvas, mark_for_review, record
    from .unit import make_job

    _validate(args)
    canvas_ids = _canvas_ids(args.canvas_id)
    course = Path(args.course).resolve()
    sandbox = not args.no_sandbox and switched_on("LOSSBOOK_SANDBOX")
    coursedir = _load_coursedir(course)
    _check_assignment(coursedir, args.assignment)
    engine_env = {k: v for k, v in _env(args).items() if k.startswith("LOSSBOOK_")}
    try:
        engine = make_engine(args.scheduler, args.jobs, engine_env,
                             timeout=args.scheduler_timeout)
        engine.prepare(sandbox)
    except EngineError as err:
        raise GradeSetupError(str(err)) from None
    collect_notes = _collect(args, coursedir, course)

    submitted = course / coursedir.submitted_directory
    students = sorted(p.parent.name for p in submitted.glob(f"*/{args.assignment}")
                      if p.is_dir())
    if not students:
        engine.close()
        raise GradeSetupError(
            f"no submissions of {args.assignment!r}: nothing in {submitted}/<student>/"
            f"{args.assignment}/, no LMS export in downloaded/{args.assignment}/archive/ "
            "and no --from folder")

    source = course / coursedir.source_directory / args.assignment
    # A grade is "unchanged" only against the same source, sandbox and gradebook.
    salt = _digest(source, f"{not sandbox}|{coursedir.db_url}") if source.is_dir() else ""
    state_file = course / STATE_DIR / f"{args.assignment}.json"
    state: dict[str, dict[str, Any]] = (json.loads(state_file.read_text())
                                        if state_file.is_file() else {})
    digests = {s: _digest(submitted / s / args.assignment, salt) for s in students}
    todo = [s for s in students if args.force or state.get(s, {}).get("digest") != digests[s]]

    jobs = max(1, min(args.jobs, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // jobs) if not args.scheduler else 1
    # Every limit explicit in the job, as this machine's configuration resolves it, so that a
    # worker's own environment changes nothing.
    config = coursedir.config
    timeout = args.timeout or int(config.Execute.timeout)
    if args.timeout is None or os.environ.get("LOSSBOOK_CPU_SECONDS"):
        cpu_seconds = int(config.SandboxedExecute.cpu_seconds)
    else:  # as configure() derives it from LOSSBOOK_CELL_TIMEOUT
        from .sandbox import Limits

        cpu_seconds = max(Limits.cpu_seconds, 3 * timeout)
    hide = [str(course)]
    if coursedir.db_url.startswith("sqlite:///"):
        hide.append(str(Path(coursedir.db_url[len("sqlite:///"):].split("?", 1)[0]).parent))
    settings = {"sandbox": sandbox, "guard": switched_on("LOSSBOOK_GUARD"),
                "timeout": timeout,
                "memory_mb": args.memory_mb or int(config.SandboxedExecute.memory_mb),
                "cpu_seconds": cpu_seconds, "feedback": not args.no_feedback,
                "threads": threads, "hide": hide}
    if hasattr(engine, "jobs"):
        engine.jobs = jobs
    logs = course / LOG_DIR / args.assignment
    logs.mkdir(parents=True, exist_ok=True)
    for student in todo:  # reports of an earlier grading must not outlive it
        for old in (course / ".lossbook" / "reports" / args.assignment / student).glob("*.json"):
            old.unlink()

    def job_of(student: str) -> Any:
        return lambda: json.dumps(make_job(course, coursedir, args.assignment, student,
                                           settings)).encode()

    outcome: dict[str, str] = {}  # student -> "graded", "failed" or "lost"
    errors: dict[str, str] = {}
    feedback_errors: dict[str, str] = {}
    timings: dict[str, dict[str, float]] = {}
    if todo:
        from tqdm.auto import tqdm

        with tqdm(total=len(todo), desc=f"grading {args.assignment}", unit="submission",
                  disable=args.quiet, file=sys.stderr) as bar:
            try:
                for result in engine.run([({"assignment": args.assignment, "student": s},
                                           job_of(s)) for s in todo]):
                    student = result["student"]
                    (logs / f"{student}.log").write_text(
                        f"worker: {result.get('worker')}\n{result.get('log', '')}\n"
                        f"{result.get('error', '')}\n")
                    timings[student] = result.get("timings", {})
                    if result.get("ok"):
                        began = time.perf_counter()
                        try:
                            record(course, coursedir, result)
                            outcome[student] = "graded"
                            if result.get("feedback_error"):
                                feedback_errors[student] = result["feedback_error"]
                        except RecordError as err:  # may clear up: graded again next run
                            outcome[student], errors[student] = "lost", str(err)
                        timings[student]["record"] = time.perf_counter() - began
                    else:
                        # nbgrader could not grade these files ("failed", final until they
                        # change); or no worker graded them ("lost": tried again next run)
                        lost = result.get("lost") or result.get("refused")
                        outcome[student] = "lost" if lost else "failed"
                        errors[student] = result.get("error") or "nbgrader failed"
                    if outcome[student] != "graded":
                        try:
                            mark_for_review(coursedir, args.assignment, student)
                        except RecordError as err:
                            errors[student] += f"; and it could not be marked for review: {err}"
                    bar.update(1)
            finally:
                engine.close()
    else:
        engine.close()
    engine_notes = list(getattr(engine, "notes", []))

    results = []
    for student in students:
        notes = list(collect_notes.get(student, []))
        if student in todo and student not in outcome:  # no result came back at all
            outcome[student], errors[student] = "lost", "no result came back from the engine"
            try:
                mark_for_review(coursedir, args.assignment, student)
            except RecordError:
                pass
        if student not in outcome and state.get(student, {}).get("status") == "failed":
            status = "failed"  # not retried: the same files would fail the same way
            notes.append("not graded, unchanged since grading failed; review by hand")
        elif student not in outcome:
            status = "unchanged"
        elif outcome[student] == "graded":
            status = "graded"
        else:
            status = "failed"
            again = " (graded again on the next run)" if outcome[student] == "lost" else ""
            notes.append(f"not graded: {errors[student]}; 0 points until reviewed{again} "
                         f"(log: {logs / f'{student}.log'})")
        if status != "failed":
            notes += _report_notes(course, args.assignment, student)
        if student in feedback_errors:
            notes.append(f"no feedback: {feedback_errors[student]}")
        for name in sorted(p.name for p in (course / coursedir.release_directory /
                                            args.assignment).glob("*.ipynb")):
            if not (submitted / student / args.assignment / name).exists() and \
                    f"missing {name}" not in notes:
                notes.append(f"missing {name}")
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            try:
                sub = gb.find_submission(args.assignment, student)
                score, max_score = sub.score, sub.max_score
                late = sub.total_seconds_late
                if status != "failed":
                    waiting = written_waiting(sub)
                    if waiting:
                        notes.append(f"{len(waiting)} written answer(s) to grade by hand in "
                                     f"formgrader ({sum(waiting.values()):g} points)")
            except MissingEntry:  # not even marked for review (the gradebook refused it)
                score, max_score, late = 0.0, 0.0, 0.0
        results.append(Result(student, status, score, max_score, late, notes,
                              timings.get(student, {})))
        if outcome.get(student) in ("graded", "failed"):
            state[student] = {"digest": digests[student], "status": status}
        elif outcome.get(student) == "lost":
            state.pop(student, None)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=1, sort_keys=True))
    if notes is not None:
        notes += engine_notes

    export = course / args.export
    log = logs / "_export.log"
    log.write_text("")
    if _run([_nbgrader_bin(), "export", "--to", str(export)], course, _env(args), log) != 0:
        raise GradeSetupError(f"nbgrader export failed: {_last_error(log)} (log: {log})")
    if args.canvas:
        export_canvas(coursedir, course / args.canvas, canvas_ids)
    return results


def written_waiting(submission: Any) -> dict[str, float]:
    """grade name -> points of the answers in ``submission`` (an nbgrader ``SubmittedAssignment``)
    that a person must grade: written answers the student changed, which autograde leaves
    ungraded (no automatic score) and nobody has scored yet. A written answer left as released
    scores 0 at once and is not counted; nor is a failed submission's cell marked for review
    (that one has an automatic 0)."""
    return {g.name: float(g.max_score) for nb in submission.notebooks for g in nb.grades
            if g.needs_manual_grade and g.auto_score is None and g.manual_score is None}


def summary_table(results: list[Result]) -> str:
    """A plain-text table of the results, one row per student."""
    header = ("student", "status", "score", "late", "notes")
    rows = [(r.student, r.status, f"{r.score:g}/{r.max_score:g}",
             f"{r.seconds_late / 3600:.1f} h" if r.seconds_late > 0 else "",
             "; ".join(r.notes)) for r in results]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4]
             for row in [header, *rows]]
    lines.insert(1, "-" * min(120, len(lines[0]) + 10))
    return "\n".join(line.rstrip() for line in lines)


def run(args: argparse.Namespace) -> int:
    """``lossbook-grade``: grade, print the summary, return the exit status."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        print("lossbook-grade: error: nbgrader is not installed (it is a dependency of "
              "lossbook-grader: pip install 'nbgrader>=0.9')", file=sys.stderr)
        return 2
    notes: list[str] = []
    try:
        results = grade(args, notes)
    except GradeSetupError as err:
        print(f"lossbook-grade: error: {err}", file=sys.stderr)
        return 2
    print(summary_table(results))
    for note in notes:
        print(f"note: {note}")
    counts = {s: sum(r.status == s for r in results) for s in ("graded", "unchanged", "failed")}
    print(f"\n{counts['graded']} graded, {counts['unchanged']} unchanged, "
          f"{counts['failed']} failed (0 points until reviewed); grades in "
          f"{Path(args.course).resolve() / args.export}")
    written = sum(any("written answer(s)" in n for n in r.notes) for r in results)
    if written:
        print(f"{written} submission(s) hold written answers that count once graded by hand: "
              "nbgrader formgrader, then export again (lossbook-grade --no-zip, or nbgrader "
              "export)")
    return 1 if counts["failed"] else 0


DESCRIPTION = ("Grade one assignment with nbgrader: collect the submissions (an LMS zip export "
               "in downloaded/<assignment>/archive/, a folder given with --from, or what is "
               "already in submitted/), autograde every new or changed one in the sandbox, in "
               "parallel, write feedback and export the grades to CSV.")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lossbook-grade`` console script."""
    parser = argparse.ArgumentParser(prog="lossbook-grade", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
