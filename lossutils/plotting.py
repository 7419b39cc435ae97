"""The one plotting helper every chapter uses.

Every figure in the course comes from :func:`new_figure`, so they all share a size that fits
the book's content column at 100 % zoom, a colour-blind-safe palette, an opaque white background
(legible in the site's dark mode) and, above all, a title and labelled axes: a figure without
them raises instead of reaching a reader. Alt text and captions live in the chapter's cell
metadata (``mystnb: image: alt`` and ``mystnb: figure: caption``), where the site reads them.

In a notebook (IPython), importing this module also changes how figures are *shown*, never how
they are drawn (:func:`show_figures_for_every_screen`): each figure is sent as a PNG at twice its
pixel size, so it is crisp on high-DPI screens. When the website's build runs a chapter, a figure
of several panels is also saved *stacked* (:func:`stacked`, the panels one under another), and
the site shows that copy on narrow screens instead of shrinking the panels side by side to an
illegible size.

matplotlib is imported here, not in ``lossutils/__init__.py``, so the loss library itself needs
only NumPy.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import matplotlib

# No display on build machines; notebooks switch to the inline backend on their own.
if matplotlib.get_backend().lower() not in {"module://matplotlib_inline.backend_inline", "inline"}:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.legend import Legend

__all__ = [
    "PALETTE",
    "STACKED_FIGURES_ENV",
    "new_figure",
    "check_labelled",
    "stacked",
    "show_figures_for_every_screen",
]

#: Okabe & Ito's colour-blind-safe palette (black first, for "truth" lines).
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

# The style is set on each figure and axes, never through rcParams: an rc_context around the
# first figure would also restore matplotlib's interactive flag, which the notebook's inline
# backend switches on at that moment, and every later figure would silently not be shown.
_DPI = 100  # 6.4 in x 100 dpi = 640 px: narrower than the content column.
_BACKGROUND = "white"  # Opaque, so dark mode does not swallow black axes and text.

_MAX_WIDTH_IN = 7.2  # 720 px at 100 dpi: the widest figure that fits the column unscaled.

# About one panel of the widest two-panel figure (3.6 in): 3.5 in x 100 dpi, plus the tight
# bounding box, is 360 px, the text column of a 390 px phone (358 px), so a stacked figure is
# shown at its natural size there, with the lettering of the side-by-side one.
_STACKED_WIDTH_IN = 3.5
# A stacked panel is a little lower than a side-by-side one: it needs no room for a neighbour.
_STACKED_PANEL_HEIGHT = 0.9

#: The environment variable naming the folder where a multi-panel figure's stacked copy is saved,
#: as ``<SHA-256 of the figure's PNG>.png``: set by the website's build for its kernels
#: (``_ext/site_figures.py``), which finds each copy by the PNG it belongs to. Unset (Jupyter,
#: Colab), nothing is saved and the notebook's outputs are the figures alone.
STACKED_FIGURES_ENV = "LOSSUTILS_STACKED_FIGURES"


def _per_panel(value: str | Sequence[str], n: int, name: str) -> list[str]:
    """Repeat one label for every panel, or check that a list has one label per panel."""
    if isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name}: expected one label per panel ({n}), got {len(values)}")
    return values


def new_figure(
    *,
    title: str | Sequence[str],
    xlabel: str | Sequence[str],
    ylabel: str | Sequence[str],
    ncols: int = 1,
    suptitle: str | None = None,
    width: float = 6.4,
    height: float = 4.0,
):
    """Create a titled figure with labelled axes, in the course's style.

    Args:
      title: the axes title, or one title per panel when ``ncols > 1``.
      xlabel: the x-axis label (with units where there are any), or one per panel.
      ylabel: the y-axis label, or one per panel.
      ncols: the number of panels side by side.
      suptitle: an optional title over all panels.
      width: the figure width in inches (at most 7.2, so it fits the content column).
      height: the figure height in inches.

    Returns:
      ``(fig, ax)`` for one panel, ``(fig, axes)`` (a list) for several.

    Example:
      >>> fig, ax = new_figure(title="MSE", xlabel="residual $r$", ylabel="loss")
      >>> ax.get_title(), ax.get_xlabel()
      ('MSE', 'residual $r$')
      >>> plt.close(fig)
    """
    if not 1 <= ncols <= 4:
        raise ValueError(f"ncols: expected 1 to 4 panels, got {ncols}")
    if not 0 < width <= _MAX_WIDTH_IN:
        raise ValueError(f"width: expected 0 < width <= {_MAX_WIDTH_IN} inches, got {width}")
    titles = _per_panel(title, ncols, "title")
    xlabels = _per_panel(xlabel, ncols, "xlabel")
    ylabels = _per_panel(ylabel, ncols, "ylabel")
    fig, axes = plt.subplots(
        1,
        ncols,
        figsize=(width, height),
        dpi=_DPI,
        facecolor=_BACKGROUND,
        layout="constrained",
        squeeze=False,
    )
    axes = list(axes[0])
    for ax, t, xl, yl in zip(axes, titles, xlabels, ylabels):
        if not (t.strip() and xl.strip() and yl.strip()):
            raise ValueError("title, xlabel and ylabel must be non-empty: a reader needs all three")
        ax.set_title(t, fontsize=12)
        ax.set_xlabel(xl, fontsize=11)
        ax.set_ylabel(yl, fontsize=11)
        ax.set_facecolor(_BACKGROUND)
        ax.set_prop_cycle(color=PALETTE[1:] + PALETTE[:1])
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    fig._lossutils_panels = ncols  # read by stacked()
    return (fig, axes[0]) if ncols == 1 else (fig, axes)


def stacked(fig):
    """A copy of a figure of several panels with the panels one under another, or None.

    The copy is 3.5 in (about 360 px) wide, about one panel of the widest two-panel figure, so
    on a phone it is shown at its natural size, lettering included, where the side-by-side
    figure would be shrunk to half. Panels, their twins and their colour bars move together;
    a figure legend gets one column. ``fig`` itself is not changed.

    Args:
      fig: a figure from :func:`new_figure`.

    Returns:
      The stacked copy, a new figure that pyplot does not show; None when ``fig`` has one
      panel or does not come from :func:`new_figure`.

    Example:
      >>> fig, axes = new_figure(ncols=2, title=["a", "b"], xlabel="x", ylabel="y")
      >>> tall = stacked(fig)
      >>> [ax.get_subplotspec().get_geometry()[:2] for ax in tall.axes]  # (rows, columns)
      [(2, 1), (2, 1)]
      >>> float(tall.get_figwidth()), stacked(new_figure(title="t", xlabel="x", ylabel="y")[0])
      (3.5, None)
      >>> plt.close("all")
    """
    ncols = getattr(fig, "_lossutils_panels", 1)
    if ncols < 2:
        return None
    copy = pickle.loads(pickle.dumps(fig))
    plt.close(copy)  # unpickling gives a figure made with pyplot back to pyplot
    grid = copy.add_gridspec(ncols, 1)
    for ax in copy.axes:
        spec = ax.get_subplotspec()
        if spec is None or ax.get_label() == "<colorbar>":
            continue  # colour bars follow their panel (constrained layout places them)
        ax.set_subplotspec(grid[spec.colspan.start, 0])
    for legend in list(copy.legends):  # a figure legend in one column: as narrow as a panel
        _one_column(copy, legend)
    copy.set_size_inches(_STACKED_WIDTH_IN, fig.get_figheight() * ncols * _STACKED_PANEL_HEIGHT)
    copy.draw_without_rendering()  # lay it out now, while the figure is known to be valid
    return copy


_LOCATIONS = {code: name for name, code in Legend.codes.items()}


def _one_column(fig, legend) -> None:
    """Replace a figure legend with the same one in a single column (its layout is fixed when
    it is made, so it is made again)."""
    handles, labels = legend.legend_handles, [text.get_text() for text in legend.get_texts()]
    location = _LOCATIONS.get(legend._get_loc(), "best")
    outside = getattr(legend, "_outside_loc", None)
    legend.remove()
    fig.legend(
        handles,
        labels,
        loc=f"outside {location}" if outside else location,
        ncols=1,
        fontsize=legend.prop.get_size(),
        frameon=legend.get_frame_on(),
    )


def _png_for_display(fig):
    """IPython's ``image/png`` formatter: the figure at twice its pixels, with its size at 1x;
    with :data:`STACKED_FIGURES_ENV` set, the stacked copy of a multi-panel figure is saved."""
    from IPython.core.pylabtools import retina_figure

    shown = retina_figure(fig)
    if shown is None:  # an empty figure
        return None
    png, size = shown
    folder = os.environ.get(STACKED_FIGURES_ENV)
    tall = stacked(fig) if folder else None
    if tall is not None:
        tall_png, _ = retina_figure(tall)
        path = Path(folder) / f"{hashlib.sha256(png).hexdigest()}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tall_png)
    return base64.b64encode(png).decode("ascii"), size


def show_figures_for_every_screen() -> bool:
    """In IPython, show each figure as a 2x PNG (and save the stacked copy of a multi-panel
    figure where :data:`STACKED_FIGURES_ENV` says).

    The PNG carries its size at 1x (``width``, ``height`` in the output's metadata), which
    JupyterLab and the website use: the figure takes the same room as before, with twice the
    pixels. Called when this module is imported; does nothing outside IPython.

    Returns:
      True when an IPython shell was set up, False otherwise.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    from matplotlib.figure import Figure

    if matplotlib.get_backend() == "module://matplotlib_inline.backend_inline":
        # pyplot loads its backend on the first figure, and the inline backend then registers
        # its own 1x PNG formatter: load it now, so that the formatter below comes after it.
        import matplotlib_inline.backend_inline  # noqa: F401
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png_for_display)
    return True


show_figures_for_every_screen()


def check_labelled(fig) -> None:
    """Raise ``ValueError`` unless every axes of ``fig`` has a title and both axis labels.

    Colour bars are exempt from the title rule (they carry their own label).

    Example:
      >>> fig, ax = new_figure(title="t", xlabel="x", ylabel="y")
      >>> check_labelled(fig)
      >>> _ = ax.set_xlabel("")
      >>> check_labelled(fig)
      Traceback (most recent call last):
      ...
      ValueError: axes 0 ('t') has no x label
      >>> plt.close(fig)
    """
    for i, ax in enumerate(fig.axes):
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        if not ax.get_title():
            raise ValueError(f"axes {i} has no title")
        if not ax.get_xlabel():
            raise ValueError(f"axes {i} ({ax.get_title()!r}) has no x label")
        if not ax.get_ylabel():
            raise ValueError(f"axes {i} ({ax.get_title()!r}) has no y label")
