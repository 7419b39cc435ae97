"""Glue computed values into the book's prose, cheaply and without the book's toolchain.

Chapters quote numbers through myst-nb's ``glue`` mechanism: a cell stores a value in its output
metadata and the text pastes it with ``{glue:text}`name:.3f```. :func:`glue` writes exactly the
output that ``myst_nb.glue`` writes, with two differences that matter in a course:

* it needs only IPython, so a chapter also runs where myst-nb is not installed (Colab, a
  student's own Jupyter), and it skips myst-nb's import of nbformat and jsonschema, which costs
  seconds in every chapter;
* NumPy scalars are glued as plain Python numbers: NumPy 2 shows ``np.float64(0.5)``, which the
  ``{glue:text}`` role cannot format.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["glue"]

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
    ipy_display({prefix + key: value for key, value in mimebundle.items()}, raw=True, metadata=metadata)
