"""Write every chapter as a Jupyter notebook (.ipynb), as students get them.

Usage: python scripts/notebooks.py [--out _build/notebooks] [CHAPTER.md ...]

``make notebooks`` runs it: one ``NAME.ipynb`` per chapter the table of contents lists, in
``_build/notebooks/`` (generated, never committed). The notebooks are the chapters' MyST Markdown
converted by jupytext, unexecuted, with one extra first cell that installs the course's
``lossutils`` library (whose ``lossutils.book.glue`` the chapters call) when the notebook runs on
Google Colab and does nothing anywhere else. The publish workflow pushes these files to the
``notebooks`` branch, which the site's Colab buttons open.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

from toc import chapter_paths

ROOT = Path(__file__).resolve().parents[1]

COLAB_SETUP = '''\
# Running on Google Colab? Install the course's library first. Anywhere else this cell does
# nothing: from a clone of the repository, `make install` (or `pip install -e .`) installs it.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "lossutils @ git+{repository}"'''


def repository_url(config_path: Path = ROOT / "_config.yml") -> str:
    """The course's GitHub repository, from ``_config.yml``."""
    return yaml.safe_load(config_path.read_text())["repository"]["url"].rstrip("/")


def chapter_notebook(path: Path) -> nbformat.NotebookNode:
    """The chapter at ``path`` as an unexecuted notebook, with the Colab set-up cell first."""
    nb = jupytext.read(path)
    setup = nbformat.v4.new_code_cell(COLAB_SETUP.format(repository=repository_url()))
    setup.metadata["tags"] = ["colab-setup", "remove-cell"]
    nb.cells.insert(0, setup)
    nb.metadata.pop("jupytext", None)  # a plain notebook now, not paired with the .md
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata["colab"] = {"name": f"{path.stem}.ipynb", "provenance": []}
    nbformat.validate(nb)
    return nb


def write_notebooks(chapters: list[Path], out: Path) -> list[Path]:
    """Write each chapter as ``out/NAME.ipynb``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        target = out / f"{chapter.stem}.ipynb"
        nbformat.write(chapter_notebook(chapter), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="chapters to convert (default: every chapter of the toc)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "notebooks")
    args = parser.parse_args(argv)
    for path in write_notebooks(args.chapters or chapter_paths(), args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
