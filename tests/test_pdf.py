"""The PDF edition (`make pdf`): the whole course, printed from the built site by Chromium.

The book the session fixture ``built_book`` built is printed once (``scripts/pdf.py``'s
``make_pdf``, with the browser tests' Chromium) and the PDF is read back with pdfium: its page
count and page numbers, its outline against the site's own chapter titles, its text for raw
TeX or MathJax errors, its solutions appendix, its interactive figures printed static; a few
pages are rendered to PNG, as ``make screenshots`` does. What the PDF is printed from, the print
document, is checked in HTML too, including the edition without solutions.

Without Chromium these tests skip (and fail in CI), like the other browser tests.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup

from book import ROOT
from editions.pdf import PDF_NAME, PRINT_DIR, Book, print_document, toc_parts

sys.path.insert(0, str(ROOT / "scripts"))
import itertools

from pdf import (
    make_pdf,
    named_destinations,
    prose_text,
    render_pages,
    sample_pages,
    tex_problems,
)

pdfium = pytest.importorskip("pypdfium2")


@pytest.fixture(scope="module")
def printed(built_book, browser, tmp_path_factory):
    """``(pdf path, site, report, PdfDocument)`` of the book printed as `make pdf` prints it."""
    _, site = built_book
    out = tmp_path_factory.mktemp("pdf") / PDF_NAME
    report = make_pdf(site, out, browser=browser)
    pdf = pdfium.PdfDocument(str(out))
    yield out, site, report, pdf
    pdf.close()


def _text(pdf, number: int) -> str:
    """Page ``number``'s text (from 1), whitespace made single spaces."""
    textpage = pdf[number - 1].get_textpage()
    try:
        return " ".join(textpage.get_text_range().split())
    finally:
        textpage.close()


def _outline(pdf) -> list[tuple[int, str, int]]:
    """(level, title, page from 1) of every outline item, in order."""
    return [
        (item.level, item.get_title(), item.get_dest().get_index() + 1) for item in pdf.get_toc()
    ]


def _site_chapters(site) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each numbered part's caption and its chapters' (number, title), read from the site's
    pages (the h1 of each page, as a reader sees it)."""
    _, parts = toc_parts(ROOT / "_toc.yml")
    out = []
    for part in (p for p in parts if p.numbered):
        chapters = []
        for docname in part.docnames:
            page = BeautifulSoup((site / f"{docname}.html").read_text(), "html.parser")
            h1 = page.select_one("article.bd-article h1")
            text = " ".join(h1.get_text().replace("#", " ").split())
            number, title = re.fullmatch(r"(\d+)\. (.+)", text).groups()
            chapters.append((number, title))
        out.append((part.caption, chapters))
    return out


def test_make_pdf_writes_the_book_and_a_copy_the_site_links(printed):
    out, site, report, pdf = printed
    assert out.is_file() and (site / PDF_NAME).read_bytes() == out.read_bytes()
    assert not (site / PRINT_DIR).exists(), "the print document was left in the site"
    assert report["pages"] == len(pdf) and report["formulas"] > 500
    # Every page of the site links the PDF from its download menu, where make pdf put it.
    for page in ["intro.html", "chapters/what-is-a-loss.html", "api.html"]:
        links = BeautifulSoup((site / page).read_text(), "html.parser").select(
            ".dropdown-download-buttons a"
        )
        pdf_links = [a["href"] for a in links if a.get_text(strip=True) == "Whole book (.pdf)"]
        assert len(pdf_links) == 1, f"{page}: {[a.get_text(strip=True) for a in links]}"
        assert (site / page).parent.joinpath(pdf_links[0]).resolve() == (site / PDF_NAME)


def test_page_count_and_page_numbers(printed):
    """Each page's footer is its number, and each chapter fills pages of its own."""
    _, _, report, pdf = printed
    pages = len(pdf)
    for number in range(1, pages + 1):
        assert _text(pdf, number).endswith(str(number)), f"page {number}: footer is not {number}"
    starts = [page for level, _, page in _outline(pdf) if level == 1]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(b - a >= 2 for a, b in itertools.pairwise(starts)), starts
    chapters = sum(len(c) for _, c in _site_chapters(printed[1]))
    # Title, contents, preface, a page per part, at least two per chapter: and not runaway.
    assert 3 + len(_site_chapters(printed[1])) + 2 * chapters <= pages < 1000
    print(f"\nPDF: {pages} pages, {report['formulas']} formulas, {report['seconds']:.0f} s")


def test_every_chapter_title_is_in_the_outline_on_its_first_page(printed):
    """Parts and chapters, numbered and titled as on the site, in the toc's order, each
    outline item pointing at the page that shows its title."""
    _, site, _, pdf = printed
    outline = _outline(pdf)
    parts = [title for level, title, _ in outline if level == 0]
    chapters = [(title, page) for level, title, page in outline if level == 1]
    expected = []
    for roman, (caption, numbered) in zip(
        ["I", "II", "III", "IV", "V", "VI", "VII"], _site_chapters(site)
    ):
        assert f"Part {roman} {caption}" in parts, f"Part {roman} {caption!r} not in {parts}"
        expected += [(f"{number} {title}", title) for number, title in numbered]
    assert [t for t, _ in chapters[: len(expected)]] == [label for label, _ in expected]
    for (label, title), (_, page) in zip(expected, chapters):
        assert title in _text(pdf, page), f"{label!r}: the outline points at page {page}"


def test_contents_gives_the_pages_the_outline_gives(printed):
    _, _, _, pdf = printed
    # The contents run from page 2 to the page before the first entry (the preface).
    preface = _outline(pdf)[0][2]
    assert preface > 2
    contents = " ".join(_text(pdf, n) for n in range(2, preface))
    checked = 0
    for level, title, page in _outline(pdf):
        if level != 1:
            continue
        number, _, heading = title.partition(" ")
        pattern = rf"{re.escape(number)} {re.escape(heading)}[ .]* {page}\b"
        assert re.search(pattern, contents), f"the contents do not give {title!r} page {page}"
        checked += 1
    assert checked >= 8


def test_no_page_shows_raw_tex_or_a_mathjax_error(printed):
    out, _, _, pdf = printed
    assert tex_problems(out) == []
    # Not vacuous: the book's prose has math (typeset, so no TeX left in its text) and its
    # code quotes TeX, which the check leaves alone.
    all_text = " ".join(_text(pdf, n) for n in range(1, len(pdf) + 1))
    assert "\\frac" in all_text or "\\begin" in all_text  # in the API's doctests, as code
    first_chapter = next(page for level, _, page in _outline(pdf) if level == 1)
    assert len(prose_text(pdf[first_chapter - 1])) > 500


def test_the_tex_check_finds_raw_tex_and_mathjax_errors(printed, browser, tmp_path):
    """The control: the same head, MathJax and check, on a page with a formula MathJax never
    saw, one it cannot typeset and TeX in a code block."""
    from site_browser import Reader, serve

    _, site, report, _ = printed
    document = report["document"].html  # the head of the document the book was printed from
    head = document[: document.index("<body")]
    body = (
        "<body><p>Left as typed: $a + b$.</p>"
        '<p>Unknown: <span class="math">\\(\\oops{x}\\)</span>.</p>'
        '<p>Broken: <span class="math">\\(\\frac{1}\\)</span>.</p>'
        '<pre>label = r"$\\frac{a}{b}$"</pre><p>Plain prose.</p></body></html>'
    )
    (site / PRINT_DIR).mkdir(exist_ok=True)
    (site / PRINT_DIR / "control.html").write_text(head + body)
    try:
        with serve(site) as base_url:
            reader = Reader(browser, base_url)
            try:
                reader.open(f"{PRINT_DIR}/control.html")
                reader.page.pdf(path=str(tmp_path / "control.pdf"))
            finally:
                reader.close()
    finally:
        (site / PRINT_DIR / "control.html").unlink()
        (site / PRINT_DIR).rmdir()
    problems = tex_problems(tmp_path / "control.pdf")
    assert any("$a + b$" in p for p in problems), problems  # never typeset
    assert any("\\oops" in p for p in problems), problems  # MathJax shows an unknown macro
    assert any("Missing argument for \\frac" in p for p in problems), problems  # a TeX error
    assert not any("{a}{b}" in p for p in problems), "TeX in code was taken for a failure"


def test_solutions_are_in_the_appendix_and_each_exercise_points_there(printed):
    """Each solution is printed in the appendix, and its exercise gives that page."""
    out, _, report, pdf = printed
    pages = named_destinations(out)
    appendix = pages["solutions"]
    soup = BeautifulSoup(report["document"].html, "html.parser")
    solutions = soup.select(".print-solutions div.solution")
    assert len(solutions) >= 20
    for solution in solutions:
        title = " ".join(solution.select_one("p.admonition-title").get_text().split())
        exercise_id = solution.select_one("p.admonition-title a")["href"].lstrip("#")
        page = pages[solution["id"]]
        assert page >= appendix and title in _text(pdf, page), f"{title}: not on page {page}"
        pointer = f"Solution in the appendix, page {page}"
        at = pages[exercise_id]
        assert pointer in _text(pdf, at) + _text(pdf, at + 1), f"{title}: no {pointer!r}"


def test_the_edition_without_solutions_has_none(printed):
    """The same book printed with ``solutions="omit"`` (the printed one has them: see
    test_solutions_are_in_the_appendix_and_each_exercise_points_there)."""
    _, site, report, _ = printed
    html = print_document(site, ROOT / "_toc.yml", Book("t", "a"), solutions="omit")
    soup = BeautifulSoup(html.html, "html.parser")
    assert soup.select("div.exercise") and not soup.select("div.solution, .solution-ref")
    assert "Solutions to the exercises" not in [e.title for e in html.contents]
    assert "Solutions to the exercises" in [e.title for e in report["document"].contents]


def test_interactive_figures_are_printed_static_and_listed(printed):
    out, _, _, pdf = printed
    pages = named_destinations(out)
    explorers = {name: page for name, page in pages.items() if "--explorer-" in name}
    assert len(explorers) >= 4, f"interactive figures in the PDF: {sorted(explorers)}"
    for name, page in explorers.items():
        images = [o for o in pdf[page - 1].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        assert images, f"{name}: no figure on page {page}"


def test_a_few_pages_render_to_png(printed, tmp_path):
    from PIL import Image

    out, _, _, _ = printed
    sample = sample_pages(out)
    assert set(sample) == {"title", "contents", "chapter", "explorer", "solutions"}
    for path in render_pages(out, tmp_path, sample):
        image = Image.open(path).convert("L")
        low, high = image.getextrema()
        assert image.width > 800 and high - low > 100, f"{path.name} is blank"


def test_make_pdf_says_to_build_the_book_first(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pdf.py"), "--site", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "run `make book` first" in result.stderr
