"""lossutils.registry is the one list of public functions, and everything agrees with it: the
package's exports, each module's ``__all__``, signatures, type hints and docstrings, the chapters
they name, the API page, the tests and the benchmark. CONTRIBUTING.md's "Adding a loss"
checklist cites the tests below, and the last test keeps that checklist honest.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest
import torch.nn.functional as F

import lossutils as lu
from book import ROOT, chapter_paths
from helpers import INPUT_KINDS
from lossutils import registry
from lossutils.registry import ACTIVATIONS, ENTRIES, LOSSES, METRICS, MODULES, WEIGHTS

LOSS_IDS = [e.name for e in LOSSES]
ENTRY_IDS = [e.name for e in ENTRIES]


def public_functions(module_name: str) -> set[str]:
    """The public functions defined (not imported) in ``lossutils.<module_name>``."""
    module = importlib.import_module(f"lossutils.{module_name}")
    return {
        name
        for name, obj in vars(module).items()
        if inspect.isfunction(obj)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    }


# ------------------------------------------------------------------ exports


def test_package_exports_exactly_the_registry():
    assert lu.__all__ == [*registry.names(), "choose_loss", "diagnose"]
    assert len(set(lu.__all__)) == len(lu.__all__)
    for name in lu.__all__:
        assert callable(getattr(lu, name)), name


@pytest.mark.parametrize("module", list(MODULES))
def test_every_public_function_is_registered(module):
    """A module's ``__all__`` comes from the registry, and it defines no public function that
    the registry does not list (a loss someone forgot to register)."""
    mod = importlib.import_module(f"lossutils.{module}")
    assert mod.__all__ == registry.exports(module)
    assert public_functions(module) == set(registry.exports(module))


def test_registry_names_its_modules_and_has_no_duplicates():
    assert {e.module for e in ENTRIES} == set(MODULES)
    assert len(set(ENTRY_IDS)) == len(ENTRY_IDS)
    assert {e.inputs for e in ENTRIES} <= set(INPUT_KINDS)
    assert registry.find("grad_huber") is registry.find("huber")
    with pytest.raises(KeyError, match="'nope' is not a public function of lossutils"):
        registry.find("nope")


def test_no_loss_module_imports_another_modules_private_names():
    """Loss modules build on the private modules (_stable, _blocks, _validation) only."""
    for module in MODULES:
        tree = ast.parse((ROOT / "lossutils" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("_"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"lossutils/{module}.py imports {private} from {node.module}"


# ------------------------------------------------------------------ signatures


#: Losses whose positional arguments are not ``(first, target)``: PyTorch's own, where PyTorch
#: has the loss (a variance, a second score, a triplet), or a query and its key.
POSITIONAL = {
    "gaussian_nll_loss": ("input", "target", "var"),
    "margin_ranking_loss": ("input1", "input2", "target"),
    "triplet_margin_loss": ("anchor", "positive", "negative"),
    "info_nce": ("queries", "keys"),
}


@pytest.mark.parametrize("entry", LOSSES, ids=LOSS_IDS)
def test_loss_signatures_follow_pytorch(entry):
    """``loss(first, target, *, hyperparameters, reduction=)``; the gradient takes exactly the
    loss's parameters."""
    loss, grad = entry.function, entry.gradient
    params = list(inspect.signature(loss).parameters.values())
    assert inspect.signature(grad).parameters == inspect.signature(loss).parameters
    positional = [p.name for p in params if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == list(POSITIONAL.get(entry.name, (positional[0], "target")))
    if entry.name in POSITIONAL and hasattr(F, entry.name):  # PyTorch's names, in its order
        torch_names = list(inspect.signature(getattr(F, entry.name)).parameters)
        assert positional == torch_names[: len(positional)]
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in params[len(positional) :])
    assert params[-1].name == "reduction"
    assert params[-1].default == (
        "none" if entry.name == "sigmoid_focal_loss" else "mean"
    )  # torchvision's


@pytest.mark.parametrize("name", registry.names())
def test_every_public_function_has_type_hints(name):
    fn = getattr(lu, name)
    signature = inspect.signature(fn)
    missing = [
        p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty
    ]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type"


# ------------------------------------------------------------------ docstrings


def taught_in(entry) -> str:
    return f"Taught in: :ref:`{entry.chapter}`"


@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRY_IDS)
def test_docstrings(entry):
    """Every function: summary, Args, Returns, a doctest Example and the chapter that teaches
    it, in that order; losses also give References. Gradients: a formula and an Example."""
    doc = inspect.getdoc(entry.function)
    sections = (
        ["Args:", "Returns:"]
        + (["References:"] if entry in LOSSES else [])
        + [taught_in(entry), "Example:"]
    )
    positions = [doc.find(s) for s in sections]
    assert -1 not in positions, (
        f"{entry.name}: missing {[s for s, p in zip(sections, positions) if p < 0]}"
    )
    assert positions == sorted(positions), f"{entry.name}: sections out of order"
    assert doc.count("Taught in:") == 1 and ">>> " in doc
    if entry in LOSSES:
        grad_doc = inspect.getdoc(entry.gradient)
        assert f":func:`{entry.name}`" in grad_doc and "Example:" in grad_doc and ">>> " in grad_doc


def chapter_labels() -> dict[str, str]:
    """``label -> chapter file`` for the chapters in the table of contents."""
    labels = {}
    for path in chapter_paths():
        for label in re.findall(r"^\(([\w-]+)\)=$", path.read_text(), flags=re.M):
            labels[label] = path.name
    return labels


def test_every_chapter_named_exists():
    labels = chapter_labels()
    missing = {e.name: e.chapter for e in ENTRIES if e.chapter not in labels}
    assert not missing, f"no chapter in the table of contents has these labels: {missing}"


# ------------------------------------------------------------------ the API page, tests, benchmark


def test_api_page_has_a_section_per_module_in_the_registry_order():
    page = (ROOT / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: lossutils\.(\w+)$", page, flags=re.M)
    assert documented[0] == "registry"  # the table of every function comes first
    assert [m for m in documented if m in MODULES] == list(MODULES)
    for module, title in MODULES.items():
        assert f"## {title}\n\n```{{eval-rst}}\n.. automodule:: lossutils.{module}\n" in page


@pytest.mark.parametrize("module", ["registry", *MODULES])
def test_api_page_links_no_private_name(module):
    """The API page documents the public modules only: a role such as :func: pointing into a
    private module (lossutils._stable) is a broken link, which fails the book's build."""
    mod = importlib.import_module(f"lossutils.{module}")
    docs = [mod.__doc__ or ""] + [
        inspect.getdoc(getattr(mod, name)) or "" for name in getattr(mod, "__all__", [])
    ]
    private = [
        m
        for doc in docs
        for m in re.findall(r":(?:func|mod|class|data):`~?(?:lossutils\.)?_\w*[^`]*`", doc)
    ]
    assert not private, f"lossutils.{module} links private names: {private}"


def test_registry_table_lists_every_function():
    for entry in ENTRIES:
        assert f":func:`~lossutils.{entry.module}.{entry.name}`" in registry.__doc__
        assert f":ref:`{entry.chapter}`" in registry.__doc__


@pytest.mark.parametrize("entry", LOSSES, ids=LOSS_IDS)
def test_every_loss_is_tested_against_pytorch(entry):
    """Each loss and its gradient appear in the test module of their family."""
    source = (ROOT / "tests" / f"test_{entry.module}.py").read_text()
    assert f"lu.{entry.name}" in source and f"lu.grad_{entry.name}" in source
    assert "torch" in source


@pytest.mark.parametrize("entry", LOSSES, ids=LOSS_IDS)
def test_every_loss_is_benchmarked(entry):
    source = (ROOT / "benchmarks" / "bench_losses.py").read_text()
    assert f"lu.{entry.name}," in source, f"no case for {entry.name} in benchmarks/bench_losses.py"


def test_activations_metrics_and_weights_are_not_losses():
    assert not set(ACTIVATIONS + METRICS + WEIGHTS) & set(LOSSES)
    for entry in ACTIVATIONS + METRICS + WEIGHTS:
        assert not hasattr(lu, "grad_" + entry.name)


# ------------------------------------------------------------------ CONTRIBUTING.md


def adding_a_loss_checklist() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    start = text.index("## Adding a loss")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_adding_a_loss_checklist_is_honest():
    """Every step of the checklist cites the tests that enforce it, and every file and test it
    names exists, so the checklist and the tests cannot drift apart."""
    checklist = adding_a_loss_checklist()
    steps = re.findall(r"^\d+\. (.*?)(?=^\d+\. |\Z)", checklist, flags=re.M | re.S)
    assert len(steps) >= 6
    for step in steps[:-1]:  # the last step is `make test`
        assert "checked by" in step, f"a checklist step cites no test: {step[:80]!r}"
    for path in re.findall(r"`((?:lossutils|tests|benchmarks)/[\w/.]+\.py)`", checklist):
        assert (ROOT / path).is_file(), f"CONTRIBUTING.md names {path}, which does not exist"
    cited = re.findall(r"`(tests/\w+\.py)::(\w+)`", checklist)
    assert cited
    for path, test in cited:
        tree = ast.parse((ROOT / path).read_text())
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert test in names, f"CONTRIBUTING.md cites {path}::{test}, which does not exist"
