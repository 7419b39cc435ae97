r"""Probabilistic regression: losses that score a predicted *distribution*, not a point.

The recipe of maximum likelihood, applied beyond the Gaussian of fixed variance: pick a
distribution for the target, let the model predict its parameters, and minimise the negative
log-likelihood (NLL) of the observed targets.

* :func:`gaussian_nll_loss`: a Gaussian whose mean *and* variance the model predicts
  (heteroscedastic regression);
* :func:`poisson_nll_loss`: a Poisson distribution for counts, from its log-rate or its rate;
* :func:`pinball_loss`: the quantile (pinball) loss, whose minimiser is a quantile of the
  target's distribution rather than a parameter of an assumed one.

Each has a ``grad_`` twin: the gradient of the reduced loss with respect to the first argument
(the predicted mean, log-rate or quantile).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, dot, elementwise
from ._validation import as_float_array, check_scalar, mean_scale, pair_inputs

__all__ = registry.exports("probabilistic")

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _check_flag(value: bool, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_nonnegative(arr: np.ndarray, name: str, what: str) -> None:
    """Every entry of ``arr`` is >= 0 (NaN fails too)."""
    if arr.size and arr.min() >= 0:  # one fast pass; NaN fails it
        return
    bad = ~(arr >= 0)
    if bad.any():
        raise ValueError(
            f"{name} must contain {what} >= 0, got {bad.sum()} value(s) that are not, "
            f"e.g. {arr[bad].flat[0]}"
        )


# --------------------------------------------------------------------------
# Gaussian NLL with a predicted variance
# --------------------------------------------------------------------------


def _gaussian_inputs(input, target, var, eps, full, reduction):
    """Validate; return ``(input, target, var)``, var shaped to broadcast against input as
    PyTorch's rules allow: the input's shape, its shape without the last axis (one variance
    per row), or its shape with exactly one axis of length 1."""
    x, t = pair_inputs(input, target, name="input", reduction=reduction)
    check_scalar(eps, "eps", positive=True)
    _check_flag(full, "full")
    if np.isscalar(var) and not isinstance(var, (str, bytes)):
        var = np.full(x.shape, var)  # PyTorch: a float var is one variance for every element
    v = as_float_array(var, "var", dtype=x.dtype)
    if v.shape != x.shape:
        if v.shape == x.shape[:-1]:
            v = v[..., None]  # one variance per row, shared by its last axis
        elif not (v.ndim == x.ndim and sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(
                f"var of shape {v.shape} does not fit input of shape {x.shape}: expected "
                f"{x.shape}, {x.shape[:-1]}, or {x.shape} with one axis of length 1"
            )
    _check_nonnegative(v, "var", "variances")
    return x, t, v


def gaussian_nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    var: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Result:
    r"""Gaussian negative log-likelihood with a predicted mean and variance.

    The model says not only where the target should be (``input``, the mean :math:`\mu`) but
    how sure it is (``var``, the variance :math:`\sigma^2`). A large variance makes a miss
    cheap, but costs :math:`\tfrac12\log\sigma^2`: the loss is minimised by a variance equal to
    the expected squared error. With a fixed variance it is the MSE, halved and scaled.

    .. math::
        \ell_i = \frac12\left(\log \max(\sigma_i^2, \epsilon)
                 + \frac{(\mu_i - y_i)^2}{\max(\sigma_i^2, \epsilon)}\right)
                 \;\left[+ \tfrac12 \log 2\pi \text{ if full}\right], \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Stability: a variance that reaches 0 would make :math:`\log\sigma^2` and the division
    infinite (the naive form returns ``inf`` or ``nan``); it is clamped at ``eps`` first, as in
    PyTorch. float32 inputs are evaluated in float64 and rounded once.

    Args:
        input: the predicted means :math:`\mu`, any shape.
        target: the targets :math:`y`, the same shape as ``input``.
        var: the predicted variances :math:`\sigma^2 \ge 0`: the shape of ``input``, or that
            shape without its last axis (one variance per row), or with one axis of length 1
            (shared along it), or a single float (PyTorch's rules).
        full: add the constant :math:`\tfrac12\log 2\pi`, making the loss the exact NLL.
        eps: the smallest variance used, > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``input``'s float dtype, or the elementwise losses for 'none'.

    References:
        Nix & Weigend, "Estimating the mean and variance of the target probability
        distribution", ICNN 1994 (the network with a mean and a variance output); Seitzer et
        al., "On the Pitfalls of Heteroscedastic Uncertainty Estimation with Probabilistic
        Neural Networks", ICLR 2022 (its gradient for the mean is scaled by
        :math:`1/\sigma^2`, which can stall the fit of the mean; their beta-NLL weights each
        term by :math:`\sigma^{2\beta}`).

    Taught in: :ref:`probabilistic-regression`

    Example:
        >>> print(round(float(gaussian_nll_loss([0.0, 1.0], [1.0, 1.0], [1.0, 4.0])), 4))
        0.5966
    """
    x, t, v = _gaussian_inputs(input, target, var, eps, full, reduction)
    constant = _HALF_LOG_2PI if full else 0.0

    def loss(x, t, v):
        v = np.maximum(v, eps)
        return 0.5 * (np.log(v) + np.square(x - t) / v) + constant

    return elementwise(loss, reduction, x=x, t=t, v=v)


def grad_gaussian_nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    var: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`gaussian_nll_loss` with respect to the mean ``input``:
    :math:`(\mu_i - y_i) / \max(\sigma_i^2, \epsilon) / D`.

    It is the MSE's gradient divided by the variance: an example the model calls uncertain
    pulls on the mean with less force. (With respect to the variance, the gradient is
    :math:`\tfrac12(1/\sigma^2 - (\mu - y)^2/\sigma^4)/D`, zero where the variance equals the
    squared error.)

    Example:
        >>> grad_gaussian_nll_loss([0.0, 0.0], [1.0, 1.0], [1.0, 4.0], reduction="sum").tolist()
        [-1.0, -0.25]
    """
    x, t, v = _gaussian_inputs(input, target, var, eps, full, reduction)
    scale = mean_scale(reduction, x.size)
    return elementwise(lambda x, t, v: scale * (x - t) / np.maximum(v, eps), x=x, t=t, v=v)


# --------------------------------------------------------------------------
# Poisson NLL for counts
# --------------------------------------------------------------------------


def _poisson_inputs(input, target, log_input, full, eps, reduction):
    x, t = pair_inputs(input, target, name="input", reduction=reduction)
    log_input = _check_flag(log_input, "log_input")
    _check_flag(full, "full")
    check_scalar(eps, "eps", positive=True)
    _check_nonnegative(t, "target", "counts")
    if not log_input:
        _check_nonnegative(x, "input", "rates (log_input=False)")
    return x, t, log_input


def _stirling(t: np.ndarray) -> np.ndarray:
    r"""Stirling's approximation of :math:`\log(t!)` without its first term, PyTorch's
    ``full=True`` term: :math:`t\log t - t + \tfrac12\log(2\pi t)` for :math:`t > 1`, else 0."""
    big = t > 1
    s = np.where(big, t, 1.0)  # log of 1 is 0: no warning where the term is dropped
    return np.where(big, s * np.log(s) - s + 0.5 * np.log(2 * np.pi * s), 0.0)


def poisson_nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Result:
    r"""Poisson negative log-likelihood, the loss for counts.

    A count :math:`y \in \{0, 1, 2, \dots\}` with rate :math:`\lambda` has probability
    :math:`\lambda^y e^{-\lambda} / y!`; its NLL, without the :math:`\log y!` that does not
    depend on the model, is :math:`\lambda - y \log\lambda`, minimised by :math:`\lambda = y`
    (and by the conditional mean, over many examples). Predicting the log-rate
    :math:`z = \log\lambda` (``log_input=True``) keeps the rate positive with no constraint.

    .. math::
        \ell_i = \begin{cases}
            e^{z_i} - y_i z_i & \text{log\_input} \\
            \lambda_i - y_i \log(\lambda_i + \epsilon) & \text{otherwise}
        \end{cases}
        \;\left[+\, y_i\log y_i - y_i + \tfrac12\log(2\pi y_i) \text{ if full and } y_i > 1
        \right]

    Stability: with ``log_input=True`` no logarithm is taken at all, so a rate of
    :math:`e^{-800}` (0 in floating point) is no problem; with ``log_input=False``,
    :math:`\log(\lambda + \epsilon)` keeps a zero rate finite. ``full`` adds Stirling's
    approximation of :math:`\log y!`, as PyTorch does. float32 inputs are evaluated in float64
    and rounded once.

    Args:
        input: log-rates :math:`z` (``log_input=True``) or rates :math:`\lambda \ge 0`.
        target: counts :math:`y \ge 0` (need not be integers), the same shape as ``input``.
        log_input: whether ``input`` holds log-rates.
        full: add the Stirling term.
        eps: added to the rate inside the log when ``log_input=False``, > 0.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``input``'s float dtype, or the elementwise losses for 'none'.

    References:
        McCullagh & Nelder, *Generalized Linear Models* (1989), chapter 6 (Poisson regression
        with the log link); PyTorch ``PoissonNLLLoss``.

    Taught in: :ref:`probabilistic-regression`

    Example:
        >>> print(round(float(poisson_nll_loss([0.0, np.log(3.0)], [1.0, 3.0])), 4))
        0.3521
    """
    x, t, log_input = _poisson_inputs(input, target, log_input, full, eps, reduction)

    def loss(x, t):
        value = np.exp(x) - t * x if log_input else x - t * np.log(x + eps)
        return value + _stirling(t) if full else value

    def total(x, t):  # sum(e^x) - t . x: one pass fewer per block (its error bound is the same)
        return float(np.exp(x).sum()) - dot(t, x)

    simple = log_input and not full
    return elementwise(loss, reduction, total=total if simple else None, x=x, t=t)


def grad_poisson_nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`poisson_nll_loss` with respect to ``input``: :math:`(e^{z_i} - y_i)/D`
    for log-rates, :math:`(1 - y_i / (\lambda_i + \epsilon))/D` for rates (the Stirling term
    does not depend on the input).

    Example:
        >>> grad_poisson_nll_loss([0.0, 0.0], [1.0, 3.0], reduction="sum").tolist()
        [0.0, -2.0]
    """
    x, t, log_input = _poisson_inputs(input, target, log_input, full, eps, reduction)
    scale = mean_scale(reduction, x.size)
    if log_input:
        return elementwise(lambda x, t: scale * (np.exp(x) - t), x=x, t=t)
    return elementwise(lambda x, t: scale * (1 - t / (x + eps)), x=x, t=t)


# --------------------------------------------------------------------------
# Quantiles
# --------------------------------------------------------------------------


def _pinball_inputs(pred, target, quantile, reduction):
    p, t = pair_inputs(pred, target, name="pred", reduction=reduction)
    q = as_float_array(quantile, "quantile", dtype=p.dtype)
    try:
        fits = np.broadcast_shapes(q.shape, p.shape) == p.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"quantile must be a number or an array that broadcasts to pred's shape {p.shape}, "
            f"got shape {q.shape}"
        )
    bad = ~((q > 0) & (q < 1))
    if bad.any():
        raise ValueError(f"quantile must be in (0, 1), got {q[bad].flat[0]}")
    return p, t, q


def pinball_loss(
    pred: ArrayLike, target: ArrayLike, *, quantile: ArrayLike, reduction: str = "mean"
) -> Result:
    r"""The pinball (quantile) loss: its minimiser is the ``quantile`` of the target.

    An under-prediction costs :math:`q` per unit and an over-prediction :math:`1 - q`, so the
    best constant prediction leaves a share :math:`q` of the targets below it: the
    :math:`q`-quantile. At :math:`q = 1/2` it is half the absolute error, whose minimiser is the
    median. Several quantiles fitted at once give a prediction interval, e.g. from the 0.05-
    to the 0.95-quantile, that should hold 90 % of the targets.

    .. math::
        \ell_i = \max\big(q\, r_i,\ (q - 1)\, r_i\big), \quad r_i = y_i - \hat y_i, \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Arithmetic only, so it needs no stabilising and float32 stays float32.

    Args:
        pred: the predicted quantiles :math:`\hat y`, any shape.
        target: the targets :math:`y`, the same shape as ``pred``.
        quantile: :math:`q \in (0, 1)`, a number, or an array that broadcasts to ``pred``'s
            shape (e.g. shape ``(3,)`` for predictions ``(N, 3)`` of three quantiles).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``pred``'s float dtype, or the elementwise losses for 'none'.

    References:
        Koenker & Bassett, "Regression Quantiles", Econometrica 46(1), 1978.

    Taught in: :ref:`probabilistic-regression`

    Example:
        >>> print(float(pinball_loss([0.0, 0.0], [1.0, -1.0], quantile=0.9, reduction="sum")))
        1.0
    """
    p, t, q = _pinball_inputs(pred, target, quantile, reduction)

    def loss(p, t, q):
        r = t - p
        return np.maximum(q * r, (q - 1) * r)

    return elementwise(loss, reduction, float64_inside=False, p=p, t=t, q=q)


def grad_pinball_loss(
    pred: ArrayLike, target: ArrayLike, *, quantile: ArrayLike, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`pinball_loss` with respect to ``pred``: :math:`-q/D` where the
    target lies above the prediction, :math:`(1 - q)/D` where below, and at a tie
    :math:`(\tfrac12 - q)/D`, the mean of the two (PyTorch's ``maximum`` splits a tie evenly;
    at :math:`q = 1/2` it is 0, as the absolute error's).

    Example:
        >>> grad_pinball_loss([0.0, 0.0, 0.0], [1.0, -1.0, 0.0], quantile=0.9, reduction="sum").tolist()
        [-0.9, 0.1, -0.4]
    """
    p, t, q = _pinball_inputs(pred, target, quantile, reduction)
    scale = mean_scale(reduction, p.size)

    def grad(p, t, q):
        side = np.sign(p - t)  # +1 over-prediction, -1 under, 0 a tie
        return scale * (0.5 * side + (0.5 - q))  # 1 - q, -q or 1/2 - q

    return elementwise(grad, float64_inside=False, p=p, t=t, q=q)
