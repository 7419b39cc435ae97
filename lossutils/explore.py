"""Interactive explorers: move a slider, watch a loss, a gradient or a fit change.

An explorer is a figure with one or two sliders (a learning rate, Huber's ``delta``, the focal
loss's ``gamma`` and ``alpha``, ...). Every frame, one per slider setting (or per pair of
settings), is computed in Python when the chapter runs, with ``lossutils``, and stored in the
figure. Moving a slider then needs no kernel and no network: the browser only swaps arrays
that are already there. One :class:`Explorer` is shown three ways:

* on the website, as a Plotly figure whose sliders work in the page, drawn by the ``plotly.js``
  that the site serves from its own ``_static`` folder (``_ext/explorers.py``), never a CDN;
* in JupyterLab, Notebook 7 and VS Code, as the same Plotly figure (their Plotly renderer; the
  ``plotly`` package installs JupyterLab's, offline);
* where no script runs (print, the PDF edition, a notebook viewer without Plotly), as a static
  matplotlib figure in the course's style that shows a few settings at once, with alt text.

The sliders are Plotly's own, so the figure behaves the same wherever Plotly draws it. A slider
step can only *set* trace properties, it cannot read another slider's position, so with two
parameters the figure holds one copy of the frame's traces per value of the second parameter:
the first slider sets the data of every copy (the frame at its value and that copy's), the
second slider shows one copy and hides the others. Every pair of settings is therefore drawn
exactly as :meth:`Explorer.frame_at` computes it.

Example:
  >>> import numpy as np
  >>> p = np.linspace(0.01, 0.99, 50)
  >>> def focal(gamma):
  ...     return [line(p, -(1 - p) ** gamma * np.log(p), name="focal loss")]
  >>> ex = Explorer(
  ...     focal, name="focal-demo", title="Focal loss", alt="The focal loss against p_t, gamma 0, 2 and 5.",
  ...     parameters=[Parameter("focusing γ", [0.0, 1.0, 2.0, 5.0], start=2.0)],
  ...     panels=[Panel(title="Loss", xlabel="p<sub>t</sub>", ylabel="loss")],
  ...     show=[0.0, 2.0, 5.0],
  ... )
  >>> len(ex.figure()["layout"]["sliders"][0]["steps"])
  4
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

import numpy as np

__all__ = ["Explorer", "Frame", "Panel", "Parameter", "Trace", "bars", "contour", "line", "points"]

#: The MIME type of a Plotly figure (JupyterLab's, VS Code's and nteract's Plotly renderers).
PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: The course's colour-blind-safe palette (Okabe & Ito), as in :mod:`lossutils.plotting`.
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

Kind = Literal["line", "points", "bars", "contour"]
_DASHES = {"solid": "-", "dash": "--", "dot": ":"}
_SYMBOLS = {"circle": "o", "x": "x", "star": "*", "diamond": "D", "square": "s"}
#: Pixels from the top of the figure to its panels (title, note, legend), below the panels to
#: the first slider (the axis labels), and taken by each slider.
_TOP, _SLIDER_TOP, _SLIDER = 112, 62, 80
_SIGNIFICANT = 5  # digits kept in the figure's JSON: far below a pixel, and a small page


# -- what a figure is made of ---------------------------------------------------------------------


@dataclass(frozen=True)
class Trace:
    """One curve, set of points, set of bars or contour plot in one panel (see :func:`line`)."""

    kind: Kind
    x: np.ndarray
    y: np.ndarray
    name: str
    panel: int = 0
    z: np.ndarray | None = None
    color: str | None = None
    dash: str = "solid"
    symbol: str = "circle"
    markers: bool = False
    levels: int = 12

    def shape(self) -> tuple:
        """What must stay the same from frame to frame for a slider to update the trace."""
        return (self.kind, self.name, self.panel, self.color, self.dash, self.symbol, self.markers)


def _vector(values: Any, name: str, *, labels: bool = False) -> np.ndarray:
    arr = np.asarray(values)
    if labels and arr.dtype.kind in "US":
        return arr.ravel()
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64).ravel()


def _xy(x: Any, y: Any, *, labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    x_arr, y_arr = _vector(x, "x", labels=labels), _vector(y, "y")
    if x_arr.shape != y_arr.shape or x_arr.size == 0:
        raise ValueError(
            f"x and y must be non-empty and of one length, got {x_arr.size} and {y_arr.size}"
        )
    return x_arr, y_arr


def _check_choice(value: str, choices: dict, name: str) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def line(
    x: Any,
    y: Any,
    *,
    name: str,
    panel: int = 0,
    color: str | None = None,
    dash: str = "solid",
    markers: bool = False,
) -> Trace:
    """A curve through the points ``(x, y)`` (``markers=True`` also marks each point).

    ``dash`` is ``"solid"``, ``"dash"`` or ``"dot"``; ``color`` a colour such as
    ``PALETTE[2]`` (by default each trace takes the next colour of the palette).
    """
    x_arr, y_arr = _xy(x, y)
    return Trace(
        "line",
        x_arr,
        y_arr,
        name,
        panel,
        color=color,
        markers=markers,
        dash=_check_choice(dash, _DASHES, "dash"),
    )


def points(
    x: Any, y: Any, *, name: str, panel: int = 0, color: str | None = None, symbol: str = "circle"
) -> Trace:
    """Unconnected markers at ``(x, y)``; ``symbol`` is circle, x, star, diamond or square."""
    x_arr, y_arr = _xy(x, y)
    return Trace(
        "points",
        x_arr,
        y_arr,
        name,
        panel,
        color=color,
        symbol=_check_choice(symbol, _SYMBOLS, "symbol"),
    )


def bars(x: Any, y: Any, *, name: str, panel: int = 0, color: str | None = None) -> Trace:
    """Bars of height ``y`` at positions or category labels ``x``; several bar traces in one
    panel stand side by side."""
    x_arr, y_arr = _xy(x, y, labels=True)
    return Trace("bars", x_arr, y_arr, name, panel, color=color)


def contour(x: Any, y: Any, z: Any, *, name: str, panel: int = 0, levels: int = 12) -> Trace:
    """Contour lines of ``z`` (shape ``(len(y), len(x))``) at ``levels`` evenly spaced values;
    pass ``np.log10`` of a cost to space them logarithmically. Contours never change with a
    slider: give them as ``static`` traces."""
    x_arr, y_arr = _vector(x, "x"), _vector(y, "y")
    z_arr = np.asarray(z, dtype=np.float64)
    if z_arr.shape != (y_arr.size, x_arr.size):
        raise ValueError(
            f"z must have shape (len(y), len(x)) = {(y_arr.size, x_arr.size)}, got {z_arr.shape}"
        )
    if not 2 <= levels <= 40:
        raise ValueError(f"levels must be between 2 and 40, got {levels}")
    return Trace("contour", x_arr, y_arr, name, panel, z=z_arr, levels=levels)


@dataclass(frozen=True)
class Frame:
    """What a frame function returns: the traces that move, and a one-line note (``loss =
    0.42``) shown above the panels."""

    traces: Sequence[Trace]
    note: str = ""


@dataclass(frozen=True)
class Panel:
    """One plot area: its title and axis labels (Unicode; ``<sub>``/``<sup>`` for indices),
    optionally fixed axis ranges, and logarithmic axes (``xlog``, ``ylog``; their ranges are
    given in data units). Without a range the axis spans every frame's data, so it does not
    jump while the slider moves."""

    title: str
    xlabel: str
    ylabel: str
    xrange: tuple[float, float] | None = None
    yrange: tuple[float, float] | None = None
    xlog: bool = False
    ylog: bool = False

    def __post_init__(self):
        if not (self.title.strip() and self.xlabel.strip() and self.ylabel.strip()):
            raise ValueError("Panel: title, xlabel and ylabel must be non-empty")


@dataclass(frozen=True)
class Parameter:
    """A slider: its label, the values it steps through, where it starts, how values print."""

    label: str
    values: Sequence[float]
    start: float
    fmt: str = ".3g"
    values_array: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        values = _vector(self.values, "values")
        if values.size < 2 or np.any(np.diff(values) <= 0):
            raise ValueError(
                f"Parameter {self.label!r}: values must increase, at least two, got {values}"
            )
        object.__setattr__(self, "values_array", values)
        self.index(self.start)  # raises if start is not one of the values

    def index(self, value: float) -> int:
        """The position of ``value`` among the values (to a relative 1e-9)."""
        hits = np.flatnonzero(np.isclose(self.values_array, value, rtol=1e-9, atol=0))
        if hits.size == 0:
            raise ValueError(
                f"Parameter {self.label!r}: {value!r} is not one of its values "
                f"{[format(v, self.fmt) for v in self.values_array]}"
            )
        return int(hits[0])

    def text(self, value: float) -> str:
        return format(float(value), self.fmt)


# -- the explorer ---------------------------------------------------------------------------------


class Explorer:
    """A figure with sliders whose every frame is computed now, shown interactively by Plotly.

    Args:
      frame: called with one value per parameter, returns the moving traces, as a
        :class:`Frame` (traces and a note) or a list of traces. Every call must return the same
        traces (kind, name, panel, style) in the same order; only their data may change.
      name: a short id, unique in its chapter (the figure's HTML id is ``explorer-NAME``).
      title: the figure's title.
      parameters: one or two :class:`Parameter` (one slider each).
      panels: one to three :class:`Panel`, side by side.
      static: traces that never move (data points, a contour map, a reference curve).
      show: the settings the static figure draws, 1 to 4 of them: values of the parameter,
        or ``(value, value)`` pairs with two parameters.
      alt: what the static figure shows, for a reader who cannot see it (at least 30
        characters, like every figure's).
      static_layout: ``"overlay"`` draws every shown setting in the same panels, one colour
        each; ``"side by side"`` (one panel only) gives each setting its own panel.
      height: the interactive figure's height in pixels (without its sliders).

    Raises:
      ValueError: frames that differ in their traces, a trace in a panel that does not exist,
        a shown setting that is not a slider value, a missing alt text, ...
    """

    def __init__(
        self,
        frame: Callable[..., Frame | Sequence[Trace]],
        *,
        name: str,
        title: str,
        parameters: Sequence[Parameter],
        panels: Sequence[Panel],
        show: Sequence[Any],
        alt: str,
        static: Sequence[Trace] = (),
        static_layout: Literal["overlay", "side by side"] = "overlay",
        height: int = 460,
    ):
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"name must be lower-case letters, digits and '-', got {name!r}")
        if not title.strip():
            raise ValueError("title must be non-empty")
        if not 1 <= len(parameters) <= 2:
            raise ValueError(f"parameters: expected one or two sliders, got {len(parameters)}")
        if not 1 <= len(panels) <= 3:
            raise ValueError(f"panels: expected one to three panels, got {len(panels)}")
        if len(alt.strip()) < 30:
            raise ValueError(f"alt must describe the figure in words (30+ characters), got {alt!r}")
        if static_layout not in ("overlay", "side by side"):
            raise ValueError(
                f"static_layout must be 'overlay' or 'side by side', got {static_layout!r}"
            )
        if static_layout == "side by side" and len(panels) != 1:
            raise ValueError("static_layout 'side by side' needs exactly one panel")
        if not 200 <= height <= 1200:
            raise ValueError(f"height must be between 200 and 1200 pixels, got {height}")
        self.name, self.title, self.alt, self.height = name, title, alt, height
        self.parameters, self.panels = list(parameters), list(panels)
        self.static_layout = static_layout
        self.static = [self._check_panel(t, "static") for t in static]
        # Every frame, computed now: {(i, j): Frame}, i (and j) indexing the parameters' values.
        grids = [range(len(p.values_array)) for p in self.parameters]
        self.frames: dict[tuple[int, ...], Frame] = {}
        for key in product(*grids):
            values = [float(p.values_array[i]) for p, i in zip(self.parameters, key)]
            self.frames[key] = self._check_frame(frame(*values), key)
        self.show = [self._key(setting, "show") for setting in show]
        if not 1 <= len(self.show) <= 4:
            raise ValueError(f"show: expected 1 to 4 settings, got {len(self.show)}")
        self.start = tuple(p.index(p.start) for p in self.parameters)
        panels_of_bars = [t.panel for t in self.frames[self.show[0]].traces if t.kind == "bars"]
        if static_layout == "overlay" and len(self.show) > 1:
            if len(panels_of_bars) != len(set(panels_of_bars)):
                raise ValueError(
                    "static_layout: 'overlay' cannot draw several settings of a panel with "
                    "several bar traces (their bars would mix); use 'side by side'"
                )

    # -- checks ------------------------------------------------------------------------------
    def _check_panel(self, trace: Trace, where: str) -> Trace:
        if not isinstance(trace, Trace):
            raise TypeError(
                f"{where}: expected traces made by line(), points(), bars() or "
                f"contour(), got {type(trace).__name__}"
            )
        if not 0 <= trace.panel < len(self.panels):
            raise ValueError(
                f"{where}: trace {trace.name!r} is in panel {trace.panel}, "
                f"but there are {len(self.panels)} panels"
            )
        return trace

    def _check_frame(self, result: Any, key: tuple[int, ...]) -> Frame:
        frame = result if isinstance(result, Frame) else Frame(list(result))
        settings = ", ".join(
            f"{p.label} = {p.text(p.values_array[i])}" for p, i in zip(self.parameters, key)
        )
        where = f"frame at {settings}"
        traces = [self._check_panel(t, where) for t in frame.traces]
        if not traces:
            raise ValueError(f"{where}: the frame function returned no trace")
        if any(t.kind == "contour" for t in traces):
            raise ValueError(f"{where}: contours cannot move; give them as static traces")
        if self.frames:
            first = next(iter(self.frames.values()))
            if [t.shape() for t in traces] != [t.shape() for t in first.traces]:
                raise ValueError(
                    f"{where}: returned other traces than the first frame (every frame must "
                    f"return the same traces in the same order; only their data may change): "
                    f"{[t.name for t in traces]} against {[t.name for t in first.traces]}"
                )
        return Frame(traces, frame.note)

    def _key(self, setting: Any, name: str) -> tuple[int, ...]:
        values = setting if isinstance(setting, (tuple, list)) else (setting,)
        if len(values) != len(self.parameters):
            raise ValueError(
                f"{name}: each setting needs {len(self.parameters)} value(s), got {setting!r}"
            )
        return tuple(p.index(v) for p, v in zip(self.parameters, values))

    # -- what the frames hold ----------------------------------------------------------------
    def frame_at(self, *values: float) -> Frame:
        """The frame computed for these parameter values (one per parameter)."""
        return self.frames[self._key(values, "frame_at")]

    def setting_text(self, key: tuple[int, ...]) -> str:
        return ", ".join(
            f"{p.label} = {p.text(p.values_array[i])}" for p, i in zip(self.parameters, key)
        )

    def _colors(self) -> dict[str, str]:
        """A colour for every trace name without one: the palette in order, black last."""
        names: list[str] = []
        for trace in [*self.static, *next(iter(self.frames.values())).traces]:
            if trace.color is None and trace.name not in names:
                names.append(trace.name)
        cycle = PALETTE[1:] + PALETTE[:1]
        return {n: cycle[k % len(cycle)] for k, n in enumerate(names)}

    def _ranges(self) -> list[tuple[tuple[float, float] | None, tuple[float, float] | None]]:
        """Each panel's axis ranges, as given or spanning every frame's data; a logarithmic
        axis's in powers of ten (as Plotly takes them)."""
        traces = [*self.static, *(t for f in self.frames.values() for t in f.traces)]
        ranges = []
        for k, panel in enumerate(self.panels):
            mine = [t for t in traces if t.panel == k]
            bars = any(t.kind == "bars" for t in mine)
            xr = _given(panel.xrange, panel.xlog) or _span(
                [t.x for t in mine if t.kind != "bars"], log=panel.xlog
            )
            yr = _given(panel.yrange, panel.ylog) or _span(
                [t.y for t in mine], log=panel.ylog, from_zero=bars and not panel.ylog
            )
            ranges.append((xr, yr))
        return ranges

    # -- the Plotly figure -------------------------------------------------------------------
    def figure(self) -> dict:
        """The interactive figure as Plotly JSON: ``{"data", "layout", "config"}``."""
        colors = self._colors()
        static = [_plotly_trace(t, colors, self.panels) for t in self.static]
        first, second = self.parameters[0], self.parameters[1:]
        variants = range(len(second[0].values_array)) if second else [None]
        start_i, start_j = self.start[0], self.start[1] if second else None
        n_moving = len(next(iter(self.frames.values())).traces)

        def frame(i, j):
            return self.frames[(i,) if j is None else (i, j)]

        # A name shown in several panels (a loss and its gradient) gets one legend entry.
        for k, trace in enumerate(static):
            trace["showlegend"] = trace["name"] not in [t["name"] for t in static[:k]]
        moving, visible = [], []
        for j in variants:
            named = {t["name"] for t in static}
            for trace in frame(start_i, j).traces:
                moving.append(_plotly_trace(trace, colors, self.panels))
                moving[-1] |= {"visible": j == start_j, "showlegend": trace.name not in named}
                named.add(trace.name)
                visible.append(j)
        moving_idx = list(range(len(static), len(static) + len(moving)))

        layout = self._layout()
        titles = len(self.panels)  # the first annotations are the panel titles
        notes = [_note(frame(start_i, j).note, visible=j == start_j) for j in variants]
        layout["annotations"] += notes

        steps = []
        for i, value in enumerate(first.values_array):
            frames = [frame(i, j) for j in variants]
            data = {
                "x": [_compact(t.x) for f in frames for t in f.traces],
                "y": [_compact(t.y) for f in frames for t in f.traces],
            }
            texts = {f"annotations[{titles + k}].text": f.note for k, f in enumerate(frames)}
            steps.append(_step(first.text(value), [data, texts, moving_idx]))
        sliders = [_slider(first, start_i, steps, 0)]
        if second:
            steps = []
            for j, value in enumerate(second[0].values_array):
                shown = {"visible": [v == j for v in visible]}
                notes_shown = {f"annotations[{titles + k}].visible": k == j for k in variants}
                steps.append(_step(second[0].text(value), [shown, notes_shown, moving_idx]))
            sliders.append(_slider(second[0], start_j, steps, 1))
        layout["sliders"] = sliders
        layout["margin"]["b"] = _SLIDER_TOP + _SLIDER * len(sliders) + 10
        total = layout["height"] = self.height + _SLIDER * len(sliders)
        # Title, note and legend stacked above the panels, placed in pixels from the top.
        layout["title"]["y"] = 1 - 8 / total
        layout["legend"]["y"] = 1 - 58 / total
        assert len(moving) == n_moving * len(variants)
        return {
            "data": static + moving,
            "layout": layout,
            "config": {
                "responsive": True,
                "displaylogo": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"filename": self.name},
            },
        }

    def _layout(self) -> dict:
        n = len(self.panels)
        gap = 0.1 if n > 1 else 0.0
        width = (1 - gap * (n - 1)) / n
        layout: dict = {
            "title": {
                "text": html.escape(self.title),
                "x": 0,
                "xref": "paper",
                "xanchor": "left",
                "y": 1,
                "yanchor": "top",
                "yref": "container",
                "font": {"size": 17},
            },
            "font": {"family": _FONT, "size": 13, "color": "#222222"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "showlegend": True,
            # Above the panels, under the title and the note: never over the data.
            "legend": {
                "orientation": "h",
                "x": 0,
                "xanchor": "left",
                "y": 1,
                "yanchor": "top",
                "yref": "container",
                "bgcolor": "rgba(255,255,255,0)",
            },
            "margin": {"l": 60, "r": 20, "t": _TOP, "b": 150},
            "barmode": "group",
            "hovermode": "closest",
            "annotations": [],
            "autosize": True,
        }
        for k, (panel, (xr, yr)) in enumerate(zip(self.panels, self._ranges())):
            suffix = "" if k == 0 else str(k + 1)
            left = k * (width + gap)
            layout[f"xaxis{suffix}"] = _axis(panel.xlabel, xr, log=panel.xlog) | {
                "domain": [left, left + width],
                "anchor": f"y{suffix}",
            }
            layout[f"yaxis{suffix}"] = _axis(panel.ylabel, yr, log=panel.ylog) | {
                "anchor": f"x{suffix}"
            }
            layout["annotations"].append(
                {
                    "text": f"<b>{html.escape(panel.title)}</b>",
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": left + width / 2,
                    "y": 1,
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "yshift": 6,
                    "font": {"size": 14},
                }
            )
        return layout

    def _narrow(self, figure: dict) -> dict:
        """Relayout for a phone: the panels stacked, each as tall as a wide screen's, room for
        a legend of several rows (the site's script applies it below 560 pixels)."""
        n = len(self.panels)
        layout = figure["layout"]
        top, panel, between = _TOP + 40, 280, 110
        plot = n * panel + (n - 1) * between
        total = top + plot + layout["margin"]["b"]
        out: dict = {
            "height": total,
            "margin.t": top,
            "title.y": 1 - 8 / total,
            "legend.y": 1 - 58 / total,
        }
        for k in range(n):
            suffix = "" if k == 0 else str(k + 1)
            upper = 1 - k * (panel + between) / plot
            out[f"xaxis{suffix}.domain"] = [0, 1]
            out[f"yaxis{suffix}.domain"] = [max(0.0, upper - panel / plot), upper]
            out[f"annotations[{k}].x"] = 0.5
            out[f"annotations[{k}].y"] = upper
        for k in range(n, len(layout["annotations"])):  # the notes, above the first panel
            out[f"annotations[{k}].yshift"] = top - 52
        return out

    # -- the static figure -------------------------------------------------------------------
    def static_figure(self):
        """The settings in ``show`` drawn with matplotlib, in the course's style."""
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        from lossutils.plotting import new_figure

        side = self.static_layout == "side by side"
        ncols = len(self.show) if side else len(self.panels)
        panels = [self.panels[0]] * ncols if side else self.panels
        width = 7.2 if ncols > 1 else 6.4
        fig, axes = new_figure(
            ncols=ncols,
            width=width,
            height=3.6 if ncols > 1 else 4.0,
            title=[self.setting_text(k) for k in self.show] if side else [p.title for p in panels],
            xlabel=[_mathtext(p.xlabel) for p in panels],
            ylabel=[_mathtext(p.ylabel) for p in panels],
            suptitle=f"{self.title}: {self.panels[0].title}" if side else self.title,
        )
        axes = list(axes) if ncols > 1 else [axes]
        colors = self._colors()
        ranges = self._ranges()
        handles: dict[str, Any] = {}
        setting_colors = [PALETTE[c] for c in (2, 1, 3, 4)]
        for col, ax in enumerate(axes):
            panel_no = 0 if side else col
            panel = self.panels[panel_no]
            for axis, log, set_scale in (
                (ax.xaxis, panel.xlog, ax.set_xscale),
                (ax.yaxis, panel.ylog, ax.set_yscale),
            ):
                if log:
                    # Plain numbers at the powers of ten only: over less than a decade,
                    # matplotlib labels its minor ticks too, and they collide.
                    set_scale("log")
                    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                    axis.set_minor_formatter(NullFormatter())
            for trace in self.static:
                if trace.panel == panel_no:
                    artist = _draw(
                        ax, trace, colors[trace.name] if trace.color is None else trace.color
                    )
                    handles.setdefault(trace.name, artist)
            shown = [self.show[col]] if side else self.show
            for s, key in enumerate(shown):
                moving = [t for t in self.frames[key].traces if t.panel == panel_no]
                group = [t for t in moving if t.kind == "bars"]
                for trace in moving:
                    if side or len(self.show) == 1:
                        color = colors[trace.name] if trace.color is None else trace.color
                        label = trace.name
                    else:
                        color, label = setting_colors[s], self.setting_text(key)
                    # Identity, not ==: a Trace holds arrays, which == compares elementwise.
                    at = [k for k, t in enumerate(group) if t is trace]
                    slot = (at[0], len(group)) if at else None
                    artist = _draw(ax, trace, color, slot=slot, shown=(s, len(shown)))
                    if label != trace.name and trace.kind == "line":
                        # A setting's entry is its colour; the styles get entries of their own.
                        artist = Line2D([], [], color=color)
                    handles.setdefault(label, artist)
            (xr, yr) = ranges[panel_no]
            if xr is not None:
                ax.set_xlim(*(10 ** np.array(xr) if panel.xlog else xr))
            if yr is not None:
                ax.set_ylim(*(10 ** np.array(yr) if panel.ylog else yr))
            for axis, log, span in ((ax.xaxis, panel.xlog, xr), (ax.yaxis, panel.ylog, yr)):
                if log and span is not None and span[1] - span[0] < 2:  # under two decades
                    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        if not side and len(self.show) > 1:
            # One entry per setting (its colour) and one per moving trace's style.
            styles = {
                t.name: t
                for t in next(iter(self.frames.values())).traces
                if t.kind == "line" and t.dash != "solid"
            }
            for name, t in styles.items():
                handles[name] = Line2D([], [], color="0.3", linestyle=_DASHES[t.dash])
        # As many columns as fit the figure's width (about 12 characters an inch at 9 points,
        # and 5 for each entry's sample line and gap): a wider legend would be cut off.
        ncols = min(4, len(handles))
        longest = sorted((len(label) for label in handles), reverse=True)
        while ncols > 1 and sum(longest[:ncols]) + 5 * ncols > 12 * width:
            ncols -= 1
        fig.legend(
            list(handles.values()),
            list(handles.keys()),
            loc="outside lower center",
            ncols=ncols,
            frameon=False,
            fontsize=9,
        )
        return fig

    def static_png(self) -> bytes:
        """The static figure as PNG bytes, drawn at twice the resolution it is shown at."""
        import matplotlib.pyplot as plt

        fig = self.static_figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=200, facecolor="white", metadata={"Software": None})
        plt.close(fig)
        return buffer.getvalue()

    # -- display -----------------------------------------------------------------------------
    def html(self, png: bytes | None = None) -> str:
        """The site's form: the static figure, and the Plotly figure as JSON for the site's
        script (``_ext/explorer_assets/explorer.js``) to draw in its place."""
        png = self.static_png() if png is None else png
        width, height = struct.unpack(">II", png[16:24])
        figure = self.figure()
        spec = json.dumps(
            figure | {"narrow": self._narrow(figure)}, separators=(",", ":"), allow_nan=False
        )
        spec = spec.replace("</", "<\\/")  # a "</script>" inside would end the script
        encoded = base64.b64encode(png).decode("ascii")
        return (
            f'<div class="loss-explorer" id="explorer-{self.name}">'
            f'<img class="loss-explorer-static" src="data:image/png;base64,{encoded}" '
            f'alt="{html.escape(self.alt)}" width="{width // 2}" height="{height // 2}">'
            f'<script type="application/json" class="loss-explorer-figure">{spec}</script>'
            "</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if "google.colab" in sys.modules:  # Colab renders Plotly only through its own page
            import plotly.io

            return {
                "text/html": plotly.io.to_html(
                    self.figure(), include_plotlyjs="cdn", full_html=False
                )
            }
        # No image/png: JupyterLab's Plotly renderer would show it instead of the figure.
        return {PLOTLY_MIME: self.figure(), "text/html": self.html(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        sliders = " x ".join(f"{len(p.values_array)} values of {p.label}" for p in self.parameters)
        return f"<Explorer {self.name!r}: {self.title}, {len(self.frames)} frames ({sliders})>"


# -- helpers ------------------------------------------------------------------------------------

_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif'


def _compact(values: np.ndarray) -> list:
    """Numbers rounded to a few significant digits (small JSON); labels as they are."""
    if values.dtype.kind in "US":
        return values.tolist()
    out = []
    for v in values.tolist():
        out.append(None if not math.isfinite(v) else float(f"{v:.{_SIGNIFICANT}g}"))
    return out


def _span(arrays: list, *, log: bool = False, from_zero: bool = False):
    """An axis range that holds every finite value, with 4 % to spare on each side."""
    values = [a[np.isfinite(a)] for a in arrays if a.dtype.kind == "f"]
    values = [v[v > 0] if log else v for v in values]
    values = np.concatenate(values) if values else np.array([])
    if values.size == 0:
        return None
    lo, hi = (
        (np.log10(values.min()), np.log10(values.max())) if log else (values.min(), values.max())
    )
    if from_zero:
        lo = min(lo, 0.0)
    pad = 0.04 * (hi - lo) if hi > lo else 0.5
    return (float(lo if from_zero and lo == 0 else lo - pad), float(hi + pad))


def _given(span: tuple[float, float] | None, log: bool):
    """A range given in data units, as the axis takes it (powers of ten on a log axis)."""
    if span is None:
        return None
    if log and min(span) <= 0:
        raise ValueError(f"a logarithmic axis needs a positive range, got {span}")
    return (float(np.log10(span[0])), float(np.log10(span[1]))) if log else tuple(map(float, span))


def _axis(label: str, span, *, log: bool = False) -> dict:
    axis = {
        "title": {"text": label, "standoff": 8},
        "showgrid": True,
        "gridcolor": "#e5e5e5",
        "zeroline": False,
        "linecolor": "#444444",
        "ticks": "outside",
        "automargin": True,
    }
    if log:
        axis["type"] = "log"
    if span is not None:
        axis["range"] = list(span)
        axis["autorange"] = False
    return axis


def _plotly_trace(trace: Trace, colors: dict[str, str], panels: Sequence[Panel]) -> dict:
    color = trace.color or colors[trace.name]
    suffix = "" if trace.panel == 0 else str(trace.panel + 1)
    out: dict = {
        "name": trace.name,
        "legendgroup": trace.name,  # clicking a legend entry hides the name in every panel
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
    }
    if trace.kind == "contour":
        return out | {
            "type": "contour",
            "x": _compact(trace.x),
            "y": _compact(trace.y),
            "z": [_compact(row) for row in trace.z],
            "contours": {"coloring": "lines", "showlabels": False},
            "ncontours": trace.levels,
            "autocontour": True,
            "colorscale": "Viridis",
            "showscale": False,
            "line": {"width": 1},
            "hoverinfo": "skip",
        }
    out |= {"x": _compact(trace.x), "y": _compact(trace.y)}
    if trace.kind == "bars":
        return out | {"type": "bar", "marker": {"color": color}}
    if trace.kind == "points":
        return out | {
            "type": "scatter",
            "mode": "markers",
            "marker": {
                "color": color,
                "symbol": trace.symbol,
                "size": 12 if trace.symbol == "star" else 7,
            },
        }
    return out | {
        "type": "scatter",
        "mode": "lines+markers" if trace.markers else "lines",
        "line": {"color": color, "dash": trace.dash, "width": 2.5},
        "marker": {"size": 5},
    }


def _note(text: str, *, visible: bool) -> dict:
    return {
        "text": html.escape(text),
        "showarrow": False,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1,
        "xanchor": "left",
        "yanchor": "bottom",
        "yshift": _TOP - 52,
        "font": {"size": 14, "color": "#333333"},
        "visible": visible,
    }


def _step(label: str, args: list) -> dict:
    return {"label": label, "method": "update", "args": args}


def _slider(parameter: Parameter, active: int, steps: list, k: int) -> dict:
    return {
        "active": active,
        "steps": steps,
        "currentvalue": {
            "prefix": f"{parameter.label} = ",
            "font": {"size": 14, "color": "#222222"},
        },
        "x": 0,
        "len": 1,
        "y": 0,
        "yanchor": "top",
        "pad": {"t": _SLIDER_TOP + _SLIDER * k, "b": 10},
        # Past a dozen steps the labels under the rail would collide: the current value,
        # printed above it, is enough.
        "font": {"size": 11, "color": "#444444" if len(steps) <= 12 else "rgba(0,0,0,0)"},
    }


def _mathtext(label: str) -> str:
    """A Plotly label (Unicode, ``<sub>``, ``<sup>``) for matplotlib."""
    label = re.sub(r"<sub>(.*?)</sub>", r"$_{\1}$", label)
    label = re.sub(r"<sup>(.*?)</sup>", r"$^{\1}$", label)
    return html.unescape(label)


def _draw(ax, trace: Trace, color: str, *, slot=None, shown=(0, 1)):
    """Draw one trace on matplotlib axes; return the artist for the legend."""
    if trace.kind == "contour":
        from matplotlib.lines import Line2D

        ax.contour(trace.x, trace.y, trace.z, levels=trace.levels, cmap="viridis", linewidths=1)
        return Line2D([], [], color="#21918c")  # the legend's sample: viridis' middle
    if trace.kind == "bars":
        positions = np.arange(trace.x.size)
        k, n = slot if slot is not None else (shown[0], shown[1])
        width = 0.8 / n
        artist = ax.bar(positions - 0.4 + width * (k + 0.5), trace.y, width=width, color=color)
        ax.set_xticks(positions, [str(v) for v in trace.x.tolist()])
        return artist
    if trace.kind == "points":
        marker = _SYMBOLS[trace.symbol]
        size = 14 if trace.symbol == "star" else 6
        (artist,) = ax.plot(
            trace.x,
            trace.y,
            linestyle="none",
            marker=marker,
            markersize=size,
            color=color,
            zorder=3,
        )
        return artist
    (artist,) = ax.plot(
        trace.x,
        trace.y,
        color=color,
        linestyle=_DASHES[trace.dash],
        marker="o" if trace.markers else None,
        markersize=3,
        linewidth=2,
    )
    return artist
