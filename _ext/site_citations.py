"""Citations in one author-year style, and a bibliography that links back to where each work is
cited.

sphinxcontrib-bibtex cited "[Huber, 1964]" in the text but labelled the entry "[Hub64]" (pybtex's
``alpha`` labels) in the bibliography, and its backlinks work only within one page. Here:

* the bibliography's labels are author-year, "Huber, 1964" (:class:`AuthorYearLabelStyle`,
  through the formatting style ``authoryear``: pybtex's ``plain`` with these labels), with the
  names the reader notebooks use (:func:`editions.bibliography.author_names`);
* the text cites in round brackets, "(Huber, 1964)" and "Huber (1964)", as the reader notebooks
  do (the referencing style ``author_year_round``);
* under each entry of the bibliography page, "Cited in" links to every place that cites it
  (:class:`LinkBackToCitations`).

``_config.yml`` selects the two styles (``bibtex_default_style``, ``bibtex_reference_style``);
registering them as pybtex plugins happens when this module is imported.
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass, field

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

from editions.bibliography import author_names


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels such as "Huber, 1964", "Kingma and Ba, 2015", "Goodfellow et al., 2016"; "a",
    "b", ... after the year when two entries would get the same label."""

    def format_labels(self, sorted_entries):
        labels = [f"{author_names(e)}, {e.fields.get('year', 'n.d.')}" for e in sorted_entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                yield label + string.ascii_lowercase[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` entries (sorted by author, year, title), labelled author-year."""

    default_label_style = "authoryear"


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author-year citations in round brackets."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
register_bibtex_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle
)


class LinkBackToCitations(SphinxPostTransform):
    """Under each bibliography entry: "Cited in: Chapter 3 (1, 2); Chapter 6 (1)", each
    number a link to one citation, the chapter's name a link to its first (after
    sphinxcontrib-bibtex has made the entries, priority 5)."""

    default_priority = 6
    formats = ("html",)

    def run(self, **kwargs):
        domain = self.env.get_domain("cite")
        entries = [n for n in self.document.findall(nodes.citation) if n["ids"]]
        if not entries:
            return
        key_of = {c.citation_id: c.key for c in domain.citations}
        builder, here = self.app.builder, self.env.docname
        numbers = self.env.toc_secnumbers

        def order(doc):  # chapters in their order, then other pages by name
            return (numbers.get(doc, {}).get("") or (1_000,), doc)

        for entry in entries:
            key = key_of.get(entry["ids"][0])
            places: dict[str, list[str]] = {}
            for ref in domain.citation_refs:
                if key in {target.key for target in ref.targets}:
                    places.setdefault(ref.docname, []).append(ref.citation_ref_id)
            if not places:
                continue
            line = nodes.paragraph(classes=["cited-in"])
            line += nodes.Text("Cited in: ")
            for i, doc in enumerate(sorted(places, key=order)):
                if i:
                    line += nodes.Text("; ")
                uri = builder.get_relative_uri(here, doc)
                ids = places[doc]
                line += nodes.reference(
                    _page_name(self.env, doc),
                    _page_name(self.env, doc),
                    refuri=f"{uri}#{ids[0]}",
                    internal=True,
                )
                if len(ids) > 1:
                    line += nodes.Text(" (")
                    for n, ref_id in enumerate(ids, start=1):
                        if n > 1:
                            line += nodes.Text(", ")
                        line += nodes.reference(
                            str(n), str(n), refuri=f"{uri}#{ref_id}", internal=True
                        )
                    line += nodes.Text(")")
            entry += line


def _page_name(env, docname: str) -> str:
    section = env.toc_secnumbers.get(docname, {}).get("")
    if section:
        return "Chapter " + ".".join(map(str, section))
    return env.titles[docname].astext() if docname in env.titles else docname


def setup(app):
    app.add_post_transform(LinkBackToCitations)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
