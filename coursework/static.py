"""What the grader learns from an answer before running it.

* **Syntax**: ``ast.parse`` of the answer (after IPython turns ``%magics`` into Python), with the
  student's own line and column.
* **Forbidden modules**: ``import X``, ``from X import``, ``__import__("X")``,
  ``importlib.import_module("X")``, and the names the notebook's set-up bound to X
  (``lu`` for ``import lossutils as lu``). An answer that uses one is not run.
* **Flags** for an instructor to read: code that changes libraries or the interpreter
  (``np.isclose = ...``, ``setattr(np, ...)``, ``builtins``, ``sys.modules``), ends or signals
  processes (``os._exit``, ``os.kill``, ``sys.exit``), inspects frames or the kernel
  (``sys._getframe``, ``inspect``, ``gc``, ``get_ipython``), or reaches outside (``subprocess``,
  ``socket``, ``ctypes``). A flag does not change a score: the run decides that, with the
  libraries restored before each test. It marks the submission for a human to look at.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

#: Attribute paths, as dotted prefixes, whose use is flagged, with the reason shown.
FLAGGED_ATTRIBUTES = {
    "os._exit": "ends the process",
    "os.kill": "signals a process",
    "os.killpg": "signals processes",
    "os.abort": "ends the process",
    "os.fork": "starts a process",
    "os.system": "runs a shell command",
    "os.environ": "reads the environment",
    "sys.exit": "ends the program",
    "sys.modules": "changes or reads the loaded modules",
    "sys._getframe": "inspects the caller's frames",
    "sys.settrace": "traces the interpreter",
    "sys.setprofile": "traces the interpreter",
    "sys.stdout": "replaces the output stream",
    "sys.stderr": "replaces the output stream",
    "signal": "handles signals",
}
#: Names (modules or builtins) whose use is flagged.
FLAGGED_NAMES = {
    "builtins": "changes or reads Python's builtins",
    "__builtins__": "changes or reads Python's builtins",
    "__import__": "imports by name",
    "importlib": "imports by name",
    "get_ipython": "controls the kernel",
    "globals": "reads or changes the global namespace",
    "exit": "ends the program",
    "quit": "ends the program",
    "exec": "runs code from a string",
    "eval": "runs code from a string",
    "compile": "compiles code from a string",
    "gc": "reaches objects through the garbage collector",
    "inspect": "inspects frames or source",
    "ctypes": "calls C directly",
    "subprocess": "starts processes",
    "multiprocessing": "starts processes",
    "threading": "starts threads that outlive a test",
    "socket": "opens network connections",
    "signal": "handles signals",
    "KeyboardInterrupt": "catches the grader's interrupt",
}
#: Attribute names that reach into functions' or classes' internals.
FLAGGED_DUNDERS = {
    "__code__",
    "__globals__",
    "__closure__",
    "__subclasses__",
    "__dict__",
    "__defaults__",
    "__kwdefaults__",
    "__builtins__",
    "f_back",
    "f_globals",
    "f_locals",
}
#: Modules whose attributes an answer must not assign to, beyond those the notebook imports.
LIBRARY_ROOTS = {"numpy", "lossutils", "torch", "math", "builtins", "sys", "os", "scipy", "sympy"}


@dataclass(frozen=True)
class Finding:
    """A problem found in an answer: its line in the student's cell and what it is."""

    line: int
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class Analysis:
    """The static verdict on one answer."""

    code: str  # the answer as Python (magics turned into calls)
    syntax_error: Finding | None
    forbidden: tuple[Finding, ...]
    flags: tuple[Finding, ...]


def to_python(source: str) -> str:
    """An answer cell as the kernel runs it: IPython magics become ``get_ipython()`` calls."""
    return TransformerManager().transform_cell(source)


def module_aliases(sources: list[str]) -> dict[str, str]:
    """``name -> module`` for every top-level import in ``sources`` (the notebook's own code):
    ``import lossutils as lu`` gives ``{"lu": "lossutils"}``, ``from torch.nn import functional
    as F`` gives ``{"F": "torch.nn.functional"}``."""
    aliases: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(to_python(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _root(module: str) -> str:
    return module.split(".")[0]


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _own_names(tree: ast.AST) -> set[str]:
    """Names an answer binds itself other than by importing (parameters, assignments, loop and
    ``with`` targets, definitions): they shadow the notebook's imports of the same name."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


class _Visitor(ast.NodeVisitor):
    def __init__(self, forbid: set[str], aliases: dict[str, str]):
        self.forbid, self.aliases = forbid, dict(aliases)
        self.forbidden: list[Finding] = []
        self.flags: list[Finding] = []

    def _forbidden_module(self, node: ast.AST, module: str) -> None:
        if _root(module) in self.forbid:
            self.forbidden.append(
                Finding(node.lineno, f"uses {_root(module)}, which this exercise forbids")
            )

    def _flag(self, node: ast.AST, what: str, why: str) -> None:
        self.flags.append(Finding(node.lineno, f"{what}: {why}"))

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._forbidden_module(node, a.name)
            if _root(a.name) in FLAGGED_NAMES:
                self._flag(node, f"import {a.name}", FLAGGED_NAMES[_root(a.name)])
            self.aliases[a.asname or _root(a.name)] = a.name if a.asname else _root(a.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if not node.level:
            self._forbidden_module(node, module)
            if _root(module) in FLAGGED_NAMES:
                self._flag(node, f"from {module} import", FLAGGED_NAMES[_root(module)])
            for a in node.names:
                full = f"{module}.{a.name}"
                if full in FLAGGED_ATTRIBUTES:
                    self._flag(node, f"from {module} import {a.name}", FLAGGED_ATTRIBUTES[full])
                self.aliases[a.asname or a.name] = full

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        literal = (
            node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        )
        if name in {"__import__", "importlib.import_module"} and isinstance(literal, str):
            self._forbidden_module(node, literal)
        if name in {"setattr", "delattr"} and node.args:
            target = _dotted(node.args[0])
            if target and self._library(target):
                self._flag(node, f"{name}({target}, ...)", "changes a library")
        self.generic_visit(node)

    def _library(self, dotted: str) -> bool:
        head = dotted.split(".")[0]
        module = self.aliases.get(head)
        return (
            module is not None and _root(module) in LIBRARY_ROOTS | self.forbid
        ) or head in LIBRARY_ROOTS

    def _check_store(self, target: ast.AST) -> None:
        if isinstance(target, ast.Attribute):
            dotted = _dotted(target)
            if dotted and self._library(dotted.rsplit(".", 1)[0]):
                self._flag(target, f"{dotted} = ...", "changes a library; tests use the original")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_store(element)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_store(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if dotted:
            head, _, rest = dotted.partition(".")
            module = self.aliases.get(head, head)
            full = f"{module}.{rest}" if rest else module
            if head in self.aliases and _root(self.aliases[head]) in self.forbid:
                self._forbidden_module(node, self.aliases[head])
            for prefix, why in FLAGGED_ATTRIBUTES.items():
                if full == prefix or full.startswith(prefix + "."):
                    self._flag(node, full, why)
                    break
        if node.attr in FLAGGED_DUNDERS:
            self._flag(node, f".{node.attr}", "reaches into an object's internals")
        # Visit only the innermost name: a.b.c is one finding, not three.
        base = node.value
        while isinstance(base, ast.Attribute):
            if base.attr in FLAGGED_DUNDERS:
                self._flag(base, f".{base.attr}", "reaches into an object's internals")
            base = base.value
        if not isinstance(base, ast.Name):
            self.visit(base)
        elif base.id in FLAGGED_NAMES and base.id not in self.aliases:
            self._flag(base, base.id, FLAGGED_NAMES[base.id])

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases and _root(self.aliases[node.id]) in self.forbid:
            self._forbidden_module(node, self.aliases[node.id])
        elif node.id in FLAGGED_NAMES and node.id not in self.aliases:
            self._flag(node, node.id, FLAGGED_NAMES[node.id])


def _dedupe(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(set(findings), key=lambda f: (f.line, f.message)))


def analyse(
    source: str, *, forbid: tuple[str, ...] = (), aliases: dict[str, str] | None = None
) -> Analysis:
    """Check one answer cell. ``aliases`` are the names the notebook's own code imported
    (:func:`module_aliases`); those bound to a forbidden module are forbidden too."""
    try:
        code = to_python(source)
    except Exception as e:  # IPython's transformer rejects some broken input outright
        return Analysis(source, Finding(1, f"{type(e).__name__}: {e}"), (), ())
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        line = e.lineno or 1
        return Analysis(code, Finding(line, f"SyntaxError: {e.msg}"), (), ())
    own = _own_names(tree)
    visitor = _Visitor(set(forbid), {k: v for k, v in (aliases or {}).items() if k not in own})
    visitor.visit(tree)
    return Analysis(code, None, _dedupe(visitor.forbidden), _dedupe(visitor.flags))


def bound_names(source: str) -> list[str]:
    """The names a cell binds at top level (assignments, imports, defs, loop targets), so the
    grader can give tests the notebook's own values of them."""
    try:
        tree = ast.parse(to_python(source))
    except SyntaxError:
        return []
    names: set[str] = set()

    def targets(node):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                targets(element)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def walk(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets(node.target)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    if a.name != "*":
                        names.add(a.asname or a.name.split(".")[0])
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets(node.target)
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
                walk(node.body)
            elif isinstance(node, (ast.If, ast.While)):
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)

    walk(tree.body)
    return sorted(names)
