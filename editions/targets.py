"""Where a cross-reference points on the published site, and the number the site gives it.

A chapter refers to a section, a figure, an exercise or an equation by its label
(``{ref}`maximum-likelihood```, ``{numref}`fig-bce-logit```). In a notebook the reference
becomes a link to the published page, with the text the site shows: a section's title, or the
number Sphinx gave a figure ("Fig. 7.1"), an exercise ("Exercise 1.2") or an equation ("(3.1)").
Only the book build knows those numbers, so :class:`Targets` reads them from Sphinx's build
environment: the live one inside the build (:meth:`Targets.from_sphinx_env`), or the one the
build pickled into its doctrees folder (:meth:`Targets.from_doctrees`).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: How Sphinx writes each kind of number when ``numfig_format`` does not say (its defaults, plus
#: sphinx-exercise's).
NUMBER_FORMATS = {
    "figure": "Fig. %s",
    "table": "Table %s",
    "code-block": "Listing %s",
    "section": "Section %s",
    "exercise": "Exercise %s",
    "displaymath": "(%s)",
}


@dataclass(frozen=True)
class Target:
    """One label of the book: the published URL it points at, its title and its number."""

    url: str
    title: str = ""
    number: str = ""  # "Fig. 7.1", "Exercise 1.2", "(3.1)"; "" when Sphinx does not number it


class UnknownTargetError(KeyError):
    """A label that no page of the book defines."""

    def __str__(self) -> str:
        return self.args[0]


class Targets(Mapping[str, Target]):
    """Every label of the book (``label -> Target``), every page's title and chapter number,
    and every glossary term."""

    def __init__(
        self,
        labels: dict[str, Target],
        pages: dict[str, Target],
        site_url: str,
        terms: dict[str, Target] | None = None,
    ):
        self._labels, self.pages, self.site_url = labels, pages, site_url
        self.terms = {name.lower(): target for name, target in (terms or {}).items()}

    def __getitem__(self, label: str) -> Target:
        try:
            return self._labels[label]
        except KeyError:
            raise UnknownTargetError(f"no page of the book defines the label {label!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def page(self, docname: str) -> Target:
        """A page (``chapters/what-is-a-loss``): its URL, title and chapter number ("1")."""
        try:
            return self.pages[docname]
        except KeyError:
            raise UnknownTargetError(f"the book has no page {docname!r}") from None

    def term(self, name: str) -> Target:
        """A glossary term (``{term}`logit```), found whatever its case, as Sphinx finds it."""
        try:
            return self.terms[name.lower()]
        except KeyError:
            raise UnknownTargetError(f"the glossary defines no term {name!r}") from None

    @classmethod
    def from_sphinx_env(cls, env, site_url: str) -> Targets:
        """Read the labels, titles and numbers of a finished Sphinx build environment."""
        formats = {**NUMBER_FORMATS, **(getattr(env.config, "numfig_format", None) or {})}
        numbers: dict[tuple[str, str], str] = {}  # (docname, element id) -> "Fig. 7.1"
        for docname, kinds in env.toc_fignumbers.items():
            for kind, ids in kinds.items():
                for element_id, number in ids.items():
                    numbers[docname, element_id] = formats.get(kind, "%s") % ".".join(
                        map(str, number)
                    )

        def url(docname: str, anchor: str = "") -> str:
            return f"{site_url}{docname}.html" + (f"#{anchor}" if anchor else "")

        labels = {}
        std = env.domaindata["std"]
        for label, (docname, anchor) in std["anonlabels"].items():
            if docname in env.all_docs:
                labels[label] = Target(
                    url(docname, anchor), number=numbers.get((docname, anchor), "")
                )
        for label, (docname, anchor, title) in std["labels"].items():
            if docname in env.all_docs:
                labels[label] = Target(
                    url(docname, anchor), title, numbers.get((docname, anchor), "")
                )
        # Equations: the math domain keeps them (``{eq}`label```, ``$$ ... $$ (label)``).
        for label, (docname, eqno) in env.domaindata.get("math", {}).get("objects", {}).items():
            anchor = f"equation-{label}"
            labels[label] = Target(
                url(docname, anchor), number=numbers.get((docname, anchor), f"({eqno})")
            )
        terms = {
            name: Target(url(docname, anchor), name)
            for (kind, name), (docname, anchor) in std.get("objects", {}).items()
            if kind == "term" and docname in env.all_docs
        }
        pages = {}
        for docname in env.all_docs:
            section = env.toc_secnumbers.get(docname, {}).get("")
            title = env.titles[docname].astext() if docname in env.titles else docname
            pages[docname] = Target(
                url(docname), title, ".".join(map(str, section)) if section else ""
            )
        return cls(labels, pages, site_url, terms)

    @classmethod
    def from_doctrees(cls, doctrees: Path, site_url: str) -> Targets:
        """Read them from ``environment.pickle`` in a build's doctrees folder
        (``_build/.doctrees``), for tools that run after the book build."""
        path = Path(doctrees) / "environment.pickle"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: build the book first (`make book`)")
        with path.open("rb") as f:
            env = pickle.load(f)
        return cls.from_sphinx_env(env, site_url)
