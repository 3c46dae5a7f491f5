"""Where submissions are graded: worker processes on this machine, or a Dask cluster.

Both engines run the same pure unit of work, :func:`lossbook_grader.unit.grade_submission_bytes`:
a job goes out as JSON bytes and a result comes back as JSON bytes. The coordinating process
(:func:`lossbook_grader.cli.grade`) builds the jobs, takes the results in whatever order they
finish and writes them into the gradebook itself.

* :class:`LocalEngine` (the default, ``--jobs N``): ``N`` worker processes of this machine
  (``spawn``: a clean interpreter each). A worker process that dies breaks the pool; the
  submissions it had in flight are graded again one at a time, each in a pool of its own
  (twice at most), so none is lost and only one that kills its process ends as failed.
* :class:`DaskEngine` (``--scheduler tcp://HOST:8786``): the workers of a running Dask cluster
  (``dask scheduler`` and ``dask worker``, dask-jobqueue on Slurm, dask-kubernetes). Every
  worker is asked first whether it can start the sandbox (:func:`lossbook_grader.unit.
  sandbox_refusal`); one that cannot is left out, with its reason, and if none can, nothing is
  graded. A result is bytes (JSON), and the client reads results with msgpack only
  (``deserializers=["msgpack"]``), so a result that is anything else is refused unread. Dask
  itself still exchanges pickles with the scheduler and workers (task errors, for one): the
  workers must be machines you trust, as with any Dask cluster. A worker that dies
  mid-submission: the scheduler runs that submission again on another of the workers that
  passed the sandbox check (Dask's own rescheduling), and its one result is written once.

Jobs are handed out a few at a time (``window``), so a class of thousands never sits in memory
as jobs all at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .unit import VERSION, grade_submission_bytes, sandbox_refusal

__all__ = ["DaskEngine", "EngineError", "LocalEngine", "failed_result"]


class EngineError(RuntimeError):
    """The engine cannot grade at all (no cluster, no worker that can sandbox)."""


def failed_result(job: dict[str, str], error: str) -> dict[str, Any]:
    """The result of a submission that no worker could grade (graded again on the next run)."""
    return {"version": VERSION, "assignment": job["assignment"], "student": job["student"],
            "ok": False, "refused": "", "error": error, "lost": True, "log": error,
            "notebooks": {}, "files": {}, "timings": {}}


def _parse(raw: Any, job: dict[str, str]) -> dict[str, Any]:
    if not isinstance(raw, (bytes, bytearray)):
        return failed_result(job, f"the worker returned {type(raw).__name__}, not bytes")
    try:
        result = json.loads(raw)
    except ValueError as err:
        return failed_result(job, f"the worker's result is not JSON: {err}")
    if not isinstance(result, dict) or result.get("student") != job["student"] or \
            result.get("assignment") != job["assignment"]:
        return failed_result(job, "the worker's result is for another submission")
    return result


# ---------------------------------------------------------------------------- local engine
def _local_init(env: dict[str, str]) -> None:
    os.environ.update(env)


class LocalEngine:
    """``jobs`` worker processes on this machine."""

    name = "local"

    def __init__(self, jobs: int, env: dict[str, str] | None = None) -> None:
        if jobs < 1:
            raise EngineError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.env = env or {}
        self.notes: list[str] = []

    def prepare(self, sandbox: bool) -> None:
        if sandbox:
            refusal = sandbox_refusal()
            if refusal:
                raise EngineError(refusal)

    def run(self, jobs: Iterable[tuple[dict[str, str], Callable[[], bytes]]]
            ) -> Iterator[dict[str, Any]]:
        """Grade ``(key, make_job)`` pairs; yield each result as it finishes.

        A process that dies takes down the pool and every submission in flight: those are
        graded again one at a time, each in a pool of its own (twice at most), so only the
        submission that kills its process ends as failed."""
        lost = yield from self._pool(list(jobs), self.jobs)
        if lost:
            self.notes.append(f"a grading process died; {len(lost)} submission(s) in flight "
                              "were graded again one at a time")
        for item in lost:
            for _attempt in range(2):
                if not (yield from self._pool([item], 1)):
                    break
            else:
                yield failed_result(item[0], "the grading process died three times on this "
                                             "submission")

    def _pool(self, items: list[tuple[dict[str, str], Callable[[], bytes]]], workers: int
              ) -> Generator[dict[str, Any], None, list[tuple[dict[str, str],
                                                            Callable[[], bytes]]]]:
        """Grade ``items`` in a fresh pool of ``workers`` processes; yield the results and
        return the items a dying process took with it."""
        import multiprocessing
        from concurrent.futures.process import BrokenProcessPool

        lost: list[tuple[dict[str, str], Callable[[], bytes]]] = []
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_local_init, initargs=(self.env,)) as pool:
            todo = iter(items)
            running: dict[Future[bytes], tuple[dict[str, str], Callable[[], bytes]]] = {}

            def fill() -> None:
                while len(running) < 2 * workers:
                    item = next(todo, None)
                    if item is None:
                        return
                    try:
                        running[pool.submit(grade_submission_bytes, item[1]())] = item
                    except BrokenProcessPool:
                        lost.append(item)  # taken from todo: never dropped
                        raise

            try:
                fill()
            except BrokenProcessPool:
                lost += list(todo)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    try:
                        yield _parse(future.result(), item[0])
                    except BrokenProcessPool:
                        lost.append(item)
                try:
                    fill()
                except BrokenProcessPool:
                    lost += list(todo)
        return lost

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- dask engine
class DaskEngine:
    """The workers of a running Dask cluster, reached through its scheduler's address."""

    name = "dask"

    def __init__(self, address: str, timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise EngineError("--scheduler needs Dask's distributed package: pip install "
                              "'lossbook-grader[dask]' (on this machine and every worker)") \
                from None
        try:
            # msgpack only on the way back: results are bytes, never pickles to run here.
            self.client = Client(address, timeout=timeout, set_as_default=False,
                                 deserializers=["msgpack"])
        except (OSError, TimeoutError) as err:
            raise EngineError(f"no Dask scheduler answers at {address}: {err}") from None
        self.address = address
        self.workers: list[str] = []
        self.notes: list[str] = []

    def prepare(self, sandbox: bool) -> None:
        workers = sorted(self.client.scheduler_info(n_workers=-1)["workers"])
        if not workers:
            raise EngineError(f"the Dask cluster at {self.address} has no workers; start "
                              f"some with `dask worker {self.address}`")
        if not sandbox:
            self.workers = workers
            return
        try:
            answers = self.client.run(sandbox_refusal, workers=workers, on_error="return")
        except Exception as err:  # the whole call failed: nothing is known to be safe
            raise EngineError(f"the Dask workers could not be asked about their sandbox: "
                              f"{type(err).__name__}: {err}") from None
        good = []
        for worker in workers:
            answer = answers.get(worker)
            if answer == "":
                good.append(worker)
            else:
                reason = answer if isinstance(answer, str) else \
                    f"it could not check its sandbox ({type(answer).__name__})"
                self.notes.append(f"worker {worker} refuses to grade: {reason}")
        if not good:
            raise EngineError("no worker of the Dask cluster can run the sandbox, so nothing "
                              "was graded: " + "; ".join(self.notes))
        self.workers = good

    def _alive(self) -> list[str]:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return [w for w in self.workers if w in info]

    def run(self, jobs: Iterable[tuple[dict[str, str], Callable[[], bytes]]]
            ) -> Iterator[dict[str, Any]]:
        todo = iter(jobs)
        running: dict[Any, dict[str, str]] = {}
        window = 2 * max(1, len(self.workers)) + 2

        def fill() -> None:
            while len(running) < window:
                item = next(todo, None)
                if item is None:
                    return
                key, make = item
                future = self.client.submit(
                    grade_submission_bytes, make(), pure=False, workers=self.workers,
                    allow_other_workers=False,
                    key=f"lossbook-{key['assignment']}-{key['student']}-{uuid.uuid4().hex[:8]}")
                running[future] = key

        fill()
        checked = time.monotonic()
        while running:
            done = [f for f in running if f.status in ("finished", "error", "cancelled",
                                                        "lost")]
            if not done:
                time.sleep(0.05)
                if time.monotonic() - checked < 10:
                    continue
                checked = time.monotonic()
                if not self._alive():
                    for future, key in list(running.items()):
                        future.cancel()
                        yield failed_result(key, "every Dask worker that could sandbox is "
                                                 "gone; graded again on the next run")
                    running.clear()
                    for key, _make in todo:
                        yield failed_result(key, "every Dask worker that could sandbox is "
                                                 "gone; graded again on the next run")
                    return
                continue
            for future in done:
                key = running.pop(future)
                if future.status == "finished":
                    try:
                        raw = future.result()
                    except Exception as err:  # not msgpack: refused, never unpickled here
                        yield failed_result(key, f"the worker's answer was refused: "
                                                 f"{type(err).__name__}: {err}")
                        continue
                    yield _parse(raw, key)
                else:
                    yield failed_result(key, f"the task ended as {future.status!r} on the "
                                             "cluster (a worker died too often, or it was "
                                             "cancelled); graded again on the next run")
                future.release()
            fill()

    def close(self) -> None:
        self.client.close()


def make_engine(scheduler: str | None, jobs: int, env: dict[str, str] | None = None,
                timeout: float = 30.0) -> LocalEngine | DaskEngine:
    """The engine ``lossbook-grade`` options ask for."""
    if scheduler:
        return DaskEngine(scheduler, timeout=timeout)
    return LocalEngine(jobs, env)


if __name__ == "__main__":  # pragma: no cover - not a script
    sys.exit("lossbook_grader.engines is a module; run lossbook-grade")
