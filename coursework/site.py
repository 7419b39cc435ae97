"""The student site (``make student-site``): the book with no solution in any file it serves.

:func:`build_student_site` builds the book with an overlay of ``_config.yml`` and ``_toc.yml``
(written into the output folder; the shared configuration is not touched) and then runs the
leak check over every file of the built site, ``_sources/`` and ``searchindex.js`` included.
The overlay:

* loads this module as a Sphinx extension, which removes every solution (``{solution}`` and
  ``{solution-start}`` ... ``{solution-end}``, prose and code) from each page's doctree right
  after it is read, so that neither the HTML nor the search index has it. Chapters still
  execute in full, solutions included, so that later cells that use them run;
* replaces each chapter's downloads (``_sources/NAME.ipynb`` and ``.md``) by its student
  notebook (:mod:`coursework.student`), and writes the same notebooks, flat, into
  ``OUT/notebooks/`` for the ``student-notebooks`` branch that the Colab button opens;
* drops the Binder button (Binder opens the repository's main branch, solutions and all), the
  repository and issue buttons, and the Coursework part of the table of contents.

Test cells and check cells are ``remove-cell``: no edition shows them.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import jupytext
import nbformat
import yaml

from coursework.leaks import LeakError, Secrets, describe, notebook_secrets, scan
from coursework.student import ROOT, student_notebook
from editions.toc import toc_files

COURSEWORK_PART = "Coursework"
COLAB_BRANCH = "student-notebooks"


# -- the Sphinx extension -------------------------------------------------------------------------


def _student_page(app, docname: str) -> bool:
    return any(fnmatch(docname, pattern) for pattern in app.config.student_site_pages)


def remove_solutions(app, doctree) -> None:
    """Remove every solution node from a page (``doctree-read``, after sphinx-exercise merged
    each ``{solution-start}`` ... ``{solution-end}`` into one node)."""
    from sphinx_exercise.nodes import solution_node

    for node in list(doctree.findall(solution_node)):
        node.parent.remove(node)


def write_student_sources(app, exception) -> None:
    """Write each chapter's student notebook over its downloads (``build-finished``)."""
    if exception is not None or app.builder.format != "html":
        return
    from editions.bibliography import Bibliography
    from editions.reader import load_glue
    from editions.site import Site
    from editions.targets import Targets

    site = Site.from_sphinx(app.config)
    targets = Targets.from_sphinx_env(app.env, site.url)
    bibliography = Bibliography(*(Path(app.srcdir) / f for f in app.config.bibtex_bibfiles))
    executed = Path(app.outdir).parent / "jupyter_execute"
    flat = Path(app.config.student_notebooks_dir) if app.config.student_notebooks_dir else None
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        if not _student_page(app, docname) or source.suffix != ".md":
            continue
        nb = student_notebook(
            source,
            docname=docname,
            site=site,
            targets=targets,
            bibliography=bibliography,
            glued=load_glue(executed / f"{docname}.glue.json"),
        )
        sources = Path(app.outdir) / "_sources"
        (sources / docname).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, sources / f"{docname}.ipynb")
        (sources / f"{docname}.md").write_text(jupytext.writes(nb, fmt="md:myst"))
        if flat is not None:
            flat.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, flat / f"{Path(docname).name}.ipynb")


def setup(app):
    app.add_config_value("student_site_pages", ["chapters/*"], "html")
    app.add_config_value("student_notebooks_dir", "", "html")
    app.connect("doctree-read", remove_solutions, priority=900)
    app.connect("build-finished", write_student_sources)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


# -- building it ------------------------------------------------------------------------------------


def overlay(config: dict, toc: dict, out: Path, root: Path = ROOT) -> tuple[dict, dict]:
    """The student site's ``_config.yml`` and ``_toc.yml``, from the book's. They live in
    ``out``, so the local extensions' folders (relative to the configuration) become absolute."""
    config, toc = copy.deepcopy(config), copy.deepcopy(toc)
    config["title"] = f"{config['title']} (student edition)"
    sphinx = config.setdefault("sphinx", {})
    for name, folder in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((root / folder).resolve())
    sphinx.setdefault("extra_extensions", []).append("coursework.site")
    settings = sphinx.setdefault("config", {})
    settings["colab_notebooks_branch"] = COLAB_BRANCH
    settings["student_notebooks_dir"] = str(out / "notebooks")
    if any("editions" in str(e) for e in sphinx["extra_extensions"]):
        settings["reader_notebook_pages"] = []  # this site's downloads are the student notebooks
    config.setdefault("launch_buttons", {}).pop("binderhub_url", None)
    config.setdefault("html", {}).update(use_repository_button=False, use_issues_button=False)
    toc["parts"] = [p for p in toc.get("parts", []) if p.get("caption") != COURSEWORK_PART]
    return config, toc


def site_secrets(chapters: list[Path], other_pages: list[Path]) -> Secrets:
    """The solutions, hidden tests and solution prose of every chapter; the other pages of the
    book are public."""
    return notebook_secrets(
        ((str(p.relative_to(ROOT)), jupytext.read(p)) for p in chapters),
        (p.read_text() for p in other_pages),
    )


def build_student_site(
    out: Path, *, root: Path = ROOT, force: bool = False, jupyter_cache: Path | None = None
) -> Path:
    """Build the student site into ``out/_build/html``; return that folder.

    Chapters execute through the book's jupyter-cache (``jupyter_cache``, by default that of
    `make book`, ``_build/.jupyter_cache``): the student site runs the same notebooks, so a
    chapter the book has run, unchanged since, is read from there instead of run again.
    ``force`` runs every chapter afresh.

    Raises:
      RuntimeError: the build failed (its log's end is in the message).
      LeakError: a solution, hidden test or solution prose is in a built file.
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    config, toc = overlay(
        yaml.safe_load((root / "_config.yml").read_text()),
        yaml.safe_load((root / "_toc.yml").read_text()),
        out,
        root,
    )
    if force:
        config["execute"]["execute_notebooks"] = "force"
    config["execute"]["cache"] = str(
        Path(jupyter_cache or root / "_build" / ".jupyter_cache").resolve()
    )
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    # As `make book` builds: scripts/build_book.py is `jupyter-book build` reading on every core.
    cmd = [
        sys.executable,
        str(root / "scripts" / "build_book.py"),
        "--jobs",
        "auto",
        str(root),
        "--path-output",
        str(out),
        "--config",
        str(out / "_config.yml"),
        "--toc",
        str(out / "_toc.yml"),
        "-n",
        "-W",
        "--keep-going",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(
            f"the student site's build failed:\n{(result.stdout + result.stderr)[-4000:]}"
        )
    html = out / "_build" / "html"
    pages = [root / f"{page}.md" for page in toc_files(out / "_toc.yml")]
    chapters = [p for p in pages if p.parent.name == "chapters"]
    secrets = site_secrets(chapters, [p for p in pages if p not in chapters and p.is_file()])
    leaks = scan(html.rglob("*"), secrets)
    if leaks:
        raise LeakError(f"the student site leaks {len(leaks)} line(s):\n{describe(leaks)}")
    return html
