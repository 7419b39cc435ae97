"""Every chapter as students run it: the reader notebook, executed, and opened in JupyterLab.

* The book build writes each chapter's reader notebook as the site's ``.ipynb`` download
  (editions/sphinx.py); ``make notebooks`` copies them for Colab and ``make lab``. For each
  chapter the slow tests read that file and assert: its Markdown holds no MyST syntax (by a
  detector written here, independent of the converter); it has no check cell and no ``glue``
  call; the numbers in its text are the ones on the built page; and, run top to bottom in a
  fresh kernel in an empty folder, it raises nothing and prints what the book's own run of the
  full chapter printed. That last test is also the proof that visible code never depends on a
  check cell: the reader notebook is the chapter without them.
* ``make lab`` opens the reader notebooks in JupyterLab; the browser test opens one there and
  reads the rendered page: prose, glued numbers, exercise headings, typeset math, no syntax.
* Authors can still edit a chapter's MyST source as a notebook in JupyterLab
  (``make lab-source``): saving it keeps every cell and its metadata.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupytext.config import load_jupytext_config
from nbclient import NotebookClient

from book import ROOT, chapter_paths
from editions.reader import CHECK_TAG, COLAB_SETUP
from editions.streams import merge_streams
from notebooks import copy_notebooks

CHAPTERS = chapter_paths()
IDS = [p.stem for p in CHAPTERS]
LAB_OVERRIDES = ROOT / ".jupyter" / "labconfig" / "default_setting_overrides.json"

# MyST that no plain notebook viewer renders: a role, a directive fence, a target or a comment
# line, a directive option, a cell break. Written here, not taken from editions/myst.py, so that
# the converter cannot pass by forgetting a construct in both places.
MYST_SYNTAX = {
    "role": re.compile(r"\{[a-z][\w:.-]*\}`"),
    "directive": re.compile(r"^\s*(`{3,}|:{3,})\s*\{", re.M),
    "target": re.compile(r"^\s*\([^)\s]+\)=\s*$", re.M),
    "comment": re.compile(r"^%", re.M),
    "option": re.compile(r"^:(label|class|name|tags):", re.M),
    "cell break": re.compile(r"^\+\+\+", re.M),
    "substitution": re.compile(r"\{\{[^}]*\}\}"),
}
GLUE_ROLE = re.compile(r"\{glue(?::text|:any)?\}`[^`]+`")


def _reader(site: Path, chapter: Path) -> nbformat.NotebookNode:
    return nbformat.read(site / "_sources" / "chapters" / f"{chapter.stem}.ipynb", as_version=4)


def _markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


# -- the files ---------------------------------------------------------------------------------


def test_make_notebooks_copies_one_reader_notebook_per_chapter(built_book, tmp_path):
    _, site = built_book
    written = copy_notebooks(site, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{p.stem}.ipynb" for p in CHAPTERS)
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert "computed by the book's own run" in nb.cells[0].source  # where the numbers come from
        assert "google.colab" in nb.cells[1].source


def test_the_editions_api_after_the_build_makes_the_sites_notebook(built_book):
    """What the coursework does: the same reader notebook, from the files the build leaves
    (the doctrees' labels and numbers, the glued values, the executed notebook)."""
    from editions.bibliography import Bibliography
    from editions.outline import chapter_opening, reading_from_doctrees
    from editions.reader import load_glue, reader_notebook
    from editions.site import Site
    from editions.targets import Targets

    _, site_dir = built_book
    build = site_dir.parent
    site = Site.from_config()
    targets = Targets.from_doctrees(build / ".doctrees", site.url)
    chapter = CHAPTERS[0]
    assert targets.page(f"chapters/{chapter.stem}").number == "1"
    assert (
        targets["fig-loss-vs-cost"].number == "Fig. 1.1"
        and targets["ex-line-cost"].number == "Exercise 1.2"
    )
    executed = nbformat.read(
        build / "jupyter_execute" / "chapters" / f"{chapter.stem}.ipynb", as_version=4
    )
    nb = reader_notebook(
        chapter,
        load_glue(build / "jupyter_execute" / "chapters" / f"{chapter.stem}.glue.json"),
        site=site,
        targets=targets,
        bibliography=Bibliography(),
        docname=f"chapters/{chapter.stem}",
        executed=executed,
        opening=chapter_opening(
            f"chapters/{chapter.stem}",
            targets,
            reading_from_doctrees(build / ".doctrees").get(f"chapters/{chapter.stem}"),
        ),
    )
    assert nb == _reader(site_dir, chapter)


def test_make_notebooks_says_to_build_the_book_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="make book"):
        copy_notebooks(tmp_path / "no-site", tmp_path / "out")


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_reader_markdown_has_no_myst_syntax(built_book, path):
    _, site = built_book
    nb = _reader(site, path)
    found = {
        kind: pattern.findall(cell.source)[:3]
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for kind, pattern in MYST_SYNTAX.items()
        if pattern.search(cell.source)
    }
    assert found == {}, f"{path.name}: MyST syntax left in the reader notebook: {found}"
    # The control: the source does have roles and directives for the detector to find.
    source = path.read_text()
    assert MYST_SYNTAX["role"].search(source) and MYST_SYNTAX["directive"].search(source)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_reader_code_is_the_chapter_without_its_check_cells(built_book, path):
    _, site = built_book
    code = [c.source for c in _reader(site, path).cells if c.cell_type == "code"]
    expected = [
        c.source
        for c in jupytext.read(path).cells
        if c.cell_type == "code" and CHECK_TAG not in c.metadata.get("tags", [])
    ]
    assert code[0] == COLAB_SETUP.format(repository=_repository()), "the Colab set-up comes first"
    assert code[1:] == expected
    assert not any(re.search(r"\bglue\b", src) for src in code), f"{path.name}: a glue call is left"


def _repository() -> str:
    from editions.site import Site

    return Site.from_config().repository


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_numbers_in_the_text_are_the_pages(built_book, path):
    """Every glued number in the reader notebook's text is the one the built page shows.

    The page's numbers (myst-nb's ``pasted-text`` spans) are put into the chapter's source lines
    in place of its glue roles; each such line without other markup must then appear verbatim
    in the reader notebook's Markdown.
    """
    _, site = built_book
    page = (site / "chapters" / f"{path.stem}.html").read_text()
    shown = [html.unescape(v) for v in re.findall(r'<span class="pasted-text">(.*?)</span>', page)]
    source = "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")
    roles = GLUE_ROLE.findall(source)
    assert roles and len(shown) == len(roles), (
        f"{path.name}: {len(roles)} glue roles, {len(shown)} numbers on the page"
    )
    values = iter(shown)
    filled = GLUE_ROLE.sub(lambda m: next(values), source)
    reader = _markdown(_reader(site, path))
    lines = [
        line
        for line, original in zip(filled.splitlines(), source.splitlines())
        if GLUE_ROLE.search(original)
        and not MYST_SYNTAX["role"].search(GLUE_ROLE.sub("", original))
    ]
    missing = [line for line in lines if line not in reader]
    assert missing == [], (
        f"{path.name}: lines with the page's numbers not in the notebook:\n" + "\n".join(missing)
    )
    glue_lines = [line for line in source.splitlines() if GLUE_ROLE.search(line)]
    assert len(lines) >= len(glue_lines) / 2, (
        f"{path.name}: too few lines without other markup to compare"
    )


class FreshRun(NamedTuple):
    """A reader notebook run top to bottom in a new kernel in an empty folder."""

    nb: nbformat.NotebookNode  # as run, with the report cell appended
    book_outputs: list[list[dict]]  # what the book's run printed, code cell by code cell
    workdir: Path
    error: BaseException | None  # what the run raised, if it did


@pytest.fixture(scope="module")
def fresh_runs(built_book, tmp_path_factory) -> dict[Path, FreshRun]:
    """Every chapter's downloaded notebook, run in a new kernel in an empty folder, two kernels
    at a time (a chapter's kernel uses one core: this halves the wait, as the glue test does).

    The kernel gets the environment a student has: the test session adds scripts/ to
    PYTHONPATH for the book builds, and a student has no such path.
    """
    _, site = built_book
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(path: Path) -> FreshRun:
        nb = _reader(site, path)
        book_outputs = [_comparable(c.outputs) for c in nb.cells if c.cell_type == "code"]
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "import json, os, lossutils\n"
                "print(json.dumps({'cwd': os.getcwd(), 'lossutils': lossutils.__file__}))"
            )
        )
        workdir = tmp_path_factory.mktemp(f"student-{path.stem}")
        client = NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        )
        try:
            client.execute(env=env)
        except Exception as error:  # reported by this chapter's test, not by the fixture
            return FreshRun(nb, book_outputs, workdir, error)
        return FreshRun(nb, book_outputs, workdir, None)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CHAPTERS, pool.map(run, CHAPTERS)))


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_reader_notebook_runs_in_a_fresh_kernel_and_prints_what_the_book_printed(fresh_runs, path):
    """The downloaded notebook, run top to bottom in a new kernel in an empty folder.

    Its stored outputs are the book's run of the full chapter, check cells included; the fresh
    run, without them, must print the same: so no visible cell needs a check cell.
    """
    nb, book_outputs, workdir, error = fresh_runs[path]
    if error is not None:
        raise error
    where = json.loads(nb.cells[-1].outputs[0]["text"])
    assert (
        Path(where["cwd"]).resolve() == workdir.resolve()
        and Path(where["lossutils"]).name == "__init__.py"
    )
    assert list(workdir.iterdir()) == [], "the notebook wrote files into the student's folder"
    ran = [_comparable(c.outputs) for c in nb.cells[:-1] if c.cell_type == "code"]
    differ = [
        i for i, (a, b) in enumerate(zip(ran, book_outputs)) if a != b and i > 0
    ]  # 0: Colab cell
    assert differ == [], (
        f"{path.name}: code cells {differ} print other outputs than in the book:\n"
        + "\n".join(
            f"fresh: {str(ran[i])[:300]}\nbook:  {str(book_outputs[i])[:300]}" for i in differ[:3]
        )
    )
    # A figure is a PNG, or an explorer's Plotly figure (lossutils.explore: no PNG, on purpose).
    figures = sum(
        "image/png" in out or "application/vnd.plotly.v1+json" in out
        for outs in ran
        for out in outs
    )
    declared = sum(
        "figure" in c.metadata.get("mystnb", {}) for c in nb.cells if c.cell_type == "code"
    )
    assert figures >= declared > 0, f"{path.name}: {figures} figures shown, {declared} declared"


def _comparable(outputs) -> list[dict]:
    """Outputs as a reader sees them: each stream's messages joined exactly as the site and the
    reader notebook join them (editions.streams: where a kernel splits a print into messages
    depends on timing, not on the code), images as a digest (the same figure drawn again on the
    same machine is the same PNG, byte for byte)."""
    shown: list[dict] = []
    for out in merge_streams(outputs):
        if out["output_type"] == "stream":
            shown.append({"stream": out["name"], "text": out["text"]})
        elif out["output_type"] == "error":
            shown.append({"error": f"{out['ename']}: {out['evalue']}"})
        else:
            data = dict(out.get("data", {}))
            if "image/png" in data:
                data["image/png"] = hashlib.sha256(base64.b64decode(data["image/png"])).hexdigest()
            shown.append(data)
    return shown


def test_the_colab_cell_installs_lossutils_only_on_colab():
    python = TransformerManager().transform_cell(
        COLAB_SETUP.format(repository="https://github.com/o/r")
    )
    assert 'if "google.colab" in sys.modules:' in python
    assert (
        "run_line_magic('pip', 'install --quiet \"lossutils @ git+https://github.com/o/r\"')"
        in python
    )
    compile(python, "colab-setup", "exec")
    # Off Colab the cell must do nothing: run it here, where google.colab is not imported.
    namespace = {"get_ipython": lambda: pytest.fail("the Colab cell ran pip outside Colab")}
    exec(python, namespace)


# -- authors: the MyST source in JupyterLab (make lab-source) ------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_saving_from_jupyterlab_keeps_every_cell(path, tmp_path):
    """JupyterLab saves a chapter through jupytext with the repository's jupytext.toml: the
    MyST file it writes back must hold the same cells with the same metadata."""
    config = load_jupytext_config(str(ROOT / "chapters"))
    assert config is not None, "jupytext.toml is not found from chapters/"
    original = jupytext.read(path)
    saved = tmp_path / path.name
    saved.write_text(jupytext.writes(original, fmt="md:myst", config=config))
    again = jupytext.read(saved)
    assert len(again.cells) == len(original.cells)
    for before, after in zip(original.cells, again.cells):
        assert (after.cell_type, after.source, after.metadata) == (
            before.cell_type,
            before.source,
            before.metadata,
        )
    assert again.metadata["kernelspec"] == original.metadata["kernelspec"]
    assert "jupytext_version" not in saved.read_text().split("---")[1], (
        "the header would change on every save"
    )


def test_jupyterlab_settings_open_markdown_as_notebooks():
    overrides = json.loads(LAB_OVERRIDES.read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    # `make install` puts the file where `jupyter lab` from the venv reads it.
    assert "labconfig/default_setting_overrides.json" in (ROOT / "Makefile").read_text()


# -- JupyterLab, as `make lab` and `make lab-source` open it -------------------------------------


@pytest.fixture(scope="module")
def lab(built_book, tmp_path_factory):
    """JupyterLab serving what `make lab` serves (the reader notebooks) next to a copy of the
    chapters' sources (what `make lab-source` serves); yields its base URL."""
    pytest.importorskip(
        "jupyterlab", reason="JupyterLab is not installed: `pip install -r requirements.txt`"
    )
    from lab_server import jupyter_lab

    _, site = built_book
    scratch = tmp_path_factory.mktemp("lab")
    root = scratch / "course"
    copy_notebooks(site, root / "notebooks")
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(_equations_markdown())]),
        root / "equations.ipynb",
    )
    shutil.copytree(ROOT / "chapters", root / "chapters")  # a copy: the test may not touch the repo
    shutil.copy(ROOT / "jupytext.toml", root / "jupytext.toml")
    with jupyter_lab(root, scratch) as base_url:
        yield base_url


def test_jupyterlab_shows_a_reader_notebook_as_rendered_prose(lab, browser, built_book):
    """A chapter opened from `make lab`: rendered Markdown with the build's numbers, exercise
    headings and typeset math; not a role, a directive or a raw formula in sight."""
    from lab_server import CURRENT_NOTEBOOK, open_notebook
    from site_browser import Reader

    _, site = built_book
    chapter = CHAPTERS[0]
    glued = json.loads(
        (site.parent / "jupyter_execute" / "chapters" / f"{chapter.stem}.glue.json").read_text()
    )
    reader = Reader(browser, lab)
    try:
        page = reader.page
        open_notebook(page, lab, f"notebooks/{chapter.stem}.ipynb")
        markdown = f"{CURRENT_NOTEBOOK} .jp-MarkdownCell .jp-RenderedMarkdown"
        text = page.locator(markdown).all_text_contents()  # textContent: also cells off screen
        headings = page.locator(f"{markdown} h3").all_text_contents()
        typeset = page.locator(f"{markdown} mjx-container").count()
        errors = page.locator(f"{CURRENT_NOTEBOOK} mjx-merror").count()
        details = page.locator(f"{markdown} details summary").all_text_contents()
    finally:
        reader.close()
    prose = "\n".join(text)
    leftovers = {kind: p.findall(prose)[:3] for kind, p in MYST_SYNTAX.items() if p.search(prose)}
    assert leftovers == {}, f"MyST syntax on the rendered page: {leftovers}"
    cost = float(next(iter(glued["ch1_cost"]["data"].values())))
    assert f"{cost:.3f}" in prose, "the glued cost is not in the rendered text"
    # (JupyterLab appends a ¶ anchor link to every heading.)
    assert any(re.fullmatch(r"Exercise 1\.\d+\W*", h) for h in headings), (
        f"no exercise headings: {headings}"
    )
    assert any(s.startswith("Solution to Exercise 1.") for s in details), (
        f"no folded solutions: {details}"
    )
    assert typeset > 20 and errors == 0, f"{typeset} formulas typeset, {errors} MathJax errors"


EQUATIONS = r"""
A labelled display equation:

$$
\ell(z, y) = \operatorname{softplus}(z) - y z
$$ (eq-test-bce)

A labelled math directive over two lines:

```{math}
:label: eq-test-split
a &= b + c \\
  &= d
```

An amsmath environment with a label:

\begin{align}
J(\theta) &= \frac{1}{n} \sum_i L_i \label{eq-test-align} \\
\nabla J &= \frac{1}{n} \sum_i \nabla L_i
\end{align}
"""


def _equations_markdown() -> str:
    """EQUATIONS (MyST) as editions converts it, with made-up equation numbers 7.1 to 7.3."""
    from editions.bibliography import Bibliography
    from editions.myst import Conversion, convert_markdown
    from editions.targets import Target, Targets

    labels = {
        f"eq-test-{name}": Target(f"https://example.org/#{name}", number=f"(7.{k})")
        for k, name in enumerate(["bce", "split", "align"], start=1)
    }
    conv = Conversion(
        glued={}, targets=Targets(labels, {}, "https://example.org/"), bibliography=Bibliography()
    )
    return convert_markdown(EQUATIONS, conv)


def test_jupyterlab_typesets_labelled_and_aligned_equations(lab, browser):
    """Labelled equations keep the site's number as \\tag, and multi-line ones render as aligned."""
    from lab_server import CURRENT_NOTEBOOK, open_notebook
    from site_browser import Reader

    reader = Reader(browser, lab)
    try:
        open_notebook(reader.page, lab, "equations.ipynb", min_text=100)
        formulas = reader.page.locator(f"{CURRENT_NOTEBOOK} mjx-container[display='true']")
        texts = formulas.all_text_contents()
        errors = reader.page.locator(f"{CURRENT_NOTEBOOK} mjx-merror").all_text_contents()
    finally:
        reader.close()
    assert errors == [] and len(texts) == 3, (errors, texts)
    for k, text in enumerate(texts, start=1):
        assert f"(7.{k})" in text, f"equation {k} lost its number: {text!r}"


def test_jupyterlab_opens_a_chapter_source_as_a_notebook_on_double_click(lab, browser):
    """`make lab-source`: a double-click on a chapter's .md opens it as a notebook (jupytext)."""
    import urllib.request

    from site_browser import Reader

    url = lab + "lab/api/settings/@jupyterlab/docmanager-extension:plugin"
    with urllib.request.urlopen(url) as response:
        schema = json.load(response)["schema"]
    assert schema["properties"]["defaultViewers"]["default"]["markdown"] == "Jupytext Notebook"
    chapter = CHAPTERS[0].name
    reader = Reader(browser, lab)
    try:
        page = reader.page
        page.goto(lab + "lab/tree/chapters?reset", wait_until="domcontentloaded")
        item = page.locator(".jp-DirListing-item", has_text=chapter)
        item.wait_for(timeout=90_000)
        item.dblclick()
        page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell", timeout=60_000)
        tab = page.locator(".lm-TabBar-tab.jp-mod-current").first.inner_text()
        code_cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").count()
        editors = page.locator(".jp-FileEditor").count()
    finally:
        reader.close()
    assert tab.strip() == chapter
    assert code_cells >= 1 and editors == 0, (
        "the chapter opened in the text editor, not as a notebook"
    )
