"""The site's Sphinx features in _ext/site_*.py, unit by unit, without a book build.

The built site is checked in a browser by tests/test_site_browser.py.
"""

from __future__ import annotations

import itertools
import re

import pytest
import yaml
from docutils import nodes

import site_cheatsheet
import site_citations
import site_code_cells
import site_extension
import site_figures
import site_outline
from book import ROOT
from editions.bibliography import Bibliography
from lossutils import plotting
from lossutils.advice import TASKS, choose_loss


def test_every_feature_is_set_up_and_parallel_safe():
    class App:
        def __init__(self):
            self.calls = []

        def __getattr__(self, name):
            return lambda *args, **kwargs: self.calls.append(name)

    for name in site_extension.FEATURES:
        module = __import__(name)
        info = module.setup(App())
        assert info["parallel_read_safe"] and info["parallel_write_safe"], name


# -- the cheat sheet ------------------------------------------------------------------------------


def _cheatsheet_situations() -> list[dict]:
    text = (ROOT / "cheatsheet.md").read_text()
    body = re.search(r"```\{loss-cheatsheet\}\n(.*?)\n```", text, flags=re.S)[1]
    return yaml.safe_load(body)


def test_the_cheat_sheet_is_what_choose_loss_says():
    situations = _cheatsheet_situations()
    rows = site_cheatsheet.rows(situations)
    for situation, row in zip(situations, rows):
        arguments = dict(situation["choose_loss"])
        rec = choose_loss(arguments.pop("task"), **arguments)
        assert row["activation"] == rec.activation
        assert row["lossutils"].startswith(f"lu.{rec.loss}(")
        assert row["pytorch"].startswith(f"nn.{rec.pytorch}(")
        assert row["reason"] == rec.reason
    # Every task choose_loss knows has a row, and every row names a section to read.
    assert {s["choose_loss"]["task"] for s in situations} == set(TASKS)
    assert all(s.get("see") for s in situations)


def test_every_recommendation_choose_loss_can_make_can_be_written_as_pytorch():
    """A new argument in the advice (another engineer re-derives it) fails here, not silently on
    the page: the cheat sheet must learn to write it as a torch.nn argument."""
    grid = itertools.product(TASKS, [None, 1.5, 3, 10, 99, 100, 1000], [False, True], [True, False])
    seen = 0
    for task, imbalance, outliers, from_logits in grid:
        try:
            rec = choose_loss(task, imbalance=imbalance, outliers=outliers, from_logits=from_logits)
        except ValueError:
            continue  # a combination the advice refuses
        call = site_cheatsheet.pytorch_call(rec.pytorch, rec.kwargs)
        assert call.startswith(f"nn.{rec.pytorch}(")
        seen += 1
    assert seen > 20
    assert site_cheatsheet.pytorch_call("BCEWithLogitsLoss", {"w0": 1.0, "w1": 19.0}) == (
        "nn.BCEWithLogitsLoss(pos_weight=torch.tensor(19))"
    )
    with pytest.raises(site_cheatsheet.CheatsheetError, match=r"beta=0\.5"):
        site_cheatsheet.pytorch_call("SmoothL1Loss", {"beta": 0.5})


def test_a_malformed_situation_names_its_fields():
    with pytest.raises(site_cheatsheet.CheatsheetError, match="missing \\['mistake'\\]"):
        site_cheatsheet.rows([{"situation": "x", "choose_loss": {"task": "binary"}}])


# -- folded code ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, figure, has_output, show",
    [
        ("input", "Fig. 3.2", True, "Show the code for Fig. 3.2"),
        ("input", "", True, "Show the code"),
        ("all", "", True, "Show the code and its output"),
        ("all", "", False, "Show the code"),
        ("output", "Fig. 1.1", True, "Show Fig. 1.1"),
        ("output", "", True, "Show the output"),
    ],
)
def test_code_toggles_say_what_they_show(mode, figure, has_output, show):
    assert site_code_cells.labels(mode, figure, has_output) == (show, "Hide" + show[4:])


def test_solutions_lose_the_graders_markers_and_nothing_else():
    source = (
        "def f(x):\n    # BEGIN SOLUTION\n    return x  # END SOLUTION stays\n    # END SOLUTION\n"
    )
    block = nodes.literal_block(source, source)
    site_code_cells.strip_markers(block)
    assert block.astext() == "def f(x):\n    return x  # END SOLUTION stays\n"


# -- the outline: counting a chapter --------------------------------------------------------------


class exercise_enumerable_node(nodes.Element):  # noqa: N801 (sphinx-exercise's node names)
    pass


class solution_node(nodes.Element):  # noqa: N801
    pass


def _cell(code: str, hidden: bool = False) -> nodes.container:
    cell = nodes.container(nb_element="cell_code")
    if hidden:
        cell["hide_mode"] = "input"
    source = nodes.container(nb_element="cell_code_source")
    source += nodes.literal_block(code, code)
    cell += source
    return cell


def test_reading_counts_prose_visible_code_and_exercises():
    doc = nodes.section()
    doc += nodes.title("", "A title")  # 2 words
    doc += nodes.paragraph("", "Five words of prose here ", nodes.math("", "x^2"))  # 5 + 1
    doc += _cell("a = 1\n\nb = 2\n")  # 2 lines
    doc += _cell("hidden = 1\n", hidden=True)  # folded: not read
    doc += nodes.math_block("", "\\sum_i x_i")  # display math: not counted as words
    doc += exercise_enumerable_node("", nodes.paragraph("", "Not counted as reading"))
    doc += solution_node("", nodes.paragraph("", "prose solution"))
    doc += exercise_enumerable_node("", nodes.paragraph("", "Write code"))
    doc += solution_node("", _cell("def f(): pass"))
    reading = site_outline.count_reading(doc)
    assert reading == site_outline.Reading(words=8, code_lines=2, exercises=1, code_exercises=1)


# -- figures --------------------------------------------------------------------------------------


def test_the_build_and_lossutils_agree_where_stacked_figures_go():
    assert site_figures.STACKED_FIGURES_ENV == plotting.STACKED_FIGURES_ENV


# -- citations ------------------------------------------------------------------------------------


def test_bibliography_labels_are_the_author_year_of_the_citations():
    """The bibliography page labels an entry as the text and the reader notebooks cite it."""
    bibliography = Bibliography(ROOT / "references.bib")
    entries = sorted(bibliography._entries.values(), key=lambda e: e.key)
    labels = list(site_citations.AuthorYearLabelStyle().format_labels(entries))
    for entry, label in zip(entries, labels):
        assert f"({label})" == bibliography.parenthetical([entry.key]), entry.key
    assert "Huber, 1964" in labels


def test_two_entries_with_the_same_author_and_year_are_told_apart():
    from pybtex.database import Entry, Person

    def entry(title):
        return Entry(
            "article",
            fields={"year": "2020", "title": title},
            persons={"author": [Person("Ann Smith")]},
        )

    labels = list(site_citations.AuthorYearLabelStyle().format_labels([entry("a"), entry("b")]))
    assert labels == ["Smith, 2020a", "Smith, 2020b"]
