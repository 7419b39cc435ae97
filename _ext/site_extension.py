"""A small local Sphinx extension with the site's two fixes (loaded from ``_config.yml``).

1. **Inline scripts written twice** (the console error
   ``Identifier 'THEBE_JS_URL' has already been declared`` on every page).
   Sphinx 7 (which Jupyter Book 1 pins) records an inline script that an extension registers
   with ``app.add_js_file(None, body=...)`` *after* the HTML builder is created twice: once as
   ``None`` when it is added, and once as ``''`` when ``prepare_writing()`` re-adds every
   registered asset. ``None != ''``, so the duplicate check misses it and the ``<script>`` is
   written twice. sphinx-thebe adds ``const THEBE_JS_URL = ...`` that way (on
   ``env-before-read-docs``), and declaring a ``const`` twice is a ``SyntaxError``, so the
   second script fails on every page. (sphinx-togglebutton's ``var togglebuttonSelector`` is
   duplicated the same way, silently.) Sphinx fixed it upstream in 8.2 (sphinx-doc/sphinx#13402);
   until Jupyter Book allows that version, :func:`drop_duplicate_scripts` removes the repeats
   from each page's script list.

2. **No favicon, so a 404 on every site.** Without a declared icon, browsers request
   ``/favicon.ico``, which is not there. :func:`declare_favicon` declares ``_static/favicon.svg``
   when the book has it (here rather than ``html.favicon`` in ``_config.yml``, which warns, and so
   fails the build, for a copy of the configuration without ``_static/``, as the tests make).

3. **Colab needs an ``.ipynb``.** sphinx-book-theme points the Colab button at the chapter's
   source, a MyST ``.md`` that Colab cannot open. :func:`point_colab_at_notebooks` sends it to
   the same chapter as a notebook on the ``colab_notebooks_branch`` branch, which the publish
   workflow (``.github/workflows/publish.yml``) fills with ``make notebooks``' output.

4. **A serial build.** Sphinx reads documents in parallel (and myst-nb executes chapters while
   Sphinx reads them) only if every extension declares itself parallel-safe, and three that
   Jupyter Book loads declare nothing, so Sphinx falls back to one process ("doing serial
   read"). :func:`declare_parallel_safe` declares them, after checking each one's source
   (versions in requirements.txt's ranges): ``sphinx_multitoc_numbering`` replaces the section
   numbering, which Sphinx runs in the main process after merging the workers' environments;
   ``sphinx-mathjax-offline`` copies files when the build has finished and sets one config
   value; ``sphinx_jupyterbook_latex`` adds nodes and transforms that keep no state outside the
   document being read. ``scripts/build_book.py`` then builds with one process per core, and a
   test compares its glued numbers with a serial build's.

5. **Printed lines broken apart.** myst-nb's ``coalesce_streams`` strips every stream message
   before joining it to the previous one with a newline, so a ``print`` that the kernel happened
   to send in two messages (timing decides) renders as two lines on one build and one on the
   next. :func:`use_exact_stream_merge` puts :func:`editions.streams.merge_streams`, which joins
   the messages exactly, in its place; the reader notebooks use the same function.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def _script_key(script) -> tuple:
    """What makes two ``<script>`` tags the same: source (or body), priority and attributes."""
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {})
    return (
        os.fspath(filename or ""),
        getattr(script, "priority", 500),
        tuple(sorted(attributes.items())),
    )


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Write each ``<script>`` once per page, keeping the first (``html-page-context``)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the builder restores its own list after each page.
    scripts[:] = unique


FAVICON = "_static/favicon.svg"


def declare_favicon(app, config):
    """Use ``_static/favicon.svg`` as the site's icon if the book has one (``config-inited``)."""
    if not config.html_favicon and (Path(app.srcdir) / FAVICON).is_file():
        config.html_favicon = FAVICON


def point_colab_at_notebooks(app, pagename, templatename, context, doctree):
    """Point the Colab launch button at ``<branch>/<chapter>.ipynb`` (``html-page-context``)."""
    branch = app.config.colab_notebooks_branch
    if not branch:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab" and "/github/" in button.get("url", ""):
                # .../github/<org>/<repo>/blob/<branch>/<path> -> the notebooks branch, flat.
                prefix = button["url"].split("/blob/")[0]
                button["url"] = f"{prefix}/blob/{branch}/{PurePosixPath(pagename).name}.ipynb"


#: Extensions that Jupyter Book loads without declaring parallel safety, checked by hand (see 4).
CHECKED_PARALLEL_SAFE = (
    "sphinx_multitoc_numbering",
    "sphinx-mathjax-offline",
    "sphinx_jupyterbook_latex",
)


def declare_parallel_safe(app) -> None:
    """Declare the checked extensions safe for parallel reading and writing, if loaded and silent."""
    for name in CHECKED_PARALLEL_SAFE:
        extension = app.extensions.get(name)
        if extension is None:
            continue
        for attribute in ("parallel_read_safe", "parallel_write_safe"):
            if getattr(extension, attribute, None) is None:  # never override a declaration
                setattr(extension, attribute, True)


def use_exact_stream_merge() -> None:
    """Make myst-nb's renderer merge stream messages exactly (see 5)."""
    import myst_nb.core.render

    from editions.streams import merge_streams

    myst_nb.core.render.coalesce_streams = merge_streams


#: The site's features, one small module each in _ext/, set up by setup() below: the outline
#: (chapter-opening boxes, the landing page's start, table and map), labelled code toggles and
#: one-click solutions, stacked figures for phones, the cheat sheet, author-year citations with
#: links back, search ranking, the interactive explorers' scripts (lossutils.explore) and the
#: PDF edition's link.
FEATURES = (
    "site_outline",
    "site_code_cells",
    "site_figures",
    "site_cheatsheet",
    "site_citations",
    "site_search",
    "explorers",
    "pdf_download",
)


def setup(app):
    for feature in FEATURES:
        app.setup_extension(feature)
    app.add_config_value("colab_notebooks_branch", "notebooks", "html")
    use_exact_stream_merge()  # in setup, so that the parallel readers (forked later) inherit it
    app.connect("config-inited", declare_favicon)
    # Before Sphinx asks whether it may read in parallel (after every extension is set up).
    app.connect("builder-inited", declare_parallel_safe)
    # After sphinx-book-theme adds its launch buttons (priority 501).
    app.connect("html-page-context", point_colab_at_notebooks, priority=900)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
