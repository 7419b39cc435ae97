r"""Numerically stable primitives shared by every loss, and the float32 policy.

Each primitive is a formula on NumPy arrays, written so that nothing overflows for finite
inputs and the result keeps its *relative* accuracy, also where it is tiny (a loss of
:math:`10^{-22}` is not rounded to 0). Each docstring states the identity it uses and its
accuracy. The loss modules call them on blocks of their inputs (:mod:`lossutils._blocks`); class
scores come as 2-D blocks ``(rows, C)``, the classes on the last axis.

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


def relu(x: np.ndarray) -> np.ndarray:
    r""":math:`\max(x, 0)`, exact."""
    return np.maximum(x, 0.0)


def softplus_tail(z: np.ndarray) -> np.ndarray:
    r""":math:`\log(1 + e^{-|z|}) \in (0, \log 2]`: what :math:`\mathrm{softplus}(\pm z)` adds to
    :math:`\max(\pm z, 0)`.

    Identity: :math:`\mathrm{softplus}(z) = \log(1 + e^{z}) = \max(z, 0) + \log(1 + e^{-|z|})`.
    Only :math:`e^{-|z|} \le 1` is computed, so nothing overflows, and ``log1p`` keeps the
    relative accuracy of a tiny tail (:math:`\log(1 + e^{-50}) \approx 1.9 \times 10^{-22}`).
    Accuracy: two kernels, about 1 ulp.
    """
    return np.log1p(np.exp(-np.abs(z)))


def bce_logits(z: np.ndarray, t: np.ndarray, *, pos_weight=None, neg_weight=None) -> np.ndarray:
    r"""Binary cross-entropy from logits, :math:`a\,y\,\mathrm{softplus}(-z) + b\,(1 - y)\,
    \mathrm{softplus}(z)` (that is :math:`-a y \log\sigma(z) - b (1 - y) \log(1 - \sigma(z))`),
    with optional class weights ``pos_weight`` :math:`= a` and ``neg_weight`` :math:`= b`
    (default 1), targets :math:`y \in [0, 1]`.

    Identity: with :math:`\mathrm{softplus}(\pm z) = \max(\pm z, 0) + \tau`,
    :math:`\tau = \log(1 + e^{-|z|})` (:func:`softplus_tail`), the loss is
    :math:`\max(b (1 - y) z, -a y z) + (a y + b (1 - y))\,\tau`: the maximum picks
    :math:`b (1 - y) z` for :math:`z > 0` and :math:`a y |z|` for :math:`z < 0`, the other
    product being :math:`\le 0`. Without weights the factor of :math:`\tau` is 1. Both terms are
    :math:`\ge 0` and added, never subtracted, so the result keeps its relative accuracy even
    where it is tiny (PyTorch's :math:`(1 - y) z - \log\sigma(z)` rounds the loss of
    :math:`z = -50, y = 0` to 0). Accuracy: a few ulps.
    """
    pos = t if pos_weight is None else pos_weight * t
    neg = 1 - t if neg_weight is None else neg_weight * (1 - t)
    if pos_weight is None and neg_weight is None:
        return np.maximum(neg * z, -pos * z) + softplus_tail(z)
    return np.maximum(neg * z, -pos * z) + (pos + neg) * softplus_tail(z)


class SigmoidPair(NamedTuple):
    r""":math:`\sigma(z)` and :math:`\sigma(-z) = 1 - \sigma(z)`, each to full relative accuracy."""

    p: np.ndarray
    q: np.ndarray


def sigmoid_pair(z: np.ndarray) -> SigmoidPair:
    r"""Return :math:`(\sigma(z), \sigma(-z))`, each to full relative accuracy.

    Identity: with :math:`e = e^{-|z|} \le 1`, :math:`\sigma(|z|) = 1 / (1 + e)` and
    :math:`\sigma(-|z|) = e / (1 + e)`, never :math:`1 - \sigma(|z|)`, which cancels (and is 0
    where :math:`\sigma(|z|)` rounds to 1). Accuracy: about 2 ulps.
    """
    e = np.exp(-np.abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return SigmoidPair(np.where(positive, big, small), np.where(positive, small, big))


def bce_logits_grad(z: np.ndarray, t: np.ndarray, *, pos_weight=None, neg_weight=None) -> np.ndarray:
    r"""The derivative of :func:`bce_logits` in :math:`z`,
    :math:`b (1 - y)\,\sigma(z) - a y\,\sigma(-z)` (without weights :math:`\sigma(z) - y`), from
    :func:`sigmoid_pair`: the gradient of a well-classified example keeps its relative accuracy
    (:math:`\sigma(z) - 1` computed as such would be 0 where :math:`\sigma(z)` rounds to 1)."""
    p, one_minus_p = sigmoid_pair(z)
    pos = t if pos_weight is None else pos_weight * t
    neg = 1 - t if neg_weight is None else neg_weight * (1 - t)
    return neg * p - pos * one_minus_p


# --------------------------------------------------------------------------
# A row of class scores (classes on the last axis): log-sum-exp and softmax
# --------------------------------------------------------------------------


def two_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The rounding error ``(a + b) - s`` of ``s = fl(a + b)``, exactly (Knuth's TwoSum)."""
    b_virtual = s - a
    return (a - (s - b_virtual)) + (b - b_virtual)


class LogSumExp(NamedTuple):
    r""":math:`\log\sum_k e^{x_k} = m + \ell` per row, with :math:`m = \max_k x_k`.

    ``max`` and ``log_norm`` (:math:`\ell \in [0, \log C]`) have shape ``(rows, 1)``, so that
    :math:`\log p_c = (x_c - m) - \ell` broadcasts.
    """

    max: np.ndarray
    log_norm: np.ndarray


def pick(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``x[i, index[i]]`` for every row ``i`` of a 2-D block."""
    return x[np.arange(len(index)), index]


def row_max(x: np.ndarray) -> np.ndarray:
    """The maximum of each row, shape ``(rows, 1)``. Found with ``argmax``, which NumPy 2.4
    vectorises along short rows, where ``max(axis=-1)`` is several times slower."""
    return pick(x, np.argmax(x, axis=-1))[:, None]


def logsumexp(x: np.ndarray, *, exact_differences: bool = False) -> LogSumExp:
    r"""Log-sum-exp of each row of ``x`` (classes on the last axis), accurately.

    Identity: :math:`\log\sum_k e^{x_k} = m + \log(1 + s)`, :math:`s = \sum_{k \ne k^*} e^{x_k - m}`
    over every entry but one maximum :math:`x_{k^*} = m`, whose term is exactly 1 and is left
    out: adding that 1 before the log would round away the tiny log-probability of a dominant
    class, :math:`\log p = -\log(1 + s) \approx -s` (``log_softmax([0, -50])[0]`` is
    :math:`-1.9 \times 10^{-22}`).

    Where :math:`s < 1/2` (a class dominates), :math:`s` needs full relative accuracy, but each
    :math:`x_k - m` was rounded by up to :math:`|x_k - m|\,\epsilon/2`, which ``exp`` turns into a
    relative error as large (14 ulps at :math:`x_k - m = -100`). Those rows fold the exact
    rounding error :math:`r` back in, :math:`e^{d + r} = e^d (1 + r)`. ``exact_differences=True``
    skips that repair when every :math:`x_k - m` is exact, as it is for float32 scores evaluated
    in float64 (to within far less than a float32 ulp). Accuracy: a few ulps.
    """
    top = np.argmax(x, axis=-1)
    m = pick(x, top)[:, None]
    d = x - m
    e = np.exp(d)
    e[np.arange(len(top)), top] = 0.0  # exactly exp(0) = 1: left out of the sum
    s = e.sum(axis=-1, keepdims=True)
    if not exact_differences:
        rows = s[:, 0] < 0.5
        if rows.any():
            er = e[rows]
            er += er * two_sum_error(x[rows], -m[rows], d[rows])
            s[rows] = er.sum(axis=-1, keepdims=True)
    return LogSumExp(m, np.log1p(s))


def log_softmax_rows(x: np.ndarray, *, exact_differences: bool = False) -> np.ndarray:
    r""":math:`\log p_c = (x_c - m) - \log(1 + s)` for each row (see :func:`logsumexp`)."""
    lse = logsumexp(x, exact_differences=exact_differences)
    return (x - lse.max) - lse.log_norm


def softmax_rows(x: np.ndarray) -> np.ndarray:
    r""":math:`p_c = e^{x_c - m} / \sum_k e^{x_k - m}` for each row: every exponent is
    :math:`\le 0`, so nothing overflows, and the sum is :math:`\ge 1`. Accuracy: about 2 ulps."""
    e = np.exp(x - row_max(x))
    return e / e.sum(axis=-1, keepdims=True)


def one_minus_exp(log_p: np.ndarray) -> np.ndarray:
    r""":math:`1 - p` from :math:`\log p \le 0`, as :math:`-\mathrm{expm1}(\log p)`: accurate
    where :math:`p` rounds to 1 (:math:`1 - p` is then about :math:`-\log p`, not 0)."""
    return -np.expm1(log_p)
