"""``python -m coursework grade ASSIGNMENT SUBMISSIONS --out DIR [--jobs N] [--only A,B]``.

``SUBMISSIONS/STUDENT/NAME.ipynb``: one folder per student, one file per notebook of the
assignment. Writes, all deterministic (sorted, no times, no temporary paths):

* ``DIR/results/STUDENT.json``: every exercise's points, outcome codes and messages;
* ``DIR/feedback/STUDENT.md``: what the student may read (:mod:`coursework.feedback`);
* ``DIR/grades.csv``: ``student,total,max,status`` and one column per grade id.

**Scoring is fail-closed.** A test earns its points only when the kernel replied ``ok`` to it
*and* printed the marker drawn for it in this run, which the test's cell prints only after
the test's code completed. Anything else scores 0 with an outcome code (:data:`OUTCOMES`).

**Caching.** A result records a key made of the grader's code, the assignment (settings and
sources) and the submitted files' hashes; grading again reuses a result whose key matches.
``--only`` regrades the students named, whatever their key, and leaves the others' results.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursework import grader_fingerprint, sandbox
from coursework.assignment import Assignment, SourceNotebook
from coursework.feedback import feedback_markdown
from coursework.plan import build

#: Every outcome a test can have, and what it tells a student.
OUTCOMES = {
    "passed": "passed",
    "failed": "an assertion failed",
    "error": "raised an exception",
    "timeout": "ran out of time ({cell_timeout:g} s per cell) and was interrupted",
    "no-reply": "ran out of time ({cell_timeout:g} s per cell) and did not stop when interrupted, "
    "so the kernel was stopped",
    "kernel-died": "the Python kernel died while it ran (for example out of memory, or os._exit)",
    "wall-clock": "the notebook ran out of its total time ({notebook_timeout:g} s), so it was stopped",
    "unreached": "not run: the kernel had stopped earlier",
    "no-marker": "the test did not run to its end (its completion mark never appeared)",
    "tampering": "a library was changed while the test ran",
    "syntax-error": "not run: your answer does not parse",
    "forbidden-module": "not run: your answer uses a module this exercise forbids",
    "no-answer": "not run: no answer was found for this exercise",
    "unreadable": "not run: the notebook could not be read",
    "missing": "not run: the notebook was not handed in",
}
#: Student statuses, the most serious first (a student's status is that of their worst notebook).
STATUSES = ("grader-error", "unreadable", "missing", "flagged", "ok")
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Submission:
    """One student's folder."""

    student: str
    folder: Path

    def path(self, notebook: SourceNotebook) -> Path:
        return self.folder / f"{notebook.name}.ipynb"

    def sha256(self, notebook: SourceNotebook) -> str:
        path = self.path(notebook)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def submissions_in(folder: Path) -> list[Submission]:
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    return [
        Submission(p.name, p)
        for p in sorted(folder.iterdir())
        if p.is_dir() and not p.name.startswith(".")
    ]


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    """A submitted notebook's cells, or ``(None, why it is unreadable)``.

    Lenient on purpose: any JSON with a list of cells (nbformat 4, or 3's worksheets) is graded,
    even if another tool broke the schema elsewhere; cells that are not cells are skipped.
    """
    if not path.is_file():
        return None, "missing"
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        return None, f"the file is larger than {MAX_BYTES // 2**20} MB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the file is not UTF-8 text"
    try:
        content = json.loads(text)
    except ValueError as e:
        return None, f"the file is not JSON ({e.msg}, line {e.lineno}); was it saved from Jupyter?"
    if not isinstance(content, dict):
        return None, "the file is not a Jupyter notebook (its JSON is not an object)"
    if isinstance(content.get("cells"), list):
        raw = content["cells"]
    elif isinstance(content.get("worksheets"), list):  # nbformat 3
        raw = [
            c
            for ws in content["worksheets"]
            if isinstance(ws, dict) and isinstance(ws.get("cells"), list)
            for c in ws["cells"]
        ]
    else:
        return None, "the file is not a Jupyter notebook (it has no cells)"
    cells = []
    for cell in raw:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        cells.append(
            nbformat.from_dict(
                {"cell_type": cell.get("cell_type"), "source": source, "metadata": metadata}
            )
        )
    return nbformat.from_dict({"cells": cells}), None


def _line(code: str, number: int | None) -> str | None:
    lines = code.splitlines()
    return lines[number - 1].strip() if number and 0 < number <= len(lines) else None


def _where(report: dict, analyses: dict) -> dict | None:
    """The student's own line an exception came from."""
    if not report.get("answer"):
        return None
    gid, number = report["answer"]
    analysis = analyses.get(gid)
    return {
        "grade_id": gid,
        "line": number,
        "code": _line(analysis.code, number) if analysis else None,
    }


def _test_outcome(result: dict, analyses: dict) -> dict:
    status = result["status"]
    report = result.get("report") or {}
    if status == "ok":
        return {"outcome": "passed" if result["marker"] else "no-marker"}
    if status == "error":
        kind = report.get("type")
        if kind == "AssertionError":
            outcome = "failed"
        elif kind == "Tampering":
            outcome = "tampering"
        else:
            outcome = "error"
        out = {"outcome": outcome}
        if report:
            out["message"] = (
                report.get("message", "")
                if kind in ("AssertionError", "Tampering")
                else f"{kind}: {report.get('message', '')}"
            )
            out["at"] = _where(report, analyses)
            out["test_line"] = report.get("test_line")
        elif result.get("error"):
            out["message"] = result["error"]
        return out
    out = {"outcome": {"dead": "kernel-died"}.get(status, status)}
    if status == "timeout" and report:
        out["at"] = _where(report, analyses)  # where the interrupt found the student's code
    return out


def _static_outcome(answer, analysis) -> tuple[str, str | None]:
    if answer is None:
        return "no-answer", None
    if analysis.syntax_error:
        return "syntax-error", analysis.syntax_error.message
    return "forbidden-module", "; ".join(f"line {f.line}: {f.message}" for f in analysis.forbidden)


def grade_notebook(
    notebook: SourceNotebook, submission: Submission, assignment: Assignment
) -> dict:
    """Grade one submitted notebook: ``{"status", "problem", "exercises", "notebook_errors"}``."""
    nb, problem = read_notebook(submission.path(notebook))
    if nb is None:
        status = "missing" if problem == "missing" else "unreadable"
        exercises = [_empty(e, status) for e in notebook.exercises]
        return {
            "status": status,
            "problem": None if status == "missing" else problem,
            "exercises": exercises,
            "notebook_errors": [],
        }
    plan = build(notebook, nb, assignment)
    results = sandbox.run(plan, assignment.limits)
    by_test, answer_runs, notebook_errors = {}, {}, []
    for step, result in zip(plan.steps, results):
        if step.kind == "test":
            by_test[(step.test.grade_id, step.test.index)] = result
        elif step.kind == "answer":
            answer_runs[step.exercise.grade_id] = result
        elif step.kind == "setup" and result["status"] not in ("ok", "unreached"):
            report = result.get("report") or {}
            message = (
                f"{report['type']}: {report['message']}"
                if report
                else result.get("error", result["status"])
            )
            notebook_errors.append(
                {"cell": step.cell + 1, "status": result["status"], "message": message}
            )
    exercises = []
    for exercise in notebook.exercises:
        gid = exercise.grade_id
        answer, analysis = plan.answers.get(gid), plan.analyses.get(gid)
        entry = {
            "grade_id": gid,
            "notebook": notebook.name,
            "max": exercise.points,
            "answer": {"found_by": answer.found_by if answer else None},
            "flags": [f.as_dict() for f in analysis.flags] if analysis else [],
        }
        if (
            answer is not None
            and analysis is not None
            and not analysis.syntax_error
            and not analysis.forbidden
        ):
            run = answer_runs.get(gid, {"status": "unreached"})
            entry["answer"]["outcome"] = {"ok": "ran", "dead": "kernel-died"}.get(
                run["status"], run["status"]
            )
            if run.get("report"):
                entry["answer"]["message"] = f"{run['report']['type']}: {run['report']['message']}"
                entry["answer"]["at"] = _where(run["report"], plan.analyses)
            tests = [
                {
                    **_test_outcome(
                        by_test.get((gid, t.index), {"status": "unreached", "marker": False}),
                        plan.analyses,
                    ),
                    "label": t.label,
                    "visibility": t.visibility,
                    "max": t.points,
                }
                for t in exercise.tests
            ]
        else:
            outcome, message = _static_outcome(answer, analysis)
            entry["answer"]["outcome"] = outcome
            if message:
                entry["answer"]["message"] = message
            if analysis and analysis.syntax_error:
                entry["answer"]["at"] = {
                    "grade_id": gid,
                    "line": analysis.syntax_error.line,
                    "code": _line(answer.source, analysis.syntax_error.line),
                }
            tests = [
                {"label": t.label, "visibility": t.visibility, "max": t.points, "outcome": outcome}
                for t in exercise.tests
            ]
        for test in tests:
            test["points"] = test["max"] if test["outcome"] == "passed" else 0
        entry["tests"] = tests
        entry["points"] = sum(t["points"] for t in tests)
        exercises.append(entry)
    flagged = any(e["flags"] for e in exercises)
    return {
        "status": "flagged" if flagged else "ok",
        "problem": None,
        "exercises": exercises,
        "notebook_errors": notebook_errors,
    }


def _empty(exercise, outcome: str) -> dict:
    tests = [
        {
            "label": t.label,
            "visibility": t.visibility,
            "max": t.points,
            "points": 0,
            "outcome": outcome,
        }
        for t in exercise.tests
    ]
    return {
        "grade_id": exercise.grade_id,
        "notebook": "",
        "max": exercise.points,
        "points": 0,
        "answer": {"found_by": None, "outcome": outcome},
        "flags": [],
        "tests": tests,
    }


def cache_key(assignment: Assignment, submission: Submission) -> str:
    parts = [grader_fingerprint(), assignment.sha256] + [
        f"{nb.name}:{submission.sha256(nb)}" for nb in assignment.notebooks
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def grade_submission(assignment: Assignment, submission: Submission) -> dict:
    """Every notebook of one student's submission, graded: the student's results."""
    notebooks, exercises = {}, []
    for notebook in assignment.notebooks:
        try:
            graded = grade_notebook(notebook, submission, assignment)
        except sandbox.SandboxError as e:
            graded = {
                "status": "grader-error",
                "problem": str(e),
                "notebook_errors": [],
                "exercises": [_empty(ex, "unreached") for ex in notebook.exercises],
            }
        for entry in graded["exercises"]:
            entry["notebook"] = notebook.name
        exercises += graded["exercises"]
        notebooks[notebook.name] = {
            "status": graded["status"],
            "problem": graded["problem"],
            "sha256": submission.sha256(notebook),
            "notebook_errors": graded["notebook_errors"],
        }
    status = min((nb["status"] for nb in notebooks.values()), key=STATUSES.index)
    return {
        "assignment": assignment.name,
        "student": submission.student,
        "status": status,
        "total": sum(e["points"] for e in exercises),
        "max": assignment.max_points,
        "cache_key": cache_key(assignment, submission),
        "notebooks": notebooks,
        "exercises": exercises,
    }


def dump(data: dict) -> str:
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def grades_csv(assignment: Assignment, results: list[dict]) -> str:
    ids = [e.grade_id for e in assignment.exercises]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "total", "max", "status", *ids])
    for result in sorted(results, key=lambda r: r["student"]):
        points = {e["grade_id"]: e["points"] for e in result["exercises"]}
        writer.writerow(
            [
                result["student"],
                result["total"],
                result["max"],
                result["status"],
                *[points.get(g, 0) for g in ids],
            ]
        )
    return out.getvalue()


def grade(
    assignment: Assignment,
    submissions: Path,
    out: Path,
    *,
    jobs: int = 1,
    only: list[str] | None = None,
    log=print,
) -> list[dict]:
    """Grade every submission (or those in ``only``); write results, feedback and grades.csv."""
    students = submissions_in(Path(submissions))
    if only:
        unknown = sorted(set(only) - {s.student for s in students})
        if unknown:
            raise ValueError(f"--only: no submission folder for {unknown} in {submissions}")
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    secrets = assignment.secrets
    todo, results = [], {}
    for submission in students:
        path = out / "results" / f"{submission.student}.json"
        previous = json.loads(path.read_text()) if path.is_file() else None
        if only and submission.student not in only:
            if previous is not None:
                results[submission.student] = previous
        elif (
            not only
            and previous is not None
            and previous.get("cache_key") == cache_key(assignment, submission)
            and previous.get("status") != "grader-error"
        ):
            results[submission.student] = previous
        else:
            todo.append(submission)

    def one(submission: Submission) -> dict:
        result = grade_submission(assignment, submission)
        log(f"{submission.student}: {result['total']}/{result['max']} ({result['status']})")
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for result in pool.map(one, todo):
            results[result["student"]] = result
    for student, result in sorted(results.items()):
        (out / "results" / f"{student}.json").write_text(dump(result))
        (out / "feedback" / f"{student}.md").write_text(
            feedback_markdown(assignment, result, secrets)
        )
    (out / "grades.csv").write_text(grades_csv(assignment, list(results.values())))
    return [results[s] for s in sorted(results)]
