"""Run a chapter's code in the test process, as a student's notebook runs it, and keep its variables.

A chapter checks its claims in short hidden ``check`` cells. Checks that re-run an experiment
(a second training in PyTorch, an exercise's claims over several fits) would make the chapter
slow and its hidden cells long, so they live in ``tests/claims/``: each test gets the chapter's
variables from :func:`run_chapter_code`, which executes every code cell except the check cells
(the reader notebook's code), top to bottom, in one namespace.

The chapters change global state only in their visible set-up cell (the default dtype, seeds);
this module restores PyTorch's global state afterwards so that other tests do not inherit it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import SimpleNamespace

import jupytext

from editions.reader import CHECK_TAG


def student_cells(path: Path) -> list[str]:
    """The sources of the chapter's code cells a student runs: all but the check cells."""
    return [
        c.source
        for c in jupytext.read(path).cells
        if c.cell_type == "code" and CHECK_TAG not in c.metadata.get("tags", [])
    ]


def run_chapter_code(path: Path) -> SimpleNamespace:
    """Execute the chapter's student cells in a fresh namespace; return it (attributes are the
    chapter's variables). A failing cell raises, naming the chapter and the cell."""
    import matplotlib
    import matplotlib.pyplot as plt
    import torch
    from IPython.core.inputtransformer2 import TransformerManager

    # Figures are drawn, never shown. (In this process only: an MPLBACKEND variable would reach
    # the kernels the other tests start, and stop them from capturing figures.)
    matplotlib.use("Agg")
    namespace: dict = {"__name__": "__main__"}
    transform = TransformerManager().transform_cell  # IPython syntax (magics) to Python
    saved = torch.get_default_dtype(), torch.get_num_threads(), torch.random.get_rng_state()
    try:
        for index, source in enumerate(student_cells(path)):
            code = compile(transform(source), f"{path.name}, code cell {index + 1}", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)
            plt.close("all")
    finally:
        torch.set_default_dtype(saved[0])
        torch.set_num_threads(saved[1])
        torch.random.set_rng_state(saved[2])
    return SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})
