"""The course outline (_outline.yml): every chapter has its entry, and the rules that turn it into
the chapter-opening box, the landing page's table and map (editions/outline.py).

Fast: no book build. The box, the table and the map on the built site are checked by
tests/test_site_browser.py.
"""

from __future__ import annotations

import textwrap

import pytest

from book import ROOT, chapter_paths, toc_files
from editions.outline import (
    CODE_LINES_PER_MINUTE,
    MINUTES_PER_CODE_EXERCISE,
    MINUTES_PER_EXERCISE,
    WORDS_PER_MINUTE,
    Outline,
    OutlineError,
    Reading,
    format_minutes,
    inline_parts,
    layers,
    load_outline,
    minutes,
    opening_markdown,
    time_sentence,
    transitive_reduction,
)

CHAPTERS = [f for f in toc_files() if f.startswith("chapters/")]


def test_every_chapter_of_the_toc_has_an_entry_and_needs_only_earlier_chapters():
    """A new chapter fails here until _outline.yml says what it teaches and needs
    (CONTRIBUTING.md, "Adding a chapter")."""
    outline = load_outline()
    assert outline.problems(CHAPTERS) == []
    for name in CHAPTERS:
        entry = outline.for_doc(name)
        assert 2 <= len(entry.learn) <= 5, f"{name}: 3 to 5 outcomes (at most 5, at least 2)"


def test_every_entry_names_a_chapter_that_exists():
    """An entry may come before its chapter is in _toc.yml (a chapter on another branch), but
    not for a chapter that does not exist at all (a typo)."""
    files = {p.stem for p in (ROOT / "chapters").glob("*.md")}
    assert set(load_outline()) <= files
    assert {p.stem for p in chapter_paths()} <= set(load_outline())


def test_a_chapter_without_an_entry_is_reported_by_name():
    outline = load_outline()
    problems = outline.problems([*CHAPTERS, "chapters/a-new-chapter"])
    assert problems == [
        "chapters/a-new-chapter.md has no entry in _outline.yml: add what it teaches (learn) "
        "and what it needs first (needs) (CONTRIBUTING.md)"
    ]


def _outline(tmp_path, text: str) -> Outline:
    path = tmp_path / "_outline.yml"
    path.write_text(textwrap.dedent(text))
    return load_outline(path)


def test_prerequisites_must_come_earlier_in_the_toc(tmp_path):
    outline = _outline(
        tmp_path,
        """
        a: {short: A, learn: [x]}
        b: {short: B, learn: [y], needs: [c]}
        c: {short: C, learn: [z], needs: [a, gone]}
        """,
    )
    assert outline.problems(["chapters/a", "chapters/b", "chapters/c"]) == [
        "_outline.yml: b needs 'c', which comes after it in _toc.yml",
        "_outline.yml: c needs 'gone', which is not in _toc.yml",
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: {learn: [x]}", "a: short: expected a few words"),
        ("a: {short: A, learn: []}", "a: learn: expected at least one outcome"),
        ("a: {short: A, learn: x}", "a: learn: expected a list of non-empty strings, got 'x'"),
        ("a: {short: A, learn: [x], teaches: [y]}", r"a: unknown fields \['teaches'\]"),
        ("a: {short: A, learn: [x], needs: [1]}", "a: needs: expected a list of non-empty"),
        ("- a", "expected a mapping of chapter names, got list"),
    ],
)
def test_a_malformed_entry_names_the_chapter_and_the_field(tmp_path, text, message):
    with pytest.raises(OutlineError, match=message):
        _outline(tmp_path, text)


def test_reading_time_rule():
    # 2,000 words and 100 lines of code; 3 prose and 2 code exercises.
    reading = Reading(words=2000, code_lines=100, exercises=3, code_exercises=2)
    read = 2000 / WORDS_PER_MINUTE + 100 / CODE_LINES_PER_MINUTE
    work = 3 * MINUTES_PER_EXERCISE + 2 * MINUTES_PER_CODE_EXERCISE
    assert minutes(reading) == (5 * round(read / 5), 5 * round(work / 5))
    assert minutes(Reading(words=10)) == (5, 0)  # never "0 min" to read; no exercises, no time
    assert [format_minutes(m) for m in (25, 60, 80, 125)] == [
        "25 min",
        "1 h",
        "1 h 20 min",
        "2 h 5 min",
    ]
    assert time_sentence(Reading(words=2100, code_lines=130, exercises=4, code_exercises=2)) == (
        "About 25 min to read (2,100 words and 130 lines of code), plus about 1 h 10 min for "
        "its 6 exercises"
    )
    assert time_sentence(Reading(words=400, exercises=1)) == (
        "About 5 min to read (400 words), plus about 10 min for its 1 exercise"
    )


def test_the_box_in_markdown_for_the_reader_notebook():
    outline = load_outline()
    entry = outline["maximum-likelihood"]
    needs = {n: (str(i), f"https://site/{n}.html") for i, n in enumerate(entry.needs, start=3)}
    box = opening_markdown(entry, Reading(words=1800, code_lines=100, exercises=3), needs)
    lines = box.split("\n")
    assert all(line == ">" or line.startswith("> ") for line in lines)  # one block quote
    assert lines[0] == "> **In this chapter you will**"
    assert f"> - {entry.learn[0]}" in lines
    first = next(line for line in lines if "What you need first" in line)
    assert first.startswith("> **What you need first:** chapters [3](https://site/")
    assert first.endswith("; probability densities and logarithms.")
    assert box.endswith(
        "> **Time:** About 20 min to read (1,800 words and 100 lines of code), plus "
        "about 30 min for its 3 exercises."
    )
    first_chapter = opening_markdown(outline["what-is-a-loss"], None, {})
    assert (
        "**What you need first:** Python and NumPy; derivatives and the chain rule."
        in first_chapter
    )
    assert "Time" not in first_chapter


def test_the_map_draws_direct_prerequisites_in_rows(tmp_path):
    outline = _outline(
        tmp_path,
        """
        a: {short: A, learn: [x]}
        b: {short: B, learn: [x], needs: [a]}
        c: {short: C, learn: [x], needs: [a]}
        d: {short: D, learn: [x], needs: [a, b, c]}
        """,
    )
    order = ["a", "b", "c", "d"]
    assert layers(outline, order) == {"a": 0, "b": 1, "c": 1, "d": 2}
    # d needs a through b and c: no arrow from a to d.
    assert transitive_reduction(outline, order) == {
        "a": [],
        "b": ["a"],
        "c": ["a"],
        "d": ["b", "c"],
    }


def test_outcomes_may_hold_code_and_math_only():
    assert inline_parts("use `choose_loss` and check $\\log C$ first") == [
        ("text", "use "),
        ("code", "choose_loss"),
        ("text", " and check "),
        ("math", "\\log C"),
        ("text", " first"),
    ]
