"""Full-page screenshots of every page of the built site, in light and dark mode, for review,
and of a chapter opened in JupyterLab as ``make lab`` shows it.

Usage: python scripts/screenshots.py [--site _build/html] [--notebooks _build/notebooks]
                                     [--out _build/screenshots] [PAGE ...]

``make screenshots`` runs it on the site ``make book`` built. It serves the site on 127.0.0.1,
opens each page the table of contents lists (or the pages given, e.g. ``chapters/what-is-a-loss``)
in Debian's Chromium on a laptop (1280 x 900) and on a phone (390 x 844), waits for MathJax, and
writes ``NAME.png``, ``NAME-dark.png``, ``NAME-phone.png`` and ``NAME-phone-dark.png``
(``chapters/what-is-a-loss`` -> ``chapters__what-is-a-loss.png``); ``--screens laptop`` (or
``phone``) shoots one of the two.

With ``--pdf`` (the book ``make pdf`` printed), it also renders a few of its pages:
``pdf__title.png``, ``pdf__contents.png``, ``pdf__chapter.png`` (the first chapter's opening),
``pdf__explorer.png`` (an interactive figure, printed static) and ``pdf__solutions.png``.

With ``--notebooks`` (the reader notebooks ``make notebooks`` writes), it also starts JupyterLab
on a copy of them, opens the first chapter and writes ``lab__NAME.png`` (its opening: prose,
a citation, typeset math), ``lab__NAME-numbers.png`` (the first paragraph whose source glues
numbers, with them filled in) and ``lab__NAME-exercises.png`` (its exercises, the first
solution unfolded).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from editions.toc import chapter_paths, toc_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the browser helpers
from lab_server import CURRENT_NOTEBOOK, jupyter_lab, open_notebook
from pdf import render_pages, sample_pages
from site_browser import SCREENS, Reader, chromium, missing_requirements, serve

ROOT = Path(__file__).resolve().parents[1]

#: JupyterLab is shot in a tall window: one screenshot then shows several cells.
LAB_VIEWPORT = {"width": 1280, "height": 1400}


def shot_name(page: str, screen: str, dark: bool) -> str:
    """``chapters/a`` on a phone in dark mode -> ``chapters__a-phone-dark.png``."""
    suffix = ("" if screen == "laptop" else f"-{screen}") + ("-dark" if dark else "")
    return f"{page.replace('/', '__')}{suffix}.png"


def shoot_site(
    browser, site: Path, pages: list[str], out: Path, screens: tuple[str, ...] = tuple(SCREENS)
) -> None:
    with serve(site) as base_url:
        for screen, dark in [(screen, dark) for screen in screens for dark in (False, True)]:
            reader = Reader(browser, base_url, dark=dark, viewport=SCREENS[screen])
            try:
                for page in pages:
                    visit = reader.open(f"{page}.html")
                    path = out / shot_name(page, screen, dark)
                    reader.page.screenshot(path=str(path), full_page=True)
                    problems = (
                        visit.console_errors + visit.failed_requests + visit.external_requests
                    )
                    note = f"  ({len(problems)} problems: {problems[0]} ...)" if problems else ""
                    print(f"{visit.ready_s:5.1f} s  {path.relative_to(out.parent)}{note}")
            finally:
                reader.close()


def first_glued_words(chapter: Path) -> str:
    """The plain words that open the chapter's first paragraph with a glue role."""
    for paragraph in re.split(r"\n\s*\n", chapter.read_text()):
        if "{glue" in paragraph and (words := re.match(r"[A-Za-z][A-Za-z ,]{10,}", paragraph)):
            return words.group(0)[:40].strip()
    raise ValueError(f"{chapter}: no paragraph starts with plain words and glues a number")


def shoot_lab(browser, notebooks: Path, chapter: Path, out: Path) -> list[Path]:
    """Open ``chapter``'s reader notebook in JupyterLab; shoot its opening, its first glued
    numbers and its exercises."""
    with tempfile.TemporaryDirectory(prefix="lab-shots-") as scratch:
        scratch = Path(scratch)
        shutil.copytree(notebooks, scratch / "notebooks")  # a copy: JupyterLab may write to it
        with jupyter_lab(scratch / "notebooks", scratch) as base_url:
            reader = Reader(browser, base_url, viewport=LAB_VIEWPORT)
            try:
                page = reader.page
                open_notebook(page, base_url, f"{chapter.stem}.ipynb")
                shots = [
                    out / f"lab__{chapter.stem}{part}.png"
                    for part in ("", "-numbers", "-exercises")
                ]
                page.screenshot(path=str(shots[0]))
                numbers = page.locator(
                    f"{CURRENT_NOTEBOOK} .jp-RenderedMarkdown p",
                    has_text=first_glued_words(chapter),
                ).first
                numbers.evaluate("p => p.scrollIntoView({block: 'center'})")
                page.screenshot(path=str(shots[1]))
                exercises = page.locator(
                    f"{CURRENT_NOTEBOOK} .jp-RenderedMarkdown h2", has_text="Exercises"
                )
                exercises.scroll_into_view_if_needed()
                page.locator(
                    f"{CURRENT_NOTEBOOK} details summary"
                ).first.click()  # unfold a solution
                page.wait_for_timeout(500)  # MathJax typesets the unfolded text
                exercises.evaluate("h => h.scrollIntoView({block: 'start'})")
                page.screenshot(path=str(shots[2]))
            finally:
                reader.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages to shoot (default: every page of the toc)")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help="reader notebooks (make notebooks): also shoot a chapter in JupyterLab",
    )
    parser.add_argument(
        "--pdf", type=Path, default=None, help="the PDF edition (make pdf): also render a few pages"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument(
        "--screens",
        nargs="+",
        choices=sorted(SCREENS),
        default=list(SCREENS),
        help="laptop (1280 px), phone (390 px), or both (the default)",
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"no site in {args.site}: run `make book` first", file=sys.stderr)
        return 2
    if args.notebooks and not any(args.notebooks.glob("*.ipynb")):
        print(f"no notebooks in {args.notebooks}: run `make notebooks` first", file=sys.stderr)
        return 2
    if args.pdf and not args.pdf.is_file():
        print(f"no PDF at {args.pdf}: run `make pdf` first", file=sys.stderr)
        return 2
    if reason := missing_requirements():
        print(reason, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        shoot_site(browser, args.site, args.pages or toc_files(), args.out, tuple(args.screens))
        if args.notebooks:
            for path in shoot_lab(browser, args.notebooks, chapter_paths()[0], args.out):
                print(f"JupyterLab  {path.relative_to(args.out.parent)}")
    if args.pdf:
        for path in render_pages(args.pdf, args.out, sample_pages(args.pdf)):
            print(f"PDF         {path.relative_to(args.out.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
