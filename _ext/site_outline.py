"""The course outline on the website: each chapter's opening box, the landing page's start,
its table of chapters and its map of which chapter needs which.

The data is ``_outline.yml`` (read and checked by :mod:`editions.outline`); the build adds what
only it knows: each chapter's words and exercises (counted when the chapter is read, before
anything is added to it), its number and its title.

* Every chapter gets a box under its title: what you will learn, what you need first (links to
  the chapters), and the time to read it and to do its exercises.
* ``{course-start}`` (the landing page's first screen): "Start with chapter 1" and the ways to
  run it (Colab, Binder, a clone), with the course's total time.
* ``{course-chapters}``: one table of the parts and chapters, with their outcomes and times.
* ``{course-map}``: which chapter needs which, drawn as an SVG (the arrows are the direct
  prerequisites) with the same map in words under it.

A chapter of the table of contents without an entry in ``_outline.yml`` is a warning, so it
fails the book build (``-W``); ``tests/test_outline.py`` says the same without a build.

The boxes are filled in a post-transform, once every chapter has been read (a box names other
chapters by number; the landing page needs every chapter's time); the links are ``pending_xref``
nodes, so Sphinx resolves them like any ``{doc}`` reference.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from editions.outline import (
    Outline,
    Reading,
    format_minutes,
    inline_parts,
    layers,
    load_outline,
    minutes,
    time_sentence,
    transitive_reduction,
)
from editions.toc import toc_parts

logger = logging.getLogger(__name__)

OUTLINE_FILE = "_outline.yml"


def placeholder(kind: str) -> nodes.container:
    """Where the start, the table or the map goes; replaced before the page is written. A plain
    container, not a node class of this module: sphinx-exercise keeps whole doctrees in the
    pickled environment, which tools then load without ``_ext`` on their path."""
    return nodes.container("", classes=["site-outline-placeholder"], site_outline=kind)


# -- reading: count a chapter --------------------------------------------------------------------


def _is_exercise(node) -> bool:
    return type(node).__name__ in {"exercise_node", "exercise_enumerable_node"}


def _is_solution(node) -> bool:
    return type(node).__name__ == "solution_node"


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


_SKIP = (nodes.literal_block, nodes.raw, nodes.comment, nodes.system_message, nodes.math_block)


def count_reading(doctree) -> Reading:
    """A chapter's prose words (outside code cells, exercises, solutions and display math; an
    inline formula counts as one word), the lines of the code cells it shows unfolded, and its
    exercises, prose or code (a solution with a code cell)."""
    words = lines = exercises = code = 0

    def walk(node):
        nonlocal words, lines, exercises, code
        if _is_exercise(node):
            exercises += 1
            return
        if _is_solution(node):
            code += any(_is_code_cell(n) for n in node.findall(nodes.container))
            return
        if _is_code_cell(node):
            if not node.get("hide_mode"):
                for child in node.children:
                    if child.get("nb_element") == "cell_code_source":
                        text = child.astext()
                        lines += sum(1 for line in text.splitlines() if line.strip())
            return
        if isinstance(node, _SKIP):
            return
        if isinstance(node, nodes.math):
            words += 1
            return
        if isinstance(node, nodes.Text):
            words += len(node.astext().split())
            return
        for child in node.children:
            walk(child)

    walk(doctree)
    return Reading(words=words, code_lines=lines, exercises=exercises - code, code_exercises=code)


def _outline(app) -> Outline:
    """The book's outline; empty for a book without ``_outline.yml`` (whose chapters, if any,
    then each get the missing-entry warning)."""
    if not hasattr(app, "course_outline"):
        path = Path(app.srcdir) / OUTLINE_FILE
        app.course_outline = load_outline(path) if path.is_file() else Outline()
    return app.course_outline


def _chapters(app) -> list[str]:
    return [doc for _, docs in _parts(app) for doc in docs if doc.startswith("chapters/")]


def _parts(app) -> list[tuple[str, list[str]]]:
    return toc_parts(_toc_path(app))


def _toc_path(app) -> Path:
    """The table of contents this build uses: jupyter-book's ``--toc`` (the student site passes
    its own, without the Coursework part) or the book's ``_toc.yml``."""
    configured = Path(getattr(app.config, "external_toc_path", None) or "_toc.yml")
    return configured if configured.is_absolute() else Path(app.srcdir) / configured


def check_outline(app, config) -> None:
    """Warn (and so fail a ``-W`` build) for each chapter without an entry (``config-inited``)."""
    for problem in _outline(app).problems(_chapters(app)):
        logger.warning(problem, type="course", subtype="outline")


def read_chapter(app, doctree) -> None:
    """Count the chapter's words and exercises and mark where its box goes (``doctree-read``)."""
    env, docname = app.env, app.env.docname
    if not hasattr(env, "course_reading"):
        env.course_reading = {}
    if _outline(app).for_doc(docname) is None:
        return
    env.course_reading[docname] = count_reading(doctree)
    section = doctree.next_node(nodes.section)
    if section is None or not isinstance(section.children[0], nodes.title):
        logger.warning("a chapter without a title: no place for its box", location=docname)


def purge(app, env, docname) -> None:
    getattr(env, "course_reading", {}).pop(docname, None)
    getattr(env, "course_outline_pages", set()).discard(docname)


def merge(app, env, docnames, other) -> None:
    """Bring what a parallel reader process recorded into the main environment."""
    if not hasattr(env, "course_reading"):
        env.course_reading = {}
    if not hasattr(env, "course_outline_pages"):
        env.course_outline_pages = set()
    env.course_reading.update(
        {d: r for d, r in getattr(other, "course_reading", {}).items() if d in docnames}
    )
    env.course_outline_pages |= getattr(other, "course_outline_pages", set()) & set(docnames)


def landing_pages_outdated(app, env, added, changed, removed):
    """The pages with a table or map show every chapter's time: rewrite them when one changed."""
    if not ({d for d in added | changed | removed if d.startswith("chapters/")}):
        return []
    return sorted(getattr(env, "course_outline_pages", set()) - set(added | changed))


# -- directives ------------------------------------------------------------------------------------


class OutlineDirective(SphinxDirective):
    """``{course-start}``, ``{course-chapters}`` or ``{course-map}``: no arguments, no body."""

    has_content = False

    def run(self):
        if not hasattr(self.env, "course_outline_pages"):
            self.env.course_outline_pages = set()
        self.env.course_outline_pages.add(self.env.docname)
        kind = self.name.removeprefix("course-")
        return [placeholder(kind)]


# -- rendering -----------------------------------------------------------------------------------


def inline_nodes(text: str) -> list[nodes.Node]:
    """Docutils nodes for a line of outline text: `code`, $math$ and plain text (the cheat
    sheet's extension uses it too)."""
    out = []
    for kind, content in inline_parts(text):
        if kind == "code":
            out.append(nodes.literal(content, content))
        elif kind == "math":
            out.append(nodes.math(content, content))
        else:
            out.append(nodes.Text(content))
    return out


def _chapter_link(docname: str, fromdoc: str, text: str | None = None) -> nodes.Node:
    """A link to a page, with its title (or ``text``), resolved by Sphinx like ``{doc}``."""
    xref = addnodes.pending_xref(
        "",
        nodes.inline(text or "", text or ""),
        refdomain="std",
        reftype="doc",
        reftarget=f"/{docname}",
        refdoc=fromdoc,
        refexplicit=text is not None,
    )
    return xref


def _number(env, docname: str) -> str:
    section = env.toc_secnumbers.get(docname, {}).get("")
    return ".".join(map(str, section)) if section else ""


def _title(env, docname: str) -> str:
    return env.titles[docname].astext() if docname in env.titles else docname


def _numbered_link(env, docname: str, fromdoc: str) -> list[nodes.Node]:
    number = _number(env, docname)
    link = _chapter_link(docname, fromdoc, _title(env, docname))
    return [nodes.Text(f"Chapter {number}, ")] + [link] if number else [link]


def _joined(items: list[list[nodes.Node]], last: str = " and ") -> list[nodes.Node]:
    """``a, b and c``."""
    out: list[nodes.Node] = []
    for i, item in enumerate(items):
        if i:
            out.append(nodes.Text(last if i == len(items) - 1 else ", "))
        out.extend(item)
    return out


def needs_first(env, docname: str, needs, background) -> list[nodes.Node]:
    """What to read first: "chapters 4, 5 and 6; probability densities and logarithms", each
    number a link to its chapter (its title on hover)."""
    out: list[nodes.Node] = []
    if needs:
        out.append(nodes.Text("chapter " if len(needs) == 1 else "chapters "))
        links = []
        for need in needs:
            doc = f"chapters/{need}"
            link = _chapter_link(doc, docname, _number(env, doc) or _title(env, doc))
            link["reftitle"] = _title(env, doc)
            links.append([link])
        out.extend(_joined(links))
    for item in background:
        if out:
            out.append(nodes.Text("; "))
        out.extend(inline_nodes(item))
    return out or [nodes.Text("nothing but curiosity")]


def opening_box(app, docname: str) -> nodes.Element:
    env, entry = app.env, _outline(app).for_doc(docname)
    box = nodes.container(classes=["chapter-opening"])
    box += nodes.paragraph(
        "", "", nodes.strong("In this chapter you will", "In this chapter you will")
    )
    box += nodes.bullet_list(
        "", *(nodes.list_item("", nodes.paragraph("", "", *inline_nodes(o))) for o in entry.learn)
    )
    need = nodes.paragraph("", "", nodes.strong("What you need first: ", "What you need first: "))
    need.extend(needs_first(env, docname, entry.needs, entry.background))
    need += nodes.Text(".")
    box += need
    reading = env.course_reading.get(docname)
    if reading is not None:
        box += nodes.paragraph(
            "", "", nodes.strong("Time: ", "Time: "), nodes.Text(time_sentence(reading) + ".")
        )
    return box


def _totals(app) -> tuple[int, int, int]:
    read = work = 0
    chapters = _chapters(app)
    for doc in chapters:
        if doc in app.env.course_reading:
            r, w = minutes(app.env.course_reading[doc])
            read, work = read + r, work + w
    return len(chapters), read, work


def launch_urls(app, docname: str) -> dict[str, str]:
    """The Colab and Binder links of a chapter, as its page's launch buttons make them
    (sphinx-book-theme, with Colab on the notebooks branch: ``site_extension``)."""
    options = app.config.html_theme_options or {}
    launch = options.get("launch_buttons", {}) or {}
    repo = options.get("repository_url", "").rstrip("/")
    if not repo.startswith("https://github.com/"):
        return {}
    org_repo = repo.removeprefix("https://github.com/")
    branch = options.get("repository_branch", "main") or "main"
    path = "/".join(p for p in [options.get("path_to_docs", "").strip("/"), docname] if p)
    urls = {}
    if launch.get("colab_url"):
        notebooks = app.config.colab_notebooks_branch or branch
        name = docname.rsplit("/", 1)[-1]
        urls["Colab"] = (
            f"{launch['colab_url'].rstrip('/')}/github/{org_repo}/blob/{notebooks}/{name}.ipynb"
        )
    if launch.get("binderhub_url"):
        ui = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
        urls["Binder"] = (
            f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}"
            f"?urlpath={ui}/{path}.md"
        )
    return urls


def course_start(app, fromdoc: str) -> nodes.Element:
    env = app.env
    chapters = _chapters(app)
    box = nodes.container(classes=["course-start"])
    if not chapters:
        return box
    first = chapters[0]
    text = f"Start with chapter {_number(env, first) or 1}: {_title(env, first)}"
    box += nodes.paragraph(
        "", "", _chapter_link(first, fromdoc, text), classes=["course-start-button"]
    )
    run = nodes.paragraph("", "Or run it as a notebook: ", classes=["course-start-launch"])
    for i, (name, url) in enumerate(launch_urls(app, first).items()):
        run += nodes.Text(" · " if i else "")
        run += nodes.reference(
            f"on {name}", f"on {name}", refuri=url, classes=["launch-" + name.lower()]
        )
    run += nodes.Text(", or on your computer with ")
    run += nodes.literal("make lab", "make lab")
    run += nodes.Text(" (")
    run += _chapter_link("reproducibility", fromdoc, "how")
    run += nodes.Text(").")
    box += run
    n, read, work = _totals(app)
    box += nodes.paragraph(
        "",
        f"{n} chapters: about {format_minutes(read)} of reading and "
        f"{format_minutes(work)} of exercises. Each chapter says what it teaches, what it needs "
        "first and how long it takes.",
        classes=["course-start-time"],
    )
    return box


def chapters_table(app, fromdoc: str) -> nodes.Element:
    """One table: a row per part, then a row per chapter (number and title, outcomes, time)."""
    env = app.env
    table = nodes.table(classes=["course-chapters"])
    group = nodes.tgroup(cols=3)
    table += group
    for width in (30, 52, 18):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += nodes.row(
        "", *(nodes.entry("", nodes.paragraph(t, t)) for t in ("Chapter", "You will", "Time"))
    )
    body = nodes.tbody()
    group += body
    outline = _outline(app)
    for caption, docs in _parts(app):
        body += nodes.row(
            "",
            nodes.entry("", nodes.paragraph("", "", nodes.strong(caption, caption)), morecols=2),
            classes=["course-part"],
        )
        chapters = [d for d in docs if outline.for_doc(d)]
        for doc in chapters:
            entry, reading = outline.for_doc(doc), env.course_reading.get(doc)
            number = _number(env, doc)
            name = nodes.paragraph("", f"{number}. " if number else "")
            name += _chapter_link(doc, fromdoc, _title(env, doc))
            learn = nodes.bullet_list(
                "",
                *(
                    nodes.list_item("", nodes.paragraph("", "", *inline_nodes(o)))
                    for o in entry.learn
                ),
            )
            time = nodes.paragraph()
            if reading is not None:
                read, work = minutes(reading)
                time += nodes.Text(f"{format_minutes(read)} reading")
                if work:
                    time += nodes.Text(f", {format_minutes(work)} exercises")
            body += nodes.row(
                "",
                nodes.entry("", name, classes=["course-chapter"]),
                nodes.entry("", learn, classes=["course-learn"]),
                nodes.entry("", time, classes=["course-time"]),
            )
        others = [d for d in docs if d not in chapters]
        if others:
            cell = nodes.paragraph()
            cell.extend(_joined([[_chapter_link(d, fromdoc)] for d in others]))
            body += nodes.row("", nodes.entry("", cell, morecols=2), classes=["course-pages"])
    return table


# The map: one row per layer, boxes 200 x 60 with 20 px type, at most 680 units wide; the drawing
# is as narrow as its boxes allow, so that a phone's 358 px column shows it as large as it can.
_BOX_W, _BOX_H, _ROW, _WIDTH, _FONT = 200, 60, 100, 680, 20


def _wrap(words: str, width: int = 16) -> list[str]:
    lines: list[str] = []
    for word in words.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:2]


def _place(by_row: dict[int, list[str]], arrows: dict[str, list[str]]) -> dict:
    """Top-left corners of the boxes: the first row spread evenly, each later box under the
    middle of the boxes it has arrows from (so that arrows stay short and do not cross other
    boxes), then pushed apart to keep a gap between boxes of a row."""
    gap, margin = 20, 10
    centre: dict[str, float] = {}
    for r in sorted(by_row):
        names = by_row[r]
        if r == 0:
            step = _WIDTH / len(names)
            wanted = {n: step * (i + 0.5) for i, n in enumerate(names)}
        else:
            wanted = {
                n: sum(centre[a] for a in arrows[n]) / len(arrows[n]) if arrows[n] else _WIDTH / 2
                for n in names
            }
        ordered = sorted(names, key=lambda n: (wanted[n], names.index(n)))
        xs = [wanted[n] for n in ordered]
        lowest = margin + _BOX_W / 2
        for i in range(len(xs)):  # push right past the previous box
            xs[i] = max(xs[i], lowest if i == 0 else xs[i - 1] + _BOX_W + gap)
        highest = _WIDTH - margin - _BOX_W / 2
        for i in reversed(range(len(xs))):  # and back left inside the drawing
            xs[i] = min(xs[i], highest if i == len(xs) - 1 else xs[i + 1] - _BOX_W - gap)
        centre.update(zip(ordered, xs))
    # Shift the drawing to its left margin: the SVG is as narrow as its boxes allow, and so
    # as large as possible on a phone.
    left = min(centre.values()) - _BOX_W / 2 - margin
    return {
        n: (centre[n] - _BOX_W / 2 - left, 10 + r * _ROW)
        for r, names in by_row.items()
        for n in names
    }


def chapter_map(app, fromdoc: str) -> list[nodes.Node]:
    env, outline = app.env, _outline(app)
    order = [d.removeprefix("chapters/") for d in _chapters(app) if outline.for_doc(d)]
    row = layers(outline, order)
    arrows = transitive_reduction(outline, order)
    by_row: dict[int, list[str]] = {}
    for name in order:
        by_row.setdefault(row[name], []).append(name)
    place = _place(by_row, arrows)
    height = 10 + len(by_row) * _ROW - (_ROW - _BOX_H) + 10
    width = max(x for x, _ in place.values()) + _BOX_W + 10
    parts = [
        f'<svg class="course-map" viewBox="0 0 {width:.0f} {height}" role="img" '
        f'aria-labelledby="course-map-title" style="max-width: {width:.0f}px" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="course-map-title">Which chapter needs which: an arrow from a chapter to '
        "one that builds on it</title>",
        '<defs><marker id="course-map-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="course-map-head"/></marker></defs>',
    ]
    for name in order:
        x2, y2 = place[name]
        for need in arrows[name]:
            x1, y1 = place[need]
            sx, sy, ex, ey = x1 + _BOX_W / 2, y1 + _BOX_H, x2 + _BOX_W / 2, y2
            bend = (ey - sy) * 0.6
            parts.append(
                f'<path class="course-map-edge" d="M {sx:.0f} {sy:.0f} C {sx:.0f} {sy + bend:.0f} '
                f'{ex:.0f} {ey - bend:.0f} {ex:.0f} {ey - 2:.0f}" '
                'marker-end="url(#course-map-arrow)"/>'
            )
    for name in order:
        doc = f"chapters/{name}"
        x, y = place[name]
        uri = app.builder.get_relative_uri(fromdoc, doc)
        lines = _wrap(f"{_number(env, doc)}. {outline[name].short}")
        first_y = y + _BOX_H / 2 - (len(lines) - 1) * _FONT * 0.6 + _FONT * 0.35
        text = "".join(
            f'<tspan x="{x + _BOX_W / 2:.0f}" y="{first_y + i * _FONT * 1.2:.0f}">'
            f"{escape(line)}</tspan>"
            for i, line in enumerate(lines)
        )
        parts.append(
            f'<a href="{escape(uri)}"><rect class="course-map-box" x="{x:.0f}" y="{y:.0f}" '
            f'width="{_BOX_W}" height="{_BOX_H}" rx="8"/>'
            f'<text class="course-map-label" font-size="{_FONT}" text-anchor="middle">{text}'
            "</text></a>"
        )
    parts.append("</svg>")
    figure = nodes.container(classes=["course-map-figure"])
    figure += nodes.raw("", "\n".join(parts), format="html")
    # The same map in words: for readers of the text, screen readers and narrow screens.
    words = nodes.bullet_list(classes=["course-map-words"])
    for name in order:
        doc = f"chapters/{name}"
        item = nodes.paragraph("", "", *_numbered_link(env, doc, fromdoc))
        needs = outline[name].needs
        item += nodes.Text(": start here" if not needs else ": after ")
        if needs:
            item.extend(needs_first(env, fromdoc, needs, ()))
        words += nodes.list_item("", item)
    return [figure, words]


class FillOutline(SphinxPostTransform):
    """Replace each placeholder with its box, start, table or map (before references are
    resolved, priority 10, so that its links are resolved with the others)."""

    default_priority = 5

    def run(self, **kwargs):
        app, docname = self.app, self.env.docname
        if not hasattr(self.env, "course_reading"):
            self.env.course_reading = {}
        if _outline(app).for_doc(docname) is not None:
            section = self.document.next_node(nodes.section)
            if section is not None and isinstance(section.children[0], nodes.title):
                section.insert(1, opening_box(app, docname))  # under the chapter's title
        for node in list(self.document.findall(nodes.container)):
            kind = node.get("site_outline")
            if kind is None:
                continue
            if kind == "start":
                new = [course_start(app, docname)]
            elif kind == "chapters":
                new = [chapters_table(app, docname)]
            elif kind == "map":
                new = chapter_map(app, docname) if self.app.builder.format == "html" else []
            else:  # pragma: no cover (the directives make only these)
                raise ValueError(kind)
            node.replace_self(new)


def setup(app):
    for name in ("course-start", "course-chapters", "course-map"):
        app.add_directive(name, OutlineDirective)
    app.connect("config-inited", check_outline)
    app.connect("doctree-read", read_chapter)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", landing_pages_outdated)
    app.add_post_transform(FillOutline)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
