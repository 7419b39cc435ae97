"""The course outline: what each chapter teaches, what it needs first, and how long it takes.

``_outline.yml`` holds, for every chapter, the outcomes ("You will ...") and the chapters to read
first; the build counts each chapter's words and exercises. From these the website shows a box
at the top of every chapter, the landing page's table of chapters and its map of which chapter
needs which (``_ext/site_outline.py``), and the reader notebook opens with the same box
(:func:`opening_markdown`). This module is the part that needs no Sphinx: reading and checking
the file, the reading-time rule, and the Markdown form of the box.

The reading-time rule (:func:`minutes`): the chapter's prose (its text outside code cells,
exercises and solutions; captions and glued numbers included) at :data:`WORDS_PER_MINUTE`, its
visible code (the cells it shows unfolded) at :data:`CODE_LINES_PER_MINUTE`, and each exercise
at :data:`MINUTES_PER_EXERCISE`, or :data:`MINUTES_PER_CODE_EXERCISE` when its solution is
code. Reading and exercises are each rounded to 5 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTLINE = ROOT / "_outline.yml"

#: Technical prose with formulas reads slower than a novel (about 250 words a minute).
WORDS_PER_MINUTE = 200
#: Code is read slower than prose: about 6 s a line.
CODE_LINES_PER_MINUTE = 10
#: A prose exercise: read, think, write a few lines.
MINUTES_PER_EXERCISE = 10
#: An exercise whose solution is code: write it, run it, pass its check.
MINUTES_PER_CODE_EXERCISE = 15

_FIELDS = {"short", "learn", "needs", "background"}


class OutlineError(ValueError):
    """``_outline.yml`` is malformed or does not match the table of contents."""


@dataclass(frozen=True)
class Entry:
    """One chapter's line of the outline.

    Attributes:
      name: the chapter's file name in ``chapters/`` without ``.md`` (``what-is-a-loss``).
      short: a few words naming it on the map.
      learn: what a reader can do after it; each completes "You will ...". Markdown (code and
        ``$math$``).
      needs: the chapters to read first (names of chapters earlier in the table of contents).
      background: what it expects from outside the course.
    """

    name: str
    short: str
    learn: tuple[str, ...]
    needs: tuple[str, ...] = ()
    background: tuple[str, ...] = ()

    @property
    def docname(self) -> str:
        return f"chapters/{self.name}"


@dataclass(frozen=True)
class Reading:
    """What the build counted in a chapter: prose words, lines of visible code, and prose and
    code exercises."""

    words: int
    code_lines: int = 0
    exercises: int = 0
    code_exercises: int = 0

    @property
    def all_exercises(self) -> int:
        return self.exercises + self.code_exercises


@dataclass
class Outline(Mapping[str, Entry]):
    """Every chapter's :class:`Entry`, by chapter name, in the file's order."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Entry:
        return self.entries[name]

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def for_doc(self, docname: str) -> Entry | None:
        """The entry of a page (``chapters/what-is-a-loss``), or None."""
        if not docname.startswith("chapters/"):
            return None
        return self.entries.get(docname.removeprefix("chapters/"))

    def problems(self, chapters: Iterable[str]) -> list[str]:
        """What does not match the table of contents, whose chapter pages are ``chapters``
        (``chapters/NAME``, in order): chapters without an entry, and prerequisites that are not
        chapters listed before the one that needs them."""
        order = [c.removeprefix("chapters/") for c in chapters]
        found = []
        for position, name in enumerate(order):
            if name not in self.entries:
                found.append(
                    f"chapters/{name}.md has no entry in _outline.yml: add what it teaches "
                    f"(learn) and what it needs first (needs) (CONTRIBUTING.md)"
                )
                continue
            for need in self.entries[name].needs:
                if need not in order:
                    found.append(f"_outline.yml: {name} needs {need!r}, which is not in _toc.yml")
                elif order.index(need) > position:
                    found.append(
                        f"_outline.yml: {name} needs {need!r}, which comes after it in _toc.yml"
                    )
        return found


def _strings(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise OutlineError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def load_outline(path: Path = OUTLINE) -> Outline:
    """Read and check ``_outline.yml``.

    Raises:
      OutlineError: naming the chapter and the field, for a missing or malformed field.
    """
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise OutlineError(
            f"{path}: expected a mapping of chapter names, got {type(data).__name__}"
        )
    entries = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise OutlineError(f"{path}: {name}: expected a mapping of fields, got {fields!r}")
        unknown = set(fields) - _FIELDS
        if unknown:
            raise OutlineError(
                f"{path}: {name}: unknown fields {sorted(unknown)}, expected {sorted(_FIELDS)}"
            )
        short = fields.get("short")
        if not isinstance(short, str) or not short.strip():
            raise OutlineError(f"{path}: {name}: short: expected a few words, got {short!r}")
        learn = _strings(fields.get("learn"), f"{path}: {name}: learn")
        if not learn:
            raise OutlineError(f"{path}: {name}: learn: expected at least one outcome")
        entries[name] = Entry(
            name=name,
            short=short.strip(),
            learn=learn,
            needs=_strings(fields.get("needs"), f"{path}: {name}: needs"),
            background=_strings(fields.get("background"), f"{path}: {name}: background"),
        )
    return Outline(entries)


def _round5(minutes: float) -> int:
    return int(5 * max(1, round(minutes / 5)))


def minutes(reading: Reading) -> tuple[int, int]:
    """``(reading, exercises)`` in minutes, each rounded to 5 (reading at least 5; exercises 0
    when there are none)."""
    read = _round5(reading.words / WORDS_PER_MINUTE + reading.code_lines / CODE_LINES_PER_MINUTE)
    work = (
        reading.exercises * MINUTES_PER_EXERCISE
        + reading.code_exercises * MINUTES_PER_CODE_EXERCISE
    )
    return read, (_round5(work) if work else 0)


def format_minutes(total: int) -> str:
    """``25`` -> "25 min", ``80`` -> "1 h 20 min", ``120`` -> "2 h"."""
    hours, rest = divmod(int(total), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def time_sentence(reading: Reading) -> str:
    """The time a chapter takes, in words: "About 25 min to read (2,100 words and 130 lines
    of code), plus about 1 h 15 min for its 6 exercises"."""
    read, work = minutes(reading)
    text = f"About {format_minutes(read)} to read ({reading.words:,} words"
    if reading.code_lines:
        text += f" and {reading.code_lines:,} lines of code"
    text += ")"
    n = reading.all_exercises
    if n:
        text += f", plus about {format_minutes(work)} for its {n} exercise{'s' * (n != 1)}"
    return text


def opening_markdown(
    entry: Entry, reading: Reading | None, prerequisites: Mapping[str, tuple[str, str]]
) -> str:
    """The chapter-opening box as plain Markdown (a block quote), for the reader notebook.

    Args:
      entry: the chapter's outline entry.
      reading: what the build counted in it (None leaves the time out).
      prerequisites: ``name -> (number, url)`` for every chapter in ``entry.needs``: the text
        of its link ("4") and where it goes.
    """
    lines = ["**In this chapter you will**", ""]
    lines += [f"- {outcome}" for outcome in entry.learn]
    first = []
    if entry.needs:
        links = [f"[{prerequisites[n][0]}]({prerequisites[n][1]})" for n in entry.needs]
        first.append(("chapter " if len(links) == 1 else "chapters ") + _join(links))
    first += entry.background
    lines += ["", f"**What you need first:** {'; '.join(first) or 'nothing but curiosity'}."]
    if reading is not None:
        lines += ["", f"**Time:** {time_sentence(reading)}."]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def chapter_opening(
    docname: str, targets, reading: Reading | None, outline: Outline | None = None
) -> str | None:
    """The Markdown box of a chapter page (``chapters/NAME``) as the site shows it, or None for
    a page without an outline entry.

    Args:
      docname: the chapter's page.
      targets: the book's :class:`editions.targets.Targets` (the prerequisites' numbers, URLs).
      reading: what the build counted in the chapter (:func:`reading_from_doctrees`).
      outline: the outline (default: ``_outline.yml``).
    """
    entry = (outline if outline is not None else load_outline()).for_doc(docname)
    if entry is None:
        return None
    needs = {}
    for need in entry.needs:
        page = targets.page(f"chapters/{need}")
        needs[need] = (page.number or page.title, page.url)
    return opening_markdown(entry, reading, needs)


def reading_from_doctrees(doctrees: Path) -> dict[str, Reading]:
    """What a finished build counted in each chapter, from its ``environment.pickle``."""
    import pickle

    path = Path(doctrees) / "environment.pickle"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the book first (`make book`)")
    with path.open("rb") as f:
        return dict(getattr(pickle.load(f), "course_reading", {}))


def _join(items: list[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def transitive_reduction(outline: Outline, order: list[str]) -> dict[str, list[str]]:
    """For each chapter of ``order``, the prerequisites that no other prerequisite implies:
    the arrows of the map (a chapter that needs 1 and 2, where 2 needs 1, gets an arrow from 2)."""
    closure: dict[str, set[str]] = {}
    for name in order:
        closure[name] = set()
        for need in outline[name].needs:
            closure[name] |= {need} | closure.get(need, set())
    direct = {}
    for name in order:
        needs = outline[name].needs
        implied = set().union(*(closure.get(n, set()) for n in needs)) if needs else set()
        direct[name] = [n for n in needs if n not in implied]
    return direct


def layers(outline: Outline, order: list[str]) -> dict[str, int]:
    """Each chapter's row on the map: 0 with no prerequisite, else one below its lowest one."""
    row: dict[str, int] = {}
    for name in order:
        row[name] = 1 + max((row[n] for n in outline[name].needs if n in row), default=-1)
    return row


_INLINE = re.compile(r"(`[^`]+`|\$[^$]+\$)")


def inline_parts(text: str) -> list[tuple[str, str]]:
    """Split outline Markdown into ``("text" | "code" | "math", content)`` parts (the only
    inline markup ``_outline.yml`` uses)."""
    parts = []
    for piece in _INLINE.split(text):
        if not piece:
            continue
        if piece.startswith("`"):
            parts.append(("code", piece[1:-1]))
        elif piece.startswith("$"):
            parts.append(("math", piece[1:-1]))
        else:
            parts.append(("text", piece))
    return parts
