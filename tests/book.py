"""Helpers shared by the tests that build the book or read its chapters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document the table of contents lists (root first), without extension."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def chapter_paths() -> list[Path]:
    """The source of every toc entry that is a notebook chapter (the ones under chapters/)."""
    return [ROOT / f"{f}.md" for f in toc_files() if f.startswith("chapters/")]


def build_book(source: Path, output: Path, *, force: bool = True) -> subprocess.CompletedProcess:
    """Build the book in ``source`` into ``output``/_build/html the way `make book` does.

    ``force`` re-executes every chapter (no cache), so the build proves the chapters run.
    """
    config = yaml.safe_load((source / "_config.yml").read_text())
    if force:
        config["execute"]["execute_notebooks"] = "force"
    forced = output / "_config.yml"
    output.mkdir(parents=True, exist_ok=True)
    forced.write_text(yaml.safe_dump(config))
    cmd = [str(JUPYTER_BOOK), "build", str(source), "--path-output", str(output), "--config", str(forced),
           "-n", "-W", "--keep-going"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
