"""Build the book as `jupyter-book build` does, with Sphinx reading (and so executing) chapters in
parallel.

Usage: python scripts/build_book.py [--jobs N|auto] [jupyter-book build arguments ...]

myst-nb executes a chapter while Sphinx reads it, and Sphinx reads documents in parallel worker
processes when asked (``-j``) and when every extension declares itself parallel-safe
(``_ext/site_extension.py`` declares the three that don't say). The ``jupyter-book`` command
has no ``-j`` option, though its ``jupyter_book.sphinx.build_sphinx`` takes ``jobs``: this
script passes it through and otherwise runs the ``jupyter-book build`` command unchanged, so
the output is the same as a serial build's (the tests compare the glued numbers).
"""

from __future__ import annotations

import argparse
import os
import sys


def jobs_from(text: str) -> int:
    """``auto`` is one job per core; Sphinx's own ``-j auto`` means the same."""
    return os.cpu_count() or 1 if text == "auto" else max(1, int(text))


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

    # `jupyter-book build` imports build_sphinx from this module when it runs, so it gets ours.
    jupyter_book.sphinx.build_sphinx = build_in_parallel
    try:
        jupyter_book_main(["build", *rest], standalone_mode=True)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
