"""The leak check: no line of a solution, of a hidden test or of solution prose reaches students.

Secrets are compared as **word sequences**: lower case, every run of characters that is not a
letter or digit turned into one space. That one form matches a line wherever it went: as
source in a notebook's JSON, as highlighted code in HTML (tags stripped, entities decoded), as
prose that Sphinx rendered with curly quotes, in ``searchindex.js``. A secret is only a secret
if it is distinctive: a line of at least three words and twelve characters that appears nowhere
in what students may see (``import numpy as np`` in a hidden test is no leak).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from coursework.markup import (
    Exercise,
    is_answer,
    is_test,
    read_exercises,
    solution_lines,
    solution_prose,
    tags,
)

_SEPARATORS = re.compile(r"[\W_]+")
_ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
_TAG = re.compile(r"<[^>]*>")
#: Tags that sit inside a line of text (``<span>`` around a token, ``<em>`` around a word): removed
#: without a space, so that highlighted code and emphasised prose read as they were written.
_INLINE_TAG = re.compile(
    r"</?(?:span|em|strong|code|a|b|i|sub|sup|wbr|kbd|var|samp|mark|abbr)\b[^>]*>", re.I
)
MIN_WORDS, MIN_CHARS = 3, 12
#: The built files a leak could hide in (images and fonts cannot hold a line of text).
TEXT_SUFFIXES = {".html", ".js", ".json", ".ipynb", ".md", ".txt", ".py", ".css", ".svg", ".xml"}


class LeakError(RuntimeError):
    """A solution, a hidden test or solution prose was found where students can read it."""


def words(text: str) -> str:
    """``text`` as a word sequence, padded with spaces so that matches are whole words.

    >>> words("return np.mean((y - (w * x + b)) ** 2)")
    ' return np mean y w x b 2 '
    """
    return " " + _SEPARATORS.sub(" ", text.lower()).strip() + " "


@dataclass(frozen=True)
class Secret:
    kind: str  # "solution", "hidden test" or "solution prose"
    origin: str  # where it comes from: "chapters/x.md, cell 12"
    line: str  # the line as written

    @property
    def key(self) -> str:
        """The line as words; for a line with MyST roles (``{glue:text}`...```, ``{ref}``,
        ``{cite:p}``), which a page renders differently, its longest stretch without one."""
        if not _ROLE.search(self.line):
            return words(self.line)
        return max((words(part) for part in _ROLE.split(self.line)), key=lambda k: len(k.split()))


def secrets_of(
    nb: NotebookNode, origin: str, grade_ids: Iterable[str] | None = None
) -> list[Secret]:
    """Every solution line, hidden test line and line of solution prose in a source notebook.
    ``grade_ids`` limits the solutions and tests to those exercises (default: all of them)."""
    wanted = None if grade_ids is None else set(grade_ids)
    found = []
    for i, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("grade_id")
        where = f"{origin}, cell {i + 1}"
        if wanted is not None and gid not in wanted:
            continue
        if is_answer(cell):
            found += [Secret("solution", where, line) for line in solution_lines(cell.source)]
        elif is_test(cell) and cell.metadata.get("visibility", "hidden") == "hidden":
            found += [Secret("hidden test", where, line) for line in cell.source.splitlines()]
    found += [Secret("solution prose", origin, line) for line in solution_prose(nb)]
    return found


def public_text(nb: NotebookNode, exercises: dict[str, Exercise]) -> str:
    """What students may see of a source notebook: its prose and code without the secrets."""
    prose = set(solution_prose(nb))
    parts = []
    for cell in nb.cells:
        if is_answer(cell):
            gid = cell.metadata.get("grade_id")
            parts.append(exercises[gid].stub if gid in exercises else "")
        elif is_test(cell):
            if cell.metadata.get("visibility", "hidden") == "public":
                parts.append(cell.source)
        elif "check" not in tags(cell):
            parts.append("\n".join(line for line in cell.source.splitlines() if line not in prose))
    return "\n".join(parts)


class Secrets:
    """The distinctive secrets of some sources, ready to be looked for in text."""

    def __init__(self, secrets: Iterable[Secret], public: Iterable[str] = ()):
        seen_public = "".join(words(text) for text in public)
        self.secrets: list[Secret] = []
        keys = set()
        for secret in secrets:
            key = secret.key
            if (
                len(key.split()) < MIN_WORDS
                or len(key.strip()) < MIN_CHARS
                or key in seen_public
                or key in keys
            ):
                continue
            keys.add(key)
            self.secrets.append(secret)

    def __len__(self) -> int:
        return len(self.secrets)

    def found_in(self, text: str) -> list[Secret]:
        haystack = words(text)
        return [s for s in self.secrets if s.key in haystack]


def notebook_secrets(
    sources: Iterable[tuple[str, NotebookNode]], other_public: Iterable[str] = ()
) -> Secrets:
    """The secrets of some source notebooks (``(origin, notebook)`` pairs). What students may
    see is each notebook's public text and ``other_public`` (the book's other pages)."""
    found, public = [], list(other_public)
    for origin, nb in sources:
        found += secrets_of(nb, origin)
        public.append(public_text(nb, read_exercises(nb, origin)))
    return Secrets(found, public)


def readable_text(path: Path) -> str:
    """A built file's text as a reader or a program would extract it."""
    raw = path.read_text(errors="replace")
    if path.suffix in {".ipynb", ".json"}:
        try:
            return "\n".join(_strings(json.loads(raw)))
        except ValueError:
            return raw
    if path.suffix in {".html", ".svg", ".xml"}:
        return html.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", raw)))
    return raw


def _strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            yield "".join(value)  # a notebook's multi-line source
        else:
            for v in value:
                yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def scan(paths: Iterable[Path], secrets: Secrets) -> list[tuple[Path, Secret]]:
    """Every (file, secret) pair where a secret is in a text file among ``paths``."""
    leaks = []
    for path in sorted(paths):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            leaks += [(path, s) for s in secrets.found_in(readable_text(path))]
    return leaks


def describe(leaks: list[tuple[Path, Secret]], limit: int = 20) -> str:
    lines = [f"{path}: {s.kind} from {s.origin}: {s.line.strip()!r}" for path, s in leaks[:limit]]
    if len(leaks) > limit:
        lines.append(f"... and {len(leaks) - limit} more")
    return "\n".join(lines)
