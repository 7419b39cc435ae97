"""The website, read the way its readers read it: every page of the toc in a real browser.

The book the session fixture ``built_book`` built is served on 127.0.0.1 from a thread, and
Debian's Chromium (driven by Playwright) opens every page the table of contents lists, in a
1280 x 900 window, once with the system in light mode and once in dark mode. For each page:
HTTP 200, no JavaScript error, nothing fetched from outside 127.0.0.1, every image loaded and
described, every formula typeset by MathJax, every chapter in the left navigation, launch and
download buttons on chapter pages, figures shown at their natural size inside the column, and
legible text and figures in dark mode. Across the site: every internal link resolves, and the
search page finds a chapter.

Without Chromium these tests skip with a message saying how to install it; in CI (``CI=true``)
they fail instead. Per-page load times are printed at the end of the run.
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
from site_browser import Reader, serve

pytestmark = pytest.mark.slow

PAGES = toc_files()
CHAPTERS = [f for f in PAGES if f.startswith("chapters/")]

# Everything a page check needs, measured in the page in one go.
INSPECT_PAGE = r"""() => {
  const article = document.querySelector('article.bd-article');
  const box = article.getBoundingClientRect(), style = getComputedStyle(article);
  const column = {left: box.left + parseFloat(style.paddingLeft), right: box.right - parseFloat(style.paddingRight)};
  const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const images = [...document.images].map((img) => {
    const r = img.getBoundingClientRect();
    return {src: img.currentSrc || img.src, alt: img.getAttribute('alt'), complete: img.complete,
            naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
            // the 1x width a high-DPI image declares (an attribute or, from docutils, a style)
            declaredWidth: parseFloat(img.getAttribute('width')) || parseFloat(img.style.width) || null,
            width: r.width, left: r.left, right: r.right, visible: visible(img),
            inArticle: article.contains(img)};
  });
  const maths = [...article.querySelectorAll('.math')];
  return {
    theme: document.documentElement.dataset.theme,
    column,
    pageWidth: document.documentElement.scrollWidth, windowWidth: window.innerWidth,
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
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map((a) => [a.textContent.trim(), a.href]),
    downloads: [...document.querySelectorAll('.dropdown-download-buttons a')].map((a) => [a.textContent.trim(), a.href]),
  };
}"""

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


def _read_all(browser, base_url, *, dark):
    reader = Reader(browser, base_url, dark=dark)
    try:
        pages = {}
        for name in PAGES:
            visit = reader.open(f"{name}.html")
            info = reader.page.evaluate(INSPECT_PAGE)
            info["captions"] = reader.page.evaluate(TEXT_CONTRAST, CAPTIONS)
            pages[name] = (visit, info, _dark_checks(reader.page) if dark else None)
        return pages
    finally:
        reader.close()


def _dark_checks(page):
    contrast = page.evaluate(
        TEXT_CONTRAST, "article p, article li, article h1, article h2, nav.bd-docs-nav a"
    )
    figures = [img["src"] for img in page.evaluate(INSPECT_PAGE)["images"] if img["inArticle"]]
    return {
        "contrast": contrast,
        "transparent": {src: page.evaluate(TRANSPARENT_SHARE, src) for src in figures},
        "figure_pixels": _figure_pixels(page),
    }


def _figure_pixels(page):
    """Each figure as the reader sees it (after the theme's CSS): (src, paper, ink) luminances.

    The paper is the median pixel (the background fills most of a plot), the ink the darkest
    0.5 % (axis lettering), robust to a few stray pixels.
    """
    from PIL import Image

    out = []
    for handle in page.query_selector_all("article figure img, article .cell_output img"):
        if not handle.is_visible():
            continue
        handle.scroll_into_view_if_needed()
        histogram = Image.open(io.BytesIO(handle.screenshot())).convert("L").histogram()
        total, seen, levels = sum(histogram), 0, {}
        for level, count in enumerate(histogram):
            seen += count
            for share in (0.005, 0.5):
                if share not in levels and seen >= share * total:
                    levels[share] = level / 255
        out.append((handle.get_attribute("src"), levels[0.5], levels[0.005]))
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
    nor wider than the text column (it would overlap the page's table of contents). A figure
    drawn at twice its size for high-DPI screens declares its 1x width (lossutils.plotting asks
    for "retina" PNGs), and that is the size it must be shown at: its pixels are exactly 2x."""
    _, info, _ = light[name]
    column = info["column"]
    problems = []
    for img in info["images"]:
        if not (img["inArticle"] and img["visible"]):
            continue
        where = img["src"].rsplit("/", 1)[-1][:24]
        drawn = img["declaredWidth"] or img["naturalWidth"]
        if img["declaredWidth"] and abs(img["naturalWidth"] - 2 * img["declaredWidth"]) > 2:
            problems.append(
                f"{where}: {img['naturalWidth']} px for a declared width of {img['declaredWidth']:.0f}: "
                "not a 2x image"
            )
        if img["width"] < drawn - 1:
            problems.append(
                f"{where}: shown {img['width']:.0f} px wide, drawn for {drawn:.0f} px (shrunk to "
                f"{100 * img['width'] / drawn:.0f} %)"
            )
        if img["left"] < column["left"] - 1 or img["right"] > column["right"] + 1:
            problems.append(f"{where}: sticks out of the text column")
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
    # Figures have an opaque background (lossutils.plotting), so black axes stay on white...
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
    for src, paper, ink in checks["figure_pixels"]:
        assert paper > 0.6 and (paper + 0.05) / (ink + 0.05) >= 4.5, (
            f"{name}: figure {src} is not dark ink on light paper in dark mode (ink {ink:.2f}, paper {paper:.2f})"
        )


# -- the whole site ------------------------------------------------------------------------------


def test_internal_links_resolve(light, site):
    base_url, _ = site
    links = {}
    for name, (_, info, _) in light.items():
        for href in info["links"]:
            if href.startswith(base_url):
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


def test_search_finds_a_chapter(browser, site):
    base_url, _ = site
    word, chapter = _search_word()
    reader = Reader(browser, base_url)
    try:
        visit = reader.open(f"search.html?q={word}")
        # Sphinx's search runs in JavaScript after the page loads: wait for its result list.
        reader.page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        results = reader.page.eval_on_selector_all(
            "#search-results ul.search li a", "els => els.map(a => a.href)"
        )
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
