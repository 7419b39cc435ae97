"""A student's feedback (``DIR/feedback/STUDENT.md``), written from their results.

Public tests are shown in full: their code, and where and why they failed. Of a hidden test a
student learns its outcome and only the assert's message, or the exception at their own line,
never the test's code. Anything quoted from a run (a message, an exception) goes through the
leak check first: an answer that reads the hidden test in the kernel and raises it as an
exception message finds it redacted here.
"""

from __future__ import annotations

from coursework.assignment import Assignment
from coursework.leaks import Secrets

REDACTED = "(not shown: the message quotes the hidden test or the solution)"
STATUS_TEXT = {
    "ok": "",
    "flagged": "Some lines of your answers are marked below for your instructor to read; they do not "
    "change your score by themselves.",
    "unreadable": "A notebook could not be read, so its exercises score 0.",
    "missing": "A notebook was not handed in, so its exercises score 0.",
    "grader-error": "The grader could not run your notebook. This is not your fault: your instructor "
    "has been told.",
}


def _quote(text: str | None, secrets: Secrets) -> str:
    if not text:
        return ""
    return REDACTED if secrets.found_in(text) else text


def _code_span(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _at(at: dict | None) -> str:
    """Where in the student's own answer (their line is theirs to see: no leak check)."""
    if not at:
        return ""
    shown = f": {_code_span(at['code'])}" if at.get("code") else ""
    return f" (your answer to {at['grade_id']}, line {at['line']}{shown})"


def _test_source(assignment: Assignment, label: str) -> str | None:
    for exercise in assignment.exercises:
        for test in exercise.tests:
            if test.label == label and test.public:
                return test.source
    return None


def feedback_markdown(assignment: Assignment, result: dict, secrets: Secrets) -> str:
    from coursework.grade import OUTCOMES

    limits = {
        "cell_timeout": assignment.limits.cell_timeout,
        "notebook_timeout": assignment.limits.notebook_timeout,
    }
    lines = [
        f"# {assignment.name}: feedback for {result['student']}",
        "",
        f"**Score: {result['total']} / {result['max']}**",
        "",
    ]
    if STATUS_TEXT.get(result["status"]):
        lines += [STATUS_TEXT[result["status"]], ""]
    for name, notebook in sorted(result["notebooks"].items()):
        if notebook["status"] == "unreadable":
            lines += [f"- `{name}.ipynb`: {notebook['problem']}", ""]
        elif notebook["status"] == "missing":
            lines += [f"- `{name}.ipynb` was not found in your submission.", ""]
    for exercise in result["exercises"]:
        lines += [f"## {exercise['grade_id']}: {exercise['points']} / {exercise['max']}", ""]
        answer = exercise["answer"]
        if answer.get("found_by") == "function":
            lines += [
                "Your answer cell had lost its marking, so the grader took the last cell that "
                "defines the exercise's function.",
                "",
            ]
        if answer.get("outcome") in ("syntax-error", "forbidden-module") or answer.get("message"):
            what = {
                "syntax-error": "Your answer does not parse",
                "forbidden-module": "Your answer is not allowed",
            }.get(answer["outcome"], "Your answer cell raised an exception when it ran")
            lines += [
                f"{what}{_at(answer.get('at'))}: {_quote(answer.get('message'), secrets)}",
                "",
            ]
        elif answer.get("outcome") in ("timeout", "no-reply", "kernel-died", "wall-clock"):
            lines += [f"Your answer cell: {OUTCOMES[answer['outcome']].format(**limits)}.", ""]
        for flag in exercise["flags"]:
            lines.append(f"- Marked for your instructor, line {flag['line']}: {flag['message']}")
        if exercise["flags"]:
            lines.append("")
        for test in exercise["tests"]:
            kind = "Public test" if test["visibility"] == "public" else "Hidden test"
            mark = OUTCOMES[test["outcome"]].format(**limits)
            unit = "point" if test["max"] == 1 else "points"
            lines.append(
                f"- {kind} {test['label']} ({test['points']} / {test['max']} {unit}): {mark}."
            )
            message = _quote(test.get("message"), secrets)
            if message:
                lines.append(f"  - Message: {message}{_at(test.get('at'))}")
            elif test.get("at"):
                lines.append(f"  - Where: {_at(test.get('at')).strip(' ()')}")
            if test["visibility"] == "public":
                source = _test_source(assignment, test["label"])
                if test.get("test_line"):
                    lines.append(f"  - It failed at line {test['test_line']} of the test.")
                if source:
                    lines += [
                        "",
                        "  ```python",
                        *[f"  {line}".rstrip() for line in source.splitlines()],
                        "  ```",
                    ]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
