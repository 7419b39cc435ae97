"""Every chapter follows CONTRIBUTING.md: set-up, check cells, line length, exercises, autograder
markup, figures, glue, seeds.

These read the chapter sources only (no execution), so they are fast. That visible code never
depends on a check cell is proved by running the chapter without them (tests/test_notebooks.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

from book import chapter_paths
from coursework.markup import read_exercises
from coursework.static import analyse, bound_names, module_aliases
from editions.reader import CHECK_TAG

CHAPTERS = chapter_paths()
IDS = [p.stem for p in CHAPTERS]
CLAIMS = Path(__file__).parent / "claims"

#: The longest code line a student may meet (Black's and Ruff's default width).
MAX_LINE = 88
#: The longest check cell, in non-blank lines: one claim and the numbers it glues.
MAX_CHECK_LINES = 15
#: Calls that change how later code behaves, far from where they are made.
GLOBAL_SETTINGS = re.compile(
    r"torch\.set_default_dtype|torch\.set_num_threads|torch\.manual_seed|"
    r"torch\.use_deterministic_algorithms|np\.random\.seed|np\.seterr|"
    r"np\.set_printoptions|torch\.set_printoptions|warnings\.(filterwarnings|"
    r"simplefilter)|rcParams|plt\.style\.use"
)
HIDDEN_TAGS = {"remove-cell", "remove-input", "remove-output"}
#: The calls that glue numbers (lossutils.book): a check cell may end with one.
GLUES = {"glue", "glue_spread"}
#: The names lossutils.book.glue_spread("x", values) glues: x_mean, x_min, x_max, x_n.
SPREAD_PARTS = ("mean", "min", "max", "n")


def _cells(path):
    return jupytext.read(path).cells


def _tags(cell):
    return set(cell.metadata.get("tags", []))


def _code(path):
    return [c for c in _cells(path) if c.cell_type == "code"]


def _is_check(cell):
    return CHECK_TAG in _tags(cell)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_imports_and_set_up_come_first_and_visible(path):
    """QuantEcon's way: the first code cell, shown, imports what the chapter needs."""
    cells = _cells(path)
    first = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    setup, before = cells[first], cells[first - 1].source if first else ""
    assert not _tags(setup) & (HIDDEN_TAGS | {"hide-input", "hide-cell", CHECK_TAG}), (
        f"{path.name}: the set-up cell is hidden"
    )
    assert re.search(r"^(import|from) ", setup.source, flags=re.M), (
        f"{path.name}: the first code cell imports nothing"
    )
    assert "We'll need the following imports" in before, (
        f'{path.name}: introduce the set-up cell with "We\'ll need the following imports"'
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_hidden_cells_are_check_cells_or_autograder_tests(path):
    for cell in _code(path):
        hidden = _tags(cell) & HIDDEN_TAGS
        if _is_check(cell) or "test" in _tags(cell):
            assert hidden == {"remove-cell"}, (
                f"{path.name}: tag check and test cells remove-cell:\n{cell.source[:200]}"
            )
        else:
            assert not hidden, (
                f"{path.name}: a hidden cell that is neither a check (tags: [check, "
                f"remove-cell]) nor an autograder test:\n{cell.source[:200]}"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_check_cells_are_short_and_only_check_or_glue(path):
    """A check cell asserts one claim and glues its numbers: short, no helpers, nothing shown."""
    for cell in filter(_is_check, _code(path)):
        lines = [line for line in cell.source.splitlines() if line.strip()]
        where = f"{path.name}: check cell starting {lines[0][:70]!r}"
        assert len(lines) <= MAX_CHECK_LINES, (
            f"{where}: {len(lines)} lines (at most {MAX_CHECK_LINES}); split it by claim, or move a "
            "re-run of an experiment into tests/claims/"
        )
        assert "assert " in cell.source or "glue(" in cell.source, (
            f"{where}: neither asserts nor glues"
        )
        assert not re.search(r"^\s*(def|class) ", cell.source, flags=re.M), (
            f"{where}: defines a function or class; helpers belong in visible code or in tests/"
        )
        last = ast.parse(cell.source).body[-1]
        shows = isinstance(last, ast.Expr) and not (
            isinstance(last.value, ast.Call) and ast.unparse(last.value.func) in GLUES
        )
        assert not shows and not re.search(r"\b(print|display)\(", cell.source), (
            f"{where}: shows something; a check cell's output is never seen"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_only_check_cells_glue(path):
    """Reader notebooks drop the check cells, and with them every glue call."""
    for cell in _code(path):
        if not _is_check(cell):
            assert not re.search(r"\bglue\b", cell.source), (
                f"{path.name}: glue in a visible cell:\n{cell.source[:200]}"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_visible_code_fits_88_columns(path):
    """Every code line a student can see, in any edition, fits the usual 88 columns."""
    long = [
        f"{len(line)}: {line}"
        for c in _code(path)
        if not _is_check(c)
        for line in c.source.splitlines()
        if len(line) > MAX_LINE
    ]
    assert long == [], f"{path.name}: code lines over {MAX_LINE} characters:\n" + "\n".join(long)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_global_settings_are_visible_and_explained(path):
    """Nothing changes global behaviour in a hidden cell; a visible change says why in a comment."""
    for cell in _code(path):
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if not GLOBAL_SETTINGS.search(line):
                continue
            assert not _is_check(cell), (
                f"{path.name}: a check cell changes global state: {line.strip()}"
            )
            explained = "#" in line or (i > 0 and lines[i - 1].strip().startswith("#"))
            assert explained, (
                f"{path.name}: say in a comment why this global setting is needed: {line.strip()}"
            )


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
        has_solution = re.search(
            r"\{solution(?:-start)?\} " + re.escape(label) + r"\s*\n:class: dropdown", text
        )
        assert has_solution, f"{path.name}: exercise {label} has no dropdown solution"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_code_exercises_follow_the_autograder_markup(path):
    """CONTRIBUTING's "Exercise markup", as the coursework reads it: answer and test cells share a
    grade_id, tests have points, a visibility and a message on every assert, no demo code after
    # END SOLUTION (read_exercises names every broken rule)."""
    exercises = read_exercises(jupytext.read(path), path.name)
    assert exercises, f"{path.name}: no autograded code exercise"
    for exercise in exercises.values():
        cell = _cells(path)[exercise.cell]
        assert "hide-cell" in _tags(cell), (
            f"{exercise.grade_id}: the solution is folded on the site"
        )
        assert exercise.functions, f"{exercise.grade_id}: the answer defines no function to grade"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_exercises_forbid_what_does_them_in_one_call(path):
    """A test compares an answer with lossutils and PyTorch, so an answer that calls them passes
    in one line: every exercise forbids torch and lossutils unless the exercise asks for it (its
    reference solution uses it, as a torch.autograd.Function must). The reference solutions obey
    their own rules."""
    nb = jupytext.read(path)
    aliases = module_aliases(
        [c.source for c in nb.cells if c.cell_type == "code" and "solution" not in _tags(c)]
    )
    for exercise in read_exercises(nb, path.name).values():
        for module in ("torch", "lossutils"):
            asks_for_it = analyse(exercise.solution, forbid=(module,), aliases=aliases).forbidden
            assert asks_for_it or module in exercise.forbid, f"{exercise.grade_id}: forbid {module}"
        analysis = analyse(exercise.solution, forbid=exercise.forbid, aliases=aliases)
        assert analysis.syntax_error is None and analysis.forbidden == (), (
            f"{exercise.grade_id}: the reference solution breaks its own rules: {analysis.forbidden}"
        )
        assert analysis.flags == (), (
            f"{exercise.grade_id}: the grader would flag the reference: {analysis.flags}"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_test_cells_leave_the_chapters_names_alone(path):
    """Readers run a test cell in the chapter's namespace (a self-check), and tests/claims reads
    that namespace: a test must not rebind a name the chapter's claims read."""
    claims = CLAIMS / f"test_{path.stem.replace('-', '_')}.py"
    read = set(re.findall(r"\bch\.(\w+)", claims.read_text())) if claims.is_file() else set()
    for cell in _code(path):
        if "test" in _tags(cell):
            clash = set(bound_names(cell.source)) & read
            assert not clash, (
                f"{path.name}: {cell.metadata.get('grade_id')} rebinds {sorted(clash)}"
            )


def test_grade_ids_are_unique_across_the_book():
    """One grade id per exercise (its answer cell and its tests share it), never two exercises."""
    ids = [gid for p in CHAPTERS for gid in read_exercises(jupytext.read(p), p.name)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_figure_cell_has_alt_text_and_a_caption(path):
    for cell in _cells(path):
        if cell.cell_type == "code" and "new_figure(" in cell.source and "def " not in cell.source:
            meta = cell.metadata.get("mystnb", {})
            alt = meta.get("image", {}).get("alt", "")
            assert len(alt) >= 30, (
                f"{path.name}: figure cell without a descriptive alt text:\n{cell.source[:200]}"
            )
            assert meta.get("figure", {}).get("caption"), (
                f"{path.name}: figure cell without a caption"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_explorer_is_a_named_figure_with_a_caption_that_says_what_to_try(path):
    """An explorer (lossutils.explore) carries its alt text in the code (Explorer checks it) and
    its caption in the cell's metadata, like every figure; the caption tells the reader what to
    move and what to watch, and the cell shows one explorer, folded like figure code."""
    for cell in _cells(path):
        if cell.cell_type != "code" or not re.search(r"\bExplorer\(", cell.source):
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        caption = figure.get("caption", "")
        assert figure.get("name", "").startswith("fig-") and caption, (
            f"{path.name}: explorer without a named figure and caption:\n{cell.source[:200]}"
        )
        assert re.search(r"\b(drag|move|slide|try)\b", caption, re.I), (
            f"{path.name}: the caption of {figure['name']} does not say what to try: {caption!r}"
        )
        assert "hide-input" in cell.metadata.get("tags", []), f"{figure['name']}: not folded"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_checks_itself_against_pytorch(path):
    checks = [c.source for c in _code(path) if _is_check(c)]
    assert any("torch" in src and "assert" in src for src in checks), (
        f"{path.name}: no check cell asserts agreement with PyTorch"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_numbers_in_prose_are_glued(path):
    """Every glue role in the text refers to a name that a code cell glues."""
    text = path.read_text()
    used = set(re.findall(r"\{glue:(?:text|md)?\}`([A-Za-z0-9_]+)", text))
    defined = set(re.findall(r"glue\(\s*[\"']([A-Za-z0-9_]+)[\"']", text))
    defined |= {
        f"{name}_{part}"
        for name in re.findall(r"glue_spread\(\s*[\"']([A-Za-z0-9_]+)[\"']", text)
        for part in SPREAD_PARTS
    }
    assert used, f"{path.name}: quotes no computed number"
    assert used <= defined, f"{path.name}: glued names never defined: {sorted(used - defined)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_randomness_is_seeded(path):
    code = "\n".join(c.source for c in _cells(path) if c.cell_type == "code")
    assert "np.random.rand" not in code and "np.random.seed" not in code, (
        "use np.random.default_rng(seed)"
    )
    if re.search(r"torch\.(rand|randn|randint|nn\.Linear|nn\.Sequential)", code):
        assert "torch.manual_seed(" in code
