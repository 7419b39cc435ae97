"""The PDF edition: the whole course as one printable HTML document, made from the built site.

``scripts/pdf.py`` (``make pdf``) prints this document with the Chromium the browser tests use,
so the PDF is the site's own rendering (its stylesheets, figures and MathJax) and needs no TeX.
:func:`print_document` assembles it from the built pages, in the order of ``_toc.yml``:

* **front matter**: a title page, the contents (parts, chapters and appendices, with page
  numbers once :func:`fill_page_numbers` knows them), and the introduction as the preface;
* **the parts**: each numbered part of the toc gets a title page ("Part I  Foundations") and
  its chapters, numbered as on the site; headings move one level down inside a part (part
  ``h1``, chapter ``h2``, section ``h3``), so the PDF's outline nests parts, chapters and
  sections;
* **the appendices**: the exercises' solutions gathered by chapter (``solutions="appendix"``;
  each exercise then says where its solution is) or left out (``"omit"``), then the parts of
  the toc without numbers (the reference pages), lettered A, B, ...

What only works on a screen goes: the heading anchors, buttons, scripts, and the code the site
hides behind a toggle (a reader of paper cannot unfold it; a solution keeps its code). An
explorer keeps its static figure (``lossutils.explore``). Ids get their page as a prefix, so
that "summary" in two chapters stays two targets, and links between pages become links inside
the document, which Chromium turns into PDF links and named destinations.
"""

from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag, urlsplit

import yaml
from bs4 import BeautifulSoup, Tag

Solutions = Literal["appendix", "omit"]

#: Where the print document is written inside the built site (one folder down, like chapters/,
#: so it reaches the site's stylesheets, images and MathJax with the same relative paths).
PRINT_DIR = "_print"
PRINT_PAGE = f"{PRINT_DIR}/book.html"
#: The PDF's name: ``_build/pdf/`` holds it, and so does the site's root (its download menu
#: links it: ``_ext/pdf_download.py``).
PDF_NAME = "loss-functions.pdf"

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
STYLE = Path(__file__).with_name("pdf.css")


@dataclass
class Part:
    """A part of the toc: its caption, whether it is numbered, and its documents in order."""

    caption: str
    numbered: bool
    docnames: list[str] = field(default_factory=list)


def toc_parts(toc_path: Path) -> tuple[str, list[Part]]:
    """The toc's root document and its parts (a toc without parts is one unnamed part)."""
    toc = yaml.safe_load(toc_path.read_text())

    def files(entries) -> list[str]:
        out = []
        for entry in entries or []:
            if "file" in entry:
                out.append(entry["file"])
            out += files(entry.get("chapters")) + files(entry.get("sections"))
        return out

    if "parts" in toc:
        parts = [
            Part(p.get("caption", ""), bool(p.get("numbered", False)), files(p.get("chapters")))
            for p in toc["parts"]
        ]
    else:
        parts = [Part("", True, files(toc.get("chapters")))]
    return toc["root"], parts


def anchor(docname: str) -> str:
    """The id of a page inside the print document: ``chapters/what-is-a-loss`` ->
    ``chapters--what-is-a-loss``."""
    return docname.replace("/", "--")


@dataclass
class Page:
    """One built page, made ready for the print document."""

    docname: str
    body: Tag  # the page's content (a <section>), ids and links rewritten
    number: str  # the chapter's number on the site ("1"), or ""
    title: str  # its title, without the number
    solutions: list[Tag] = field(default_factory=list)  # taken out for the appendix
    explorers: list[Explorer] = field(default_factory=list)


@dataclass(frozen=True)
class Explorer:
    """An interactive figure (``lossutils.explore``): printed static, moving on the site."""

    number: str  # "Fig. 1.3"
    caption: str
    target: str  # its id in the print document (``PAGE--explorer-NAME``)
    url_fragment: str  # ``chapters/NAME.html#fig-id`` on the site


def read_page(
    site: Path, docname: str, book: set[str], *, solutions: Solutions, shift: int
) -> Page:
    """The content of ``site/docname.html`` as it goes into the print document."""
    soup = BeautifulSoup((site / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article.bd-article")
    if article is None:
        raise ValueError(f"{docname}.html: no <article class='bd-article'> (not a book page?)")
    heading = article.find("h1")
    number_tag = heading.find(class_="section-number") if heading else None
    number = number_tag.get_text(strip=True).rstrip(".") if number_tag else ""
    title = _heading_text(heading, without_number=True) if heading else docname

    explorers = []
    for box in article.select("div.loss-explorer"):
        figure = box.find_parent("figure")
        if figure is None or not figure.get("id"):
            raise ValueError(f"{docname}: an explorer outside a figure with a name (id)")
        fig_number = figure.select_one(".caption-number")  # not `number`: the chapter's
        text = figure.select_one(".caption-text")
        explorers.append(
            Explorer(
                fig_number.get_text(strip=True) if fig_number else "",
                text.get_text(" ", strip=True) if text else "",
                f"{anchor(docname)}--{box['id']}",
                f"{docname}.html#{figure['id']}",
            )
        )
    _drop_screen_only(article)
    taken = []
    for solution in article.select("div.solution"):
        taken.append(solution.extract())
    _rewrite_ids_and_links(article, docname, book)
    for solution in taken:
        _rewrite_ids_and_links(solution, docname, book)
        _unfold(solution)
    if solutions == "appendix":
        _point_exercises_to_solutions(article, taken)
    _demote(article, shift)
    for solution in taken:
        _demote(solution, shift)

    body = soup.new_tag("section", attrs={"class": "print-page", "id": anchor(docname)})
    for child in list(article.children):
        body.append(child.extract())
    return Page(docname, body, number, title, taken, explorers)


def _heading_text(heading: Tag, *, without_number: bool = False) -> str:
    heading = copy.copy(heading)
    for tag in heading.select("a.headerlink" + (", .section-number" if without_number else "")):
        tag.decompose()
    return " ".join(heading.get_text().split())


def _drop_screen_only(article: Tag) -> None:
    """Remove what works only on a screen; keep code the site shows, and solutions' code."""
    for tag in article.select("a.headerlink, script, button, .toctree-wrapper, noscript"):
        tag.decompose()
    for cell in article.select("div.cell.tag_hide-input, div.cell.tag_hide-output"):
        # The figure or printed result stays; the folded part (code or output) goes.
        for folded in cell.select(":scope > details.hide"):
            folded.decompose()
    for cell in article.select("div.cell.tag_hide-cell"):
        if cell.find_parent("div", class_="solution") is None:
            cell.decompose()


def _unfold(solution: Tag) -> None:
    """A solution is printed open: its folded code cells unfolded, its dropdown undone."""
    for details in solution.select("details.hide"):
        for summary in details.select(":scope > summary"):
            summary.decompose()
        details.unwrap()
    solution["class"] = [c for c in solution.get("class", []) if c != "dropdown"]


def _rewrite_ids_and_links(root: Tag, docname: str, book: set[str]) -> None:
    """Prefix ids with the page's anchor; point links at ids inside the print document;
    point images at the site (one folder up from the print document)."""
    prefix = anchor(docname)
    for tag in root.find_all(id=True):
        tag["id"] = f"{prefix}--{tag['id']}"
    page_dir = posixpath.dirname(docname)
    for link in root.find_all("a", href=True):
        href = link["href"]
        if urlsplit(href).scheme or href.startswith("mailto:"):
            continue  # the web: stays a web link
        path, fragment = urldefrag(href)
        if not path:
            link["href"] = f"#{prefix}--{fragment}" if fragment else f"#{prefix}"
            continue
        target = posixpath.normpath(posixpath.join(page_dir, path))
        target = target[: -len(".html")] if target.endswith(".html") else target
        if target in book:
            link["href"] = f"#{anchor(target)}--{fragment}" if fragment else f"#{anchor(target)}"
        else:
            link.unwrap()  # the index, the search page, a download: no place in print
    for image in root.find_all("img", src=True):
        src = image["src"]
        if not (urlsplit(src).scheme or src.startswith("/")):
            image["src"] = "../" + posixpath.normpath(posixpath.join(page_dir, src))


def _point_exercises_to_solutions(article: Tag, solutions: list[Tag]) -> None:
    """Under each exercise: where its solution is printed (appendix, page)."""
    for solution in solutions:
        link = solution.select_one("p.admonition-title a[href]")
        if link is None or solution.get("id") is None:
            continue
        exercise = article.find(id=link["href"].lstrip("#"))
        if exercise is None:
            continue
        soup = BeautifulSoup("", "html.parser")
        note = soup.new_tag("p", attrs={"class": "solution-ref"})
        ref = soup.new_tag("a", href=f"#{solution['id']}")
        ref.string = "Solution in the appendix, page "
        ref.append(_page_ref(soup, solution["id"]))
        note.append(ref)
        exercise.append(note)


def _page_ref(soup, target: str) -> Tag:
    """A page number to fill in once the PDF says where ``target`` landed."""
    span = soup.new_tag("span", attrs={"class": "page-ref", "data-target": target})
    span.string = "000"  # as wide as any page number: filling it in moves nothing
    return span


def _demote(root: Tag, shift: int) -> None:
    """Move every heading ``shift`` levels down (h1 -> h2 ...), h6 at most."""
    if shift <= 0:
        return
    for heading in root.find_all(re.compile(r"^h[1-6]$")):
        heading.name = f"h{min(6, int(heading.name[1]) + shift)}"


# -- the document ---------------------------------------------------------------------------------


@dataclass
class Book:
    """What the title page says."""

    title: str
    author: str
    url: str = ""
    edition: str = ""


@dataclass(frozen=True)
class Entry:
    """A line of the contents, and an item of the PDF's outline: its depth (0 for the preface,
    the parts and the appendices' part, 1 for chapters and appendices, 2 for sections), its
    number, its title and the id it links to."""

    level: int
    number: str
    title: str
    target: str

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


@dataclass
class PrintDocument:
    """The print document's HTML, and its contents in order (for the PDF's outline)."""

    html: str
    contents: list[Entry]


def print_document(
    site: Path, toc_path: Path, book: Book, *, solutions: Solutions = "appendix"
) -> PrintDocument:
    """The whole course as one HTML document, to be written to ``site/_print/book.html``."""
    if solutions not in ("appendix", "omit"):
        raise ValueError(f"solutions must be 'appendix' or 'omit', got {solutions!r}")
    root, parts = toc_parts(toc_path)
    docnames = {root, *(d for p in parts for d in p.docnames)}
    template = BeautifulSoup((site / f"{parts[0].docnames[0]}.html").read_text(), "html.parser")
    out = BeautifulSoup("<!DOCTYPE html><html lang='en' data-theme='light'></html>", "html.parser")
    out.html.append(_head(template, out, book))
    body = out.new_tag("body", attrs={"class": "print-book"})
    out.html.append(body)
    contents: list[Entry] = []
    parts_html: list[Tag] = []

    preface = read_page(site, root, docnames, solutions=solutions, shift=0)
    _retitle(preface.body, "Preface")
    contents.append(Entry(0, "", "Preface", anchor(root)))
    parts_html.append(_wrap(out, "front-matter", preface.body))

    chapters: list[Page] = []
    for k, part in enumerate(p for p in parts if p.numbered):
        pages = [read_page(site, d, docnames, solutions=solutions, shift=1) for d in part.docnames]
        label = f"Part {ROMAN[k]}"
        contents.append(Entry(0, label, part.caption, f"part-{k + 1}"))
        parts_html.append(_part_page(out, f"part-{k + 1}", label, part.caption, pages))
        for page in pages:
            contents.append(Entry(1, page.number, page.title, anchor(page.docname)))
            contents += _sections(page)
            parts_html.append(_wrap(out, "chapter", page.body))
        chapters += pages

    appendices: list[tuple[Tag, list[Entry]]] = []  # (content, its sections)
    if solutions == "appendix":
        appendices.append(_solutions_appendix(out, chapters))
    for part in (p for p in parts if not p.numbered):
        for docname in part.docnames:
            page = read_page(site, docname, docnames, solutions="omit", shift=1)
            appendices.append((page.body, []))
    if appendices:
        contents.append(Entry(0, "", "Appendices", "appendices"))
        parts_html.append(_part_title(out, "appendices", "", "Appendices"))
        for k, (content, sections) in enumerate(appendices):
            letter = chr(ord("A") + k)
            heading = content.find(re.compile(r"^h[12]$"))
            title = _heading_text(heading)
            heading.insert(0, out.new_string(f"Appendix {letter}. "))
            contents.append(Entry(1, letter, title, content["id"]))
            contents += sections
            parts_html.append(_wrap(out, "appendix", content))

    explorers = [e for page in chapters for e in page.explorers]
    if explorers:
        contents.insert(1, Entry(0, "", "Interactive figures", "interactive-figures"))
        parts_html.insert(1, _interactive_figures(out, explorers, book.url))
    body.append(_title_page(out, book))
    body.append(_contents(out, contents))
    for tag in parts_html:
        body.append(tag)
    return PrintDocument(str(out), contents)


def _sections(page: Page) -> list[Entry]:
    """A chapter's numbered sections (the site's ``h2``, ``h3`` here), for the contents."""
    entries = []
    for heading in page.body.find_all("h3"):
        number = heading.find(class_="section-number")
        section = heading.find_parent("section")
        if number is None or section is None or not section.get("id"):
            continue
        entries.append(
            Entry(
                2,
                number.get_text(strip=True).rstrip("."),
                _heading_text(heading, without_number=True),
                section["id"],
            )
        )
    return entries


def _head(template: BeautifulSoup, out: BeautifulSoup, book: Book) -> Tag:
    """The site's stylesheets and MathJax configuration, and the print styles.

    MathJax draws SVG here instead of the site's HTML with web fonts: it typesets faster,
    prints as vector paths, and Chromium prints the document in half the time. Error messages
    and ``\\text`` stay text in the page's font (``mtextInheritFont``), so an error would still
    show, and be found, in the PDF's text.
    """
    head = out.new_tag("head")
    head.append(out.new_tag("meta", attrs={"charset": "utf-8"}))
    title = out.new_tag("title")
    title.string = book.title
    head.append(title)
    for link in template.head.find_all("link", rel="stylesheet"):
        head.append(out.new_tag("link", rel="stylesheet", href=link["href"]))
    for script in template.head.find_all("script"):
        source = script.get("src", "")
        if "MathJax" in (script.string or ""):
            head.append(copy.copy(script))
        elif re.search(r"mathjax/tex-chtml(-full)?\.js$", source):
            svg = out.new_tag("script")
            svg.string = (
                "window.MathJax = window.MathJax || {};\n"
                'window.MathJax.svg = {fontCache: "global", mtextInheritFont: true};'
            )
            head.append(svg)
            head.append(out.new_tag("script", defer="defer", src=source.replace("-chtml", "-svg")))
    if head.find("script", src=re.compile("tex-svg")) is None:
        raise ValueError("the site's pages load no MathJax (tex-chtml.js) to typeset the PDF with")
    style = out.new_tag("style")
    style.string = STYLE.read_text()
    head.append(style)
    return head


def _retitle(section: Tag, title: str) -> None:
    heading = section.find(re.compile(r"^h[1-6]$"))
    if heading is not None:
        heading.clear()
        heading.string = title


def _wrap(out: BeautifulSoup, kind: str, content: Tag) -> Tag:
    wrapper = out.new_tag("div", attrs={"class": f"print-{kind} bd-article"})
    wrapper.append(content)
    return wrapper


def _title_page(out: BeautifulSoup, book: Book) -> Tag:
    page = out.new_tag("section", attrs={"class": "print-title-page", "id": "title-page"})
    page.append(_tag(out, "h1", book.title, cls="print-book-title"))
    page.append(_tag(out, "p", "An executable course", cls="print-subtitle"))
    page.append(_tag(out, "p", book.author, cls="print-author"))
    details = out.new_tag("div", attrs={"class": "print-edition"})
    if book.url:
        line = _tag(
            out, "p", "The website, with interactive figures and every chapter as a notebook: "
        )
        line.append(_tag(out, "a", book.url, href=book.url))
        details.append(line)
    if book.edition:
        details.append(_tag(out, "p", book.edition))
    details.append(
        _tag(
            out,
            "p",
            "Every number in this book was computed by the code printed next to it when the "
            "book was built.",
        )
    )
    page.append(details)
    return page


def _interactive_figures(out, explorers: list[Explorer], url: str) -> Tag:
    """The figures that have sliders on the website: where they are printed, where they move."""
    section = out.new_tag(
        "section", attrs={"class": "print-interactive bd-article", "id": "interactive-figures"}
    )
    section.append(_tag(out, "h1", "Interactive figures"))
    section.append(
        _tag(
            out,
            "p",
            "These figures have sliders on the website and in the chapters' notebooks: move one "
            "and the curves, fits or paths change, every setting computed by the chapter's code. "
            "On paper each shows a few settings at once.",
        )
    )
    listing = out.new_tag("ol", attrs={"class": "print-toc print-explorers"})
    for explorer in explorers:
        item = out.new_tag("li", attrs={"class": "toc-level-1"})
        link = out.new_tag("a", href=f"#{explorer.target}")
        link.append(_tag(out, "span", explorer.number, cls="toc-number"))
        first_sentence = re.split(r"(?<=[.!?])\s", explorer.caption, maxsplit=1)[0]
        link.append(_tag(out, "span", first_sentence, cls="toc-title"))
        link.append(_page_ref(out, explorer.target))
        item.append(link)
        if url:
            online = url + explorer.url_fragment
            item.append(_tag(out, "a", online, cls="explorer-url", href=online))
        listing.append(item)
    section.append(listing)
    return section


def _contents(out, entries: list[Entry]) -> Tag:
    nav = out.new_tag("nav", attrs={"class": "print-contents", "id": "contents"})
    nav.append(_tag(out, "h1", "Contents"))
    listing = out.new_tag("ol", attrs={"class": "print-toc"})
    for entry in entries:
        listing.append(_toc_line(out, entry))
    nav.append(listing)
    return nav


def _toc_line(out, entry: Entry) -> Tag:
    item = out.new_tag("li", attrs={"class": f"toc-level-{entry.level}"})
    link = out.new_tag("a", href=f"#{entry.target}")
    if entry.number:
        link.append(_tag(out, "span", entry.number, cls="toc-number"))
    link.append(_tag(out, "span", entry.title, cls="toc-title"))
    link.append(_page_ref(out, entry.target))
    item.append(link)
    return item


def _part_title(out, anchor_id: str, label: str, caption: str) -> Tag:
    page = out.new_tag("section", attrs={"class": "print-part", "id": anchor_id})
    heading = out.new_tag("h1")
    if label:
        heading.append(_tag(out, "span", label, cls="part-label"))
        heading.append(out.new_string(" "))
    heading.append(_tag(out, "span", caption, cls="part-caption"))
    page.append(heading)
    return page


def _part_page(out, anchor_id: str, label: str, caption: str, pages: list[Page]) -> Tag:
    page = _part_title(out, anchor_id, label, caption)
    listing = out.new_tag("ol", attrs={"class": "print-part-chapters"})
    for chapter in pages:
        listing.append(
            _toc_line(out, Entry(1, chapter.number, chapter.title, anchor(chapter.docname)))
        )
    page.append(listing)
    return page


def _solutions_appendix(out, chapters: list[Page]) -> tuple[Tag, list[Entry]]:
    section = out.new_tag("section", attrs={"class": "print-solutions", "id": "solutions"})
    section.append(_tag(out, "h2", "Solutions to the exercises"))
    entries = []
    for page in chapters:
        if not page.solutions:
            continue
        target = f"solutions--{anchor(page.docname)}"
        group = out.new_tag("section", attrs={"id": target})
        title = f"Chapter {page.number}. {page.title}" if page.number else page.title
        group.append(_tag(out, "h3", title))
        for solution in page.solutions:
            group.append(solution)
        section.append(group)
        entries.append(Entry(2, "", title, target))
    return section, entries


def _tag(out, name: str, text: str, *, cls: str | None = None, **attrs) -> Tag:
    tag = out.new_tag(name, attrs={"class": cls} if cls else {}, **attrs)
    tag.string = text
    return tag


# -- page numbers ---------------------------------------------------------------------------------

#: Fills every page reference in the open print document, in the browser, from
#: ``{target id: page}``; returns the targets it found no page for.
FILL_PAGE_NUMBERS = r"""(pages) => {
  const missing = [];
  for (const span of document.querySelectorAll('span.page-ref')) {
    const page = pages[span.dataset.target];
    if (page === undefined) missing.push(span.dataset.target);
    else span.textContent = String(page);
  }
  return missing;
}"""
