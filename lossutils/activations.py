r"""The output activations, computed stably: sigmoid and softmax, and their logarithms.

The losses that take logits never call these and then a logarithm (``log(sigmoid(z))`` is
``-inf`` at :math:`z = -800`); they fuse the two, as :func:`log_sigmoid` and
:func:`log_softmax` do here. These are for reading a model's outputs as probabilities.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import elementwise, rowwise
from ._stable import log_softmax_classes, sigmoid_pair, softmax_classes, softplus_tail, widened
from ._validation import as_float_array

__all__ = registry.exports("activations")


def sigmoid(x: ArrayLike) -> np.ndarray:
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow.

    Only :math:`e^{-|x|} \le 1` is ever computed: :math:`\sigma(x) = 1/(1+e^{-|x|})` for
    :math:`x \ge 0` and :math:`e^{-|x|}/(1+e^{-|x|})` otherwise, so ``sigmoid(-1e4)`` is 0 with
    no overflow warning, and :math:`\sigma(-50) \approx 1.9 \times 10^{-22}` keeps its digits.

    Args:
        x: logits, any shape.

    Returns:
        :math:`\sigma(x)`, the shape and float dtype of ``x``.

    Taught in: :ref:`binary-cross-entropy`

    Example:
        >>> sigmoid([0.0, 1e4, -1e4]).tolist()
        [0.5, 1.0, 0.0]
    """
    x = as_float_array(x, "x")
    return elementwise(lambda x: sigmoid_pair(x).p, x=x)


def log_sigmoid(x: ArrayLike) -> np.ndarray:
    r""":math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`, accurate for all finite x.

    Args:
        x: logits, any shape.

    Returns:
        :math:`\log\sigma(x) \le 0`, the shape and float dtype of ``x``.

    Taught in: :ref:`binary-cross-entropy`

    Example:
        >>> print(log_sigmoid(-1e4), round(float(log_sigmoid(0.0)), 4))
        -10000.0 -0.6931
    """
    x = as_float_array(x, "x")
    return elementwise(lambda x: np.minimum(x, 0.0) - softplus_tail(x), x=x)


def _as_vectors(x: ArrayLike) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError(
            "x must have at least one dimension (the one softmax normalises), got a scalar"
        )
    return x


def softmax(x: ArrayLike, *, axis: int = -1) -> np.ndarray:
    r"""Softmax :math:`e^{x_c} / \sum_k e^{x_k}` along ``axis``, computed as
    :math:`e^{x_c - m} / \sum_k e^{x_k - m}` with :math:`m = \max_k x_k` (no overflow).

    Args:
        x: scores, at least one dimension.
        axis: the axis that sums to 1 (PyTorch's ``dim``).

    Returns:
        Probabilities, the shape and float dtype of ``x``.

    Taught in: :ref:`multiclass-cross-entropy`

    Example:
        >>> softmax([1e4, 0.0]).tolist()
        [1.0, 0.0]
    """
    x = _as_vectors(x)
    return rowwise(softmax_classes, axis=axis, out="elements", x=x)


def log_softmax(x: ArrayLike, *, axis: int = -1) -> np.ndarray:
    r"""Log-softmax :math:`x_c - \log\sum_k e^{x_k}` along ``axis``, stable and accurate.

    The log-sum-exp is :math:`m + \log(1 + \sum_{k \ne k^*} e^{x_k - m})` with
    :math:`m = x_{k^*} = \max_k x_k`, evaluated with ``log1p``, so the log-probability of a
    dominant class keeps its digits.

    Args:
        x: scores, at least one dimension.
        axis: the axis to normalise along.

    Returns:
        Log-probabilities, the shape and float dtype of ``x``.

    Taught in: :ref:`multiclass-cross-entropy`

    Example:
        >>> print(log_softmax([0.0, -50.0])[0])
        -1.9287498479639178e-22
    """
    x = _as_vectors(x)
    exact = widened(x.dtype)  # float32 scores in float64: every difference is exact
    return rowwise(
        lambda x: log_softmax_classes(x, exact_differences=exact), axis=axis, out="elements", x=x
    )
