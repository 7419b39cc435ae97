"""Figures on every screen: the stacked copy of a multi-panel figure, for phones.

A figure of several panels side by side (``new_figure(ncols=2)``, 720 px wide) shrinks to half
its size in a phone's 358 px column, its lettering to about 5 px. While the build executes the
chapters, ``lossutils.plotting`` saves each such figure a second time with its panels one under
another, at the width of a phone's column, into the folder this extension names in the
environment the kernels inherit (:data:`lossutils.plotting.STACKED_FIGURES_ENV`), as
``<SHA-256 of the figure's PNG>.png``. myst-nb names the figure's image by the same hash, so on
``doctree-read`` each image finds its copy, which is added to the page as a second image of the
figure; ``_static/course.css`` shows one of the two by the width of the screen.

The notebooks' outputs stay the figures alone; a chapter whose outputs come from the execution
cache finds the copies its last run saved (they live next to the cache, in the build folder).
This runs before Sphinx collects the page's images (priority 400 < 500), so the copy reaches the
site like any other image.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from docutils import nodes

#: The variable lossutils.plotting reads (kept in step with it: tests/test_site_build.py).
STACKED_FIGURES_ENV = "LOSSUTILS_STACKED_FIGURES"

WIDE_CLASS, STACKED_CLASS = "figure-wide", "figure-stacked"


def stacked_folder(app) -> Path:
    return Path(app.outdir).parent / "stacked_figures"


def name_the_folder(app, config) -> None:
    """Tell the kernels the build starts where to save stacked copies (``config-inited``)."""
    os.environ[STACKED_FIGURES_ENV] = str(stacked_folder(app))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels, from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def add_stacked_images(app, doctree) -> None:
    folder = stacked_folder(app)
    if not folder.is_dir():
        return
    for image in list(doctree.findall(nodes.image)):
        uri = image["uri"]
        sha = uri.rsplit("/", 1)[-1].split(".", 1)[0]
        copy = folder / f"{sha}.png"
        if not copy.is_file():
            continue
        width, height = png_size(copy.read_bytes())
        stacked = image.deepcopy()
        # myst-nb's URIs are "/" + the path relative to the source folder.
        stacked["uri"] = "/" + os.path.relpath(copy, app.srcdir)
        stacked.attributes.pop("candidates", None)
        stacked["width"], stacked["height"] = str(width // 2), str(height // 2)  # 2x PNG
        image["classes"].append(WIDE_CLASS)
        stacked["classes"] = [c for c in stacked["classes"] if c != WIDE_CLASS] + [STACKED_CLASS]
        image.parent.insert(image.parent.index(image) + 1, stacked)


def setup(app):
    app.connect("config-inited", name_the_folder)
    app.connect("doctree-read", add_stacked_images, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
