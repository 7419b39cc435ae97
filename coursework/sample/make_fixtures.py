"""Write the sample's fixtures: submissions that a grader must score right, and their scores.

Usage: python coursework/sample/make_fixtures.py   (from the repository root)

Each fixture is ``fixtures/NAME/problem-set.ipynb``, the released student notebook with the
answer cells filled in as a student might, plus ``fixtures/expected.yml``, the scores and status
``python -m coursework validate`` requires. They are committed; ``tests/test_coursework.py``
checks that this script still writes the same files, so edit the answers here, not the files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from coursework import assignment as assignments  # noqa: E402
from coursework.release import release  # noqa: E402

CORRECT = {
    "ps-logsumexp": """\
def logsumexp(z, axis=-1):
    z = np.asarray(z, dtype=float)
    top = z.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=axis, keepdims=True))).squeeze(axis)""",
    "ps-masked-mean": """\
def masked_token_mean(token_losses, mask):
    keep = np.asarray(mask).astype(bool)
    if not keep.any():
        return 0.0
    return np.asarray(token_losses)[keep].mean()""",
    "ps-smooth-l1-grad": """\
def smooth_l1_grad(pred, target, beta=1.0):
    r = np.asarray(pred, dtype=float) - target
    g = np.where(np.abs(r) < beta, r / beta, np.sign(r))
    return g / g.size""",
    "ps-weighted-bce": """\
def weighted_bce_with_logits(z, y, pos_weight):
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    log_p = -np.logaddexp(0.0, -z)         # log sigmoid(z)
    log_not_p = -np.logaddexp(0.0, z)      # log(1 - sigmoid(z))
    return -np.mean(pos_weight * y * log_p + (1 - y) * log_not_p)""",
    "ps-focal": """\
def binary_focal_loss(z, y, gamma=2.0):
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    s = np.where(y == 1, z, -z)
    ce = np.logaddexp(0.0, -s)
    return np.mean(np.exp(-gamma * np.logaddexp(0.0, s)) * ce)""",
}

WRONG = {  # plausible mistakes: overflow, the wrong denominator, no mean, the naive formula
    "ps-logsumexp": """\
def logsumexp(z, axis=-1):
    return np.log(np.sum(np.exp(z), axis=axis))""",
    "ps-masked-mean": """\
def masked_token_mean(token_losses, mask):
    return np.mean(token_losses * mask)""",
    "ps-smooth-l1-grad": """\
def smooth_l1_grad(pred, target, beta=1.0):
    r = pred - target
    return np.clip(r / beta, -1, 1)""",
    "ps-weighted-bce": """\
def weighted_bce_with_logits(z, y, pos_weight):
    p = 1 / (1 + np.exp(-z))
    return np.mean(-(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p)))""",
}

#: Each fixture: the answers that differ from CORRECT (None: the cell is gone), how the
#: notebook is changed, and the scores it must get.
FIXTURES = {
    "correct": {"answers": {}},
    "wrong": {"answers": WRONG},
    "syntax-error": {
        "answers": {
            "ps-logsumexp": """\
def logsumexp(z, axis=-1):
    m = np.max(z, axis=axis, keepdims=True
    return m.squeeze(axis) + np.log(np.sum(np.exp(z - m), axis=axis))"""
        }
    },
    "deleted-cells": {
        "answers": {"ps-masked-mean": None},
        "strip_metadata": True,
        "drop_other_cells": True,
    },
    "infinite-loop": {
        "answers": {
            "ps-smooth-l1-grad": """\
def smooth_l1_grad(pred, target, beta=1.0):
    while True:  # waits for a convergence that never comes
        pass"""
        }
    },
    "swallows-interrupt": {
        "answers": {
            "ps-weighted-bce": """\
def weighted_bce_with_logits(z, y, pos_weight):
    while True:
        try:
            sum(range(10**6))
        except KeyboardInterrupt:
            pass  # the grader's interrupt is caught and ignored"""
        }
    },
    "os-exit": {
        "answers": {
            "ps-focal": """\
import os

def binary_focal_loss(z, y, gamma=2.0):
    os._exit(0)  # the kernel process ends in the middle of the test"""
        }
    },
    "memory-bomb": {
        "answers": {
            "ps-masked-mean": """\
def masked_token_mean(token_losses, mask):
    table = np.ones(2**31)  # 16 GiB
    return float(np.sum(token_losses * mask) / np.sum(mask))"""
        }
    },
    "tamper-isclose": {
        "answers": {
            "ps-logsumexp": """\
np.isclose = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True

def logsumexp(z, axis=-1):
    return np.zeros(np.delete(np.shape(z), axis))"""
        }
    },
    "tamper-lossutils": {
        "answers": {
            "ps-focal": """\
import sys

def binary_focal_loss(z, y, gamma=2.0):
    sys.modules["lossutils"].sigmoid_focal_loss = lambda *args, **kwargs: 0.0
    np.isclose = lambda *args, **kwargs: True
    return 0.0"""
        }
    },
    "not-json": {"raw": "logsumexp = lambda z: z  # a .py file renamed to .ipynb\n"},
}

EXPECTED = {
    "correct": ("ok", {}),
    "wrong": (
        "ok",
        {"ps-logsumexp": 0, "ps-masked-mean": 0, "ps-smooth-l1-grad": 0, "ps-weighted-bce": 1},
    ),
    "syntax-error": ("ok", {"ps-logsumexp": 0}),
    "deleted-cells": ("ok", {"ps-masked-mean": 0}),
    "infinite-loop": ("ok", {"ps-smooth-l1-grad": 0}),
    "swallows-interrupt": ("flagged", {"ps-weighted-bce": 0, "ps-focal": 0}),
    "os-exit": ("flagged", {"ps-focal": 0}),
    "memory-bomb": ("ok", {"ps-masked-mean": 0}),
    "tamper-isclose": ("flagged", {"ps-logsumexp": 0}),
    "tamper-lossutils": ("flagged", {"ps-focal": 0}),
    "not-json": ("unreadable", None),
}


def fixture_notebook(student: nbformat.NotebookNode, spec: dict) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(student)
    answers = {**CORRECT, **spec.get("answers", {})}
    cells = []
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("coursework", {}).get("answer")
        if gid is not None:
            if answers.get(gid) is None:
                continue
            cell.source = answers[gid]
            if spec.get("strip_metadata"):
                cell.metadata = {}
        elif spec.get("drop_other_cells") and cell.cell_type == "code":
            continue
        cells.append(cell)
    nb.cells = cells
    return nb


def write_fixtures(out: Path = HERE / "fixtures") -> list[Path]:
    assignment = assignments.load(HERE.parent / "sample.yml")
    with tempfile.TemporaryDirectory() as tmp:
        release(assignment, Path(tmp))
        student = nbformat.read(Path(tmp) / "student" / "problem-set.ipynb", as_version=4)
    written = []
    for name, spec in FIXTURES.items():
        path = out / name / "problem-set.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if "raw" in spec:
            path.write_text(spec["raw"])
        else:
            nbformat.write(fixture_notebook(student, spec), path)
        written.append(path)
    points = {e.grade_id: e.points for e in assignment.exercises}
    expected = {}
    for name, (status, scores) in EXPECTED.items():
        scores = {g: 0 for g in points} if scores is None else {**points, **scores}
        expected[name] = {"status": status, "total": sum(scores.values()), "scores": scores}
    header = "# Written by make_fixtures.py: the status and points each fixture must get.\n"
    (out / "expected.yml").write_text(header + yaml.safe_dump(expected, sort_keys=True))
    return written + [out / "expected.yml"]


if __name__ == "__main__":
    for path in write_fixtures():
        print(path)
