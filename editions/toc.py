"""What the book's table of contents lists: the one reader of _toc.yml for scripts, tests and editions."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document the table of contents lists (root first), without extension."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def chapter_paths(toc_path: Path = ROOT / "_toc.yml") -> list[Path]:
    """The source of every toc entry that is a notebook chapter (the ones under chapters/)."""
    return [toc_path.parent / f"{f}.md" for f in toc_files(toc_path) if f.startswith("chapters/")]


def toc_parts(toc_path: Path = ROOT / "_toc.yml") -> list[tuple[str, list[str]]]:
    """The table of contents' parts, in order: ``(caption, [document, ...])``."""

    def files(entries) -> list[str]:
        found = []
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            found += files(entry.get("sections"))
        return found

    toc = yaml.safe_load(toc_path.read_text())
    return [
        (part.get("caption", ""), files(part.get("chapters"))) for part in toc.get("parts") or []
    ]
