"""Build the book as `jupyter-book build` does, with Sphinx reading (and so executing) chapters in
parallel.

Usage: python scripts/build_book.py [--jobs N|auto] [jupyter-book build arguments ...]

myst-nb executes a chapter while Sphinx reads it, and Sphinx reads documents in parallel worker
processes when asked (``-j``) and when every extension declares itself parallel-safe
(``_ext/site_extension.py`` declares the three that don't say). The ``jupyter-book`` command
has no ``-j`` option, though its ``jupyter_book.sphinx.build_sphinx`` takes ``jobs``: this
script passes it through and otherwise runs the ``jupyter-book build`` command unchanged, so
the output is the same as a serial build's (the tests compare the glued numbers).

Sphinx hands its reading processes chunks of about ten documents in alphabetical order, so
which process gets the slow chapters is luck, and it changes as chapters are added. This script
splits the documents into one chunk per process of about equal total source size instead
(:func:`largest_first`). Measured on 2 cores with 16 chapters: a cold build took 127 s with one
process, 77 s with Sphinx's chunks and 77 s with these (the chapters' sizes predict their run
times only roughly: one process still finished reading 8 s before the other), and 89 s with
one document per process (each process sends Sphinx's whole environment back to be merged).
It also creates myst-nb's cache of executed notebooks before the processes start
(:func:`create_the_jupyter_cache`).
"""

from __future__ import annotations

import argparse
import os
import sys


def jobs_from(text: str) -> int:
    """``auto`` is one job per core; Sphinx's own ``-j auto`` means the same."""
    return os.cpu_count() or 1 if text == "auto" else max(1, int(text))


def largest_first(docnames: list[str], nproc: int, size) -> list[list[str]]:
    """``nproc`` chunks of documents of about equal total size, each read largest first.

    The longest-processing-time-first rule: the documents, largest first, each go to the chunk
    with the least so far. The size of a source is the proxy for its run time (the chapters
    with the most experiments are the largest sources; the number of code cells predicted no
    better). One chunk per process: each chunk's process sends Sphinx's whole environment back
    to be merged, so chunks of one document each cost more than they balance (see above).
    """
    chunks: list[list[str]] = [[] for _ in range(max(1, nproc))]
    totals = [0] * len(chunks)
    for name in sorted(docnames, key=size, reverse=True):
        least = totals.index(min(totals))
        chunks[least].append(name)
        totals[least] += size(name)
    return [chunk for chunk in chunks if chunk]


def read_largest_first() -> None:
    """Make Sphinx's parallel read use :func:`largest_first` instead of its alphabetical chunks
    (and create the jupyter-cache first)."""
    import sphinx.builders

    sphinx_read = sphinx.builders.Builder._read_parallel
    sphinx_chunks = sphinx.builders.make_chunks

    def read(builder, docnames: list[str], nproc: int) -> None:
        def size(docname: str) -> int:
            return os.path.getsize(builder.env.doc2path(docname))

        create_the_jupyter_cache(builder.env)

        chunks = largest_first(docnames, nproc, size)
        sphinx.builders.make_chunks = lambda *args, **kwargs: chunks
        try:
            sphinx_read(builder, docnames, nproc)
        finally:
            sphinx.builders.make_chunks = sphinx_chunks

    sphinx.builders.Builder._read_parallel = read


def create_the_jupyter_cache(env) -> None:
    """Create myst-nb's cache of executed notebooks (``execute_notebooks: cache``) before the
    reading processes start: two chapters read at the same moment would otherwise both create
    its SQLite database, and one fails ("table settings already exists")."""
    config = getattr(env, "mystnb_config", None)
    if config is not None and config.execution_mode == "cache":
        from jupyter_cache import get_cache

        get_cache(config.execution_cache_path).db.dispose()  # opening it creates it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--jobs", default="auto", help="worker processes (default: one per core)")
    known, rest = parser.parse_known_args(argv)
    jobs = jobs_from(known.jobs)

    import jupyter_book.sphinx
    from jupyter_book.cli.main import main as jupyter_book_main

    serial_build = jupyter_book.sphinx.build_sphinx

    def build_in_parallel(*args, **kwargs):
        return serial_build(*args, **{**kwargs, "jobs": jobs})

    read_largest_first()
    # `jupyter-book build` imports build_sphinx from this module when it runs, so it gets ours.
    jupyter_book.sphinx.build_sphinx = build_in_parallel
    try:
        jupyter_book_main(["build", *rest], standalone_mode=True)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
