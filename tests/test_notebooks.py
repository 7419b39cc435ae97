"""Every chapter, run in Jupyter: as the notebook students download, and opened in JupyterLab.

* ``make notebooks`` (scripts/notebooks.py) turns each chapter into an ``.ipynb`` whose first
  cell installs ``lossutils`` on Colab; the slow test executes each of those notebooks top to
  bottom in a fresh kernel started in an empty folder outside the repository, the way a student
  runs a downloaded notebook: nothing but the installed ``lossutils`` is available.
* The repository's Jupyter settings make JupyterLab open a chapter ``.md`` as a notebook on a
  double-click (.jupyter/labconfig/default_setting_overrides.json), and saving it back keeps
  every cell and its metadata (jupytext.toml). The JupyterLab test starts ``jupyter lab`` and
  double-clicks a chapter in Chromium.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupytext.config import load_jupytext_config

from book import ROOT, chapter_paths
from notebooks import chapter_notebook, write_notebooks
from run_chapter import execute

CHAPTERS = chapter_paths()
IDS = [p.stem for p in CHAPTERS]
LAB_OVERRIDES = ROOT / ".jupyter" / "labconfig" / "default_setting_overrides.json"


def test_make_notebooks_writes_one_notebook_per_chapter(tmp_path):
    chapters = chapter_paths()
    assert chapters == chapter_paths()  # the same chapters the book builds
    written = write_notebooks(chapters, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{p.stem}.ipynb" for p in chapters)
    for path, chapter in zip(written, chapters):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        source = jupytext.read(chapter)
        assert [c.source for c in nb.cells[1:]] == [c.source for c in source.cells], "the chapter, cell for cell"
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "unexecuted"


def test_the_colab_cell_installs_lossutils_only_on_colab():
    setup = chapter_notebook(CHAPTERS[0]).cells[0]
    python = TransformerManager().transform_cell(setup.source)  # what IPython runs
    assert 'if "google.colab" in sys.modules:' in python
    assert "run_line_magic('pip', 'install --quiet \"lossutils @ git+https://github.com/" in python
    compile(python, "colab-setup", "exec")
    # Off Colab the cell must do nothing: run it here, where google.colab is not imported.
    namespace = {"get_ipython": lambda: pytest.fail("the Colab cell ran pip outside Colab")}
    exec(python, namespace)


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
        assert (after.cell_type, after.source, after.metadata) == (before.cell_type, before.source, before.metadata)
    assert again.metadata["kernelspec"] == original.metadata["kernelspec"]
    assert "jupytext_version" not in saved.read_text().split("---")[1], "the header would change on every save"


def test_jupyterlab_settings_open_markdown_as_notebooks():
    overrides = json.loads(LAB_OVERRIDES.read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    # `make install` puts the file where `jupyter lab` from the venv reads it.
    assert "labconfig/default_setting_overrides.json" in (ROOT / "Makefile").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_runs_as_a_notebook_in_a_fresh_kernel(path, tmp_path, monkeypatch, built_book):
    """The downloaded notebook, run top to bottom in a new kernel in an empty folder.

    It also proves determinism: every number the chapter glues into its text is the same as in the
    book build's own, independent execution.
    """
    notebook = write_notebooks([path], tmp_path / "downloads")[0]
    # A cell at the end reports where the kernel ran and which lossutils it imported.
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, os, lossutils\nprint(json.dumps({'cwd': os.getcwd(), 'lossutils': lossutils.__file__}))"))
    nbformat.write(nb, notebook)
    workdir = tmp_path / "student"
    workdir.mkdir()
    # The test session adds scripts/ to PYTHONPATH for the book builds; a student has no such path.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    executed, seconds = execute(notebook, cwd=workdir, timeout=300)
    report = json.loads(executed.cells[-1].outputs[0]["text"])
    assert Path(report["cwd"]).resolve() == workdir.resolve()
    assert Path(report["lossutils"]).name == "__init__.py"
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    # Every figure cell shows its figure in the notebook, as on the site.
    blank = [c.metadata["mystnb"]["figure"].get("name", c.source[:60]) for c in executed.cells
             if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})
             and not any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert blank == [], f"{path.name}: figure cells that display no figure: {blank}"
    _, site = built_book
    # myst-nb moves a chapter's glued outputs into NAME.glue.json beside its executed notebook.
    built = json.loads((site.parent / "jupyter_execute" / "chapters" / f"{path.stem}.glue.json").read_text())
    ours = _glued(executed)
    theirs = {name: next(iter(out["data"].values())) for name, out in built.items()}
    assert ours.keys() == theirs.keys() and ours, f"{path.name}: the two executions glued different names"
    differ = {k: (ours[k], theirs[k]) for k in ours if not _same_value(ours[k], theirs[k])}
    assert differ == {}, f"{path.name}: two executions glued different numbers: {differ}"
    print(f"\n{path.stem}: {seconds:.1f} s as a notebook in a fresh kernel")


def _same_value(a: str, b: str) -> bool:
    """Equal texts, or numbers equal to 1e-9 (the prose prints at most a few digits)."""
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except ValueError:
        return a == b


def _glued(nb) -> dict[str, str]:
    """Every value a notebook glues (name -> its text), as the book's {glue} roles read them."""
    return {o.metadata["scrapbook"]["name"]: next(iter(o.data.values()))
            for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "scrapbook" in o.get("metadata", {})}


# -- JupyterLab ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path):
    """``jupyter lab`` serving a copy of the chapters, with the repository's Jupyter settings and
    nothing from the user's own (~/.jupyter); yields its base URL."""
    jupyter = Path(sys.executable).with_name("jupyter")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is not installed: `pip install -r requirements.txt`")
    root = tmp_path / "course"
    shutil.copytree(ROOT / "chapters", root / "chapters")  # a copy: the test may not touch the repo
    shutil.copy(ROOT / "jupytext.toml", root / "jupytext.toml")
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_CONFIG_PATH": str(ROOT / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    cmd = [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base_url + "api/status", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_jupyterlab_opens_a_chapter_as_a_notebook_on_double_click(jupyter_lab, browser):
    from site_browser import Reader

    # The settings JupyterLab serves: the repository's override is the Document Manager's default.
    url = jupyter_lab + "lab/api/settings/@jupyterlab/docmanager-extension:plugin"
    with urllib.request.urlopen(url) as response:
        schema = json.load(response)["schema"]
    assert schema["properties"]["defaultViewers"]["default"]["markdown"] == "Jupytext Notebook"

    chapter = CHAPTERS[0].name
    reader = Reader(browser, jupyter_lab)
    try:
        page = reader.page
        page.goto(jupyter_lab + "lab/tree/chapters", wait_until="domcontentloaded")
        item = page.locator(".jp-DirListing-item", has_text=chapter)
        item.wait_for(timeout=90_000)
        item.dblclick()
        page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=60_000)
        tab = page.locator(".lm-TabBar-tab.jp-mod-current").first.inner_text()
        code_cells = page.locator(".jp-NotebookPanel .jp-CodeCell").count()
        editors = page.locator(".jp-FileEditor").count()
    finally:
        reader.close()
    assert tab.strip() == chapter
    assert code_cells >= 1 and editors == 0, "the chapter opened in the text editor, not as a notebook"
