"""The child process that runs one submission's notebook: ``python -m coursework.worker``.

The grader (:mod:`coursework.sandbox`) starts one worker per submitted notebook, in a session
and process group of its own, writes the run plan (:mod:`coursework.plan`) to its stdin and
reads one JSON line per step from its stdout. The worker:

1. limits itself, and so the kernel it starts, with ``resource``: address space
   (``RLIMIT_AS``), CPU time (``RLIMIT_CPU``), the size of any file written (``RLIMIT_FSIZE``),
   no core dumps;
2. starts an IPython kernel in an empty working folder with a clean environment (no variable of
   the grader's, no history, no user site-packages, one thread per library), its stdout and
   stderr sent to ``/dev/null`` so that nothing it prints can reach the worker's own stdout;
3. sends each step and waits for the kernel's reply on its own message loop (not nbclient's:
   when a kernel does not answer an interrupt, nbclient 0.10's timeout path returns no reply
   and records no error, the fail-open behaviour of nbgrader #427). After ``cell_timeout`` it
   interrupts the kernel; with no reply ``interrupt_grace`` seconds later it kills it, and the
   remaining steps are ``unreached``. A kernel that dies is noticed within a poll.

A step's result is its reply's status (``ok``/``error``), whether the step's marker was printed,
and the failure report of :mod:`coursework.kernel_helper` if there is one. The worker never
decides points: :mod:`coursework.grade` does, fail-closed.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import sys
import time
from pathlib import Path

REPORT_NAME = "CourseworkError"
POLL = 0.05  # s between checks of the kernel while a cell runs


def limit_resources(limits: dict) -> None:
    """Apply the plan's limits to this process; the kernel inherits them."""
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kernel_environment(work: Path, runtime: Path) -> dict[str, str]:
    """A clean environment: nothing of the grader's, one thread per numerical library."""
    python_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "IPYTHONDIR": str(runtime / "ipython"),
        "MPLCONFIGDIR": str(runtime / "matplotlib"),
        "MPLBACKEND": "Agg",
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


class Kernel:
    """One IPython kernel and the message loop that runs a cell on it with limits."""

    def __init__(self, work: Path, runtime: Path, limits: dict):
        from jupyter_client import KernelManager

        self.limits = limits
        self.km = KernelManager(kernel_name="python3", connection_file=str(runtime / "kernel.json"))
        self.km.kernel_spec.argv[0] = sys.executable  # this Python, not whichever is on PATH
        devnull = open(os.devnull, "wb")
        self.km.start_kernel(
            cwd=str(work),
            env=kernel_environment(work, runtime),
            extra_arguments=[
                "--HistoryManager.enabled=False",
                "--HistoryManager.hist_file=:memory:",
            ],
            stdin=devnull,
            stdout=devnull,
            stderr=devnull,
        )
        self.pid = self.km.provisioner.process.pid
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.dead = False

    def run(self, code: str, marker: str | None) -> dict:
        """Run ``code``; return its status, whether ``marker`` was printed, and any report."""
        msg_id = self.kc.execute(
            code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False
        )
        limit = self.limits["cell_timeout"]
        started = time.monotonic()
        interrupted = None
        reply, replied, idle = None, 0.0, False
        tail, marker_seen = "", False
        while reply is None or not idle:
            now = time.monotonic()
            if reply is not None and now - replied > 2.0:
                break  # the reply came; stop waiting for a late "idle"
            if reply is None and interrupted is None and now - started > limit:
                self.km.interrupt_kernel()
                interrupted = now
            if (
                interrupted is not None
                and reply is None
                and now - interrupted > self.limits["interrupt_grace"]
            ):
                self.kill()
                return {"status": "no-reply", "marker": False}
            if not self.km.is_alive():
                self.dead = True
                return {"status": "dead", "marker": False}
            try:
                msg = self.kc.get_iopub_msg(timeout=POLL)
            except queue.Empty:
                msg = None
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream" and content.get("name") == "stdout":
                    text = content.get("text", "")
                    if marker and not marker_seen:  # output is read and dropped, not kept
                        window = tail + text
                        marker_seen = (marker + "\n") in window
                        tail = window[-(len(marker) + 1) :]
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
            if reply is None:
                try:
                    shell = self.kc.get_shell_msg(timeout=0)
                except queue.Empty:
                    shell = None
                if shell is not None and shell["parent_header"].get("msg_id") == msg_id:
                    reply, replied = shell["content"], time.monotonic()
        result = {"status": reply.get("status", "error"), "marker": marker_seen}
        if interrupted is not None:
            result["status"] = "timeout"
        if reply.get("status") == "error":
            if reply.get("ename") == REPORT_NAME:
                try:
                    result["report"] = json.loads(reply.get("evalue", ""))
                except ValueError:
                    result["report"] = None
            else:
                result["error"] = f"{reply.get('ename')}: {reply.get('evalue')}"[:2000]
        return result

    def kill(self) -> None:
        self.dead = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.kill()


def main() -> int:
    plan = json.loads(sys.stdin.read())
    limits = plan["limits"]
    limit_resources(limits)
    work, runtime = Path(plan["work"]), Path(plan["runtime"])
    try:
        kernel = Kernel(work, runtime, limits)
    except Exception as e:  # the kernel did not start: a grader problem, not the student's
        emit({"event": "no-kernel", "error": f"{type(e).__name__}: {e}"[:2000]})
        return 1
    emit({"event": "kernel", "pid": kernel.pid})
    try:
        for i, step in enumerate(plan["steps"]):
            if kernel.dead:
                emit({"step": i, "status": "unreached", "marker": False})
                continue
            emit({"step": i, **kernel.run(step["code"], step.get("marker"))})
    finally:
        kernel.close()
    emit({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
