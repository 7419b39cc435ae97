"""``release`` and ``validate`` on the sample assignment (coursework/sample.yml).

``validate`` grades the reference solutions, the released stubs and every fixture
(coursework/sample/fixtures: a correct and a wrong submission, a syntax error, deleted cells,
an infinite loop, a loop that swallows KeyboardInterrupt, os._exit, a memory bomb, tampering
with np.isclose and with lossutils, a file that is not JSON) twice, in parallel, and compares.
It takes about a minute here; it is the grader's end-to-end test.
"""

from __future__ import annotations

import json
import re
import runpy

import nbformat
import pytest

from coursework import assignment as assignments
from coursework import grader_fingerprint
from coursework.__main__ import main
from coursework.markup import is_test

ROOT = assignments.Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "coursework" / "sample.yml"
#: MyST that a plain notebook viewer would show as raw text.
MYST = re.compile(r"\{[a-z:-]+\}`|```\{|^\([\w-]+\)=\s*$|^:label:|^:class:", re.M)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    assert main(["release", str(SAMPLE), "--out", str(out)]) == 0
    return out


def test_release_writes_a_student_notebook_with_stubs_public_checks_and_no_solutions(released):
    sample = assignments.load(SAMPLE)
    nb = nbformat.read(released / "student" / "problem-set.ipynb", as_version=4)
    nbformat.validate(nb)
    answers = {
        c.metadata["coursework"]["answer"]: c.source
        for c in nb.cells
        if c.metadata.get("coursework", {}).get("answer")
    }
    assert answers == {e.grade_id: e.stub for e in sample.exercises}
    assert all("raise NotImplementedError" in source for source in answers.values())
    checks = [c for c in nb.cells if c.metadata.get("coursework", {}).get("test")]
    public = [t for e in sample.exercises for t in e.tests if t.public]
    assert [c.source for c in checks] == [t.source for t in public] and public
    text = "\n".join(c.source for c in nb.cells)
    assert "torch.logsumexp" not in text and "lu.sigmoid_focal_loss" not in text, (
        "a hidden test is in"
    )
    assert "np.log1p(np.exp(-np.abs(z)))" not in text, "a solution is in"
    assert "Dividing by the number of real tokens" not in text, "solution prose is in"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not MYST.search(cell.source), cell.source
        assert not is_test(cell) or cell.metadata.get("coursework", {}).get("test")


def test_release_writes_a_manifest(released):
    sample = assignments.load(SAMPLE)
    manifest = json.loads((released / "manifest.json").read_text())
    assert manifest["assignment"] == "sample-problem-set"
    assert manifest["grader_sha256"] == grader_fingerprint()
    assert manifest["max_points"] == sample.max_points == 13
    (notebook,) = manifest["notebooks"]
    assert notebook["source_sha256"] == sample.notebooks[0].sha256
    assert [(e["grade_id"], e["points"]) for e in notebook["exercises"]] == [
        (e.grade_id, e.points) for e in sample.exercises
    ]


def test_release_stops_when_a_secret_would_reach_students(tmp_path, monkeypatch):
    from coursework import release as releasing

    honest = releasing.student_edition

    def leaky(assignment, notebook):
        nb = honest(assignment, notebook)
        nb.cells.append(nbformat.v4.new_code_cell(notebook.exercises[0].solution))
        return nb

    monkeypatch.setattr(releasing, "student_edition", leaky)
    assert main(["release", str(SAMPLE), "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "student").exists()


def test_the_committed_fixtures_are_what_make_fixtures_writes(tmp_path):
    script = runpy.run_path(str(ROOT / "coursework" / "sample" / "make_fixtures.py"))
    script["write_fixtures"](tmp_path)
    committed = ROOT / "coursework" / "sample" / "fixtures"
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    for path in written:
        assert (tmp_path / path).read_bytes() == (committed / path).read_bytes(), (
            f"{path} is stale: run python coursework/sample/make_fixtures.py"
        )


def test_validate_passes_on_the_sample(capsys):
    """Reference at the maximum, stubs at 0, every fixture as expected, two gradings identical."""
    assert main(["validate", str(SAMPLE), "--jobs", "2"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "swallows-interrupt: 7/13 (flagged)" in out and "not-json: 0/13 (unreadable)" in out
