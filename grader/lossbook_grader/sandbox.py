"""Run a Jupyter kernel for a student's notebook inside a bubblewrap sandbox.

The grading kernel is started as ``python -m lossbook_grader.sandbox [options] -- <kernel argv>``
(see :class:`lossbook_grader.execute.SandboxedExecute`, which builds that command). This
launcher, running outside the sandbox, then

1. sets resource limits that the kernel inherits: address space (memory), CPU seconds, the size
   of any file it writes, open files, no core dumps;
2. makes sure the kernel talks to the grader over Unix sockets (``ipc`` transport) in a
   runtime folder of its own (``--runtime``, made by the grader for this one kernel): the only
   folder shared with the grader besides the submission, so it sees no other kernel's
   connection file;
3. starts the kernel under ``bwrap`` with every namespace unshared (no network at all, its own
   process ids), an unprivileged user with no capabilities, an empty environment apart from a
   short allow-list, and this filesystem view:

   * the machine read-only (``/usr``, the Python installation, the ``lossbook`` and
     ``lossbook_grader`` packages);
   * empty, throw-away folders over the instructor's home, ``/tmp``, the course directory
     (gradebook, ``solutions/``, ``submitted/``, ``autograded/``, ``feedback/``) and anything
     else named with ``--hide`` (a gradebook kept outside the course, say);
   * the submission's own folder (the kernel's working directory) writable, with the notebooks
     in it replaced by empty files: they hold the hidden tests at grading time;

4. waits for the kernel and returns its exit status.

Interrupts reach the kernel as messages (``interrupt_mode: message``), so no signal from the
grader ever has to cross the sandbox. If the launcher is killed, bubblewrap's
``--die-with-parent`` takes the kernel with it.

What the sandbox needs from the machine is checked by :func:`check_sandbox`: Linux, the
``bwrap`` program (Debian/Ubuntu package ``bubblewrap``) and permission to create user
namespaces (root, or ``kernel.unprivileged_userns_clone=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "SandboxError", "bwrap_command", "check_sandbox", "main"]

NOBODY = 65534
# Environment variables that reach the sandboxed kernel; everything else (tokens, the
# instructor's paths, LOSSBOOK_GRADEBOOK_URL) is dropped.
ENV_ALLOWED = (
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "PYTHONHASHSEED", "NBGRADER_EXECUTION",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
    "LOSSBOOK_PROGRESS", "MPLBACKEND",
)
SOCKET_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine (so nothing is run unsandboxed)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel.

    Attributes:
        memory_mb: address-space limit in MiB; an allocation beyond it raises ``MemoryError``
            (or kills the kernel, which is then graded as dead).
        cpu_seconds: CPU time after which the kernel is killed (``SIGXCPU``/``SIGKILL``).
        file_size_mb: largest file the kernel may write, in MiB.
        open_files: most file descriptors open at once.
    """

    memory_mb: int = 3072
    cpu_seconds: int = 900
    file_size_mb: int = 64
    open_files: int = 512

    def apply(self) -> None:
        """Set these limits on the current process (its children inherit them)."""
        import resource

        mib = 1024 * 1024
        for name, value in (("RLIMIT_AS", self.memory_mb * mib),
                            ("RLIMIT_CPU", self.cpu_seconds),
                            ("RLIMIT_FSIZE", self.file_size_mb * mib),
                            ("RLIMIT_NOFILE", self.open_files),
                            ("RLIMIT_CORE", 0)):
            which = getattr(resource, name)
            hard = resource.getrlimit(which)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            soft = value
            if name == "RLIMIT_CPU":  # SIGXCPU at the soft limit, SIGKILL a little later
                value = value + 5 if hard == resource.RLIM_INFINITY else value
            resource.setrlimit(which, (soft, value))


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _python_paths() -> list[Path]:
    """Folders the kernel's Python needs to read: its installation and its import path."""
    import lossbook

    # The kernel imports lossbook (the tests) and this package (the guard), wherever they are
    # installed: an editable install of either lives inside the course's repository.
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             os.path.dirname(os.path.abspath(lossbook.__file__)),
             os.path.dirname(os.path.abspath(__file__))]
    paths += [p for p in sys.path if p]
    out: list[Path] = []
    for p in paths:
        real = _real(p)
        if real.is_dir() and real not in out and real != Path("/"):
            out.append(real)
    return out


def bwrap_command(kernel_argv: list[str], *, workdir: str, hide: list[str],
                  runtime_dir: str | None = None, env: dict[str, str] | None = None,
                  empty_file: str | None = None, bwrap: str = "bwrap") -> list[str]:
    """The ``bwrap`` command line that runs ``kernel_argv`` sandboxed in ``workdir``.

    Args:
        kernel_argv: the kernel's own command (``python -m ipykernel_launcher -f ...``).
        workdir: the submission's folder: the only writable place, and the working directory.
        hide: folders (or files) to replace with empty ones: the course directory, the
            gradebook, anything else the student must not see. The instructor's home,
            ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are always hidden.
        runtime_dir: this kernel's own folder for its connection file and sockets.
        env: environment of the kernel (only these variables, see ``ENV_ALLOWED``).
        empty_file: an empty regular file, mounted over files that must look empty (device
            nodes such as ``/dev/null`` cannot be read through a bind mount in the sandbox).
        bwrap: the bubblewrap executable.

    Returns:
        The argv to run.
    """
    work = _real(workdir)
    empty = empty_file or "/dev/null"
    hidden = [_real(h) for h in hide]
    home = os.environ.get("HOME")
    if home and _real(home) != Path("/"):
        hidden.append(_real(home))
    hidden += [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    # A folder we re-expose must not contain one we hide (it would undo the hiding), while a
    # folder inside a hidden one (the venv inside the course directory) is fine.
    expose = [p for p in _python_paths()
              if not any(_is_within(h, p) for h in hidden) and not _is_within(work, p)]

    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
           "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
           "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for dev in sorted(Path("/dev").glob("nvidia*")):  # grading on a GPU machine
        cmd += ["--dev-bind", str(dev), str(dev)]
    for h in hidden:
        if h.is_dir():
            cmd += ["--tmpfs", str(h)]
        elif h.exists():
            cmd += ["--ro-bind", empty, str(h)]
    for p in expose:
        cmd += ["--ro-bind", str(p), str(p)]
    if runtime_dir:
        cmd += ["--bind", str(_real(runtime_dir)), str(_real(runtime_dir))]
    cmd += ["--bind", str(work), str(work)]
    # The notebooks in the submission folder hold the hidden tests while they are graded.
    for masked in sorted(work.glob("*.ipynb")) + sorted(work.glob("timestamp.txt")):
        cmd += ["--ro-bind", empty, str(masked)]
    cmd += ["--chdir", str(work), "--clearenv"]
    for key, value in sorted((env or {}).items()):
        cmd += ["--setenv", key, value]
    return cmd + ["--", *kernel_argv]


_checked: dict[str, None] = {}


def check_sandbox(bwrap: str | None = None) -> str:
    """Make sure a sandbox can be created here; return the ``bwrap`` path.

    Raises:
        SandboxError: with what is missing and how to fix it (or, for trusted code only, how to
            grade without the sandbox).
    """
    off = ("Only for code you trust, grading can run without the sandbox: "
           "`lossbook-grade --no-sandbox` or LOSSBOOK_SANDBOX=off.")
    if not sys.platform.startswith("linux"):
        raise SandboxError(f"the grading sandbox needs Linux (this is {sys.platform}). {off}")
    exe = bwrap or shutil.which("bwrap")
    if exe is None:
        raise SandboxError("the grading sandbox needs bubblewrap, and `bwrap` is not on PATH. "
                           "Install it with `bash tools/system-deps.sh bwrap` from the course repository (it uses "
                           "apt-get; Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
                           "bubblewrap`). " + off)
    if exe in _checked:
        return exe
    # The probe is the real command line, so whatever it needs (the Python installation
    # re-exposed over the hidden /tmp or home, say) is checked too.
    with tempfile.TemporaryDirectory(prefix="lossbook-probe-") as work:
        empty = os.path.join(work, "empty")
        open(empty, "w").close()
        probe = bwrap_command([sys.executable, "-c", "import os; os.listdir('/proc')"],
                              workdir=work, hide=[], env={"PATH": "/usr/bin:/bin"},
                              empty_file=empty, bwrap=exe)
        try:
            proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SandboxError(f"bubblewrap ({exe}) could not be run: {err}. {off}") from err
    if proc.returncode != 0:
        raise SandboxError(
            f"bubblewrap ({exe}) cannot create a sandbox on this machine: "
            f"{proc.stderr.strip() or proc.returncode}. It needs user namespaces: run as root, "
            "or enable unprivileged ones (sysctl kernel.unprivileged_userns_clone=1; in a "
            "container, allow the unshare and mount system calls). " + off)
    _checked[exe] = None
    return exe


def _runtime_dir(connection_file: str, runtime: str) -> str:
    """Check that the connection file and sockets are in the kernel's own runtime folder."""
    with open(connection_file) as fh:
        info = json.load(fh)
    if info.get("transport") != "ipc":
        raise SandboxError("the sandboxed kernel needs the ipc transport (Unix sockets), got "
                           f"{info.get('transport')!r}: the sandbox has no network")
    folder = _real(runtime)
    for path in (connection_file, info["ip"]):
        if _real(os.path.dirname(os.path.abspath(path))) != folder:
            raise SandboxError(f"{path} is not in the kernel's runtime folder {runtime}")
    return str(folder)


def main(argv: list[str] | None = None) -> int:
    """Kernel launcher: ``python -m lossbook_grader.sandbox [options] -- <kernel argv>``."""
    parser = argparse.ArgumentParser(prog="python -m lossbook_grader.sandbox",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--hide", action="append", default=[], metavar="PATH",
                        help="a folder or file to hide from the kernel (repeatable)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb)
    parser.add_argument("--cpu-seconds", type=int, default=Limits.cpu_seconds)
    parser.add_argument("--file-size-mb", type=int, default=Limits.file_size_mb)
    parser.add_argument("--runtime", required=True,
                        help="this kernel's own folder holding its connection file")
    parser.add_argument("kernel", nargs=argparse.REMAINDER,
                        help="-- followed by the kernel command, with -f CONNECTION_FILE")
    args = parser.parse_args(argv)
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    if "-f" not in kernel or kernel.index("-f") + 1 >= len(kernel):
        parser.error("the kernel command must contain -f CONNECTION_FILE")
    connection_file = kernel[kernel.index("-f") + 1]
    bwrap = check_sandbox()

    runtime = _runtime_dir(connection_file, args.runtime)
    env = {k: os.environ[k] for k in ENV_ALLOWED if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["HOME"] = os.environ.get("HOME", "/tmp")
    env["MPLCONFIGDIR"] = "/tmp/matplotlib"
    env["MALLOC_ARENA_MAX"] = "2"  # keeps the address space of many threads small
    # The kernel's parent is the sandbox's own init; 1 tells ipykernel not to watch for the
    # grader's process id (which it cannot see), bubblewrap's --die-with-parent does that.
    env["JPY_PARENT_PID"] = "1"
    fd, empty = tempfile.mkstemp(prefix="lossbook-empty-")
    os.close(fd)
    cmd = bwrap_command(kernel, workdir=os.getcwd(), hide=args.hide, runtime_dir=runtime,
                        env=env, empty_file=empty, bwrap=bwrap)
    limits = Limits(args.memory_mb, args.cpu_seconds, args.file_size_mb)
    # The grader interrupts by message; a terminal's Ctrl-C must not kill the launcher (the
    # kernel would die with it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proc = subprocess.Popen(cmd, preexec_fn=limits.apply)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    finally:
        os.remove(empty)


if __name__ == "__main__":
    sys.exit(main())
