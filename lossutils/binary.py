r"""Binary and multi-label classification: binary cross-entropy, from probabilities or from
logits, and the multi-label soft-margin loss, with their gradients.

The losses that take logits fuse the sigmoid into the loss
(``lossutils._stable.bce_logits``), never ``log(sigmoid(z))``, so that nothing overflows for
finite logits (tested up to :math:`|z| = 10^4`) and the result keeps its relative accuracy where
PyTorch's rounds to 0 (the BCE of logit -50 with target 0 is :math:`\approx 1.9\times 10^{-22}`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, elementwise, rowwise
from ._stable import bce_logits, bce_logits_grad
from ._validation import (
    as_broadcast_weight,
    check_scalar,
    check_unit_interval,
    mean_scale,
    pair_inputs,
)

__all__ = registry.exports("binary")

# PyTorch's binary_cross_entropy clamps each log term at -100 and its backward divides by
# max(p (1 - p), EPSILON), EPSILON being the float32 constant 1e-12.
_LOG_FLOOR = -100.0
_BCE_GRAD_EPS = float(np.float32(1e-12))


# --------------------------------------------------------------------------
# From probabilities
# --------------------------------------------------------------------------


def _check_eps(eps: float | None) -> float | None:
    if eps is None:
        return None
    eps = check_scalar(eps, "eps", positive=True)
    if eps >= 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    return eps


def _prob_inputs(prob, target, weight, eps, reduction):
    p, t = pair_inputs(prob, target, name="prob", reduction=reduction, probabilities=True)
    check_unit_interval(p, "prob")
    return p, t, as_broadcast_weight(weight, "weight", p.shape, p.dtype), _check_eps(eps)


def binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    eps: float | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Binary cross-entropy between predicted probabilities and targets.

    The negative log-likelihood of a Bernoulli target: confident wrong predictions cost a lot
    (:math:`-\log p \to \infty` as :math:`p \to 0`).

    .. math::
        \ell_i = -w_i\,\big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big], \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Two ways to keep :math:`\log 0` finite:

    * ``eps=None`` (default) is exactly PyTorch's ``F.binary_cross_entropy``: each log term is
      clamped at -100, so a certain mistake costs 100.
    * ``eps`` a float clips ``prob`` to :math:`[\epsilon, 1-\epsilon]` first (the classic
      epsilon advice); the gradient is then 0 outside the clip.

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

    Taught in: :ref:`binary-cross-entropy`

    Example:
        >>> print(round(float(binary_cross_entropy([0.9, 0.2], [1.0, 0.0])), 4))
        0.1643
        >>> print(binary_cross_entropy([0.0], [1.0]), round(float(binary_cross_entropy([0.0], [1.0], eps=1e-7)), 4))
        100.0 16.1181
    """
    p, t, w, eps = _prob_inputs(prob, target, weight, eps, reduction)

    def loss(p, t):
        if eps is not None:
            p = np.clip(p, eps, 1 - eps)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped at -100 as in PyTorch
            log_p, log_q = np.log(p), np.log1p(-p)
        if eps is None:
            log_p, log_q = np.maximum(log_p, _LOG_FLOOR), np.maximum(log_q, _LOG_FLOOR)
        return -(t * log_p + (1 - t) * log_q)

    return elementwise(loss, reduction, weight=w, p=p, t=t)


def grad_binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    eps: float | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy` with respect to ``prob``.

    :math:`w_i (p_i - y_i) / \max(p_i(1-p_i), 10^{-12})` with ``eps=None`` (PyTorch's backward,
    which ignores the -100 clamp); with ``eps`` the derivative of the clipped loss, 0 where
    ``prob`` was clipped.

    Example:
        >>> grad_binary_cross_entropy([0.5, 0.5], [1.0, 0.0], reduction="sum").tolist()
        [-2.0, 2.0]
    """
    p, t, w, eps = _prob_inputs(prob, target, weight, eps, reduction)
    scale = mean_scale(reduction, p.size)

    def grad(p, t):
        if eps is None:
            return scale * (p - t) / np.maximum(p * (1 - p), _BCE_GRAD_EPS)
        inside = (p >= eps) & (p <= 1 - eps)
        pc = np.clip(p, eps, 1 - eps)
        return np.where(inside, scale * (pc - t) / (pc * (1 - pc)), 0.0)

    return elementwise(grad, weight=w, p=p, t=t)


# --------------------------------------------------------------------------
# From logits
# --------------------------------------------------------------------------


def _logit_inputs(logits, target, weight, pos_weight, reduction):
    z, t = pair_inputs(logits, target, name="logits", reduction=reduction, probabilities=True)
    w = as_broadcast_weight(weight, "weight", z.shape, z.dtype)
    return z, t, w, as_broadcast_weight(pos_weight, "pos_weight", z.shape, z.dtype)


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Binary cross-entropy computed from logits, stably.

    Fusing the sigmoid into the loss turns :math:`-\log\sigma(z)` into
    :math:`\mathrm{softplus}(-z)`, which never overflows and never takes :math:`\log 0`.

    .. math::
        \ell_i = w_i\,\big[\,p_w\, y_i\, \mathrm{softplus}(-z_i)
                  + (1 - y_i)\,\mathrm{softplus}(z_i)\big], \qquad
        \mathrm{softplus}(z) = \max(z, 0) + \log(1 + e^{-|z|})

    Both terms are :math:`\ge 0` and added, never subtracted, so the result keeps its relative
    accuracy: PyTorch's :math:`(1-y)z - \log\sigma(z)` rounds the loss of :math:`z=-50, y=0` to 0
    instead of :math:`1.9\times 10^{-22}`. Otherwise it equals
    ``F.binary_cross_entropy_with_logits``.

    Args:
        logits: real-valued scores :math:`z`, any shape.
        target: targets in [0, 1], the same shape as ``logits``.
        weight: optional rescaling weight broadcastable to ``logits``' shape.
        pos_weight: optional weight :math:`p_w` of the positive term, broadcastable to
            ``logits``' shape (e.g. one per class, ``(C,)``).
        reduction: ``'mean'`` (default, over all elements), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``logits``' float dtype, or the elementwise losses for 'none'.

    References:
        PyTorch ``BCEWithLogitsLoss``; Goodfellow et al., *Deep Learning* (2016), 6.2.2.2.

    Taught in: :ref:`binary-cross-entropy`

    Example:
        >>> print(round(float(binary_cross_entropy_with_logits([2.0, -1.0], [1.0, 0.0])), 4))
        0.22
        >>> print(binary_cross_entropy_with_logits([-50.0], [0.0]))
        1.9287498479639178e-22
    """
    z, t, w, pw = _logit_inputs(logits, target, weight, pos_weight, reduction)
    return elementwise(
        lambda z, t, pw=None: bce_logits(z, t, pos_weight=pw), reduction, weight=w, z=z, t=t, pw=pw
    )


def grad_binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``:
    :math:`w_i\,[(1-y_i)\sigma(z_i) - p_w y_i \sigma(-z_i)] / D` (:math:`= \sigma(z) - y` if
    :math:`p_w = 1`).

    Example:
        >>> grad_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], reduction="sum").tolist()
        [-0.5, 0.5]
    """
    z, t, w, pw = _logit_inputs(logits, target, weight, pos_weight, reduction)
    scale = mean_scale(reduction, z.size)
    return elementwise(
        lambda z, t, pw=None: bce_logits_grad(z, t, pos_weight=pw, scale=scale),
        weight=w,
        z=z,
        t=t,
        pw=pw,
    )


def _multilabel_inputs(logits, target, weight, reduction):
    z, t, w, _ = _logit_inputs(logits, target, weight, None, reduction)
    if z.ndim == 0:
        raise ValueError("logits must have shape (N, L) or (L,), got a scalar")
    return z, t, w


def multilabel_soft_margin_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Multi-label soft-margin loss: one independent sigmoid BCE per label.

    Each of the :math:`L` labels (last axis) is a yes/no question; a sample's loss is the mean
    of its :math:`L` binary cross-entropies.

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

    Taught in: :ref:`task-types`

    Example:
        >>> print(round(float(multilabel_soft_margin_loss([[2.0, -1.0]], [[1.0, 0.0]])), 4))
        0.22
    """
    z, t, w = _multilabel_inputs(logits, target, weight, reduction)
    n_labels = z.shape[-1]
    w = None if w is None else np.broadcast_to(w, z.shape)

    def per_sample(z, t, w=1.0):  # blocks (samples, labels, 1)
        return (w * bce_logits(z, t)).sum(axis=1) / n_labels

    return rowwise(per_sample, reduction, axis=-1, z=z, t=t, w=w)


def grad_multilabel_soft_margin_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`multilabel_soft_margin_loss`:
    :math:`w_j (\sigma(z_{ij}) - y_{ij}) / (L D)`.

    Example:
        >>> grad_multilabel_soft_margin_loss([[0.0, 0.0]], [[1.0, 0.0]]).tolist()
        [[-0.25, 0.25]]
    """
    z, t, w = _multilabel_inputs(logits, target, weight, reduction)
    scale = mean_scale(reduction, z.size // z.shape[-1]) / z.shape[-1]
    return elementwise(lambda z, t: bce_logits_grad(z, t, scale=scale), weight=w, z=z, t=t)
