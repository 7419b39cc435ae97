r"""Losses for imbalanced data: weighted BCE and focal losses, with gradients.

Class weights rescale the loss of each class; focal losses additionally
down-weight the *easy* examples, those already predicted with confidence,
by the factor :math:`(1 - p_t)^\gamma`. All of them are computed from logits
with log-sigmoid / log-softmax, so they stay finite and accurate at extreme
logits: the focal factor is a power of :math:`1 - p_t` computed without
cancellation (never as 1 minus a probability rounded to 1), and its log-space
form :math:`\exp(\gamma \log(1 - p_t))` where :math:`1 - p_t` underflows.
"""

import numpy as np

from ._stable import computed_in_float64
from ._validation import apply_reduction, as_weight, check_reduction, check_scalar, grad_reduction_scale
from .classification import (
    _binary_inputs,
    _exp_neg_abs,
    _class_inputs,
    _index_terms,
    _logsumexp_parts,
    _sigmoid_pair,
    _softplus_pair,
    _unbatch,
    softmax,
)

__all__ = [
    "weighted_binary_cross_entropy_with_logits", "sigmoid_focal_loss", "softmax_focal_loss",
    "grad_weighted_binary_cross_entropy_with_logits", "grad_sigmoid_focal_loss",
    "grad_softmax_focal_loss",
]


def _check_gamma(gamma):
    return check_scalar(gamma, "gamma")


def _check_alpha(alpha):
    if isinstance(alpha, (bool, np.bool_)) or not np.isscalar(alpha) or not np.isreal(alpha) or not np.isfinite(alpha):
        raise TypeError(f"alpha must be a finite real number (a negative one disables it), got {alpha!r}")
    return float(alpha)


@computed_in_float64
def weighted_binary_cross_entropy_with_logits(logits, target, *, w0=1.0, w1=1.0, reduction="mean"):
    r"""Binary cross-entropy with separate weights for the positive and negative class.

    Raising :math:`w_1` above :math:`w_0` makes a missed positive cost more:
    the usual first remedy when positives are rare.

    .. math::
        \ell_i = -\big[w_1 y_i \log p_i + w_0 (1 - y_i)\log(1 - p_i)\big]
               = w_1 y_i\,\mathrm{softplus}(-z_i) + w_0 (1 - y_i)\,\mathrm{softplus}(z_i),
        \qquad p_i = \sigma(z_i)

    It equals ``binary_cross_entropy_with_logits(z, y, weight=w0, pos_weight=w1/w0)``.

    Args:
        logits: real-valued scores :math:`z`, any shape.
        target: targets in [0, 1], the same shape as ``logits``.
        w0: weight of the negative class, >= 0.
        w1: weight of the positive class, >= 0.
        reduction: ``'mean'`` (default, over elements), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``logits``' float dtype, or the elementwise losses for 'none'.

    References:
        King & Zeng, "Logistic Regression in Rare Events Data", Political Analysis 2001.

    Example:
        >>> print(round(float(weighted_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], w1=3.0)), 4))
        1.3863
    """
    w0, w1 = check_scalar(w0, "w0"), check_scalar(w1, "w1")
    z, t = _binary_inputs(logits, target, "logits", reduction)
    sp_pos, sp_neg = _softplus_pair(z)
    sp_neg *= w1 * t
    sp_pos *= w0 * (1 - t)
    sp_neg += sp_pos
    return apply_reduction(sp_neg, reduction)


@computed_in_float64
def grad_weighted_binary_cross_entropy_with_logits(logits, target, *, w0=1.0, w1=1.0, reduction="mean"):
    r"""Gradient of :func:`weighted_binary_cross_entropy_with_logits`:
    :math:`[w_0 (1 - y_i)\sigma(z_i) - w_1 y_i \sigma(-z_i)] / D`.

    Example:
        >>> grad_weighted_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], w1=3.0, reduction="sum").tolist()
        [-1.5, 0.5]
    """
    w0, w1 = check_scalar(w0, "w0"), check_scalar(w1, "w1")
    z, t = _binary_inputs(logits, target, "logits", reduction)
    g, s_neg = _sigmoid_pair(z)
    g *= w0 * (1 - t)
    s_neg *= w1 * t
    g -= s_neg
    g *= grad_reduction_scale(reduction, z.size, g.dtype)
    return g


def _sigmoid_focal_parts(z, t, gamma):
    """Return ``(ce, q, focal, p, 1 - p, tiny)``: the BCE with logits, ``q = 1 - p_t``,
    ``focal = q ** gamma`` and the mask where ``q`` is below the normal range."""
    e = _exp_neg_abs(z)
    sp_pos, sp_neg = _softplus_pair(z, e)  # -log(1 - p), -log p
    s_pos, s_neg = _sigmoid_pair(z, e)     # p, 1 - p
    q = np.asarray(t * s_neg)
    q += (1 - t) * s_pos  # 1 - p_t = y (1 - p) + (1 - y) p: no cancellation
    focal = q**gamma
    tiny = q < np.finfo(q.dtype).tiny
    if tiny.any():
        # q is subnormal or 0 (|z| > ~700): its power would lose every digit. There the
        # target is 0 or 1 (q >= min(y, 1 - y)) and log q = -softplus(+-z) exactly.
        log_q = -np.where(t > 0.5, sp_pos, sp_neg)
        focal = np.where(tiny, np.exp(gamma * log_q), focal)
    sp_neg *= t
    sp_pos *= 1 - t
    ce = sp_neg
    ce += sp_pos  # the BCE with logits, y softplus(-z) + (1 - y) softplus(z)
    return ce, q, focal, s_pos, s_neg, tiny


def _alpha_t(alpha, t):
    return 1 if alpha < 0 else alpha * t + (1 - alpha) * (1 - t)


@computed_in_float64
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="none"):
    r"""Binary focal loss from logits (torchvision's ``sigmoid_focal_loss``).

    The cross-entropy of each element is multiplied by :math:`(1 - p_t)^\gamma`,
    which is near 0 for well-classified elements, so that the many easy
    negatives of dense detection do not swamp the few hard examples.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(z_i, y_i), \quad
        p_t = p y + (1 - p)(1 - y), \quad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y), \quad p = \sigma(z)

    (:math:`\alpha_t = 1` when ``alpha < 0``). Computed stably:
    :math:`1 - p_t = y\,\sigma(-z) + (1-y)\,\sigma(z)` (a sum of positive
    terms, no cancellation), raised to :math:`\gamma`; where it underflows,
    :math:`\exp(-\gamma\,\mathrm{softplus}(\pm z))` instead.

    Args:
        logits: real-valued scores :math:`z`, any shape.
        target: targets in [0, 1] (usually 0/1), the same shape as ``logits``.
        alpha: weight of the positive class in [0, 1]; negative disables it.
        gamma: focusing parameter :math:`\gamma \ge 0` (0 gives weighted BCE).
        reduction: ``'none'`` (default, as torchvision), ``'mean'`` or ``'sum'``.

    Returns:
        The elementwise losses, or a scalar of ``logits``' float dtype.

    References:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for
        Dense Object Detection", ICCV 2017.

    Example:
        >>> sigmoid_focal_loss([3.0, -3.0, 0.0], [1.0, 1.0, 1.0]).round(4).tolist()
        [0.0, 0.6916, 0.0433]
    """
    gamma, alpha = _check_gamma(gamma), _check_alpha(alpha)
    z, t = _binary_inputs(logits, target, "logits", reduction)
    loss, _, focal, *_ = _sigmoid_focal_parts(z, t, gamma)
    loss *= focal
    if alpha >= 0:
        loss *= _alpha_t(alpha, t)
    return apply_reduction(loss, reduction)


@computed_in_float64
def grad_sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="none"):
    r"""Gradient of :func:`sigmoid_focal_loss` with respect to ``logits``.

    With :math:`q = 1 - p_t`:

    .. math::
        \frac{\partial \ell}{\partial z} = \alpha_t q^\gamma\Big[(1-y)\,p - y\,(1-p)
            + \gamma\,\mathrm{BCE}\,(1 - 2y)\,\frac{p(1-p)}{q}\Big],

    where :math:`p(1-p)/q \le 1` takes its limit where :math:`q` underflows (no 0/0).

    Example:
        >>> grad_sigmoid_focal_loss([0.0], [1.0], alpha=-1, gamma=0.0).tolist()
        [-0.5]
    """
    gamma, alpha = _check_gamma(gamma), _check_alpha(alpha)
    z, t = _binary_inputs(logits, target, "logits", reduction)
    ce, q, focal, p, p_neg, tiny = _sigmoid_focal_parts(z, t, gamma)
    d_ce = (1 - t) * p - t * p_neg
    if tiny.any():  # there q -> 1 - p (y = 1) or p (y = 0): the ratio's limit, no 0/0
        ratio = np.where(tiny, np.where(t > 0.5, p, p_neg), p * p_neg / np.where(tiny, 1, q))
    else:
        ratio = p * p_neg / q
    g = _alpha_t(alpha, t) * focal * (d_ce + gamma * ce * (1 - 2 * t) * ratio)
    return g * grad_reduction_scale(reduction, z.size, g.dtype)


def _softmax_focal_parts(logits, target, alpha, ignore_index):
    """Validate; return ``(x, at_target, alpha_y, log_p_y, q, unbatched)``, ``q = 1 - p_y``."""
    x, t, _, _, unbatched = _class_inputs(logits, target, "logits", None, ignore_index, False)
    a = as_weight(alpha, "alpha", (x.shape[1],), x.dtype)
    at_target, _, alpha_y = _index_terms(x, t, a, ignore_index)
    m, log_norm = _logsumexp_parts(x, axis=1)
    log_p_y = (x.reshape(-1)[at_target] - m[:, 0]) - log_norm[:, 0]
    return x, at_target, alpha_y, log_p_y, -np.expm1(log_p_y), unbatched


@computed_in_float64
def softmax_focal_loss(logits, target, *, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"):
    r"""Multi-class focal loss from logits.

    Cross-entropy whose per-sample loss is scaled by :math:`(1 - p_y)^\gamma`,
    so confidently right samples contribute almost nothing.

    .. math::
        \ell_i = -\alpha_{y_i}\,(1 - p_{i,y_i})^\gamma \log p_{i,y_i}, \qquad
        p_i = \mathrm{softmax}(z_i), \qquad
        \text{mean} = \sum_i \ell_i \Big/ \sum_{i \text{ not ignored}} \alpha_{y_i}

    Ignored targets contribute 0. The 'mean' denominator (the number of
    non-ignored targets when ``alpha`` is None) is chosen so that with
    :math:`\gamma = 0` this is exactly ``cross_entropy(logits, target, weight=alpha)``.
    :math:`1 - p_y` is computed as ``-expm1(log p_y)``, accurate even when
    :math:`p_y` rounds to 1.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` scores.
        target: integer class indices, shape ``(N,)``, ``(N, d1, ...)`` or ``()``.
        alpha: None (no weighting) or per-class weights of shape ``(C,)``.
        gamma: focusing parameter :math:`\gamma \ge 0`.
        ignore_index: class-index value whose targets are skipped.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``logits``' float dtype, or the per-sample losses for 'none'.

    References:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
        >>> logits = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
        >>> print(round(float(softmax_focal_loss(logits, [0, 1])), 4))
        0.0516
    """
    check_reduction(reduction)
    gamma = _check_gamma(gamma)
    _, _, alpha_y, log_p_y, q, unbatched = _softmax_focal_parts(logits, target, alpha, ignore_index)
    loss = -alpha_y * q**gamma * log_p_y
    return _unbatch(apply_reduction(loss, reduction, alpha_y.sum()), unbatched, reduction)


@computed_in_float64
def grad_softmax_focal_loss(logits, target, *, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"):
    r"""Gradient of :func:`softmax_focal_loss` with respect to ``logits``.

    With :math:`q = 1 - p_y` and :math:`\ell = \log p_y`:

    .. math::
        \frac{\partial \ell_i}{\partial z_i} = \alpha_y\, q^\gamma
            \Big(1 - \gamma\, p_y \frac{\log p_y}{q}\Big)\,(p_i - e_{y_i}),

    where :math:`\log(p_y)/q \to -1` as :math:`q \to 0` (no 0/0).

    Example:
        >>> grad_softmax_focal_loss([[0.0, 0.0]], [1], gamma=0.0).tolist()
        [[0.5, -0.5]]
    """
    check_reduction(reduction)
    gamma = _check_gamma(gamma)
    x, at_target, alpha_y, log_p_y, q, unbatched = _softmax_focal_parts(logits, target, alpha, ignore_index)
    log_over_q = np.divide(log_p_y, q, out=np.full_like(q, -1), where=q > 0)
    coef = alpha_y * q**gamma * (1 - gamma * np.exp(log_p_y) * log_over_q)
    g = softmax(x, axis=1) * coef[:, None]
    g.reshape(-1)[at_target] -= coef  # g is a new C-contiguous array: reshape is a view
    g *= grad_reduction_scale(reduction, alpha_y.sum(), g.dtype)
    return g[0] if unbatched else g
