r"""Losses for imbalanced data: weighted BCE, focal losses and logit adjustment, with gradients;
and class weights from class counts.

Class weights rescale the loss of each class; focal losses additionally down-weight the *easy*
examples, those already predicted with confidence, by the factor :math:`(1 - p_t)^\gamma`; the
logit-adjusted cross-entropy adds :math:`\tau \log \pi_y` to each class's logit while training,
so that the raw logits decide for the balanced error. All of them are computed from logits with
the stable primitives of ``lossutils._stable``, so they stay finite and accurate at extreme
logits: :math:`1 - p_t` is computed without cancellation (never as 1 minus a probability rounded
to 1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, dot, elementwise, rowwise
from ._stable import (
    bce_logits,
    bce_logits_grad,
    exp_neg_abs,
    one_minus_exp,
    sigmoid_pair,
    softplus_tail,
    target_nll,
    target_softmax,
    widened,
    working_dtype,
)
from ._validation import (
    as_float_array,
    as_weight,
    check_scalar,
    class_inputs,
    class_targets,
    mean_scale,
    pair_inputs,
)
from .multiclass import cross_entropy, grad_cross_entropy

__all__ = registry.exports("imbalanced")


def _check_alpha(alpha: float) -> float:
    if (
        isinstance(alpha, (bool, np.bool_))
        or not np.isscalar(alpha)
        or not np.isreal(alpha)
        or not np.isfinite(alpha)
    ):
        raise TypeError(
            f"alpha must be a finite real number (a negative one disables it), got {alpha!r}"
        )
    return float(alpha)


# --------------------------------------------------------------------------
# Weighted binary cross-entropy
# --------------------------------------------------------------------------


def weighted_binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    w0: float = 1.0,
    w1: float = 1.0,
    reduction: str = "mean",
) -> Result:
    r"""Binary cross-entropy with separate weights for the positive and negative class.

    Raising :math:`w_1` above :math:`w_0` makes a missed positive cost more: the usual first
    remedy when positives are rare.

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

    Taught in: :ref:`binary-cross-entropy`

    Example:
        >>> print(round(float(weighted_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], w1=3.0)), 4))
        1.3863
    """
    w0, w1 = check_scalar(w0, "w0"), check_scalar(w1, "w1")
    z, t = pair_inputs(logits, target, name="logits", reduction=reduction, probabilities=True)
    return elementwise(
        lambda z, t: bce_logits(z, t, pos_weight=w1, neg_weight=w0), reduction, z=z, t=t
    )


def grad_weighted_binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    w0: float = 1.0,
    w1: float = 1.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`weighted_binary_cross_entropy_with_logits`:
    :math:`[w_0 (1 - y_i)\sigma(z_i) - w_1 y_i \sigma(-z_i)] / D`.

    Example:
        >>> grad_weighted_binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], w1=3.0, reduction="sum").tolist()
        [-1.5, 0.5]
    """
    w0, w1 = check_scalar(w0, "w0"), check_scalar(w1, "w1")
    z, t = pair_inputs(logits, target, name="logits", reduction=reduction, probabilities=True)
    scale = mean_scale(reduction, z.size)
    return elementwise(
        lambda z, t: bce_logits_grad(z, t, pos_weight=w1, neg_weight=w0, scale=scale), z=z, t=t
    )


# --------------------------------------------------------------------------
# Binary focal loss
# --------------------------------------------------------------------------


def _alpha_t(alpha: float, t: np.ndarray):
    """The class weight alpha_t = alpha y + (1 - alpha)(1 - y), or 1 when alpha < 0."""
    return 1.0 if alpha < 0 else alpha * t + (1 - alpha) * (1 - t)


def sigmoid_focal_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> Result:
    r"""Binary focal loss from logits (torchvision's ``sigmoid_focal_loss``).

    The cross-entropy of each element is multiplied by :math:`(1 - p_t)^\gamma`, which is near
    0 for well-classified elements, so that the many easy negatives of dense detection do not
    swamp the few hard examples.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(z_i, y_i), \quad
        p_t = p y + (1 - p)(1 - y), \quad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y), \quad p = \sigma(z)

    (:math:`\alpha_t = 1` when ``alpha < 0``). Computed stably:
    :math:`1 - p_t = y\,\sigma(-z) + (1-y)\,\sigma(z)`, a sum of positive terms, with no
    cancellation.

    Args:
        logits: real-valued scores :math:`z`, any shape.
        target: targets in [0, 1] (usually 0/1), the same shape as ``logits``.
        alpha: weight of the positive class in [0, 1]; negative disables it.
        gamma: focusing parameter :math:`\gamma \ge 0` (0 gives weighted BCE).
        reduction: ``'none'`` (default, as torchvision), ``'mean'`` or ``'sum'``.

    Returns:
        The elementwise losses, or a scalar of ``logits``' float dtype.

    References:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for Dense Object
        Detection", ICCV 2017.

    Taught in: :ref:`losses-and-activations`

    Example:
        >>> sigmoid_focal_loss([3.0, -3.0, 0.0], [1.0, 1.0, 1.0]).round(4).tolist()
        [0.0, 0.6916, 0.0433]
    """
    gamma, alpha = check_scalar(gamma, "gamma"), _check_alpha(alpha)
    z, t = pair_inputs(logits, target, name="logits", reduction=reduction, probabilities=True)

    def factors(z, t):
        """``(alpha_t (1 - p_t)^gamma, BCE)``, whose product is the loss."""
        e = exp_neg_abs(z)  # the one exponential, shared
        p, one_minus_p = sigmoid_pair(z, e)
        not_t = 1 - t  # shared by 1 - p_t and alpha_t
        one_minus_p_t = t * one_minus_p
        one_minus_p_t += not_t * p
        modulating = one_minus_p_t**gamma  # (1 - p_t)^gamma
        if alpha >= 0:  # times alpha_t (as _alpha_t, with 1 - y shared)
            modulating *= alpha * t + (1 - alpha) * not_t
        return modulating, bce_logits(z, t, tail=softplus_tail(z, e))

    def loss(z, t):
        modulating, ce = factors(z, t)
        return np.multiply(modulating, ce, out=modulating)

    def total(z, t):  # the last product and the sum in one pass
        return dot(*factors(z, t))

    return elementwise(loss, reduction, total=total, z=z, t=t)


def grad_sigmoid_focal_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> np.ndarray:
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
    gamma, alpha = check_scalar(gamma, "gamma"), _check_alpha(alpha)
    z, t = pair_inputs(logits, target, name="logits", reduction=reduction, probabilities=True)
    scale = mean_scale(reduction, z.size)

    def grad(z, t):
        e = exp_neg_abs(z)  # the one exponential, shared
        pair = sigmoid_pair(z, e)
        p, one_minus_p = pair
        q = t * one_minus_p + (1 - t) * p  # 1 - p_t
        # p (1 - p) / q <= 1; where q underflows, its limit: p if y = 1 (q = 1 - p), else 1 - p
        tiny = q < np.finfo(q.dtype).tiny
        if tiny.any():
            ratio = np.where(
                tiny, np.where(t > 0.5, p, one_minus_p), p * one_minus_p / np.where(tiny, 1.0, q)
            )
        else:
            ratio = p * one_minus_p / q
        d_ce = bce_logits_grad(z, t, pair=pair)
        ce = bce_logits(z, t, tail=softplus_tail(z, e))
        return scale * _alpha_t(alpha, t) * q**gamma * (d_ce + gamma * ce * (1 - 2 * t) * ratio)

    return elementwise(grad, z=z, t=t)


# --------------------------------------------------------------------------
# Multi-class focal loss
# --------------------------------------------------------------------------


def _softmax_focal_inputs(logits, target, alpha, ignore_index, reduction):
    inputs = class_inputs(
        logits, target, name="logits", reduction=reduction, ignore_index=ignore_index
    )
    x = inputs.scores
    a = as_weight(alpha, "alpha", (x.shape[1],), x.dtype)
    return inputs, class_targets(
        inputs.target, ignore_index=ignore_index, class_weight=a, dtype=working_dtype(x.dtype)
    )


def softmax_focal_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Result:
    r"""Multi-class focal loss from logits.

    Cross-entropy whose per-sample loss is scaled by :math:`(1 - p_y)^\gamma`, so confidently
    right samples contribute almost nothing.

    .. math::
        \ell_i = -\alpha_{y_i}\,(1 - p_{i,y_i})^\gamma \log p_{i,y_i}, \qquad
        p_i = \mathrm{softmax}(z_i), \qquad
        \text{mean} = \sum_i \ell_i \Big/ \sum_{i \text{ not ignored}} \alpha_{y_i}

    Ignored targets contribute 0. The 'mean' denominator (the number of non-ignored targets
    when ``alpha`` is None) is chosen so that with :math:`\gamma = 0` this is exactly
    ``cross_entropy(logits, target, weight=alpha)``. :math:`1 - p_y` is computed as
    ``-expm1(log p_y)``, accurate even when :math:`p_y` rounds to 1.

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

    Taught in: :ref:`losses-and-activations`

    Example:
        >>> logits = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
        >>> print(round(float(softmax_focal_loss(logits, [0, 1])), 4))
        0.0516
    """
    gamma = check_scalar(gamma, "gamma")
    inputs, y = _softmax_focal_inputs(logits, target, alpha, ignore_index, reduction)
    exact = widened(inputs.scores.dtype)

    def loss(x, y, alpha_y):
        nll = target_nll(x, y, exact_differences=exact)  # -log p_y
        return alpha_y * one_minus_exp(-nll) ** gamma * nll

    result = rowwise(
        loss, reduction, denominator=y.weight.sum(), x=inputs.scores, y=y.index, alpha_y=y.weight
    )
    return result.reshape(()) if inputs.unbatched and reduction == "none" else result


def grad_softmax_focal_loss(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
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
    gamma = check_scalar(gamma, "gamma")
    inputs, y = _softmax_focal_inputs(logits, target, alpha, ignore_index, reduction)
    exact = widened(inputs.scores.dtype)
    scale = mean_scale(reduction, y.weight.sum())

    def grad(x, y, alpha_y):
        p = target_softmax(x, y, exact_differences=exact)
        q = p.one_minus_p
        log_over_q = np.divide(
            p.log_p, q, out=np.full_like(q, -1.0), where=q > 0
        )  # -> -1 as q -> 0
        coef = alpha_y * q**gamma * (1 - gamma * np.exp(p.log_p) * log_over_q)
        g = p.p_minus_onehot
        g *= scale * coef[:, None, :]
        return g

    result = rowwise(grad, out="elements", x=inputs.scores, y=y.index, alpha_y=y.weight)
    return result[0] if inputs.unbatched else result


# --------------------------------------------------------------------------
# Class weights from class counts
# --------------------------------------------------------------------------


def class_balanced_weights(counts: ArrayLike, *, beta: float) -> np.ndarray:
    r"""Class weights from the effective number of samples of each class (Cui et al. 2019).

    A new example of a class that already has many brings less new information than one of a
    rare class. Cui et al. model this with an *effective number* of samples that grows like
    :math:`n` for small counts and saturates at :math:`1/(1-\beta)`, and weight each class by
    its inverse. :math:`\beta = 0` gives equal weights; :math:`\beta \to 1` tends to inverse
    class frequency (``beta=1`` gives that limit).

    .. math::
        E_{n_c} = \frac{1 - \beta^{n_c}}{1 - \beta}, \qquad
        w_c \propto \frac{1}{E_{n_c}} = \frac{1 - \beta}{1 - \beta^{n_c}}, \qquad
        \sum_c w_c = C.

    :math:`1 - \beta^{n}` is computed as ``-expm1(n log beta)``, accurate for :math:`\beta`
    close to 1.

    Args:
        counts: the number of training examples of each class, shape ``(C,)``, each > 0.
        beta: :math:`\beta \in [0, 1]`; Cui et al. use 0.9 to 0.9999.

    Returns:
        The weights, float64 of shape ``(C,)``, summing to ``C``: pass them as
        ``cross_entropy(..., weight=w)``, or ``w[1] / w[0]`` as a binary ``pos_weight``.

    References:
        Cui, Jia, Lin, Song & Belongie, "Class-Balanced Loss Based on Effective Number of
        Samples", CVPR 2019.

    Taught in: :ref:`imbalanced-data`

    Example:
        >>> class_balanced_weights([900, 100], beta=0.0).tolist()
        [1.0, 1.0]
        >>> class_balanced_weights([900, 100], beta=1.0).tolist()  # inverse frequency
        [0.2, 1.8]
        >>> print(class_balanced_weights([900, 100], beta=0.999).round(3))
        [0.276 1.724]
    """
    n = as_float_array(counts, "counts")
    if n.ndim != 1 or n.size == 0:
        raise ValueError(
            f"counts must be a non-empty 1-D array of class counts, got shape {n.shape}"
        )
    if not (np.isfinite(n) & (n > 0)).all():
        raise ValueError(
            f"counts must be finite and > 0 (a class with no example gets no weight), got {n}"
        )
    beta = check_scalar(beta, "beta")
    if beta > 1:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    n = n.astype(np.float64)
    if beta == 1:
        inverse_effective = 1 / n  # the limit beta -> 1: inverse class frequency
    else:
        with np.errstate(divide="ignore"):  # beta = 0: log 0 = -inf, beta**n = 0
            inverse_effective = (1 - beta) / -np.expm1(n * np.log(beta))
    return inverse_effective * (n.size / inverse_effective.sum())


# --------------------------------------------------------------------------
# Logit adjustment
# --------------------------------------------------------------------------


def _adjusted_logits(logits, target, prior, tau, weight, ignore_index, reduction):
    """The logits plus ``tau * log(prior)`` on the class axis, in the working dtype (float64
    for float32 logits), and the dtype of the result."""
    inputs = class_inputs(
        logits,
        target,
        name="logits",
        reduction=reduction,
        ignore_index=ignore_index,
        weight=weight,
        allow_probabilities=True,
    )
    tau = check_scalar(tau, "tau")
    x = inputs.scores  # (N, C, ...), batched
    if prior is None:
        log_prior = np.zeros(x.shape[1])
    else:
        p = as_float_array(prior, "prior")
        if p.shape != (x.shape[1],):
            raise ValueError(
                f"prior must have shape ({x.shape[1]},), one frequency per class of the "
                f"logits, got shape {p.shape}"
            )
        if not (np.isfinite(p) & (p > 0)).all():
            raise ValueError(f"prior must hold finite class frequencies > 0, got {p}")
        log_prior = np.log(p.astype(np.float64))
    shift = (tau * log_prior).reshape((1, -1) + (1,) * (x.ndim - 2))
    adjusted = x.astype(working_dtype(x.dtype)) + shift
    return (adjusted[0] if inputs.unbatched else adjusted), x.dtype


def _rounded(result, dtype):
    """Round a result computed in float64 once, to the dtype float32 inputs give."""
    return result if result.dtype == dtype else result.astype(dtype)


def logit_adjusted_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    prior: ArrayLike | None = None,
    tau: float = 1.0,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Result:
    r"""Logit-adjusted cross-entropy (Menon et al. 2021): cross-entropy of the logits plus
    :math:`\tau \log \pi`.

    Training on :math:`z_y + \tau \log \pi_y` makes the model's raw logits :math:`z` estimate
    :math:`\log P(y \mid x) - \tau \log \pi_y` (up to a constant), so that
    :math:`\arg\max_y z_y` predicts the class with the largest :math:`P(y \mid x)/\pi_y`:
    with :math:`\tau = 1`, the Bayes rule for the *balanced* error, the mean of the per-class
    error rates. A rare class needs a larger margin over a common one to be predicted during
    training, and so gets one at test time. With a free bias, a model trained to convergence
    equals a plain cross-entropy model whose logits are shifted by :math:`-\tau\log\pi` after
    training (post-hoc logit adjustment).

    .. math::
        \ell_i = -\log \frac{\exp(z_{i,y_i} + \tau \log \pi_{y_i})}
                              {\sum_c \exp(z_{i,c} + \tau \log \pi_c)}
        \quad = \quad \mathrm{CE}(z_i + \tau \log \pi,\; y_i),

    with ``weight``, ``ignore_index``, probability targets and reductions exactly as in
    :func:`~lossutils.multiclass.cross_entropy`.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` scores.
        target: integer class indices of shape ``(N,)``, ``(N, d1, ...)`` or ``()``; or float
            class probabilities of the logits' shape.
        prior: the class frequencies :math:`\pi`, shape ``(C,)``, each > 0 (usually the
            training set's class counts over their total; any positive scale gives the same
            loss, since adding a constant to every logit changes nothing). None means equal
            frequencies: no adjustment.
        tau: the adjustment's strength :math:`\tau \ge 0`; 0 gives plain cross-entropy.
        weight: optional per-class weights, shape ``(C,)``.
        ignore_index: class-index value whose targets are skipped.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``logits``' float dtype, or the per-sample losses for 'none'.

    References:
        Menon, Jayasumana, Rawat, Jain, Veit & Kumar, "Long-tail learning via logit
        adjustment", ICLR 2021: the loss and its post-hoc form are consistent for the balanced
        error, and lowered it on long-tailed CIFAR-10/100, ImageNet and iNaturalist.

    Taught in: :ref:`imbalanced-data`

    Example:
        >>> logits, prior = [[1.0, 0.0], [0.0, 1.0]], [0.9, 0.1]
        >>> print(round(float(logit_adjusted_cross_entropy(logits, [0, 1], prior=prior)), 4))
        0.7506
        >>> print(round(float(logit_adjusted_cross_entropy(logits, [0, 1], prior=prior, tau=0)), 4))
        0.3133
    """
    adjusted, dtype = _adjusted_logits(logits, target, prior, tau, weight, ignore_index, reduction)
    result = cross_entropy(
        adjusted, target, weight=weight, ignore_index=ignore_index, reduction=reduction
    )
    return _rounded(result, dtype)


def grad_logit_adjusted_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    prior: ArrayLike | None = None,
    tau: float = 1.0,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`logit_adjusted_cross_entropy` with respect to ``logits``: the
    gradient of cross-entropy at the adjusted logits, since the shift is a constant,

    .. math::
        \frac{\partial \ell_i}{\partial z_i} = \mathrm{softmax}(z_i + \tau \log \pi) - e_{y_i}
        \quad (\text{divided by } N \text{ for 'mean'}).

    Example:
        >>> grad_logit_adjusted_cross_entropy([[0.0, 0.0]], [1], prior=[0.75, 0.25]).tolist()
        [[0.75, -0.75]]
    """
    adjusted, dtype = _adjusted_logits(logits, target, prior, tau, weight, ignore_index, reduction)
    grad = grad_cross_entropy(
        adjusted, target, weight=weight, ignore_index=ignore_index, reduction=reduction
    )
    return _rounded(grad, dtype)
