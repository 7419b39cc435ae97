r"""Numerically stable primitives shared by every loss, and the float32 policy.

Each primitive is a formula on NumPy arrays, written so that nothing overflows for finite
inputs and the result keeps its *relative* accuracy, also where it is tiny (a loss of
:math:`10^{-22}` is not rounded to 0). Each docstring states the identity it uses and its
accuracy. The loss modules call them on blocks of their inputs (:mod:`lossutils._blocks`):
elementwise inputs as 1-D blocks, class scores as 3-D blocks ``(rows, C, K)`` with the classes on
axis 1, as in PyTorch.

**The float32 policy: float64 inside, rounded once.** A float16 or float32 input to a loss that
calls ``exp``, ``log``, ``log1p`` or ``pow`` is evaluated in float64 (exactly: every float32 is a
float64) and its result is rounded to float32 once at the end (:func:`working_dtype`).

Why: NumPy picks the SIMD kernel of ``exp``, ``log`` and ``log1p`` at run time from the CPU's
features, and its float32 kernels differ in accuracy (measured on 4e6 points with NumPy 2.4:
``exp`` 0.50 ulp on the baseline kernel, 2.4 ulp on the AVX2 and AVX-512 ones; ``log`` 0.82
against 3.1 ulp). A loss built from a few such calls inherits their errors (the focal losses
amplify them by :math:`\gamma`), so the same float32 loss was accurate to 4 ulps on one machine
and not on another. Float64 kernels err by a few float64 ulps, about :math:`10^{-9}` of a float32
ulp, so after the final rounding a float32 result is within half an ulp of the float64 one
(plus that float64 error), whatever kernel NumPy dispatched to. The price is speed: float64
SIMD lanes hold half as many numbers, see ``benchmarks/bench_losses.py``.

Formulas made of additions, multiplications and comparisons only (the regression losses,
``nll_loss``) need none of this: IEEE arithmetic is correctly rounded on every CPU, so they
stay in their input's dtype.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Input dtypes evaluated in float64 and rounded back to their own dtype.
_LOW_PRECISION = (np.dtype(np.float16), np.dtype(np.float32))


def working_dtype(dtype: np.dtype, *, float64_inside: bool = True) -> np.dtype:
    """The dtype a loss computes in for inputs of ``dtype``: float64 for float16 and float32
    when ``float64_inside`` (the loss calls a transcendental kernel), else ``dtype`` itself."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float64) if float64_inside and dtype in _LOW_PRECISION else dtype


def widened(dtype: np.dtype) -> bool:
    """Whether inputs of ``dtype`` are evaluated in a wider dtype (float32 in float64). Then
    the difference of two inputs is exact, or its error far below the input dtype's ulp."""
    return working_dtype(dtype) != np.dtype(dtype)


# --------------------------------------------------------------------------
# One logit: sigmoid, softplus and the binary cross-entropy
# --------------------------------------------------------------------------


# The primitives below work in place on the arrays they create (``out=``, ``*=``): each returns
# one new array instead of a temporary per operation. Fewer, short-lived temporaries keep a
# block's memory in the CPU cache and the allocator's free lists (see lossutils/_blocks.py).


def exp_neg_abs(z: np.ndarray) -> np.ndarray:
    r""":math:`e^{-|z|} \in (0, 1]`: the one exponential that the sigmoid, the softplus and the
    binary cross-entropy of a logit need (:func:`softplus_tail`, :func:`sigmoid_pair` take it
    precomputed, so that a loss that needs several of them computes it once)."""
    e = np.abs(z)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def softplus_tail(z: np.ndarray, e: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\log(1 + e^{-|z|}) \in (0, \log 2]`: what :math:`\mathrm{softplus}(\pm z)` adds to
    :math:`\max(\pm z, 0)`.

    Identity: :math:`\mathrm{softplus}(z) = \log(1 + e^{z}) = \max(z, 0) + \log(1 + e^{-|z|})`.
    Only :math:`e^{-|z|} \le 1` is computed, so nothing overflows, and ``log1p`` keeps the
    relative accuracy of a tiny tail (:math:`\log(1 + e^{-50}) \approx 1.9 \times 10^{-22}`).
    Accuracy: two kernels, about 1 ulp. ``e``: :func:`exp_neg_abs` of ``z``, if computed already.
    """
    if e is not None:
        return np.log1p(e)
    tail = exp_neg_abs(z)
    return np.log1p(tail, out=tail)


def relu(x: np.ndarray) -> np.ndarray:
    r""":math:`\max(x, 0)`, exact. Taken against an array of zeros: NumPy 2.4's ``maximum`` with
    a scalar takes a slow path, about twice as slow."""
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < x.size:
        zeros = _ZEROS[x.dtype] = np.zeros(max(x.size, 1 << 16), dtype=x.dtype)
        zeros.flags.writeable = False
    return np.maximum(x, zeros[: x.size].reshape(x.shape))


_ZEROS: dict[np.dtype, np.ndarray] = {}  # a read-only block of zeros per dtype, for relu


def bce_logits(
    z: np.ndarray,
    t: np.ndarray,
    *,
    pos_weight=None,
    neg_weight=None,
    tail: np.ndarray | None = None,
) -> np.ndarray:
    r"""Binary cross-entropy from logits, :math:`-a y \log\sigma(z) - b (1 - y) \log(1 -
    \sigma(z))`, with optional class weights ``pos_weight`` :math:`= a` and ``neg_weight``
    :math:`= b` (default 1) and targets :math:`y \in [0, 1]`.

    Identity: :math:`-\log\sigma(z) = \mathrm{softplus}(-z) = \mathrm{softplus}(z) - z`, so the
    loss is :math:`c\,\mathrm{softplus}(z) - a y z` with :math:`c = a y + b (1 - y)`; without
    weights, the textbook :math:`\mathrm{softplus}(z) - y z`. It is evaluated as
    :math:`(c \max(z, 0) - a y z) + c\,\tau` with :math:`\tau = \log(1 + e^{-|z|})`
    (:func:`softplus_tail`): for 0/1 targets the first term is exactly 0 or :math:`c|z|`, never
    a difference of two large numbers, so the loss of a well-classified example keeps its
    digits (PyTorch rounds the loss of :math:`z = -50, y = 0` to 0; this gives
    :math:`1.9 \times 10^{-22}`). Accuracy: a few ulps for 0/1 targets and most soft ones. For a
    soft target near 1 and a large logit, :math:`z - y z` loses the digits the loss itself is
    sensitive to (its condition number in :math:`y` is about :math:`y / (1 - y)`): the result is
    then the exact loss of a target within one rounding of :math:`y`. ``tail``: :math:`\tau`, if
    computed already.
    """
    tail = softplus_tail(z) if tail is None else tail
    if pos_weight is None and neg_weight is None:
        loss = relu(z)
        loss -= t * z
        loss += tail
        return loss
    pos = t if pos_weight is None else pos_weight * t  # a y
    c = pos + (1 - t if neg_weight is None else neg_weight * (1 - t))  # a y + b (1 - y)
    loss = relu(z)
    loss *= c
    loss -= pos * z
    loss += c * tail
    return loss


class SigmoidPair(NamedTuple):
    r""":math:`\sigma(z)` and :math:`\sigma(-z) = 1 - \sigma(z)`, each to full relative accuracy."""

    p: np.ndarray
    q: np.ndarray


def _sigmoid_numerators(z: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(m, n)``, the numerators of :math:`\sigma(z) = m / (1 + e)` and
    :math:`\sigma(-z) = n / (1 + e)` for :math:`e = e^{-|z|}`: ``m`` is 1 where :math:`z \ge 0`
    and :math:`e` elsewhere, ``n`` the other one. Selected exactly and without a branch, as
    :math:`\max(e, s)` with :math:`s` = 1 where :math:`z \ge 0`, else 0 (NumPy's ``where``
    branches on every element, several times slower on random signs)."""
    s = (z >= 0).astype(e.dtype)  # 1.0 where z >= 0
    m = np.maximum(e, s)
    np.subtract(1.0, s, out=s)  # 1.0 where z < 0
    return m, np.maximum(e, s, out=s)


def sigmoid_pair(z: np.ndarray, e: np.ndarray | None = None) -> SigmoidPair:
    r"""Return :math:`(\sigma(z), \sigma(-z))`, each to full relative accuracy.

    Identity: with :math:`e = e^{-|z|} \le 1`, :math:`\sigma(|z|) = 1 / (1 + e)` and
    :math:`\sigma(-|z|) = e / (1 + e)`, never :math:`1 - \sigma(|z|)`, which cancels (and is 0
    where :math:`\sigma(|z|)` rounds to 1); the numerators come from
    :func:`_sigmoid_numerators`. Accuracy: about 2 ulps. ``e``: :func:`exp_neg_abs` of ``z``, if
    computed already.
    """
    e = exp_neg_abs(z) if e is None else e
    inverse = np.add(e, 1.0)
    np.divide(1.0, inverse, out=inverse)  # sigma(|z|)
    p, q = _sigmoid_numerators(z, e)
    p *= inverse
    q *= inverse
    return SigmoidPair(p, q)


def bce_logits_grad(
    z: np.ndarray,
    t: np.ndarray,
    *,
    pos_weight=None,
    neg_weight=None,
    pair: SigmoidPair | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    r"""The derivative of :func:`bce_logits` in :math:`z`, times ``scale``,
    :math:`b (1 - y)\,\sigma(z) - a y\,\sigma(-z)` (without weights :math:`\sigma(z) - y`), from
    :math:`\sigma(\pm z)` to full relative accuracy: the gradient of a well-classified example
    keeps its relative accuracy (:math:`\sigma(z) - 1` computed as such would be 0 where
    :math:`\sigma(z)` rounds to 1).

    Without ``pair`` it is evaluated as :math:`[b (1 - y)\,m - a y\,n] \cdot
    \mathrm{scale} / (1 + e)` with the numerators of :func:`_sigmoid_numerators`: the common
    denominator is applied once, with the scale (five passes fewer than forming both sigmoids,
    measured 71 -> 50 us a block of 32768). ``pair``: :func:`sigmoid_pair` of ``z``, if computed
    already (left unchanged).
    """
    b_not_t = 1 - t if neg_weight is None else neg_weight * (1 - t)  # b (1 - y)
    a_t = t if pos_weight is None else pos_weight * t  # a y
    if pair is not None:
        grad = pair.p * b_not_t
        grad -= pair.q * a_t
        return grad if scale == 1.0 else np.multiply(grad, scale, out=grad)
    e = exp_neg_abs(z)
    m, n = _sigmoid_numerators(z, e)
    grad = np.multiply(m, b_not_t, out=m)
    n *= a_t
    grad -= n
    np.add(e, 1.0, out=e)
    grad *= np.divide(scale, e, out=e)  # scale / (1 + e)
    return grad


# --------------------------------------------------------------------------
# Class scores: blocks (rows, C, K) with the classes on axis 1, as in PyTorch (K is 1 for
# (N, C) scores, or a slice of the trailing axes of (N, C, d1, ...) ones)
# --------------------------------------------------------------------------


def pick(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The entries of the target classes, ``x[r, y[r, k], k]``, shape ``(rows, K)``."""
    if x.flags.c_contiguous:
        return x.reshape(-1)[_at_class(x, y)]
    return np.take_along_axis(x, y[:, None, :], axis=1)[:, 0, :]


def _at_class(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The flat positions of ``x[r, y[r, k], k]`` in a C-contiguous block: one flat gather or
    scatter, several times faster than ``take_along_axis``, which builds broadcast indices. (On
    any other block ``x.reshape(-1)`` would be a copy, and a scatter into it lost.)"""
    assert x.flags.c_contiguous
    rows, n_classes, depth = x.shape
    return (np.arange(rows)[:, None] * n_classes + y) * depth + np.arange(depth)


def add_at_class(x: np.ndarray, y: np.ndarray, values: np.ndarray) -> None:
    """``x[r, y[r, k], k] += values[r, k]`` in place, for a C-contiguous block ``x`` (one flat
    gather and scatter; ``y`` has one class per row, so no position repeats)."""
    x.reshape(-1)[_at_class(x, y)] += values


def class_sum(x: np.ndarray) -> np.ndarray:
    """The sum over the classes, shape ``(rows, 1, K)``. For short rows (``K = 1``) with
    ``einsum``, about twice as fast as ``sum(axis=1)``, whose per-row overhead dominates at
    100 classes."""
    if x.shape[2] == 1:
        return np.einsum("rc->r", x[:, :, 0])[:, None, None]
    return x.sum(axis=1, keepdims=True)


def class_max(x: np.ndarray) -> np.ndarray:
    """The maximum over the classes, shape ``(rows, 1, K)``. For short rows (``K = 1``) through
    ``argmax``, which NumPy vectorises, where ``max(axis=1)`` is about 4 times slower."""
    if x.shape[2] == 1:
        return pick(x, np.argmax(x, axis=1))[:, None, :]
    return x.max(axis=1, keepdims=True)


def two_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The rounding error ``(a + b) - s`` of ``s = fl(a + b)``, exactly (Knuth's TwoSum)."""
    b_virtual = s - a
    return (a - (s - b_virtual)) + (b - b_virtual)


def _rows(x: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The rows ``(r, k)`` of a ``(rows, C, K)`` block where ``where`` (``(rows, K)``) holds, as
    a ``(count, C, 1)`` block."""
    return np.moveaxis(x, 1, 2)[where][:, :, None]


def _sum_of_the_others(
    x: np.ndarray, shift: np.ndarray, index: np.ndarray, exact_differences: bool
):
    """``(e, s)``: ``e = exp(x - shift)`` with 0 at class ``index``, and
    ``s`` = its sum over the classes, shape ``(rows, 1, K)``; where ``s < 1/2`` and the
    differences ``x - shift`` were rounded, ``s`` is repaired to full relative accuracy."""
    d = x - shift
    with np.errstate(over="ignore"):  # exp(d) = inf: the caller's fallback takes that row
        e = np.exp(d, out=d if exact_differences else None)  # d is needed below otherwise
    e.reshape(-1)[_at_class(e, index)] = 0.0
    s = class_sum(e)
    if not exact_differences:
        small = s[:, 0, :] < 0.5
        if small.any():
            # Each x_k - shift was rounded by up to |x_k - shift| eps / 2, which exp turns into a
            # relative error as large (14 ulps at x_k - shift = -100): fold the exact rounding
            # error r back in, exp(d + r) = exp(d) (1 + r).
            e_small = _rows(e, small)
            e_small += e_small * two_sum_error(
                _rows(x, small), -_rows(shift, small), _rows(d, small)
            )
            s[:, 0, :][small] = class_sum(e_small)[:, 0, 0]
    return e, s


class LogSumExp(NamedTuple):
    r""":math:`\log\sum_k e^{x_k} = m + \ell` over the classes, with :math:`m = \max_k x_k`.

    ``max`` and ``log_norm`` (:math:`\ell \in [0, \log C]`) have shape ``(rows, 1, K)``, so that
    :math:`\log p_c = (x_c - m) - \ell` broadcasts.
    """

    max: np.ndarray
    log_norm: np.ndarray


def logsumexp(x: np.ndarray, *, exact_differences: bool = False) -> LogSumExp:
    r"""Log-sum-exp over the classes (axis 1), accurately.

    Identity: :math:`\log\sum_k e^{x_k} = m + \log(1 + s)`, :math:`s = \sum_{k \ne k^*} e^{x_k - m}`
    over every entry but one maximum :math:`x_{k^*} = m`, whose term is exactly 1 and is left
    out: adding that 1 before the log would round away the tiny log-probability of a dominant
    class, :math:`\log p = -\log(1 + s) \approx -s` (``log_softmax([0, -50])[0]`` is
    :math:`-1.9 \times 10^{-22}`).

    Where :math:`s < 1/2` (a class dominates), :math:`s` needs full relative accuracy, but each
    :math:`x_k - m` was rounded by up to :math:`|x_k - m|\,\epsilon/2`, which ``exp`` turns into a
    relative error as large; those rows fold the exact rounding error back in.
    ``exact_differences=True`` skips that repair when every :math:`x_k - m` is exact, as it is
    for float32 scores evaluated in float64 (to within far less than a float32 ulp). Accuracy:
    a few ulps.
    """
    top = np.argmax(x, axis=1)
    m = pick(x, top)[:, None, :]
    _, s = _sum_of_the_others(x, m, top, exact_differences)
    return LogSumExp(m, np.log1p(s))


def log_softmax_classes(x: np.ndarray, *, exact_differences: bool = False) -> np.ndarray:
    r""":math:`\log p_c = (x_c - m) - \log(1 + s)` over the classes (see :func:`logsumexp`)."""
    lse = logsumexp(x, exact_differences=exact_differences)
    return (x - lse.max) - lse.log_norm


def softmax_classes(x: np.ndarray) -> np.ndarray:
    r""":math:`p_c = e^{x_c - m} / \sum_k e^{x_k - m}` over the classes: every exponent is
    :math:`\le 0`, so nothing overflows, and the sum is :math:`\ge 1`. Accuracy: about 2 ulps."""
    e = np.exp(x - class_max(x))
    e /= class_sum(e)
    return e


def _shifted_by_target(x: np.ndarray, y: np.ndarray, exact_differences: bool):
    """``(e, s, overflow)``: ``e = exp(x - x_y)`` (0 at the target), ``s`` its sum over the
    classes (``(rows, 1, K)``), and the rows ``(rows, K)`` where some ``x_k - x_y > 709``
    overflowed, which the callers compute from the maximum instead."""
    x_y = pick(x, y)[:, None, :]
    e, s = _sum_of_the_others(x, x_y, y, exact_differences)
    return e, s, ~np.isfinite(s[:, 0, :])


def target_nll(x: np.ndarray, y: np.ndarray, *, exact_differences: bool = False) -> np.ndarray:
    r"""The cross-entropy of each row, :math:`-\log p_y \ge 0` for the target class :math:`y`
    of the softmax over the classes (axis 1), shape ``(rows, K)``.

    Identity: :math:`-\log p_y = \log\big(1 + \sum_{k \ne y} e^{x_k - x_y}\big)`, with
    ``log1p``: accurate where the target dominates (a tiny loss keeps its digits) and where it
    does not, and no pass to find each row's maximum. Rows where some :math:`x_k - x_y > 709`
    would overflow are computed from the maximum instead (:func:`logsumexp`). Accuracy: a few
    ulps.
    """
    _, s, overflow = _shifted_by_target(x, y, exact_differences)
    nll = np.log1p(s[:, 0, :])
    if overflow.any():
        rows = _rows(x, overflow)
        nll[overflow] = -pick(
            log_softmax_classes(rows, exact_differences=exact_differences), y[overflow][:, None]
        )[:, 0]
    return nll


class TargetSoftmax(NamedTuple):
    r"""The softmax :math:`p` over the classes, seen from the target class :math:`y`.

    Attributes:
        p_minus_onehot: :math:`p - e_y`, shape ``(rows, C, K)``: the gradient of the
            cross-entropy in the logits.
        log_p: :math:`\log p_y \le 0`, shape ``(rows, K)``.
        one_minus_p: :math:`1 - p_y = \sum_{k \ne y} p_k`, shape ``(rows, K)``, to full relative
            accuracy where :math:`p_y` rounds to 1.
    """

    p_minus_onehot: np.ndarray
    log_p: np.ndarray
    one_minus_p: np.ndarray


def target_softmax(
    x: np.ndarray, y: np.ndarray, *, exact_differences: bool = False
) -> TargetSoftmax:
    r"""The softmax over the classes (axis 1) relative to the target class ``y``, for the
    gradients of the cross-entropy and the focal loss.

    Identity: with :math:`s = \sum_{k \ne y} e^{x_k - x_y}`, :math:`p_k = e^{x_k - x_y} / (1 + s)`,
    :math:`1 - p_y = s / (1 + s)` (never :math:`1` minus a rounded :math:`p_y`) and
    :math:`\log p_y = -\log(1 + s)`. Rows that would overflow are computed from the maximum
    instead (:func:`logsumexp`). Accuracy: a few ulps.
    """
    e, s, overflow = _shifted_by_target(x, y, exact_differences)
    norm = 1.0 + s
    with np.errstate(invalid="ignore"):  # inf / inf on the rows that overflowed, redone below
        p_minus_onehot = np.divide(e, norm, out=e)
        one_minus_p = (s / norm)[:, 0, :]
    p_minus_onehot.reshape(-1)[_at_class(p_minus_onehot, y)] = -one_minus_p  # p_y - 1
    log_p = -np.log1p(s[:, 0, :])
    if overflow.any():
        rows, y_rows = _rows(x, overflow), y[overflow][:, None]
        log_p_rows = log_softmax_classes(rows, exact_differences=exact_differences)
        log_p[overflow] = pick(log_p_rows, y_rows)[:, 0]
        one_minus_p[overflow] = one_minus_exp(log_p[overflow])
        p_rows = np.exp(log_p_rows)
        np.put_along_axis(p_rows, y_rows[:, None, :], -one_minus_p[overflow][:, None, None], axis=1)
        np.moveaxis(p_minus_onehot, 1, 2)[overflow] = p_rows[:, :, 0]
    return TargetSoftmax(p_minus_onehot, log_p, one_minus_p)


def one_minus_exp(log_p: np.ndarray) -> np.ndarray:
    r""":math:`1 - p` from :math:`\log p \le 0`, as :math:`-\mathrm{expm1}(\log p)`: accurate
    where :math:`p` rounds to 1 (:math:`1 - p` is then about :math:`-\log p`, not 0)."""
    return -np.expm1(log_p)


# --------------------------------------------------------------------------
# Vectors: p-norms along the last axis (embeddings)
# --------------------------------------------------------------------------


def p_norm(u: np.ndarray, p: float) -> np.ndarray:
    r""":math:`\lVert u\rVert_p = (\sum_k |u_k|^p)^{1/p}` along the last axis, without overflow or
    underflow.

    The textbook :math:`\sqrt{\sum_k u_k^2}` overflows to ``inf`` once :math:`|u_k| > 10^{154}`
    in float64, and its squares underflow below :math:`10^{-154}`, losing digits, then to 0
    below :math:`10^{-162}`. It is computed first (fast, one pass for ``p = 2``); the rows where
    the sum of powers left the safe range are recomputed with the identity
    :math:`\lVert u\rVert_p = m \lVert u/m\rVert_p`, :math:`m = \max_k |u_k|`, whose powers are
    of numbers in [0, 1] and sum to at least 1. (Finding every row's maximum up front would cost
    several times more: NumPy reduces short rows slowly.) Rows of zeros have norm 0. Accuracy:
    a few ulps (``p = 1`` and ``p = 2`` use no ``pow``).
    """
    if p == 1:
        return np.abs(u).sum(axis=-1)  # no powers: nothing to overflow before the result does
    total = _sum_of_squares(u) if p == 2 else np.power(np.abs(u), p).sum(axis=-1)
    norm = np.sqrt(total) if p == 2 else np.power(total, 1.0 / p)
    if total.size == 0 or (total.min() >= _SAFE_LOW and total.max() <= _SAFE_HIGH):
        return norm  # the common case, decided in two fast passes
    unsafe = ~(total >= _SAFE_LOW) | ~(total <= _SAFE_HIGH)  # also true for NaN and inf
    unsafe &= np.any(u != 0, axis=-1)  # rows of zeros are exact
    if unsafe.any():
        rows = u[unsafe]
        m = np.abs(rows).max(axis=-1, keepdims=True)
        scaled = np.abs(rows) / m
        norm[unsafe] = m[:, 0] * np.power(np.power(scaled, p).sum(axis=-1), 1.0 / p)
    return norm


def _sum_of_squares(u: np.ndarray) -> np.ndarray:
    r""":math:`\sum_k u_k^2` along the last axis. Rows of up to 64 entries: the squares times a
    vector of ones, by BLAS ``gemv`` on stacks of rows of at most 8192 entries (OpenBLAS runs a
    ``gemv`` of more than 9216 products on several threads, see :func:`lossutils._blocks.dot`),
    17 % faster than ``einsum`` for rows of 10 (measured); longer rows by ``einsum``."""
    k = u.shape[-1]
    if k > 64 or u.ndim < 2 or u.dtype not in (np.float32, np.float64):
        return np.einsum("...k,...k->...", u, u)
    with np.errstate(over="ignore"):  # an overflow to inf is what p_norm looks for, and repairs
        squares = np.square(u).reshape(-1, k)
    rows, step = len(squares), 8192 // k
    whole = rows - rows % step
    total = np.empty(rows, dtype=u.dtype)
    ones = np.ones(k, dtype=u.dtype)
    np.matmul(squares[:whole].reshape(-1, step, k), ones, out=total[:whole].reshape(-1, step))
    np.matmul(squares[whole:], ones, out=total[whole:])
    return total.reshape(u.shape[:-1])


#: Sums of squares (or p-th powers) in this range lost no digits to underflow and did not
#: overflow: from 2**-900 (far above the subnormals, where squares of 1e-136 entries land) to
#: 2**900.
_SAFE_LOW, _SAFE_HIGH = 2.0**-900, 2.0**900


def p_norm_grad(u: np.ndarray, norm: np.ndarray, p: float) -> np.ndarray:
    r"""The gradient of :func:`p_norm` in :math:`u`,
    :math:`\mathrm{sign}(u_k)\,(|u_k| / \lVert u\rVert_p)^{p-1}`, from the ratio, which lies in
    [0, 1] (never :math:`|u_k|^{p-1}` over :math:`\lVert u\rVert_p^{p-1}`, which can overflow). 0 for
    a row of zeros, as PyTorch's ``norm`` backward (and for a row whose norm is NaN).

    One new array, worked on in place; the rows of zeros are set afterwards, when there are any
    (a full-size ``where`` cost more than the rest of the gradient, measured)."""
    bad = ~(norm > 0)  # rows of zeros, where u / norm would be 0 / 0, and NaN norms
    d = np.where(bad, 1.0, norm)[..., None]  # short: one value per row
    if p == 1:
        g = np.sign(u)
    elif p == 2:
        g = np.divide(u, d)
    else:
        g = np.abs(u)
        g /= d
        np.power(g, p - 1, out=g)
        g *= np.sign(u)
    if bad.any():
        g[bad] = 0.0
    return g
