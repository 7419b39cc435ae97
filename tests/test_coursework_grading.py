"""The grader on a tiny assignment: fail-closed scoring, limits, restores, caching, feedback.

Each test grades one or two submissions of a two-exercise notebook that imports only NumPy,
so that a kernel run takes about a second. The sample's fixtures (``validate``) are in
``tests/test_coursework_release.py``.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from coursework import assignment as assignments
from coursework import grade as grading
from coursework import sandbox
from coursework.__main__ import main

SOURCE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Tiny

```{code-cell} ipython3
import numpy as np

import lossutils as lu

data = np.arange(4.0)
```

```{code-cell} ipython3
---
tags: [solution, hide-cell]
grade_id: tiny-double
---
def double(x):
    # BEGIN SOLUTION
    return 2 * np.asarray(x, dtype=float)
    # END SOLUTION
```

```{code-cell} ipython3
---
tags: [test, remove-cell]
grade_id: tiny-double
points: 2
---
assert np.allclose(double(data), lu.mse(data, 0 * data) * 0 + 2 * data), "double(data) is not 2 * data"
```

```{code-cell} ipython3
---
tags: [solution, hide-cell]
grade_id: tiny-square
---
def square(x):
    # BEGIN SOLUTION
    return np.asarray(x, dtype=float) ** 2
    # END SOLUTION
```

```{code-cell} ipython3
---
tags: [test, remove-cell]
grade_id: tiny-square
points: 3
visibility: public
---
assert np.allclose(square(data), data * data), "square(data) is not data * data"
```
"""

GOOD = {
    "tiny-double": "def double(x):\n    return 2.0 * np.asarray(x)",
    "tiny-square": "def square(x):\n    return np.square(x)",
}


@pytest.fixture
def tiny(tmp_path):
    """``(assignment, submissions folder, write(student, answers))`` for the tiny notebook."""
    (tmp_path / "tiny.md").write_text(SOURCE)
    (tmp_path / "tiny.yml").write_text(
        textwrap.dedent("""\
        name: tiny
        notebooks: [tiny.md]
        forbid: [lossutils]
        limits: {cell_timeout: 5, interrupt_grace: 2, notebook_timeout: 30}
    """)
    )
    folder = tmp_path / "submissions"

    def write(student: str, answers: dict, *, metadata: bool = True) -> Path:
        nb = nbformat.v4.new_notebook()
        for gid, source in answers.items():
            cell = nbformat.v4.new_code_cell(source)
            if metadata:
                cell.metadata["coursework"] = {"answer": gid}
            nb.cells.append(cell)
        path = folder / student / "tiny.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    return assignments.load(tmp_path / "tiny.yml"), folder, write


def _scores(result: dict) -> dict:
    return {e["grade_id"]: e["points"] for e in result["exercises"]}


def _outcomes(result: dict) -> dict:
    return {e["grade_id"]: [t["outcome"] for t in e["tests"]] for e in result["exercises"]}


def test_a_correct_submission_gets_full_marks_and_a_wrong_one_none(tiny, tmp_path):
    assignment, folder, write = tiny
    write("good", GOOD)
    write(
        "bad",
        {
            "tiny-double": "def double(x):\n    return x",
            "tiny-square": "def square(x):\n    return x",
        },
    )
    results = {
        r["student"]: r
        for r in grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    }
    assert _scores(results["good"]) == {"tiny-double": 2, "tiny-square": 3}
    assert _scores(results["bad"]) == {"tiny-double": 0, "tiny-square": 0}
    assert _outcomes(results["bad"]) == {"tiny-double": ["failed"], "tiny-square": ["failed"]}
    csv = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert csv == [
        "student,total,max,status,tiny-double,tiny-square",
        "bad,0,5,ok,0,0",
        "good,5,5,ok,2,3",
    ]


def test_a_test_scores_only_if_its_marker_was_printed(tiny, tmp_path):
    """An answer that makes the kernel skip every later cell gets ``ok`` replies and no marker:
    nbclient-style scoring (no error, so passed) would give full marks; this grader gives 0."""
    assignment, folder, write = tiny
    skip_everything = (
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
        "def double(x):\n    return 2.0 * x"
    )
    write("skipper", {**GOOD, "tiny-double": skip_everything})
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    assert _outcomes(result) == {"tiny-double": ["no-marker"], "tiny-square": ["no-marker"]}
    assert result["total"] == 0 and result["status"] == "flagged"


def test_libraries_are_restored_before_each_test(tiny, tmp_path):
    assignment, folder, write = tiny
    patched = "np.allclose = lambda *a, **k: True\nnp.square = None\ndata = None\ndef double(x):\n    return x"
    write(
        "patcher",
        {"tiny-double": patched, "tiny-square": "def square(x):\n    return np.square(x)"},
    )
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    # The wrong double fails against the real allclose; square works with the real np.square
    # and the notebook's own `data`.
    assert _scores(result) == {"tiny-double": 0, "tiny-square": 3}


def test_forbidden_modules_are_refused_before_and_while_running(tiny, tmp_path):
    assignment, folder, write = tiny
    write("static", {**GOOD, "tiny-double": "import lossutils\ndef double(x):\n    return 2.0 * x"})
    write(
        "alias", {**GOOD, "tiny-double": "def double(x):\n    return x + lu.mse(x, 0 * x) * 0 + x"}
    )
    write(
        "dynamic",
        {
            **GOOD,
            "tiny-double": "def double(x):\n    exec('import loss' + 'utils')\n    return 2.0 * x",
        },
    )
    write(
        "namespace",
        {**GOOD, "tiny-double": "def double(x):\n    globals()['l' + 'u']\n    return 2.0 * x"},
    )
    results = {
        r["student"]: r
        for r in grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    }
    assert _outcomes(results["static"])["tiny-double"] == ["forbidden-module"]
    assert _outcomes(results["alias"])["tiny-double"] == ["forbidden-module"]
    assert _outcomes(results["dynamic"])["tiny-double"] == ["error"]
    assert (
        "lossutils is not allowed in tiny-double"
        in results["dynamic"]["exercises"][0]["tests"][0]["message"]
    )
    assert _outcomes(results["namespace"])["tiny-double"] == ["error"]
    assert all(_scores(r)["tiny-square"] == 3 for r in results.values())


def _processes(*needles: bytes) -> set[int]:
    """Processes whose command line contains every needle."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if all(n in cmdline for n in needles):
                found.add(int(proc.name))
    return found


def test_the_wall_clock_kills_everything_and_leaves_nothing_behind(tiny, tmp_path):
    assignment, folder, write = tiny
    assignment = assignments.Assignment(
        **{
            **assignment.__dict__,
            "limits": assignments.Limits(cell_timeout=60, interrupt_grace=2, notebook_timeout=4),
        }
    )
    sleeper = (
        "import subprocess\nsubprocess.Popen(['sleep', '317'])\n"
        "def double(x):\n    import time\n    time.sleep(300)"
    )
    write("sleeper", {**GOOD, "tiny-double": sleeper})
    # Kernels started by a grader's worker have their connection file in a coursework- folder.
    before = _processes(b"ipykernel_launcher", b"coursework-")
    started = time.monotonic()
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    assert time.monotonic() - started < 30
    assert _outcomes(result) == {"tiny-double": ["wall-clock"], "tiny-square": ["unreached"]}
    assert result["total"] == 0
    time.sleep(0.5)
    assert _processes(b"ipykernel_launcher", b"coursework-") <= before, (
        "a kernel outlived its grading"
    )
    assert not _processes(b"sleep\x00317"), "a process the answer started outlived the grading"


def test_a_kernel_that_ignores_interrupts_is_killed_and_the_rest_is_unreached(tiny, tmp_path):
    assignment, folder, write = tiny
    stubborn = (
        "def double(x):\n    while True:\n        try:\n            sum(range(10**5))\n"
        "        except KeyboardInterrupt:\n            pass"
    )
    write("stubborn", {**GOOD, "tiny-double": stubborn})
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    assert _outcomes(result) == {"tiny-double": ["no-reply"], "tiny-square": ["unreached"]}


def test_unreadable_and_missing_submissions_score_zero_and_grading_goes_on(tiny, tmp_path):
    assignment, folder, write = tiny
    write("good", GOOD)
    (folder / "garbage").mkdir()
    (folder / "garbage" / "tiny.ipynb").write_bytes(b"\xff\xfe not a notebook")
    (folder / "json-list").mkdir()
    (folder / "json-list" / "tiny.ipynb").write_text("[1, 2, 3]")
    (folder / "absent").mkdir()
    results = {
        r["student"]: r
        for r in grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    }
    assert [results[s]["status"] for s in ("absent", "garbage", "good", "json-list")] == [
        "missing",
        "unreadable",
        "ok",
        "unreadable",
    ]
    assert results["good"]["total"] == 5
    assert all(results[s]["total"] == 0 for s in ("absent", "garbage", "json-list"))
    assert "not UTF-8" in (tmp_path / "out" / "feedback" / "garbage.md").read_text()


def test_answers_are_found_by_function_name_when_the_metadata_is_gone(tiny, tmp_path):
    assignment, folder, write = tiny
    path = write("nometa", GOOD, metadata=False)
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("my notes"))
    nb.cells.append(nbformat.v4.new_code_cell("print(double(3))"))
    nbformat.write(nb, path)
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    assert result["total"] == 5
    assert {e["answer"]["found_by"] for e in result["exercises"]} == {"function"}


def test_results_are_cached_by_hash_and_only_regrades_the_students_named(
    tiny, tmp_path, monkeypatch
):
    assignment, folder, write = tiny
    write("ann", GOOD)
    write("bob", GOOD)
    out = tmp_path / "out"
    grading.grade(assignment, folder, out, log=lambda *_: None)
    first = {p.name: p.read_bytes() for p in sorted((out / "results").iterdir())}
    runs = []
    real_run = sandbox.run
    monkeypatch.setattr(
        sandbox, "run", lambda plan, limits: runs.append(1) or real_run(plan, limits)
    )
    grading.grade(assignment, folder, out, log=lambda *_: None)
    assert runs == [], "unchanged submissions were graded again"
    assert {p.name: p.read_bytes() for p in sorted((out / "results").iterdir())} == first
    write("bob", {**GOOD, "tiny-square": "def square(x):\n    return x"})
    grading.grade(assignment, folder, out, log=lambda *_: None)
    assert len(runs) == 1, "only the changed submission is graded again"
    assert json.loads((out / "results" / "bob.json").read_text())["total"] == 2
    assert (
        main(["grade", str(assignment.path), str(folder), "--out", str(out), "--only", "ann"]) == 0
    )
    assert len(runs) == 2
    assert (out / "results" / "ann.json").read_bytes() == first["ann.json"]  # deterministic
    assert (
        main(["grade", str(assignment.path), str(folder), "--out", str(out), "--only", "zed"]) == 2
    )


def test_feedback_never_quotes_a_hidden_test(tiny, tmp_path):
    """An answer that reads the running test's source from the grader's frame and raises it
    as its message gets its message redacted; the public test is quoted in full."""
    assignment, folder, write = tiny
    thief = (
        "import sys\ndef double(x):\n    frame = sys._getframe(1)\n"
        "    while frame is not None and 'code' not in frame.f_locals:\n        frame = frame.f_back\n"
        "    raise ValueError(frame.f_locals['code'])"
    )
    write("thief", {**GOOD, "tiny-double": thief})
    grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    results_text = (tmp_path / "out" / "results" / "thief.json").read_text()
    assert "double(data) is not 2 * data" in results_text  # the instructor's record keeps it
    feedback = (tmp_path / "out" / "feedback" / "thief.md").read_text()
    assert "double(data) is not 2 * data" not in feedback and "not shown" in feedback
    assert "assert np.allclose(square(data), data * data)" in feedback  # the public test
    assert "sys._getframe" in feedback  # flagged for the instructor


def test_two_gradings_are_byte_identical(tiny, tmp_path):
    assignment, folder, write = tiny
    write("good", GOOD)
    write("error", {**GOOD, "tiny-square": "def square(x):\n    return object() + 1"})
    for out in ("a", "b"):
        grading.grade(assignment, folder, tmp_path / out, jobs=2, log=lambda *_: None)
    for name in ("grades.csv", "results/error.json", "feedback/error.md", "results/good.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    feedback = (tmp_path / "a" / "feedback" / "error.md").read_text()
    assert "TypeError" in feedback and "line 2: `return object() + 1`" in feedback
    assert (
        "0x" not in (tmp_path / "a" / "results" / "error.json").read_text() or "0x..." in feedback
    )


def test_the_kernel_runs_in_an_empty_folder_with_a_clean_environment(tiny, tmp_path, monkeypatch):
    assignment, folder, write = tiny
    monkeypatch.setenv("COURSEWORK_SECRET_TOKEN", "do-not-leak")
    probe = (
        "import os\nassert os.listdir('.') == [], os.listdir('.')\n"
        "assert 'COURSEWORK_SECRET_TOKEN' not in os.environ\n"
        "def double(x):\n    return 2.0 * np.asarray(x)"
    )
    write("probe", {**GOOD, "tiny-double": probe})
    (result,) = grading.grade(assignment, folder, tmp_path / "out", log=lambda *_: None)
    assert result["exercises"][0]["answer"]["outcome"] == "ran", result["exercises"][0]["answer"]
    assert result["total"] == 5
    assert os.environ["COURSEWORK_SECRET_TOKEN"] == "do-not-leak"
