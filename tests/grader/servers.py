"""Real servers for the grading tests, started by the tests themselves (issue 19): a private
PostgreSQL server and a Dask distributed cluster (a scheduler and workers, each a process of its
own). Nothing here is a mock.

A test file in tests/grader/ imports the fixtures by name (pytest's default "prepend" import
mode puts this folder on sys.path, since the suite has no ``__init__.py``)::

    from servers import dask_cluster, make_dask_cluster, postgres_server  # noqa: F401 (fixtures)
    from servers import DaskCluster, PostgresServer, ServerError, by_value  # when needed

Fixtures:

- ``postgres_server`` (session): a :class:`PostgresServer`. ``postgres_server.new_database()``
  gives a fresh, empty database and its SQLAlchemy URL for nbgrader.
- ``dask_cluster`` (session): a :class:`DaskCluster` with two workers, ``w1`` and ``w2``. Shared:
  never kill or stop its workers; take your own cluster for that.
- ``make_dask_cluster`` (function): ``make_dask_cluster(n_workers=2, **kwargs)`` starts a cluster
  of the test's own, closed when the test ends.

The session fixtures start one server per process (per xdist worker), however many test modules
import them; each test module holds its own fixture definition, and they share the server.

Both servers live in folders of their own under the system's temporary folder (not pytest's
tmp_path: PostgreSQL runs as another user when the tests run as root, and cannot reach a folder
private to root; and a Unix socket's path must stay short). Every process they start is killed
with the test process that started it (``setpriv --pdeathsig``, where util-linux has it), so a
test run that is killed leaves no server behind.

Functions sent to the Dask cluster must be importable there (``lossbook_grader``, the standard
library): dask pickles a module-level function by its module's name, and the scheduler (which
unpickles every task) and the workers cannot import test modules. A test's own function goes
by value: ``client.submit(by_value(my_function), ...)``.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping
from urllib.parse import quote

import pytest

PG_PROGRAMS = ("initdb", "pg_ctl", "postgres")
SETPRIV = shutil.which("setpriv")


class ServerError(RuntimeError):
    """A server could not be found, started or stopped; the message holds the tail of its log."""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (empty)"


def _pdeathsig(signame: str) -> list[str]:
    """A prefix that has the command killed (signal `signame`) when the test process dies.

    The kernel sends it when the *thread* that started the process ends: start servers from
    the main thread (fixtures do)."""
    if SETPRIV is None:
        return []
    return [SETPRIV, f"--pdeathsig={signame}", "--"]


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Waits until none of `pids` is alive; returns those still alive at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if _alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_complete(folder: Path) -> bool:
    return all(os.access(folder / program, os.X_OK) and (folder / program).is_file()
               for program in PG_PROGRAMS)


def find_pg_programs() -> dict[str, Path]:
    """The paths of initdb, pg_ctl and postgres, looked for as tools/system-deps.sh does:
    in $LOSSBOOK_PG_BIN when it is set (and nowhere else), else on PATH, else in the newest
    /usr/lib/postgresql/<version>/bin that has all three (where Debian and Ubuntu put them)."""
    pg_bin = os.environ.get("LOSSBOOK_PG_BIN")
    if pg_bin:
        if _pg_complete(Path(pg_bin)):
            return {program: Path(pg_bin) / program for program in PG_PROGRAMS}
        raise ServerError(f"LOSSBOOK_PG_BIN={pg_bin} does not hold all of {', '.join(PG_PROGRAMS)}")
    on_path = {program: shutil.which(program) for program in PG_PROGRAMS}
    if all(on_path.values()):
        return {program: Path(path) for program, path in on_path.items() if path}
    versions = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        major = folder.parent.name.split(".")[0]
        if major.isdigit() and _pg_complete(folder):
            versions.append((int(major), folder))
    if versions:
        folder = max(versions)[1]
        return {program: folder / program for program in PG_PROGRAMS}
    raise ServerError("the PostgreSQL server programs (initdb, pg_ctl, postgres) are not "
                      "installed: run `make system-deps` (or `bash tools/system-deps.sh postgres`), or set "
                      "LOSSBOOK_PG_BIN to the folder that holds them")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a container's arbitrary uid
        return str(uid)


@dataclass(frozen=True)
class _RunAs:
    """The user PostgreSQL runs as: the current one, or, as root (initdb and postgres refuse
    to run as root), the `postgres` user that Debian's package creates, else `nobody`."""

    uid: int
    gid: int
    name: str
    groups: tuple[int, ...] = ()

    @classmethod
    def for_server(cls) -> _RunAs | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            if entry.pw_uid != 0:
                return cls(entry.pw_uid, entry.pw_gid, name,
                           tuple(os.getgrouplist(name, entry.pw_gid)))
        raise ServerError("the tests run as root, where PostgreSQL refuses to run, and there is "
                          "neither a 'postgres' nor a 'nobody' user to run it as")

    def popen_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}


class PostgresServer:
    """A PostgreSQL server of its own: a fresh data folder (initdb), listening only on a Unix
    socket in a private folder (no TCP port at all), tuned for tests (fsync off: a crash loses
    the data, which nobody wants back). Use it as a context manager or call :meth:`stop`.

    Attributes: ``socket_dir``, ``port`` (names the socket file; nothing listens on it),
    ``user`` (the database superuser; trust authentication, so no password), ``pid`` (the
    postmaster), ``run_as`` (the system user it runs as), ``data_dir``, ``log_path``,
    ``programs`` (initdb, pg_ctl and postgres used).
    """

    def __init__(self, *, user: str = "lossbook", port: int = 5432, timeout: float = 60,
                 base_dir: str | os.PathLike | None = None) -> None:
        self.user = user
        self.port = port
        self.programs = find_pg_programs()
        self._run_as = _RunAs.for_server()
        self.run_as = self._run_as.name if self._run_as else _user_name(os.geteuid())
        self.dir = Path(tempfile.mkdtemp(prefix="lossbook-pg-", dir=base_dir))
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.log_path = self.dir / "server.log"
        self._proc: subprocess.Popen | None = None
        self._names = itertools.count(1)
        _LIVE.add(self)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    # -- starting and stopping ----------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=str(self.dir))
        return env

    def _popen_kwargs(self) -> dict:
        kwargs = {"env": self._env(), "cwd": self.dir, "stdin": subprocess.DEVNULL}
        if self._run_as:
            kwargs.update(self._run_as.popen_kwargs())
        return kwargs

    def _start(self, timeout: float) -> None:
        self.socket_dir.mkdir(mode=0o700)
        if self._run_as:
            for path in (self.dir, self.socket_dir):
                os.chown(path, self._run_as.uid, self._run_as.gid)
        initdb_log = self.dir / "initdb.log"
        with open(initdb_log, "wb") as out:
            proc = subprocess.run(
                [str(self.programs["initdb"]), "-D", str(self.data_dir), "-U", self.user,
                 "--auth=trust", "--no-locale", "--encoding=UTF8", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, timeout=timeout, **self._popen_kwargs())
        if proc.returncode != 0:
            raise ServerError(f"initdb failed (exit status {proc.returncode}, running as "
                              f"{self.run_as}):\n{_tail(initdb_log)}")
        settings = {
            "listen_addresses": "",  # no TCP: the Unix socket only
            "unix_socket_directories": str(self.socket_dir),
            "port": str(self.port),
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "autovacuum": "off", "jit": "off", "max_connections": "50",
            "shared_buffers": "16MB", "logging_collector": "off",
        }
        cmd = [*_pdeathsig("INT"), str(self.programs["postgres"]), "-D", str(self.data_dir)]
        for name, value in settings.items():
            cmd += ["-c", f"{name}={value}"]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True, **self._popen_kwargs())
        self.pid = self._proc.pid  # setpriv execs postgres: the same process
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerError(f"postgres exited at start (exit status {self._proc.returncode}, "
                                  f"running as {self.run_as}); its log:\n{_tail(self.log_path)}")
            try:
                self.connect().close()
                return
            except psycopg2.OperationalError as exc:
                last = exc
                time.sleep(0.05)
        raise ServerError(f"postgres did not accept connections within {timeout} s ({last}); "
                          f"its log:\n{_tail(self.log_path)}")

    def stop(self, timeout: float = 15) -> None:
        """Stops the server as ``pg_ctl stop -m fast`` does (SIGINT: roll back, disconnect,
        shut down), kills it (and its backends) if that takes over `timeout` seconds, and
        removes its folder. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            group = [proc.pid, *_descendants(proc.pid)]
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _kill_all(group)
                    proc.wait(10)
            left = _wait_gone(group, 10)
            if left:
                _kill_all(left)
                left = _wait_gone(left, 5)
            if left:
                raise ServerError(f"postgres processes {left} outlived the server")
        _LIVE.discard(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    close = stop

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- using it -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of the database `name` on this server. It names the driver,
        psycopg2 (the one installed): SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3."""
        return (f"postgresql+psycopg2://{self.user}@/{name}"
                f"?host={quote(str(self.socket_dir), safe='/')}&port={self.port}")

    def connect(self, name: str = "postgres"):
        """A psycopg2 connection to the database `name` (close it yourself)."""
        import psycopg2

        return psycopg2.connect(host=str(self.socket_dir), port=self.port, user=self.user,
                                dbname=name, connect_timeout=5)

    def new_database(self, name: str | None = None) -> str:
        """Creates an empty database (`name`, or db1, db2, ... when none is given) and returns
        its SQLAlchemy URL: postgresql+psycopg2://USER@/NAME?host=SOCKETDIR&port=PORT."""
        if name is None:
            name = f"db{next(self._names)}"
            while self._exists(name):
                name = f"db{next(self._names)}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        conn = self.connect()
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def _exists(self, name: str) -> bool:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                return cur.fetchone() is not None
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------------
# Dask


@dataclass
class DaskProcess:
    """One process of a cluster: the scheduler or a worker."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    env: Mapping[str, str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class DaskCluster:
    """A Dask distributed cluster of real processes: a scheduler (``dask scheduler``) and
    `n_workers` workers (``dask worker``) named w1, w2, ..., each one thread, no nanny, all
    listening on 127.0.0.1 only, all run by this Python (the venv's, so lossbook_grader imports)
    in a temporary folder of the cluster's own (not the repository), each with its log there.

    No nanny: :meth:`kill_worker` SIGKILLs a worker, and it stays dead. The scheduler sees its
    connection drop at once, forgets the worker and reschedules the tasks it held, running ones
    included, on the workers left (a task whose workers die 3 times fails with KilledWorker).

    `env` (for every process) and ``start_worker(env=...)`` override the environment the
    processes inherit from the tests: a key mapped to None is removed.
    """

    def __init__(self, n_workers: int = 2, *, env: Mapping[str, str | None] | None = None,
                 timeout: float = 60, base_dir: str | os.PathLike | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lossbook-dask-", dir=base_dir))
        self.timeout = timeout
        self._env = dict(env or {})
        self._scheduler_file = self.dir / "scheduler.json"
        self._workers: dict[str, DaskProcess] = {}
        self._client = None
        self._closed = False
        self.address = ""
        _LIVE.add(self)
        try:
            self.scheduler = self._spawn("scheduler", "distributed.cli.dask_scheduler", [
                "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(self._scheduler_file),
                "--no-dashboard", "--dashboard-address", "127.0.0.1:0"], self._env)
            # The workers start at once, beside the scheduler: they wait for its file.
            for i in range(1, n_workers + 1):
                self.start_worker(f"w{i}", wait=False)
            self.address = self._wait_scheduler_address()
            if n_workers:
                self.wait_for_workers(n_workers, timeout)
        except BaseException:
            self.close()
            raise

    # -- processes ------------------------------------------------------------------------------

    def _child_env(self, *overrides: Mapping[str, str | None]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DASK_LOGGING__DISTRIBUTED="warning", PYTHONUNBUFFERED="1")
        for override in overrides:
            for key, value in override.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
        return env

    def _spawn(self, name: str, module: str, args: list[str],
               env: Mapping[str, str | None]) -> DaskProcess:
        cwd = self.dir / name
        cwd.mkdir(exist_ok=True)
        log_path = self.dir / f"{name}.log"
        child_env = self._child_env(env)
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                [*_pdeathsig("KILL"), sys.executable, "-m", module, *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=cwd, env=child_env, start_new_session=True)
        return DaskProcess(name, popen, log_path, child_env)

    def _processes(self) -> list[DaskProcess]:
        scheduler = getattr(self, "scheduler", None)
        return [*self._workers.values(), *([scheduler] if scheduler else [])]

    def logs(self, lines: int = 30) -> str:
        """The tail of every process's log, for error messages."""
        parts = []
        for p in self._processes():
            state = "running" if p.alive else f"exit status {p.popen.returncode}"
            parts.append(f"  {p.name} (pid {p.pid}, {state}), {p.log_path}:\n"
                         f"{_tail(p.log_path, lines)}")
        return "\n".join(parts)

    def _fail(self, what: str) -> ServerError:
        return ServerError(f"{what}\nthe cluster's logs:\n{self.logs()}")

    def _wait_scheduler_address(self) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not self.scheduler.alive:
                raise self._fail("the Dask scheduler exited at start")
            try:
                address = json.loads(self._scheduler_file.read_text())["address"]
                if address:
                    return address
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        raise self._fail(f"the Dask scheduler did not start within {self.timeout} s")

    def start_worker(self, name: str, env: Mapping[str, str | None] | None = None, *,
                     nthreads: int = 1, wait: bool = True,
                     timeout: float | None = None) -> DaskProcess:
        """Starts one more worker called `name`. `env` overrides its environment (over the
        cluster's), e.g. ``{"PATH": cluster.path_without("bwrap")}``. With `wait`, returns once
        the scheduler knows it, and raises ServerError (with the logs) if it exits first."""
        if name in self._workers and self._workers[name].alive:
            raise ValueError(f"worker {name!r} is already running")
        self._workers.pop(name, None)
        worker = self._spawn(name, "distributed.cli.dask_worker", [
            "--scheduler-file", str(self._scheduler_file), "--name", name,
            "--nthreads", str(nthreads), "--nworkers", "1", "--no-nanny",
            "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
            "--local-directory", str(self.dir / name), "--memory-limit", "0",
            "--death-timeout", str(self.timeout)], {**self._env, **(env or {})})
        self._workers[name] = worker
        if wait:
            deadline = time.monotonic() + (timeout or self.timeout)
            while name not in self.workers():
                if not worker.alive:
                    raise self._fail(f"the Dask worker {name!r} exited at start")
                if time.monotonic() > deadline:
                    raise self._fail(f"the Dask worker {name!r} did not join within "
                                     f"{timeout or self.timeout} s")
                time.sleep(0.05)
        return worker

    def kill_worker(self, name: str, *, wait: bool = True, timeout: float = 30) -> int:
        """SIGKILLs the worker `name` and whatever it started (its process group, and any
        descendant that left it): the tasks it was running are lost, and the scheduler
        reschedules them on the other workers. Returns the exit status (-9). With `wait`,
        returns once the scheduler has forgotten the worker."""
        worker = self._workers[name]
        pids = [worker.pid, *_descendants(worker.pid)]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.pid, signal.SIGKILL)
        _kill_all(pids)
        status = worker.popen.wait(10)
        _wait_gone(pids, 5)
        if wait:
            deadline = time.monotonic() + timeout
            while name in self.workers():
                if time.monotonic() > deadline:
                    raise self._fail(f"the scheduler still lists the killed worker {name!r} "
                                     f"after {timeout} s")
                time.sleep(0.05)
        return status

    # -- the scheduler's view -------------------------------------------------------------------

    def client(self):
        """A distributed.Client of the cluster's own (not made the default client), closed by
        :meth:`close`. Tests may as well open their own: ``Client(cluster.address)``."""
        if self._client is None:
            from distributed import Client

            self._client = Client(self.address, set_as_default=False, timeout=self.timeout)
        return self._client

    def _short_client(self):
        """A client for one question, closed after it: a client left open keeps distributed's
        "IO loop" thread alive in the test process, and the reference ban (test_ban.py, which
        may run in the same process) rightly counts such a thread against honest work."""
        from distributed import Client

        return Client(self.address, set_as_default=False, timeout=self.timeout)

    def workers(self) -> dict[str, str]:
        """The workers the scheduler knows now: name -> address."""
        with self._short_client() as client:
            info = client.scheduler_info(n_workers=-1)
        return {str(w.get("name")): address for address, w in info["workers"].items()}

    @property
    def worker_names(self) -> list[str]:
        """The names of the workers this cluster started that are still running."""
        return [name for name, worker in self._workers.items() if worker.alive]

    def worker(self, name: str) -> DaskProcess:
        return self._workers[name]

    def wait_for_workers(self, n: int, timeout: float = 30) -> dict[str, str]:
        """Waits until the scheduler has at least `n` workers (distributed's
        Client.wait_for_workers); returns workers()."""
        try:
            with self._short_client() as client:
                client.wait_for_workers(n, timeout=timeout)
        except TimeoutError:
            raise self._fail(f"fewer than {n} Dask workers joined within {timeout} s: "
                             f"{sorted(self.workers())}") from None
        return self.workers()

    def pids(self) -> list[int]:
        """Every live process of the cluster: scheduler, workers and what they started."""
        pids = []
        for process in self._processes():
            if process.alive:
                pids += [process.pid, *_descendants(process.pid)]
        return pids

    def path_without(self, *programs: str) -> str:
        """A PATH like the tests' own in which `programs` (e.g. "bwrap") are not found: each
        folder that holds one is replaced by a folder of links to everything else in it."""
        out = []
        for entry in os.environ.get("PATH", "").split(os.pathsep):
            folder = Path(entry)
            if not entry or not any((folder / p).exists() for p in programs):
                out.append(entry)
                continue
            links = self.dir / "path" / str(folder.resolve()).strip("/").replace("/", "_")
            if not links.exists():
                links.mkdir(parents=True)
                for item in folder.iterdir():
                    if item.name not in programs:
                        (links / item.name).symlink_to(item)
            out.append(str(links))
        return os.pathsep.join(out)

    # -- closing --------------------------------------------------------------------------------

    def close(self, timeout: float = 5) -> None:
        """Stops every process: the workers first (SIGTERM, then SIGKILL after `timeout`
        seconds), then the scheduler likewise, then checks that none of them, nor anything
        they started, is left; removes the folder. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                client.close(timeout=timeout)
        left: list[int] = []
        # Workers before the scheduler: a worker told to stop while its scheduler is going
        # away can hang in its goodbye.
        for group in (list(self._workers.values()), [getattr(self, "scheduler", None)]):
            group = [p for p in group if p is not None]
            pids = [pid for p in group for pid in (p.pid, *_descendants(p.pid))]
            for process in group:
                if process.alive:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for process in group:
                try:
                    process.popen.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            for process in group:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            _kill_all([pid for pid in pids if _alive(pid)])
            for process in group:
                process.popen.wait(10)
            left += _wait_gone(pids, 5)
        _LIVE.discard(self)
        if left:
            raise ServerError(f"processes {left} of the Dask cluster outlived it")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def by_value(fn: Callable) -> Callable:
    """`fn`, wrapped so that dask sends its code instead of its module's name (which the
    scheduler and workers could not import: a test module, say). Anything `fn` names must be
    importable there, or defined in the same module.

    cloudpickle.register_pickle_by_value(module) alone is not enough: distributed tries plain
    pickle on the whole task first, which pickles `fn` by reference."""
    import cloudpickle

    module = sys.modules[fn.__module__]
    registered = fn.__module__ in cloudpickle.list_registry_pickle_by_value()
    if not registered:
        cloudpickle.register_pickle_by_value(module)
    try:
        payload = cloudpickle.dumps(fn)
    finally:
        if not registered:
            cloudpickle.unregister_pickle_by_value(module)

    def call(*args, **kwargs):  # a local function: plain pickle fails, cloudpickle takes it
        return cloudpickle.loads(payload)(*args, **kwargs)

    call.__name__ = getattr(fn, "__name__", "call")  # the name dask gives the task's key
    call.__doc__ = fn.__doc__
    return call


# ---------------------------------------------------------------------------------------------
# Fixtures, and the safety net

_LIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.close()


_shared: dict[str, list] = {}  # key -> [server, number of fixture instances holding it]


@contextlib.contextmanager
def _shared_server(key: str, start: Callable[[], object]) -> Iterator:
    # One server per process, however many test modules import the session fixture (each
    # module that imports it gets its own definition, hence its own session instance).
    if key not in _shared:
        _shared[key] = [start(), 0]
    _shared[key][1] += 1
    try:
        yield _shared[key][0]
    finally:
        _shared[key][1] -= 1
        if _shared[key][1] == 0:
            server = _shared.pop(key)[0]
            server.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the session; new_database() for a fresh database."""
    with _shared_server("postgres", PostgresServer) as server:
        yield server


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[DaskCluster]:
    """A Dask cluster of two workers (w1, w2) for the session. Shared: do not kill or stop its
    workers (use make_dask_cluster)."""
    with _shared_server("dask", lambda: DaskCluster(2)) as cluster:
        yield cluster


@pytest.fixture
def make_dask_cluster() -> Iterator[Callable[..., DaskCluster]]:
    """make_dask_cluster(n_workers=2, **kwargs): a DaskCluster of the test's own, closed when
    the test ends."""
    made: list[DaskCluster] = []

    def make(n_workers: int = 2, **kwargs) -> DaskCluster:
        cluster = DaskCluster(n_workers, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()
