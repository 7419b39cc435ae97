"""Run one plan in a limited child process and bring back one result per step.

The child (:mod:`coursework.worker`) starts in a new session, so it and everything it starts
that stays in its process group can be killed at once; the kernel it starts gets a session of
its own (jupyter_client does that, to interrupt it), whose id the worker reports first, so the
kernel's group is killed too. The working folder is a fresh, empty temporary folder, removed
afterwards. When the notebook's wall clock runs out, both groups are killed: the step that was
running gets ``wall-clock`` and the rest ``unreached``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from coursework import PACKAGE
from coursework.assignment import Limits
from coursework.plan import Plan
from coursework.worker import kernel_environment

#: Memory addresses in messages ("<function f at 0x7f...>") differ between runs.
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


class SandboxError(RuntimeError):
    """The grader could not run a submission at all (no kernel): not the student's fault."""


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _scrub(value, folder: str):
    """Make results independent of the run: no temporary paths, no memory addresses."""
    if isinstance(value, str):
        return ADDRESS.sub("0x...", value.replace(folder, "WORKDIR"))
    if isinstance(value, list):
        return [_scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, folder) for k, v in value.items()}
    return value


def run(plan: Plan, limits: Limits) -> list[dict]:
    """Run ``plan``; return one result dict per step (``status``, ``marker``, ``report``...).

    Raises:
      SandboxError: the kernel did not start or the prelude failed.
    """
    folder = tempfile.mkdtemp(prefix="coursework-")
    work, runtime = Path(folder, "work"), Path(folder, "runtime")
    work.mkdir(mode=0o700)
    runtime.mkdir(mode=0o700)
    payload = json.dumps(
        {
            "limits": asdict(limits),
            "work": str(work),
            "runtime": str(runtime),
            "steps": [{"code": s.code, "marker": s.marker} for s in plan.steps],
        }
    )
    env = kernel_environment(work, runtime)
    proc = subprocess.Popen(
        [sys.executable, "-m", "coursework.worker"],
        cwd=PACKAGE.parent,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(payload.encode(), timeout=limits.notebook_timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        out, err = proc.communicate()
    finally:
        _kill_group(proc.pid)  # anything the worker left in its group
    records = []
    for line in out.decode(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    for record in records:
        if record.get("event") == "kernel":
            _kill_group(int(record["pid"]))  # the kernel's own session, and what it started
    shutil.rmtree(folder, ignore_errors=True)
    if any(r.get("event") == "no-kernel" for r in records):
        problem = next(r["error"] for r in records if r.get("event") == "no-kernel")
        raise SandboxError(f"the kernel did not start: {problem}")
    steps = {r["step"]: r for r in records if "step" in r}
    results = []
    stopped = False
    for i in range(len(plan.steps)):
        if i in steps:
            results.append(_scrub({k: v for k, v in steps[i].items() if k != "step"}, folder))
        elif not stopped:  # the step that was running when the worker stopped
            results.append({"status": "wall-clock" if timed_out else "dead", "marker": False})
            stopped = True
        else:
            results.append({"status": "unreached", "marker": False})
    if not steps or results[0]["status"] != "ok":
        detail = err.decode(errors="replace")[-2000:] if not steps else json.dumps(results[0])
        raise SandboxError(f"the grader's prelude did not run: {detail}")
    return results
