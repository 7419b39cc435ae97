"""Start JupyterLab on a folder, as ``make lab`` does, for the browser tests and ``make screenshots``.

:func:`jupyter_lab` runs ``jupyter lab`` from this virtual environment on 127.0.0.1 (a free
port, no token), with the repository's Jupyter settings (``.jupyter/``) and none of the user's
own (``~/.jupyter``), waits until it answers, and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Settings for an automated session: every cell rendered at once (JupyterLab otherwise renders
#: only the cells near the viewport), no announcements.
TEST_OVERRIDES = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_path(scratch: Path) -> Path:
    """The repository's JupyterLab overrides plus :data:`TEST_OVERRIDES`, in a fresh folder."""
    overrides = json.loads(
        (ROOT / ".jupyter" / "labconfig" / "default_setting_overrides.json").read_text()
    )
    overrides.update(TEST_OVERRIDES)
    config = scratch / "config-path"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(json.dumps(overrides))
    return config


@contextlib.contextmanager
def jupyter_lab(root: Path, scratch: Path, *, timeout_s: float = 90):
    """Serve ``root`` with JupyterLab; yield its base URL. ``scratch`` holds its config and log."""
    jupyter = Path(sys.executable).with_name("jupyter")
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(scratch / "config"),
        "JUPYTER_CONFIG_PATH": str(_config_path(scratch)),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
    }
    env.pop("PYTHONPATH", None)  # the kernel sees what a student's would: the installed packages
    cmd = [
        str(jupyter),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    log_path = scratch / "lab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(base_url + "api/status", timeout=2):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "jupyter lab did not start:\n" + log_path.read_text()[-3000:]
                        ) from None
                    time.sleep(0.5)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


#: The notebook in the current (visible) tab of the main area.
CURRENT_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def open_notebook(
    page, base_url: str, path: str, *, min_text: int = 1000, timeout_ms: int = 90_000
) -> None:
    """Open ``path`` (relative to the served folder) in JupyterLab and wait until its Markdown
    is rendered (``min_text`` characters at least) and MathJax has typeset it."""
    # ?reset: a fresh workspace, without the tabs an earlier visit left open.
    page.goto(f"{base_url}lab/tree/{path}?reset", wait_until="domcontentloaded")
    page.wait_for_selector(
        f"{CURRENT_NOTEBOOK} .jp-MarkdownCell .jp-RenderedMarkdown", timeout=timeout_ms
    )
    # MathJax typesets after the Markdown is rendered; wait for the last formula.
    page.wait_for_function(
        """([panel, minText]) => {
        const cells = [...document.querySelectorAll(panel + ' .jp-RenderedMarkdown')];
        const text = cells.map((c) => c.textContent).join(' ');
        return text.trim().length > minText && !/\\$[^$\\s][^$]*\\$/.test(text);
    }""",
        arg=[CURRENT_NOTEBOOK, min_text],
        timeout=timeout_ms,
    )
