"""The grading sandbox itself: what a process inside it can and cannot do.

These run a plain Python process (not a kernel) under the same bubblewrap command line the
grading kernel gets, so each property is checked directly and quickly. `.ci/run` installs
bubblewrap; without it these tests fail (they are what proves the sandbox works).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lossbook_grader.course import ROOT
from lossbook_grader.sandbox import Limits, SandboxError, bwrap_command, check_sandbox


@pytest.fixture(scope="module")
def bwrap() -> str:
    return check_sandbox()


@pytest.fixture
def layout(tmp_path):
    course = tmp_path / "course"
    (tmp_path / "empty").write_text("")
    work = course / "autograded" / "alice" / "01-regression"
    work.mkdir(parents=True)
    (work / "regression-losses.ipynb").write_text('{"hidden": "tests"}')
    (work / "data.csv").write_text("1,2\n")
    (course / "gradebook.db").write_text("grades")
    (course / "solutions").mkdir()
    (course / "solutions" / "answer.py").write_text("42")
    other = course / "submitted" / "bob"
    other.mkdir(parents=True)
    (other / "bob.ipynb").write_text("bob's work")
    # a folder outside /tmp (always hidden) and outside the course
    outside = Path(tempfile.mkdtemp(prefix=".sandbox-test-", dir=ROOT))
    (outside / "gradebook.db").write_text("kept elsewhere")
    yield course, work, outside
    shutil.rmtree(outside)


def _run(bwrap, layout, code: str, limits: Limits | None = None, hide_extra=()):
    course, work, _ = layout
    cmd = bwrap_command([sys.executable, "-c", code], workdir=str(work),
                        hide=[str(course), *map(str, hide_extra)],
                        env={"PATH": "/usr/bin:/bin"}, empty_file=str(course.parent / "empty"),
                        bwrap=bwrap)
    preexec = (limits or Limits()).apply
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, preexec_fn=preexec)


def test_the_course_is_hidden_but_the_submission_folder_is_there(bwrap, layout):
    course, work, _ = layout
    code = (
        "import os, pathlib\n"
        f"course = pathlib.Path({str(course)!r})\n"
        "print(sorted(p.name for p in pathlib.Path.cwd().iterdir()))\n"
        "print((course / 'gradebook.db').exists(), (course / 'solutions').exists(),\n"
        "      (course / 'submitted').exists())\n"
        "print(repr(open('regression-losses.ipynb').read()), open('data.csv').read().strip())\n"
    )
    proc = _run(bwrap, layout, code)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "['data.csv', 'regression-losses.ipynb']"
    assert lines[1] == "False False False"
    assert lines[2] == "'' 1,2"  # the notebook (hidden tests) is masked, the data is not


def test_a_gradebook_outside_the_course_can_be_hidden_too(bwrap, layout):
    _, _, outside = layout
    code = f"import os; print(os.path.exists({str(outside / 'gradebook.db')!r}))"
    assert _run(bwrap, layout, code).stdout.strip() == "True"
    assert _run(bwrap, layout, code, hide_extra=[outside]).stdout.strip() == "False"


def test_writes_stay_in_the_submission_folder(bwrap, layout, tmp_path):
    course, work, _ = layout
    code = (
        "import pathlib\n"
        "pathlib.Path('notes.txt').write_text('mine')\n"
        "for target in ['/usr/pwned', '/tmp/pwned', "
        f"{str(course / 'gradebook.db')!r}, {str(Path.home() / 'pwned')!r}]:\n"
        "    try:\n"
        "        pathlib.Path(target).write_text('x')\n"
        "        print('wrote', target)\n"
        "    except OSError as err:\n"
        "        print('refused', type(err).__name__)\n"
    )
    proc = _run(bwrap, layout, code)
    assert proc.returncode == 0, proc.stderr
    assert (work / "notes.txt").read_text() == "mine"
    assert (course / "gradebook.db").read_text() == "grades"  # any write went to a tmpfs
    assert not Path("/tmp/pwned").exists() and not (Path.home() / "pwned").exists()
    assert "refused" in proc.stdout.splitlines()[0]  # /usr is read-only


def test_no_network_not_even_loopback(bwrap, layout):
    code = (
        "import socket\n"
        "for host, port in [('127.0.0.1', 22), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2)\n"
        "        print('connected')\n"
        "    except OSError as err:\n"
        "        print(type(err).__name__)\n"
        "print(sorted(name for _, name in socket.if_nameindex()))\n"
    )
    proc = _run(bwrap, layout, code)
    assert proc.returncode == 0, proc.stderr
    assert "connected" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == "['lo']"


def test_memory_limit_raises_memory_error(bwrap, layout):
    code = "x = bytearray(2 * 2**30)\nprint('allocated')"
    proc = _run(bwrap, layout, code, Limits(memory_mb=512))
    assert proc.returncode != 0 and "MemoryError" in proc.stderr
    assert _run(bwrap, layout, "x = bytearray(2**20); print('ok')",
                Limits(memory_mb=512)).stdout.strip() == "ok"


def test_cpu_time_limit_kills_a_busy_loop(bwrap, layout):
    proc = _run(bwrap, layout, "while True: pass", Limits(cpu_seconds=1))
    assert proc.returncode != 0  # SIGXCPU / SIGKILL, in about a second


def test_file_size_limit(bwrap, layout):
    code = ("try:\n    open('big.bin', 'wb').write(b'x' * 3 * 2**20)\n"
            "except OSError as err:\n    print(type(err).__name__)\n")
    proc = _run(bwrap, layout, code, Limits(file_size_mb=1))
    assert proc.stdout.strip() == "OSError" or proc.returncode != 0


def test_environment_is_cleared_and_processes_are_private(bwrap, layout, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_GRADEBOOK_URL", "sqlite:////secret/gradebook.db")
    code = ("import os\nprint(sorted(os.environ))\n"
            "print(len([p for p in os.listdir('/proc') if p.isdigit()]), os.getuid())")
    proc = _run(bwrap, layout, code)
    env_line, proc_line = proc.stdout.splitlines()
    assert "LOSSBOOK_GRADEBOOK_URL" not in env_line
    count, uid = map(int, proc_line.split())
    assert count <= 3 and uid == 65534  # bwrap's init, python; nobody


def test_missing_bubblewrap_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    with pytest.raises(SandboxError, match="needs bubblewrap.*apt-get install bubblewrap"):
        check_sandbox()


def test_a_bwrap_that_cannot_sandbox_is_a_clear_error(tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(SandboxError, match="cannot create a sandbox.*namespace"):
        check_sandbox(bwrap=str(fake))


def test_launcher_needs_a_connection_file():
    from lossbook_grader import sandbox

    with pytest.raises(SystemExit):
        sandbox.main(["--runtime", "/tmp", "--", sys.executable, "-m", "ipykernel_launcher"])
