"""The student edition of a notebook: the reader notebook, with the exercises' answers taken out.

Students get the same clean notebook as readers (:func:`editions.reader.reader_notebook`:
plain Markdown, glued numbers filled in, check cells dropped), made with solutions removed:

* each answer cell is the stub (:func:`coursework.markup.stub`), marked
  ``metadata.coursework.answer = GRADE_ID`` so that the grader finds it whatever the student
  does to the other cells;
* public tests stay, as self-checks, marked ``metadata.coursework.test``; hidden tests go;
* solution prose (``{solution}``, ``{solution-start}`` ... ``{solution-end}``) goes.

This module is the one place where the coursework meets the editions: it asks
``reader_notebook`` for ``solutions="remove"`` with a stub, and removes hidden tests before.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import jupytext
from nbformat import NotebookNode

from coursework import markup
from editions import reader

ROOT = Path(__file__).resolve().parents[1]


def student_notebook(
    source: Path,
    *,
    docname: str,
    site,
    targets,
    bibliography,
    glued: Mapping[str, Mapping[str, str]] | None = None,
    preface: str | None = None,
) -> NotebookNode:
    """The student edition of the MyST notebook ``source``.

    Args:
      source: a chapter or an assignment's notebook source.
      docname: its page in the book (``chapters/NAME``), for the preface and relative links.
      site, targets, bibliography: as :func:`editions.reader.reader_notebook` takes them.
      glued: the values its ``{glue}`` roles show (none for an assignment outside the book).
      preface: Markdown for the first cell instead of the reader's "this notebook is chapter N".
    """
    nb = jupytext.read(source)
    exercises = markup.read_exercises(nb, str(source))
    by_source = {e.solution: e.grade_id for e in exercises.values()}
    nb.cells = [
        c
        for c in nb.cells
        if not (markup.is_test(c) and c.metadata.get("visibility", "hidden") != "public")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        jupytext.write(nb, copy, fmt="md:myst")
        student = reader.reader_notebook(
            copy,
            glued or {},
            site=site,
            targets=targets,
            bibliography=bibliography,
            docname=docname,
            solutions="remove",
            stub=lambda text: markup.stub(text, by_source[text]),
        )
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("grade_id")
        if markup.is_answer(cell) and gid:
            cell.metadata = {"coursework": {"answer": gid}}  # visible, and nothing else of ours
        elif markup.is_test(cell) and gid:
            label = next(
                t.label
                for t in exercises[gid].tests
                if t.cell is not None and t.source == cell.source
            )
            cell.metadata = {"coursework": {"test": label}}
    if preface is not None:
        student.cells[0].source = preface
    student.metadata["coursework"] = {"source": source.name}
    return student
