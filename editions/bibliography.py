"""Citations for plain notebooks: (Author, Year) in the text and a reference list at the end.

The site formats ``{cite:p}`` and ``{cite:t}`` with sphinxcontrib-bibtex; a notebook has no
such machinery, so this module writes the same citations as text from ``references.bib``: the
author-year label as on the site ("Goodfellow et al., 2016") and each entry formatted by
pybtex's ``plain`` style, the style whose entries the site's bibliography page shows.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pybtex.database import Entry, parse_file
from pybtex.plugin import find_plugin
from pybtex.richtext import Text

ROOT = Path(__file__).resolve().parents[1]


def author_names(entry: Entry) -> str:
    """'Huber', 'Kingma and Ba' or 'Goodfellow et al.': the last names an author-year citation
    shows (here, and in the site's bibliography labels: ``_ext/site_citations.py``)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        raise ValueError(f"references: entry {entry.key!r} has no author or editor to cite")
    last = [
        Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text") for p in people
    ]
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class UnknownCitationError(KeyError):
    """A cited key that ``references.bib`` does not have."""

    def __str__(self) -> str:
        return self.args[0]


class Bibliography:
    """The entries of the book's BibTeX files, formatted for Markdown."""

    def __init__(self, *paths: Path):
        self.paths = [Path(p) for p in paths] or [ROOT / "references.bib"]

    @cached_property
    def _entries(self) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        for path in self.paths:
            entries.update(parse_file(str(path)).entries)
        return entries

    def entry(self, key: str) -> Entry:
        try:
            return self._entries[key]
        except KeyError:
            names = ", ".join(str(p) for p in self.paths)
            raise UnknownCitationError(f"citation key {key!r} is not in {names}") from None

    def authors(self, key: str) -> str:
        """'Huber', 'Kingma and Ba' or 'Goodfellow et al.': the last names, as the site's
        author-year citations write them."""
        return author_names(self.entry(key))

    def year(self, key: str) -> str:
        return self.entry(key).fields.get("year", "n.d.")

    def parenthetical(self, keys: list[str]) -> str:
        """``{cite:p}``: "(Huber, 1964; Girshick, 2015)"."""
        return "(" + "; ".join(f"{self.authors(k)}, {self.year(k)}" for k in keys) + ")"

    def textual(self, keys: list[str]) -> str:
        """``{cite:t}``: "Müller et al. (2019)", several joined by commas."""
        return ", ".join(f"{self.authors(k)} ({self.year(k)})" for k in keys)

    def reference_list(self, keys: list[str]) -> str:
        """A Markdown list of the entries for ``keys``, sorted by author and year."""
        style = find_plugin("pybtex.style.formatting", "plain")()
        entries = sorted(
            (self.entry(k) for k in dict.fromkeys(keys)),
            key=lambda e: (self.authors(e.key).lower(), e.fields.get("year", "")),
        )
        formatted = style.format_entries(entries)
        # pybtex separates an entry's blocks with newlines; one line per list item reads better.
        return "\n".join(
            "- " + " ".join(e.text.render_as("markdown").split("\n")) for e in formatted
        )
