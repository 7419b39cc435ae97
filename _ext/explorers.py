"""The interactive explorers on the site (``lossutils.explore``): Plotly's script, served by the site.

A chapter's explorer reaches its page as a static figure followed by its Plotly figure as JSON,
computed when the chapter ran (``Explorer.html``). Two scripts turn it into a figure with
sliders, and this extension serves both from the site itself, so the page works offline and
asks nothing of a CDN:

* ``plotly.min.js``, the plotly.js bundle that the ``plotly`` Python package ships (MIT
  licence, its header kept), copied into the built site's ``_static/`` when the build ends;
* ``explorer.js`` and ``explorer.css`` (in ``_ext/explorer_assets/``): draw each explorer,
  hide its static figure on screen and keep it for print.

Both are added only to the pages that have an explorer (``html-page-context``): plotly.js is
about 5 MB, which the other pages have no use for. They are not in ``_static/`` because Jupyter
Book adds every script there to every page.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sphinx.util.fileutil import copy_asset_file

ASSETS = Path(__file__).parent / "explorer_assets"
PLOTLY_JS = "plotly.min.js"
#: What marks a page that has an explorer (the class of Explorer.html's outer element).
MARKER = 'class="loss-explorer"'


def plotly_js() -> Path:
    """The plotly.js bundle inside the installed ``plotly`` package."""
    path = Path(str(files("plotly") / "package_data" / PLOTLY_JS))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the plotly package ships no plotly.min.js here")
    return path


def add_explorer_scripts(app, pagename, templatename, context, doctree):
    """Load plotly.js, then the explorers' script, on a page with an explorer."""
    if MARKER not in context.get("body", ""):
        return
    # Deferred, in this order: plotly.js runs first, then explorer.js draws the explorers.
    app.add_js_file(PLOTLY_JS, loading_method="defer", priority=800)
    app.add_js_file("explorer.js", loading_method="defer", priority=801)
    app.add_css_file("explorer.css", priority=800)


def copy_scripts(app, exception):
    """Put plotly.js and the explorers' script and styles into the built site (``build-finished``)."""
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    copy_asset_file(str(plotly_js()), str(static))
    for name in ("explorer.js", "explorer.css"):
        copy_asset_file(str(ASSETS / name), str(static))


def setup(app):
    app.connect("html-page-context", add_explorer_scripts)
    app.connect("build-finished", copy_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
