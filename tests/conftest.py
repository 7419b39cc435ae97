"""Fixtures shared across the suite: the whole book, built once per test session."""

from __future__ import annotations

import pytest

from book import ROOT, build_book


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once, with every chapter executed afresh.

    Returns ``(result, html_dir)``: the finished process (with its log) and the site folder.
    """
    output = tmp_path_factory.mktemp("book")
    result = build_book(ROOT, output, force=True)
    return result, output / "_build" / "html"
