"""The one plotting helper every chapter uses.

Every figure in the course comes from :func:`new_figure`, so they all share a size that fits
the book's content column at 100 % zoom, a colour-blind-safe palette, an opaque white background
(legible in the site's dark mode), twice the pixels in a notebook (importing this module there
asks the inline backend for "retina" PNGs) and, above all, a title and labelled axes: a figure without
them raises instead of reaching a reader. Alt text and captions live in the chapter's cell
metadata (``mystnb: image: alt`` and ``mystnb: figure: caption``), where the site reads them.

matplotlib is imported here, not in ``lossutils/__init__.py``, so the loss library itself needs
only NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

# No display on build machines; notebooks switch to the inline backend on their own.
_INLINE = matplotlib.get_backend().lower() in {
    "module://matplotlib_inline.backend_inline",
    "inline",
}
if not _INLINE:
    matplotlib.use("Agg")
else:
    # Crisp on high-DPI screens: the notebook stores each PNG at twice the figure's resolution,
    # with its width and height at 1x in the output's metadata, which the book's <img> tags and
    # Jupyter both honour, so a figure keeps its size on the page and its lettering stays sharp.
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")

import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

__all__ = ["PALETTE", "new_figure", "check_labelled"]

#: Okabe & Ito's colour-blind-safe palette (black first, for "truth" lines).
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

# The style is set on each figure and axes, never through rcParams: an rc_context around the
# first figure would also restore matplotlib's interactive flag, which the notebook's inline
# backend switches on at that moment, and every later figure would silently not be shown.
_DPI = 100  # 6.4 in x 100 dpi = 640 px: narrower than the content column.
_BACKGROUND = "white"  # Opaque, so dark mode does not swallow black axes and text.

_MAX_WIDTH_IN = 7.2  # 720 px at 100 dpi: the widest figure that fits the column unscaled.


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
    return (fig, axes[0]) if ncols == 1 else (fig, axes)


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
