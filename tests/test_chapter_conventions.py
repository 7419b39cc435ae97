"""Every chapter follows CONTRIBUTING.md: exercises, autograder markup, figures, glue, seeds.

These read the chapter sources only (no execution), so they are fast.
"""

from __future__ import annotations

import re

import jupytext
import pytest

from book import chapter_paths

CHAPTERS = chapter_paths()
IDS = [p.stem for p in CHAPTERS]


def _cells(path):
    return jupytext.read(path).cells


def _tags(cell):
    return set(cell.metadata.get("tags", []))


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_has_the_template_sections(path):
    text = path.read_text()
    headings = [h.lower() for h in re.findall(r"^## (.+)$", text, flags=re.M)]
    assert "summary" in headings, f"{path.name}: no '## Summary'"
    assert "exercises" in headings, f"{path.name}: no '## Exercises'"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_exercises_have_labels_and_solutions(path):
    text = path.read_text()
    labels = re.findall(r"\{exercise\}\s*\n:label: (\S+)", text)
    assert len(labels) >= 3, f"{path.name}: {len(labels)} exercises, expected at least 3"
    for label in labels:
        assert label.startswith("ex-"), label
        has_solution = re.search(r"\{solution(?:-start)?\} " + re.escape(label) + r"\s*\n:class: dropdown", text)
        assert has_solution, f"{path.name}: exercise {label} has no dropdown solution"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_code_exercises_follow_the_autograder_markup(path):
    cells = _cells(path)
    solutions = [c for c in cells if "solution" in _tags(c)]
    tests = [c for c in cells if "test" in _tags(c)]
    assert solutions, f"{path.name}: no autograded code exercise"
    assert len(tests) >= len(solutions)
    for cell in solutions:
        assert "hide-cell" in _tags(cell)
        assert "# BEGIN SOLUTION" in cell.source and "# END SOLUTION" in cell.source
    for cell in tests:
        assert "remove-cell" in _tags(cell)
        assert isinstance(cell.metadata.get("grade_id"), str) and cell.metadata["grade_id"]
        assert isinstance(cell.metadata.get("points"), int) and cell.metadata["points"] > 0
        assert "assert" in cell.source


def test_grade_ids_are_unique_across_the_book():
    ids = [c.metadata["grade_id"] for p in CHAPTERS for c in _cells(p) if "grade_id" in c.metadata]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_figure_cell_has_alt_text_and_a_caption(path):
    for cell in _cells(path):
        if cell.cell_type == "code" and "new_figure(" in cell.source and "def " not in cell.source:
            meta = cell.metadata.get("mystnb", {})
            alt = meta.get("image", {}).get("alt", "")
            assert len(alt) >= 30, f"{path.name}: figure cell without a descriptive alt text:\n{cell.source[:200]}"
            assert meta.get("figure", {}).get("caption"), f"{path.name}: figure cell without a caption"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_checks_itself_against_pytorch(path):
    hidden = [c.source for c in _cells(path) if "remove-cell" in _tags(c)]
    assert any("torch" in src and "assert" in src for src in hidden), (
        f"{path.name}: no hidden cell asserts agreement with PyTorch")


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_numbers_in_prose_are_glued(path):
    """Every glue role in the text refers to a name that a code cell glues."""
    text = path.read_text()
    used = set(re.findall(r"\{glue:(?:text|md)?\}`([A-Za-z0-9_]+)", text))
    defined = set(re.findall(r"glue\(\s*[\"']([A-Za-z0-9_]+)[\"']", text))
    assert used, f"{path.name}: quotes no computed number"
    assert used <= defined, f"{path.name}: glued names never defined: {sorted(used - defined)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_randomness_is_seeded(path):
    code = "\n".join(c.source for c in _cells(path) if c.cell_type == "code")
    assert "np.random.rand" not in code and "np.random.seed" not in code, "use np.random.default_rng(seed)"
    if re.search(r"torch\.(rand|randn|randint|nn\.Linear|nn\.Sequential)", code):
        assert "torch.manual_seed(" in code
