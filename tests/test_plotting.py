"""The plotting helper: labels enforced, style applied, and every figure shown in a notebook."""

from __future__ import annotations

import base64
import hashlib
import io

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from lossutils.plotting import (
    PALETTE,
    STACKED_FIGURES_ENV,
    check_labelled,
    new_figure,
    stacked,
)


def test_new_figure_labels_and_style():
    fig, axes = new_figure(ncols=2, title=["a", "b"], xlabel="x", ylabel=["y1", "y2"], width=7.0)
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    assert [ax.get_ylabel() for ax in axes] == ["y1", "y2"]
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # opaque white: legible in dark mode
    assert fig.get_figwidth() * fig.dpi <= 720  # fits the content column unscaled
    (line,) = axes[0].plot([0, 1])
    assert matplotlib.colors.to_hex(line.get_color()) == PALETTE[1].lower()
    check_labelled(fig)
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(title="", xlabel="x", ylabel="y"), "non-empty"),
        (dict(title="t", xlabel="x", ylabel=" "), "non-empty"),
        (dict(title=["a"], xlabel="x", ylabel="y", ncols=2), "title: expected one label per panel"),
        (dict(title="t", xlabel="x", ylabel="y", width=9.0), "width"),
        (dict(title="t", xlabel="x", ylabel="y", ncols=5), "ncols"),
    ],
)
def test_new_figure_rejects_unlabelled_or_oversized_figures(kwargs, message):
    with pytest.raises(ValueError, match=message):
        new_figure(**kwargs)


def _png_size(data: str) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(data))).size


def _run(cells: list[str], tmp_path):
    """Run code cells in a fresh kernel (which inherits this process's environment)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return nb


ONE = "fig, ax = new_figure(title='t', xlabel='x', ylabel='y')\nax.plot([0, 1], [0, 1]);"
TWO = "fig, axes = new_figure(ncols=2, title='t', xlabel='x', ylabel='y', width=7.2)"
IMPORT = "from lossutils.plotting import new_figure"


def test_every_figure_is_shown_in_a_notebook_crisp(tmp_path, monkeypatch):
    """Three figures in three cells give three images (a past bug showed only the first), each a
    PNG at twice the pixels of the size it is shown at, and nothing else in the output."""
    monkeypatch.delenv(STACKED_FIGURES_ENV, raising=False)
    nb = _run([IMPORT, ONE, ONE, ONE, TWO], tmp_path)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 4
    for output in images:
        width, height = _png_size(output["data"]["image/png"])
        shown = output["metadata"]["image/png"]
        assert (width // 2, height // 2) == (shown["width"], shown["height"])  # 2x: crisp
        assert 600 <= shown["width"] <= 740  # the figure at 100 dpi, with a tight bounding box
        assert set(output["data"]) == {"image/png", "text/plain"}
    assert not list(tmp_path.rglob("*.png"))  # no stacked copy unless the build asks


def test_the_site_build_gets_a_stacked_copy_of_each_multi_panel_figure(tmp_path, monkeypatch):
    folder = tmp_path / "stacked"
    monkeypatch.setenv(STACKED_FIGURES_ENV, str(folder))
    nb = _run([IMPORT, ONE, TWO], tmp_path)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    wide = base64.b64decode(images[1]["data"]["image/png"])
    (copy,) = folder.iterdir()  # one copy: the two-panel figure's, named by its PNG
    assert copy.name == f"{hashlib.sha256(wide).hexdigest()}.png"
    width, height = _png_size(base64.b64encode(copy.read_bytes()))
    assert width // 2 <= 362 and height > width  # one column, a 390 px phone's text


def test_stacked_puts_panels_in_one_column_and_leaves_the_figure_alone():
    fig, axes = new_figure(ncols=3, title=["a", "b", "c"], xlabel="x", ylabel="y", width=7.2)
    image = axes[0].imshow([[0, 1], [1, 0]])
    fig.colorbar(image, ax=axes[0], label="value")
    for name in ("one", "two", "three"):
        axes[2].plot([0, 1], label=name)
    fig.legend(loc="outside lower center", ncols=3)
    tall = stacked(fig)
    panels = [ax for ax in tall.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"]
    boxes = [ax.get_position() for ax in panels]
    assert boxes[0].y0 > boxes[1].y0 > boxes[2].y0  # top to bottom, in order
    assert max(b.x0 for b in boxes) - min(b.x0 for b in boxes) < 0.1  # one column
    # The figure legend is made again in one column: its three entries stacked, same labels.
    (legend,) = tall.legends
    tall.draw_without_rendering()
    rows = {round(t.get_window_extent().y0) for t in legend.get_texts()}
    assert [t.get_text() for t in legend.get_texts()] == ["one", "two", "three"] and len(rows) == 3
    assert fig.legends[0]._ncols == 3
    assert tall.get_tightbbox().width <= 3.6 * tall.dpi  # nothing sticks out of 3.5 in
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in axes] == [(1, 3)] * 3  # unchanged
    assert tall.number not in plt.get_fignums()  # pyplot does not show the copy
    check_labelled(tall)
    plt.close(fig)
