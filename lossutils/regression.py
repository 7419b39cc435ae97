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

import numpy as np

from ._validation import (
    apply_reduction,
    as_float_array,
    as_target_array,
    as_weight,
    check_nonempty,
    check_reduction,
    check_same_shape,
    check_scalar,
    grad_reduction_scale,
)

__all__ = [
    "mse", "mae", "huber", "smooth_l1",
    "grad_mse", "grad_mae", "grad_huber", "grad_smooth_l1",
]


# The residual ``r`` is a new array, so the functions below transform it in
# place (``np.abs(r, out=r)``, ``loss *= w``): fewer large temporaries is
# faster, as each one costs fresh memory pages.


def _residual(pred, target, weight, reduction):
    """Validate the common arguments and return ``(pred - target, weight)``."""
    check_reduction(reduction)
    pred = as_float_array(pred, "pred")
    target = as_target_array(target, "target", pred.dtype)
    check_nonempty(pred, "pred")
    check_same_shape(pred, target, "pred", "target")
    r = np.asarray(pred - target)  # an array even for 0-d inputs, so it can be written to
    return r, as_weight(weight, "weight", pred.shape, pred.dtype)


def _huber_core(r, delta):
    """Huber's loss without branches, overwriting ``r``: with m = min(|r|, delta),
    m (|r| - m/2) is r^2/2 inside the threshold and delta (|r| - delta/2) outside."""
    a = np.abs(r, out=r)
    half_m = np.minimum(a, delta)
    half_m *= 0.5
    a -= half_m
    a *= half_m
    a *= 2
    return a


def _finish(loss, weight, reduction, weighted_average):
    """Apply the weight, then reduce ('mean' is a weighted average if asked)."""
    if weight is None:
        return apply_reduction(loss, reduction)
    denominator = weight.sum() if weighted_average else None
    loss *= weight
    return apply_reduction(loss, reduction, denominator)


def _finish_grad(dloss, weight, reduction, weighted_average):
    """Chain rule through :func:`_finish`: scale the elementwise derivative."""
    if weight is not None:
        dloss *= weight
    n = weight.sum() if (weight is not None and weighted_average) else dloss.size
    dloss *= grad_reduction_scale(reduction, n, dloss.dtype)
    return dloss


def mse(pred, target, *, weight=None, reduction="mean"):
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

    Example:
        >>> print(round(float(mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])), 4))
        1.3333
    """
    r, w = _residual(pred, target, weight, reduction)
    return _finish(np.square(r, out=r), w, reduction, weighted_average=True)


def grad_mse(pred, target, *, weight=None, reduction="mean"):
    r"""Gradient of :func:`mse` with respect to ``pred``: :math:`2 w_i (\hat y_i - y_i) / D`.

    Example:
        >>> grad_mse([1.0, 3.0], [0.0, 0.0]).tolist()
        [1.0, 3.0]
    """
    r, w = _residual(pred, target, weight, reduction)
    r *= 2
    return _finish_grad(r, w, reduction, weighted_average=True)


def mae(pred, target, *, weight=None, reduction="mean"):
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

    Example:
        >>> print(round(float(mae([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])), 4))
        0.6667
    """
    r, w = _residual(pred, target, weight, reduction)
    return _finish(np.abs(r, out=r), w, reduction, weighted_average=True)


def grad_mae(pred, target, *, weight=None, reduction="mean"):
    r"""Gradient of :func:`mae`: :math:`w_i\,\mathrm{sign}(\hat y_i - y_i) / D`, with sign(0) = 0 as in PyTorch.

    Example:
        >>> grad_mae([1.0, 0.0, -2.0], [0.0, 0.0, 0.0], reduction="sum").tolist()
        [1.0, 0.0, -1.0]
    """
    r, w = _residual(pred, target, weight, reduction)
    return _finish_grad(np.sign(r, out=r), w, reduction, weighted_average=True)


def huber(pred, target, *, delta=1.0, weight=None, reduction="mean"):
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

    Example:
        >>> print(round(float(huber([0.5, 3.0], [0.0, 0.0])), 4))
        1.3125
    """
    delta = check_scalar(delta, "delta", positive=True)
    r, w = _residual(pred, target, weight, reduction)
    return _finish(_huber_core(r, delta), w, reduction, weighted_average=False)


def grad_huber(pred, target, *, delta=1.0, weight=None, reduction="mean"):
    r"""Gradient of :func:`huber`: :math:`w_i\,\mathrm{clip}(r_i, -\delta, \delta) / D`.

    Example:
        >>> grad_huber([0.5, 3.0], [0.0, 0.0], reduction="sum").tolist()
        [0.5, 1.0]
    """
    delta = check_scalar(delta, "delta", positive=True)
    r, w = _residual(pred, target, weight, reduction)
    return _finish_grad(np.clip(r, -delta, delta, out=r), w, reduction, weighted_average=False)


def smooth_l1(pred, target, *, beta=1.0, weight=None, reduction="mean"):
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

    Example:
        >>> print(round(float(smooth_l1([0.5, 3.0], [0.0, 0.0], beta=1.0)), 4))
        1.3125
    """
    beta = check_scalar(beta, "beta")
    r, w = _residual(pred, target, weight, reduction)
    # Smooth L1 is Huber / beta; beta = 0 is plain L1, as in PyTorch (no 0/0).
    loss = np.abs(r, out=r) if beta == 0 else _huber_core(r, beta)
    if beta > 0:
        loss /= beta
    return _finish(loss, w, reduction, weighted_average=False)


def grad_smooth_l1(pred, target, *, beta=1.0, weight=None, reduction="mean"):
    r"""Gradient of :func:`smooth_l1`: :math:`w_i\,\mathrm{clip}(r_i/\beta, -1, 1) / D`
    (sign(r) when beta = 0, with sign(0) = 0).

    Example:
        >>> grad_smooth_l1([0.5, 3.0], [0.0, 0.0], beta=1.0, reduction="sum").tolist()
        [0.5, 1.0]
    """
    beta = check_scalar(beta, "beta")
    r, w = _residual(pred, target, weight, reduction)
    if beta == 0:
        d = np.sign(r, out=r)
    else:
        r /= beta
        d = np.clip(r, -1, 1, out=r)
    return _finish_grad(d, w, reduction, weighted_average=False)
