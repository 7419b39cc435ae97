"""The texts shipped in lossutils/data: what README.md says they are, and installed with the package."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from pathlib import Path

import pytest

import lossutils.data as data

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(data.__file__).parent
README = (DATA / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(data.TEXTS))
def test_each_text_is_small_clean_ascii_and_matches_the_readme(name):
    path = DATA / data.TEXTS[name]
    raw = path.read_bytes()
    assert len(raw) <= 200_000, (
        f"{path.name}: {len(raw)} bytes, the course ships at most about 200 KB"
    )
    assert raw.isascii() and b"\r" not in raw, f"{path.name}: ASCII with \\n line endings"
    assert hashlib.sha256(raw).hexdigest() in README, (
        f"{path.name}: its SHA-256 is not the one README.md states"
    )
    assert f"{len(raw):,} bytes" in README, f"{path.name}: README.md states another size"
    assert data.load_text(name) == raw.decode("ascii")


def test_alice_is_the_book_without_the_project_gutenberg_header_and_licence():
    text = data.load_text("alice")
    assert not re.search(r"gutenberg", text, flags=re.I), (
        "every reference to Project Gutenberg must go (licence 1.C)"
    )
    assert text.startswith("ALICE'S ADVENTURES IN WONDERLAND\n\nLewis Carroll\n")
    assert text.rstrip().endswith("THE END")
    assert text.count("CHAPTER ") == 12


def test_unknown_text_is_refused_by_name():
    with pytest.raises(ValueError, match=r"name must be one of \['alice'\], got 'bob'"):
        data.load_text("bob")


def test_the_texts_are_package_data_so_they_install_with_lossutils():
    """Colab and students install lossutils from git: the texts must be in the wheel."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "lossutils.data" in config["packages"]
    patterns = config["package-data"]["lossutils.data"]
    for path in DATA.iterdir():
        if path.suffix != ".py" and path.name != "__pycache__":
            assert any(fnmatch.fnmatch(path.name, p) for p in patterns), (
                f"{path.name} would not be installed"
            )
