"""The site's ``.ipynb`` download is the reader notebook (a Sphinx extension, in ``_config.yml``).

sphinx-book-theme offers each notebook page for download as ``_sources/<page>.ipynb``: while it
writes the page (``html-page-context``, priority 501) it copies myst-nb's executed notebook,
``_build/jupyter_execute/<page>.ipynb``, there. That notebook is the MyST source as the kernel
saw it: roles and directives as raw text, check cells and ``glue`` calls included.

Right after the theme (priority 900), :func:`write_reader_notebook` writes the reader edition
over that copy (:func:`editions.reader.reader_notebook`), with the executed notebook's outputs
and the glued values of the same build. Everything it needs is known by then: every page has
been read, so every label has its number. ``make notebooks`` copies these files, and the
publish workflow pushes them to the branch that the Colab buttons open.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import nbformat

from editions.bibliography import Bibliography
from editions.outline import chapter_opening, load_outline
from editions.reader import load_glue, reader_notebook
from editions.site import Site
from editions.targets import Targets


def write_reader_notebook(app, pagename, templatename, context, doctree):
    """Replace the theme's copy of the executed notebook by the reader notebook."""
    if not context.get("ipynb_source"):
        return  # not a notebook page, or the theme offers no download
    if not any(fnmatch(pagename, pattern) for pattern in app.config.reader_notebook_pages):
        return  # e.g. the reproducibility page: its download stays the executed notebook
    executed_dir = Path(app.outdir).parent / "jupyter_execute"
    executed = nbformat.read(executed_dir / f"{pagename}.ipynb", as_version=4)
    site = Site.from_sphinx(app.config)
    targets = Targets.from_sphinx_env(app.env, site.url)
    notebook = reader_notebook(
        Path(app.env.doc2path(pagename)),
        load_glue(executed_dir / f"{pagename}.glue.json"),
        site=site,
        targets=targets,
        bibliography=Bibliography(*(Path(app.srcdir) / f for f in app.config.bibtex_bibfiles)),
        docname=pagename,
        executed=executed,
        opening=_opening(app, pagename, targets),
    )
    nbformat.write(notebook, Path(app.outdir) / "_sources" / context["ipynb_source"])


def _opening(app, pagename: str, targets: Targets) -> str | None:
    """The chapter-opening box the site shows (``_ext/site_outline.py``), as Markdown."""
    path = Path(app.srcdir) / "_outline.yml"
    if not path.is_file():
        return None
    reading = getattr(app.env, "course_reading", {}).get(pagename)
    return chapter_opening(pagename, targets, reading, load_outline(path))


def setup(app):
    # The pages whose download is a reader notebook: the chapters (fnmatch patterns).
    app.add_config_value("reader_notebook_pages", ["chapters/*"], "html")
    app.connect("html-page-context", write_reader_notebook, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
