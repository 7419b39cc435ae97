"""The exercise markup of ``CONTRIBUTING.md``, read from a notebook's cells.

An autograded exercise is two kinds of code cells that share a ``grade_id`` in their metadata:

* its **answer cell**, tagged ``solution``: the reference solution between ``# BEGIN SOLUTION``
  and ``# END SOLUTION`` lines (students get a stub there), optionally with ``forbid``, the
  modules the answer may not use (``[lossutils, torch]``);
* one or more **test cells**, tagged ``test`` and ``remove-cell``, each with ``points`` and
  ``visibility`` (``public``: students get it as a self-check; ``hidden``, the default: only
  the grader has it). Every ``assert`` in a test has a message: it is all a student learns
  from a failed hidden test.

Solution **prose** is the text of a ``{solution}`` directive, or what lies between
``{solution-start}`` and ``{solution-end}`` (markdown cells, or markdown cells tagged
``solution``). :func:`read_exercises` returns the exercises, or raises :class:`MarkupError`
naming every problem at once; ``tests/test_chapter_conventions.py`` runs it on every chapter.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from nbformat import NotebookNode

ANSWER_TAG = "solution"
TEST_TAG = "test"
#: Cells that only check a chapter's claims or glue its numbers (issue 10): never graded, never
#: shown to students.
CHECK_TAG = "check"
VISIBILITIES = ("public", "hidden")
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
#: A grade id: lowercase words joined by hyphens (``regression-losses-huber``).
GRADE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class MarkupError(ValueError):
    """A notebook's exercise markup breaks the rules of ``CONTRIBUTING.md``."""


@dataclass(frozen=True)
class Test:
    """One test cell of an exercise."""

    grade_id: str
    index: int  # 0, 1, ... among the exercise's tests, in notebook order
    cell: int  # position of the cell in the notebook
    source: str
    points: int
    visibility: str  # "public" or "hidden"

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    @property
    def label(self) -> str:
        """How feedback and results name the test: ``grade-id`` or ``grade-id #2``."""
        return self.grade_id if self.index == 0 else f"{self.grade_id} #{self.index + 1}"


@dataclass(frozen=True)
class Exercise:
    """An autograded exercise: its answer cell and its tests."""

    grade_id: str
    cell: int  # position of the answer cell in the notebook
    solution: str  # the reference answer cell's source
    functions: tuple[str, ...]  # the functions the answer defines (to find it in a submission)
    forbid: tuple[str, ...]  # modules the answer may not use
    tests: tuple[Test, ...] = field(default=())

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests)

    @property
    def stub(self) -> str:
        return stub(self.solution, self.grade_id)


def tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def is_answer(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and ANSWER_TAG in tags(cell)


def is_test(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and TEST_TAG in tags(cell)


# -- solutions and stubs --------------------------------------------------------------------------


def _solution_regions(source: str) -> list[tuple[int, int]]:
    """``(begin, end)`` line indices of every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` pair."""
    regions, begin = [], None
    for i, line in enumerate(source.splitlines()):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise MarkupError(f"line {i + 1}: {BEGIN} inside another solution")
            begin = i
        elif marker == END:
            if begin is None:
                raise MarkupError(f"line {i + 1}: {END} without a {BEGIN}")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise MarkupError(f"line {begin + 1}: {BEGIN} without an {END}")
    return regions


def solution_lines(source: str) -> list[str]:
    """The lines of an answer cell that only the reference solution has (between the markers)."""
    lines = source.splitlines()
    return [line for begin, end in _solution_regions(source) for line in lines[begin + 1 : end]]


def stub(source: str, grade_id: str) -> str:
    """``source`` with each solution region replaced by a line that raises NotImplementedError.

    >>> print(stub("def f(x):\\n    # BEGIN SOLUTION\\n    return 2 * x\\n    # END SOLUTION", "ex-f"))
    def f(x):
        raise NotImplementedError("ex-f: replace this line with your answer")
    """
    lines = source.splitlines()
    out, last = [], 0
    for begin, end in _solution_regions(source):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        out += lines[last:begin]
        out.append(
            f'{indent}raise NotImplementedError("{grade_id}: replace this line with your answer")'
        )
        last = end + 1
    out += lines[last:]
    return "\n".join(out)


def defined_functions(source: str) -> tuple[str, ...]:
    """The names of the functions and classes a cell defines at top level, in order (an answer
    may be a class, such as a ``torch.autograd.Function``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    return tuple(
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )


def asserts_without_message(source: str) -> list[int]:
    """Line numbers of ``assert`` statements that have no message."""
    return [
        n.lineno for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assert) and n.msg is None
    ]


# -- solution prose ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}")


def _directive_bodies(text: str, name: str) -> Iterable[list[str]]:
    """The body lines of every ``{name}`` directive in a markdown text (options skipped)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i].strip())
        if not match or match["name"] != name:
            i += 1
            continue
        fence, body = match["fence"], []
        i += 1
        while (
            i < len(lines)
            and lines[i].strip().startswith(":")
            and not lines[i].strip().startswith(fence)
        ):
            i += 1  # ":class: dropdown" and other options
        while i < len(lines) and not (
            set(lines[i].strip()) == {fence[0]} and len(lines[i].strip()) >= len(fence)
        ):
            body.append(lines[i])
            i += 1
        yield body
        i += 1


def solution_prose(nb: NotebookNode) -> list[str]:
    """Every line of solution prose in a notebook: ``{solution}`` directives, markdown between
    ``{solution-start}`` and ``{solution-end}``, and markdown cells tagged ``solution``."""
    prose: list[str] = []
    inside = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for body in _directive_bodies(text, "solution"):
            prose += body
        if ANSWER_TAG in tags(cell):
            prose += text.splitlines()
            continue
        for line in text.splitlines():
            match = _FENCE.match(line.strip())
            if match and match["name"] == "solution-start":
                inside = True
            elif match and match["name"] == "solution-end":
                inside = False
            elif inside and not line.strip().startswith(":") and set(line.strip()) != {"`"}:
                prose.append(line)
    return prose


# -- reading the exercises -------------------------------------------------------------------------


def _modules(value, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        problems.append(f"{where}: forbid must be a list of module names, got {value!r}")
        return ()
    return tuple(sorted(set(value)))


def read_exercises(nb: NotebookNode, name: str = "notebook") -> dict[str, Exercise]:
    """The autograded exercises of ``nb``, by grade id, in notebook order.

    Raises:
      MarkupError: listing every broken rule (``name`` prefixes each message).
    """
    problems: list[str] = []
    answers: dict[str, tuple[int, NotebookNode]] = {}
    tests: dict[str, list[Test]] = {}
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i + 1}"
        meta = cell.get("metadata", {})
        if is_answer(cell):
            gid = meta.get("grade_id")
            if not isinstance(gid, str) or not GRADE_ID.fullmatch(gid):
                problems.append(
                    f"{where}: a solution cell needs a grade_id (lowercase-words-with-hyphens), got {gid!r}"
                )
                continue
            if gid in answers:
                problems.append(f"{where}: a second solution cell with grade_id {gid!r}")
            try:
                regions = _solution_regions(cell.source)
            except MarkupError as e:
                problems.append(f"{where}: {e}")
                continue
            if not regions:
                problems.append(
                    f"{where}: the solution cell of {gid!r} has no {BEGIN} / {END} lines"
                )
            else:
                after = cell.source.splitlines()[regions[-1][1] + 1 :]
                if any(line.strip() and not line[0].isspace() for line in after):
                    problems.append(
                        f"{where}: code after {END} in {gid!r}: move the demo to its own cell"
                    )
            answers[gid] = (i, cell)
        elif is_test(cell):
            gid, points = meta.get("grade_id"), meta.get("points")
            visibility = meta.get("visibility", "hidden")
            if "remove-cell" not in tags(cell):
                problems.append(f"{where}: a test cell must also be tagged remove-cell")
            if not isinstance(gid, str) or not gid:
                problems.append(f"{where}: a test cell needs a grade_id")
                continue
            if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
                problems.append(
                    f"{where}: test of {gid!r} needs a positive integer points, got {points!r}"
                )
                points = 0
            if visibility not in VISIBILITIES:
                problems.append(
                    f"{where}: visibility of {gid!r} must be public or hidden, got {visibility!r}"
                )
            try:
                missing = asserts_without_message(cell.source)
            except SyntaxError as e:
                problems.append(
                    f"{where}: test of {gid!r} does not parse: {e.msg} (line {e.lineno})"
                )
                missing = []
            if "assert" not in cell.source:
                problems.append(f"{where}: test of {gid!r} asserts nothing")
            for line in missing:
                problems.append(f"{where}: test of {gid!r}, line {line}: assert without a message")
            group = tests.setdefault(gid, [])
            group.append(Test(gid, len(group), i, cell.source, points, visibility))
    for gid in sorted(set(tests) - set(answers)):
        problems.append(f"{name}: tests of {gid!r} but no solution cell with that grade_id")
    exercises = {}
    for gid, (i, cell) in answers.items():
        if gid not in tests:
            problems.append(f"{name}: the solution of {gid!r} has no test cell")
            continue
        forbid = _modules(cell.metadata.get("forbid"), f"{name}, cell {i + 1}", problems)
        functions = defined_functions(cell.source)
        exercises[gid] = Exercise(gid, i, cell.source, functions, forbid, tuple(tests[gid]))
    if problems:
        raise MarkupError("\n".join(problems))
    return exercises
