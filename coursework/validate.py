"""``python -m coursework validate ASSIGNMENT``: the grader checks itself on an assignment.

Passes when, graded together (and in parallel, as a class would be):

1. the reference solutions score the maximum on every exercise;
2. the released student notebooks, unchanged, score 0 on every exercise;
3. every fixture (``fixtures:`` in the assignment, each a submission folder, with
   ``expected.yml``) gets exactly its expected status and points per exercise;
4. a second grading from scratch writes byte-identical results, feedback and grades.csv.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

import nbformat
import yaml

from coursework.assignment import Assignment
from coursework.grade import grade
from coursework.release import release

REFERENCE, STUBS = "_reference", "_released"


def reference_notebook(assignment: Assignment, name: str) -> nbformat.NotebookNode:
    """A submission whose answers are the instructor's solutions, marked as released ones are."""
    notebook = next(nb for nb in assignment.notebooks if nb.name == name)
    nb = nbformat.v4.new_notebook()
    for exercise in notebook.exercises:
        cell = nbformat.v4.new_code_cell(exercise.solution)
        cell.metadata["coursework"] = {"answer": exercise.grade_id}
        nb.cells.append(cell)
    return nb


def _expected(assignment: Assignment) -> dict:
    if assignment.fixtures is None:
        return {}
    path = assignment.fixtures / "expected.yml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it lists what each fixture must score")
    return yaml.safe_load(path.read_text()) or {}


def submissions(assignment: Assignment, folder: Path) -> dict:
    """Lay out every submission to grade in ``folder``; return the expected results."""
    full = {e.grade_id: e.points for e in assignment.exercises}
    expected = {
        REFERENCE: {"status": "ok", "scores": full},
        STUBS: {"status": "ok", "scores": {g: 0 for g in full}},
    }
    released = folder / "release"
    release(assignment, released)
    for notebook in assignment.notebooks:
        (folder / "in" / REFERENCE).mkdir(parents=True, exist_ok=True)
        nbformat.write(
            reference_notebook(assignment, notebook.name),
            folder / "in" / REFERENCE / f"{notebook.name}.ipynb",
        )
        (folder / "in" / STUBS).mkdir(parents=True, exist_ok=True)
        shutil.copy(released / "student" / f"{notebook.name}.ipynb", folder / "in" / STUBS)
    for name, spec in _expected(assignment).items():
        shutil.copytree(assignment.fixtures / name, folder / "in" / name)
        expected[name] = spec
    return expected


def check(results: list[dict], expected: dict) -> list[str]:
    """Every difference between the results and what was expected."""
    problems = []
    got = {r["student"]: r for r in results}
    for name, spec in sorted(expected.items()):
        result = got.get(name)
        if result is None:
            problems.append(f"{name}: not graded")
            continue
        if result["status"] != spec["status"]:
            problems.append(f"{name}: status {result['status']}, expected {spec['status']}")
        scores = {e["grade_id"]: e["points"] for e in result["exercises"]}
        for gid, points in sorted(spec["scores"].items()):
            if scores.get(gid) != points:
                outcomes = [
                    t["outcome"]
                    for e in result["exercises"]
                    if e["grade_id"] == gid
                    for t in e["tests"]
                ]
                problems.append(
                    f"{name}: {gid} scored {scores.get(gid)}, expected {points} (outcomes {outcomes})"
                )
    return problems


def _differences(a: Path, b: Path) -> list[str]:
    diffs = []
    comparison = filecmp.dircmp(a, b)
    diffs += [f"only in one grading: {n}" for n in comparison.left_only + comparison.right_only]
    diffs += [f"differs between gradings: {n}" for n in comparison.diff_files]
    for sub in comparison.common_dirs:
        diffs += _differences(a / sub, b / sub)
    return diffs


def validate(assignment: Assignment, *, jobs: int = 2, log=print) -> list[str]:
    """Run the four checks; return the problems found (empty: the grader is sound here)."""
    with tempfile.TemporaryDirectory(prefix="coursework-validate-") as tmp:
        folder = Path(tmp)
        expected = submissions(assignment, folder)
        log(
            f"grading {len(expected)} submissions twice (reference, released stubs, {len(expected) - 2} fixtures)"
        )
        first = grade(assignment, folder / "in", folder / "first", jobs=jobs, log=log)
        problems = check(first, expected)
        grade(assignment, folder / "in", folder / "second", jobs=jobs, log=lambda *_: None)
        problems += _differences(folder / "first", folder / "second")
        return problems
