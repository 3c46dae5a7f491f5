"""nbgrader's Execute step, sandboxed and hardened: :class:`SandboxedExecute`.

:func:`lossbook_grader.config.configure` puts this preprocessor in place of nbgrader's
``Execute`` in ``Autograde.autograde_preprocessors``, so both ``nbgrader autograde`` and
``lossbook-grade`` use it. Compared with nbgrader's own step it

* starts the kernel in the bubblewrap sandbox of :mod:`lossbook_grader.sandbox` (unless
  ``sandbox`` is turned off, explicitly); if the sandbox cannot be set up, grading of the
  notebook fails with the reason instead of running student code unsandboxed;
* loads :mod:`lossbook_grader.guard` in the kernel and calls it around every locked cell, so
  replaced assertion helpers, rebound names and silenced tracebacks are undone before a test
  runs;
* keeps at most ``max_output_bytes`` of output per notebook: an output bomb fills the cell that
  produced it with an ``OutputLimitExceeded`` error and the kernel is interrupted;
* turns a kernel that dies (``os._exit``, the memory or CPU-time limit) or ignores an interrupt
  into errors in the cells that could not run, instead of a failed submission with no grade;
* writes what happened (repairs, deaths, timeouts, truncated output) to
  ``<course>/.lossbook/reports/<assignment>/<student>/<notebook>.json`` for ``lossbook-grade``.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode

from .sandbox import Limits, check_sandbox

__all__ = ["SandboxedExecute", "report_path"]

KERNEL_NAME = "lossbook-sandbox"
GUARD_MODULE = "lossbook_grader.guard"
# How a silent request reaches the guard from the grader (no name in the user's namespace).
GUARD = f"__import__({GUARD_MODULE!r}).guard"
# The guard's functions, checked against the grader's own copy of their bytecode after every
# call: replacing them (guard.before_cell = lambda: None) is detected, not obeyed.
GUARD_FUNCTIONS = ("install", "rebase", "before_cell", "after_cell", "_restore_mapping",
                   "_repair", "_trusted_callback")


def _guard_check_expression() -> str:
    from . import guard

    return " and ".join(f"{GUARD}.{name}.__code__.co_code == "
                        f"{getattr(guard, name).__code__.co_code!r}"
                        for name in GUARD_FUNCTIONS)


def report_path(root: str | os.PathLike[str], assignment: str, student: str,
                notebook: str) -> Path:
    """Where :class:`SandboxedExecute` writes its report for one graded notebook."""
    return Path(root) / ".lossbook" / "reports" / assignment / student / f"{notebook}.json"


def _kernel_process_start(km: Any) -> float | None:
    """When the kernel's own process (inside the sandbox: the innermost ``ipykernel_launcher``
    under the launcher, not bwrap) was created, in seconds since the epoch; None if unknown."""
    try:
        import psutil
    except ImportError:
        return None
    process = getattr(getattr(km, "provisioner", None), "process", None)
    pid = getattr(process, "pid", None)
    if pid is None:
        return None
    try:
        top = psutil.Process(pid)
        kernels = [p for p in [top, *top.children(recursive=True)]
                   if "ipykernel_launcher" in p.cmdline()[1:3]]
        return max(p.create_time() for p in kernels) if kernels else None
    except (psutil.Error, ValueError):
        return None


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class _OneSpec(KernelSpecManager):
    """A kernel-spec manager that knows the one sandboxed kernel built for this run."""

    def __init__(self, spec: KernelSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._spec = spec

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return self._spec

    def find_kernel_specs(self) -> dict[str, str]:
        return {KERNEL_NAME: ""}


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, a tamper guard and output caps."""

    sandbox = Bool(True, help="Run the kernel in the bubblewrap sandbox. Turn off only for "
                              "code you trust.").tag(config=True)
    guard = Bool(True, help="Undo tampering before every locked cell.").tag(config=True)
    memory_mb = Integer(Limits.memory_mb, help="Memory limit of the kernel (MiB).").tag(
        config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU-time limit of the kernel (s).").tag(
        config=True)
    file_size_mb = Integer(Limits.file_size_mb,
                           help="Largest file the kernel may write (MiB).").tag(config=True)
    max_output_bytes = Integer(2_000_000, help="Most output kept per notebook.").tag(
        config=True)
    hide = List(Unicode(), help="More paths to hide from the kernel.").tag(config=True)
    report_root = Unicode("", help="Course root for reports (default: "
                                   "CourseDirectory.root or the working directory).").tag(
        config=True)

    def _course_root(self) -> str:
        if self.report_root:
            return self.report_root
        root = self.config.get("CourseDirectory", {}).get("root", "")
        return root or os.getcwd()

    def _gradebook_path(self, resources: dict[str, Any]) -> str | None:
        url = resources.get("nbgrader", {}).get("db_url", "")
        if url.startswith("sqlite:///"):
            return url[len("sqlite:///"):].split("?", 1)[0]
        return None

    # -- kernel -----------------------------------------------------------------------------
    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        extension = [f"--IPKernelApp.extra_extensions={GUARD_MODULE}"] if self.guard else []
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  *extension]
        if self.sandbox:
            check_sandbox()
            hide = [self._course_root(), *self.hide]
            gradebook = self._gradebook_path(self.resources)
            if gradebook:
                hide.append(os.path.dirname(os.path.abspath(gradebook)))
            launcher = [sys.executable, "-m", "lossbook_grader.sandbox",
                        "--memory-mb", str(self.memory_mb),
                        "--cpu-seconds", str(self.cpu_seconds),
                        "--file-size-mb", str(self.file_size_mb)]
            for path in hide:
                launcher += ["--hide", path]
            # The kernel's connection file and Unix sockets (ipc: the sandbox has no network,
            # not even loopback) live in a folder of its own, the one folder it shares with us.
            self._runtime = tempfile.mkdtemp(prefix="lossbook-kernel-")
            km.transport = "ipc"
            km.connection_file = os.path.join(self._runtime, "kernel.json")
            km.ip = os.path.join(self._runtime, "kernel-ipc")
            launcher += ["--runtime", self._runtime]
            argv = [*launcher, "--", *kernel]
        else:
            argv = kernel
        spec = KernelSpec(argv=argv, display_name="lossbook grading kernel", language="python",
                          interrupt_mode="message" if self.sandbox else "signal", env={})
        km.kernel_spec_manager = _OneSpec(spec)
        # Grading is over when the kernel is asked to stop; do not wait long for a clean exit.
        km.shutdown_wait_time = 1.0
        km.kernel_name = KERNEL_NAME
        return km

    # -- timings: sandbox start, kernel start, execution (for the grading benchmark) ---------
    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        self._times["launch"] = time.time()
        await super().async_start_new_kernel(**kwargs)

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self._times["ready"] = time.time()
        self._times["process"] = _kernel_process_start(self.km)
        return kc

    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _timings(self, end: float) -> dict[str, float | None]:
        launch, ready = self._times.get("launch"), self._times.get("ready")
        if launch is None or ready is None:
            return {"sandbox_start": None, "kernel_start": None, "execution": None}
        process = self._times.get("process")
        if not self.sandbox or process is None or not launch <= process <= ready:
            process = launch  # no sandbox, or its start unknown: all of it is the kernel's
        return {"sandbox_start": process - launch, "kernel_start": ready - process,
                "execution": end - ready}

    async def _call_guard(self, call: str) -> bool:
        """Run ``guard.<call>`` silently in the kernel; False (and a note) if it failed."""
        assert self.kc is not None
        msg_id = await ensure_async(self.kc.execute(
            f"{GUARD}.{call}", silent=True, store_history=False,
            user_expressions={"intact": self._guard_check}))
        reply = await self.async_wait_for_reply(msg_id)
        if reply is None or reply["content"]["status"] != "ok":
            content = reply["content"] if reply is not None else {}
            self._report["guard_errors"].append(
                f"{call}: {content.get('ename', 'no reply')}: {content.get('evalue', '')}")
            return False
        intact = reply["content"].get("user_expressions", {}).get("intact", {})
        if intact.get("data", {}).get("text/plain") != "True":
            self._report["guard_errors"].append(f"{call}: the guard's code was replaced")
            return False
        return True

    async def _guard_report(self) -> list[str]:
        assert self.kc is not None
        msg_id = await ensure_async(self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"r": f"{GUARD}.report()"}))
        reply = await self.async_wait_for_reply(msg_id)
        try:
            # text/plain is the repr of the JSON string that guard.report() returns
            text = reply["content"]["user_expressions"]["r"]["data"]["text/plain"]  # type: ignore[index]
            repairs = json.loads(ast.literal_eval(text))
        except (KeyError, TypeError, ValueError, SyntaxError):
            return ["the guard's report could not be read (the submission replaced it)"]
        if not isinstance(repairs, list):
            return ["the guard's report could not be read (the submission replaced it)"]
        return [str(r) for r in repairs]

    # -- cells ------------------------------------------------------------------------------
    async def async_execute_cell(self, cell: NotebookNode, cell_index: int,
                                 execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        if self._dead:
            cell.outputs = [_error("NotRun", f"this cell was not run: {self._dead}")]
            return cell
        meta = cell.metadata.get("nbgrader", {})
        locked = bool(meta.get("locked") or meta.get("grade"))
        try:
            if self.guard and locked and not await self._call_guard("before_cell()") \
                    and meta.get("grade"):
                # The submission disabled the guard: its tests cannot be trusted to run.
                cell.outputs = [_error("TamperingDetected", "the grading guard was disabled "
                                       "before this test cell, so the test was not run")]
                return cell
            cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
            if self.guard and locked:
                # Until the first student cell, what the course's cells set up is trusted.
                await self._call_guard(f"after_cell(trust={not self._student_ran})")
            elif not locked:
                self._student_ran = True
        except DeadKernelError:
            reason = ("the kernel died while running this cell: the code exited, crashed, or "
                      "went over the sandbox's memory or CPU-time limit")
            cell.outputs.append(_error("DeadKernelError", reason))
            self._dead = f"the kernel died in cell {cell_index}"
            self._report["dead"] = cell_index
        except CellTimeoutError:
            cell.outputs.append(_error("CellTimeoutError",
                                       "the cell ran past the time limit and ignored the "
                                       "interrupt, so the kernel was stopped"))
            self._dead = f"the kernel was stopped after cell {cell_index} timed out"
            self._report["stopped"] = cell_index
            assert self.km is not None
            await ensure_async(self.km.shutdown_kernel(now=True))
        if self._truncated_cell == cell_index:
            cell.outputs.append(_error(
                "OutputLimitExceeded",
                f"the notebook printed more than {self.max_output_bytes} bytes; the rest was "
                "dropped and the kernel interrupted"))
        return cell

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(
            len(str(v)) for v in content.get("data", {}).values()) + sum(
            len(line) for line in content.get("traceback", []))
        self._output_bytes += size
        if self._output_bytes > self.max_output_bytes:
            if self._truncated_cell is None:
                self._truncated_cell = cell_index
                self._report["truncated"] = cell_index
                if self.km is not None:
                    import asyncio

                    asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- notebook ---------------------------------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        self._dead: str | None = None
        self._student_ran = False
        self._guard_check = _guard_check_expression()
        self._output_bytes = 0
        self._truncated_cell: int | None = None
        self._report: dict[str, Any] = {"sandbox": self.sandbox, "guard": self.guard,
                                        "repairs": [], "guard_errors": [], "dead": None,
                                        "stopped": None, "truncated": None}
        if self.sandbox:
            check_sandbox()  # fail before anything runs if it cannot be set up
        self._runtime: str | None = None
        self._times: dict[str, float | None] = {}
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            self._report["timings"] = self._timings(time.time())
            self._write_report(resources or {})
            if self._runtime:
                shutil.rmtree(self._runtime, ignore_errors=True)
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1 and self.guard and not self._dead:
            try:  # the last cell: ask the guard what it had to repair
                self._report["repairs"] = run_sync(self._guard_report)()
            except Exception as err:  # a kernel that is gone has no report; say so
                self._report["guard_errors"].append(f"report: {err}")
        return cell, resources

    def _write_report(self, resources: dict[str, Any]) -> None:
        info = resources.get("nbgrader", {})
        if not {"assignment", "student", "notebook"} <= info.keys():
            return
        path = report_path(self._course_root(), info["assignment"], info["student"],
                           info["notebook"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self._report, indent=1))
