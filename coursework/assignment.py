"""An assignment: a YAML file naming the notebook sources to grade, their limits and rules.

.. code-block:: yaml

    name: sample-problem-set           # the assignment's id (results and manifest carry it)
    notebooks:
      - source: sample/problem-set.md  # a MyST notebook, relative to this file
        name: problem-set              # students hand in problem-set.ipynb (default: the stem)
        grade: [ps-logsumexp, ...]     # the grade ids to grade (default: all of them)
    forbid: [lossutils, torch]         # modules no answer may use (added to each exercise's)
    limits: {cell_timeout: 10, ...}    # see Limits
    fixtures: sample/fixtures          # broken submissions and their expected scores (validate)

Graded work must not be the public site's exercises, whose solutions anyone can read: keep
real assignments in a private folder or repository. The paths are relative to the YAML file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path

import jupytext
import yaml
from nbformat import NotebookNode

from coursework.leaks import Secrets, notebook_secrets
from coursework.markup import Exercise, MarkupError, read_exercises


class AssignmentError(ValueError):
    """An assignment file that cannot be used as it is."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Every limit applies to each notebook of a submission."""

    cell_timeout: float = 10.0  # s per cell; then the kernel is interrupted
    interrupt_grace: float = 3.0  # s to answer an interrupt; then the kernel is killed
    notebook_timeout: float = 120.0  # s of wall clock per notebook; then everything is killed
    memory_mb: int = 4096  # address space per process (RLIMIT_AS)
    cpu_seconds: int = 120  # CPU time per process (RLIMIT_CPU)
    file_size_mb: int = 16  # largest file a process may write (RLIMIT_FSIZE)

    @classmethod
    def from_mapping(cls, values: dict | None) -> Limits:
        values = values or {}
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise AssignmentError(
                f"limits: unknown setting(s) {unknown}; expected some of {sorted(known)}"
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise AssignmentError(f"limits: {key} must be a positive number, got {value!r}")
        return cls(**values)


@dataclass(frozen=True)
class SourceNotebook:
    """One notebook of an assignment: the instructor's source and what it grades."""

    name: str  # the student's file is NAME.ipynb
    path: Path  # the MyST source
    grade: tuple[str, ...]  # the grade ids graded, in notebook order

    @cached_property
    def notebook(self) -> NotebookNode:
        return jupytext.read(self.path)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @cached_property
    def all_exercises(self) -> dict[str, Exercise]:
        return read_exercises(self.notebook, str(self.path))

    @property
    def exercises(self) -> list[Exercise]:
        """The graded exercises, in notebook order."""
        return [self.all_exercises[g] for g in self.grade]


@dataclass(frozen=True)
class Assignment:
    """A parsed, checked assignment file."""

    path: Path
    name: str
    notebooks: tuple[SourceNotebook, ...]
    forbid: tuple[str, ...]
    limits: Limits
    fixtures: Path | None

    @property
    def exercises(self) -> list[Exercise]:
        return [e for nb in self.notebooks for e in nb.exercises]

    @property
    def max_points(self) -> int:
        return sum(e.points for e in self.exercises)

    def forbidden(self, exercise: Exercise) -> tuple[str, ...]:
        return tuple(sorted(set(self.forbid) | set(exercise.forbid)))

    @cached_property
    def secrets(self) -> Secrets:
        """What no student may read: every solution, hidden test and line of solution prose."""
        return notebook_secrets((str(nb.path), nb.notebook) for nb in self.notebooks)

    @cached_property
    def sha256(self) -> str:
        """A hash of everything grading depends on: the settings and every source's bytes."""
        settings = {
            "name": self.name,
            "forbid": self.forbid,
            "limits": asdict(self.limits),
            "notebooks": [[nb.name, nb.sha256, nb.grade] for nb in self.notebooks],
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def load(path: Path | str) -> Assignment:
    """Read and check the assignment file at ``path``.

    Raises:
      AssignmentError: a missing file or setting, an unknown grade id, broken exercise markup.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise AssignmentError(f"assignment file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise AssignmentError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise AssignmentError(
            f"{path}: expected a mapping with name and notebooks, got {type(data).__name__}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise AssignmentError(f"{path}: 'name' must be a non-empty string, got {name!r}")
    entries = data.get("notebooks")
    if not isinstance(entries, list) or not entries:
        raise AssignmentError(f"{path}: 'notebooks' must list at least one notebook source")
    notebooks, seen_ids, seen_names = [], set(), set()
    for entry in entries:
        if isinstance(entry, str):
            entry = {"source": entry}
        if not isinstance(entry, dict) or "source" not in entry:
            raise AssignmentError(f"{path}: each notebook needs a 'source', got {entry!r}")
        source = (path.parent / entry["source"]).resolve()
        if not source.is_file():
            raise AssignmentError(f"{path}: notebook source {source} does not exist")
        nb_name = entry.get("name", source.stem)
        if nb_name in seen_names:
            raise AssignmentError(f"{path}: two notebooks are named {nb_name!r}")
        seen_names.add(nb_name)
        probe = SourceNotebook(nb_name, source, ())
        try:
            available = list(probe.all_exercises)
        except MarkupError as e:
            raise AssignmentError(f"{source}: exercise markup:\n{e}") from None
        grade = entry.get("grade", available)
        if not isinstance(grade, list) or not grade:
            raise AssignmentError(
                f"{path}: 'grade' of {nb_name!r} must list grade ids, got {grade!r}"
            )
        unknown = [g for g in grade if g not in available]
        if unknown:
            raise AssignmentError(
                f"{path}: {nb_name!r} has no exercise {unknown}; it has {available}"
            )
        twice = seen_ids & set(grade)
        if twice:
            raise AssignmentError(f"{path}: grade ids graded twice: {sorted(twice)}")
        seen_ids |= set(grade)
        ordered = tuple(g for g in available if g in grade)  # notebook order
        notebooks.append(SourceNotebook(nb_name, source, ordered))
    forbid = data.get("forbid", [])
    if not isinstance(forbid, list) or not all(isinstance(m, str) for m in forbid):
        raise AssignmentError(f"{path}: 'forbid' must be a list of module names, got {forbid!r}")
    fixtures = data.get("fixtures")
    return Assignment(
        path=path,
        name=name,
        notebooks=tuple(notebooks),
        forbid=tuple(sorted(set(forbid))),
        limits=Limits.from_mapping(data.get("limits")),
        fixtures=(path.parent / fixtures).resolve() if fixtures else None,
    )
