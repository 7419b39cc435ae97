"""Print the whole course as one PDF from the built site, with the Chromium the tests use.

Usage: python scripts/pdf.py [--site _build/html] [--out _build/pdf/loss-functions.pdf]
                             [--solutions appendix|omit] [--paper A4|Letter] [--keep-html]

``make pdf`` runs it after ``make book``; no TeX is involved. It

1. assembles the print document from the site's pages (``editions/pdf.py``: title page,
   contents, preface, numbered parts and chapters, the solutions and the reference pages as
   appendices) into ``SITE/_print/book.html``;
2. serves the site on 127.0.0.1 and opens the document in Debian's Chromium, offline (a request
   that would leave 127.0.0.1 fails the run), and waits until MathJax has typeset every formula;
   a formula left as TeX or typeset as an error fails the run;
3. prints a draft, reads from it on which page each linked target landed, writes those pages
   into the contents and the solution references, and prints the book (tagged, page numbers in
   the footer); adds the outline of parts, chapters and sections (bookmarks);
4. writes ``--out`` and a copy at ``SITE/loss-functions.pdf``, where the site's "PDF" download
   points, and removes ``SITE/_print`` (unless ``--keep-html``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from editions.pdf import (
    FILL_PAGE_NUMBERS,
    PDF_NAME,
    PRINT_DIR,
    PRINT_PAGE,
    Book,
    Entry,
    print_document,
)
from editions.site import Site

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the browser helpers
from site_browser import Reader, chromium, missing_requirements, serve

ROOT = Path(__file__).resolve().parents[1]

#: Prints at most after the draft to settle the page numbers (one is the rule).
DRAFTS = 4
FOOTER = (
    '<div style="width:100%;font-size:8pt;color:#555;text-align:center;'
    'font-family:sans-serif"><span class="pageNumber"></span></div>'
)

#: What the page must satisfy before it is printed (counted in the browser).
MATH_STATE = r"""() => ({
  formulas: document.querySelectorAll('.math').length,
  typeset: document.querySelectorAll('.math mjx-container').length,
  untypeset: [...document.querySelectorAll('.math')].filter((m) => !m.querySelector('mjx-container'))
               .map((m) => m.textContent.slice(0, 80)),
  errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
            .map((e) => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80)),
  images: [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src.slice(0, 80)),
})"""


def book_info(config_path: Path) -> Book:
    """Title, author, published site and edition (the commit it was built from, if known)."""
    config = yaml.safe_load(config_path.read_text())
    try:
        url = Site.from_config(config_path).url
    except ValueError:
        url = ""
    edition = ""
    try:
        edition = subprocess.run(
            ["git", "log", "-1", "--format=Built on %cs from commit %h."],
            cwd=config_path.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return Book(config.get("title", ""), config.get("author", ""), url, edition)


def named_destinations(pdf_path: Path) -> dict[str, int]:
    """Every named destination of the PDF (Chromium names one per link target, by its id) and
    its page number, from 1."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pages = {}
        for index in range(raw.FPDF_CountNamedDests(pdf.raw)):
            size = ctypes.c_long(0)
            raw.FPDF_GetNamedDest(pdf.raw, index, None, ctypes.byref(size))
            buffer = ctypes.create_string_buffer(size.value)
            dest = raw.FPDF_GetNamedDest(pdf.raw, index, buffer, ctypes.byref(size))
            name = buffer.raw[: size.value].decode("utf-16-le").rstrip("\x00")
            pages[name] = raw.FPDFDest_GetDestPageIndex(pdf.raw, dest) + 1
        return pages
    finally:
        pdf.close()


#: Raw TeX in the PDF's prose: a control word (\\frac), $$, \\( \\) \\[ \\], or $x$ (dollars hugging
#: their content, as Pandoc reads them: "$1000 and $1" is money): what a formula that MathJax
#: never typeset leaves on the page. Code is not prose: it may quote TeX.
RAW_TEX = re.compile(r"\\[A-Za-z]{2,}|\$\$|\\[()\[\]]|\$(?=[^\s$])[^$]{1,80}?(?<=[^\s$])\$(?!\d)")
#: The start of MathJax's messages for a formula it could not typeset (shown as text, in the
#: page's font, as the print document asks: mtextInheritFont).
MATHJAX_ERRORS = re.compile(
    r"Math input error|Undefined control sequence|Missing (open|close) brace|Missing argument|"
    r"Extra (open|close) brace|Misplaced &|Unknown environment|TeX parse error"
)


def prose_text(pdf_page) -> str:
    """The text of a page outside code: every character not set in a fixed-pitch font."""
    import pypdfium2.raw as raw

    textpage = pdf_page.get_textpage()
    try:
        flags, chars = ctypes.c_int(0), []
        for index in range(textpage.count_chars()):
            raw.FPDFText_GetFontInfo(textpage.raw, index, None, 0, ctypes.byref(flags))
            fixed_pitch = flags.value & 1  # the PDF font descriptor's FixedPitch flag
            chars.append(" " if fixed_pitch else chr(raw.FPDFText_GetUnicode(textpage.raw, index)))
        return "".join(chars)
    finally:
        textpage.close()


def tex_problems(pdf_path: Path) -> list[str]:
    """Each page's raw TeX and MathJax errors outside code, as ``"p. N: ...snippet..."``."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    problems = []
    try:
        for index in range(len(pdf)):
            text = prose_text(pdf[index])
            for pattern in (RAW_TEX, MATHJAX_ERRORS):
                for match in pattern.finditer(text):
                    around = " ".join(text[max(0, match.start() - 30) : match.end() + 30].split())
                    problems.append(f"p. {index + 1}: {around}")
    finally:
        pdf.close()
    return problems


def print_pdf(page, path: Path, paper: str, *, tagged: bool) -> None:
    page.pdf(
        path=str(path),
        format=paper,
        print_background=True,
        display_header_footer=True,
        header_template="<span></span>",
        footer_template=FOOTER,
        margin={"top": "18mm", "bottom": "20mm", "left": "17mm", "right": "17mm"},
        tagged=tagged,
    )


def add_outline(pdf_path: Path, contents: list[Entry], pages: dict[str, int]) -> None:
    """Give the PDF an outline (bookmarks) made of the contents: parts, chapters, sections.

    Chromium can write an outline from the headings itself, but its titles lose the space at
    every line break and repeat a heading that moved to the next page ("2.7. 2.7.
    SummarySummary"), so the outline comes from the contents instead, each item on the page
    where Chromium placed its target.
    """
    import logging

    from pypdf import PdfWriter

    # pypdf notes that Chromium's trailer counts fewer objects than the file has; harmless.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    writer = PdfWriter(clone_from=str(pdf_path))
    parents: dict[int, object] = {}
    for entry in contents:
        parent = parents.get(entry.level - 1) if entry.level > 0 else None
        item = writer.add_outline_item(
            title=entry.label, page_number=pages[entry.target] - 1, parent=parent
        )
        parents[entry.level] = item
        for deeper in [k for k in parents if k > entry.level]:
            del parents[deeper]
    writer.page_mode = "/UseOutlines"
    with pdf_path.open("wb") as f:
        writer.write(f)


def make_pdf(
    site: Path,
    out: Path,
    *,
    toc: Path = ROOT / "_toc.yml",
    config: Path = ROOT / "_config.yml",
    solutions: str = "appendix",
    paper: str = "A4",
    keep_html: bool = False,
    browser=None,
    log=print,
) -> dict:
    """Print the course from the built ``site`` into ``out``; return what was measured (pages,
    formulas, seconds) and the print document it printed.

    ``browser``: a Playwright Chromium to print with (the tests pass theirs); by default one is
    started and closed here.
    """
    start = time.perf_counter()
    document = print_document(site, toc, book_info(config), solutions=solutions)
    # The targets whose page the document prints (contents, solution pointers): these must not
    # move. Others may (an exercise's box on a page boundary), and no number says where.
    referenced = set(re.findall(r'class="page-ref" data-target="([^"]+)"', document.html))
    page_path = site / PRINT_PAGE
    page_path.parent.mkdir(exist_ok=True)
    page_path.write_text(document.html, encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    draft = out.with_name(out.stem + ".draft.pdf")
    report: dict = {}
    try:
        with contextlib.ExitStack() as stack:
            if browser is None:
                browser = stack.enter_context(chromium())
            base_url = stack.enter_context(serve(site))
            reader = Reader(browser, base_url)
            try:
                visit = reader.open(PRINT_PAGE, timeout_ms=300_000)
                report["typeset_s"] = visit.ready_s
                state = reader.page.evaluate(MATH_STATE)
                problems = visit.console_errors + visit.external_requests + visit.failed_requests
                if problems or state["untypeset"] or state["errors"] or state["images"]:
                    raise RuntimeError(
                        f"the print document is not ready to print: {problems[:5]}, "
                        f"untypeset {state['untypeset'][:5]}, MathJax errors "
                        f"{state['errors'][:5]}, images not loaded {state['images'][:5]}"
                    )
                report["formulas"] = state["typeset"]
                # A draft tells on which page each target lands; the page numbers of the
                # contents then fill spaces kept for them, so the final print breaks the same.
                print_pdf(reader.page, draft, paper, tagged=False)
                pages = named_destinations(draft)
                # A number narrower than its placeholder can pull a line back and a target
                # onto the page before: print again until the numbers stay where they point.
                # Each print is a candidate final one (tagging does not move text), which saves
                # a print (20 to 30 s for the whole course) when the numbers hold at once.
                for _ in range(DRAFTS):
                    missing = reader.page.evaluate(FILL_PAGE_NUMBERS, pages)
                    if missing:
                        raise RuntimeError(f"targets the draft PDF did not place: {missing[:5]}")
                    print_pdf(reader.page, out, paper, tagged=True)
                    placed = named_destinations(out)
                    if _moved(pages, placed, referenced) == {}:
                        break
                    pages = placed
                else:
                    raise RuntimeError(f"the page numbers did not settle in {DRAFTS} prints")
            finally:
                reader.close()
    finally:
        draft.unlink(missing_ok=True)
        if not keep_html:
            shutil.rmtree(site / PRINT_DIR, ignore_errors=True)
    final = named_destinations(out)
    moved = _moved(pages, final, referenced)
    if moved:
        raise RuntimeError(f"filling in the page numbers moved targets: {list(moved.items())[:5]}")
    add_outline(out, document.contents, final)
    problems = tex_problems(out)
    if problems:
        raise RuntimeError(
            "raw TeX or MathJax errors on the PDF's pages:\n" + "\n".join(problems[:10])
        )
    shutil.copyfile(out, site / PDF_NAME)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(out))
    report |= {"pages": len(pdf), "seconds": time.perf_counter() - start, "document": document}
    pdf.close()
    log(
        f"{out}: {report['pages']} pages, {report['formulas']} formulas typeset, "
        f"{report['seconds']:.0f} s (also {site / PDF_NAME})"
    )
    return report


def _moved(pages: dict[str, int], placed: dict[str, int], targets: set[str]) -> dict:
    """The targets among ``targets`` that are not on the page ``pages`` says: (said, placed)."""
    return {t: (pages.get(t), placed.get(t)) for t in targets if placed.get(t) != pages.get(t)}


def sample_pages(pdf_path: Path) -> dict[str, int]:
    """A few pages worth looking at (``make screenshots``), by what they show: the title page,
    the contents, the first chapter's opening, the first interactive figure's static form and
    the solutions appendix's opening (the last two when the PDF has them)."""
    pages = named_destinations(pdf_path)
    chapters = sorted(p for name, p in pages.items() if re.fullmatch(r"chapters--[\w-]+", name))
    explorers = sorted(p for name, p in pages.items() if "--explorer-" in name)
    sample = {"title": 1, "contents": pages.get("contents", 2)}
    if chapters:
        sample["chapter"] = chapters[0]
    if explorers:
        sample["explorer"] = explorers[0]
    if "solutions" in pages:
        sample["solutions"] = pages["solutions"]
    return sample


def render_pages(pdf_path: Path, out: Path, pages: dict[str, int], *, scale: float = 1.5):
    """Each of ``pages`` (name -> page from 1) as ``out/pdf__NAME.png``; return the paths."""
    import pypdfium2 as pdfium

    out.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(pdf_path))
    paths = []
    try:
        for name, number in pages.items():
            path = out / f"pdf__{name}.png"
            pdf[number - 1].render(scale=scale).to_pil().save(path)
            paths.append(path)
    finally:
        pdf.close()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / PDF_NAME)
    parser.add_argument(
        "--solutions",
        choices=["appendix", "omit"],
        default="appendix",
        help="print the exercises' solutions in an appendix (default) or leave them out",
    )
    parser.add_argument("--paper", choices=["A4", "Letter"], default="A4")
    parser.add_argument(
        "--keep-html", action="store_true", help="keep SITE/_print/book.html (to inspect it)"
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"no site in {args.site}: run `make book` first", file=sys.stderr)
        return 2
    if reason := missing_requirements():
        print(reason, file=sys.stderr)
        return 2
    make_pdf(
        args.site, args.out, solutions=args.solutions, paper=args.paper, keep_html=args.keep_html
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
