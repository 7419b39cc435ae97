"""The grader's side inside a submission's kernel (its source is sent to the kernel as text).

The worker (:mod:`coursework.worker`) loads this file into the kernel as a module under a name
chosen afresh for the run, before any student code, and then sends each cell as one call:

* :func:`setup`: an instructor cell, run in the notebook's namespace; the names it binds are
  remembered as **trusted** values, which every test gets back even if an answer rebinds them;
* :func:`snapshot`: after the set-up, a copy of every loaded module of the restored libraries
  (``numpy``, ``lossutils``, ``torch``, ``math``, ``builtins``): their attributes and their
  functions' code;
* :func:`answer`: a student's answer, compiled as ``<answer GRADE_ID>`` (so errors point at the
  student's own line) in a copy of the namespace without the forbidden modules, whose
  ``__import__`` refuses them; what it defines is copied back;
* :func:`test`: a test, after restoring every snapshotted attribute, in a copy of the namespace
  with the trusted values; if a library changed *during* the test, the test fails.

A failure ends the cell with :class:`CourseworkError`, whose message is a JSON report: the
exception's type and message, the student's line it came from, and the test's line. The
kernel's reply is then ``error``; a test earns points only when the reply is ``ok`` and the
marker that the worker prints after the call came out (fail-closed, see :mod:`coursework.worker`).

Nothing here defends against code that sets out to defeat it from inside the same process
(the instructor's guide says so); it defends against accidents and simple tampering.
"""

import builtins
import json
import sys
import types

_MISSING = object()
_FUNCTION_PARTS = ("__code__", "__defaults__", "__kwdefaults__")

_state = {}


class CourseworkError(Exception):
    """Ends a cell with an error reply; ``str(self)`` is the JSON report."""


def install(user_ns, families):
    """Start grading in this kernel: remember the namespace, the output streams, the builtins."""
    _state.update(
        ns=user_ns,
        families=frozenset(families),
        snaps={},
        trusted={},
        streams=(sys.stdout, sys.stderr),
    )


def _in_family(name):
    return name.split(".")[0] in _state["families"]


def _snap(module):
    saved = dict(vars(module))
    code = {
        k: tuple(getattr(v, p) for p in _FUNCTION_PARTS)
        for k, v in saved.items()
        if isinstance(v, types.FunctionType)
    }
    return module, saved, code


def snapshot():
    """Copy every loaded module of the restored libraries that has no copy yet."""
    snaps = _state["snaps"]
    for name, module in list(sys.modules.items()):
        if name not in snaps and _in_family(name) and isinstance(module, types.ModuleType):
            snaps[name] = _snap(module)


def restore():
    """Put back every snapshotted attribute, function body and ``sys.modules`` entry."""
    for name, (module, saved, code) in _state["snaps"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        current = vars(module)
        for key, value in saved.items():
            if current.get(key, _MISSING) is not value:
                current[key] = value
        for key, parts in code.items():
            function = saved[key]
            for part, value in zip(_FUNCTION_PARTS, parts):
                if getattr(function, part) is not value:
                    setattr(function, part, value)
    sys.stdout, sys.stderr = _state["streams"]


def changed():
    """What differs from the snapshot: modules, callables and function bodies (sorted)."""
    found = []
    for name, (module, saved, code) in _state["snaps"].items():
        if sys.modules.get(name) is not module:
            found.append(f"sys.modules[{name!r}]")
        current = vars(module)
        for key, value in saved.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            if (callable(value) or isinstance(value, types.ModuleType)) and current.get(
                key, _MISSING
            ) is not value:
                found.append(f"{name}.{key}")
        for key, parts in code.items():
            if any(getattr(saved[key], p) is not v for p, v in zip(_FUNCTION_PARTS, parts)):
                found.append(f"{name}.{key} (its code)")
    return sorted(set(found))


def trust(names):
    """Remember the namespace's current values of ``names`` as the notebook's own."""
    ns = _state["ns"]
    for name in names:
        if name in ns:
            _state["trusted"][name] = ns[name]


def _fresh(value):
    """A copy of an array or tensor, so that one test's mutation cannot reach the next."""
    kind = type(value)
    if kind.__name__ == "ndarray" and kind.__module__ == "numpy":
        return value.copy()
    if kind.__name__ == "Tensor" and kind.__module__ == "torch":
        return value.clone()
    return value


def _report(error, **extra):
    try:
        message = str(error)
    except BaseException:
        message = "(the exception's message could not be read)"
    answer = test = None
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith("<answer "):
            answer = [filename[len("<answer ") : -1], tb.tb_lineno]
        elif filename.startswith("<test "):
            test = tb.tb_lineno
        tb = tb.tb_next
    report = {
        "type": type(error).__name__,
        "message": message[:2000],
        "answer": answer,
        "test_line": test,
        **extra,
    }
    return CourseworkError(json.dumps(report, sort_keys=True))


def setup(index, code, names):
    """Run instructor cell ``index`` in the notebook's namespace and trust what it binds."""
    try:
        exec(compile(code, f"<cell {index}>", "exec"), _state["ns"])
    except BaseException as e:
        raise _report(e) from None
    finally:
        trust(names)


def _forbidden(value, forbid):
    """Whether ``value`` is a forbidden module, or a function, class or object from one."""
    try:
        name = (
            value.__name__
            if isinstance(value, types.ModuleType)
            else getattr(value, "__module__", None)
        )
    except BaseException:
        return False
    return isinstance(name, str) and name.split(".")[0] in forbid


def _guarded_builtins(grade_id, forbid):
    real_import = (
        _state["snaps"]["builtins"][1]["__import__"]
        if "builtins" in _state["snaps"]
        else builtins.__import__
    )

    def __import__(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: N807 (the builtin's name)
        if level == 0 and name.split(".")[0] in forbid:
            raise ImportError(f"{name.split('.')[0]} is not allowed in {grade_id}")
        return real_import(name, globals, locals, fromlist, level)

    guarded = dict(vars(builtins))
    guarded["__import__"] = __import__
    return guarded


def answer(grade_id, code, forbid):
    """Run a student's answer, without the forbidden modules; copy what it defines back."""
    forbid = frozenset(forbid)
    ns = {k: v for k, v in _state["ns"].items() if not (forbid and _forbidden(v, forbid))}
    if forbid:
        ns["__builtins__"] = _guarded_builtins(grade_id, forbid)
    before = dict(ns)
    try:
        exec(compile(code, f"<answer {grade_id}>", "exec"), ns)
    except BaseException as e:
        raise _report(e) from None
    finally:
        for key, value in ns.items():
            if key != "__builtins__" and before.get(key, _MISSING) is not value:
                _state["ns"][key] = value


def test(label, code):
    """Run one test with the libraries restored; fail it if a library changes while it runs."""
    snapshot()  # libraries first imported since the last test (e.g. by an instructor cell)
    restore()
    ns = dict(_state["ns"])
    ns.update({k: _fresh(v) for k, v in _state["trusted"].items()})
    try:
        exec(compile(code, f"<test {label}>", "exec"), ns)
    except BaseException as e:
        restore()
        raise _report(e) from None
    tampered = changed()
    restore()
    if tampered:
        shown = ", ".join(tampered[:5]) + (" ..." if len(tampered) > 5 else "")
        raise CourseworkError(
            json.dumps(
                {
                    "type": "Tampering",
                    "answer": None,
                    "test_line": None,
                    "message": f"changed while the test ran: {shown}",
                },
                sort_keys=True,
            )
        )
