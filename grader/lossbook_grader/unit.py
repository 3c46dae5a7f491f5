"""Grading one submission as a pure unit of work: a job in, a result out, both JSON.

:func:`grade_submission` takes everything nbgrader needs as data (the assignment's source
files, the course's ``nbgrader_config.py``, one student's submitted files and the settings)
and returns the per-cell scores and comments, the autograded notebooks, the feedback pages and
what the sandbox reported, again as data. It touches no shared folder and no gradebook: it
builds a private course in a temporary folder (``generate_assignment`` once per source, kept
for the next submission of the same process), autogrades there with nbgrader's own API, in the
sandbox as every autograde of this course, and deletes it. The coordinating process
(:mod:`lossbook_grader.cli`) writes results into the course's gradebook
(:func:`lossbook_grader.gradebook.record`), so a worker never needs the database or the
course folder; this is what lets a Dask cluster grade (:mod:`lossbook_grader.engines`).

The job (:func:`make_job` builds it from a course folder)::

    {"version": 1, "assignment": "01-regression", "student": "s001",
     "config": "<text of nbgrader_config.py>",
     "source": {"regression-losses.ipynb": "<base64>", ...},      # solutions/<assignment>/
     "submission": {"regression-losses.ipynb": "<base64>", "timestamp.txt": "<base64>"},
     "settings": {"sandbox": true, "guard": true, "timeout": 300, "memory_mb": 4096,
                  "cpu_seconds": 900, "feedback": true, "threads": 1,
                  "hide": ["/srv/course"]}}                 # the real course, hidden too

The result::

    {"version": 1, "assignment": ..., "student": ..., "ok": true, "error": "", "log": "...",
     "refused": "",                      # a worker that cannot sandbox says why, grades nothing
     "feedback_error": "",               # graded, but the feedback page could not be made
     "timestamp": "2026-12-01 10:00:00.000000 UTC" or null,
     "notebooks": {"regression-losses": {"grades": [{"name", "auto_score", "max_score",
                                                     "needs_manual_grade"}, ...],
                                         "comments": [{"name", "auto_comment"}, ...],
                                         "report": {...}}},             # the sandbox's report
     "files": {"autograded/regression-losses.ipynb": "<base64>",
               "feedback/regression-losses.html": "<base64>", ...},
     "timings": {"setup": s, "sandbox_start": s, "kernel_start": s, "execution": s,
                 "bookkeeping": s, "total": s},
     "worker": {"host": ..., "pid": ...}}

``python -m lossbook_grader.unit < job.json > result.json`` runs one job from the shell.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

__all__ = ["VERSION", "decode_files", "encode_files", "grade_submission", "grade_submission_bytes",
           "make_job", "sandbox_refusal"]

VERSION = 1
SETTINGS = {"sandbox": True, "guard": True, "timeout": 300, "memory_mb": None,
            "cpu_seconds": None, "feedback": True, "threads": None, "hide": []}
_lock = threading.Lock()  # one grading at a time per process (nbgrader's API is not reentrant)
_templates: dict[str, Path] = {}  # source digest -> private course with the assignment generated
_template_root: list[str] = []


# ------------------------------------------------------------------------- files as data
def encode_files(folder: str | os.PathLike[str], skip: tuple[str, ...] = (
        ".ipynb_checkpoints", "__pycache__")) -> dict[str, str]:
    """Every file under ``folder`` (relative POSIX path -> base64 of its bytes)."""
    folder = Path(folder)
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part in skip for part in rel.parts):
            continue
        out[rel.as_posix()] = base64.b64encode(path.read_bytes()).decode("ascii")
    return out


def decode_files(files: dict[str, str], folder: str | os.PathLike[str]) -> None:
    """Write the files of :func:`encode_files` under ``folder``; refuses paths that leave it."""
    folder = Path(folder).resolve()
    for rel, data in files.items():
        target = (folder / rel).resolve()
        if not isinstance(rel, str) or rel.startswith("/") or \
                not str(target).startswith(str(folder) + os.sep):
            raise ValueError(f"file name {rel!r} leaves the folder it is written to")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))


def make_job(course: str | os.PathLike[str], coursedir: Any, assignment: str, student: str,
             settings: dict[str, Any]) -> dict[str, Any]:
    """The job for one submission of a course folder (read by the coordinating process)."""
    course = Path(course)
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    return {"version": VERSION, "assignment": assignment, "student": student,
            "config": (course / "nbgrader_config.py").read_text(),
            "source": encode_files(course / coursedir.source_directory / assignment),
            "submission": encode_files(course / coursedir.submitted_directory / student /
                                       assignment),
            "settings": {**SETTINGS, **settings}}


# ---------------------------------------------------------------------------- the sandbox
def sandbox_refusal() -> str:
    """Why this machine cannot grade in the sandbox ("" when it can): a worker that cannot
    refuses work rather than grade unsandboxed."""
    from .sandbox import SandboxError, check_sandbox

    try:
        check_sandbox()
    except SandboxError as err:
        return f"{socket.gethostname()} (pid {os.getpid()}): {err}"
    return ""


# ----------------------------------------------------------------------- the private course
def _source_digest(job: dict[str, Any]) -> str:
    h = hashlib.sha256(job["assignment"].encode() + b"\0" + job["config"].encode())
    for rel in sorted(job["source"]):
        h.update(rel.encode() + b"\0" + job["source"][rel].encode() + b"\0")
    return h.hexdigest()


def _config(root: Path, settings: dict[str, Any]) -> Any:
    """nbgrader's config for the private course: the course's file, then this job's
    settings (explicit, so that the worker's own environment changes nothing)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = "sqlite:///" + str(root / "gradebook.db")
    config.SandboxedExecute.sandbox = bool(settings["sandbox"])
    config.SandboxedExecute.guard = bool(settings["guard"])
    config.SandboxedExecute.report_root = str(root)
    # The real course (solutions, other submissions, an SQLite gradebook) is hidden from the
    # kernel as well as the private one, where it exists on this machine.
    config.SandboxedExecute.hide = [str(p) for p in settings.get("hide") or []]
    if settings.get("timeout"):
        config.Execute.timeout = int(settings["timeout"])
        if not settings.get("cpu_seconds"):
            config.SandboxedExecute.cpu_seconds = max(int(config.SandboxedExecute.cpu_seconds),
                                                      3 * int(settings["timeout"]))
    if settings.get("memory_mb"):
        config.SandboxedExecute.memory_mb = int(settings["memory_mb"])
    if settings.get("cpu_seconds"):
        config.SandboxedExecute.cpu_seconds = int(settings["cpu_seconds"])
    return config


def _api(root: Path, settings: dict[str, Any]) -> Any:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _config(root, settings)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir=coursedir, config=config), coursedir


def _template(job: dict[str, Any]) -> Path:
    """A private course with the assignment generated (its gradebook holds the hidden tests
    and the points), made once per source and process."""
    digest = _source_digest(job)
    cached = _templates.get(digest)
    if cached is not None and cached.is_dir():
        return cached
    if not _template_root:
        _template_root.append(tempfile.mkdtemp(prefix="lossbook-unit-"))
        atexit.register(shutil.rmtree, _template_root[0], True)
    root = Path(_template_root[0]) / digest[:16]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(job["config"])
    api, coursedir = _api(root, job["settings"])
    decode_files(job["source"], root / coursedir.source_directory / job["assignment"])
    result = api.generate_assignment(job["assignment"], force=True, create=True)
    if not result.get("success"):
        raise RuntimeError("nbgrader generate_assignment failed on the assignment's source: "
                           f"{result.get('error') or result.get('log')}")
    _templates[digest] = root
    return root


# ----------------------------------------------------------------------------- the unit
def grade_submission(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission (see the module's docstring for the job and the result).

    Never raises for a problem with the submission or nbgrader: the result says
    ``"ok": false`` and why. Raises ``ValueError`` only for a job that is not one.
    """
    for key in ("assignment", "student", "config", "source", "submission", "settings"):
        if key not in job:
            raise ValueError(f"the job has no {key!r}; it has {sorted(job)}")
    if job.get("version") != VERSION:
        raise ValueError(f"job version {job.get('version')!r}; this grader reads {VERSION}")
    settings = {**SETTINGS, **job["settings"]}
    job = {**job, "settings": settings}
    result: dict[str, Any] = {
        "version": VERSION, "assignment": job["assignment"], "student": job["student"],
        "ok": False, "error": "", "log": "", "refused": "", "feedback_error": "",
        "timestamp": None,
        "notebooks": {}, "files": {}, "timings": {},
        "worker": {"host": socket.gethostname(), "pid": os.getpid()}}
    if settings["sandbox"]:
        refusal = sandbox_refusal()
        if refusal:
            result["refused"] = result["error"] = refusal
            return result
    # nbgrader runs the `alembic` command of its environment when it creates a gradebook.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings; its log is kept
        began = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="lossbook-grade-"))
        try:
            _grade_in(work, job, result, began)
        except Exception as err:  # nbgrader itself failed: this submission, not the run
            result["ok"] = False
            result["error"] = f"{type(err).__name__}: {err}"
            result["log"] += "\n" + traceback.format_exc()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result["timings"]["total"] = time.perf_counter() - began
    return result


def _grade_in(work: Path, job: dict[str, Any], result: dict[str, Any], began: float) -> None:
    assignment, student, settings = job["assignment"], job["student"], job["settings"]
    template = _template(job)
    root = work / "course"
    shutil.copytree(template, root)
    api, coursedir = _api(root, settings)
    submitted = root / coursedir.submitted_directory / student / assignment
    submitted.mkdir(parents=True)
    decode_files(job["submission"], submitted)
    result["timings"]["setup"] = time.perf_counter() - began

    threads = settings.get("threads")
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS")}
    if threads:
        os.environ.update({k: str(threads) for k in saved})
    logs = []
    try:
        out = api.autograde(assignment, student, force=True, create=True)
        logs += [out.get("log", ""), out.get("error", "")]
        ok = bool(out.get("success"))
        if ok and settings["feedback"]:
            out = api.generate_feedback(assignment, student, force=True)
            logs += [out.get("log", ""), out.get("error", "")]
            if not out.get("success"):  # the grades stand; the feedback is missing
                result["feedback_error"] = _last_error("\n".join(
                    [out.get("log", ""), out.get("error", "")]))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result["log"] = "\n".join(p for p in logs if p)
    result["ok"] = ok
    if not ok:
        result["error"] = _last_error(result["log"])
    _read_back(root, coursedir, assignment, student, result)
    spent = sum(result["timings"].get(k, 0.0) for k in
                ("setup", "sandbox_start", "kernel_start", "execution"))
    result["timings"]["bookkeeping"] = max(0.0, time.perf_counter() - began - spent)


def _read_back(root: Path, coursedir: Any, assignment: str, student: str,
               result: dict[str, Any]) -> None:
    """Scores, comments, files and reports of the private course, as data."""
    from nbgrader.api import Gradebook, MissingEntry

    from .execute import report_path

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            submission = None
        if submission is not None:
            result["timestamp"] = (submission.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
                                   if submission.timestamp else None)
            for nb in submission.notebooks:
                result["notebooks"][nb.name] = {
                    "grades": [{"name": g.name, "auto_score": g.auto_score,
                                "max_score": g.max_score,
                                "needs_manual_grade": bool(g.needs_manual_grade)}
                               for g in nb.grades],
                    "comments": [{"name": c.name, "auto_comment": c.auto_comment}
                                 for c in nb.comments],
                    "report": None}
    timings = {"sandbox_start": 0.0, "kernel_start": 0.0, "execution": 0.0}
    for name, entry in result["notebooks"].items():
        path = report_path(root, assignment, student, name)
        if path.is_file():
            report = json.loads(path.read_text())
            entry["report"] = report
            for key, value in (report.get("timings") or {}).items():
                if key in timings and value is not None:
                    timings[key] += float(value)
    result["timings"].update(timings)
    for kind, folder in (("autograded", coursedir.autograded_directory),
                         ("feedback", coursedir.feedback_directory)):
        where = root / folder / student / assignment
        if where.is_dir():
            for rel, data in encode_files(where).items():
                result["files"][f"{kind}/{rel}"] = data


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines()]
    for line in reversed(lines):
        if line and not line.startswith(("[", "$", "File ", "^")) and "rror" in line:
            return line[:300]
    errors = [line for line in lines if "| ERROR]" in line]
    return errors[0][:300] if errors else "nbgrader failed (see the log)"


def grade_submission_bytes(job: bytes) -> bytes:
    """:func:`grade_submission` on JSON bytes, returning JSON bytes: what a Dask worker runs,
    so that a job and its result are plain data. Never raises."""
    try:
        parsed = json.loads(job)
    except (ValueError, TypeError) as err:
        return json.dumps({"version": VERSION, "ok": False, "refused": "",
                           "error": f"the job is not JSON: {err}"}).encode()
    if not isinstance(parsed, dict):
        return json.dumps({"version": VERSION, "ok": False, "refused": "",
                           "error": f"the job is JSON {type(parsed).__name__}, not an "
                                    "object"}).encode()
    try:
        result = grade_submission(parsed)
    except Exception as err:  # a malformed job: say so as data
        result = {"version": VERSION, "assignment": parsed.get("assignment"),
                  "student": parsed.get("student"), "ok": False, "refused": "",
                  "error": f"{type(err).__name__}: {err}"}
    return json.dumps(result).encode()


def main() -> int:
    """``python -m lossbook_grader.unit < job.json > result.json``."""
    sys.stdout.buffer.write(grade_submission_bytes(sys.stdin.buffer.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
