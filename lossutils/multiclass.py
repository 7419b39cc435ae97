r"""Multi-class classification: cross-entropy from logits and the negative log-likelihood of
log-probabilities, with their gradients.

Inputs follow PyTorch's layout: scores ``(N, C)`` or ``(N, C, d1, d2, ...)`` with the classes on
axis 1, or unbatched ``(C,)``; targets are class indices ``(N, d1, ...)`` (``ignore_index``
marks the ones to skip) or, for :func:`cross_entropy`, class probabilities of the scores' shape.
The cross-entropy of a sample is computed from the softmax relative to its target class,
:math:`-\log p_y = \log(1 + \sum_{k \ne y} e^{x_k - x_y})` (``lossutils._stable.target_nll``), accurate
for a dominant class: ``cross_entropy([[50.0, 0.0]], [0])`` is :math:`1.9 \times 10^{-22}`, not 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, pick_classes, reduce, rowwise
from ._stable import (
    add_at_class,
    class_sum,
    log_softmax_classes,
    pick,
    softmax_classes,
    target_nll,
    target_softmax,
    widened,
    working_dtype,
)
from ._validation import ClassInputs, check_scalar, class_inputs, class_targets, mean_scale

__all__ = registry.exports("multiclass")


def _check_smoothing(label_smoothing: float) -> float:
    eps = check_scalar(label_smoothing, "label_smoothing")
    if eps > 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return eps


def _cross_entropy_inputs(logits, target, weight, ignore_index, label_smoothing, reduction):
    """The validated inputs of :func:`cross_entropy` and its gradient, and the smoothing."""
    inputs = class_inputs(
        logits,
        target,
        name="logits",
        reduction=reduction,
        ignore_index=ignore_index,
        weight=weight,
        allow_probabilities=True,
    )
    return inputs, _check_smoothing(label_smoothing)


def _unbatch(result: np.ndarray, inputs: ClassInputs, axis_kept: bool) -> np.ndarray:
    """Drop the batch axis that :func:`class_inputs` added to a ``(C,)`` input."""
    if not inputs.unbatched:
        return result
    return result[0] if axis_kept else result.reshape(())


def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Result:
    r"""Multi-class cross-entropy from logits (log-softmax + negative log-likelihood).

    The loss is the surprise :math:`-\log p_y` of the true class under the softmax distribution;
    label smoothing mixes the one-hot target with the uniform distribution so that the model is
    not pushed to infinite logits.

    With class-index targets :math:`y_i`, class weights :math:`w`, smoothing
    :math:`\varepsilon` and :math:`C` classes (exactly PyTorch):

    .. math::
        \ell_i = (1-\varepsilon)\, w_{y_i} \big(-\log p_{i,y_i}\big)
                 + \frac{\varepsilon}{C} \sum_{c} w_c \big(-\log p_{i,c}\big),
        \qquad p_i = \mathrm{softmax}(z_i),

    :math:`\ell_i = 0` where :math:`y_i` = ``ignore_index``, and 'mean' divides by
    :math:`\sum_{i \text{ not ignored}} w_{y_i}` (the number of non-ignored targets without
    weights). If every target is ignored, 'mean' is NaN, as in PyTorch (and the gradient is 0).

    With class-probability targets :math:`q_i` (floats, shaped like the logits):

    .. math::
        \ell_i = -\sum_c w_c\, \tilde q_{i,c} \log p_{i,c}, \qquad
        \tilde q = (1-\varepsilon)\, q + \varepsilon / C,

    and 'mean' divides by the number of samples (weights do not enter the denominator; a
    non-negative ``ignore_index`` raises, as in PyTorch).

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` scores.
        target: integer class indices of shape ``(N,)``, ``(N, d1, ...)`` or ``()``; or float
            class probabilities of the logits' shape.
        weight: optional per-class weights, shape ``(C,)``.
        ignore_index: class-index value whose targets are skipped (e.g. padding).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape of the class-index
            target).

    Returns:
        A scalar of ``logits``' float dtype, or the per-sample losses for 'none'.

    References:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016
        (label smoothing); PyTorch ``CrossEntropyLoss``.

    Taught in: :ref:`multiclass-cross-entropy`

    Example:
        >>> logits = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
        >>> print(round(float(cross_entropy(logits, [0, 1])), 4))
        0.3606
        >>> print(round(float(cross_entropy(logits, [0, -100])), 4))
        0.1698
        >>> print(round(float(cross_entropy(logits, [0, 1], label_smoothing=0.1)), 4))
        0.4773
    """
    inputs, eps = _cross_entropy_inputs(
        logits, target, weight, ignore_index, label_smoothing, reduction
    )
    x, n_classes = inputs.scores, inputs.scores.shape[1]
    exact = widened(x.dtype)  # float32 scores in float64: differences are exact
    w = None if inputs.weight is None else inputs.weight[:, None]  # (C, 1): blocks are (rows, C, K)

    if inputs.probabilities:

        def loss(x, q):  # sum_c w_c q~_c (-log p_c): terms >= 0, no cancellation
            q = q if eps == 0 else (1 - eps) * q + eps / n_classes
            neg_log_p = -log_softmax_classes(x, exact_differences=exact)
            return class_sum((q if w is None else w * q) * neg_log_p)[:, 0, :]

        return _unbatch(rowwise(loss, reduction, x=x, q=inputs.target), inputs, axis_kept=False)

    y = class_targets(
        inputs.target,
        ignore_index=ignore_index,
        class_weight=inputs.weight,
        dtype=working_dtype(x.dtype),
    )

    w_total = n_classes if w is None else float(w.sum(dtype=np.float64))

    def loss(x, y, w_y, valid):
        nll = target_nll(x, y, exact_differences=exact)  # -log p_y
        if eps == 0:
            return w_y * nll
        # sum_c w_c (-log p_c) = sum_c w_c (lse - x_c), lse = x_y - log p_y the log-sum-exp
        lse = pick(x, y) + nll
        smooth = w_total * lse - class_sum(x if w is None else w * x)[:, 0, :]
        return (1 - eps) * w_y * nll + (eps / n_classes) * valid * smooth

    result = rowwise(
        loss, reduction, denominator=y.weight.sum(), x=x, y=y.index, w_y=y.weight, valid=y.valid
    )
    return _unbatch(result, inputs, axis_kept=False)


def grad_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``.

    For class indices, per sample (rows of ignored targets are 0):

    .. math::
        \frac{\partial \ell_i}{\partial z_{i}} = (1-\varepsilon)\, w_{y_i} (p_i - e_{y_i})
            + \frac{\varepsilon}{C}\Big(p_i \sum_c w_c - w\Big);

    for probability targets :math:`p_i \sum_c w_c \tilde q_{ic} - w \odot \tilde q_i`. Then
    divided by the 'mean' denominator. Plain case: ``(softmax - onehot) / N``.

    Example:
        >>> grad_cross_entropy([[0.0, 0.0]], [1]).tolist()
        [[0.5, -0.5]]
    """
    inputs, eps = _cross_entropy_inputs(
        logits, target, weight, ignore_index, label_smoothing, reduction
    )
    x, n_classes = inputs.scores, inputs.scores.shape[1]
    exact = widened(x.dtype)
    w = None if inputs.weight is None else inputs.weight[:, None]  # (C, 1): blocks are (rows, C, K)

    if inputs.probabilities:
        scale = mean_scale(reduction, x.size // n_classes)

        def grad(x, q):  # p sum(w q~) - w q~
            q = q if eps == 0 else (1 - eps) * q + eps / n_classes
            wq = q if w is None else w * q
            return scale * (softmax_classes(x) * class_sum(wq) - wq)

        return _unbatch(rowwise(grad, out="elements", x=x, q=inputs.target), inputs, axis_kept=True)

    y = class_targets(
        inputs.target,
        ignore_index=ignore_index,
        class_weight=inputs.weight,
        dtype=working_dtype(x.dtype),
    )
    scale = mean_scale(reduction, y.weight.sum())
    w_total = n_classes if w is None else float(w.sum(dtype=np.float64))

    def grad(x, y, w_y, valid):
        g = target_softmax(x, y, exact_differences=exact).p_minus_onehot
        hard = ((1 - eps) * scale) * w_y  # hard targets: w_y (p - onehot)
        if eps == 0:
            g *= hard[:, None, :]
            return g
        # Smoothing adds soft (p sum(w) - w) = soft (sum(w) (p - onehot) + sum(w) onehot - w),
        # soft = eps / C: from the same p - onehot, without a second softmax.
        soft = ((eps / n_classes) * scale) * valid
        g *= (hard + soft * w_total)[:, None, :]
        g -= soft[:, None, :] if w is None else soft[:, None, :] * w
        add_at_class(g, y, soft * w_total)
        return g

    result = rowwise(grad, out="elements", x=x, y=y.index, w_y=y.weight, valid=y.valid)
    return _unbatch(result, inputs, axis_kept=True)


def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Result:
    r"""Negative log-likelihood of class indices, given log-probabilities.

    :func:`cross_entropy` is ``nll_loss(log_softmax(logits, axis=1), ...)``; use this one when
    the model already outputs log-probabilities.

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

    Taught in: :ref:`multiclass-cross-entropy`

    Example:
        >>> print(round(float(nll_loss(np.log([[0.5, 0.5], [0.9, 0.1]]), [0, 0])), 4))
        0.3993
    """
    inputs = class_inputs(
        log_probs,
        target,
        name="log_probs",
        reduction=reduction,
        ignore_index=ignore_index,
        weight=weight,
    )
    x = inputs.scores
    if inputs.weight is None and reduction != "none":
        # The common case, -sum of the kept targets' log-probabilities over their count: no
        # per-sample weights to build, and no gathers for the ignored targets.
        kept = inputs.target != ignore_index
        loss = np.negative(pick_classes(x, inputs.target, where=kept))
        return _unbatch(reduce(loss, reduction, denominator=loss.size), inputs, axis_kept=False)
    y = class_targets(
        inputs.target, ignore_index=ignore_index, class_weight=inputs.weight, dtype=x.dtype
    )
    loss = -y.weight * pick_classes(x, y.index)  # arithmetic only: in the input's dtype
    return _unbatch(reduce(loss, reduction, denominator=y.weight.sum()), inputs, axis_kept=False)


def grad_nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`nll_loss` with respect to ``log_probs``: :math:`-w_{y_i} e_{y_i} / D`.

    Example:
        >>> grad_nll_loss(np.log([[0.5, 0.5]]), [1]).tolist()
        [[0.0, -1.0]]
    """
    inputs = class_inputs(
        log_probs,
        target,
        name="log_probs",
        reduction=reduction,
        ignore_index=ignore_index,
        weight=weight,
    )
    x = inputs.scores
    y = class_targets(
        inputs.target, ignore_index=ignore_index, class_weight=inputs.weight, dtype=x.dtype
    )
    g = np.zeros_like(x)
    pick_classes(g, y.index, values=-y.weight * x.dtype.type(mean_scale(reduction, y.weight.sum())))
    return _unbatch(g, inputs, axis_kept=True)
