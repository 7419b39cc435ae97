"""Helpers shared by the tests that build the book or read its chapters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from editions.toc import chapter_paths, toc_files  # noqa: E402,F401  (re-exported for the tests)

BUILD_BOOK = ROOT / "scripts" / "build_book.py"


def book_cache(output: Path) -> Path:
    """The jupyter-cache folder of a build into ``output``: its executed chapters."""
    return output / "_build" / ".jupyter_cache"


def build_book(source: Path, output: Path, *, force: bool = True) -> subprocess.CompletedProcess:
    """Build the book in ``source`` into ``output``/_build/html the way `make book` does (one
    Sphinx process per core: scripts/build_book.py).

    ``force`` re-executes every chapter (no cache), so the build proves the chapters run.
    Without it, chapters are executed through ``output/_build/.jupyter_cache`` (a fresh, empty
    cache for a fresh ``output``: every chapter runs too), which later builds can reuse: see
    :func:`book_cache`.
    """
    config = yaml.safe_load((source / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "force" if force else "cache"
    config["execute"]["cache"] = str(book_cache(output))
    forced = output / "_config.yml"
    output.mkdir(parents=True, exist_ok=True)
    forced.write_text(yaml.safe_dump(config))
    cmd = [
        sys.executable,
        str(BUILD_BOOK),
        "--jobs",
        "auto",
        str(source),
        "--path-output",
        str(output),
        "--config",
        str(forced),
        "-n",
        "-W",
        "--keep-going",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
