"""lossutils.book.glue writes what myst_nb.glue writes, minus NumPy's scalar reprs."""

from __future__ import annotations

import numpy as np
import pytest

import lossutils.book as book


def _captured(monkeypatch, module, attribute, glue_fn, *args, **kwargs):
    calls = []
    monkeypatch.setattr(module, attribute, lambda *a, **k: calls.append((a, k)))
    glue_fn(*args, **kwargs)
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("value", [0.125, 3, "text", [1, 2]])
@pytest.mark.parametrize("display", [True, False])
def test_same_output_as_myst_nb(monkeypatch, value, display):
    import IPython.display
    import myst_nb.ext.glue as reference

    ours = _captured(
        monkeypatch, IPython.display, "display", book.glue, "x", value, display=display
    )
    theirs = _captured(
        monkeypatch, reference, "ipy_display", reference.glue, "x", value, display=display
    )
    assert ours == theirs


def test_numpy_scalars_are_glued_as_python_numbers(monkeypatch):
    import IPython.display

    (bundle,), kwargs = _captured(
        monkeypatch, IPython.display, "display", book.glue, "x", np.float64(0.5), display=False
    )
    assert bundle == {book.GLUE_PREFIX + "text/plain": "0.5"}
    assert kwargs["metadata"]["scrapbook"] == {"name": "x", "mime_prefix": book.GLUE_PREFIX}
    (bundle,), _ = _captured(
        monkeypatch, IPython.display, "display", book.glue, "n", np.array(7), display=True
    )
    assert bundle == {"text/plain": "7"}


def test_glue_spread_glues_mean_min_max_and_count(monkeypatch):
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append((a, k)))
    book.glue_spread("gap", np.array([[3.0, 1.0], [2.0, 6.0]]))
    glued = {
        k["metadata"]["scrapbook"]["name"]: a[0][book.GLUE_PREFIX + "text/plain"] for a, k in calls
    }
    assert glued == {"gap_mean": "3.0", "gap_min": "1.0", "gap_max": "6.0", "gap_n": "4"}


@pytest.mark.parametrize("values", [[], [1.0, float("nan")]])
def test_glue_spread_refuses_no_values_or_non_finite_ones(values):
    with pytest.raises(ValueError, match="values: expected finite numbers"):
        book.glue_spread("gap", values)
