"""The coursework's pieces that run no kernel: markup, static checks, leak check, assignments."""

from __future__ import annotations

import json
import textwrap

import jupytext
import nbformat
import pytest

from coursework import assignment as assignments
from coursework import markup, static
from coursework.leaks import Secret, Secrets, readable_text, scan, secrets_of, words


def _nb(text: str) -> nbformat.NotebookNode:
    return jupytext.reads(textwrap.dedent(text), fmt="md:myst")


EXERCISE = """
```{code-cell} ipython3
import numpy as np
```

```{exercise}
:label: ex-double

Write `double(x)`.
```

```{solution-start} ex-double
:class: dropdown
```

```{code-cell} ipython3
---
tags: [solution, hide-cell]
grade_id: t-double
forbid: [lossutils]
---
def double(x):
    # BEGIN SOLUTION
    return np.multiply(x, 2.0)
    # END SOLUTION
```

Multiplying by two element by element is all it takes here.

```{solution-end}
```

```{code-cell} ipython3
---
tags: [test, remove-cell]
grade_id: t-double
points: 2
visibility: public
---
assert np.allclose(double(np.ones(3)), 2.0), "double(ones) must be twos"
```

```{code-cell} ipython3
---
tags: [test, remove-cell]
grade_id: t-double
points: 3
---
secret_input = np.arange(5.0)
assert np.allclose(double(secret_input), secret_input + secret_input), "double(arange) is wrong"
```

```{exercise}
:label: ex-why

Why?
```

```{solution} ex-why
:class: dropdown

Because the hidden reason is written right here in the dropdown.
```
"""


def test_an_exercise_is_read_with_its_tests_points_and_forbidden_modules():
    exercises = markup.read_exercises(_nb(EXERCISE))
    (exercise,) = exercises.values()
    assert exercise.grade_id == "t-double" and exercise.functions == ("double",)
    assert exercise.forbid == ("lossutils",) and exercise.points == 5
    assert [(t.label, t.points, t.visibility) for t in exercise.tests] == [
        ("t-double", 2, "public"),
        ("t-double #2", 3, "hidden"),
    ]
    assert exercise.stub.splitlines() == [
        "def double(x):",
        '    raise NotImplementedError("t-double: replace this line with your answer")',
    ]
    assert markup.solution_lines(exercise.solution) == ["    return np.multiply(x, 2.0)"]


def test_solution_prose_is_found_in_both_forms():
    prose = markup.solution_prose(_nb(EXERCISE))
    assert "Multiplying by two element by element is all it takes here." in prose
    assert "Because the hidden reason is written right here in the dropdown." in prose
    assert not any("Write `double(x)`" in line or "Why?" in line for line in prose)


@pytest.mark.parametrize(
    "change, problem",
    [
        (("grade_id: t-double\nforbid", "forbid"), "needs a grade_id"),
        ((', "double(ones) must be twos"', ""), "assert without a message"),
        (("visibility: public", "visibility: everyone"), "must be public or hidden"),
        (("points: 3", "points: 0"), "positive integer points"),
        (
            ("    # END SOLUTION\n", "    # END SOLUTION\nprint(double(1))\n"),
            "move the demo to its own cell",
        ),
        (("    # END SOLUTION\n", ""), "without an # END SOLUTION"),
        (
            (
                "tags: [test, remove-cell]\ngrade_id: t-double\npoints: 2",
                "tags: [test]\ngrade_id: t-double\npoints: 2",
            ),
            "also be tagged remove-cell",
        ),
    ],
)
def test_broken_markup_is_named(change, problem):
    old, new = change
    assert old in EXERCISE
    with pytest.raises(markup.MarkupError, match=problem):
        markup.read_exercises(_nb(EXERCISE.replace(old, new, 1)))


def test_a_test_without_its_solution_cell_is_an_error():
    text = EXERCISE.replace("grade_id: t-double\npoints: 3", "grade_id: t-other\npoints: 3")
    with pytest.raises(markup.MarkupError, match="tests of 't-other' but no solution cell"):
        markup.read_exercises(_nb(text))


# -- static checks --------------------------------------------------------------------------------


def test_a_syntax_error_is_reported_at_the_students_own_line():
    analysis = static.analyse("def f(x):\n    y = (x +\n    return y\n")
    assert analysis.syntax_error is not None and analysis.syntax_error.line == 2
    assert "never closed" in analysis.syntax_error.message


@pytest.mark.parametrize(
    "source",
    [
        "import lossutils",
        "import lossutils.regression as r",
        "from lossutils import huber",
        "from torch.nn import functional as F",
        "m = __import__('torch')",
        "import importlib\nm = importlib.import_module('lossutils')",
        "def f(x):\n    return lu.huber(x, 0 * x)",  # lu: the notebook's own import
    ],
)
def test_forbidden_modules_are_found_however_they_are_reached(source):
    analysis = static.analyse(
        source, forbid=("lossutils", "torch"), aliases={"lu": "lossutils", "np": "numpy"}
    )
    assert analysis.forbidden, source


def test_allowed_modules_and_shadowed_names_are_not_forbidden():
    # The notebook imported SymPy symbols z and y from lossutils.derivations; the answer's own
    # parameters z and y are not those.
    aliases = {
        "np": "numpy",
        "z": "lossutils.derivations.z",
        "y": "lossutils.derivations.y",
        "lu": "lossutils",
    }
    source = "def f(z, y):\n    lu = np.ones(3)\n    return z * y + lu"
    assert static.analyse(source, forbid=("lossutils",), aliases=aliases).forbidden == ()
    assert static.analyse(
        "def f(x):\n    return z * x", forbid=("lossutils",), aliases=aliases
    ).forbidden


@pytest.mark.parametrize(
    "source, reason",
    [
        ("np.isclose = lambda *a, **k: True", "changes a library"),
        ("setattr(np, 'allclose', None)", "changes a library"),
        ("import builtins\nbuiltins.abs = None", "builtins"),
        ("import os\nos._exit(0)", "ends the process"),
        ("import sys\nsys.modules['lossutils'].mse = None", "loaded modules"),
        ("f.__code__ = g.__code__", "internals"),
        ("try:\n    pass\nexcept KeyboardInterrupt:\n    pass", "interrupt"),
        ("get_ipython().run_cell('1')", "controls the kernel"),
    ],
)
def test_tampering_is_flagged(source, reason):
    flags = static.analyse(source, aliases={"np": "numpy"}).flags
    assert any(reason in f.message for f in flags), flags


def test_ordinary_answers_are_not_flagged():
    source = "import numpy as np\n\ndef f(z, axis=-1):\n    m = z.max(axis=axis)\n    return np.log(np.exp(z - m))\n"
    assert static.analyse(source).flags == ()


def test_magics_become_python_before_parsing():
    analysis = static.analyse("%time x = 1\ndef f():\n    return 2")
    assert analysis.syntax_error is None and "run_line_magic" in analysis.code


def test_bound_names_are_what_a_cell_defines_at_top_level():
    source = "import numpy as np\nx, y = 1, 2\nfor i in range(2):\n    z = i\ndef f():\n    hidden = 1\nclass C: pass"
    assert static.bound_names(source) == ["C", "f", "i", "np", "x", "y", "z"]


# -- leak check -------------------------------------------------------------------------------------


def test_words_match_a_line_through_html_and_json(tmp_path):
    secret = Secrets([Secret("solution", "here", "    return np.multiply(x, 2.0)")])
    page = tmp_path / "page.html"
    page.write_text(
        '<pre><span class="k">return</span> <span class="n">np</span><span class="o">.</span>'
        '<span class="n">multiply</span>(x, 2.0)</pre>'
    )
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(
        '{"cells": [{"source": ["def f(x):\\n", "    return np.multiply(x, 2.0)\\n"]}]}'
    )
    assert [p.name for p, _ in scan([page, notebook], secret)] == ["nb.ipynb", "page.html"]
    assert not secret.found_in("return np.multiply(x, 3.0)")
    assert words("It’s “quoted” — here") == " it s quoted here "


def test_secrets_that_students_see_anyway_are_not_secrets():
    nb = _nb(EXERCISE)
    secrets = Secrets(secrets_of(nb, "t"), ["secret_input = np.arange(5.0)", "import numpy as np"])
    keys = {s.line.strip() for s in secrets.secrets}
    assert "secret_input = np.arange(5.0)" not in keys  # also public: not a leak
    assert "return np.multiply(x, 2.0)" in keys
    assert "Because the hidden reason is written right here in the dropdown." in keys
    assert (
        'assert np.allclose(double(np.ones(3)), 2.0), "double(ones) must be twos"' not in keys
    )  # public test


def test_scan_reads_built_files_as_a_reader_would(tmp_path):
    secrets = Secrets(
        [Secret("solution prose", "t", "Because the hidden reason is written right here.")]
    )
    (tmp_path / "page.html").write_text(
        "<p>Because the <em>hidden</em> reason is written right&nbsp;here.</p>"
    )
    (tmp_path / "clean.html").write_text("<p>Nothing to see.</p>")
    (tmp_path / "image.png").write_bytes(
        b"\x89PNG Because the hidden reason is written right here."
    )
    found = scan(tmp_path.iterdir(), secrets)
    assert [p.name for p, _ in found] == ["page.html"]
    assert "hidden reason" in readable_text(tmp_path / "page.html")


# -- assignment files -------------------------------------------------------------------------------


def test_the_sample_assignment_loads():
    sample = assignments.load(assignments.Path(__file__).parents[1] / "coursework" / "sample.yml")
    assert len(sample.exercises) >= 5
    assert any(t.public for e in sample.exercises for t in e.tests)
    assert all({"lossutils", "torch"} <= set(sample.forbidden(e)) for e in sample.exercises)
    assert sample.limits.cell_timeout > 0 and sample.fixtures.is_dir()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("name: x\n", "'notebooks' must list"),
        ("notebooks: [nb.md]\n", "'name' must be"),
        ("name: x\nnotebooks: [missing.md]\n", "does not exist"),
        ("name: x\nnotebooks: [{source: nb.md, grade: [t-nope]}]\n", "has no exercise"),
        ("name: x\nnotebooks: [nb.md]\nlimits: {cell_timeout: -1}\n", "positive number"),
        ("name: x\nnotebooks: [nb.md]\nlimits: {timeout: 3}\n", "unknown setting"),
    ],
)
def test_a_broken_assignment_file_is_named(tmp_path, text, problem):
    (tmp_path / "nb.md").write_text(jupytext.writes(_nb(EXERCISE), fmt="md:myst"))
    (tmp_path / "a.yml").write_text(text)
    with pytest.raises(assignments.AssignmentError, match=problem):
        assignments.load(tmp_path / "a.yml")


# -- reading submissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, found",
    [
        (
            {
                "cells": [
                    1,
                    {"cell_type": "code", "source": "def double(x): pass", "metadata": "broken"},
                ]
            },
            "function",
        ),
        (
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": ["x = 1\n", "def double(x):\n", "    pass"],
                        "metadata": {"coursework": "t-double"},
                    }
                ]
            },
            "function",
        ),
        (
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": "print(1)",
                        "metadata": {"coursework": {"answer": "t-double"}},
                    }
                ]
            },
            "metadata",
        ),
        (
            {
                "nbformat": 3,
                "worksheets": [{"cells": [{"cell_type": "code", "input": "def double(x): pass"}]}],
            },
            "function",
        ),
        ({"cells": [{"cell_type": "code", "source": 5}]}, None),
    ],
)
def test_any_json_with_cells_is_read_and_odd_cells_never_crash(tmp_path, content, found):
    from coursework.grade import read_notebook
    from coursework.plan import find_answers

    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(content))
    nb, problem = read_notebook(path)
    assert problem is None
    (answer,) = find_answers(nb, list(markup.read_exercises(_nb(EXERCISE)).values())).values()
    assert (answer.found_by if answer else None) == found


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"[1, 2]", "not an object"),
        (b'{"metadata": {}}', "no cells"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_submissions_say_why(tmp_path, data, problem):
    from coursework.grade import read_notebook

    (tmp_path / "nb.ipynb").write_bytes(data)
    assert problem in read_notebook(tmp_path / "nb.ipynb")[1]
