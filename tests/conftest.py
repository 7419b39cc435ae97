"""Fixtures shared across the suite: the whole book, built once per test session."""

from __future__ import annotations

import os
import sys

import pytest

from book import ROOT, build_book

# _ext/ holds the site's local Sphinx extension (_ext/site_extension.py, listed under
# `local_extensions` in _config.yml). Jupyter Book finds it relative to the configuration file,
# and the tests build from copies of _config.yml in temporary folders, so the builds they start
# find it through PYTHONPATH instead.
EXT = ROOT / "_ext"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXT), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(EXT))  # and the unit tests of its modules (tests/test_site_features.py)

#: Per-page load times measured by the browser tests, printed at the end of the run.
PAGE_LOAD_TIMES = pytest.StashKey[dict]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives Chromium (needs `apt-get install chromium`)"
    )
    config.stash[PAGE_LOAD_TIMES] = {}


def pytest_collection_modifyitems(config, items):
    # `-m browser` selects (and `-m "not browser"` skips) every test that drives Chromium; every
    # test that needs the whole book built is `slow`, so `-m "not slow"` stays fast.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "built_book" in fixtures or "chapter" in fixtures:  # the whole book, or a chapter's code
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once, with every chapter executed afresh (into an empty
    jupyter-cache, which the student site's build then reads instead of running them again).

    Returns ``(result, html_dir)``: the finished process (with its log) and the site folder.
    """
    output = tmp_path_factory.mktemp("book")
    result = build_book(ROOT, output, force=False)
    return result, output / "_build" / "html"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright; skipped (failed in CI) when missing."""
    from site_browser import chromium, missing_requirements

    reason = missing_requirements()
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="session")
def page_load_times(request):
    """A dict the browser tests fill with ``page -> (load event s, ready s)``."""
    return request.config.stash[PAGE_LOAD_TIMES]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    times = config.stash.get(PAGE_LOAD_TIMES, {})
    if not times:
        return
    terminalreporter.section("page load times (Chromium, 1280 px, served from 127.0.0.1)")
    terminalreporter.write_line(f"{'page':<44} {'load event':>10} {'typeset':>10}")
    for page, (load_s, ready_s) in sorted(times.items()):
        terminalreporter.write_line(f"{page:<44} {load_s:>9.2f}s {ready_s:>9.2f}s")
