"""lossutils.explore: the frames a slider shows are the frames the chapter computed.

The Plotly figure is checked as Plotly itself reads it (``plotly.graph_objects.Figure``
validates every property), and each slider step is replayed in Python exactly as plotly.js
applies it (``method: "update"`` sets the listed properties of the listed traces): the figure
after any sequence of slider moves must show the frame that :meth:`Explorer.frame_at` holds for
the sliders' positions, which is what the frame function returns. The browser tests drive the
same sliders in Chromium (``tests/test_explorers_site.py``).
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
import struct
import sys

import numpy as np
import pytest

import lossutils as lu
from lossutils.explore import (
    PLOTLY_MIME,
    Explorer,
    Frame,
    Panel,
    Parameter,
    bars,
    contour,
    line,
    points,
)

P = np.linspace(0.01, 0.99, 41)
LOGITS = np.log(P / (1 - P))


def focal(gamma, alpha):
    """The binary focal loss and its pull on the logit against p_t (a positive example)."""
    ones = np.ones_like(LOGITS)
    loss = lu.sigmoid_focal_loss(LOGITS, ones, gamma=gamma, alpha=alpha, reduction="none")
    pull = -lu.grad_sigmoid_focal_loss(LOGITS, ones, gamma=gamma, alpha=alpha, reduction="sum")
    return Frame(
        [line(P, loss, name="focal loss"), line(P, pull, name="pull", panel=1)],
        note=f"loss at p_t = 0.5: {loss[20]:.4f}",
    )


def focal_explorer(**overrides):
    kwargs = dict(
        name="focal",
        title="Focal loss",
        parameters=[
            Parameter("γ", [0.0, 0.5, 1.0, 2.0, 5.0], start=2.0),
            Parameter("α", [0.25, 0.5, 0.75], start=0.25, fmt=".2f"),
        ],
        panels=[Panel("Loss", "p<sub>t</sub>", "loss"), Panel("Pull", "p<sub>t</sub>", "pull")],
        static=[line(P, -np.log(P), name="cross-entropy", dash="dash", color="#000000")],
        show=[(0.0, 0.5), (2.0, 0.25), (5.0, 0.25)],
        alt="The focal loss and its pull on the logit against p_t, for three settings.",
    )
    return Explorer(focal, **(kwargs | overrides))


def lr_explorer():
    x = np.linspace(0.0, 3.0, 12)
    y = 1.5 * x + 0.5

    def descend(lr):
        w, b, path = -1.0, 3.0, [(-1.0, 3.0)]
        for _ in range(30):
            g = lu.grad_mse(w * x + b, y)
            w, b = w - lr * np.sum(g * x), b - lr * np.sum(g)
            path.append((w, b))
        path = np.array(path)
        return [line(path[:, 0], path[:, 1], name="path", markers=True)]

    grid = np.linspace(-1.5, 3.5, 21)
    W, B = np.meshgrid(grid, grid)
    J = ((W[..., None] * x + B[..., None] - y) ** 2).mean(axis=-1)
    return Explorer(
        descend,
        name="lr",
        title="Gradient descent",
        parameters=[Parameter("learning rate η", [0.01, 0.05, 0.1, 0.2], start=0.1)],
        panels=[Panel("Path", "w", "b", xrange=(-1.5, 3.5), yrange=(-1.5, 3.5))],
        static=[
            contour(grid, grid, np.log10(J + 0.01), name="cost"),
            points([1.5], [0.5], name="minimum", symbol="star", color="#000000"),
        ],
        show=[0.01, 0.1, 0.2],
        alt="Descent paths on the contours of the cost for three learning rates.",
    )


def _apply(figure: dict, step: dict) -> None:
    """Apply one slider step to ``figure`` as plotly.js's ``Plotly.update`` does."""
    data_update, layout_update, traces = step["args"]
    for key, values in data_update.items():
        for trace_index, value in zip(traces, values):
            figure["data"][trace_index][key] = value
    for path, value in layout_update.items():
        match = re.fullmatch(r"annotations\[(\d+)\]\.(\w+)", path)
        assert match, f"a layout update Plotly would not understand here: {path}"
        figure["layout"]["annotations"][int(match[1])][match[2]] = value


def _shown(figure: dict) -> tuple[list, list]:
    """The moving traces and notes a reader sees: visible traces' (name, y), visible notes."""
    traces = [(t["name"], t["y"]) for t in figure["data"] if t.get("visible", True) is True]
    notes = [a["text"] for a in figure["layout"]["annotations"] if a.get("visible", True)]
    return traces, notes


def _expected(explorer: Explorer, figure: dict, values) -> tuple[list, list]:
    static = [(t["name"], t["y"]) for t in figure["data"][: len(explorer.static)]]
    frame = explorer.frame_at(*values)
    moving = [(t.name, json.loads(json.dumps(_rounded(t.y)))) for t in frame.traces]
    titles = [a["text"] for a in figure["layout"]["annotations"][: len(explorer.panels)]]
    return static + moving, [*titles, html.escape(frame.note)]


def _rounded(values):
    return [float(f"{v:.5g}") for v in np.asarray(values, dtype=float).tolist()]


def test_the_figure_is_valid_plotly():
    go = pytest.importorskip("plotly.graph_objects")
    for explorer in (focal_explorer(), lr_explorer()):
        spec = explorer.figure()
        go.Figure(data=spec["data"], layout=spec["layout"])  # raises on any unknown property


def test_every_frame_is_the_frame_functions_result():
    explorer = focal_explorer()
    assert len(explorer.frames) == 5 * 3
    for gamma, alpha in [(0.0, 0.25), (2.0, 0.75), (5.0, 0.5)]:
        frame = explorer.frame_at(gamma, alpha)
        direct = focal(gamma, alpha)
        assert frame.note == direct.note
        for ours, theirs in zip(frame.traces, direct.traces):
            np.testing.assert_array_equal(ours.y, theirs.y)


def test_moving_the_sliders_shows_the_frame_of_their_positions():
    """Slider moves replayed as Plotly applies them, in an order that changes both sliders."""
    explorer = focal_explorer()
    figure = copy.deepcopy(explorer.figure())
    gammas, alphas = figure["layout"]["sliders"]
    assert gammas["active"] == 3 and alphas["active"] == 0  # gamma 2, alpha 0.25: the starts
    assert _shown(figure) == _expected(explorer, figure, (2.0, 0.25))
    position = [3, 0]
    for slider, index in [(0, 0), (1, 2), (0, 4), (1, 1), (0, 1)]:
        _apply(figure, figure["layout"]["sliders"][slider]["steps"][index])
        position[slider] = index
        values = (
            explorer.parameters[0].values_array[position[0]],
            explorer.parameters[1].values_array[position[1]],
        )
        assert _shown(figure) == _expected(explorer, figure, values), values


def test_one_slider_steps_replace_the_path_and_keep_the_map():
    explorer = lr_explorer()
    figure = copy.deepcopy(explorer.figure())
    assert [t["type"] for t in figure["data"]] == ["contour", "scatter", "scatter"]
    contour_before = copy.deepcopy(figure["data"][0])
    for index, lr in enumerate(explorer.parameters[0].values_array):
        _apply(figure, figure["layout"]["sliders"][0]["steps"][index])
        assert figure["data"][2]["x"] == _rounded(explorer.frame_at(lr).traces[0].x)
        assert figure["layout"]["sliders"][0]["steps"][index]["label"] == f"{lr:.3g}"
    assert figure["data"][0] == contour_before
    assert figure["layout"]["xaxis"]["range"] == [-1.5, 3.5]


def test_axes_span_every_frame_so_they_do_not_jump():
    explorer = focal_explorer()
    layout = explorer.figure()["layout"]
    low, high = layout["yaxis"]["range"]
    every_loss = np.concatenate([f.traces[0].y for f in explorer.frames.values()])
    assert low <= every_loss.min() and high >= max(every_loss.max(), -np.log(P).max())
    assert layout["xaxis"]["domain"][1] < layout["xaxis2"]["domain"][0]  # side by side


def test_log_axes_take_their_ranges_in_data_units():
    """Plotly's log axis takes its range in powers of ten, matplotlib's in data units."""
    import matplotlib.pyplot as plt

    log_panels = [
        Panel("Loss", "p<sub>t</sub>", "loss", yrange=(1e-3, 10.0), ylog=True),
        Panel("Pull", "p<sub>t</sub>", "pull", xrange=(0.01, 1.0), xlog=True),
    ]
    explorer = focal_explorer(panels=log_panels)
    layout = explorer.figure()["layout"]
    assert layout["yaxis"]["type"] == "log" and layout["yaxis"]["range"] == [-3.0, 1.0]
    assert layout["xaxis2"]["type"] == "log" and layout["xaxis2"]["range"] == [-2.0, 0.0]
    fig = explorer.static_figure()
    try:
        assert fig.axes[0].get_yscale() == "log"
        assert np.allclose(fig.axes[0].get_ylim(), (1e-3, 10.0))
        assert np.allclose(fig.axes[1].get_xlim(), (0.01, 1.0))
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="positive range"):
        focal_explorer(
            panels=[Panel("Loss", "p", "loss", yrange=(0.0, 1.0), ylog=True), log_panels[1]]
        ).figure()


def test_the_static_figure_draws_the_shown_settings():
    import matplotlib.pyplot as plt

    from lossutils.plotting import check_labelled

    explorer = focal_explorer()
    fig = explorer.static_figure()
    try:
        check_labelled(fig)
        drawn = [curve.get_ydata() for curve in fig.axes[0].get_lines()]
        for gamma, alpha in [(0.0, 0.5), (2.0, 0.25), (5.0, 0.25)]:
            want = focal(gamma, alpha).traces[0].y
            assert any(np.array_equal(d, want) for d in drawn), (gamma, alpha)
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels == ["cross-entropy", "γ = 0, α = 0.50", "γ = 2, α = 0.25", "γ = 5, α = 0.25"]
    finally:
        plt.close(fig)


def test_side_by_side_gives_each_setting_a_panel():
    import matplotlib.pyplot as plt

    classes = np.array(["cat", "dog", "fox"])

    def smoothed(eps):
        return [bars(classes, [1 - eps + eps / 3, eps / 3, eps / 3], name="target")]

    explorer = Explorer(
        smoothed,
        name="smooth",
        title="Label smoothing",
        static_layout="side by side",
        parameters=[Parameter("ε", [0.0, 0.1, 0.3], start=0.1)],
        panels=[Panel("Target", "class", "probability", yrange=(0, 1))],
        show=[0.0, 0.3],
        alt="The smoothed target distribution for two values of epsilon.",
    )
    fig = explorer.static_figure()
    try:
        assert [ax.get_title() for ax in fig.axes] == ["ε = 0", "ε = 0.3"]
        heights = [[p.get_height() for p in ax.patches] for ax in fig.axes]
        np.testing.assert_allclose(heights, [[1, 0, 0], [0.8, 0.1, 0.1]])
    finally:
        plt.close(fig)
    assert explorer.figure()["data"][0]["x"] == ["cat", "dog", "fox"]


def test_the_sites_html_holds_the_static_figure_and_the_plotly_json():
    explorer = focal_explorer(title="Focal </script> loss")
    page = explorer.html()
    image = re.search(
        r'<img class="loss-explorer-static" src="data:image/png;base64,([^"]+)" '
        r'alt="([^"]+)" width="(\d+)" height="(\d+)">',
        page,
    )
    assert image and html.unescape(image[2]) == explorer.alt
    png = base64.b64decode(image[1])
    width, height = struct.unpack(">II", png[16:24])
    assert (int(image[3]), int(image[4])) == (width // 2, height // 2)  # drawn at 2x: crisp
    assert width // 2 <= 720  # fits the site's column
    script = re.search(
        r'<script type="application/json" class="loss-explorer-figure">(.*?)'
        r"</script>",
        page,
        re.S,
    )
    assert script and page.count("</script>") == 1  # the title's "</script>" was escaped
    spec = json.loads(script[1])
    assert spec["layout"]["title"]["text"] == html.escape("Focal </script> loss")
    assert {k: spec[k] for k in ("data", "layout", "config")} == json.loads(
        json.dumps(explorer.figure())
    )
    narrow = spec["narrow"]
    assert narrow["xaxis.domain"] == narrow["xaxis2.domain"] == [0, 1]
    assert narrow["yaxis.domain"][0] > narrow["yaxis2.domain"][1]  # stacked, loss on top


def test_notebooks_get_plotly_json_and_no_png(monkeypatch):
    """JupyterLab's Plotly renderer shows an image/png of the bundle instead of the figure, so
    there is none; the static figure travels in the HTML (notebook viewers without Plotly)."""
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    bundle = focal_explorer()._repr_mimebundle_()
    assert set(bundle) == {PLOTLY_MIME, "text/html", "text/plain"}
    assert bundle[PLOTLY_MIME]["layout"]["sliders"][0]["steps"]
    assert "focal" in bundle["text/plain"] and "15 frames" in bundle["text/plain"]


def test_colab_gets_plotlys_own_page(monkeypatch):
    pytest.importorskip("plotly")
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    bundle = focal_explorer()._repr_mimebundle_()
    assert list(bundle) == ["text/html"] and "Plotly.newPlot" in bundle["text/html"]


def test_two_builds_write_the_same_bytes():
    assert focal_explorer().html() == focal_explorer().html()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Focal Loss"}, "name must be lower-case"),
        ({"alt": "a plot"}, "alt must describe the figure"),
        ({"parameters": []}, "one or two sliders"),
        ({"panels": [Panel("Loss", "p", "loss")]}, "in panel 1, but there are 1 panels"),
        ({"show": [(3.0, 0.25)]}, "3.0 is not one of its values"),
        ({"show": [2.0]}, "each setting needs 2 value"),
        ({"static": [np.zeros(3)]}, "expected traces made by line()"),
        ({"static_layout": "side by side"}, "needs exactly one panel"),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(change, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        focal_explorer(**change)


def test_frames_must_keep_their_traces():
    def unstable(gamma):
        names = ["loss"] if gamma < 1 else ["loss", "extra"]
        return [line(P, P**gamma, name=n) for n in names]

    with pytest.raises(ValueError, match=r"frame at γ = 1: returned other traces"):
        Explorer(
            unstable,
            name="x",
            title="t",
            parameters=[Parameter("γ", [0, 1], start=0)],
            panels=[Panel("a", "b", "c")],
            show=[0],
            alt="x" * 30,
        )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Parameter("γ", [1.0, 0.5], start=1.0), "values must increase"),
        (lambda: Parameter("γ", [0.0, 1.0], start=0.5), "0.5 is not one of its values"),
        (lambda: Panel("", "x", "y"), "title, xlabel and ylabel must be non-empty"),
        (lambda: line([1, 2], [1], name="l"), "x and y must be non-empty and of one length"),
        (lambda: line([1, 2], [1, 2], name="l", dash="dashed"), "dash must be one of"),
        (lambda: points(["a"], [1], name="p"), "x must be an array of real numbers"),
        (lambda: contour([0, 1], [0, 1, 2], np.zeros((2, 2)), name="c"), "z must have shape"),
    ],
)
def test_bad_traces_and_sliders_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        make()


def test_a_name_in_several_panels_has_one_legend_entry():
    """The focal explorer's reference curve and each moving curve, drawn in both panels, are
    one legend entry each (one group, so a click hides both), in every copy of the traces."""
    both = [line(P, -np.log(P), name="BCE", color="#000000", panel=k) for k in (0, 1)]
    figure = focal_explorer(static=both).figure()

    shown = [t["name"] for t in figure["data"] if t["showlegend"] and t.get("visible", True)]
    assert shown == ["BCE", "focal loss", "pull"]
    assert all(t["legendgroup"] == t["name"] for t in figure["data"])
    # Every copy (one per value of the second slider) has its own entries.
    hidden = [t["name"] for t in figure["data"] if t.get("visible") is False and t["showlegend"]]
    assert hidden == ["focal loss", "pull"] * 2
