"""The student site (``make student-site``): the whole book without a solution in any file.

The slow test builds it once, as ``python -m coursework student-site`` does, which fails on any
leak; the tests below then look at the pages, the downloads and the buttons themselves. The
leak check's own control (it finds the secrets where they are) is in the fast tests.
"""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml

from book import ROOT, book_cache, chapter_paths
from coursework.leaks import scan
from coursework.site import COLAB_BRANCH, build_student_site, overlay, site_secrets

CHAPTERS = chapter_paths()


def test_the_overlay_keeps_students_away_from_solutions(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    student, student_toc = overlay(config, toc, tmp_path)
    assert "coursework.site" in student["sphinx"]["extra_extensions"]
    assert student["sphinx"]["config"]["colab_notebooks_branch"] == COLAB_BRANCH
    assert "binderhub_url" not in student["launch_buttons"], "Binder opens main, solutions and all"
    assert student["html"]["use_repository_button"] is False
    assert "Coursework" not in [p["caption"] for p in student_toc["parts"]]
    assert "Coursework" in [p["caption"] for p in toc["parts"]], "the book's own toc is untouched"
    for folder in student["sphinx"].get("local_extensions", {}).values():
        assert (ROOT / folder).is_dir() and folder.startswith("/"), "extensions must load from out/"


def test_the_leak_check_finds_every_chapters_secrets_in_its_sources():
    """The control for the student site's check: the same secrets are in the chapters."""
    secrets = site_secrets(CHAPTERS, [ROOT / "intro.md"])
    kinds = {s.kind for s in secrets.secrets}
    assert kinds == {"solution", "hidden test", "solution prose"}
    found = {s for _, s in scan(CHAPTERS, secrets)}
    assert found == set(secrets.secrets)


def test_the_leak_check_finds_the_solutions_on_the_readers_site(built_book):
    """On the ordinary site every solution and every line of solution prose is on a page."""
    _, html = built_book
    secrets = site_secrets(CHAPTERS, [ROOT / "intro.md"])
    found = {s for _, s in scan((html / "chapters").glob("*.html"), secrets)}
    assert {s for s in secrets.secrets if s.kind != "hidden test"} <= found


@pytest.fixture(scope="session")
def student_site(built_book, tmp_path_factory):
    """The student site, its chapters read from the jupyter-cache that the book's build (which
    executed them afresh) filled: the same notebooks, run once per test session."""
    result, html = built_book
    assert result.returncode == 0, "the book's build failed: see test_book_build"
    out = tmp_path_factory.mktemp("student-site")
    cache = book_cache(html.parents[1])
    return out, build_student_site(out, jupyter_cache=cache)  # raises on a failure or a leak


@pytest.mark.slow
def test_chapter_pages_have_their_exercises_and_no_solution(student_site):
    _, html = student_site
    for chapter in CHAPTERS:
        page = (html / "chapters" / f"{chapter.stem}.html").read_text()
        assert 'class="exercise' in page or "exercise-" in page, (
            f"{chapter.stem}: no exercise on the page"
        )
        assert not re.search(r'class="[^"]*\bsolution\b', page), (
            f"{chapter.stem}: a solution is on the page"
        )
    assert not (html / "coursework-guide.html").exists(), (
        "the instructor's guide is not for students"
    )


@pytest.mark.slow
def test_downloads_and_colab_give_student_notebooks(student_site):
    out, html = student_site
    for chapter in CHAPTERS:
        for nb in (
            nbformat.read(html / "_sources" / "chapters" / f"{chapter.stem}.ipynb", as_version=4),
            nbformat.read(out / "notebooks" / f"{chapter.stem}.ipynb", as_version=4),
        ):
            answers = [c for c in nb.cells if c.metadata.get("coursework", {}).get("answer")]
            assert answers and all("raise NotImplementedError" in c.source for c in answers), (
                chapter.stem
            )
            assert not any("test" in c.metadata.get("tags", []) for c in nb.cells), (
                "a hidden test is in"
            )
        md = (html / "_sources" / "chapters" / f"{chapter.stem}.md").read_text()
        assert "raise NotImplementedError" in md and "# BEGIN SOLUTION" not in md
        page = (html / "chapters" / f"{chapter.stem}.html").read_text()
        assert f"/blob/{COLAB_BRANCH}/{chapter.stem}.ipynb" in page, (
            "Colab opens the student notebook"
        )
        assert "mybinder.org" not in page
