"""Folded code on the website: toggles that say what they show, solutions in one click, and no
grader markers.

myst-nb folds a ``hide-input`` cell behind "Show code cell source" and a ``hide-cell`` cell
behind "Show code cell content": its own jargon, the same on every cell. A code exercise's
solution is a ``solution, hide-cell`` cell inside the solution's dropdown, so it took two clicks
("Solution", then "Show code cell content") and then showed the autograder's ``# BEGIN
SOLUTION`` / ``# END SOLUTION`` lines. This post-transform runs before myst-nb's
(``HideInputCells``, priority 199), which reads the labels it sets:

* a folded cell whose output is a figure says so: "Show the code for Fig. 3.2"; other folded
  cells say "Show the code", "Show the code and its output" or "Show the output";
* a ``solution`` cell is not folded a second time (its dropdown already folds it), so one click
  on "Solution" shows the code;
* the lines ``# BEGIN SOLUTION`` and ``# END SOLUTION`` are left out of the code shown (the
  notebooks the build executes, and the student editions made from them, keep them).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

#: The autograder's markers around a reference solution (CONTRIBUTING.md, "Exercise markup").
GRADER_MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n?", flags=re.M)

SOLUTION_TAG = "solution"


def _tags(cell) -> set[str]:
    return set((cell.get("cell_metadata") or {}).get("tags", []))


def _figure_number(env, docname: str, cell) -> str:
    """The number of the first numbered figure in the cell's output ("Fig. 3.2"), or ""."""
    numbers = env.toc_fignumbers.get(docname, {}).get("figure", {})
    for figure in cell.findall(nodes.figure):
        for figure_id in figure["ids"]:
            if figure_id in numbers:
                return "Fig. " + ".".join(map(str, numbers[figure_id]))
    return ""


def _has_output(cell) -> bool:
    return any(child.get("nb_element") == "cell_code_output" for child in cell.children)


def labels(mode: str, figure: str, has_output: bool) -> tuple[str, str]:
    """The toggle's ``(show, hide)`` text for a cell folded in ``mode`` (myst-nb's
    ``hide_mode``: ``input``, ``output``, ``input+output`` or ``all``)."""
    if mode == "output":
        what = f"{figure}" if figure else "the output"
    elif figure:
        what = f"the code for {figure}"
    elif mode == "all" and has_output:
        what = "the code and its output"
    else:
        what = "the code"
    return f"Show {what}", f"Hide {what}"


def strip_markers(block: nodes.literal_block) -> None:
    text = block.astext()
    stripped = GRADER_MARKER.sub("", text)
    if stripped != text:
        block.children = [nodes.Text(stripped)]
        block.rawsource = stripped


class LabelFoldedCode(SphinxPostTransform):
    default_priority = 150  # before myst-nb's HideInputCells (199)
    formats = ("html",)

    def run(self, **kwargs):
        docname = self.env.docname
        for cell in self.document.findall(nodes.container):
            if cell.get("nb_element") != "cell_code":
                continue
            if SOLUTION_TAG in _tags(cell):
                for block in cell.findall(nodes.literal_block):
                    strip_markers(block)
                cell.attributes.pop("hide_mode", None)  # the solution's dropdown folds it
                continue
            mode = cell.get("hide_mode")
            if not mode:
                continue
            figure = _figure_number(self.env, docname, cell)
            cell["prompt_show"], cell["prompt_hide"] = labels(mode, figure, _has_output(cell))


def setup(app):
    app.add_post_transform(LabelFoldedCode)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
