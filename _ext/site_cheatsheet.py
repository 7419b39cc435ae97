"""The loss cheat sheet, made from ``lossutils.advice.choose_loss`` at build time.

``cheatsheet.md`` lists situations in a ``{loss-cheatsheet}`` directive: what to ask
``choose_loss``, the mistake people make in that situation, and the label of the section that
shows it::

    ```{loss-cheatsheet}
    - situation: Regression with gross outliers
      choose_loss: {task: regression, outliers: true}
      mistake: A threshold in the wrong units ...
      see: regression-losses
    ```

Everything else in a row (the output activation, the ``lossutils`` call, the PyTorch class and
its arguments, the reason) is what ``choose_loss`` returns when the book is built, so the sheet
cannot drift from the function. An argument of the recommendation that the sheet cannot write as
PyTorch code fails the build rather than being dropped.
"""

from __future__ import annotations

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

from site_outline import inline_nodes

#: How a ``Recommendation.kwargs`` entry is written in the PyTorch call: a format for its value,
#: or None for an argument ``torch.nn`` has no equivalent of (the reason says what to do).
PYTORCH_ARGUMENTS = {
    "delta": "delta={value:g}",
    "w1": "pos_weight=torch.tensor({value:g})",
    "gamma": None,
    "alpha": None,
}
#: Arguments left out of the PyTorch call at these values (PyTorch's default is the same).
PYTORCH_DEFAULTS = {"w0": 1.0}

FIELDS = {"situation", "choose_loss", "mistake", "see"}


class CheatsheetError(ValueError):
    """A situation the sheet cannot render."""


def pytorch_call(pytorch: str, kwargs: dict) -> str:
    """``"nn.BCEWithLogitsLoss(pos_weight=torch.tensor(19))"`` from a recommendation."""
    arguments = []
    for name, value in kwargs.items():
        if PYTORCH_DEFAULTS.get(name) == value:
            continue
        if name not in PYTORCH_ARGUMENTS:
            raise CheatsheetError(
                f"choose_loss recommends {name}={value!r}, which the cheat sheet cannot write "
                f"as a torch.nn argument: add it to PYTORCH_ARGUMENTS in _ext/site_cheatsheet.py"
            )
        if PYTORCH_ARGUMENTS[name] is not None:
            arguments.append(PYTORCH_ARGUMENTS[name].format(value=value))
    return f"nn.{pytorch}({', '.join(arguments)})"


def lossutils_call(loss: str, activation: str, kwargs: dict) -> str:
    """``"lu.huber(pred, y, delta=1)"``: a prediction, or logits when an activation follows."""
    first = "pred" if activation == "identity" else "logits"
    arguments = [first, "y"] + [f"{k}={v:g}" for k, v in kwargs.items()]
    return f"lu.{loss}({', '.join(arguments)})"


def rows(situations: list[dict]) -> list[dict]:
    """Each situation with ``choose_loss``'s recommendation for it, as text."""
    from lossutils.advice import choose_loss

    out = []
    for item in situations:
        unknown = set(item) - FIELDS
        missing = {"situation", "choose_loss", "mistake"} - set(item)
        if unknown or missing:
            raise CheatsheetError(
                f"{item.get('situation', item)!r}: expected the fields {sorted(FIELDS)} "
                f"(see optional), got unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        arguments = dict(item["choose_loss"])
        task = arguments.pop("task")
        rec = choose_loss(task, **arguments)
        out.append(
            {
                "situation": item["situation"],
                "activation": rec.activation,
                "lossutils": lossutils_call(rec.loss, rec.activation, rec.kwargs),
                "pytorch": pytorch_call(rec.pytorch, rec.kwargs),
                "reason": rec.reason,
                "mistake": item["mistake"],
                "see": item.get("see"),
            }
        )
    return out


def _cell(*children, classes=()) -> nodes.entry:
    return nodes.entry("", *children, classes=list(classes))


class LossCheatsheet(SphinxDirective):
    has_content = True

    def run(self):
        import lossutils.advice

        # Re-read this page whenever the advice changes.
        self.env.note_dependency(lossutils.advice.__file__)
        situations = yaml.safe_load("\n".join(self.content)) or []
        try:
            found = rows(situations)
        except (CheatsheetError, ValueError, TypeError) as error:
            raise self.error(f"loss-cheatsheet: {error}") from error
        table = nodes.table(classes=["loss-cheatsheet"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (20, 14, 36, 30):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += nodes.row(
            "",
            *(
                _cell(nodes.paragraph(t, t))
                for t in ("Situation", "Output activation", "Loss, and why", "Common mistake")
            ),
        )
        body = nodes.tbody()
        group += body
        for row in found:
            loss = _cell(
                nodes.paragraph("", "", nodes.literal(row["lossutils"], row["lossutils"])),
                nodes.paragraph("", "", nodes.literal(row["pytorch"], row["pytorch"])),
                nodes.paragraph(row["reason"], row["reason"], classes=["cheatsheet-reason"]),
                classes=["cheatsheet-loss"],
            )
            mistake = nodes.paragraph("", "", *inline_nodes(row["mistake"]))
            if row["see"]:
                mistake += nodes.Text(" See ")
                mistake += addnodes.pending_xref(
                    "",
                    nodes.inline("", ""),
                    refdomain="std",
                    reftype="ref",
                    reftarget=row["see"],
                    refexplicit=False,
                    refwarn=True,
                    refdoc=self.env.docname,
                )
                mistake += nodes.Text(".")
            body += nodes.row(
                "",
                _cell(
                    nodes.paragraph("", "", nodes.strong(row["situation"], row["situation"])),
                    classes=["cheatsheet-situation"],
                ),
                _cell(
                    nodes.paragraph("", "", nodes.literal(row["activation"], row["activation"])),
                    classes=["cheatsheet-activation"],
                ),
                loss,
                _cell(mistake, classes=["cheatsheet-mistake"]),
            )
        return [table]


def setup(app):
    app.add_directive("loss-cheatsheet", LossCheatsheet)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
