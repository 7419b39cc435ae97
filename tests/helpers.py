"""Helpers shared by the lossutils tests: tolerances, PyTorch's value and gradient of a loss,
and valid inputs for every function in ``lossutils.registry``.

Import them as ``from helpers import ...`` (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch
from hypothesis import settings
from hypothesis import strategies as st

from lossutils.registry import Entry

#: lossutils against PyTorch in float64: both evaluate the same formula to a few ulps.
RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ("mean", "sum", "none")
#: Property tests: 30 random cases each, no deadline (the first call imports and warms up).
SETTINGS = settings(max_examples=30, deadline=None)

logit = st.floats(-6, 6, allow_nan=False, width=64)  # PyTorch loses accuracy far beyond this
unit = st.floats(0, 1, allow_nan=False, width=64)
positive = st.floats(0.1, 3, allow_nan=False, width=64)


def torch_value_and_grad(
    fn: Callable, first: np.ndarray, *args, **kw
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``fn(first, *args, **kw)`` and the autograd gradient of its sum with respect to
    ``first`` (for a reduced loss, the gradient of the loss). NumPy arrays among the other
    arguments become tensors."""
    x = torch.tensor(first, requires_grad=True)
    args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = fn(x, *args, **kw)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def check_against_torch(
    loss: Callable, grad: Callable, reference: Callable, first, *args, **kw
) -> None:
    """``loss`` and its ``grad`` equal PyTorch's ``reference`` and its autograd gradient."""
    want, want_grad = torch_value_and_grad(reference, first, *args, **kw)
    np.testing.assert_allclose(loss(first, *args, **kw), want, rtol=RTOL, atol=ATOL)
    got_grad = grad(first, *args, **kw)
    assert got_grad.shape == np.shape(first)
    np.testing.assert_allclose(got_grad, want_grad, rtol=RTOL, atol=ATOL)


def torch_reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce elementwise losses as PyTorch's ``reduction=`` does."""
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def first_argument(fn: Callable) -> str:
    """The name of a function's first parameter (``pred``, ``logits``, ``prob``, ...)."""
    return next(iter(inspect.signature(fn).parameters))


#: The kinds of inputs issue 17's losses take: a mean, target and variance; log-rates and
#: counts; predicted quantiles; class scores for a margin loss; two scores and an order; three
#: embeddings; queries and keys; class probabilities and indices; log-probabilities and
#: probabilities.
ISSUE17_KINDS = (
    "gaussian",
    "counts",
    "quantile",
    "margin",
    "ranking",
    "triplet",
    "contrastive",
    "probabilities",
    "distributions",
)
#: The kinds of inputs a registry entry may declare (``Entry.inputs``).
#: ("class_counts": the number of examples of each class, which class weights are made from.)
INPUT_KINDS = (
    "elementwise",
    "binary",
    "class",
    "sequence",
    "scores",
    "class_counts",
    *ISSUE17_KINDS,
)


def valid_inputs(entry: Entry, rng: np.random.Generator | None = None) -> tuple[np.ndarray, ...]:
    """Small valid positional arguments for ``entry``'s function, by its kind of inputs."""
    rng = rng or np.random.default_rng(0)
    extra = _valid_issue17_inputs(entry.inputs, rng)
    if extra is not None:
        return extra
    if entry.inputs == "scores":
        return (rng.normal(size=(4, 3)),)
    if entry.inputs == "sequence":
        return rng.normal(size=(2, 3, 4)), np.array([[0, 1, 2, 0], [2, 1, -100, -100]])
    if entry.inputs == "class":
        return rng.normal(size=(4, 3)), np.array([0, 1, 2, 0])
    target = np.array([0.0, 1.0, 1.0, 0.0])
    if entry.inputs == "binary":
        first = (
            rng.uniform(0.1, 0.9, 4)
            if first_argument(entry.function) == "prob"
            else rng.normal(size=4)
        )
        return first, target
    return rng.normal(size=4), rng.normal(size=4)  # elementwise


def _valid_issue17_inputs(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, ...] | None:
    """Valid positional arguments for the kinds of inputs issue 17's losses take, else None."""
    scores, classes = rng.normal(size=(4, 3)), np.array([0, 1, 2, 0])
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return {
        "gaussian": (rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)),
        "counts": (rng.normal(size=4), np.array([0.0, 1.0, 3.0, 2.0])),
        "quantile": (rng.normal(size=4), rng.normal(size=4)),
        "margin": (scores, classes),
        "ranking": (rng.normal(size=4), rng.normal(size=4), np.array([1.0, -1.0, 1.0, -1.0])),
        "triplet": tuple(rng.normal(size=(3, 4, 3))),
        "contrastive": tuple(rng.normal(size=(2, 4, 3))),
        "probabilities": (probs, classes),
        "distributions": (np.log(probs), probs[::-1].copy()),
    }.get(kind)
