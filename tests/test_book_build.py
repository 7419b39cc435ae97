"""The book builds: every chapter executes, no warning, a page for every toc entry.

These tests execute the whole book (about a minute), so they are marked ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from book import ROOT, build_book, toc_files

pytestmark = pytest.mark.slow


def test_book_builds_without_warnings_or_cell_errors(built_book):
    result, _ = built_book
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    warnings = [
        line
        for line in log.splitlines()
        if re.search(r"\bWARNING\b", line)
        and "Kernel is running over TCP" not in line
        and "Location 'file:" not in line
    ]
    assert warnings == [], "\n".join(warnings)
    assert "Executing notebook failed" not in log
    assert "CellExecutionError" not in log


def test_every_toc_entry_has_a_page(built_book):
    _, html = built_book
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert missing == []


def test_executed_chapters_show_figures_and_math(built_book):
    """The first chapter's page carries its plots and typeset-able math."""
    _, html = built_book
    page = (html / "chapters" / "what-is-a-loss.html").read_text()
    assert page.count("<img") >= 3
    assert "\\frac" in page  # the math is on the page, for MathJax to typeset
    assert "mathjax" in page.lower() and "cdn.jsdelivr" not in page  # served from the site itself


def _tiny_book(tmp_path: Path, cell_source: str) -> Path:
    """A one-chapter book with the project's configuration and the given code cell."""
    book = tmp_path / "tiny"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n")
    (book / "index.md").write_text("# Tiny book\n\nA test book.\n")
    header = (ROOT / "chapters" / "what-is-a-loss.md").read_text().split("---\n")[1]
    (book / "chapter.md").write_text(
        f"---\n{header}---\n\n# A chapter\n\n```{{code-cell}} ipython3\n{cell_source}\n```\n"
    )
    return book


def test_a_failing_cell_fails_the_build(tmp_path):
    """The guard works: one raising cell makes the build exit non-zero and name the error."""
    book = _tiny_book(tmp_path, 'raise RuntimeError("deliberately broken cell")')
    result = build_book(book, tmp_path / "out")
    assert result.returncode != 0
    assert "deliberately broken cell" in result.stdout + result.stderr


def test_a_passing_tiny_book_builds(tmp_path):
    """The control for the guard: the same tiny book with a good cell builds."""
    book = _tiny_book(tmp_path, "print(1 + 1)")
    result = build_book(book, tmp_path / "out")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def test_every_figure_cell_renders_its_image_with_its_alt_text(built_book):
    """Each figure cell of each chapter shows up on its page as an image carrying its alt text."""
    import html as html_lib

    import jupytext

    from book import chapter_paths

    _, site = built_book
    for path in chapter_paths():
        page = html_lib.unescape((site / "chapters" / f"{path.stem}.html").read_text())
        alts = [
            c.metadata["mystnb"]["image"]["alt"]
            for c in jupytext.read(path).cells
            if c.metadata.get("mystnb", {}).get("image", {}).get("alt")
        ]
        missing = [alt for alt in alts if f'alt="{alt}"' not in page]
        assert missing == [], f"{path.name}: figures not on the page: {missing}"


def _glued(notebook) -> dict[str, str]:
    """name -> the text myst-nb would paste, from an executed notebook's glue outputs."""
    values = {}
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            scrap = out.get("metadata", {}).get("scrapbook")
            if scrap:
                values[scrap["name"]] = next(iter(out["data"].values()))
    return values


def test_the_parallel_build_glues_what_serial_runs_glue(built_book, tmp_path):
    """`make book` reads, and so executes, chapters in one Sphinx process per core
    (scripts/build_book.py). Each chapter run alone in one fresh kernel, one after another,
    must glue exactly the same values, so parallelism changes nothing a reader sees.

    The glued values are numbers and text, so these runs draw no figure (Matplotlib's Agg
    backend: a figure is drawn only when shown or saved), which takes a third off each run."""
    from concurrent.futures import ThreadPoolExecutor

    from run_chapter import execute

    _, html = built_book
    chapters = [ROOT / f"{f}.md" for f in toc_files() if f.startswith("chapters/")]
    env = {**os.environ, "MPLBACKEND": "agg"}

    def serial_glue(chapter: Path) -> dict[str, str]:
        workdir = tmp_path / chapter.stem
        workdir.mkdir()
        return _glued(execute(chapter, cwd=workdir, timeout=300, env=env)[0])

    # Two kernels at a time keep this test short; each run is still a single kernel's.
    with ThreadPoolExecutor(max_workers=2) as pool:
        serial = dict(zip(chapters, pool.map(serial_glue, chapters)))
    for chapter, values in serial.items():
        glue_file = html.parent / "jupyter_execute" / "chapters" / f"{chapter.stem}.glue.json"
        built = {
            k: next(iter(v["data"].values())) for k, v in json.loads(glue_file.read_text()).items()
        }
        assert values and values == built, f"{chapter.name}: the parallel build glued other values"


def test_the_parallel_read_gets_chunks_of_about_equal_size():
    """scripts/build_book.py: every document read once, one chunk per process, the sizes
    balanced as the longest-processing-time-first rule balances them."""
    from build_book import largest_first

    sizes = {"a": 90, "b": 80, "c": 40, "d": 30, "e": 20, "f": 10}
    chunks = largest_first(list(sizes), 2, sizes.get)
    assert sorted(d for chunk in chunks for d in chunk) == sorted(sizes)
    assert [sum(sizes[d] for d in chunk) for chunk in chunks] == [140, 130]
    assert all(chunk == sorted(chunk, key=sizes.get, reverse=True) for chunk in chunks)
    assert largest_first(["a"], 2, sizes.get) == [["a"]]
