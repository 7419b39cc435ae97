"""Execute chapters top to bottom in a fresh kernel, as a student would in Jupyter.

Usage: python scripts/run_chapter.py chapters/what-is-a-loss.md [more.md ...] [--cwd DIR] [--save DIR]

Prints the wall time of each chapter and exits non-zero if any cell fails. ``--cwd`` runs the
kernel in another folder (the tests use an empty temporary one, to prove a chapter needs nothing
from the repository but the installed ``lossutils``); ``--save`` writes the executed notebooks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(
    path: Path, *, cwd: Path, timeout: int = 120, env: dict[str, str] | None = None
) -> tuple[nbformat.NotebookNode, float]:
    """Execute one MyST chapter; return the executed notebook and its wall time in seconds.

    ``env``: the kernel's environment (default: this process's).
    """
    nb = jupytext.read(path)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute(**({} if env is None else {"env": env}))
    return nb, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--cwd", type=Path, default=None, help="folder the kernel starts in")
    parser.add_argument(
        "--save", type=Path, default=None, help="folder for the executed .ipynb files"
    )
    args = parser.parse_args(argv)
    failed = 0
    for chapter in args.chapters:
        try:
            nb, seconds = execute(chapter, cwd=args.cwd or chapter.parent)
        except CellExecutionError as err:
            print(f"FAILED {chapter}:\n{err}", file=sys.stderr)
            failed += 1
            continue
        print(f"{seconds:6.1f} s  {chapter}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.save / f"{chapter.stem}.ipynb")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
