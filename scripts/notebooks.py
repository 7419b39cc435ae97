"""Write every chapter's reader notebook (.ipynb) into one folder, as students get them.

Usage: python scripts/notebooks.py [--site _build/html] [--out _build/notebooks]

``make notebooks`` runs it after ``make book``. The book build writes each chapter's reader
notebook (``editions/sphinx.py``: plain Markdown, the build's numbers, no check cells) as the
site's ``.ipynb`` download, ``_sources/chapters/NAME.ipynb``; this copies those files, one per
chapter of the table of contents, into ``--out``. The publish workflow pushes them to the
``notebooks`` branch, which the site's Colab buttons open, and ``make lab`` opens them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from editions.toc import chapter_paths

ROOT = Path(__file__).resolve().parents[1]


def copy_notebooks(site: Path, out: Path, chapters: list[Path] | None = None) -> list[Path]:
    """Copy each chapter's reader notebook from the built ``site`` into ``out``."""
    chapters = chapter_paths() if chapters is None else chapters
    sources = [site / "_sources" / "chapters" / f"{c.stem}.ipynb" for c in chapters]
    missing = [str(s) for s in sources if not s.is_file()]
    if missing:
        raise FileNotFoundError(
            "no reader notebook for " + ", ".join(missing) + ": run `make book` first"
        )
    out.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(source, out / source.name)) for source in sources]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--site", type=Path, default=ROOT / "_build" / "html", help="the built site"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "notebooks")
    args = parser.parse_args(argv)
    try:
        written = copy_notebooks(args.site, args.out)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
