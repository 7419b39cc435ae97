"""Fixtures for the chapters' claims that re-run an experiment (see tests/chapter_code.py)."""

from __future__ import annotations

import pytest
import torch

from book import ROOT
from chapter_code import run_chapter_code


@pytest.fixture(scope="session")
def chapter():
    """``chapter("what-is-a-loss")``: that chapter's variables after running its student cells
    (once per test session)."""
    cache = {}

    def run(name: str):
        if name not in cache:
            cache[name] = run_chapter_code(ROOT / "chapters" / f"{name}.md")
        return cache[name]

    return run


@pytest.fixture(autouse=True)
def float64_like_the_chapters():
    """The chapters compute in float64 (their set-up cell says so); their re-runs here do too."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


@pytest.fixture
def one_thread():
    """One PyTorch thread, as the chapters use: their tensors are small, and on a busy 2-core
    machine two threads wait for each other (a re-run took 250 s on two threads, 8 s on one)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
