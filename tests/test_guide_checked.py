"""'The guide, checked' (guide-checked.md): every row has a verdict, a glued number and a link;
the numbers it computes are the ones the chapters show.

The static tests read the page's source. The others read the values the whole-book build glued
(``jupyter_execute/<page>.glue.json``), so they need the book built (``slow``).
"""

from __future__ import annotations

import json
import re

import pytest

from book import ROOT

PAGE = ROOT / "guide-checked.md"
VERDICTS = {"holds", "holds with a condition", "corrected"}
GLUE = re.compile(r"\{glue:text\}`(?:(?P<doc>[^`:]+)::)?(?P<key>[A-Za-z0-9_]+)(?::[^`]*)?`")
SPREAD_PARTS = ("mean", "min", "max", "n")


def _rows() -> list[list[str]]:
    """The cells of the 'At a glance' table, one list per claim."""
    table = PAGE.read_text().split("## At a glance", 1)[1].split("\n\n", 2)[1]
    lines = [line for line in table.splitlines() if line.startswith("|")][2:]  # after the header
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def _glued_names(text: str) -> set[str]:
    """Every name a source glues, with the four names each glue_spread call defines."""
    names = set(re.findall(r"glue\(\s*[\"']([A-Za-z0-9_]+)[\"']", text))
    for name in re.findall(r"glue_spread\(\s*[\"']([A-Za-z0-9_]+)[\"']", text):
        names |= {f"{name}_{part}" for part in SPREAD_PARTS}
    return names


def test_every_row_has_a_section_a_quote_a_verdict_a_glued_number_and_a_link():
    rows = _rows()
    assert len(rows) >= 15
    for section, claim, verdict, number, shown_in in rows:
        assert re.fullmatch(r"\d(\.\d)?(, \d(\.\d)?)*", section), f"no section number: {section!r}"
        assert claim, "a row without the guide's claim"
        assert verdict in VERDICTS, f"{claim[:40]}: verdict {verdict!r}"
        assert GLUE.search(number), f"{claim[:40]}: the deciding number is not glued: {number!r}"
        # Outside glue roles and math (where the inputs of a computation are written), no
        # decimal number: the deciding number is computed, never typed.
        prose = re.sub(r"\$[^$]*\$", "", GLUE.sub("", number))
        assert not re.search(r"\d+\.\d+", prose), (
            f"{claim[:40]}: a number typed outside a glue role: {number!r}"
        )
        assert re.fullmatch(r"\{ref\}`[a-z0-9-]+`(, \{ref\}`[a-z0-9-]+`)*", shown_in), (
            f"{claim[:40]}: no link: {shown_in!r}"
        )


@pytest.mark.parametrize(
    "claim",
    [
        "1.0",
        "0.1053",
        "0.417",
        "slower learning near optimum",
        "Large gradients from MSE",
        "MSE + Sigmoid",
        "hard examples",
        "log-softmax",
        "multi-label BCE",
        "Adam",
        "pairing table",
    ],
)
def test_the_page_checks_the_claims_the_issue_names(claim):
    assert any(claim in row[1] for row in _rows()), f"no row checks {claim!r}"


def test_a_number_read_from_a_chapter_has_a_format():
    """myst-nb splits the format off at the last colon: without one, 'doc::key' loses its key."""
    for match in GLUE.finditer(PAGE.read_text()):
        if match["doc"]:
            assert re.search(r"::[A-Za-z0-9_]+:[^`]+`$", match[0]), f"no format: {match[0]}"


def test_every_glued_name_is_glued_on_the_page_or_in_the_chapter_it_names():
    text = PAGE.read_text()
    local = _glued_names(text)
    for match in GLUE.finditer(text):
        doc, key = match["doc"], match["key"]
        source = (ROOT / doc).read_text() if doc else text
        assert key in (_glued_names(source) if doc else local), (
            f"{doc or 'this page'} never glues {key!r}"
        )


# -- against the chapters, in the built book -------------------------------------------------------

#: (this page's name, chapter, the chapter's name, relative tolerance): the same number shown twice.
SHARED = [
    ("gc_mse_example", "regression-losses", "reg_ex_mse", 0.0),
    ("gc_bce_example", "binary-cross-entropy", "bce_guide", 1e-12),
    ("gc_bce_example_32", "binary-cross-entropy", "bce_guide_torch32", 0.0),
    ("gc_ce_example", "multiclass-cross-entropy", "mce_guide", 1e-6),  # float32 here, float64 there
    ("gc_clip_value", "binary-cross-entropy", "bce_z20_wrong_clip32", 1e-12),
    ("gc_clip_exact", "binary-cross-entropy", "bce_z20_wrong_exact", 1e-12),
    ("gc_mse_sigmoid_max", "losses-and-activations", "act_mse_max_grad", 1e-15),
    ("gc_focal_w09", "losses-and-activations", "act_focal_w_09", 1e-12),
    ("gc_focal_above", "losses-and-activations", "act_focal_p_above", 1e-12),
    ("gc_adam_step", "losses-and-activations", "act_adam40", 1e-6),
]


def _glue_json(executed, doc: str) -> dict[str, float]:
    data = json.loads((executed / f"{doc}.glue.json").read_text())
    return {
        name: float(next(iter(value["data"].values())))
        for name, value in data.items()
        if "text/plain" in value["data"]
        and re.fullmatch(r"[-+.\deE]+", value["data"]["text/plain"])
    }


@pytest.mark.parametrize("ours, chapter, theirs, rtol", SHARED, ids=[s[0] for s in SHARED])
def test_a_number_shown_here_and_in_a_chapter_is_the_same(built_book, ours, chapter, theirs, rtol):
    _, html = built_book
    executed = html.parent / "jupyter_execute"
    page, other = _glue_json(executed, "guide-checked"), _glue_json(executed, f"chapters/{chapter}")
    assert abs(page[ours] - other[theirs]) <= rtol * abs(other[theirs]), (
        ours,
        page[ours],
        theirs,
        other[theirs],
    )


def test_the_built_page_shows_every_number_it_reads_from_a_chapter(built_book):
    """Cross-document glue resolved: no role left unrendered, every row's number on the page."""
    _, html = built_book
    page = (html / "guide-checked.html").read_text()
    assert (
        "{glue" not in page
        and "::" not in re.sub(r"<[^>]+>", "", page).split("The computations")[0]
    )
    assert page.count('class="pasted-text"') >= len(GLUE.findall(PAGE.read_text()))
