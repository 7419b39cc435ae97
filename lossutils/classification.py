r"""Classification losses: binary and multi-class cross-entropy, with gradients.

Numerically stable building blocks come first (:func:`sigmoid`,
:func:`log_sigmoid`, :func:`softmax`, :func:`log_softmax`); every loss that
takes logits is written with them, never as ``log(sigmoid(z))``, so that
nothing overflows for finite logits (tested up to :math:`|z| = 10^4`) and the
result keeps its relative accuracy where PyTorch's rounds to 0 (e.g. the BCE
of logit -50 with target 0, :math:`\approx 1.9\times 10^{-22}`).

Multi-class inputs follow PyTorch's layout: logits ``(N, C)`` or
``(N, C, d1, d2, ...)`` with the classes on axis 1, or unbatched ``(C,)``.
"""

import numpy as np

from ._stable import computed_in_float64
from ._validation import (
    apply_reduction,
    as_broadcast_weight,
    as_class_target,
    as_float_array,
    as_target_array,
    as_weight,
    check_integer,
    check_nonempty,
    check_reduction,
    check_same_shape,
    check_scalar,
    check_unit_interval,
    grad_reduction_scale,
)

__all__ = [
    "sigmoid", "log_sigmoid", "softmax", "log_softmax",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "multilabel_soft_margin_loss",
    "grad_binary_cross_entropy", "grad_binary_cross_entropy_with_logits",
    "grad_cross_entropy", "grad_nll_loss", "grad_multilabel_soft_margin_loss",
]

# PyTorch's binary_cross_entropy clamps each log term at -100 and its backward
# divides by max(p (1 - p), EPSILON), EPSILON being the float32 constant 1e-12.
_LOG_FLOOR = -100.0
_BCE_GRAD_EPS = float(np.float32(1e-12))


# --------------------------------------------------------------------------
# Stable building blocks
# --------------------------------------------------------------------------

@computed_in_float64
def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow.

    Only :math:`e^{-|x|} \le 1` is ever computed:
    :math:`\sigma(x) = 1/(1+e^{-|x|})` for :math:`x \ge 0` and
    :math:`e^{-|x|}/(1+e^{-|x|})` otherwise, so ``sigmoid(-1e4)`` is 0 with no
    overflow warning.

    Example:
        >>> sigmoid([0.0, 1e4, -1e4]).tolist()
        [0.5, 1.0, 0.0]
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    return np.maximum(e, x >= 0) / (1 + e)  # numerator 1 if x >= 0 else e, as e <= 1


@computed_in_float64
def log_sigmoid(x):
    r""":math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`, accurate for all finite x.

    Example:
        >>> print(log_sigmoid(-1e4), round(float(log_sigmoid(0.0)), 4))
        -10000.0 -0.6931
    """
    x = as_float_array(x, "x")
    return np.minimum(x, 0) - _log1p_unit(_exp_neg_abs(x))


@computed_in_float64
def softmax(x, *, axis=-1):
    r"""Softmax :math:`e^{x_c} / \sum_k e^{x_k}` along ``axis``, computed as
    :math:`e^{x_c - m} / \sum_k e^{x_k - m}` with :math:`m = \max_k x_k` (no overflow).

    Example:
        >>> softmax([1e4, 0.0]).tolist()
        [1.0, 0.0]
    """
    x = _as_vectors(x)
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _as_vectors(x):
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension (the one softmax normalises), got a scalar")
    return x


def _two_sum_error(a, b, s):
    """The rounding error ``(a + b) - s`` of ``s = fl(a + b)``, exactly (Knuth's TwoSum)."""
    b_virtual = s - a
    return (a - (s - b_virtual)) + (b - b_virtual)


def _logsumexp_parts(x, axis):
    r"""Return ``(m, log_norm)`` with :math:`\log\sum_k e^{x_k}` = ``m + log_norm``, accurately.

    ``m`` is the maximum (kept as a size-1 ``axis``) and ``log_norm`` is
    ``log1p(s)``, ``s`` summing :math:`e^{x_k - m}` over every entry *but one
    maximum's* (which is exactly 1): adding that 1 before the log would round
    away the tiny log-probability of a dominant class, log_softmax([0, -50])[0]
    = -1.9e-22. Then :math:`\log p_c` = ``(x_c - m) - log_norm``.
    """
    x = np.ascontiguousarray(x)
    axis = range(x.ndim)[axis]  # a non-negative axis
    top = np.argmax(x, axis=axis)
    top_flat = _flat_index(x.shape, axis, top)
    m = np.expand_dims(x.reshape(-1)[top_flat], axis)
    e = x - m
    np.exp(e, out=e)
    e.reshape(-1)[top_flat] = 0
    s = e.sum(axis=axis, keepdims=True)
    _refine_small_sums(x, top, s, axis)
    return m, np.log1p(s)


def _flat_index(shape, axis, index):
    """Flat positions, in a C-contiguous array of ``shape``, of the entries picked by
    ``index`` along ``axis`` (``index`` has ``shape`` without ``axis``).

    One flat gather ``a.reshape(-1)[...]`` is a few times faster than the
    broadcast fancy indexing of ``np.take_along_axis``.
    """
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    pos = np.arange(index.size).reshape(index.shape)  # running position, axis removed
    return pos + (pos // inner) * ((shape[axis] - 1) * inner) + index * inner


def _refine_small_sums(x, top, s, axis):
    """Recompute, in place, the sums ``s < 1/2`` of :func:`_logsumexp_parts` to full accuracy.

    There a class dominates and log p_top = -log1p(s) is about -s, so ``s`` needs
    full relative accuracy; but each ``x_k - m`` was rounded, by up to
    |x_k - m| * eps / 2, which exp turns into a relative error as large (14 ulps
    at x_k - m = -100). Folding the exact rounding error r back in,
    exp(d + r) = exp(d) (1 + r), repairs it. Only those rows pay for it.
    """
    rows = np.squeeze(s < 0.5, axis)
    if not rows.any():
        return
    xs, ts = np.moveaxis(x, axis, -1)[rows], top[rows][:, None]  # (K, C), (K, 1)
    m = np.take_along_axis(xs, ts, axis=-1)
    d = xs - m
    e = np.exp(d)
    e += e * _two_sum_error(xs, -m, d)
    np.put_along_axis(e, ts, 0, axis=-1)
    np.moveaxis(s, axis, -1)[rows] = e.sum(axis=-1, keepdims=True)


@computed_in_float64
def log_softmax(x, *, axis=-1):
    r"""Log-softmax :math:`x_c - \log\sum_k e^{x_k}` along ``axis``, stable and accurate.

    The log-sum-exp is :math:`m + \log(1 + \sum_{k \ne k^*} e^{x_k - m})`
    with :math:`m = x_{k^*} = \max_k x_k`, evaluated with ``log1p``.

    Example:
        >>> print(log_softmax([0.0, -50.0])[0])
        -1.9287498479639178e-22
    """
    x = _as_vectors(x)
    m, log_norm = _logsumexp_parts(x, axis)
    out = x - m
    out -= log_norm
    return out


# The binary helpers below return new arrays and update them in place (``a *= b``,
# ``out=``): fewer large temporaries is faster, as each costs fresh memory pages.
# ``np.asarray`` keeps 0-d results writable arrays rather than NumPy scalars.


def _exp_neg_abs(z):
    r""":math:`e^{-|z|} \in (0, 1]`: the only exponential the binary losses need."""
    e = np.asarray(np.abs(z))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _log1p_unit(e):
    """log(1 + e) for e in [0, 1], as a new array (float64: see :mod:`lossutils._stable`)."""
    return np.asarray(np.log1p(e))


def _softplus_pair(z, e=None):
    r"""Return :math:`(\mathrm{softplus}(z), \mathrm{softplus}(-z)) = (-\log(1-p), -\log p)`
    for :math:`p = \sigma(z)`, as :math:`\max(\pm z, 0) + \log(1 + e^{-|z|})`
    (``e`` = :math:`e^{-|z|}` if already computed)."""
    tail = _log1p_unit(_exp_neg_abs(z) if e is None else e)
    relu = np.asarray(np.maximum(z, 0))
    sp_neg = relu - z  # max(-z, 0), exactly
    sp_neg += tail
    relu += tail
    return relu, sp_neg


def _sigmoid_pair(z, e=None):
    r"""Return :math:`(\sigma(z), \sigma(-z)) = (p, 1 - p)`, each to full relative accuracy.

    With :math:`e = e^{-|z|}`: :math:`\sigma(|z|) = 1/(1+e)` and
    :math:`\sigma(-|z|) = e/(1+e)` (not :math:`1 - \sigma(|z|)`, which would
    cancel). ``maximum(e, z >= 0)`` picks the numerator 1 or e without a slow
    ``np.where``.
    """
    if e is None:
        e = _exp_neg_abs(z)
    inv = np.asarray(1 + e)
    np.reciprocal(inv, out=inv)
    pos = z >= 0
    p = np.asarray(np.maximum(e, pos))
    p *= inv
    inv *= np.maximum(e, ~pos)  # now 1 - p
    return p, inv


# --------------------------------------------------------------------------
# Binary cross-entropy
# --------------------------------------------------------------------------

def _binary_inputs(first, target, name, reduction):
    """Validate an elementwise binary loss: same shapes, targets in [0, 1]."""
    check_reduction(reduction)
    x = as_float_array(first, name)
    t = as_target_array(target, "target", x.dtype)
    check_nonempty(x, name)
    check_same_shape(x, t, name, "target")
    check_unit_interval(t, "target")
    return x, t


def _check_eps(eps):
    if eps is None:
        return None
    eps = check_scalar(eps, "eps", positive=True)
    if eps >= 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    return eps


@computed_in_float64
def binary_cross_entropy(prob, target, *, weight=None, eps=None, reduction="mean"):
    r"""Binary cross-entropy between predicted probabilities and targets.

    The negative log-likelihood of a Bernoulli target: confident wrong
    predictions cost a lot (:math:`-\log p \to \infty` as :math:`p \to 0`).

    .. math::
        \ell_i = -w_i\,\big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big], \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Two ways to keep :math:`\log 0` finite:

    * ``eps=None`` (default) is exactly PyTorch's ``F.binary_cross_entropy``:
      each log term is clamped at -100, so a certain mistake costs 100.
    * ``eps`` a float clips ``prob`` to :math:`[\epsilon, 1-\epsilon]` first
      (the classic epsilon advice); the gradient is then 0 outside the clip.

    Better still, keep logits and use :func:`binary_cross_entropy_with_logits`.

    Args:
        prob: predicted probabilities in [0, 1], any shape.
        target: targets in [0, 1], the same shape as ``prob``.
        weight: optional rescaling weight broadcastable to ``prob``'s shape.
        eps: None, or the clipping margin in (0, 0.5).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``prob``'s float dtype, or the elementwise losses for 'none'.

    References:
        Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 6.2.2.

    Example:
        >>> print(round(float(binary_cross_entropy([0.9, 0.2], [1.0, 0.0])), 4))
        0.1643
        >>> print(binary_cross_entropy([0.0], [1.0]), round(float(binary_cross_entropy([0.0], [1.0], eps=1e-7)), 4))
        100.0 16.1181
    """
    p, t = _binary_inputs(prob, target, "prob", reduction)
    check_unit_interval(p, "prob")
    eps = _check_eps(eps)
    w = as_broadcast_weight(weight, "weight", p.shape, p.dtype)
    if eps is not None:
        p = np.clip(p, eps, 1 - eps)
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped right below
        log_p, log_q = np.asarray(np.log(p)), np.asarray(np.log1p(-p))
    if eps is None:
        np.maximum(log_p, _LOG_FLOOR, out=log_p)
        np.maximum(log_q, _LOG_FLOOR, out=log_q)
    log_p *= t
    log_q *= 1 - t
    log_p += log_q
    loss = np.negative(log_p, out=log_p)
    if w is not None:
        loss *= w
    return apply_reduction(loss, reduction)


@computed_in_float64
def grad_binary_cross_entropy(prob, target, *, weight=None, eps=None, reduction="mean"):
    r"""Gradient of :func:`binary_cross_entropy` with respect to ``prob``.

    :math:`w_i (p_i - y_i) / \max(p_i(1-p_i), 10^{-12})` with ``eps=None``
    (PyTorch's backward, which ignores the -100 clamp); with ``eps`` the
    derivative of the clipped loss, 0 where ``prob`` was clipped.

    Example:
        >>> grad_binary_cross_entropy([0.5, 0.5], [1.0, 0.0], reduction="sum").tolist()
        [-2.0, 2.0]
    """
    p, t = _binary_inputs(prob, target, "prob", reduction)
    check_unit_interval(p, "prob")
    eps = _check_eps(eps)
    w = as_broadcast_weight(weight, "weight", p.shape, p.dtype)
    if eps is None:
        g = np.asarray(p - t)
        g /= np.maximum((1 - p) * p, _BCE_GRAD_EPS)
    else:
        inside = (p >= eps) & (p <= 1 - eps)
        pc = np.clip(p, eps, 1 - eps)
        g = np.where(inside, (pc - t) / (pc * (1 - pc)), 0)
    if w is not None:
        g *= w
    g *= grad_reduction_scale(reduction, p.size, g.dtype)
    return g


@computed_in_float64
def binary_cross_entropy_with_logits(logits, target, *, weight=None, pos_weight=None, reduction="mean"):
    r"""Binary cross-entropy computed from logits, stably.

    Fusing the sigmoid into the loss turns :math:`-\log\sigma(z)` into
    :math:`\mathrm{softplus}(-z)`, which never overflows and never takes
    :math:`\log 0`.

    .. math::
        \ell_i = w_i\,\big[\,p_w\, y_i\, \mathrm{softplus}(-z_i)
                  + (1 - y_i)\,\mathrm{softplus}(z_i)\big], \qquad
        \mathrm{softplus}(z) = \max(z, 0) + \log(1 + e^{-|z|})

    Both terms are :math:`\ge 0` and added, never subtracted, so the result
    keeps its relative accuracy: PyTorch's :math:`(1-y)z - \log\sigma(z)`
    rounds the loss of :math:`z=-50, y=0` to 0 instead of
    :math:`1.9\times 10^{-22}`. Otherwise it equals ``F.binary_cross_entropy_with_logits``.

    Args:
        logits: real-valued scores :math:`z`, any shape.
        target: targets in [0, 1], the same shape as ``logits``.
        weight: optional rescaling weight broadcastable to ``logits``' shape.
        pos_weight: optional weight :math:`p_w` of the positive term,
            broadcastable to ``logits``' shape (e.g. one per class, ``(C,)``).
        reduction: ``'mean'`` (default, over all elements), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``logits``' float dtype, or the elementwise losses for 'none'.

    References:
        PyTorch ``BCEWithLogitsLoss``; Goodfellow et al., *Deep Learning* (2016), 6.2.2.2.

    Example:
        >>> print(round(float(binary_cross_entropy_with_logits([2.0, -1.0], [1.0, 0.0])), 4))
        0.22
        >>> print(binary_cross_entropy_with_logits([-50.0], [0.0]))
        1.9287498479639178e-22
    """
    z, t = _binary_inputs(logits, target, "logits", reduction)
    w = as_broadcast_weight(weight, "weight", z.shape, z.dtype)
    pw = as_broadcast_weight(pos_weight, "pos_weight", z.shape, z.dtype)
    sp_pos, sp_neg = _softplus_pair(z)
    sp_neg *= t if pw is None else pw * t
    sp_pos *= 1 - t
    loss = sp_neg
    loss += sp_pos
    if w is not None:
        loss *= w
    return apply_reduction(loss, reduction)


@computed_in_float64
def grad_binary_cross_entropy_with_logits(logits, target, *, weight=None, pos_weight=None, reduction="mean"):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``:
    :math:`w_i\,[(1-y_i)\sigma(z_i) - p_w y_i \sigma(-z_i)] / D` (:math:`= \sigma(z) - y` if :math:`p_w = 1`).

    Example:
        >>> grad_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], reduction="sum").tolist()
        [-0.5, 0.5]
    """
    z, t = _binary_inputs(logits, target, "logits", reduction)
    w = as_broadcast_weight(weight, "weight", z.shape, z.dtype)
    pw = as_broadcast_weight(pos_weight, "pos_weight", z.shape, z.dtype)
    g, s_neg = _sigmoid_pair(z)
    g *= 1 - t
    s_neg *= t if pw is None else pw * t
    g -= s_neg
    if w is not None:
        g *= w
    g *= grad_reduction_scale(reduction, z.size, g.dtype)
    return g


def _multilabel_inputs(logits, target, reduction):
    z, t = _binary_inputs(logits, target, "logits", reduction)
    if z.ndim == 0:
        raise ValueError("logits must have shape (N, L) or (L,), got a scalar")
    return z, t


@computed_in_float64
def multilabel_soft_margin_loss(logits, target, *, weight=None, reduction="mean"):
    r"""Multi-label soft-margin loss: one independent sigmoid BCE per label.

    Each of the :math:`L` labels (last axis) is a yes/no question; a
    sample's loss is the mean of its :math:`L` binary cross-entropies.

    .. math::
        \ell_i = \frac1L \sum_{j=1}^L w_j\,\big[y_{ij}\,\mathrm{softplus}(-z_{ij})
                 + (1 - y_{ij})\,\mathrm{softplus}(z_{ij})\big]

    then 'mean' or 'sum' over samples. Mean-reduced, it equals
    :func:`binary_cross_entropy_with_logits` over all ``(N, L)`` elements.

    Args:
        logits: ``(N, L)`` or ``(L,)`` label scores.
        target: 0/1 (or soft) labels, the same shape as ``logits``.
        weight: optional weight broadcastable to ``logits``' shape, e.g. ``(L,)``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (one loss per sample).

    Returns:
        A scalar of ``logits``' float dtype, or the per-sample losses for 'none'.

    References:
        PyTorch ``MultiLabelSoftMarginLoss``.

    Example:
        >>> print(round(float(multilabel_soft_margin_loss([[2.0, -1.0]], [[1.0, 0.0]])), 4))
        0.22
    """
    z, t = _multilabel_inputs(logits, target, reduction)
    w = as_broadcast_weight(weight, "weight", z.shape, z.dtype)
    sp_pos, sp_neg = _softplus_pair(z)
    sp_neg *= t
    sp_pos *= 1 - t
    loss = sp_neg
    loss += sp_pos
    if w is not None:
        loss *= w
    return apply_reduction(loss.sum(axis=-1) / z.shape[-1], reduction)


@computed_in_float64
def grad_multilabel_soft_margin_loss(logits, target, *, weight=None, reduction="mean"):
    r"""Gradient of :func:`multilabel_soft_margin_loss`: :math:`w_j (\sigma(z_{ij}) - y_{ij}) / (L D)`.

    Example:
        >>> grad_multilabel_soft_margin_loss([[0.0, 0.0]], [[1.0, 0.0]]).tolist()
        [[-0.25, 0.25]]
    """
    z, t = _multilabel_inputs(logits, target, reduction)
    w = as_broadcast_weight(weight, "weight", z.shape, z.dtype)
    g, s_neg = _sigmoid_pair(z)
    g *= 1 - t
    s_neg *= t
    g -= s_neg
    if w is not None:
        g *= w
    g *= grad_reduction_scale(reduction, z.size // z.shape[-1], g.dtype) / z.shape[-1]
    return g


# --------------------------------------------------------------------------
# Multi-class cross-entropy
# --------------------------------------------------------------------------

def _class_inputs(first, target, name, weight, ignore_index, allow_prob):
    """Validate multi-class inputs; return ``(x, t, w, is_prob, unbatched)``.

    ``x`` always has a batch axis (a ``(C,)`` input becomes ``(1, C)``);
    ``t`` holds class indices ``(N, d1, ...)`` or, if ``is_prob``,
    probabilities shaped like ``x``.
    """
    x = as_float_array(first, name)
    ignore_index = check_integer(ignore_index, "ignore_index")
    if x.ndim == 0:
        raise ValueError(f"{name} must have shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    check_nonempty(x, name)
    unbatched = x.ndim == 1
    n_classes = x.shape[0] if unbatched else x.shape[1]
    index_shape = () if unbatched else x.shape[:1] + x.shape[2:]
    w = as_weight(weight, "weight", (n_classes,), x.dtype)
    t = np.asarray(target)
    is_prob = allow_prob and t.dtype.kind == "f"
    if is_prob:
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
    return np.ascontiguousarray(x), t, w, is_prob, unbatched


def _check_smoothing(label_smoothing):
    eps = check_scalar(label_smoothing, "label_smoothing")
    if eps > 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return eps


def _class_weights(w, ndim):
    """Class weights ``(C,)`` shaped to broadcast along axis 1 of an ``ndim`` array."""
    return w.reshape((-1,) + (1,) * (ndim - 2))


def _index_terms(x, t, w, ignore_index):
    """Return ``(at_target, valid, w_y)`` for class-index targets ``t``:
    ``x.reshape(-1)[at_target]`` are the target entries ``x[i, t_i, ...]`` (class 0
    for ignored targets), ``valid`` masks the targets not ignored and ``w_y`` holds
    their class weights (1 without weights, 0 where ignored)."""
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w_y = valid.astype(x.dtype) if w is None else np.where(valid, w[safe], 0).astype(x.dtype)
    return _flat_index(x.shape, 1, safe), valid, w_y


def _neg_log_softmax(x, m, log_norm):
    """``-log p = log_norm - (x - m) >= 0`` from :func:`_logsumexp_parts`, as a new array."""
    out = m - x
    out += log_norm
    return out


def _unbatch(result, unbatched, reduction):
    return result.reshape(()) if unbatched and reduction == "none" else result


@computed_in_float64
def cross_entropy(logits, target, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    r"""Multi-class cross-entropy from logits (log-softmax + negative log-likelihood).

    The loss is the surprise :math:`-\log p_y` of the true class under the
    softmax distribution; label smoothing mixes the one-hot target with the
    uniform distribution so that the model is not pushed to infinite logits.

    With class-index targets :math:`y_i`, class weights :math:`w`,
    smoothing :math:`\varepsilon` and :math:`C` classes (exactly PyTorch):

    .. math::
        \ell_i = (1-\varepsilon)\, w_{y_i} \big(-\log p_{i,y_i}\big)
                 + \frac{\varepsilon}{C} \sum_{c} w_c \big(-\log p_{i,c}\big),
        \qquad p_i = \mathrm{softmax}(z_i),

    :math:`\ell_i = 0` where :math:`y_i` = ``ignore_index``, and 'mean' divides
    by :math:`\sum_{i \text{ not ignored}} w_{y_i}` (the number of non-ignored
    targets without weights). If every target is ignored, 'mean' is NaN, as
    in PyTorch (and the gradient is 0).

    With class-probability targets :math:`q_i` (floats, shaped like the logits):

    .. math::
        \ell_i = -\sum_c w_c\, \tilde q_{i,c} \log p_{i,c}, \qquad
        \tilde q = (1-\varepsilon)\, q + \varepsilon / C,

    and 'mean' divides by the number of samples (weights do not enter the
    denominator; a non-negative ``ignore_index`` raises, as in PyTorch).

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` scores.
        target: integer class indices of shape ``(N,)``, ``(N, d1, ...)`` or
            ``()``; or float class probabilities of the logits' shape.
        weight: optional per-class weights, shape ``(C,)``.
        ignore_index: class-index value whose targets are skipped (e.g. padding).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape of the
            class-index target).

    Returns:
        A scalar of ``logits``' float dtype, or the per-sample losses for 'none'.

    References:
        Szegedy et al., "Rethinking the Inception Architecture for Computer
        Vision", CVPR 2016 (label smoothing); PyTorch ``CrossEntropyLoss``.

    Example:
        >>> logits = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
        >>> print(round(float(cross_entropy(logits, [0, 1])), 4))
        0.3606
        >>> print(round(float(cross_entropy(logits, [0, -100])), 4))
        0.1698
        >>> print(round(float(cross_entropy(logits, [0, 1], label_smoothing=0.1)), 4))
        0.4773
    """
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    x, t, w, is_prob, unbatched = _class_inputs(logits, target, "logits", weight, ignore_index, True)
    n_classes = x.shape[1]
    m, log_norm = _logsumexp_parts(x, axis=1)
    if is_prob:
        q = t if eps == 0 else (1 - eps) * t + eps / n_classes
        wq = q if w is None else q * _class_weights(w, x.ndim)
        loss = (wq * _neg_log_softmax(x, m, log_norm)).sum(axis=1)  # terms >= 0: no cancellation
        return _unbatch(apply_reduction(loss, reduction), unbatched, reduction)
    at_target, valid, w_y = _index_terms(x, t, w, ignore_index)
    loss = w_y * (log_norm[:, 0] - (x.reshape(-1)[at_target] - m[:, 0]))
    if eps > 0:
        neg_log_p = _neg_log_softmax(x, m, log_norm)
        if w is not None:
            neg_log_p = neg_log_p * _class_weights(w, x.ndim)
        smooth = np.where(valid, neg_log_p.sum(axis=1), 0)
        loss = (1 - eps) * loss + (eps / n_classes) * smooth
    return _unbatch(apply_reduction(loss, reduction, w_y.sum()), unbatched, reduction)


@computed_in_float64
def grad_cross_entropy(logits, target, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``.

    For class indices, per sample (rows of ignored targets are 0):

    .. math::
        \frac{\partial \ell_i}{\partial z_{i}} = (1-\varepsilon)\, w_{y_i} (p_i - e_{y_i})
            + \frac{\varepsilon}{C}\Big(p_i \sum_c w_c - w\Big);

    for probability targets :math:`p_i \sum_c w_c \tilde q_{ic} - w \odot \tilde q_i`.
    Then divided by the 'mean' denominator. Plain case: ``(softmax - onehot) / N``.

    Example:
        >>> grad_cross_entropy([[0.0, 0.0]], [1]).tolist()
        [[0.5, -0.5]]
    """
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    x, t, w, is_prob, unbatched = _class_inputs(logits, target, "logits", weight, ignore_index, True)
    n_classes = x.shape[1]
    p = softmax(x, axis=1)
    if is_prob:
        q = t if eps == 0 else (1 - eps) * t + eps / n_classes
        wq = q if w is None else q * _class_weights(w, x.ndim)
        g = p * wq.sum(axis=1, keepdims=True) - wq
        g *= grad_reduction_scale(reduction, x.size // n_classes, g.dtype)
        return g[0] if unbatched else g
    at_target, valid, w_y = _index_terms(x, t, w, ignore_index)
    hard = (1 - eps) * w_y  # coefficient of (p - onehot)
    if eps > 0:
        soft = (eps / n_classes) * valid.astype(x.dtype)  # coefficient of (p sum(w) - w)
        w_total = n_classes if w is None else w.sum()
        w_b = 1 if w is None else _class_weights(w, x.ndim)
        g = p * (hard + soft * w_total)[:, None] - soft[:, None] * w_b
    else:
        g = p * hard[:, None]
    g.reshape(-1)[at_target] -= hard  # g is a new C-contiguous array: reshape is a view
    g *= grad_reduction_scale(reduction, w_y.sum(), g.dtype)
    return g[0] if unbatched else g


def nll_loss(log_probs, target, *, weight=None, ignore_index=-100, reduction="mean"):
    r"""Negative log-likelihood of class indices, given log-probabilities.

    :func:`cross_entropy` is ``nll_loss(log_softmax(logits, axis=1), ...)``;
    use this one when the model already outputs log-probabilities.

    .. math::
        \ell_i = -w_{y_i} \log p_{i, y_i}\ (0 \text{ if ignored}), \qquad
        \text{mean} = \sum_i \ell_i \Big/ \sum_{i \text{ not ignored}} w_{y_i}

    'mean' over all-ignored targets is NaN, as in PyTorch.

    Args:
        log_probs: ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)`` log-probabilities.
        target: integer class indices, shape ``(N,)``, ``(N, d1, ...)`` or ``()``.
        weight: optional per-class weights, shape ``(C,)``.
        ignore_index: class-index value whose targets are skipped.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``log_probs``' float dtype, or the per-sample losses for 'none'.

    References:
        PyTorch ``NLLLoss``; Bishop, *Pattern Recognition and Machine Learning* (2006), 4.3.4.

    Example:
        >>> print(round(float(nll_loss(np.log([[0.5, 0.5], [0.9, 0.1]]), [0, 0])), 4))
        0.3993
    """
    check_reduction(reduction)
    x, t, w, _, unbatched = _class_inputs(log_probs, target, "log_probs", weight, ignore_index, False)
    at_target, _, w_y = _index_terms(x, t, w, ignore_index)
    loss = -w_y * x.reshape(-1)[at_target]
    return _unbatch(apply_reduction(loss, reduction, w_y.sum()), unbatched, reduction)


def grad_nll_loss(log_probs, target, *, weight=None, ignore_index=-100, reduction="mean"):
    r"""Gradient of :func:`nll_loss` with respect to ``log_probs``: :math:`-w_{y_i} e_{y_i} / D`.

    Example:
        >>> grad_nll_loss(np.log([[0.5, 0.5]]), [1]).tolist()
        [[0.0, -1.0]]
    """
    check_reduction(reduction)
    x, t, w, _, unbatched = _class_inputs(log_probs, target, "log_probs", weight, ignore_index, False)
    at_target, _, w_y = _index_terms(x, t, w, ignore_index)
    g = np.zeros_like(x)
    g.reshape(-1)[at_target] = -w_y * grad_reduction_scale(reduction, w_y.sum(), x.dtype)
    return g[0] if unbatched else g
