"""Search results: chapters before API entries (``_ext/search_scorer.js``, Sphinx's
``html_search_scorer``).

Sphinx opens the scorer file by a path relative to the directory it runs in, which is not the
book's when the tests build it, so the path set here is absolute.
"""

from __future__ import annotations

from pathlib import Path

SCORER = Path(__file__).with_name("search_scorer.js")


def use_scorer(app, config) -> None:
    if not config.html_search_scorer:
        config.html_search_scorer = str(SCORER)


def setup(app):
    app.connect("config-inited", use_scorer)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
