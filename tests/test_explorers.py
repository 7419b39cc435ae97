"""The interactive explorers (lossutils.explore) as the chapters place them and readers use them.

In the chapters: each explorer is where issue 19 puts it, builds, and every one of its frames
holds what an independent computation gives (the formula written in NumPy or in PyTorch's
operations and autograd, never the chapter's own frame function). These tests run the four
chapters' code, not the book (about 20 s).

On the site (the session's built book), for every explorer of every chapter, in light and in
dark mode: Plotly draws it from the site's own plotly.js, dragging its first slider (and moving
its second, if it has one) changes the curves drawn and the value shown, the arrow keys move it
too, and nothing logs an error or asks for a file outside 127.0.0.1. Printed, and without
JavaScript, the static figure shows instead; on a phone the panels stack. In JupyterLab, a
chapter's reader notebook, as downloaded from the site, shows the same explorer, and its slider
works there too.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book import ROOT
from chapter_code import run_chapter_code
from lossutils.explore import Explorer
from site_browser import Reader, serve

#: Where the course places each explorer (issue 19): its page and its name.
PLACED = {
    "chapters/what-is-a-loss": ["learning-rate"],
    "chapters/regression-losses": ["huber-delta"],
    "chapters/multiclass-cross-entropy": ["label-smoothing-temperature"],
}
#: The focal-loss explorer lives in the chapter that teaches the focal loss.
FOCAL_CHAPTERS = ("chapters/imbalanced-data", "chapters/losses-and-activations")
#: The chapters' variables that hold the explorers, by explorer name.
VARIABLES = {
    "learning-rate": ("what-is-a-loss", "lr_explorer"),
    "huber-delta": ("regression-losses", "huber_explorer"),
    "focal": ("imbalanced-data", "focal_explorer"),
    "label-smoothing-temperature": ("multiclass-cross-entropy", "smoothing_explorer"),
}

#: The state a reader sees: each slider's shown value, the visible traces' data, the SVG curves.
STATE = r"""(plot) => {
  const visible = plot.data.filter((t) => t.visible !== false && t.type !== 'contour');
  return {
    values: [...plot.querySelectorAll('.slider-group > text.slider-label')].map((t) => t.textContent),
    data: visible.map((t) => [t.name, Array.from(t.x || []).slice(0, 50), Array.from(t.y || []).slice(0, 50)]),
    paths: [...plot.querySelectorAll('.scatterlayer path.js-line, .barlayer path')].map((p) => p.getAttribute('d')),
  };
}"""


# -- in the chapters: every frame is what an independent computation gives ---------------------


@pytest.fixture(scope="module")
def chapters():
    """name -> that chapter's variables (its student cells run once, in this process)."""
    names = {chapter for chapter, _ in VARIABLES.values()}
    return {name: run_chapter_code(ROOT / "chapters" / f"{name}.md") for name in names}


def _explorer(chapters, name: str):
    chapter, variable = VARIABLES[name]
    ch = chapters[chapter]
    explorer = getattr(ch, variable)
    assert isinstance(explorer, Explorer) and explorer.name == name
    # It builds: one slider step per value, and the site's form holds the static figure.
    figure = explorer.figure()
    for slider, parameter in zip(figure["layout"]["sliders"], explorer.parameters):
        assert len(slider["steps"]) == len(parameter.values_array)
    assert 'class="loss-explorer-static"' in explorer.html()
    return ch, explorer


def _settings(explorer):
    """Every setting of the sliders, as tuples of values."""
    grids = [p.values_array.tolist() for p in explorer.parameters]
    return (
        [(a,) for a in grids[0]]
        if len(grids) == 1
        else [(a, b) for a in grids[0] for b in grids[1]]
    )


def test_learning_rate_frames_are_gradient_descent_on_the_mse(chapters):
    ch, explorer = _explorer(chapters, "learning-rate")
    x, y = ch.x, ch.y
    for (lr,) in _settings(explorer):
        w, b, path = -1.0, 3.0, [(-1.0, 3.0)]
        for _ in range(60):  # dJ/dw and dJ/db of the mean squared error, by hand
            r = w * x + b - y
            w, b = w - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)
            path.append((w, b))
        path = np.array(path)
        frame = explorer.frame_at(lr)
        (trace,) = frame.traces
        assert np.allclose(trace.x, path[:, 0], rtol=1e-9) and np.allclose(
            trace.y, path[:, 1], rtol=1e-9
        )
        cost = np.mean((w * x + b - y) ** 2)
        assert frame.note == f"cost after 60 steps: {cost:.4g}", (lr, frame.note)


def test_huber_frames_are_the_sweeps_lines_and_clipped_residuals(chapters):
    ch, explorer = _explorer(chapters, "huber-delta")
    assert len(_settings(explorer)) == ch.deltas.size
    for (delta,) in _settings(explorer):
        w, b = ch.sweep[np.isclose(ch.deltas, delta)][0]
        line, inliers, outliers = explorer.frame_at(delta).traces
        assert np.allclose(line.y, w * ch.grid + b, rtol=1e-12)
        pull = np.abs(np.clip(w * ch.x + b - ch.y, -delta, delta))  # psi of Huber's loss
        share = 100 * pull / pull.sum()
        assert np.allclose(inliers.y, share[ch.inlier], rtol=1e-9, atol=1e-12)
        assert np.allclose(outliers.y, share[ch.outliers], rtol=1e-9, atol=1e-12)
    # The ends of the sweep are the MAE and the least-squares lines (the chapter's exact ones).
    assert np.allclose(
        explorer.frame_at(100.0).traces[0].y, np.polyval(ch.exact["MSE"], ch.grid), atol=0.02
    )
    assert np.allclose(
        explorer.frame_at(0.01).traces[0].y, np.polyval(ch.exact["MAE"], ch.grid), atol=0.1
    )


def _torchvision_focal(z, y, gamma, alpha):
    """torchvision's sigmoid_focal_loss (per example) and its autograd gradient in z."""
    z = torch.tensor(z, requires_grad=True)
    y = torch.tensor(y)
    p = torch.sigmoid(z)
    ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - p_t) ** gamma * (alpha * y + (1 - alpha) * (1 - y))
    (grad,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach().numpy(), grad.numpy()


def test_focal_frames_are_torchvisions_focal_loss_and_its_gradient(chapters):
    ch, explorer = _explorer(chapters, "focal")
    for gamma, alpha in _settings(explorer):
        traces = explorer.frame_at(gamma, alpha).traces
        assert [t.name for t in traces] == ["focal, y = 0"] * 2 + ["focal, y = 1"] * 2
        for label, (loss, grad) in zip((0.0, 1.0), (traces[:2], traces[2:])):
            z = ch.z_pos if label else -ch.z_pos  # either way p_t is the x axis
            want_loss, want_grad = _torchvision_focal(z, np.full_like(z, label), gamma, alpha)
            assert np.allclose(loss.x, ch.p_true) and np.allclose(grad.x, ch.p_true)
            assert np.allclose(loss.y, want_loss, rtol=1e-9, atol=1e-300)
            assert np.allclose(grad.y, np.abs(want_grad), rtol=1e-9, atol=1e-300)


def test_smoothing_frames_are_pytorchs_label_smoothing_and_softmax(chapters):
    ch, explorer = _explorer(chapters, "label-smoothing-temperature")
    logits, target = torch.from_numpy(ch.z_demo), torch.tensor([0])
    for eps, temp in _settings(explorer):
        smoothed, prediction, curve, here = explorer.frame_at(eps, temp).traces
        assert np.allclose(smoothed.y, [1 - eps + eps / 4, eps / 4, eps / 4, eps / 4])
        assert np.allclose(prediction.y, torch.softmax(logits[0] / temp, dim=0).numpy(), rtol=1e-12)
        want = [F.cross_entropy(logits / t, target, label_smoothing=eps).item() for t in ch.temps]
        assert np.allclose(curve.y, want, rtol=1e-12)
        assert np.allclose(here.x, [temp]) and np.allclose(
            here.y, want[int(np.argmin(np.abs(ch.temps - temp)))], rtol=1e-12
        )


# -- on the built site ------------------------------------------------------------------------------


def _explorers(site) -> dict[str, list[str]]:
    """page -> the names of the explorers on it, from the built HTML."""
    found = {}
    for path in sorted(site.glob("chapters/*.html")):
        names = re.findall(r'class="loss-explorer" id="explorer-([a-z0-9-]+)"', path.read_text())
        if names:
            found[str(path.relative_to(site).with_suffix(""))] = names
    return found


@pytest.fixture(scope="module")
def site(built_book):
    _, html = built_book
    with serve(html) as base_url:
        yield base_url, html


def test_each_explorer_is_in_the_chapter_it_serves(site):
    _, html = site
    found = _explorers(html)
    for page, names in PLACED.items():
        assert set(names) <= set(found.get(page, [])), f"{page}: explorers {found.get(page)}"
    focal = [page for page in FOCAL_CHAPTERS if "focal" in found.get(page, [])]
    assert len(focal) == 1, f"the focal-loss explorer: {found}"
    assert sum(len(v) for v in found.values()) >= 4


def _drag(page, plot, slider: int, fraction: float) -> None:
    """Drag slider ``slider``'s grip to ``fraction`` of its rail, as a reader's mouse does."""
    rail = plot.locator(".slider-rail-rect").nth(slider).bounding_box()
    grip = plot.locator(".slider-grip-rect").nth(slider).bounding_box()
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    target = rail["x"] + rail["width"] * fraction
    page.mouse.move(target, grip["y"] + grip["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)


def _move(page, plot, slider: int) -> tuple[dict, dict]:
    """Drag a slider to one end of its rail, or to the other if it was there: the state
    before and after."""
    before = plot.evaluate(STATE)
    _drag(page, plot, slider, 0.03)
    after = plot.evaluate(STATE)
    if after["values"][slider] == before["values"][slider]:
        _drag(page, plot, slider, 0.97)
        after = plot.evaluate(STATE)
    return before, after


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_dragging_a_slider_changes_the_plot(browser, site, dark):
    base_url, html = site
    reader = Reader(browser, base_url, dark=dark)
    checked = []
    try:
        for page_name, names in _explorers(html).items():
            visit = reader.open(f"{page_name}.html")
            page = reader.page
            page.wait_for_selector(".loss-explorer.is-live .main-svg", timeout=30_000)
            for name in names:
                box = page.locator(f"#explorer-{name}")
                box.scroll_into_view_if_needed()
                assert box.locator("img.loss-explorer-static").is_hidden()
                plot = box.locator(".loss-explorer-plot")
                before, after = _move(page, plot, 0)
                assert before["data"] and before["paths"] and 1 <= len(before["values"]) <= 2
                assert after["values"][0] != before["values"][0], f"{name}: the value shown"
                assert after["data"] != before["data"], f"{name}: the traces' data"
                assert after["paths"] != before["paths"], f"{name}: the curves drawn"
                if len(before["values"]) == 2:
                    before, after = _move(page, plot, 1)
                    assert after["values"][1] != before["values"][1], f"{name}: 2nd slider"
                    assert after["data"] != before["data"], f"{name}: the 2nd slider's traces"
                # The keyboard moves the first slider too (both directions: it may be at an end).
                plot.focus()
                page.keyboard.press("ArrowLeft")
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(200)
                keyed = plot.evaluate(STATE)
                assert keyed["values"][0] != after["values"][0], f"{name}: the arrow keys"
                assert keyed["data"] != after["data"]
                # The figure keeps its white paper and dark lettering in dark mode too.
                paper = box.evaluate(
                    "b => getComputedStyle(b.querySelector('.main-svg')).backgroundColor"
                )
                assert paper in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), paper
                title = box.evaluate("b => getComputedStyle(b.querySelector('.gtitle')).fill")
                assert title == "rgb(34, 34, 34)", title
                checked.append(name)
            assert visit.console_errors == [], f"{page_name}: {visit.console_errors}"
            assert visit.external_requests == [] and visit.failed_requests == [], (
                f"{page_name}: {visit.external_requests + visit.failed_requests}"
            )
            scripts = page.evaluate(
                "() => performance.getEntriesByType('resource').map((r) => r.name)"
                ".filter((n) => /plotly/.test(n))"
            )
            assert scripts == [f"{base_url}_static/plotly.min.js"], scripts
    finally:
        reader.close()
    assert len(checked) >= 4, checked


def test_print_and_no_javascript_show_the_static_figure(browser, site):
    base_url, html = site
    page_name, names = next(iter(_explorers(html).items()))
    reader = Reader(browser, base_url)
    try:
        reader.open(f"{page_name}.html")
        page = reader.page
        page.wait_for_selector(".loss-explorer.is-live .main-svg", timeout=30_000)
        page.emulate_media(media="print")
        box = page.locator(f"#explorer-{names[0]}")
        assert box.locator("img.loss-explorer-static").is_visible()
        assert box.locator(".loss-explorer-plot").is_hidden()
    finally:
        reader.close()
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base_url) else route.abort()
            ),
        )
        page.goto(f"{base_url}{page_name}.html")
        image = page.locator(f"#explorer-{names[0]} img.loss-explorer-static")
        assert image.is_visible() and len(image.get_attribute("alt")) >= 30
        shown = image.evaluate("i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width]")
        assert shown[0] and shown[1] == 2 * round(shown[2])  # drawn at twice its size: crisp
    finally:
        context.close()


def test_on_a_phone_the_panels_stack(browser, site):
    base_url, html = site
    reader = Reader(browser, base_url, viewport={"width": 390, "height": 844})
    try:
        for page_name in _explorers(html):
            reader.open(f"{page_name}.html")
            page = reader.page
            page.wait_for_selector(".loss-explorer.is-live .main-svg", timeout=30_000)
            page.wait_for_timeout(300)
            layouts = page.evaluate(
                "() => [...document.querySelectorAll('.loss-explorer-plot')].map((p) => "
                "[p.layout.xaxis.domain, p.layout.xaxis2 && p.layout.xaxis2.domain, "
                "p.getBoundingClientRect().right])"
            )
            width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], f"{page_name}: scrolls sideways on a phone"
            for first, second, right in layouts:
                assert first == [0, 1] and (second is None or second == [0, 1])
                assert right <= width[1]
    finally:
        reader.close()


# -- JupyterLab -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_with_reader_notebooks(built_book, tmp_path_factory):
    """JupyterLab serving the site's reader notebooks (the .ipynb downloads)."""
    from lab_server import jupyter_lab

    _, html = built_book
    scratch = tmp_path_factory.mktemp("lab-explorers")
    root = scratch / "notebooks"
    shutil.copytree(html / "_sources" / "chapters", root, ignore=shutil.ignore_patterns("*.md"))
    with jupyter_lab(root, scratch) as base_url:
        yield base_url


def test_the_explorer_works_in_jupyterlab(browser, lab_with_reader_notebooks):
    """The downloaded notebook shows the explorer with Plotly's JupyterLab renderer (installed
    with the plotly package), offline, and its slider moves the plot."""
    from lab_server import CURRENT_NOTEBOOK, open_notebook

    page_name = "chapters/what-is-a-loss"
    lab = lab_with_reader_notebooks
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    outside = []
    context.on(
        "request", lambda r: r.url.startswith(("data:", "blob:", lab)) or outside.append(r.url)
    )
    try:
        page = context.new_page()
        open_notebook(page, lab, f"{page_name.split('/')[-1]}.ipynb")
        # The renderer's output element is the plot itself (plotly 7), or holds it (earlier).
        plot = page.locator(
            f"{CURRENT_NOTEBOOK} .jp-RenderedPlotly.js-plotly-plot, "
            f"{CURRENT_NOTEBOOK} .jp-RenderedPlotly .js-plotly-plot"
        ).first
        plot.scroll_into_view_if_needed()
        plot.locator(".main-svg").first.wait_for(timeout=60_000)
        before, after = _move(page, plot, 0)
    finally:
        context.close()
    assert after["values"][0] != before["values"][0] and after["data"] != before["data"]
    assert outside == [], f"JupyterLab asked the internet for {outside[:5]}"
