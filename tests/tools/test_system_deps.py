"""tools/system-deps.sh, the step `make test` runs first: bubblewrap, chromium and the PostgreSQL
server, or a clear stop.

The script is run for real, with bash, in a PATH made for each test. Where a test needs
``apt-get`` or ``sudo`` it puts a stand-in on that PATH that records being called (the real
ones would change the machine), so the tests see which way the script went. "Without permission"
is real: as root the script runs as the user nobody (``setpriv``), whose sudo, if any, is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "tools" / "system-deps.sh").read_text()
BASH = shutil.which("bash")
CHMOD = shutil.which("chmod")
PG_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def _tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)
    return path


def run(path_dir: Path, *args: str, chromium: str | None = "/nonexistent/chromium",
        pg_bin: str | None = "/nonexistent/pg-bin", unprivileged: bool = False,
        log: Path | None = None) -> subprocess.CompletedProcess:
    # LOSSBOOK_PG_BIN is set unless a test says otherwise: without it the script also looks in
    # /usr/lib/postgresql, which is this machine's, not the test's.
    env = {"PATH": str(path_dir)}
    if chromium is not None:
        env["LOSSBOOK_CHROMIUM"] = chromium
    if pg_bin is not None:
        env["LOSSBOOK_PG_BIN"] = pg_bin
    if log is not None:
        env["CALLS"] = str(log)
    cmd = [BASH, "-s", "--", *args]  # the script on stdin: readable by any user
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run the script as the user nobody"
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, input=SCRIPT, env=env, capture_output=True, text=True,
                          timeout=60, cwd="/")


@pytest.fixture
def bin_dir() -> Path:
    # Not under pytest's tmp_path: its parent is private to root, and the user nobody must be
    # able to reach the programs in this folder.
    folder = Path(tempfile.mkdtemp(prefix="lossbook-system-deps-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_nothing_installed_and_no_apt_get_stops_with_one_clear_message(bin_dir):
    proc = run(bin_dir)
    assert proc.returncode == 3, proc
    assert proc.stdout == ""
    err = proc.stderr
    assert err.startswith("error: the tests need programs that are not installed: "
                          "bwrap chromium (LOSSBOOK_CHROMIUM=/nonexistent/chromium) "
                          "postgres (LOSSBOOK_PG_BIN=/nonexistent/pg-bin)\n")
    assert "not Debian or Ubuntu" in err
    assert "sudo apt-get install bubblewrap chromium postgresql\n" in err
    assert "sudo dnf install bubblewrap chromium postgresql-server\n" in err
    assert "LOSSBOOK_CHROMIUM" in err
    assert "set LOSSBOOK_PG_BIN to the folder of its initdb" in err


def test_without_permission_it_never_calls_apt_get(bin_dir):
    calls = bin_dir / "calls"
    _tool(bin_dir, "apt-get", 'echo "apt-get $*" >> "$CALLS"; exit 0')
    _tool(bin_dir, "sudo", 'echo "sudo $*" >> "$CALLS"; exit 1')  # asks for a password
    calls.touch()
    calls.chmod(0o666)
    proc = run(bin_dir, "bwrap", unprivileged=True, log=calls)
    assert proc.returncode == 3, proc
    assert "not installed: bwrap\n" in proc.stderr
    assert "needs root, and sudo is missing or asks for a password" in proc.stderr
    assert "sudo apt-get install bubblewrap\n" in proc.stderr
    assert "chromium" not in proc.stderr.splitlines()[0]  # only what was asked for
    assert "apt-get" not in calls.read_text()  # sudo -n was tried, apt-get never


def test_with_permission_it_installs_with_apt_get_and_checks_again(bin_dir, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test installs as root (CI and `make test` on a bare machine run as root)")
    calls = tmp_path / "calls"
    browser = tmp_path / "chromium"
    pg_bin = tmp_path / "pg-bin"  # Debian's /usr/lib/postgresql/<version>/bin, say
    pg_bin.mkdir()
    # The stand-in apt-get "installs" by creating the programs the script looks for.
    _tool(bin_dir, "apt-get", f'''echo "apt-get $*" >> "$CALLS"
if [ "$1" = install ]; then
  printf '#!{BASH}\\n' > "{bin_dir}/bwrap"; {CHMOD} +x "{bin_dir}/bwrap"
  printf '#!{BASH}\\n' > "{browser}"; {CHMOD} +x "{browser}"
  for p in {" ".join(PG_PROGRAMS)}; do printf '#!{BASH}\\n' > "{pg_bin}/$p"; {CHMOD} +x "{pg_bin}/$p"; done
fi''')
    proc = run(bin_dir, chromium=str(browser), pg_bin=str(pg_bin), log=calls)
    assert proc.returncode == 0, proc
    assert calls.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends bubblewrap chromium postgresql",
    ]


def test_an_install_that_leaves_a_program_missing_is_an_error(bin_dir, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test installs as root (CI and `make test` on a bare machine run as root)")
    _tool(bin_dir, "apt-get", "exit 0")  # "succeeds" without installing anything
    proc = run(bin_dir, "bwrap")
    assert proc.returncode == 3
    assert "apt-get ran, but bwrap is still not found" in proc.stderr


def test_present_programs_need_nothing(bin_dir, tmp_path):
    browser = _tool(tmp_path, "my-chromium", "exit 0")
    _tool(bin_dir, "bwrap", "exit 0")
    _tool(bin_dir, "apt-get", "echo called >&2; exit 1")
    for program in PG_PROGRAMS:
        _tool(bin_dir, program, "exit 0")
    proc = run(bin_dir, chromium=str(browser), pg_bin=None)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_postgres_missing_asks_apt_get_for_postgresql(bin_dir, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test installs as root (CI and `make test` on a bare machine run as root)")
    calls = tmp_path / "calls"
    pg_bin = tmp_path / "pg-bin"
    pg_bin.mkdir()
    _tool(pg_bin, "psql", "exit 0")  # a client alone is not the server
    _tool(bin_dir, "apt-get", f'''echo "apt-get $*" >> "$CALLS"
if [ "$1" = install ]; then
  for p in {" ".join(PG_PROGRAMS)}; do printf '#!{BASH}\\n' > "{pg_bin}/$p"; {CHMOD} +x "{pg_bin}/$p"; done
fi''')
    proc = run(bin_dir, "postgres", pg_bin=str(pg_bin), log=calls)
    assert proc.returncode == 0, proc
    assert calls.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends postgresql",
    ]
    assert "installing postgresql with apt-get (for the tests: postgres " in proc.stdout


def test_postgres_present_through_lossbook_pg_bin_installs_nothing(bin_dir, tmp_path):
    pg_bin = tmp_path / "pg-bin"
    pg_bin.mkdir()
    for program in PG_PROGRAMS:
        _tool(pg_bin, program, "exit 0")
    _tool(bin_dir, "apt-get", "echo called >&2; exit 1")
    proc = run(bin_dir, "postgres", pg_bin=str(pg_bin))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_an_incomplete_lossbook_pg_bin_is_missing_postgres_and_names_fedoras_package(
        bin_dir, tmp_path):
    pg_bin = tmp_path / "pg-bin"
    pg_bin.mkdir()
    for program in ("initdb", "pg_ctl"):  # no server
        _tool(pg_bin, program, "exit 0")
    for program in PG_PROGRAMS:  # on PATH, but LOSSBOOK_PG_BIN, when set, is the only place
        _tool(bin_dir, program, "exit 0")
    proc = run(bin_dir, "postgres", pg_bin=str(pg_bin))
    assert proc.returncode == 3, proc
    assert proc.stderr.startswith("error: the tests need programs that are not installed: "
                                  f"postgres (LOSSBOOK_PG_BIN={pg_bin})\n")
    assert "sudo apt-get install postgresql\n" in proc.stderr
    assert "sudo dnf install postgresql-server\n" in proc.stderr


def _debian_pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with the three server programs, as the
    script and tests/grader/servers.py look for it."""
    found = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        major = folder.parent.name.split(".")[0]
        if major.isdigit() and all(os.access(folder / p, os.X_OK) for p in PG_PROGRAMS):
            found.append((int(major), folder))
    return max(found)[1] if found else None


def test_postgres_off_path_in_debians_folder_counts(bin_dir):
    # The real machine's /usr/lib/postgresql: Debian's package puts the server programs there,
    # off PATH. The script must agree with what is really there (CI has installed it by now).
    proc = run(bin_dir, "postgres", pg_bin=None)
    if _debian_pg_bin() is not None:
        assert (proc.returncode, proc.stderr) == (0, ""), proc
    else:
        assert proc.returncode == 3 and "not installed: postgres\n" in proc.stderr, proc


def test_an_unknown_program_is_a_usage_error(bin_dir):
    proc = run(bin_dir, "firefox")
    assert proc.returncode == 2
    assert "unknown program 'firefox'" in proc.stderr


def test_make_test_runs_the_step_before_pytest():
    make = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MAKEFLAGS": ""})
    lines = make.stdout.splitlines()
    step = next(i for i, line in enumerate(lines)
                if "tools/system-deps.sh bwrap chromium postgres" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert step < pytest_line


def test_ci_installs_nothing_but_make_and_git():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bubblewrap" not in ci and "chromium" not in ci and "postgresql" not in ci
    assert "make test" in ci


def test_a_failing_apt_get_shows_its_output_and_stops(bin_dir):
    if os.geteuid() != 0:
        pytest.fail("this test installs as root (CI and `make test` on a bare machine run as root)")
    _tool(bin_dir, "apt-get", 'echo "E: Unable to locate package $5" >&2; exit 100')
    proc = run(bin_dir, "bwrap")
    assert proc.returncode == 3
    assert "E: Unable to locate package" in proc.stderr
    assert "apt-get failed (its output is above)" in proc.stderr
