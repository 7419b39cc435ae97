r"""Regression losses: MSE, MAE, Huber and Smooth L1, with their gradients.

Every loss compares a prediction with a target of *the same shape*
elementwise, optionally multiplies by a per-element ``weight`` and then
reduces. The gradients are those of the reduced loss with respect to
``pred``; at a kink they follow PyTorch's choice of subgradient.

About ``weight`` and ``reduction='mean'`` (matching PyTorch 2.13, whose
functions differ here):

* :func:`mse` and :func:`mae` divide by the sum of the weights:
  :math:`\sum_i w_i \ell_i / \sum_i w_i` (a weighted average).
* :func:`huber` divides by the number of elements:
  :math:`\frac1n \sum_i w_i \ell_i`.
* :func:`smooth_l1` has no ``weight`` in PyTorch; here the weight multiplies
  the elementwise loss before the reduction and 'mean' divides by the number
  of elements, as for :func:`huber`, so that
  ``huber(p, t, delta=b, weight=w) == b * smooth_l1(p, t, beta=b, weight=w)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, dot, elementwise
from ._validation import as_weight, check_scalar, mean_scale, pair_inputs

__all__ = registry.exports("regression")

# Arithmetic only: IEEE arithmetic is correctly rounded on every CPU, so these formulas run in
# their input's dtype (float64_inside=False), float32 included.


def _inputs(pred: ArrayLike, target: ArrayLike, weight: ArrayLike | None, reduction: str):
    """Validate the common arguments; return ``(pred, target, weight)``."""
    pred, target = pair_inputs(pred, target, name="pred", reduction=reduction)
    return pred, target, as_weight(weight, "weight", pred.shape, pred.dtype)


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber's loss of residuals ``r``: with ``c = clip(r, -delta, delta)`` (the gradient),
    ``c (r - c/2)`` is r^2/2 inside the threshold and delta (|r| - delta/2) outside."""
    c = np.clip(r, -delta, delta)
    return c * (r - 0.5 * c)


def _huber_sum(r: np.ndarray, delta: float) -> float:
    """The sum of :func:`_huber`, as ``c . r - (c . c) / 2``: two dot products. Each term
    ``c r`` is at least ``c^2``, so the difference keeps its relative accuracy."""
    c = np.clip(r, -delta, delta)
    return dot(c, r) - 0.5 * dot(c, c)


def _weighted_average(weight: np.ndarray | None, size: int) -> float:
    """The 'mean' denominator of MSE and MAE: the sum of the weights, or the count."""
    return size if weight is None else float(weight.sum(dtype=np.float64))


def mse(
    pred: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> Result:
    r"""Mean squared error (squared L2 loss).

    Squaring makes large errors count much more than small ones, and the
    minimiser of the expected loss is the conditional mean of the target.

    .. math::
        \ell_i = w_i\,(\hat y_i - y_i)^2, \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_i}\ (w_i = 1 \text{ if no weight})

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        weight: optional per-element weights, the same shape as ``pred``;
            with 'mean' the result is the weighted average (PyTorch 2.13).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``pred``'s float dtype, or the elementwise losses for 'none'.

    References:
        Gauss, *Theoria motus corporum coelestium* (1809), least squares.

    Taught in: :ref:`regression-losses`

    Example:
        >>> print(round(float(mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])), 4))
        1.3333
    """
    p, t, w = _inputs(pred, target, weight, reduction)

    def loss(p, t):
        return np.square(p - t)

    def total(p, t):  # sum r^2 = r . r
        r = p - t
        return dot(r, r)

    return elementwise(
        loss,
        reduction,
        weight=w,
        denominator=_weighted_average(w, p.size),
        total=total,
        float64_inside=False,
        p=p,
        t=t,
    )


def grad_mse(
    pred: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`mse` with respect to ``pred``: :math:`2 w_i (\hat y_i - y_i) / D`.

    Example:
        >>> grad_mse([1.0, 3.0], [0.0, 0.0]).tolist()
        [1.0, 3.0]
    """
    p, t, w = _inputs(pred, target, weight, reduction)
    scale = 2 * mean_scale(reduction, _weighted_average(w, p.size))
    return elementwise(lambda p, t: scale * (p - t), weight=w, float64_inside=False, p=p, t=t)


def mae(
    pred: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> Result:
    r"""Mean absolute error (L1 loss).

    Every unit of error costs the same, so outliers pull less than under MSE;
    the minimiser of the expected loss is the conditional median.

    .. math::
        \ell_i = w_i\,|\hat y_i - y_i|, \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_i}\ (w_i = 1 \text{ if no weight})

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        weight: optional per-element weights, the same shape as ``pred``;
            with 'mean' the result is the weighted average (PyTorch 2.13).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``pred``'s float dtype, or the elementwise losses for 'none'.

    References:
        Laplace (1774); Koenker & Bassett, "Regression Quantiles", Econometrica 1978.

    Taught in: :ref:`regression-losses`

    Example:
        >>> print(round(float(mae([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])), 4))
        0.6667
    """
    p, t, w = _inputs(pred, target, weight, reduction)
    return elementwise(
        lambda p, t: np.abs(p - t),
        reduction,
        weight=w,
        denominator=_weighted_average(w, p.size),
        float64_inside=False,
        p=p,
        t=t,
    )


def grad_mae(
    pred: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`mae`: :math:`w_i\,\mathrm{sign}(\hat y_i - y_i) / D`, with sign(0) = 0 as in PyTorch.

    Example:
        >>> grad_mae([1.0, 0.0, -2.0], [0.0, 0.0, 0.0], reduction="sum").tolist()
        [1.0, 0.0, -1.0]
    """
    p, t, w = _inputs(pred, target, weight, reduction)
    scale = mean_scale(reduction, _weighted_average(w, p.size))
    return elementwise(
        lambda p, t: scale * np.sign(p - t), weight=w, float64_inside=False, p=p, t=t
    )


def huber(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Huber loss: quadratic for small errors, linear for large ones.

    Near the target it behaves like MSE (smooth, fast convergence); beyond
    ``delta`` it grows only linearly like MAE, so outliers cannot dominate.

    .. math::
        \ell_i = w_i \begin{cases}
            \tfrac12 r_i^2 & |r_i| \le \delta \\
            \delta\,(|r_i| - \tfrac12\delta) & \text{otherwise}
        \end{cases}, \quad r_i = \hat y_i - y_i, \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        delta: the threshold between the quadratic and linear parts, > 0.
        weight: optional per-element weights, the same shape as ``pred``;
            with 'mean' PyTorch 2.13 divides by the number of elements ``n``,
            not by the sum of the weights (unlike :func:`mse`).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``pred``'s float dtype, or the elementwise losses for 'none'.

    References:
        P. J. Huber, "Robust Estimation of a Location Parameter",
        Annals of Mathematical Statistics 35(1), 1964.

    Taught in: :ref:`regression-losses`

    Example:
        >>> print(round(float(huber([0.5, 3.0], [0.0, 0.0])), 4))
        1.3125
    """
    delta = check_scalar(delta, "delta", positive=True)
    p, t, w = _inputs(pred, target, weight, reduction)
    return elementwise(
        lambda p, t: _huber(p - t, delta),
        reduction,
        weight=w,
        total=lambda p, t: _huber_sum(p - t, delta),
        float64_inside=False,
        p=p,
        t=t,
    )


def grad_huber(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`huber`: :math:`w_i\,\mathrm{clip}(r_i, -\delta, \delta) / D`.

    Example:
        >>> grad_huber([0.5, 3.0], [0.0, 0.0], reduction="sum").tolist()
        [0.5, 1.0]
    """
    delta = check_scalar(delta, "delta", positive=True)
    p, t, w = _inputs(pred, target, weight, reduction)
    scale = mean_scale(reduction, p.size)
    return elementwise(
        lambda p, t: scale * np.clip(p - t, -delta, delta), weight=w, float64_inside=False, p=p, t=t
    )


def smooth_l1(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Smooth L1 loss: Huber's loss divided by its threshold.

    The quadratic zone has curvature ``1/beta`` and the linear tails have
    slope 1 whatever ``beta`` is; ``beta = 0`` gives exactly the L1 loss.

    .. math::
        \ell_i = w_i \begin{cases}
            \tfrac{1}{2\beta} r_i^2 & |r_i| < \beta \\
            |r_i| - \tfrac12\beta & \text{otherwise}
        \end{cases}, \quad r_i = \hat y_i - y_i, \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        beta: the threshold between the quadratic and linear parts, >= 0.
        weight: optional per-element weights, the same shape as ``pred``.
            PyTorch 2.13's ``smooth_l1_loss`` has no weight: here it multiplies
            the elementwise loss before the reduction, and 'mean' divides by
            the number of elements (as PyTorch's weighted ``huber_loss``).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``pred``'s float dtype, or the elementwise losses for 'none'.

    References:
        R. Girshick, "Fast R-CNN", ICCV 2015.

    Taught in: :ref:`regression-losses`

    Example:
        >>> print(round(float(smooth_l1([0.5, 3.0], [0.0, 0.0], beta=1.0)), 4))
        1.3125
    """
    beta = check_scalar(beta, "beta")
    p, t, w = _inputs(pred, target, weight, reduction)
    if beta == 0:  # plain L1, as in PyTorch (no 0/0)
        return elementwise(
            lambda p, t: np.abs(p - t), reduction, weight=w, float64_inside=False, p=p, t=t
        )
    return elementwise(
        lambda p, t: _huber(p - t, beta) / beta,
        reduction,
        weight=w,
        total=lambda p, t: _huber_sum(p - t, beta) / beta,
        float64_inside=False,
        p=p,
        t=t,
    )


def grad_smooth_l1(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`smooth_l1`: :math:`w_i\,\mathrm{clip}(r_i/\beta, -1, 1) / D`
    (sign(r) when beta = 0, with sign(0) = 0).

    Example:
        >>> grad_smooth_l1([0.5, 3.0], [0.0, 0.0], beta=1.0, reduction="sum").tolist()
        [0.5, 1.0]
    """
    beta = check_scalar(beta, "beta")
    p, t, w = _inputs(pred, target, weight, reduction)
    scale = mean_scale(reduction, p.size)
    if beta == 0:  # the L1 subgradient sign(r), with sign(0) = 0
        return elementwise(
            lambda p, t: scale * np.sign(p - t), weight=w, float64_inside=False, p=p, t=t
        )
    return elementwise(
        lambda p, t: (scale / beta) * np.clip(p - t, -beta, beta),
        weight=w,
        float64_inside=False,
        p=p,
        t=t,
    )
