r"""Scoring predicted probabilities: the Brier score and the Kullback-Leibler divergence.

A *scoring rule* gives a predicted distribution a penalty once the outcome is known. It is
*proper* when predicting the true distribution minimises the expected penalty, so that honesty
pays: the log loss (cross-entropy) and the Brier score are proper; the focal loss is not.

* :func:`brier_score`: the squared distance between the predicted probabilities and the one-hot
  outcome, a proper score that stays finite for a confident mistake;
* :func:`kl_div`: the Kullback-Leibler divergence of a target distribution from a predicted
  one, PyTorch's ``kl_div``: the loss of knowledge distillation, whose targets are another
  model's probabilities.

Each has a ``grad_`` twin, the gradient of the reduced loss with respect to the first argument.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, elementwise, rowwise
from ._stable import add_at_class
from ._validation import (
    as_float_array,
    as_target_array,
    check_nonempty,
    check_same_shape,
    check_unit_interval,
    mean_scale,
)

__all__ = registry.exports("scoring")

# --------------------------------------------------------------------------
# Brier score
# --------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def _brier_inputs(probs, target, reduction):
    _check_reduction(reduction)
    p = as_float_array(probs, "probs")
    if p.ndim not in (1, 2):
        raise ValueError(f"probs must have shape (N, C) or (C,), got shape {p.shape}")
    check_nonempty(p, "probs")
    check_unit_interval(p, "probs")
    n_classes = p.shape[-1]
    # One rounding per class of slack: a float32 softmax sums to 1 within a few C eps.
    tolerance = n_classes * np.sqrt(np.finfo(p.dtype).eps)
    sums = np.einsum("...c->...", p)  # 4 times faster than sum(axis=-1) on rows of 100
    off = np.abs(sums - 1) > tolerance
    if off.any():
        raise ValueError(
            "probs must hold class probabilities that sum to 1 along the last axis, got a "
            f"row that sums to {np.atleast_1d(sums)[np.atleast_1d(off)][0]}"
        )
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    shape = p.shape[:-1]
    if t.shape != shape:
        raise ValueError(f"target of class indices must have shape {shape}, got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)].flat[0]
        raise ValueError(f"target contains class index {bad}, outside [0, {n_classes})")
    unbatched = p.ndim == 1
    if unbatched:
        p, t = p[None], t[None]
    return np.ascontiguousarray(p), t, unbatched


def _minus_onehot(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``p - e_y`` for blocks ``(rows, C, K)`` and class indices ``(rows, K)``."""
    d = p.copy()
    add_at_class(d, y, -1.0)
    return d


def brier_score(probs: ArrayLike, target: ArrayLike, *, reduction: str = "mean") -> Result:
    r"""The Brier score: the squared distance between predicted probabilities and the outcome.

    Proper, like the log loss: its expected value under the true class probabilities is
    smallest when the prediction equals them. Unlike the log loss it is bounded (at most 2 per
    example), so one confident mistake cannot dominate an average.

    .. math::
        \ell_i = \sum_{c=1}^{C} \big(p_{ic} - [y_i = c]\big)^2, \qquad
        \text{mean} = \frac1N \sum_i \ell_i

    For two classes this is twice the binary Brier score :math:`(p - y)^2`. Arithmetic only:
    no stabilising needed (float32 is evaluated in float64 and rounded once, like the other
    class losses).

    Args:
        probs: predicted class probabilities, ``(N, C)`` or unbatched ``(C,)``, each row in
            [0, 1] summing to 1 (softmax outputs, not logits).
        target: integer class indices, ``(N,)`` (``()`` for unbatched probabilities).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``probs``' float dtype, or the per-example scores for 'none'.

    References:
        Brier, "Verification of forecasts expressed in terms of probability", Monthly Weather
        Review 78(1), 1950; Gneiting & Raftery, "Strictly Proper Scoring Rules, Prediction, and
        Estimation", JASA 102(477), 2007.

    Taught in: :ref:`calibration`

    Example:
        >>> print(round(float(brier_score([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]], [0, 1])), 4))
        0.32
    """
    p, y, unbatched = _brier_inputs(probs, target, reduction)

    def score(p, y):
        d = _minus_onehot(p, y)
        return np.einsum("rck,rck->rk", d, d)

    result = rowwise(score, reduction, p=p, y=y)
    return result.reshape(()) if unbatched and reduction == "none" else result


def grad_brier_score(probs: ArrayLike, target: ArrayLike, *, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`brier_score` with respect to ``probs``: :math:`2(p_i - e_{y_i})/D`
    (the probabilities treated as free; through a softmax, chain with its Jacobian).

    Example:
        >>> grad_brier_score([[0.7, 0.2, 0.1]], [0]).tolist()
        [[-0.6000000000000001, 0.4, 0.2]]
    """
    p, y, unbatched = _brier_inputs(probs, target, reduction)
    scale = 2 * mean_scale(reduction, p.shape[0])
    result = rowwise(lambda p, y: scale * _minus_onehot(p, y), out="elements", p=p, y=y)
    return result[0] if unbatched else result


# --------------------------------------------------------------------------
# Kullback-Leibler divergence
# --------------------------------------------------------------------------


def _kl_inputs(input, target, log_target, reduction):
    _check_reduction(reduction, ("mean", "batchmean", "sum", "none"))
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"log_target must be True or False, got {log_target!r}")
    x = as_float_array(input, "input")
    t = as_target_array(target, "target", x.dtype)
    check_nonempty(x, "input")
    check_same_shape(x, t, "input", "target")
    if not (x.max() <= 0):  # NaN fails too
        bad = x[~(x <= 0)].flat[0]
        raise ValueError(
            f"input must hold log-probabilities (<= 0), got {bad}: pass log_softmax(logits), "
            "not softmax(logits) or the logits"
        )
    if log_target:
        if not (t.max() <= 0):
            raise ValueError(
                f"target must hold log-probabilities (<= 0) when log_target=True, got "
                f"{t[~(t <= 0)].flat[0]}"
            )
    else:
        check_unit_interval(t, "target")
    return x, t, bool(log_target)


def _kl_denominator(x: np.ndarray, reduction: str) -> int:
    """'mean' averages over every element, 'batchmean' over the first axis (PyTorch)."""
    if reduction == "batchmean":
        return x.shape[0] if x.ndim else 1
    return x.size


def kl_div(
    input: ArrayLike, target: ArrayLike, *, log_target: bool = False, reduction: str = "mean"
) -> Result:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(q \,\|\, p)` of a target distribution
    :math:`q` from a predicted one :math:`p`, given :math:`\log p`.

    The extra surprise, in nats, of coding outcomes drawn from :math:`q` with a code built for
    :math:`p`: the cross-entropy of :math:`q` and :math:`p` minus the entropy of :math:`q`. As a
    loss in :math:`p` it has the gradient of that cross-entropy (the entropy is a constant),
    and it is 0 only when :math:`p = q`. The input is *log*-probabilities, as PyTorch's.

    .. math::
        \ell_{ic} = q_{ic}\,(\log q_{ic} - \log p_{ic}) \ (0 \text{ where } q_{ic} = 0),
        \qquad \text{batchmean} = \frac1N \sum_{i,c} \ell_{ic}

    Reductions, as in PyTorch: ``'batchmean'`` divides the sum by the batch size (the first
    axis) and is the KL divergence per example; ``'mean'`` divides by the number of *elements*,
    :math:`N C`, which is the KL divergence divided by :math:`C` (PyTorch warns about it);
    ``'sum'``, ``'none'``.

    Stability: :math:`0 \log 0` is taken as 0 (its limit), where the naive
    :math:`q \log q` gives ``nan``; with ``log_target=True`` the target is given as
    :math:`\log q` and :math:`e^{\log q}(\log q - \log p)` needs no log of a tiny
    probability. float32 inputs are evaluated in float64 and rounded once.

    Args:
        input: log-probabilities :math:`\log p \le 0`, any shape (e.g. ``(N, C)``).
        target: probabilities :math:`q \in [0, 1]`, or :math:`\log q` if ``log_target``, the
            same shape as ``input``.
        log_target: whether ``target`` holds log-probabilities.
        reduction: ``'mean'`` (default, PyTorch's), ``'batchmean'``, ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``input``'s float dtype, or the elementwise terms for 'none'.

    References:
        Kullback & Leibler, "On Information and Sufficiency", Annals of Mathematical Statistics
        22(1), 1951; Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network",
        arXiv:1503.02531, 2015 (matching a teacher's softened probabilities).

    Taught in: :ref:`calibration`

    Example:
        >>> log_p = np.log([[0.5, 0.5]])
        >>> print(round(float(kl_div(log_p, [[0.9, 0.1]], reduction="batchmean")), 4))
        0.3681
    """
    x, t, log_target = _kl_inputs(input, target, log_target, reduction)

    def loss(x, t):
        if log_target:
            return np.exp(t) * (t - x)
        log_t = np.log(np.where(t > 0, t, 1.0))  # 0 log 0 = 0: the log of 1 stands in
        return t * (log_t - x)

    return elementwise(
        loss,
        "mean" if reduction == "batchmean" else reduction,
        denominator=_kl_denominator(x, reduction),
        x=x,
        t=t,
    )


def grad_kl_div(
    input: ArrayLike, target: ArrayLike, *, log_target: bool = False, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`kl_div` with respect to ``input``: :math:`-q_{ic}/D`, with
    :math:`D` the reduction's denominator (through a ``log_softmax`` this becomes
    :math:`(p - q)/D`, the soft-target cross-entropy's gradient).

    Example:
        >>> grad_kl_div(np.log([[0.5, 0.5]]), [[0.9, 0.1]], reduction="batchmean").tolist()
        [[-0.9, -0.1]]
    """
    x, t, log_target = _kl_inputs(input, target, log_target, reduction)
    per = "mean" if reduction == "batchmean" else reduction
    scale = mean_scale(per, _kl_denominator(x, reduction))
    return elementwise(lambda x, t: -scale * (np.exp(t) if log_target else t), x=x, t=t)
