"""The website, read the way its readers read it: every page of the toc in a real browser.

The book the session fixture ``built_book`` built is served on 127.0.0.1 from a thread, and
Debian's Chromium (driven by Playwright) opens every page the table of contents lists on a
laptop (1280 x 900) and on a phone (390 x 844), each with the system in light mode and in dark
mode. For each page: HTTP 200, no JavaScript error, nothing fetched from outside 127.0.0.1, every
image loaded and described, every formula typeset by MathJax, every chapter in the left
navigation, launch and download buttons on chapter pages; at both widths no sideways scrolling,
and on a laptop no code, output or derivation wider than the text column (a table or formula
that must scroll says so); figures crisp (2x) at their size, stacked on a phone, and without a
glaring white panel in dark mode; the header's menu and contents buttons work. Then the course's
own parts: each chapter's opening box, the landing page's first screen, table and map, glossary
links, the cheat sheet, folded code and one-click solutions, author-year citations with links
back, and search that ranks chapters first. Across the site: every internal link resolves.

Without Chromium these tests skip with a message saying how to install it; in CI (``CI=true``)
they fail instead. Per-page load times are printed at the end of the run. Figures' pixels in dark
mode are checked on the laptop only (the same CSS draws them on a phone).
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from book import ROOT, chapter_paths, toc_files
from editions.outline import load_outline
from editions.pdf import PDF_NAME
from site_browser import PHONE, VIEWPORT, Reader, serve

pytestmark = pytest.mark.slow

PAGES = toc_files()
CHAPTERS = [f for f in PAGES if f.startswith("chapters/")]
SCREENS = ["laptop", "phone"]

# The landing page's first screen, its table and its map.
FIRST_SCREEN = r"""() => {
  const bottom = (sel) => { const e = document.querySelector(sel); return e && e.checkVisibility() ? e.getBoundingClientRect().bottom : Infinity; };
  const links = (sel) => [...document.querySelectorAll(sel)].map((a) => [a.textContent.trim(), a.href]);
  return {
    height: window.innerHeight,
    start: links('.course-start-button a'), startBottom: bottom('.course-start-button a'),
    launch: links('.course-start-launch a'), launchBottom: bottom('.course-start-launch'),
    tables: document.querySelectorAll('article table.course-chapters').length,
    tocLists: [...document.querySelectorAll('article .toctree-wrapper')].filter((e) => e.querySelector('a')).length,
    rows: [...document.querySelectorAll('table.course-chapters tbody tr')].map((tr) => ({
      part: tr.classList.contains('course-part'), text: tr.textContent.trim().replace(/\s+/g, ' '),
      link: (tr.querySelector('td.course-chapter a') || {}).href,
      time: (tr.querySelector('td.course-time') || {textContent: ''}).textContent.trim(),
      learn: tr.querySelectorAll('td.course-learn li').length})),
    map: [...document.querySelectorAll('svg.course-map a')].map((a) => a.getAttribute('href')),
    arrows: document.querySelectorAll('svg.course-map .course-map-edge').length,
    mapWords: document.querySelectorAll('ul.course-map-words > li').length,
  };
}"""

# A chapter's opening box, right under its title (None when there is none).
OPENING_BOX = r"""() => {
  const h1 = document.querySelector('article h1');
  const box = h1.nextElementSibling;
  if (!box || !box.classList.contains('chapter-opening')) return null;
  return {
    learn: [...box.querySelectorAll('li')].map((li) => li.textContent.trim()),
    needs: [...box.querySelectorAll('p a')].map((a) => a.href),
    text: box.textContent.replace(/\s+/g, ' ').trim(),
    visible: box.checkVisibility(),
    right: box.getBoundingClientRect().right,
  };
}"""

# Everything a page check needs, measured in the page in one go.
INSPECT_PAGE = r"""() => {
  const article = document.querySelector('article.bd-article');
  const box = article.getBoundingClientRect(), style = getComputedStyle(article);
  const column = {left: box.left + parseFloat(style.paddingLeft), right: box.right - parseFloat(style.paddingRight)};
  const visible = (e) => e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length > 0;
  const images = [...document.images].map((img) => {
    const r = img.getBoundingClientRect();
    const link = img.closest('a');
    return {src: img.currentSrc || img.src, alt: img.getAttribute('alt'), complete: img.complete,
            naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
            // the 1x width a high-DPI image declares (an attribute or, from docutils, a style)
            declaredWidth: parseFloat(img.getAttribute('width')) || parseFloat(img.style.width) || null,
            width: r.width, left: r.left, right: r.right, visible: visible(img),
            inArticle: article.contains(img), inFigure: !!img.closest('figure'),
            classes: [...img.classList], link: link ? link.href : null};
  });
  // What is wider than the text column: code blocks, outputs, display math and tables (each
  // that can be seen), how far it sticks out or scrolls, and whether it says that it scrolls.
  const wide = [];
  const kindOf = (e) => e.matches('mjx-container') ? (e.closest('.cell_output') ? 'derivation' : 'formula')
      : e.matches('table') ? 'table' : e.closest('.cell_output') ? 'output' : 'code';
  for (const e of article.querySelectorAll('pre, .cell_output > .output, mjx-container[display="true"], table')) {
    if (!visible(e)) continue;
    const scroller = e.matches('table') ? e.closest('.pst-scrollable-table-container, .table-scroll') || e : e;
    const r = scroller.getBoundingClientRect();
    const sticksOut = Math.max(0, r.right - column.right, column.left - r.left);
    const scrolls = Math.max(0, scroller.scrollWidth - scroller.clientWidth);
    if (sticksOut > 1 || scrolls > 1) {
      const hint = scroller.previousElementSibling;
      wide.push({kind: kindOf(e), text: e.textContent.trim().slice(0, 60), sticksOut, scrolls,
                 marked: scroller.classList.contains('is-scrollable'),
                 hinted: !!(hint && hint.classList.contains('table-scroll-hint') && visible(hint))});
    }
  }
  const maths = [...article.querySelectorAll('.math')];
  return {
    theme: document.documentElement.dataset.theme,
    column,
    pageWidth: document.documentElement.scrollWidth, windowWidth: window.innerWidth,
    articleScrolls: document.querySelector('.bd-article-container').scrollWidth
        - document.querySelector('.bd-article-container').clientWidth,
    wide,
    landing: document.querySelector('.course-start') ? (FIRST_SCREEN)() : null,
    opening: (OPENING_BOX)(),
    images,
    figureIds: [...article.querySelectorAll('figure[id]')].filter((f) => f.querySelector('img')).map((f) => f.id),
    figuresWithoutImage: [...article.querySelectorAll('figure')]
        .filter((f) => !f.querySelector('img, svg, object'))
        .map((f) => f.id || f.textContent.trim().slice(0, 80)),
    math: maths.length,
    mathUntypeset: maths.filter((m) => !m.querySelector('mjx-container')).map((m) => m.textContent.slice(0, 80)),
    mathRaw: maths.filter((m) => /\\\(|\\\[|\$\$/.test(m.textContent)).map((m) => m.textContent.slice(0, 80)),
    mathErrors: [...article.querySelectorAll('mjx-merror, [data-mjx-error]')].map((e) => e.textContent.slice(0, 80)),
    nav: [...document.querySelectorAll('nav.bd-docs-nav a.reference')].map((a) => a.href),
    // (an SVG link's href is an object: resolve its attribute)
    links: [...document.querySelectorAll('a[href]')].map((a) => new URL(a.getAttribute('href'), document.baseURI).href),
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map((a) => [a.textContent.trim(), a.href]),
    downloads: [...document.querySelectorAll('.dropdown-download-buttons a')].map((a) => [a.textContent.trim(), a.href]),
  };
}"""
INSPECT_PAGE = INSPECT_PAGE.replace("FIRST_SCREEN", FIRST_SCREEN).replace(
    "OPENING_BOX", OPENING_BOX
)


# The colours a reader sees: each text element's colour against the first opaque background
# behind it (WCAG relative luminance and contrast ratio).
TEXT_CONTRAST = r"""(selector) => {
  const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c;
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)]
    .filter((e) => e.textContent.trim() && e.getClientRects().length)
    .map((e) => {
      const fg = lum(rgba(getComputedStyle(e).color)), bg = lum(background(e));
      return {text: e.textContent.trim().slice(0, 40), ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)};
    });
}"""

# The share of an image's pixels that are not fully opaque (drawn on a canvas; same origin).
TRANSPARENT_SHARE = r"""async (src) => {
  const img = new Image(); img.src = src; await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let transparent = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] < 255) transparent++;
  return transparent / (data.length / 4);
}"""

#: Every piece of a figure's or table's caption: its number and its text.
CAPTIONS = "article figcaption, article figcaption *, article caption, article caption *"

FILE_NAME = re.compile(r"^\S*\.(png|jpe?g|gif|svg|webp|pdf)$|^\S*/\S*$|^[0-9a-f]{16,}", re.I)


def _alt_problem(alt: str | None, *, in_article: bool) -> str | None:
    """Why an alt text does not describe its image (None when it does)."""
    if alt is None or not alt.strip():
        return "no alt text"
    if FILE_NAME.search(alt.strip()):
        return f"alt is a file name or path: {alt!r}"
    # Figures need a description; a theme icon next to its own label ("Colab logo") may be short.
    if in_article and len(alt.strip()) < 20:
        return f"alt too short to describe a figure: {alt!r}"
    return None


@pytest.fixture(scope="module")
def site(built_book):
    """The built site served over HTTP on 127.0.0.1; yields ``(base_url, html_dir)``."""
    _, html = built_book
    with serve(html) as base_url:
        yield base_url, html


def _read_all(browser, base_url, *, dark, screen="laptop"):
    viewport = {"laptop": VIEWPORT, "phone": PHONE}[screen]
    reader = Reader(browser, base_url, dark=dark, viewport=viewport)
    try:
        pages = {}
        for name in PAGES:
            visit = reader.open(f"{name}.html")
            info = reader.page.evaluate(INSPECT_PAGE)
            info["captions"] = reader.page.evaluate(TEXT_CONTRAST, CAPTIONS)
            pages[name] = (
                visit,
                info,
                _dark_checks(reader.page, figures=screen == "laptop") if dark else None,
            )
        return pages
    finally:
        reader.close()


def _dark_checks(page, *, figures: bool):
    contrast = page.evaluate(
        TEXT_CONTRAST, "article p, article li, article h1, article h2, nav.bd-docs-nav a"
    )
    if not figures:
        return {"contrast": contrast, "transparent": {}, "figure_pixels": []}
    shown = [img["src"] for img in page.evaluate(INSPECT_PAGE)["images"] if img["inArticle"]]
    return {
        "contrast": contrast,
        "transparent": {src: page.evaluate(TRANSPARENT_SHARE, src) for src in shown},
        "figure_pixels": _figure_pixels(page),
    }


def _figure_pixels(page):
    """Each figure as the reader sees it (after the site's CSS): (src, paper, dark ink, light
    ink) luminances.

    The paper is the median pixel of the figure's edge (its margin, under the lettering: the
    plot itself may be filled with colour), the ink the darkest or the lightest 0.5 % of all
    pixels (axis lettering), robust to a few stray pixels.
    """
    from PIL import Image

    def level(histogram, share):
        total, seen = sum(histogram), 0
        for value, count in enumerate(histogram):
            seen += count
            if seen >= share * total:
                return value / 255
        return 1.0

    out = []
    for handle in page.query_selector_all("article figure img, article .cell_output img"):
        if not handle.is_visible():
            continue
        handle.scroll_into_view_if_needed()
        image = Image.open(io.BytesIO(handle.screenshot())).convert("L")
        width, height = image.size
        edge = [image.getpixel((x, y)) for x in range(width) for y in (1, height - 2)] + [
            image.getpixel((x, y)) for y in range(height) for x in (1, width - 2)
        ]
        histogram = image.histogram()
        out.append(
            (
                handle.get_attribute("src"),
                sorted(edge)[len(edge) // 2] / 255,
                level(histogram, 0.005),
                level(histogram, 0.995),
            )
        )
    return out


@pytest.fixture(scope="module")
def light(browser, site, page_load_times):
    """Every toc page read in light mode: ``name -> (Visit, inspection, None)``."""
    base_url, _ = site
    pages = _read_all(browser, base_url, dark=False)
    for name, (visit, _, _) in pages.items():
        page_load_times[f"{name}.html"] = (visit.load_s, visit.ready_s)
    return pages


@pytest.fixture(scope="module")
def dark(browser, site):
    """Every toc page read by a reader whose system is in dark mode."""
    base_url, _ = site
    return _read_all(browser, base_url, dark=True)


@pytest.fixture(scope="module")
def phone(browser, site):
    """Every toc page read on a phone (390 px), light mode."""
    base_url, _ = site
    return _read_all(browser, base_url, dark=False, screen="phone")


@pytest.fixture(scope="module")
def phone_dark(browser, site):
    """Every toc page read on a phone, dark mode."""
    base_url, _ = site
    return _read_all(browser, base_url, dark=True, screen="phone")


@pytest.fixture(params=["laptop-light", "laptop-dark", "phone-light", "phone-dark"])
def view(request):
    """One screen and theme: ``(screen, pages)``, the pages read as for ``light``."""
    fixture = {
        "laptop-light": "light",
        "laptop-dark": "dark",
        "phone-light": "phone",
        "phone-dark": "phone_dark",
    }[request.param]
    return request.param.split("-")[0], request.getfixturevalue(fixture)


# -- every page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(light, name):
    visit, info, _ = light[name]
    assert visit.status == 200, f"{name}: HTTP {visit.status}"
    # Catches e.g. "Identifier 'THEBE_JS_URL' has already been declared" (see _ext/site_extension.py).
    assert visit.console_errors == [], f"{name}: JavaScript errors:\n" + "\n".join(
        visit.console_errors
    )
    assert visit.external_requests == [], (
        f"{name}: requests leaving 127.0.0.1 (the site must work offline):\n"
        + "\n".join(visit.external_requests)
    )
    assert visit.failed_requests == [], f"{name}: failed requests:\n" + "\n".join(
        visit.failed_requests
    )
    assert info["pageWidth"] <= info["windowWidth"], (
        f"{name}: the page scrolls sideways at {info['windowWidth']} px"
    )


@pytest.mark.parametrize("name", PAGES)
def test_images_load_and_are_described(light, name):
    _, info, _ = light[name]
    problems = []
    for img in info["images"]:
        where = img["src"].rsplit("/", 1)[-1][:24]
        if not img["complete"] or img["naturalWidth"] == 0:
            problems.append(f"{where}: did not load")
        if problem := _alt_problem(img["alt"], in_article=img["inArticle"]):
            problems.append(f"{where}: {problem}")
    assert problems == [], f"{name}:\n" + "\n".join(problems)
    assert info["figuresWithoutImage"] == [], (
        f"{name}: figures with a caption but no image: {info['figuresWithoutImage']}"
    )


def _declared_figures(name: str) -> list[str]:
    """The figure names a chapter's cells declare (``mystnb: figure: name``)."""
    import jupytext

    cells = jupytext.read(ROOT / f"{name}.md").cells
    return [
        c.metadata["mystnb"]["figure"]["name"]
        for c in cells
        if c.cell_type == "code" and "name" in c.metadata.get("mystnb", {}).get("figure", {})
    ]


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_declared_figure_is_on_the_page(light, name):
    """A figure cell whose plot never reached the page leaves no trace but a missing picture
    (e.g. a plotting helper that stops the notebook from displaying figures)."""
    _, info, _ = light[name]
    shown = set(info["figureIds"])
    missing = [fig for fig in _declared_figures(name) if fig not in shown]
    assert missing == [], (
        f"{name}: figures declared in the chapter but not shown with an image: {missing}"
    )


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset_by_mathjax(light, name):
    _, info, _ = light[name]
    assert info["mathUntypeset"] == [], (
        f"{name}: math MathJax did not typeset: {info['mathUntypeset'][:5]}"
    )
    assert info["mathRaw"] == [], (
        f"{name}: raw TeX delimiters left on the page: {info['mathRaw'][:5]}"
    )
    assert info["mathErrors"] == [], f"{name}: MathJax errors: {info['mathErrors'][:5]}"


def test_chapters_have_math_for_mathjax(light):
    """The control for the test above: it is not vacuous, the chapters do have math."""
    assert all(light[name][1]["math"] > 0 for name in CHAPTERS)


@pytest.mark.parametrize("name", PAGES)
def test_left_navigation_lists_every_page(light, site, name):
    base_url, _ = site
    visit, info, _ = light[name]
    listed = {urldefrag(href)[0] or visit.url for href in info["nav"]} | {visit.url}
    missing = [page for page in PAGES if urljoin(base_url, f"{page}.html") not in listed]
    assert missing == [], f"{name}: the navigation does not list {missing}"


@pytest.mark.parametrize("name", PAGES)
def test_figures_show_at_natural_size_inside_the_column(light, name):
    """At 100 % zoom in a 1280 px window a figure is neither shrunk (its text would shrink with it)
    nor wider than the text column (it would overlap the page's table of contents), and it is
    crisp on a high-DPI screen: its PNG has twice the pixels of the size it is shown at
    (lossutils.plotting). A tap opens it full size: it links to its own file."""
    _, info, _ = light[name]
    column = info["column"]
    problems = []
    for img in info["images"]:
        if not (img["inArticle"] and img["visible"]):
            continue
        where = img["src"].rsplit("/", 1)[-1][:24]
        size = img["declaredWidth"]
        if size is None:
            problems.append(f"{where}: no size at 1x: Sphinx did not get the figure's metadata")
            continue
        if img["width"] < size - 1:
            problems.append(
                f"{where}: shown {img['width']:.0f} px wide, drawn for {size:.0f} px (shrunk to "
                f"{100 * img['width'] / size:.0f} %)"
            )
        if img["naturalWidth"] < 2 * size - 2:
            problems.append(f"{where}: {img['naturalWidth']} pixels for {size:.0f} px: not 2x")
        if img["left"] < column["left"] - 1 or img["right"] > column["right"] + 1:
            problems.append(f"{where}: sticks out of the text column")
        if img["inFigure"] and img["link"] != img["src"]:
            problems.append(f"{where}: a tap does not open the figure full size ({img['link']})")
    assert problems == [], f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_pages_offer_launch_and_notebook_download(light, site, name):
    _, info, _ = light[name]
    stem = Path(name).name
    launch = dict(info["launch"])
    assert set(launch) >= {"Binder", "Colab"}, f"{name}: launch buttons {sorted(launch)}"
    # Colab opens the generated notebook that the publish workflow pushes to the notebooks branch.
    assert re.search(
        rf"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/notebooks/{stem}\.ipynb$",
        launch["Colab"],
    )
    assert f"urlpath=lab/tree/{name}.md" in launch["Binder"]
    downloads = dict(info["downloads"])
    assert ".ipynb" in downloads, f"{name}: the download menu offers {sorted(downloads)}"
    with urllib.request.urlopen(downloads[".ipynb"]) as response:
        notebook = json.load(response)
    assert notebook["nbformat"] == 4 and len(notebook["cells"]) > 5
    # The download is the reader notebook (editions/sphinx.py): plain Markdown that says where
    # its numbers come from, with the build's outputs (figures, printed numbers) in its cells.
    markdown = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"]
    assert "computed by the book's own run" in markdown[0]
    assert not any("{glue" in text or "```{" in text for text in markdown)
    assert any(cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_captions_meet_4_5_to_1_contrast_in_both_themes(light, dark, name, mode):
    """WCAG AA for body text, for the figure captions the reader must be able to read."""
    _, info, _ = (light if mode == "light" else dark)[name]
    faint = [c for c in info["captions"] if c["ratio"] < 4.5]
    assert faint == [], f"{name}, {mode} mode: captions below 4.5:1 contrast: {faint[:5]}"


# -- dark mode -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_dark_mode_keeps_text_and_figures_legible(dark, name):
    visit, info, checks = dark[name]
    assert info["theme"] == "dark", f"{name}: the system's dark mode did not switch the theme"
    assert visit.console_errors == [], f"{name}: JavaScript errors in dark mode:\n" + "\n".join(
        visit.console_errors
    )
    faint = [c for c in checks["contrast"] if c["ratio"] < 4.5]  # WCAG AA for body text
    assert faint == [], f"{name}: text below 4.5:1 contrast in dark mode: {faint[:5]}"
    # Figures have an opaque background (lossutils.plotting), so their colours are their own...
    see_through = {
        src.rsplit("/", 1)[-1][:24]: share
        for src, share in checks["transparent"].items()
        if share > 0
    }
    assert see_through == {}, (
        f"{name}: figures with transparent pixels vanish on a dark page: {see_through}"
    )
    # ... and on screen, after the theme's dark-mode CSS (it dims images), each figure is still
    # dark ink on light paper, with at least the contrast WCAG asks of body text.
    # ... and on screen, after the site's dark-mode CSS, each figure is light ink on dark paper,
    # close to the page's own background (no glaring white panel), with at least the contrast
    # WCAG asks of body text.
    for src, paper, _, ink in checks["figure_pixels"]:
        assert paper < 0.3 and (ink + 0.05) / (paper + 0.05) >= 4.5, (
            f"{name}: figure {src} is not light ink on dark paper in dark mode "
            f"(ink {ink:.2f}, paper {paper:.2f})"
        )


# -- the whole site ------------------------------------------------------------------------------


def test_internal_links_resolve(light, site):
    base_url, html = site
    # The download menu links the whole book's PDF, which `make pdf` prints from the built site
    # afterwards: until then it is not there (tests/test_pdf.py follows the link once printed).
    unprinted = set() if (html / PDF_NAME).is_file() else {base_url + PDF_NAME}
    links = {}
    for name, (_, info, _) in light.items():
        for href in info["links"]:
            if href.startswith(base_url) and href not in unprinted:
                links.setdefault(href, name)
    assert len(links) > len(PAGES), "too few internal links found: is the page inspection working?"
    pages_text = {}
    broken = []
    for href, found_on in sorted(links.items()):
        url, fragment = urldefrag(href)
        if url not in pages_text:
            try:
                with urllib.request.urlopen(url) as response:
                    body = response.read()
                    pages_text[url] = (
                        body.decode("utf-8", "replace") if url.endswith(".html") else ""
                    )
            except urllib.error.HTTPError as err:
                broken.append(f"{href} (on {found_on}): HTTP {err.code}")
                pages_text[url] = None
                continue
        text = pages_text[url]
        if text and fragment and f'id="{fragment}"' not in text:
            broken.append(f"{href} (on {found_on}): no element with id {fragment!r}")
    assert broken == [], "broken internal links:\n" + "\n".join(broken)


def _search_word() -> tuple[str, str]:
    """A word to search for and the chapter that must be among the results."""
    for path in chapter_paths():
        if "Huber" in path.read_text():
            return "Huber", str(path.relative_to(ROOT).with_suffix(""))
    return "gradient", str(chapter_paths()[0].relative_to(ROOT).with_suffix(""))


def _search_results(reader: Reader, word: str):
    """Search the site for ``word``; return the page's visit and every result's address, in order.

    Sphinx's search runs in JavaScript after the page loads and adds its results to the list one
    at a time (``_displayNextItem``, 5 ms apart); it writes its summary ("Search finished, found
    ...") only after the last one. Waiting for the summary, not for a first result, reads the
    whole list, not however much of it was on the page at that moment.
    """
    visit = reader.open(f"search.html?q={word}")
    reader.page.wait_for_function(
        "() => document.querySelector('#search-results p.search-summary')?.textContent.trim()",
        timeout=20_000,
    )
    results = reader.page.eval_on_selector_all(
        "#search-results ul.search li a", "els => els.map(a => a.href)"
    )
    return visit, results


def test_search_finds_a_chapter(browser, site):
    base_url, _ = site
    word, chapter = _search_word()
    reader = Reader(browser, base_url)
    try:
        visit, results = _search_results(reader, word)
        assert visit.console_errors == [] and visit.external_requests == []
    finally:
        reader.close()
    assert any(
        urldefrag(r)[0].split("?")[0] == urljoin(base_url, f"{chapter}.html") for r in results
    ), f"searching {word!r} did not find {chapter}: {results}"


def test_full_page_screenshot_of_the_first_chapter(browser, site, tmp_path):
    base_url, _ = site
    reader = Reader(browser, base_url)
    try:
        reader.open(f"{CHAPTERS[0]}.html")
        path = tmp_path / f"{Path(CHAPTERS[0]).name}.png"
        reader.page.screenshot(path=str(path), full_page=True)
    finally:
        reader.close()
    with path.open("rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == 1280 and height > 2000, (width, height)  # the whole chapter, not one screen
    print(f"\nscreenshot of {CHAPTERS[0]}: {path} ({width} x {height})")


def test_html_writes_each_inline_script_once(built_book):
    """The THEBE_JS_URL error's cause, checked without a browser: no <script> appears twice.

    Sphinx 7 wrote inline scripts registered after the builder started twice; declaring the
    `const THEBE_JS_URL` a second time is a SyntaxError (see _ext/site_extension.py).
    """
    _, html = built_book
    for name in PAGES:
        text = (html / f"{name}.html").read_text()
        scripts = re.findall(r"<script[^>]*>[^<]+</script>", text)
        repeated = {s[:80] for s in scripts if scripts.count(s) > 1}
        assert repeated == set(), f"{name}: inline scripts written twice: {repeated}"


@pytest.mark.parametrize("ci", ["", "true"])
def test_without_chromium_the_browser_tests_skip_or_fail_in_ci(ci):
    """No Chromium: a developer's run skips the browser tests and says how to install it; CI fails."""
    env = {**os.environ, "CHROMIUM": "/nonexistent/chromium", "CI": ci}
    test = "tests/test_site_browser.py::test_search_finds_a_chapter"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-rs", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert "apt-get install chromium" in out, out[-2000:]
    if ci:
        assert result.returncode != 0 and ("1 failed" in out or "1 error" in out), out[-2000:]
    else:
        assert result.returncode == 0 and "1 skipped" in out, out[-2000:]


# -- every screen: nothing cut off ---------------------------------------------------------------


def _problems_per_page(pages, check) -> list[str]:
    return [f"{name}: {problem}" for name, page in pages.items() for problem in check(name, page)]


def test_no_page_scrolls_sideways(view):
    """At 390 px and at 1280 px, light and dark: no page, and no article, is wider than the
    window (one long inline name used to widen a whole page to 417 px), and no script fails."""
    _, pages = view

    def check(name, page):
        visit, info, _ = page
        if info["pageWidth"] > info["windowWidth"]:
            yield f"the page is {info['pageWidth']} px wide in a {info['windowWidth']} px window"
        if info["articleScrolls"] > 1:
            yield f"the article scrolls sideways by {info['articleScrolls']} px"
        yield from (f"JavaScript error: {e}" for e in visit.console_errors)

    assert _problems_per_page(pages, check) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_on_a_laptop_nothing_is_wider_than_the_column(request, theme):
    """At 1280 px no code block, output or derivation is wider than the text column (code is
    written to 88 columns, derivations give each step's reason under it); a table or a formula
    that cannot fit scrolls in its own box and says so."""
    pages = request.getfixturevalue("light" if theme == "light" else "dark")

    def check(name, page):
        for item in page[1]["wide"]:
            what = f"{item['kind']} {item['text']!r} (sticks out {item['sticksOut']:.0f} px, scrolls {item['scrolls']:.0f} px)"
            if item["kind"] in {"code", "output", "derivation"}:
                yield f"{what}: wider than the column"
            elif item["kind"] == "table" and not (item["hinted"] and item["marked"]):
                yield f"{what}: scrolls without saying so"
            elif item["kind"] == "formula" and not item["marked"]:
                yield f"{what}: scrolls without a shadow on its edge"

    assert _problems_per_page(pages, check) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_on_a_phone_what_scrolls_says_so(request, theme):
    """At 390 px code scrolls in its own box, as code does; a table says in words that it
    scrolls, and a formula or derivation shows a shadow on the edge where more is."""
    pages = request.getfixturevalue("phone" if theme == "light" else "phone_dark")
    tables = []

    def check(name, page):
        for item in page[1]["wide"]:
            what = f"{item['kind']} {item['text']!r}"
            if item["sticksOut"] > 1 and item["kind"] != "table":
                yield f"{what}: sticks out of the column by {item['sticksOut']:.0f} px"
            if item["kind"] == "table":
                tables.append(item)
                if not (item["hinted"] and item["marked"]):
                    yield f"{what}: scrolls without saying so"
            elif item["kind"] in {"formula", "derivation"} and not item["marked"]:
                yield f"{what}: scrolls without a shadow on its edge"

    assert _problems_per_page(pages, check) == []
    assert tables, "the control: some table must scroll on a phone (the task-types table does)"


def test_on_a_phone_multi_panel_figures_are_stacked_and_legible(phone):
    """A figure of several panels is shown with its panels one under another, at its natural
    size (its lettering as on a laptop), instead of shrunk to half; every figure is crisp."""
    stacked = 0

    def check(name, page):
        nonlocal stacked
        info = page[1]
        for img in info["images"]:
            if not img["inFigure"]:
                continue
            where = img["src"].rsplit("/", 1)[-1][:16]
            if "figure-wide" in img["classes"] and img["visible"]:
                yield f"{where}: the side-by-side figure shows on a phone"
            if "figure-stacked" in img["classes"]:
                stacked += 1
                if not img["visible"]:
                    yield f"{where}: the stacked figure is hidden on a phone"
                elif img["width"] < 0.95 * img["declaredWidth"]:
                    yield f"{where}: shrunk to {100 * img['width'] / img['declaredWidth']:.0f} %"
            if img["visible"] and img["naturalWidth"] < 2 * img["width"] - 2:
                yield f"{where}: not crisp ({img['naturalWidth']} pixels for {img['width']:.0f} px)"
            if img["visible"] and img["right"] > info["column"]["right"] + 1:
                yield f"{where}: sticks out of the column"

    assert _problems_per_page(phone, check) == []
    declared = sum(
        len(re.findall(r"new_figure\(\s*ncols=[2-4]", p.read_text())) for p in chapter_paths()
    )
    assert stacked >= declared > 0, f"{stacked} stacked figures for {declared} multi-panel ones"


@pytest.mark.parametrize("screen", SCREENS)
def test_a_tap_opens_a_figure_full_size(browser, site, screen):
    base_url, _ = site
    reader = Reader(browser, base_url, viewport={"laptop": VIEWPORT, "phone": PHONE}[screen])
    try:
        reader.open(f"{CHAPTERS[0]}.html")
        figure = reader.page.locator("article figure img").filter(visible=True).first
        shown = figure.bounding_box()["width"]
        with reader.page.expect_navigation():
            figure.click()
        assert reader.page.url.endswith(".png")
        natural = reader.page.evaluate("document.images[0].naturalWidth")
        assert natural >= 2 * shown - 2, (natural, shown)
    finally:
        reader.close()


# -- the header's buttons ------------------------------------------------------------------------


VISIBLE_LINKS = (
    "(sel) => [...document.querySelectorAll(sel)].filter((a) => a.checkVisibility()).length"
)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("screen", SCREENS)
def test_the_menu_and_contents_buttons_open_the_chapter_menu_and_the_page_contents(
    browser, site, screen, theme
):
    """The visible buttons in the article header used to do nothing (the theme binds only its
    own, hidden ones): on a phone they open the chapter menu and the page's contents; on a
    laptop the menu button hides and shows the chapter menu, and the contents are on the right."""
    base_url, _ = site
    viewport = {"laptop": VIEWPORT, "phone": PHONE}[screen]
    reader = Reader(browser, base_url, dark=theme == "dark", viewport=viewport)
    page = reader.page
    try:
        visit = reader.open(f"{CHAPTERS[1]}.html")
        menu = page.locator(".bd-header-article .primary-toggle")
        contents = page.locator(".bd-header-article .secondary-toggle")
        assert menu.is_visible()
        menu.click()
        if screen == "phone":
            page.wait_for_function("document.getElementById('pst-primary-sidebar-modal').open")
            assert page.evaluate(VISIBLE_LINKS, "#pst-primary-sidebar-modal a.reference") >= len(
                CHAPTERS
            )
            page.keyboard.press("Escape")
            assert contents.is_visible()
            contents.click()
            page.wait_for_function("document.getElementById('pst-secondary-sidebar-modal').open")
            assert page.evaluate(VISIBLE_LINKS, "#pst-secondary-sidebar-modal nav a") >= 3
        else:
            hidden = "document.getElementById('pst-primary-sidebar').classList.contains('pst-sidebar-hidden')"
            page.wait_for_function(hidden)
            menu.click()
            page.wait_for_function(f"!{hidden}")
            page.wait_for_function(
                f"({VISIBLE_LINKS})('nav.bd-docs-nav a.reference') >= {len(CHAPTERS)}"
            )
            # The page's contents sit on the right, no button needed.
            assert page.evaluate(VISIBLE_LINKS, ".bd-sidebar-secondary nav a") >= 3
        assert visit.console_errors == []
    finally:
        reader.close()


# -- the landing page and the chapters' opening boxes --------------------------------------------


@pytest.mark.parametrize("screen", SCREENS)
def test_the_landing_page_starts_the_learner(request, site, light, screen):
    """In its first screen: "Start with chapter 1" and the ways to run it (Colab, Binder, the
    same links as chapter 1's launch button); then one table of parts and chapters with their
    outcomes and times, and a map of which chapter needs which."""
    base_url, _ = site
    info = request.getfixturevalue("light" if screen == "laptop" else "phone")["intro"][1][
        "landing"
    ]
    first = urljoin(base_url, f"{CHAPTERS[0]}.html")
    assert [href for _, href in info["start"]] == [first]
    assert info["start"][0][0].startswith("Start with chapter 1")
    assert info["startBottom"] <= info["height"] and info["launchBottom"] <= info["height"], (
        "the start and the launch links are not in the first screen"
    )
    launch = {
        text.removeprefix("on "): href for text, href in info["launch"] if text.startswith("on ")
    }
    assert launch == {k: v for k, v in light[CHAPTERS[0]][1]["launch"] if k in launch}
    assert set(launch) == {"Colab", "Binder"}
    # One list of the chapters (the table), not two.
    assert info["tables"] == 1 and info["tocLists"] == 0
    chapters = [r for r in info["rows"] if r["link"] and not r["part"]]
    assert [r["link"] for r in chapters] == [urljoin(base_url, f"{c}.html") for c in CHAPTERS]
    outline = load_outline()
    for row, name in zip(chapters, CHAPTERS):
        assert re.fullmatch(
            r"\d+ min reading(, (\d+ h )?(\d+ min )?exercises)?|.*h.*", row["time"]
        ), row
        assert row["learn"] == len(outline.for_doc(name).learn)
    parts = [r["text"] for r in info["rows"] if r["part"]]
    assert parts[0] == "Foundations" and parts[-1] == "Reference"
    # The map: a box per chapter linking to it, an arrow per direct prerequisite, and words.
    landing = urljoin(base_url, "intro.html")
    assert [urljoin(landing, h) for h in info["map"]] == [
        urljoin(base_url, f"{c}.html") for c in CHAPTERS
    ]
    assert info["arrows"] >= len(CHAPTERS) - 1 and info["mapWords"] == len(CHAPTERS)


@pytest.mark.parametrize("screen", SCREENS)
def test_each_chapter_opens_with_what_it_teaches_needs_and_takes(request, site, screen):
    base_url, _ = site
    pages = request.getfixturevalue("light" if screen == "laptop" else "phone")
    outline = load_outline()
    problems = []
    for name in CHAPTERS:
        box, entry = pages[name][1]["opening"], outline.for_doc(name)
        if box is None or not box["visible"]:
            problems.append(f"{name}: no box under the title")
            continue
        if len(box["learn"]) != len(entry.learn):
            problems.append(f"{name}: {len(box['learn'])} outcomes, {len(entry.learn)} listed")
        wanted = [urljoin(base_url, f"chapters/{n}.html") for n in entry.needs]
        if box["needs"] != wanted:
            problems.append(f"{name}: links to {box['needs']}, needs {wanted}")
        if not re.search(r"Time: About (\d+ h )?\d+ min to read \([\d,]+ words", box["text"]):
            problems.append(f"{name}: no reading time in {box['text'][-160:]!r}")
        if not re.search(r"plus about .* for its \d+ exercises", box["text"]):
            problems.append(f"{name}: no time for its exercises")
    assert problems == []
    assert all(pages[p][1]["opening"] is None for p in PAGES if p not in CHAPTERS)


# -- glossary, notation, cheat sheet --------------------------------------------------------------


def test_chapters_link_terms_to_the_glossary(built_book):
    _, html = built_book
    glossary = (html / "glossary.html").read_text()
    for name in CHAPTERS:
        page = (html / f"{name}.html").read_text()
        terms = re.findall(r'href="\.\./glossary\.html#(term-[^"]+)"', page)
        assert terms, f"{name}: no link to the glossary"
        assert all(f'id="{t}"' in glossary for t in terms)
    notation = (html / "notation.html").read_text()
    for symbol in (r"\hat y", r"\psi(r)", r"\rho_\delta(r)", r"\sigma(z)", "p_t", r"J(\theta)"):
        assert symbol in notation, f"the notation page does not explain ${symbol}$"


def test_the_cheat_sheet_shows_what_choose_loss_says_today(built_book):
    """Rendered at build time from lossutils.advice.choose_loss: its losses and PyTorch classes
    are on the page, row by row."""
    from lossutils.advice import choose_loss
    from test_site_features import _cheatsheet_situations

    _, html = built_book
    page = (html / "cheatsheet.html").read_text()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>")[1], flags=re.S)
    situations = _cheatsheet_situations()
    assert len(rows) == len(situations)
    for row, situation in zip(rows, situations):
        arguments = dict(situation["choose_loss"])
        rec = choose_loss(arguments.pop("task"), **arguments)
        text = re.sub(r"<[^>]+>", "", row)
        assert f"lu.{rec.loss}(" in text and f"nn.{rec.pytorch}(" in text, situation["situation"]


# -- folded code and solutions --------------------------------------------------------------------


def test_folded_code_says_what_it_shows_and_solutions_have_no_grader_markers(built_book):
    _, html = built_book
    figures_named = 0
    for name in CHAPTERS:
        page = (html / f"{name}.html").read_text()
        assert "Show code cell" not in page, f"{name}: myst-nb's jargon label is back"
        assert "BEGIN SOLUTION" not in page and "END SOLUTION" not in page, name
        figures_named += len(re.findall(r"Show the code for Fig\. \d+\.\d+", page))
    hidden_figures = sum(
        len(re.findall(r"tags: \[hide-input\]\nmystnb:\n(?:  .*\n)*?  figure:", p.read_text()))
        for p in chapter_paths()
    )
    assert figures_named >= hidden_figures > 0


@pytest.mark.parametrize("screen", SCREENS)
def test_a_code_solution_opens_with_one_click(browser, site, screen):
    base_url, _ = site
    reader = Reader(browser, base_url, viewport={"laptop": VIEWPORT, "phone": PHONE}[screen])
    try:
        reader.open(f"{CHAPTERS[0]}.html")
        page = reader.page
        solution = page.locator(".solution.dropdown", has=page.locator(".cell_input")).first
        code = solution.locator(".cell_input pre").first
        assert not code.is_visible()
        solution.locator(".admonition-title").first.click()  # anywhere on it: see course.css
        page.wait_for_timeout(400)  # the dropdown's animation
        assert code.is_visible(), "the code is still folded after one click"
    finally:
        reader.close()


# -- citations ------------------------------------------------------------------------------------


def test_citations_and_bibliography_share_one_author_year_label_and_link_back(built_book):
    from editions.bibliography import Bibliography

    _, html = built_book
    bibliography = (html / "bibliography.html").read_text()
    labels = re.findall(
        r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span', bibliography
    )
    assert labels and all(re.fullmatch(r".+, \d{4}[a-z]?", label) for label in labels), labels[:5]
    entries = dict(re.findall(r'<div class="citation" id="([^"]+)"(.*?)</div>', bibliography, re.S))
    bib = Bibliography(ROOT / "references.bib")
    for name in CHAPTERS:
        page = (html / f"{name}.html").read_text()
        for entry in set(re.findall(r'href="\.\./bibliography\.html#([^"]+)"', page)):
            back = re.findall(r'href="([^"]+)"', entries[entry].split("Cited in", 1)[-1])
            assert f"{name.split('/')[-1]}.html" in " ".join(back), (
                f"{entry}: no link back to {name}"
            )
        cited = re.findall(r'<span class="bibtex-citation" id="[^"]+">(.*?)</span>', page, re.S)
        for citation in cited:
            text = html_text(citation)
            assert text.startswith("(") or re.search(r"\(\d{4}\)", text), text
    assert "Huber, 1964" in labels and bib.parenthetical(["huber1964robust"]) == "(Huber, 1964)"


def html_text(fragment: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


# -- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["Huber", "focal"])
def test_search_ranks_chapters_above_api_entries(browser, site, word):
    base_url, _ = site
    reader = Reader(browser, base_url)
    try:
        _, results = _search_results(reader, word)
    finally:
        reader.close()
    kinds = [
        "chapter" if "/chapters/" in r else "api" if "/api.html" in r else "other" for r in results
    ]
    assert kinds[0] == "chapter", results[:5]
    assert "api" in kinds, "the control: the API page has entries for this word"
    assert max(i for i, k in enumerate(kinds) if k == "chapter") < min(
        i for i, k in enumerate(kinds) if k == "api"
    ), list(zip(kinds, results))[:12]


def test_make_screenshots_shoots_every_page_on_a_laptop_and_a_phone(browser, site, tmp_path):
    """`make screenshots` writes each page at 1280 px and at 390 px, light and dark."""
    from screenshots import shoot_site, shot_name

    _, html = site
    shoot_site(browser, html, [CHAPTERS[0]], tmp_path)
    for screen, width in (("laptop", 1280), ("phone", 390)):
        for dark in (False, True):
            header = (tmp_path / shot_name(CHAPTERS[0], screen, dark)).read_bytes()[:24]
            assert header[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", header[16:24])[0] == width, (screen, dark)
