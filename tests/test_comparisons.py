"""Experiments that compare methods hold up (CONTRIBUTING.md, "Experiments that compare methods").

A chapter that trains or samples and then says which method won, or by how much, must show that
the result holds: run to convergence (or say it did not) over at least five seeds, with the
spread in the text; or call the run a single-run illustration and draw no rule from it; or
assert a result that no seed can change (a closed form, an exact minimiser). The code cell that
runs the comparison says which, in its metadata:

    comparison:
      seeds: 5            # batched over 5 seeds; the text gives the spread
      converged: true     # or false, and the text says it has not converged

    comparison:
      single_run: "what the run illustrates"   # the text says "single-run illustration"

    comparison:
      exact: "why no seed can change it"        # e.g. "MSE's minimiser is the mean"

These tests read the sources only. They find the comparisons themselves: a section (a ``##`` or
``###`` heading and what follows it) whose code trains or draws random data and whose prose
compares (``times faster``, ``better than``, ``the closest``, ...) must carry a marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import jupytext
import pytest

from book import chapter_paths
from editions.reader import CHECK_TAG

CHAPTERS = chapter_paths()
IDS = [p.stem for p in CHAPTERS]

KEY = "comparison"
KINDS = ("seeds", "single_run", "exact")
MIN_SEEDS = 5

#: Code that runs an experiment: it draws random data, seeds PyTorch, takes gradient steps, or
#: calls a function that trains or fits.
EXPERIMENT = re.compile(
    r"default_rng\(|torch\.manual_seed\(|\.backward\(\)|autograd\.grad\(|"
    r"for \w+ in range\([^)]*steps|\b(train\w*|fit_\w+|\w*gradient_descent|gd_\w+|"
    r"adam)\("
)
#: Prose that ranks methods or states a ratio between them.
COMPARATIVE = re.compile(
    r"times\s+(as\s+many|as\s+much|as\s+large|faster|slower|closer|further|tighter|larger|"
    r"smaller|weaker|stronger|higher|lower|more|fewer|less)\b|\b\w+er\s+than\b|"
    r"\bmore\s+\w+\s+than\b|\b(outperforms?|outperformed|beats?|beat|the\s+closest|wins|won|"
    r"better|worse|drops?\s+from|trades|(lowers|raises|improves|hurts|reduces|cuts|costs)\s+"
    r"(the|its|accuracy))\b",
    re.IGNORECASE,
)
#: Sections whose code is not an experiment (autograded answers, their checks).
NOT_EXPERIMENTS = {"Exercises"}
SINGLE_RUN = re.compile(r"single-run\s+illustration")
NOT_CONVERGED = re.compile(
    r"not\s+(yet\s+)?(fully\s+)?converged|(does|do|did)\s+not\s+converge|"
    r"before\s+(it\s+|they\s+)?converge|not\s+to\s+convergence|"
    r"short\s+of\s+convergence|\bneither\b[^.]*\bconverge",
    re.IGNORECASE,
)
GLUE_ROLE = re.compile(r"\{glue:(?:text|md)?\}`")
SEEDS_WORD = re.compile(r"\b(seeds?|data sets|samples)\b")
HEADING = re.compile(r"^#{2,3} ", re.MULTILINE)


@dataclass
class Section:
    title: str
    prose: str = ""
    code: list = field(default_factory=list)  # (source, metadata) of each code cell


def sections(text: str) -> list[Section]:
    """A MyST chapter as sections: each ``##``/``###`` heading starts one (the title's is first)."""
    found = [Section("(before the first section)")]
    for cell in jupytext.reads(text, fmt="md:myst").cells:
        if cell.cell_type == "code":
            if CHECK_TAG not in cell.metadata.get(
                "tags", []
            ):  # checks assert; they run nothing new
                found[-1].code.append((cell.source, cell.metadata))
            continue
        pieces = HEADING.split(cell.source)
        found[-1].prose += pieces[0]
        for piece in pieces[1:]:
            title, _, body = piece.partition("\n")
            found.append(Section(title.strip(), body))
    return found


def markers(section: Section) -> list[dict]:
    return [meta[KEY] for _, meta in section.code if KEY in meta]


def problems(text: str) -> list[str]:
    """What is wrong with the comparisons of one chapter's source, one line per problem."""
    found = []
    for sec in sections(text):
        where = f"section {sec.title!r}"
        runs = sec.title not in NOT_EXPERIMENTS and any(
            EXPERIMENT.search(src) for src, _ in sec.code
        )
        compares = COMPARATIVE.search(sec.prose)
        if runs and compares and not markers(sec):
            found.append(
                f"{where} runs an experiment and compares ({compares.group(0)!r}) but no code "
                f"cell carries a `{KEY}` marker (seeds, single_run or exact)"
            )
        for marker in markers(sec):
            kinds = [k for k in KINDS if k in marker] if isinstance(marker, dict) else []
            if len(kinds) != 1:
                found.append(f"{where}: `{KEY}` must have exactly one of {KINDS}, got {marker!r}")
                continue
            (kind,) = kinds
            if kind == "seeds":
                seeds = marker["seeds"]
                if not isinstance(seeds, int) or seeds < MIN_SEEDS:
                    found.append(f"{where}: seeds must be an integer >= {MIN_SEEDS}, got {seeds!r}")
                if not isinstance(marker.get("converged"), bool):
                    found.append(f"{where}: a seeded comparison says `converged: true` or `false`")
                elif not marker["converged"] and not NOT_CONVERGED.search(sec.prose):
                    found.append(
                        f"{where}: `converged: false`, but the text never says the runs have "
                        "not converged"
                    )
                if not (SEEDS_WORD.search(sec.prose) and GLUE_ROLE.search(sec.prose)):
                    found.append(
                        f"{where}: the text must give the spread over seeds (glued numbers and "
                        "the word 'seeds', 'data sets' or 'samples')"
                    )
            elif not (isinstance(marker[kind], str) and marker[kind].strip()):
                found.append(f"{where}: `{kind}` needs a sentence saying why")
            elif kind == "single_run" and not SINGLE_RUN.search(sec.prose):
                found.append(
                    f"{where}: a single run must be called a 'single-run illustration' in its text"
                )
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_comparison_holds_over_seeds_or_says_what_it_is(path):
    assert problems(path.read_text()) == []


def _chapter(prose: str, meta: str = "") -> str:
    """A tiny chapter: one section with a training loop and the given prose."""
    return (
        "---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n# T\n\n## Experiment\n\n"
        f"```{{code-cell}} ipython3\n{meta}for step in range(steps):\n    loss.backward()\n```\n\n{prose}\n"
    )


def test_the_detector_finds_an_unmarked_comparison_and_accepts_a_marked_one():
    unmarked = _chapter("MSE needs 40 times as many steps as BCE.")
    assert any("no code cell carries" in p for p in problems(unmarked))
    seeded = _chapter(
        "Over {glue:text}`x_n` seeds MSE needs 40 times as many steps.",
        "---\ncomparison:\n  seeds: 5\n  converged: true\n---\n",
    )
    assert problems(seeded) == []
    assert problems(_chapter("MSE is the same as BCE here.")) == []  # no comparison, no marker


@pytest.mark.parametrize(
    "meta, expected",
    [
        ("comparison:\n  seeds: 3\n  converged: true\n", "seeds must be an integer >= 5"),
        ("comparison:\n  seeds: 5\n", "says `converged: true` or `false`"),
        ("comparison:\n  seeds: 5\n  converged: false\n", "never says the runs have not converged"),
        ("comparison:\n  single_run: one data set\n", "single-run illustration"),
        ("comparison:\n  exact: ''\n", "needs a sentence"),
        ("comparison:\n  seeds: 5\n  exact: closed form\n", "exactly one of"),
    ],
)
def test_the_marker_is_checked(meta, expected):
    text = _chapter("Over {glue:text}`x_n` seeds MSE is better than BCE.", f"---\n{meta}---\n")
    assert any(expected in p for p in problems(text)), problems(text)
