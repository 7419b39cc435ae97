"""MyST Markdown to the plain Markdown that JupyterLab, Colab, VS Code and GitHub all render.

The chapters' prose uses MyST roles (``{glue:text}`name:.3f```, ``{cite:p}`key```,
``{ref}`label```, ``{numref}`fig-name```) and directives (```` ```{exercise} ````,
```` ```{solution} ````, admonitions, labelled equations). No notebook viewer knows them, so
each gets a plain form here, one function per construct:

* glued numbers: the value the book build computed, formatted as on the page (:func:`glue_role`);
* citations: "(Author, Year)", collected for a reference list (:func:`cite_role`);
* cross-references: a link to the published page, with the site's title or number
  (:func:`ref_role`, :func:`numref_role`, :func:`eq_role`, :func:`doc_role`); a glossary
  term, a link to its entry (:func:`term_role`);
* exercises: a heading with the site's number; solutions: a ``<details>`` block, folded
  (:func:`exercise_directive`, :func:`solution_directive`);
* admonitions: a block quote with a bold title (:func:`admonition_directive`);
* equations: kept as ``$...$``/``$$...$$``; a label becomes ``\\tag{n}`` with the site's number,
  and amsmath environments become ``aligned`` inside ``$$`` (:func:`display_math`).

Anything else raises :class:`MystSyntaxError` naming the chapter, the line and the construct,
so a new kind of markup fails the build instead of reaching students as raw syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import yaml

from editions.bibliography import Bibliography
from editions.targets import Targets

Solutions = Literal["fold", "show", "remove"]


class MystSyntaxError(ValueError):
    """MyST markup that has no plain-Markdown form here (or is malformed)."""


@dataclass
class Conversion:
    """What converting one chapter needs, and what it collects on the way.

    Attributes:
      glued: the chapter's glued values, ``name -> {mime type: value}`` as the book build
        stored them (``_build/jupyter_execute/<chapter>.glue.json``).
      targets: the book's labels (:class:`editions.targets.Targets`).
      bibliography: the book's references.
      docname: the chapter's page (``chapters/what-is-a-loss``), for relative ``{doc}`` links.
      solutions: ``"fold"`` (in ``<details>``), ``"show"`` or ``"remove"``.
      cited: every citation key met so far, in order (for the reference list).
      in_solution: the exercise label of a ``{solution-start}`` whose ``{solution-end}`` has
        not come yet: the cells in between belong to the solution.
    """

    glued: Mapping[str, Mapping[str, str]]
    targets: Targets
    bibliography: Bibliography
    docname: str = ""
    solutions: Solutions = "fold"
    cited: list[str] = field(default_factory=list)
    in_solution: str | None = None
    line: int = 0  # first line of the text being converted, for error messages

    def error(self, message: str, offset: int = 0) -> MystSyntaxError:
        return MystSyntaxError(f"{self.docname or 'chapter'}, line {self.line + offset}: {message}")


# -- roles ---------------------------------------------------------------------------------------


def _label_and_text(content: str) -> tuple[str, str]:
    """``text <label>`` -> (label, text); ``label`` -> (label, "")."""
    match = re.fullmatch(r"(?P<text>.*?)\s*<(?P<label>[^<>]+)>", content, flags=re.S)
    return (match["label"].strip(), match["text"].strip()) if match else (content.strip(), "")


def _link(text: str, url: str) -> str:
    return f"[{text.replace('[', '(').replace(']', ')')}]({url})"


def glue_role(name: str, content: str, conv: Conversion) -> str:
    """``{glue:text}`key:.3f``` (also ``{glue}``, ``{glue:md}``): the glued value, formatted
    exactly as myst-nb formats it on the page."""
    from myst_nb.core.variables import format_plain_text  # the page's own formatter

    key, _, spec = content.rpartition(":") if ":" in content else (content, "", "")
    if name == "glue:md":
        key, spec = (content.rpartition(":")[0], "") if ":" in content else (content, "")
    if key not in conv.glued:
        raise conv.error(f"{{{name}}}`{content}`: nothing is glued under {key!r}")
    data = conv.glued[key]
    if name == "glue:md":
        if "text/markdown" not in data:
            raise conv.error(f"{{glue:md}}`{content}`: {key!r} has no text/markdown value")
        return data["text/markdown"]
    if "text/plain" not in data:
        raise conv.error(f"{{{name}}}`{content}`: {key!r} has no text/plain value")
    return format_plain_text(data["text/plain"], spec if name == "glue:text" and spec else "")


def cite_role(name: str, content: str, conv: Conversion) -> str:
    """``{cite:p}`a,b``` -> "(A, 2016; B, 2017)"; ``{cite:t}`a``` -> "A (2016)"."""
    keys = [k.strip() for k in content.split(",") if k.strip()]
    conv.cited.extend(keys)
    return (
        conv.bibliography.textual(keys)
        if name == "cite:t"
        else conv.bibliography.parenthetical(keys)
    )


def ref_role(name: str, content: str, conv: Conversion) -> str:
    """``{ref}`label``` or ``{ref}`text <label>```: a link with the section's title (or the
    figure's or exercise's number) to the published page."""
    label, text = _label_and_text(content)
    target = conv.targets[label]
    return _link(text or target.title or target.number or label, target.url)


def numref_role(name: str, content: str, conv: Conversion) -> str:
    """``{numref}`fig-name``` -> "[Fig. 7.1](url)"; ``{numref}`Figure %s <fig-name>```."""
    label, text = _label_and_text(content)
    target = conv.targets[label]
    if not target.number:
        raise conv.error(f"{{numref}}`{content}`: the site gives {label!r} no number")
    bare = target.number.split(" ")[-1].strip("()")
    if text:
        text = text.replace("%s", bare).replace("{number}", bare).replace("{name}", target.title)
    return _link(text or target.number, target.url)


def eq_role(name: str, content: str, conv: Conversion) -> str:
    """``{eq}`label``` -> "[(3.1)](url)"."""
    target = conv.targets[content.strip()]
    return _link(target.number or content, target.url)


def doc_role(name: str, content: str, conv: Conversion) -> str:
    """``{doc}`../intro``` or ``{doc}`text <path>```: a link to that page, with its title."""
    path, text = _label_and_text(content)
    if not path.startswith("/"):
        base = conv.docname.rsplit("/", 1)[0] + "/" if "/" in conv.docname else ""
        path = base + path
    parts: list[str] = []
    for part in path.strip("/").split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    page = conv.targets.page("/".join(parts))
    return _link(text or page.title, page.url)


def term_role(name: str, content: str, conv: Conversion) -> str:
    """``{term}`logit``` or ``{term}`logits <logit>```: the word, linked to the glossary."""
    term, text = _label_and_text(content)
    return _link(text or term, conv.targets.term(term).url)


def math_role(name: str, content: str, conv: Conversion) -> str:
    """``{math}`x^2``` -> ``$x^2$``."""
    return f"${content}$"


ROLES: dict[str, Callable[[str, str, Conversion], str]] = {
    "glue": glue_role,
    "glue:any": glue_role,
    "glue:text": glue_role,
    "glue:md": glue_role,
    "cite": cite_role,
    "cite:p": cite_role,
    "cite:t": cite_role,
    "ref": ref_role,
    "numref": numref_role,
    "eq": eq_role,
    "doc": doc_role,
    "term": term_role,
    "math": math_role,
}

# A role, or an inline code span (left as it is: a role shown as code is an example, not markup).
_INLINE = re.compile(
    r"\{(?P<role>[\w:.+-]+)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)"
    r"|(?P<code>`+).+?(?P=code)",
    flags=re.S,
)


def convert_inline(text: str, conv: Conversion) -> str:
    """Replace every role in ``text`` by its plain form."""

    def replace(match: re.Match) -> str:
        role = match["role"]
        if role is None:
            return match[0]
        if role not in ROLES:
            offset = text.count("\n", 0, match.start())
            raise conv.error(
                f"the role {{{role}}} has no plain-Markdown form (editions/myst.py)", offset
            )
        return ROLES[role](role, match["content"], conv)

    return _INLINE.sub(replace, text)


# -- directives ----------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    argument: str
    options: dict
    body: str
    line: int  # of the opening fence, within the text being converted


def _heading_number(conv: Conversion, label: str | None, fallback: str) -> str:
    if label and label in conv.targets and conv.targets[label].number:
        return conv.targets[label].number
    return fallback


def exercise_directive(d: Directive, conv: Conversion) -> str:
    """An exercise: a heading with the site's number ("Exercise 1.2"), then its text."""
    title = _heading_number(conv, d.options.get("label"), "Exercise")
    if d.argument:
        title += f": {convert_inline(d.argument, conv)}"
    return f"### {title}\n\n{convert_markdown(d.body, conv, line=conv.line + d.line)}"


def _solution_title(conv: Conversion, label: str) -> str:
    return "Solution to " + _heading_number(conv, label, "the exercise")


def solution_directive(d: Directive, conv: Conversion) -> str:
    """A prose solution: folded in ``<details>`` (as the site's dropdown), shown, or removed."""
    if conv.solutions == "remove":
        return ""
    title, body = (
        _solution_title(conv, d.argument),
        convert_markdown(d.body, conv, line=conv.line + d.line),
    )
    if conv.solutions == "fold" or "dropdown" in str(d.options.get("class", "")):
        return _details(title, body) if conv.solutions == "fold" else f"**{title}.**\n\n{body}"
    return f"**{title}.**\n\n{body}"


def solution_start_directive(d: Directive, conv: Conversion) -> str:
    """The start of a solution whose code is in cells: what follows, until ``{solution-end}``,
    is the solution (the reader folds its code cells and its prose)."""
    if conv.in_solution:
        raise conv.error(
            f"{{solution-start}} {d.argument} inside the solution to {conv.in_solution}", d.line
        )
    conv.in_solution = d.argument
    return "" if conv.solutions == "remove" else f"**{_solution_title(conv, d.argument)}.**"


def solution_end_directive(d: Directive, conv: Conversion) -> str:
    if not conv.in_solution:
        raise conv.error("{solution-end} without a {solution-start}", d.line)
    conv.in_solution = None
    return ""


ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "attention": "Attention",
    "caution": "Caution",
    "warning": "Warning",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
    "admonition": "",
}


def admonition_directive(d: Directive, conv: Conversion) -> str:
    """``{note}``, ``{warning}``, ``{admonition} Title``, ...: a block quote with a bold title,
    or a ``<details>`` block when the site shows it as a dropdown."""
    title = convert_inline(d.argument, conv) if d.name == "admonition" else ADMONITIONS[d.name]
    body = d.body if d.name == "admonition" or not d.argument else f"{d.argument}\n{d.body}"
    body = convert_markdown(body, conv, line=conv.line + d.line)
    if "dropdown" in str(d.options.get("class", "")):
        return _details(title, body)
    quoted = "\n".join(f"> {line}".rstrip() for line in body.split("\n"))
    return f"> **{title}**\n>\n{quoted}" if title else quoted


def math_directive(d: Directive, conv: Conversion) -> str:
    """``{math}`` with an optional ``:label:``: display math, tagged with the site's number."""
    return display_math(d.body.strip(), d.options.get("label"), conv)


DIRECTIVES: dict[str, Callable[[Directive, Conversion], str]] = {
    "exercise": exercise_directive,
    "solution": solution_directive,
    "solution-start": solution_start_directive,
    "solution-end": solution_end_directive,
    "math": math_directive,
    **{name: admonition_directive for name in ADMONITIONS},
}


def _details(summary: str, body: str) -> str:
    # Blank lines around the body: Markdown inside an HTML block is parsed only after one.
    return f"<details>\n<summary><strong>{summary}</strong></summary>\n\n{body}\n\n</details>"


# -- equations -----------------------------------------------------------------------------------

_AMS_ENVIRONMENTS = {
    "align": "aligned",
    "align*": "aligned",
    "gather": "gathered",
    "gather*": "gathered",
    "equation": "",
    "equation*": "",
    "multline": "",
    "multline*": "",
    "alignat": "alignedat",
    "alignat*": "alignedat",
}
_LABEL = re.compile(r"\\label\{([^}]*)\}")


def display_math(tex: str, label: str | None, conv: Conversion) -> str:
    """``$$ tex $$``, with ``\\tag{n}`` (the site's equation number) when it is labelled."""
    labels = [label] if label else []
    labels += _LABEL.findall(tex)
    tex = _LABEL.sub("", tex)
    tex = re.sub(r"\\(nonumber|notag)\b", "", tex)
    begin = re.match(r"\\begin\{([a-z]+\*?)\}", tex)
    if begin and begin[1] in _AMS_ENVIRONMENTS:
        # amsmath's top-level environments cannot sit inside $$; their inner forms can.
        outer, inner = begin[1], _AMS_ENVIRONMENTS[begin[1]]
        tex = re.sub(
            r"^\\begin\{" + re.escape(outer) + r"\}(\{[^}]*\})?",
            lambda m: f"\\begin{{{inner}}}{m[1] or ''}" if inner else "",
            tex,
        )
        tex = re.sub(
            r"\\end\{" + re.escape(outer) + r"\}\s*$", f"\\\\end{{{inner}}}" if inner else "", tex
        )
    elif "\\\\" in tex and not begin:
        tex = (
            f"\\begin{{aligned}}\n{tex}\n\\end{{aligned}}"  # as Sphinx splits a multi-line display
        )
    if len(labels) > 1:
        raise conv.error(
            f"display math with several labels {labels}: a notebook can number it once"
        )
    tag = ""
    if labels:
        number = conv.targets[labels[0]].number.strip("()")
        tag = f" \\tag{{{number}}}" if number else ""
    return f"$$\n{tex.strip()}{tag}\n$$"


# -- blocks --------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<argument>.*)$")
_TARGET_LINE = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")  # (label)=
_COMMENT_LINE = re.compile(r"^\s*%")  # % a MyST comment
_DOLLAR_CLOSE = re.compile(r"^(?P<tex>.*)\$\$\s*(\((?P<label>[^()]+)\))?\s*$")
_AMS_BEGIN = re.compile(r"^\s*\\begin\{(?P<env>[a-z]+\*?)\}")


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    """The index of the line that closes the fence opened at ``start``."""
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for i in range(start + 1, len(lines)):
        if closing.match(lines[i]):
            return i
    return len(lines)  # an unclosed fence runs to the end (CommonMark)


def _parse_directive(
    name: str, argument: str, body_lines: list[str], line: int, conv: Conversion
) -> Directive:
    options: dict = {}
    if body_lines and body_lines[0].strip() == "---":
        end = next((i for i in range(1, len(body_lines)) if body_lines[i].strip() == "---"), None)
        if end is None:
            raise conv.error(f"{{{name}}}: its --- options block is not closed", line)
        options = yaml.safe_load("\n".join(body_lines[1:end])) or {}
        body_lines = body_lines[end + 1 :]
    else:
        while body_lines and (m := re.match(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$", body_lines[0])):
            options[m["key"]] = m["value"].strip()
            body_lines = body_lines[1:]
    return Directive(name, argument.strip(), options, "\n".join(body_lines).strip("\n"), line)


def convert_markdown(text: str, conv: Conversion, *, line: int | None = None) -> str:
    """Convert one Markdown cell (or a directive's body) from MyST to plain Markdown.

    Text that lies between a ``{solution-start}`` and its ``{solution-end}`` is folded into a
    ``<details>`` block, shown or dropped, as ``conv.solutions`` says.
    """
    outer_line = conv.line
    if line is not None:
        conv.line = line
    lines = text.split("\n")
    parts: list[tuple[str | None, str]] = []  # (solution it belongs to, Markdown)
    prose: list[str] = []
    prose_start = 0

    def flush() -> None:
        if prose:
            saved, conv.line = conv.line, conv.line + prose_start
            parts.append((conv.in_solution, convert_inline("\n".join(prose), conv)))
            conv.line = saved
            prose.clear()

    i = 0
    while i < len(lines):
        current = lines[i]
        fence = _FENCE.match(current)
        if fence and (fence["fence"][0] == "`" or _DIRECTIVE_INFO.match(fence["info"])):
            flush()
            end = _closing_fence(lines, i, fence["fence"])
            directive = _DIRECTIVE_INFO.match(fence["info"])
            if directive is None:  # a plain code block: verbatim
                parts.append((conv.in_solution, "\n".join(lines[i : end + 1])))
            else:
                name = directive["name"]
                if name not in DIRECTIVES:
                    raise conv.error(
                        f"the directive {{{name}}} has no plain-Markdown form (editions/myst.py)", i
                    )
                inside = conv.in_solution
                parsed = _parse_directive(name, directive["argument"], lines[i + 1 : end], i, conv)
                parts.append((inside, DIRECTIVES[name](parsed, conv)))
            i = end + 1
        elif current.lstrip().startswith("$$"):
            flush()
            first = current.lstrip()[2:]
            close = _DOLLAR_CLOSE.match(first)
            end = i
            if not close:
                end = next(
                    (j for j in range(i + 1, len(lines)) if _DOLLAR_CLOSE.match(lines[j])), None
                )
                if end is None:
                    raise conv.error("a $$ display equation is not closed", i)
                close = _DOLLAR_CLOSE.match(lines[end])
                tex = "\n".join([first, *lines[i + 1 : end], close["tex"]])
            else:
                tex = close["tex"]
            parts.append((conv.in_solution, display_math(tex.strip(), close["label"], conv)))
            i = end + 1
        elif (ams := _AMS_BEGIN.match(current)) and ams["env"] in _AMS_ENVIRONMENTS:
            flush()
            closing = "\\end{" + ams["env"] + "}"
            end = next((j for j in range(i, len(lines)) if closing in lines[j]), None)
            if end is None:
                raise conv.error(f"\\begin{{{ams['env']}}} is not closed", i)
            parts.append(
                (conv.in_solution, display_math("\n".join(lines[i : end + 1]).strip(), None, conv))
            )
            i = end + 1
        elif (
            _TARGET_LINE.match(current) or _COMMENT_LINE.match(current) or current.strip() == "+++"
        ):
            flush()  # a label, a comment or a cell break: nothing to show
            i += 1
        else:
            if not prose:
                prose_start = i
            prose.append(current)
            i += 1
    flush()
    conv.line = outer_line
    return _assemble(parts, conv)


def _assemble(parts: list[tuple[str | None, str]], conv: Conversion) -> str:
    """Join the converted blocks; fold, show or drop the runs that belong to a solution."""
    blocks: list[str] = []
    run: list[str] = []
    run_label: str | None = None

    def end_run() -> None:
        body = "\n\n".join(b for b in run if b.strip())
        if body and conv.solutions != "remove":
            blocks.append(
                _details("About the s" + _solution_title(conv, run_label)[1:], body)
                if conv.solutions == "fold"
                else body
            )
        run.clear()

    for label, block in parts:
        if label is None:
            end_run()
            blocks.append(block)
        else:
            if run and label != run_label:
                end_run()
            run_label = label
            run.append(block)
    end_run()
    text = "\n\n".join(b.strip("\n") for b in blocks if b.strip())
    return re.sub(r"\n{3,}", "\n\n", text)
