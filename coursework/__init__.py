"""Coursework: student notebooks, a solution-free student site and a sandboxed autograder.

An instructor assigns exercises written in the course's exercise markup (``CONTRIBUTING.md``,
"Exercise markup") and lists them in an assignment file (``coursework/sample.yml``). Then::

    python -m coursework release  ASSIGNMENT --out DIR            # student notebooks + manifest
    python -m coursework grade    ASSIGNMENT SUBMISSIONS --out DIR [--jobs N] [--only A,B]
    python -m coursework validate ASSIGNMENT                      # the grader checks itself
    python -m coursework student-site --out DIR                   # the book without solutions

Modules, one job each:

* :mod:`coursework.markup`: reads an exercise's cells (answer, tests, points, forbidden modules)
  and writes the stub that replaces a solution;
* :mod:`coursework.assignment`: an assignment file and the notebook sources it names;
* :mod:`coursework.static`: what the grader learns from an answer without running it;
* :mod:`coursework.student`: the student edition of a notebook (through :mod:`editions`);
* :mod:`coursework.leaks`: the check that no solution or hidden test reaches students;
* :mod:`coursework.release`: ``release``;
* :mod:`coursework.plan`, :mod:`coursework.kernel_helper`, :mod:`coursework.worker`,
  :mod:`coursework.sandbox`: running one submission in a limited child process;
* :mod:`coursework.grade`, :mod:`coursework.feedback`: ``grade``, its results and feedback;
* :mod:`coursework.validate`: ``validate``;
* :mod:`coursework.site`: the student site (``make student-site``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__version__ = "1.0.0"

PACKAGE = Path(__file__).resolve().parent


def grader_fingerprint() -> str:
    """A hash of the grader's own code: results cached by an older grader are not reused."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
