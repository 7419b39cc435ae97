"""Small input checks and the reduction step shared by every loss.

Each helper raises a ``ValueError`` or ``TypeError`` whose message names the
argument, says what was expected and shows what came, so that a student who
passes ``(N, 1)`` predictions with ``(N,)`` targets is told so instead of
silently getting an ``(N, N)`` broadcast.
"""

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


def as_float_array(x, name, dtype=None):
    """Return ``x`` as a floating array; integers become float64.

    ``dtype`` forces the result dtype (used to give a target its prediction's
    dtype). Booleans, strings, objects and complex numbers are rejected:
    a prediction or logit must be a real number.
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


def as_target_array(x, name, dtype):
    """Like :func:`as_float_array` for a target, where booleans mean 0/1."""
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        arr = arr.astype(dtype)
    return as_float_array(arr, name, dtype=dtype)


def check_nonempty(arr, name):
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")


def check_same_shape(a, b, name_a, name_b):
    # No broadcasting: (N, 1) against (N,) is almost always a bug.
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {name_a} "
            f"shape {a.shape} and {name_b} shape {b.shape}"
        )


def check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_scalar(value, name, *, positive=False):
    """A hyperparameter such as ``delta`` or ``gamma``: a finite real >= 0 (> 0)."""
    if isinstance(value, (bool, np.bool_)) or not np.isscalar(value) or not np.isreal(value):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be finite and {expected}, got {value}")
    return float(value)


def check_integer(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_unit_interval(arr, name):
    """Probabilities must lie in [0, 1] (NaN fails too, as in PyTorch)."""
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise ValueError(
            f"{name} must contain probabilities in [0, 1], got {bad.sum()} value(s) "
            f"outside, e.g. {arr[bad].flat[0]}"
        )


def as_weight(weight, name, shape, dtype):
    """An optional weight array of exactly ``shape`` (no broadcasting), or None."""
    if weight is None:
        return None
    w = as_float_array(weight, name, dtype=dtype)
    if w.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {w.shape}")
    return w


def as_broadcast_weight(weight, name, shape, dtype):
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
        raise ValueError(f"{name} of shape {w.shape} does not broadcast to the input shape {tuple(shape)}")
    return w


def as_class_target(target, name, shape, n_classes, ignore_index):
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
    used = t[t != ignore_index]
    if used.size and (used.min() < 0 or used.max() >= n_classes):
        bad = used[(used < 0) | (used >= n_classes)].flat[0]
        raise ValueError(
            f"{name} contains class index {bad}, outside [0, {n_classes}) "
            f"(ignore_index={ignore_index})"
        )
    return t


def apply_reduction(loss, reduction, denominator=None):
    """Reduce elementwise losses: 'none' keeps them, 'sum' adds them up and
    'mean' divides the sum by ``denominator`` (default: the number of losses).

    A zero denominator (e.g. every target ignored) gives NaN, as in PyTorch.
    """
    if reduction == "none":
        return loss
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return total
    if denominator is None:
        denominator = loss.size
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss.dtype.type(total / loss.dtype.type(denominator))


def grad_reduction_scale(reduction, n, dtype):
    """The factor d(reduced)/d(elementwise loss): 1/n for 'mean', 1 otherwise.

    A zero denominator (every target ignored) gives 0, PyTorch's gradient of
    that NaN mean.
    """
    if reduction != "mean":
        return dtype.type(1)
    return dtype.type(0) if n == 0 else dtype.type(1) / dtype.type(n)
