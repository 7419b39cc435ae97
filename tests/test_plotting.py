"""The plotting helper: labels enforced, style applied, and every figure shown in a notebook."""

from __future__ import annotations

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from lossutils.plotting import PALETTE, check_labelled, new_figure


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


def test_every_figure_is_shown_in_a_notebook(tmp_path):
    """Three figures in three cells give three images (a past bug showed only the first)."""
    cell = "fig, ax = new_figure(title='t', xlabel='x', ylabel='y')\nax.plot([0, 1], [0, 1]);"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from lossutils.plotting import new_figure"),
            *[nbformat.v4.new_code_cell(cell) for _ in range(3)],
        ]
    )
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 3


def test_notebook_figures_are_drawn_at_twice_their_declared_size(tmp_path):
    """In a notebook, lossutils.plotting asks for 'retina' PNGs: twice the pixels of the figure,
    with the 1x width and height in the output's metadata, which the book and Jupyter honour."""
    import base64
    import struct

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from lossutils.plotting import new_figure\n"
                "fig, ax = new_figure(title='t', xlabel='x', ylabel='y', width=6.4, height=4.0)\n"
                "ax.plot([0, 1], [0, 1]);"
            )
        ]
    )
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    (out,) = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    png = base64.b64decode(out["data"]["image/png"])
    pixels = struct.unpack(">II", png[16:24])  # the PNG header's width and height
    declared = out["metadata"]["image/png"]
    assert (
        abs(pixels[0] - 2 * declared["width"]) <= 1 and abs(pixels[1] - 2 * declared["height"]) <= 1
    )
    assert 600 <= declared["width"] <= 660  # about 6.4 in at 100 dpi, after the tight bounding box
