"""The reader notebook: a chapter as a plain Jupyter notebook that any viewer renders.

Students download it from the site, open it on Colab and run it in JupyterLab (``make lab``).
From the chapter's MyST source and what the book build computed, :func:`reader_notebook` makes
a notebook that needs no extension anywhere (JupyterLab, Colab, VS Code, GitHub):

* the Markdown is plain (:mod:`editions.myst`): glued numbers filled in with the build's values,
  exercises as headings, solutions folded in ``<details>``, citations as (Author, Year) with
  a reference list at the end, cross-references as links to the published site;
* the cells that only check the chapter's claims or glue its numbers (tagged ``check``) are
  gone, and with them every ``glue`` call; what is left is the code a student reads and runs;
* figure captions follow their figure cells as Markdown ("**Fig. 1.2.** ..."); code the site
  folds (``hide-input``, solutions) is collapsed with Jupyter's ``source_hidden``;
* the first cell says where the numbers come from, and the first code cell installs the
  course's library on Colab (and does nothing elsewhere);
* given the build's executed notebook, code cells carry its outputs (figures, printed values),
  numbered as one clean top-to-bottom run.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import jupytext
import nbformat
from nbformat import NotebookNode

from editions.bibliography import Bibliography
from editions.myst import Conversion, Solutions, convert_inline, convert_markdown
from editions.site import Site
from editions.streams import merge_streams
from editions.targets import Targets

#: Cells that exist only for the book build: they assert the chapter's claims and glue its
#: numbers into the text. No edition a student sees has them.
CHECK_TAG = "check"

COLAB_SETUP = '''\
# Running on Google Colab? Install the course's library first. Anywhere else this cell does
# nothing: from a clone of the repository, `make install` (or `pip install -e .`) installs it.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "lossutils @ git+{repository}"'''

PREFACE = """\
*This notebook is {which} of [{book}]({site}), "[{title}]({url})", as a plain \
notebook: run its cells from top to bottom. The numbers quoted in the text were computed by the \
book's own run of this code; the code is seeded, so your run gives the same numbers (on another \
kind of computer, perhaps in the last digits).*"""


def load_glue(path: Path) -> dict[str, dict[str, str]]:
    """The values a chapter glued, as the book build stored them (``NAME.glue.json``):
    ``name -> {mime type: value}``. A chapter that glues nothing has no such file."""
    if not path.is_file():
        return {}
    return {name: output["data"] for name, output in json.loads(path.read_text()).items()}


def reader_notebook(
    chapter: Path,
    glued: Mapping[str, Mapping[str, str]],
    *,
    site: Site,
    targets: Targets,
    bibliography: Bibliography,
    docname: str,
    executed: NotebookNode | None = None,
    drop_tags: Iterable[str] = (CHECK_TAG,),
    solutions: Solutions = "fold",
    stub: Callable[[str], str] | None = None,
    opening: str | None = None,
) -> NotebookNode:
    """The reader edition of ``chapter`` (a MyST Markdown notebook).

    Args:
      chapter: the chapter's source, ``chapters/NAME.md``.
      glued: its glued values, ``name -> {mime type: value}`` (:func:`load_glue`).
      site: the book's title, repository (Colab installs from it) and published URL.
      targets: the book's labels, for cross-references and numbers.
      bibliography: the book's references, for citations.
      docname: the chapter's page, ``chapters/NAME``.
      executed: the book build's executed notebook of the chapter; its outputs are kept.
      drop_tags: cells carrying any of these tags are left out (coursework adds ``test``).
      solutions: ``"fold"`` (the reader: folded), ``"show"``, or ``"remove"`` (student
        coursework: no solution prose, and no solution code unless ``stub`` is given).
      stub: with ``solutions="remove"``, keep each solution code cell with ``stub(source)``.
      opening: Markdown to show right under the chapter's title: the site's chapter-opening
        box (what you will learn, what you need first, the time;
        :func:`editions.outline.opening_markdown`).

    Returns:
      A valid nbformat 4 notebook.

    Raises:
      editions.myst.MystSyntaxError: markup with no plain form, or a glue name never glued.
      ValueError: ``executed`` is not an execution of this chapter.
    """
    nb = jupytext.read(chapter)
    if executed is not None:
        _copy_outputs(executed, nb, chapter)
    conv = Conversion(
        glued=glued,
        targets=targets,
        bibliography=bibliography,
        docname=docname,
        solutions=solutions,
    )
    drop = set(drop_tags)
    cells: list[NotebookNode] = []
    text, position = chapter.read_text(), 0
    for cell in nb.cells:
        # The cell's first line in the source file, for error messages.
        found = text.find(cell.source, position) if cell.source else -1
        if found >= 0:
            position = found
        conv.line = text.count("\n", 0, position) + 1
        if drop & set(cell.metadata.get("tags", [])):
            continue
        if cell.cell_type == "markdown":
            markdown = convert_markdown(cell.source, conv)
            if opening and (title := re.search(r"^# .*$", markdown, flags=re.M)):
                markdown = f"{markdown[: title.end()]}\n\n{opening}{markdown[title.end() :]}"
                opening = None
            if markdown.strip():
                cells.append(nbformat.v4.new_markdown_cell(markdown))
        elif cell.cell_type == "code":
            cells.extend(_code_cells(cell, conv, stub))
        else:
            cells.append(cell)
    if conv.in_solution:
        raise conv.error(f"the {{solution-start}} of {conv.in_solution} has no {{solution-end}}")
    if conv.cited:
        cells.append(
            nbformat.v4.new_markdown_cell(
                "## References\n\n" + bibliography.reference_list(conv.cited)
            )
        )
    page = targets.page(docname)
    preface = PREFACE.format(
        which=f"chapter {page.number}" if page.number else "a chapter",
        book=site.title,
        site=site.url,
        title=page.title,
        url=page.url,
    )
    setup = nbformat.v4.new_code_cell(COLAB_SETUP.format(repository=site.repository))
    setup.metadata["tags"] = ["colab-setup"]
    out = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(preface), setup, *_merge_markdown(cells)]
    )
    out.metadata = {
        "kernelspec": nb.metadata["kernelspec"],
        "language_info": {"name": "python"},
        "colab": {"name": f"{chapter.stem}.ipynb", "provenance": []},
    }
    _number_executions(out)
    for index, cell in enumerate(out.cells):  # the same ids on every build (nbformat draws them)
        cell.id = f"{chapter.stem}-{index}"
    nbformat.validate(out)
    return out


def _code_cells(cell: NotebookNode, conv: Conversion, stub) -> list[NotebookNode]:
    """A code cell as the reader sees it, followed by its figure caption if it has one."""
    tags = set(cell.metadata.get("tags", []))
    out = copy.deepcopy(cell)
    if conv.in_solution or "solution" in tags:
        if conv.solutions == "remove":
            if stub is None or "solution" not in tags:
                return []
            out.source = stub(out.source)
        elif conv.solutions == "fold":
            out.metadata.setdefault("jupyter", {})["source_hidden"] = True
    if tags & {"hide-input", "hide-cell"}:
        out.metadata.setdefault("jupyter", {})["source_hidden"] = True
    if "test" in tags:  # the autograder's check of an exercise, public here as a self-check
        note = nbformat.v4.new_markdown_cell(
            "*Check your answer: this cell tests the function "
            "above, and passes silently when it is right.*"
        )
        return [note, out]
    cells = [out]
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    if figure.get("caption"):
        number = conv.targets[figure["name"]].number if figure.get("name") in conv.targets else ""
        caption = convert_inline(figure["caption"], conv)
        cells.append(
            nbformat.v4.new_markdown_cell(f"**{number}.** {caption}" if number else caption)
        )
    return cells


def _copy_outputs(executed: NotebookNode, nb: NotebookNode, chapter: Path) -> None:
    """Give each code cell of ``nb`` the outputs of the same cell in ``executed``, each cell's
    printed text merged as the site shows it (:func:`editions.streams.merge_streams`)."""
    ran = [c for c in executed.cells if c.cell_type == "code"]
    mine = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in ran] != [c.source for c in mine]:
        raise ValueError(
            f"the executed notebook is not an execution of {chapter} as it is now "
            "(its code cells differ): rebuild the book"
        )
    for source, target in zip(ran, mine):
        target.outputs = merge_streams(copy.deepcopy(source.get("outputs", [])))
        target.execution_count = source.get("execution_count")


def _merge_markdown(cells: list[NotebookNode]) -> list[NotebookNode]:
    """Join neighbouring Markdown cells (left next to each other by dropped cells)."""
    merged: list[NotebookNode] = []
    for cell in cells:
        if cell.cell_type == "markdown" and merged and merged[-1].cell_type == "markdown":
            merged[-1].source += "\n\n" + cell.source
        else:
            merged.append(cell)
    return merged


def _number_executions(nb: NotebookNode) -> None:
    """Number the cells the build ran as one run from 1 (the dropped cells left gaps)."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is not None:
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
        else:
            cell.execution_count = None
