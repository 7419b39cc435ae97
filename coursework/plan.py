"""The run plan of one submitted notebook: which code the kernel runs, in which order.

Everything comes from the instructor's source except the answers: the set-up, the demo cells,
the tests. From a submission the grader takes only the answer cells, matched by
``metadata.coursework.answer`` (which released notebooks carry) or, failing that, by the
function the exercise defines, so deleted, moved or edited cells do not matter.

The steps, in the source's order: the prelude (:mod:`coursework.kernel_helper` loaded under a
fresh random name), each instructor cell, a snapshot of the libraries just before the first
answer, then each answer and its tests. An answer that does not parse, uses a forbidden module
or is missing is not run, and neither are its tests; the static finding is their outcome.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from coursework import static
from coursework.assignment import Assignment, SourceNotebook
from coursework.markup import CHECK_TAG, Exercise, Test, defined_functions, is_answer, is_test, tags

#: The libraries whose attributes are restored before every test (and imported before any
#: answer runs, when the notebook's own code imports them).
RESTORED = ("builtins", "math", "numpy", "lossutils", "torch")
HELPER_SOURCE = Path(__file__).with_name("kernel_helper.py")
#: Cells the book needs and grading does not.
SKIPPED_TAGS = {CHECK_TAG, "colab-setup"}


@dataclass(frozen=True)
class Answer:
    """A student's answer to one exercise, as found in the submission."""

    source: str
    found_by: str  # "metadata" or "function"


@dataclass
class Step:
    """One execution in the kernel."""

    kind: str  # prelude, setup, snapshot, answer or test
    code: str
    cell: int | None = None  # the source cell it comes from
    exercise: Exercise | None = None
    test: Test | None = None
    marker: str | None = None  # tests only: printed after the test's code completed


@dataclass
class Plan:
    steps: list[Step]
    analyses: dict[str, static.Analysis] = field(default_factory=dict)
    answers: dict[str, Answer | None] = field(default_factory=dict)


def find_answers(submission: NotebookNode, exercises: list[Exercise]) -> dict[str, Answer | None]:
    """Each exercise's answer in a submission: the cells whose ``metadata.coursework.answer`` is
    its grade id (joined, in order), else the last code cell defining its function."""
    found: dict[str, Answer | None] = {}
    code_cells = [c for c in submission.get("cells", []) if c.get("cell_type") == "code"]
    for exercise in exercises:
        marked = [c for c in code_cells if _mark(c) == exercise.grade_id]
        if marked:
            found[exercise.grade_id] = Answer("\n\n".join(_text(c) for c in marked), "metadata")
            continue
        defining = (
            [c for c in code_cells if set(exercise.functions) & set(_defined(_text(c)))]
            if exercise.functions
            else []
        )
        found[exercise.grade_id] = Answer(_text(defining[-1]), "function") if defining else None
    return found


def _mark(cell: NotebookNode):
    """The grade id in a cell's ``metadata.coursework.answer``, if it is well formed."""
    mark = cell.get("metadata", {}).get("coursework")
    return mark.get("answer") if isinstance(mark, dict) else None


def _text(cell: NotebookNode) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _defined(source: str) -> tuple[str, ...]:
    try:
        return defined_functions(static.to_python(source))
    except Exception:  # IPython's transformer rejects some broken input outright
        return ()


def _call(helper: str, function: str, *args) -> str:
    arguments = ", ".join(json.dumps(a) if not isinstance(a, str) else repr(a) for a in args)
    return f'__import__("sys").modules[{helper!r}].{function}({arguments})'


def _prelude(helper: str) -> str:
    return "\n".join(
        [
            "def _coursework_install():",
            "    import builtins, sys, types",
            f"    module = types.ModuleType({helper!r})",
            "    module.__dict__['__builtins__'] = dict(vars(builtins))  # immune to patched builtins",
            f"    exec(compile({HELPER_SOURCE.read_text()!r}, '<coursework>', 'exec'), module.__dict__)",
            f"    sys.modules[{helper!r}] = module",
            f"    module.install(get_ipython().user_ns, {list(RESTORED)!r})",
            "_coursework_install()",
            "del _coursework_install",
        ]
    )


def build(source: SourceNotebook, submission: NotebookNode, assignment: Assignment) -> Plan:
    """The steps that grade ``submission`` against ``source``, with fresh random markers."""
    helper = f"_coursework_{secrets.token_hex(8)}"
    graded = {e.grade_id: e for e in source.exercises}
    answers = find_answers(submission, source.exercises)
    own_code = [
        c.source
        for c in source.notebook.cells
        if c.cell_type == "code" and not (tags(c) & SKIPPED_TAGS) and not is_answer(c)
    ]
    aliases = static.module_aliases(own_code)
    preload = sorted({m.split(".")[0] for m in aliases.values()} & set(RESTORED) - {"builtins"})
    plan = Plan([Step("prelude", _prelude(helper))], answers=answers)
    snapshotted = False
    for i, cell in enumerate(source.notebook.cells):
        if cell.cell_type != "code" or tags(cell) & SKIPPED_TAGS:
            continue
        gid = cell.metadata.get("grade_id")
        if is_answer(cell) and gid in graded:
            if not snapshotted:
                imports = "".join(f"import {m}\n" for m in preload)
                plan.steps.append(Step("snapshot", imports + _call(helper, "snapshot")))
                snapshotted = True
            exercise = graded[gid]
            answer = answers[gid]
            if answer is None:
                continue
            analysis = static.analyse(
                answer.source, forbid=assignment.forbidden(exercise), aliases=aliases
            )
            plan.analyses[gid] = analysis
            if analysis.syntax_error or analysis.forbidden:
                continue
            plan.steps.append(
                Step(
                    "answer",
                    _call(
                        helper, "answer", gid, analysis.code, list(assignment.forbidden(exercise))
                    ),
                    cell=i,
                    exercise=exercise,
                )
            )
        elif is_test(cell):
            if gid not in graded:
                continue
            exercise = graded[gid]
            test = next(t for t in exercise.tests if t.cell == i)
            analysis = plan.analyses.get(gid)
            if (
                answers[gid] is None
                or analysis is None
                or analysis.syntax_error
                or analysis.forbidden
            ):
                continue
            marker = f"coursework-passed-{secrets.token_hex(16)}"
            code = (
                _call(helper, "test", test.label, static.to_python(test.source))
                + f"\nprint({marker!r})"
            )
            plan.steps.append(
                Step("test", code, cell=i, exercise=exercise, test=test, marker=marker)
            )
        else:  # the notebook's own code, including solutions of exercises not graded here
            python = static.to_python(cell.source)
            plan.steps.append(
                Step(
                    "setup",
                    _call(helper, "setup", i, python, static.bound_names(cell.source)),
                    cell=i,
                )
            )
    return plan
