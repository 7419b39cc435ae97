"""Input checks shared by every loss, and the records they return.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the argument, says what
was expected and shows what came, so that a student who passes ``(N, 1)`` predictions with
``(N,)`` targets is told so instead of silently getting an ``(N, N)`` broadcast.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------
# Single values and arrays
# --------------------------------------------------------------------------


def as_float_array(x: ArrayLike, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """Return ``x`` as a floating array; integers become float64.

    ``dtype`` forces the result dtype (used to give a target its prediction's dtype).
    Booleans, strings, objects and complex numbers are rejected: a prediction or logit must be
    a real number.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(np.float64)
    if arr.dtype == np.float16:  # too coarse to compute a loss in: compute in float32
        return arr.astype(np.float32)
    return arr


def as_target_array(x: ArrayLike, name: str, dtype: np.dtype) -> np.ndarray:
    """Like :func:`as_float_array` for a target, where booleans mean 0/1."""
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        arr = arr.astype(dtype)
    return as_float_array(arr, name, dtype=dtype)


def check_nonempty(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    # No broadcasting: (N, 1) against (N,) is almost always a bug.
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {name_a} "
            f"shape {a.shape} and {name_b} shape {b.shape}"
        )


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_scalar(value: float, name: str, *, positive: bool = False) -> float:
    """A hyperparameter such as ``delta`` or ``gamma``: a finite real >= 0 (> 0)."""
    if isinstance(value, (bool, np.bool_)) or not np.isscalar(value) or not np.isreal(value):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be finite and {expected}, got {value}")
    return float(value)


def check_integer(value: int, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_unit_interval(arr: np.ndarray, name: str) -> None:
    """Probabilities must lie in [0, 1] (NaN fails too, as in PyTorch)."""
    if arr.size and arr.min() >= 0 and arr.max() <= 1:  # two fast passes; NaN fails both tests
        return
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise ValueError(
            f"{name} must contain probabilities in [0, 1], got {bad.sum()} value(s) "
            f"outside, e.g. {arr[bad].flat[0]}"
        )


def as_weight(
    weight: ArrayLike | None, name: str, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray | None:
    """An optional weight array of exactly ``shape`` (no broadcasting), or None."""
    if weight is None:
        return None
    w = as_float_array(weight, name, dtype=dtype)
    if w.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {w.shape}")
    return w


def as_broadcast_weight(
    weight: ArrayLike | None, name: str, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray | None:
    """An optional weight that broadcasts to ``shape`` without enlarging it
    (PyTorch's rule for the BCE ``weight`` and ``pos_weight``), or None."""
    if weight is None:
        return None
    w = as_float_array(weight, name, dtype=dtype)
    try:
        ok = np.broadcast_shapes(w.shape, tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} of shape {w.shape} does not broadcast to the input shape {tuple(shape)}"
        )
    return w


# --------------------------------------------------------------------------
# Elementwise and binary losses: a first argument and a target of the same shape
# --------------------------------------------------------------------------


class Pair(NamedTuple):
    """A validated first argument and its target: float arrays of one shape and dtype."""

    first: np.ndarray
    target: np.ndarray


def pair_inputs(
    first: ArrayLike, target: ArrayLike, *, name: str, reduction: str, probabilities: bool = False
) -> Pair:
    """Validate the inputs of an elementwise loss: a non-empty float ``first`` argument and a
    ``target`` of its shape, converted to its dtype; with ``probabilities``, targets in [0, 1]."""
    check_reduction(reduction)
    x = as_float_array(first, name)
    t = as_target_array(target, "target", x.dtype)
    check_nonempty(x, name)
    check_same_shape(x, t, name, "target")
    if probabilities:
        check_unit_interval(t, "target")
    return Pair(x, t)


# --------------------------------------------------------------------------
# Multi-class losses: scores (N, C, d1, ...) and class indices (N, d1, ...) or probabilities
# --------------------------------------------------------------------------


class ClassInputs(NamedTuple):
    """Validated inputs of a multi-class loss.

    Attributes:
        scores: the logits or log-probabilities, always with a batch axis (a ``(C,)`` input
            becomes ``(1, C)``), C-contiguous.
        target: integer class indices ``(N, d1, ...)``, or class probabilities shaped like
            ``scores`` when ``probabilities``.
        weight: per-class weights ``(C,)``, or None.
        probabilities: whether ``target`` holds class probabilities.
        unbatched: whether the input was a single ``(C,)`` vector (results lose the batch axis).
    """

    scores: np.ndarray
    target: np.ndarray
    weight: np.ndarray | None
    probabilities: bool
    unbatched: bool


def class_inputs(
    first: ArrayLike,
    target: ArrayLike,
    *,
    name: str,
    reduction: str,
    ignore_index: int,
    weight: ArrayLike | None = None,
    weight_name: str = "weight",
    allow_probabilities: bool = False,
) -> ClassInputs:
    """Validate multi-class inputs, PyTorch's layout: scores ``(C,)``, ``(N, C)`` or
    ``(N, C, d1, ...)`` with the classes on axis 1 (axis 0 if unbatched); targets of class
    indices without the class axis or, if ``allow_probabilities``, float class probabilities of
    the scores' shape."""
    check_reduction(reduction)
    x = as_float_array(first, name)
    ignore_index = check_integer(ignore_index, "ignore_index")
    if x.ndim == 0:
        raise ValueError(f"{name} must have shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    check_nonempty(x, name)
    unbatched = x.ndim == 1
    n_classes = x.shape[0] if unbatched else x.shape[1]
    index_shape = () if unbatched else x.shape[:1] + x.shape[2:]
    w = as_weight(weight, weight_name, (n_classes,), x.dtype)
    t = np.asarray(target)
    probabilities = allow_probabilities and t.dtype.kind == "f"
    if probabilities:
        if t.shape != x.shape:
            raise TypeError(
                f"target must hold integer class indices of shape {index_shape} or class "
                f"probabilities of shape {x.shape} (the logits' shape), got dtype {t.dtype} "
                f"and shape {t.shape}"
            )
        if ignore_index >= 0:  # PyTorch refuses it too: nothing can be ignored
            raise ValueError(
                f"ignore_index={ignore_index} is only for class-index targets, "
                "got class-probability targets (float, the logits' shape)"
            )
        t = t.astype(x.dtype, copy=False)
        check_unit_interval(t, "target")
    else:
        t = as_class_target(t, "target", index_shape, n_classes, ignore_index)
    if unbatched:
        x, t = x[None], t[None]
    return ClassInputs(np.ascontiguousarray(x), t, w, probabilities, unbatched)


def as_class_target(
    target: np.ndarray, name: str, shape: tuple[int, ...], n_classes: int, ignore_index: int
) -> np.ndarray:
    """Integer class indices of ``shape`` in ``[0, n_classes)``, except ``ignore_index``."""
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer class indices, got dtype {t.dtype} "
            "(floating targets are read as class probabilities only when they "
            "have the same shape as the logits)"
        )
    if t.shape != tuple(shape):
        raise ValueError(f"{name} of class indices must have shape {tuple(shape)}, got {t.shape}")
    low, high = (t.min(), t.max()) if t.size else (0, 0)
    if low < 0 or high >= n_classes:  # out of range, unless it is the ignored index
        bad = (t < 0) | (t >= n_classes)
        bad &= t != ignore_index  # masks, not a copy of the kept targets: 40 us, not 51, at 1e5
        if bad.any():
            raise ValueError(
                f"{name} contains class index {t[bad].flat[0]}, outside [0, {n_classes}) "
                f"(ignore_index={ignore_index})"
            )
    return t


class ClassTargets(NamedTuple):
    """Class-index targets ready for a loss formula.

    Attributes:
        index: the class index of each sample, 0 where the target is ignored (a safe index).
        weight: the class weight of each sample's target (1 without class weights), 0 where
            ignored: the 'mean' denominator is its sum.
        valid: 1 where the target is not ignored, else 0 (floats, like ``weight``).
    """

    index: np.ndarray
    weight: np.ndarray
    valid: np.ndarray


def class_targets(
    target: np.ndarray, *, ignore_index: int, class_weight: np.ndarray | None, dtype: np.dtype
) -> ClassTargets:
    """Split class-index targets into a safe index and per-sample weights (see ClassTargets)."""
    valid = target != ignore_index
    index = target if valid.all() else np.where(valid, target, 0)
    valid = valid.astype(dtype)
    weight = valid if class_weight is None else valid * class_weight[index]
    return ClassTargets(index, weight, valid)


def mean_scale(reduction: str, denominator: float) -> float:
    """d(reduced loss)/d(each term): 1/denominator for 'mean', 1 for 'sum' and 'none'.

    A zero denominator (every target ignored) gives 0, PyTorch's gradient of that NaN mean.
    """
    if reduction != "mean":
        return 1.0
    return 0.0 if denominator == 0 else 1.0 / float(denominator)
