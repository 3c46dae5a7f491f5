"""The real servers of tests/grader/servers.py (issue 19): a private PostgreSQL server and a Dask
cluster of real processes, started here, used for real, and shown to stop without leftovers and
to fail with a message that says why."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy
from distributed import Client

from servers import (DaskCluster, PostgresServer, ServerError, by_value,  # noqa: F401
                     dask_cluster, make_dask_cluster, postgres_server)

pytestmark = pytest.mark.xdist_group("servers")

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def test_postgres_url_round_trip_through_sqlalchemy(postgres_server):
    url = postgres_server.new_database("round_trip")
    assert url.startswith("postgresql+psycopg2://lossbook@/round_trip?host=/")
    assert url.endswith(f"&port={postgres_server.port}")
    engine = sqlalchemy.create_engine(url)
    try:
        assert engine.dialect.driver == "psycopg2"
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE scores (student text, score real)"))
            conn.execute(sqlalchemy.text("INSERT INTO scores VALUES ('ada', 9.5), ('bob', 7)"))
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT * FROM scores ORDER BY student")).all()
            assert [tuple(row) for row in rows] == [("ada", 9.5), ("bob", 7.0)]
            database = conn.execute(sqlalchemy.text("SELECT current_database()")).scalar()
            assert database == "round_trip"
    finally:
        engine.dispose()


def test_two_new_databases_are_independent(postgres_server):
    first, second = postgres_server.new_database(), postgres_server.new_database()
    assert first != second
    engines = [sqlalchemy.create_engine(url) for url in (first, second)]
    try:
        for engine, value in zip(engines, (1, 2)):
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text("CREATE TABLE t (x int)"))
                conn.execute(sqlalchemy.text(f"INSERT INTO t VALUES ({value})"))
        with engines[0].begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE only_here (x int)"))
        for engine, value in zip(engines, (1, 2)):
            with engine.connect() as conn:
                assert conn.execute(sqlalchemy.text("SELECT x FROM t")).scalars().all() == [value]
        assert sqlalchemy.inspect(engines[0]).has_table("only_here")
        assert not sqlalchemy.inspect(engines[1]).has_table("only_here")
    finally:
        for engine in engines:
            engine.dispose()
    with pytest.raises(Exception, match="already exists"):
        postgres_server.new_database(first.split("/")[3].split("?")[0])


def test_postgres_is_a_real_server_on_a_private_unix_socket_only(postgres_server):
    exe = os.readlink(f"/proc/{postgres_server.pid}/exe")
    assert Path(exe) == postgres_server.programs["postgres"].resolve()
    conn = postgres_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version(), current_setting('listen_addresses'), "
                        "current_setting('fsync'), pg_backend_pid()")
            version, listen, fsync, backend = cur.fetchone()
    finally:
        conn.close()
    assert "PostgreSQL" in version
    assert (listen, fsync) == ("", "off")  # no TCP at all; tuned for tests
    assert backend != postgres_server.pid  # a backend forked by the postmaster
    socket_dir = postgres_server.socket_dir
    assert (socket_dir / f".s.PGSQL.{postgres_server.port}").is_socket()
    assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        # postgres refuses root: it runs as the postgres user (or nobody), yet root connects
        assert postgres_server.run_as in ("postgres", "nobody")
        assert _uid(postgres_server.pid) != 0
        assert socket_dir.stat().st_uid == _uid(postgres_server.pid)
    else:
        assert _uid(postgres_server.pid) == os.geteuid()


def test_postgres_stop_ends_every_process_and_removes_its_folder():
    server = PostgresServer()
    conn = server.connect()  # a connected client does not hold up a fast shutdown
    backend = conn.get_backend_pid()
    assert _alive(server.pid) and _alive(backend)
    server.stop()
    conn.close()
    assert not _alive(server.pid) and not _alive(backend)
    assert not server.dir.exists() and not server.running
    server.stop()  # twice is fine


def test_postgres_that_cannot_start_says_why_with_its_log():
    base = tempfile.mkdtemp(prefix="lossbook-pg-test-")
    os.chmod(base, 0o755)  # reachable by the postgres user when we are root
    try:
        with pytest.raises(ServerError, match="postgres exited at start") as failure:
            PostgresServer(port=0, base_dir=base)  # postgres rejects port 0
        assert "port" in str(failure.value).split("its log:")[1]
        assert os.listdir(base) == []  # its folder is gone
    finally:
        shutil.rmtree(base)


def test_missing_postgres_programs_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("LOSSBOOK_PG_BIN", str(tmp_path))
    with pytest.raises(ServerError, match="LOSSBOOK_PG_BIN=.* does not hold all of initdb"):
        PostgresServer()


# ---------------------------------------------------------------------------------------------
# Dask


def _whoami(marker_dir: str | None = None, sleep: float = 0.0) -> dict:
    """Runs on a worker: who ran it. With marker_dir, leaves a file there as it starts."""
    import importlib.util
    import os
    import sys
    import time

    from distributed import get_worker

    worker = get_worker()
    if marker_dir:
        Path(marker_dir, f"{worker.name}-{os.getpid()}").touch()
    time.sleep(sleep)
    return {"name": worker.name, "address": worker.address, "pid": os.getpid(),
            "cwd": os.getcwd(), "python": sys.executable,
            "grader": importlib.util.find_spec("lossbook_grader") is not None}


def _which(program: str) -> str | None:
    import shutil

    return shutil.which(program)


# The scheduler and workers cannot import this module: its functions travel by value.
whoami, which = by_value(_whoami), by_value(_which)


def test_tasks_run_on_both_workers_in_processes_of_their_own(dask_cluster):
    workers = dask_cluster.workers()
    assert sorted(workers) == ["w1", "w2"] == sorted(dask_cluster.worker_names)
    assert dask_cluster.address.startswith("tcp://127.0.0.1:")
    with Client(dask_cluster.address, set_as_default=False) as client:
        futures = [client.submit(whoami, workers=[address], pure=False)
                   for address in workers.values()]
        results = client.gather(futures)
    assert {r["name"] for r in results} == {"w1", "w2"}
    assert len({r["address"] for r in results}) == 2
    assert {r["pid"] for r in results} == {dask_cluster.worker("w1").pid,
                                           dask_cluster.worker("w2").pid}
    for r in results:
        assert r["pid"] != os.getpid()
        assert r["python"] == sys.executable and r["grader"]
        assert not Path(r["cwd"]).is_relative_to(ROOT)


def test_a_killed_worker_loses_its_running_task_and_the_other_worker_reruns_it(
        make_dask_cluster, tmp_path):
    cluster = make_dask_cluster(2)
    client = cluster.client()
    future = client.submit(whoami, str(tmp_path), 3.0, pure=False)
    deadline = time.monotonic() + 30
    while not list(tmp_path.iterdir()):
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.02)
    [started] = [p.name for p in tmp_path.iterdir()]
    victim, pid = started.split("-")
    assert int(pid) == cluster.worker(victim).pid

    assert cluster.kill_worker(victim) == -9
    assert not _alive(int(pid))
    survivor = ({"w1", "w2"} - {victim}).pop()
    assert cluster.worker_names == [survivor] and list(cluster.workers()) == [survivor]

    result = future.result(timeout=30)  # rescheduled, run again from the start
    assert result["name"] == survivor and result["pid"] == cluster.worker(survivor).pid
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == sorted([victim, survivor])
    # and a task submitted afterwards runs on the survivor
    assert client.submit(whoami, pure=False).result(timeout=30)["name"] == survivor


def test_an_extra_worker_gets_its_own_environment_and_a_failed_start_is_explained(
        make_dask_cluster):
    cluster = make_dask_cluster(1)
    assert shutil.which("bwrap"), "bwrap is needed here (make system-deps)"
    path = cluster.path_without("bwrap")
    extra = cluster.start_worker("no-bwrap", env={"PATH": path, "LOSSBOOK_EXTRA": "1"})
    assert extra.env["LOSSBOOK_EXTRA"] == "1"
    assert sorted(cluster.workers()) == ["no-bwrap", "w1"]
    client = cluster.client()
    assert client.submit(which, "bwrap", workers=["no-bwrap"], pure=False).result(30) is None
    assert client.submit(which, "bwrap", workers=["w1"], pure=False).result(30)
    assert client.submit(which, "sh", workers=["no-bwrap"], pure=False).result(30)

    with pytest.raises(ServerError, match="worker 'broken' exited at start") as failure:
        cluster.start_worker("broken", env={"PYTHONHOME": "/nonexistent"})
    assert "Fatal Python error" in str(failure.value)


def test_close_leaves_no_process_behind():
    cluster = DaskCluster(1)
    sleeper = cluster.client().submit(by_value(_start_sleeper), pure=False).result(timeout=30)
    pids = cluster.pids()
    assert sleeper in pids and len(pids) == 3  # scheduler, worker, the worker's child
    start = time.monotonic()
    cluster.close()
    assert time.monotonic() - start < 15
    assert [pid for pid in pids if _alive(pid)] == []
    assert not cluster.dir.exists()
    cluster.close()  # twice is fine


def _start_sleeper() -> int:
    import subprocess

    return subprocess.Popen(["sleep", "600"], start_new_session=True).pid
