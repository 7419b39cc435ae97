"""editions: MyST to plain Markdown, construct by construct, and the reader notebook of a tiny chapter.

Fast: made-up labels and glued values, the real references.bib, no book build. The reader
notebooks of the real chapters are tested in tests/test_notebooks.py.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from editions.bibliography import Bibliography, UnknownCitationError
from editions.myst import Conversion, MystSyntaxError, convert_inline, convert_markdown
from editions.reader import reader_notebook
from editions.site import Site, published_url
from editions.targets import Target, Targets, UnknownTargetError

SITE = "https://owner.github.io/course/"
TARGETS = Targets(
    labels={
        "regression-losses": Target(
            SITE + "chapters/regression-losses.html#regression-losses",
            "Regression: MSE, MAE, Huber",
            "",
        ),
        "fig-curve": Target(SITE + "chapters/a.html#fig-curve", "A caption", "Fig. 2.3"),
        "ex-first": Target(SITE + "chapters/a.html#ex-first", "Exercise", "Exercise 2.1"),
        "ex-second": Target(SITE + "chapters/a.html#ex-second", "Exercise", "Exercise 2.2"),
        "eq-bce": Target(SITE + "chapters/a.html#equation-eq-bce", "", "(2.4)"),
        "eq-split": Target(SITE + "chapters/a.html#equation-eq-split", "", "(2.5)"),
    },
    pages={
        "chapters/a": Target(SITE + "chapters/a.html", "A chapter", "2"),
        "intro": Target(SITE + "intro.html", "Loss Functions in Deep Learning", ""),
    },
    site_url=SITE,
    terms={"Logit": Target(SITE + "glossary.html#term-Logit", "Logit")},
)
GLUED = {
    "x": {"text/plain": "0.123456"},
    "n": {"text/plain": "12"},
    "word": {"text/plain": "'mean'"},
}


def conversion(**kwargs) -> Conversion:
    return Conversion(
        glued=GLUED, targets=TARGETS, bibliography=Bibliography(), docname="chapters/a", **kwargs
    )


def md(text: str, **kwargs) -> str:
    return convert_markdown(textwrap.dedent(text).strip("\n"), conversion(**kwargs))


# -- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [
        ("{glue:text}`x:.3f`", "0.123"),
        ("{glue:text}`x:.1%`", "12.3%"),
        ("{glue:text}`n`", "12"),
        ("{glue}`word`", "mean"),
        ("{glue:text}`n:.2f`", "12.00"),
    ],
)
def test_glued_values_are_formatted_as_on_the_page(role, expected):
    assert convert_inline(f"is {role}.", conversion()) == f"is {expected}."


def test_a_glue_name_never_glued_is_an_error_naming_it():
    with pytest.raises(
        MystSyntaxError, match=r"chapters/a, line \d+: .*nothing is glued under 'nope'"
    ):
        convert_inline("{glue:text}`nope:.2f`", conversion())


def test_citations_are_author_year_and_collected_for_the_reference_list():
    conv = conversion()
    text = convert_inline(
        "robust {cite:p}`huber1964robust,girshick2015fast`; {cite:t}`muller2019labelsmoothing` show",
        conv,
    )
    assert text == "robust (Huber, 1964; Girshick, 2015); Müller et al. (2019) show"
    assert conv.cited == ["huber1964robust", "girshick2015fast", "muller2019labelsmoothing"]
    listed = Bibliography().reference_list(conv.cited)
    assert listed.splitlines()[0].startswith("- Ross Girshick") and "\n- Peter J\\. Huber" in listed
    assert "Müller" in listed and "{" not in listed and len(listed.splitlines()) == 3


def test_an_unknown_citation_names_the_key_and_the_file():
    with pytest.raises(UnknownCitationError, match=r"'nobody2020' is not in .*references\.bib"):
        convert_inline("{cite:p}`nobody2020`", conversion())


def test_cross_references_link_to_the_published_page():
    conv = conversion()
    assert convert_inline("see {ref}`regression-losses`", conv) == (
        f"see [Regression: MSE, MAE, Huber]({SITE}chapters/regression-losses.html#regression-losses)"
    )
    assert (
        convert_inline("{ref}`the last one <ex-second>`", conv)
        == f"[the last one]({SITE}chapters/a.html#ex-second)"
    )
    assert (
        convert_inline("{numref}`fig-curve`", conv)
        == f"[Fig. 2.3]({SITE}chapters/a.html#fig-curve)"
    )
    assert (
        convert_inline("{numref}`Figure %s <fig-curve>`", conv)
        == f"[Figure 2.3]({SITE}chapters/a.html#fig-curve)"
    )
    assert convert_inline("{eq}`eq-bce`", conv) == f"[(2.4)]({SITE}chapters/a.html#equation-eq-bce)"
    assert (
        convert_inline("{doc}`../intro`", conv)
        == f"[Loss Functions in Deep Learning]({SITE}intro.html)"
    )
    with pytest.raises(UnknownTargetError, match="'fig-none'"):
        convert_inline("{numref}`fig-none`", conv)


def test_glossary_terms_link_to_their_entry_whatever_their_case():
    conv = conversion()
    url = f"{SITE}glossary.html#term-Logit"
    assert convert_inline("the {term}`logit`", conv) == f"the [logit]({url})"
    assert convert_inline("two {term}`logits <Logit>`", conv) == f"two [logits]({url})"
    with pytest.raises(UnknownTargetError, match="no term 'softplus'"):
        convert_inline("{term}`softplus`", conv)


def test_code_spans_are_left_alone_and_unknown_roles_are_errors():
    assert (
        convert_inline("write `{glue:text}` and {math}`x^2`", conversion())
        == "write `{glue:text}` and $x^2$"
    )
    with pytest.raises(MystSyntaxError, match=r"line 3: the role \{abbr\}"):
        convert_markdown("a\n\n{abbr}`LR (logistic regression)`", conversion(line=1))


# -- directives ----------------------------------------------------------------------------------


def test_exercises_become_numbered_headings_and_solutions_fold():
    text = md("""
        ````{exercise}
        :label: ex-first

        Show that {glue:text}`x:.2f` is small.
        ````

        ```{solution} ex-first
        :class: dropdown

        It is $0.12 < 1$.
        ```
        """)
    assert text == (
        "### Exercise 2.1\n\nShow that 0.12 is small.\n\n<details>\n<summary><strong>Solution to "
        "Exercise 2.1</strong></summary>\n\nIt is $0.12 < 1$.\n\n</details>"
    )


@pytest.mark.parametrize(
    "mode, present, absent",
    [
        ("fold", ["<details>", "Solution to Exercise 2.1"], []),
        ("show", ["**Solution to Exercise 2.1.**", "It is"], ["<details>"]),
        ("remove", ["### Exercise 2.1"], ["It is", "Solution"]),
    ],
)
def test_solutions_can_be_folded_shown_or_removed(mode, present, absent):
    text = md(
        """
        ```{exercise}
        :label: ex-first

        Question.
        ```

        ```{solution} ex-first
        :class: dropdown

        It is.
        ```
        """,
        solutions=mode,
    )
    assert all(p in text for p in present) and not any(a in text for a in absent), text


def test_admonitions_become_block_quotes_or_details():
    assert (
        md("""
        ```{note}
        Read $x$ first.
        ```
        """)
        == "> **Note**\n>\n> Read $x$ first."
    )
    assert (
        md("""
        :::{admonition} Why logits?
        :class: dropdown
        Because.
        :::
        """)
        == "<details>\n<summary><strong>Why logits?</strong></summary>\n\nBecause.\n\n</details>"
    )


def test_unsupported_directives_are_errors_naming_the_line():
    with pytest.raises(MystSyntaxError, match=r"chapters/a, line 13: the directive \{figure\}"):
        convert_markdown("Text.\n\n```{figure} plot.png\nA caption.\n```", conversion(line=11))


def test_labels_comments_and_plain_code_blocks():
    assert (
        md("""
        (sec-intro)=
        ## Intro
        % a note to authors
        ```python
        {glue:text}`x` stays: it is code
        ```
        """)
        == "## Intro\n\n```python\n{glue:text}`x` stays: it is code\n```"
    )


# -- equations -----------------------------------------------------------------------------------


def test_labelled_equations_carry_the_sites_number_as_a_tag():
    assert (
        md("""
        $$
        \\ell = -\\log p
        $$ (eq-bce)
        """)
        == "$$\n\\ell = -\\log p \\tag{2.4}\n$$"
    )
    assert md("$$ a = b $$ (eq-bce)") == "$$\na = b \\tag{2.4}\n$$"
    assert (
        md("""
        ```{math}
        :label: eq-split
        a &= b \\\\
        c &= d
        ```
        """)
        == "$$\n\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned} \\tag{2.5}\n$$"
    )


def test_amsmath_environments_become_aligned_inside_display_math():
    assert (
        md("""
        \\begin{align}
        a &= b \\label{eq-split} \\\\
        c &= d \\nonumber
        \\end{align}
        """)
        == "$$\n\\begin{aligned}\na &= b  \\\\\nc &= d \n\\end{aligned} \\tag{2.5}\n$$"
    )
    assert md("\\begin{equation*}\nx = 1\n\\end{equation*}") == "$$\nx = 1\n$$"
    with pytest.raises(MystSyntaxError, match="not closed"):
        md("$$\nx = 1")


# -- the site and the reader notebook ------------------------------------------------------------


def test_the_site_url_is_github_pages_or_the_base_url():
    assert (
        published_url("https://github.com/Loss-Course/book")
        == "https://loss-course.github.io/book/"
    )
    assert (
        published_url("https://github.com/o/r", "https://course.example.org")
        == "https://course.example.org/"
    )
    with pytest.raises(ValueError, match=r"html\.baseurl"):
        published_url("https://gitlab.com/o/r")
    site = Site.from_config()
    assert site.url == published_url(site.repository) and site.title


CHAPTER = """\
---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

(a)=
# A chapter

We'll need the following imports.

```{code-cell} ipython3
import math
```

```{code-cell} ipython3
value = math.sqrt(2)
print(round(value, 3))
```

```{code-cell} ipython3
:tags: [check, remove-cell]

from lossutils.book import glue
assert 1.41 < value < 1.42
glue("x", value, display=False)
```

The root is {glue:text}`x:.2f`, as {cite:p}`huber1964robust` would not say.

```{code-cell} ipython3
---
tags: [hide-input]
mystnb:
  figure: {caption: "A curve, see {ref}`regression-losses`.", name: fig-curve}
---
print("figure")
```

```{exercise}
:label: ex-first

Square it.
```

```{solution-start} ex-first
:class: dropdown
```

```{code-cell} ipython3
:tags: [solution, hide-cell]

def square(v):
    # BEGIN SOLUTION
    return v * v
    # END SOLUTION
```

It is {glue:text}`n`.

```{solution-end}
```

```{code-cell} ipython3
---
tags: [test, remove-cell]
grade_id: a-square
points: 1
---
assert square(3) == 9
```
"""


@pytest.fixture
def chapter(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(CHAPTER)
    return path


def _reader(chapter, **kwargs):
    site = Site("The Book", "https://github.com/owner/course", SITE)
    return reader_notebook(
        chapter,
        {**GLUED, "x": {"text/plain": "1.4142135623730951"}},
        site=site,
        targets=TARGETS,
        bibliography=Bibliography(),
        docname="chapters/a",
        **kwargs,
    )


def test_reader_notebook_of_a_tiny_chapter(chapter):
    nb = _reader(chapter)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "chapter 2 of [The Book](https://owner.github.io/course/)" in nb.cells[0].source
    assert "git+https://github.com/owner/course" in code[0]
    assert code[1:] == [
        "import math",
        "value = math.sqrt(2)\nprint(round(value, 3))",
        'print("figure")',
        "def square(v):\n    # BEGIN SOLUTION\n    return v * v\n    # END SOLUTION",
        "assert square(3) == 9",
    ], "the check cell is gone, the rest kept in order"
    assert "The root is 1.41, as (Huber, 1964) would not say." in text
    assert f"**Fig. 2.3.** A curve, see [Regression: MSE, MAE, Huber]({SITE}" in text
    assert "### Exercise 2.1\n\nSquare it.\n\n**Solution to Exercise 2.1.**" in text
    assert (
        "<summary><strong>About the solution to Exercise 2.1</strong></summary>\n\nIt is 12."
        in text
    )
    assert "## References\n\n- Peter J\\. Huber\\. Robust estimation" in text
    folded = [c.source[:10] for c in nb.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert folded == ['print("fig', "def square"]
    assert kinds.count("markdown") <= 6, "neighbouring Markdown cells are merged"
    assert [c.id for c in nb.cells] == [c.id for c in _reader(chapter).cells], (
        "the same ids every time"
    )


def test_reader_notebook_opens_with_the_chapter_box_under_its_title(chapter):
    box = "> **In this chapter you will**\n>\n> - square a number"
    nb = _reader(chapter, opening=box)
    first = next(c.source for c in nb.cells[1:] if c.cell_type == "markdown")
    assert first.startswith(f"# A chapter\n\n{box}\n\nWe'll need the following imports.")
    text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert text.count("In this chapter you will") == 1


def test_reader_notebook_keeps_the_builds_outputs_numbered_as_one_run(chapter):
    import jupytext

    executed = jupytext.read(chapter)
    for i, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.execution_count = i + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {i}\n")]
    nb = _reader(chapter, executed=executed)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [None, 1, 2, 3, 4, 5]  # the check cell (3) is gone
    assert [c.outputs[0]["text"] for c in code[1:]] == [
        "out 0\n",
        "out 1\n",
        "out 3\n",
        "out 4\n",
        "out 5\n",
    ]
    executed.cells[1].source = "import os"
    with pytest.raises(ValueError, match="not an execution of"):
        _reader(chapter, executed=executed)


def test_coursework_can_drop_tests_and_remove_or_stub_solutions(chapter):
    nb = _reader(
        chapter,
        solutions="remove",
        drop_tags=("check", "test"),
        stub=lambda src: src.split("# BEGIN SOLUTION")[0].rstrip() + "\n    ...",
    )
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert code[-1] == "def square(v):\n    ..." and not any("assert" in c for c in code)
    assert "Solution" not in text and "It is 12" not in text and "### Exercise 2.1" in text


def test_an_explorer_reaches_the_reader_notebook_interactive_with_its_caption(chapter):
    """An explorer cell (lossutils.explore) is a figure cell like any other: its code folded,
    its caption after it, and the build's output kept: Plotly's JSON (JupyterLab draws the
    sliders from it) and the HTML with the static figure (viewers without Plotly)."""
    import jupytext

    from lossutils.explore import PLOTLY_MIME, Explorer, Panel, Parameter, line

    explorer = Explorer(
        lambda k: [line([0, 1], [0, k], name="line")],
        name="demo",
        title="A slope",
        parameters=[Parameter("slope k", [1.0, 2.0], start=1.0)],
        panels=[Panel("Line", "x", "y")],
        show=[1.0, 2.0],
        alt="Two lines through the origin, of slope 1 and 2.",
    )
    executed = jupytext.read(chapter)
    figure_cell = next(c for c in executed.cells if "figure" in c.metadata.get("mystnb", {}))
    figure_cell.outputs = [
        nbformat.v4.new_output("display_data", data=explorer._repr_mimebundle_())
    ]
    nb = _reader(chapter, executed=executed)
    index = next(i for i, c in enumerate(nb.cells) if c.source == 'print("figure")')
    cell, caption = nb.cells[index], nb.cells[index + 1]
    assert cell.metadata["jupyter"]["source_hidden"]
    (output,) = cell.outputs
    assert set(output["data"]) == {PLOTLY_MIME, "text/html", "text/plain"}
    assert output["data"][PLOTLY_MIME]["layout"]["sliders"][0]["steps"][1]["label"] == "2"
    assert 'alt="Two lines through the origin' in output["data"]["text/html"]
    assert caption.source.startswith("**Fig. 2.3.** A curve")


def test_merge_streams_joins_a_split_print_exactly():
    """A print the kernel sent in pieces reads the same as one sent whole."""
    from editions.streams import merge_streams

    def stream(name, text):
        return {"output_type": "stream", "name": name, "text": text}

    figure = {"output_type": "display_data", "data": {"text/plain": "<Figure>"}}
    whole = [stream("stdout", "y = 1, z = -8:  BCE -0.99966\n"), figure]
    split = [stream("stdout", "y = 1, z = -8: "), stream("stdout", " BCE -0.99966\n"), figure]
    assert merge_streams(split) == merge_streams(whole) == whole
    # A progress line rewritten with \r shows its last state; stdout comes before stderr.
    messy = [stream("stderr", "warn\n"), stream("stdout", "10%\r50%\r100%\n")]
    assert merge_streams(messy) == [stream("stdout", "100%\n"), stream("stderr", "warn\n")]
    assert messy[1]["text"] == "10%\r50%\r100%\n"  # the input is left alone
