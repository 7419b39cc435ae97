"""Glue computed values into the book's prose, and show tables of results, in any notebook.

Chapters quote numbers through myst-nb's ``glue`` mechanism: a cell stores a value in its output
metadata and the text pastes it with ``{glue:text}`name:.3f```. :func:`glue` writes exactly the
output that ``myst_nb.glue`` writes, with two differences that matter in a course:

* it needs only IPython, so a chapter also runs where myst-nb is not installed (Colab, a
  student's own Jupyter), and it skips myst-nb's import of nbformat and jsonschema, which costs
  seconds in every chapter;
* NumPy scalars are glued as plain Python numbers: NumPy 2 shows ``np.float64(0.5)``, which the
  ``{glue:text}`` role cannot format.

:func:`glue_spread` glues how a result varies over seeds (its mean, smallest and largest value),
the spread every comparison of methods states (see CONTRIBUTING.md, "Experiments that compare
methods"). :func:`markdown_table` and :func:`html_table` show a table of results as a cell's output, in the
book and in every notebook viewer.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["glue", "glue_spread", "html_table", "markdown_table"]

#: The MIME prefix myst-nb reads for values glued without being displayed.
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Store ``variable``'s display value under ``name`` for the book's ``{glue}`` roles.

    Args:
      name: the key the text refers to, unique in its chapter.
      variable: the value; NumPy scalars and 0-d arrays are stored as Python numbers.
      display: also show the value in the notebook (as ``myst_nb.glue`` does).

    Example:
      >>> glue("answer", np.float64(0.5), display=False)  # outside a notebook: no output
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if isinstance(variable, (np.generic, np.ndarray)) and np.ndim(variable) == 0:
        variable = variable.item()
    mimebundle, metadata = format_display_data(variable)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display(
        {prefix + key: value for key, value in mimebundle.items()}, raw=True, metadata=metadata
    )


def glue_spread(name: str, values: Any) -> None:
    """Glue a result measured over several seeds: ``NAME_mean``, ``NAME_min``, ``NAME_max`` and
    ``NAME_n`` (how many values), none of them displayed.

    A comparison of methods states its spread over seeds, not one run's number: the text then
    reads ``{glue:text}`NAME_mean:.2f` (from {glue:text}`NAME_min:.2f` to
    {glue:text}`NAME_max:.2f` over {glue:text}`NAME_n` seeds)``.

    Args:
      name: the prefix of the four glued names.
      values: one number per seed (any array-like; it is flattened).

    Example:
      >>> glue_spread("ratio", [2.0, 3.0, 4.0])  # outside a notebook: no output
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"values: expected finite numbers, one per seed, got {values!r}")
    glue(f"{name}_mean", float(values.mean()), display=False)
    glue(f"{name}_min", float(values.min()), display=False)
    glue(f"{name}_max", float(values.max()), display=False)
    glue(f"{name}_n", int(values.size), display=False)


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]):
    """A table as Markdown, shown as a cell's output (cells may hold ``$math$`` and ``code``).

    The book renders a cell's Markdown output as CommonMark, which has no tables: give the cell
    ``mystnb: markdown_format: myst`` in its metadata. Notebooks render it as it is.

    Example:
      >>> print(markdown_table(["loss", "value"], [("MSE", 1.0)]).data)
      | loss | value |
      | --- | --- |
      | MSE | 1.0 |
    """
    from IPython.display import Markdown

    lines = [list(header), ["---"] * len(header), *rows]
    return Markdown("\n".join("| " + " | ".join(map(str, row)) + " |" for row in lines))


def html_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]):
    """A table as HTML, shown as a cell's output in the book and in every notebook viewer.

    Example:
      >>> html_table(["z", "loss"], [(1, "0.3")]).data
      '<table><thead><tr><th>z</th><th>loss</th></tr></thead><tbody><tr><td>1</td><td>0.3</td></tr></tbody></table>'
    """
    from IPython.display import HTML

    def row(cells, tag):
        return "<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in cells) + "</tr>"

    body = "".join(row(r, "td") for r in rows)
    return HTML(f"<table><thead>{row(header, 'th')}</thead><tbody>{body}</tbody></table>")
