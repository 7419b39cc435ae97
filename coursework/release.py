"""``python -m coursework release ASSIGNMENT --out DIR``: what students get, and a manifest.

Writes ``DIR/student/NAME.ipynb`` for each notebook of the assignment (the student edition,
:mod:`coursework.student`) and ``DIR/manifest.json`` (the grade ids, their points and tests,
a hash of each source and the grader's version), then runs the leak check over everything
written: if any line of a solution or a hidden test, or of solution prose, is in it, the
student folder is deleted and the command fails.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat

from coursework import __version__, grader_fingerprint
from coursework.assignment import Assignment, AssignmentError, SourceNotebook
from coursework.leaks import LeakError, describe, scan
from coursework.student import ROOT, student_notebook
from editions.toc import toc_files

#: Where ``make book`` builds; a chapter released as coursework takes its numbers from there.
BUILD = ROOT / "_build"

PREFACE = """\
*Assignment **{assignment}** from [{book}]({site}).* Each exercise below has an answer cell \
with the function's signature and a line that raises `NotImplementedError`: replace that line \
with your answer, run the notebook from top to bottom, and hand in this file as `{name}.ipynb`. \
Keep your answers in their cells: the grader finds each one by a mark in the cell's metadata, \
which Jupyter keeps when you edit, copy or move the cell."""


def _book():
    """The course site, its labels (if the book was built) and its references."""
    from editions.bibliography import Bibliography
    from editions.site import Site
    from editions.targets import Targets

    site = Site.from_config(ROOT / "_config.yml")
    try:
        targets = Targets.from_doctrees(BUILD / ".doctrees", site.url)
    except FileNotFoundError:
        targets = Targets({}, {}, site.url)
    return site, targets, Bibliography(ROOT / "references.bib")


def _assignment_targets(book_targets, notebook: SourceNotebook, docname: str):
    """The book's labels, plus the notebook's own exercises numbered 1, 2, ... and its page."""
    from editions.targets import Target, Targets

    labels = dict(book_targets.items())
    text = notebook.path.read_text()
    for k, label in enumerate(re.findall(r"\{exercise\}[^\n]*\n:label:\s*(\S+)", text), start=1):
        labels[label] = Target(book_targets.site_url, number=f"Exercise {k}")
    title = next(
        (
            c.source.lstrip("# ").splitlines()[0]
            for c in notebook.notebook.cells
            if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")
        ),
        notebook.name,
    )
    pages = {**book_targets.pages, docname: Target(book_targets.site_url, title)}
    return Targets(labels, pages, book_targets.site_url)


def _book_page(path: Path) -> str | None:
    """The book page (``chapters/NAME``) a source is, or None for a private notebook."""
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    docname = relative.with_suffix("").as_posix()
    return docname if docname in toc_files() else None


def student_edition(assignment: Assignment, notebook: SourceNotebook) -> nbformat.NotebookNode:
    """The student notebook of one source: for a page of the book (a chapter assigned as it is),
    with the numbers and labels of the last ``make book``; for a private notebook, its own."""
    from editions.reader import load_glue

    site, targets, bibliography = _book()
    page = _book_page(notebook.path)
    glued = {}
    if page is not None:
        glue_file = BUILD / "jupyter_execute" / f"{page}.glue.json"
        if page not in targets.pages or (
            "{glue" in notebook.path.read_text() and not glue_file.is_file()
        ):
            raise AssignmentError(
                f"{notebook.path} is a page of the book: its student notebook quotes the "
                "numbers the book build computed, so build the book first (make book)"
            )
        glued, docname = load_glue(glue_file), page
    else:
        docname = f"coursework/{notebook.name}"
        targets = _assignment_targets(targets, notebook, docname)
    student = student_notebook(
        notebook.path,
        docname=docname,
        site=site,
        bibliography=bibliography,
        targets=targets,
        glued=glued,
        preface=PREFACE.format(
            assignment=assignment.name, name=notebook.name, book=site.title, site=site.url
        ),
    )
    student.metadata["coursework"] = {
        "assignment": assignment.name,
        "notebook": notebook.name,
        "source_sha256": notebook.sha256,
    }
    return student


def manifest(assignment: Assignment) -> dict:
    return {
        "assignment": assignment.name,
        "grader_version": __version__,
        "grader_sha256": grader_fingerprint(),
        "max_points": assignment.max_points,
        "forbid": list(assignment.forbid),
        "notebooks": [
            {
                "name": nb.name,
                "file": f"{nb.name}.ipynb",
                "source_sha256": nb.sha256,
                "exercises": [
                    {
                        "grade_id": e.grade_id,
                        "points": e.points,
                        "forbid": list(assignment.forbidden(e)),
                        "tests": [
                            {"label": t.label, "points": t.points, "visibility": t.visibility}
                            for t in e.tests
                        ],
                    }
                    for e in nb.exercises
                ],
            }
            for nb in assignment.notebooks
        ],
    }


def release(assignment: Assignment, out: Path) -> dict:
    """Write the student notebooks and the manifest into ``out``; return the manifest.

    Raises:
      LeakError: a secret is in what was written (the student folder is then removed).
    """
    student_dir = out / "student"
    student_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in assignment.notebooks:
        path = student_dir / f"{notebook.name}.ipynb"
        nbformat.write(student_edition(assignment, notebook), path)
        written.append(path)
    data = manifest(assignment)
    (out / "manifest.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    leaks = scan(written + [out / "manifest.json"], assignment.secrets)
    if leaks:
        shutil.rmtree(student_dir)
        raise LeakError(f"release stopped: students would see\n{describe(leaks)}")
    return data
