r"""Token-level losses for padded sequences, and perplexity.

A batch of sequences of length ``T`` over a vocabulary of ``C`` tokens
gives logits ``(N, C, T)`` (PyTorch's class-axis-1 layout) and targets
``(N, T)`` in which padding positions hold ``ignore_index``. These are thin
wrappers of :func:`~lossutils.multiclass.cross_entropy` and
:func:`~lossutils.multiclass.nll_loss` that insist on that 3-D layout
(and catch the common ``(N, T, C)`` mix-up); 'mean' averages over the real,
non-padding tokens, as PyTorch does; ``reduction="sequence_mean"`` averages each sequence
over its own tokens first, then over the sequences (the two are compared in the chapter
"Sequence models: cross-entropy per token").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result
from ._stable import working_dtype
from ._validation import as_float_array
from .multiclass import cross_entropy, grad_cross_entropy, grad_nll_loss, nll_loss

__all__ = registry.exports("sequence")

#: The sequence losses' reductions: PyTorch's three, and the mean of the per-sequence means.
REDUCTIONS = ("mean", "sum", "none", "sequence_mean")


def _check_sequence(first: ArrayLike, target: ArrayLike, name: str) -> None:
    """Check the ``(N, C, T)`` / ``(N, T)`` layout before the general checks run."""
    shape, t_shape = np.shape(first), np.shape(target)
    if len(shape) != 3:
        raise ValueError(
            f"{name} must have shape (N, C, T) (batch, classes, time), got shape {shape}"
        )
    if len(t_shape) != 2:
        raise ValueError(
            f"target must have shape (N, T) = {(shape[0], shape[2])}, got shape {t_shape}"
        )
    if t_shape != (shape[0], shape[2]) and t_shape == shape[:2]:
        raise ValueError(
            f"{name} of shape {shape} looks like (N, T, C) for target shape {t_shape}: "
            f"put the classes on axis 1, e.g. np.moveaxis({name}, -1, 1)"
        )


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _sequence_weights(target: ArrayLike, ignore_index: int) -> np.ndarray:
    """The ``(N, T)`` float64 weight of each token in the mean of the per-sequence means.

    :math:`1 / (N' L_i)` at each of the :math:`L_i` real tokens of sequence :math:`i`, where
    :math:`N'` counts the sequences that have a real token; 0 at padding, and in a sequence that
    is all padding (it has no mean to average).
    """
    real = np.asarray(target) != ignore_index
    lengths = real.sum(axis=1)
    n_sequences = np.count_nonzero(lengths)
    per_token = np.divide(1.0, n_sequences * lengths, out=np.zeros(len(lengths)), where=lengths > 0)
    return np.where(real, per_token[:, None], 0.0)


def _mean_over_sequences(loss, first: ArrayLike, target: ArrayLike, ignore_index: int, name: str):
    """``loss``'s token losses averaged per sequence, then over sequences: one weighted sum,
    in float64 for float32 inputs and rounded once (see lossutils._stable). NaN without tokens."""
    x = as_float_array(first, name)
    tokens = loss(
        x.astype(working_dtype(x.dtype)), target, ignore_index=ignore_index, reduction="none"
    )
    weights = _sequence_weights(target, ignore_index)
    if not weights.any():
        return x.dtype.type(np.nan)
    return x.dtype.type(np.sum(tokens * weights))


def _grad_mean_over_sequences(
    grad, first: ArrayLike, target: ArrayLike, ignore_index: int, name: str
) -> np.ndarray:
    """Gradient of :func:`_mean_over_sequences`: each token's own gradient times its weight."""
    x = as_float_array(first, name)
    per_token = grad(
        x.astype(working_dtype(x.dtype)), target, ignore_index=ignore_index, reduction="sum"
    )
    return (per_token * _sequence_weights(target, ignore_index)[:, None, :]).astype(x.dtype)


def sequence_cross_entropy(
    logits: ArrayLike, target: ArrayLike, *, ignore_index: int = -100, reduction: str = "mean"
) -> Result:
    r"""Token-level cross-entropy of padded sequences.

    Each real token is one classification over the vocabulary; padding
    tokens (``target == ignore_index``) neither count nor get a gradient.

    .. math::
        \mathcal L = \frac{1}{|\mathcal V|} \sum_{(i,t) \in \mathcal V} -\log p_{i,y_{it},t},
        \qquad \mathcal V = \{(i, t) : y_{it} \ne \text{ignore\_index}\}

    (for 'mean'; 'sum' drops the :math:`1/|\mathcal V|`, 'none' returns the
    ``(N, T)`` token losses with 0 at padding). All padding gives NaN.

    'sequence_mean' weighs every sequence alike instead of every token: with
    :math:`L_i` real tokens in sequence :math:`i` and :math:`N'` sequences that
    have any,

    .. math::
        \mathcal L_{\text{seq}} = \frac{1}{N'} \sum_{i} \frac{1}{L_i}
        \sum_{t : (i,t) \in \mathcal V} -\log p_{i,y_{it},t},

    so a token of a short sequence weighs more than one of a long sequence.
    PyTorch has no such reduction (the formula in torch ops is what the tests
    compare with).

    Args:
        logits: ``(N, C, T)`` scores.
        target: ``(N, T)`` integer token ids, padding = ``ignore_index``.
        ignore_index: the padding id.
        reduction: ``'mean'`` (default, per real token), ``'sum'``, ``'none'``, or
            ``'sequence_mean'`` (per sequence, then over sequences).

    Returns:
        A scalar of ``logits``' float dtype, or the ``(N, T)`` losses for 'none'.

    References:
        Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural
        Networks", NeurIPS 2014.

    Taught in: :ref:`sequences`

    Example:
        >>> logits = np.zeros((1, 4, 3))  # uniform over 4 tokens, 3 steps
        >>> print(round(float(sequence_cross_entropy(logits, [[1, 2, -100]])), 4))
        1.3863
    """
    _check_sequence(logits, target, "logits")
    _check_reduction(reduction)
    if reduction == "sequence_mean":
        return _mean_over_sequences(cross_entropy, logits, target, ignore_index, "logits")
    return cross_entropy(logits, target, ignore_index=ignore_index, reduction=reduction)


def grad_sequence_cross_entropy(
    logits: ArrayLike, target: ArrayLike, *, ignore_index: int = -100, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`sequence_cross_entropy`: ``(softmax - onehot) / n_tokens``, 0 at padding.

    For 'sequence_mean' each token's ``softmax - onehot`` is divided by
    :math:`N' L_i` instead.

    Example:
        >>> grad_sequence_cross_entropy(np.zeros((1, 2, 2)), [[0, -100]]).tolist()
        [[[-0.5, 0.0], [0.5, 0.0]]]
    """
    _check_sequence(logits, target, "logits")
    _check_reduction(reduction)
    if reduction == "sequence_mean":
        return _grad_mean_over_sequences(grad_cross_entropy, logits, target, ignore_index, "logits")
    return grad_cross_entropy(logits, target, ignore_index=ignore_index, reduction=reduction)


def sequence_nll_loss(
    log_probs: ArrayLike, target: ArrayLike, *, ignore_index: int = -100, reduction: str = "mean"
) -> Result:
    r"""Token-level negative log-likelihood of padded sequences, from log-probabilities.

    As :func:`sequence_cross_entropy`, for models whose output layer is
    already a log-softmax:
    :math:`\mathcal L = \frac{1}{|\mathcal V|}\sum_{(i,t)\in\mathcal V} -\log p_{i,y_{it},t}`.

    Args:
        log_probs: ``(N, C, T)`` log-probabilities.
        target: ``(N, T)`` integer token ids, padding = ``ignore_index``.
        ignore_index: the padding id.
        reduction: ``'mean'`` (default, per real token), ``'sum'``, ``'none'``, or
            ``'sequence_mean'`` (per sequence, then over sequences).

    Returns:
        A scalar of ``log_probs``' float dtype, or the ``(N, T)`` losses for 'none'.

    References:
        PyTorch ``NLLLoss`` (K-dimensional case).

    Taught in: :ref:`sequences`

    Example:
        >>> log_probs = np.log(np.full((1, 4, 2), 0.25))
        >>> print(round(float(sequence_nll_loss(log_probs, [[3, -100]])), 4))
        1.3863

        A long sequence of easy tokens and a short hard one (C = 1: the target's
        probability is the whole story): per token, 6 ln 2 over 4 tokens; per
        sequence, the mean of ln 2 and 3 ln 2.

        >>> log_p = np.log([[[0.5, 0.5, 0.5]], [[0.125, 1.0, 1.0]]])  # (N=2, C=1, T=3)
        >>> target = [[0, 0, 0], [0, -100, -100]]
        >>> print(round(float(sequence_nll_loss(log_p, target)), 4))
        1.0397
        >>> print(round(float(sequence_nll_loss(log_p, target, reduction="sequence_mean")), 4))
        1.3863
    """
    _check_sequence(log_probs, target, "log_probs")
    _check_reduction(reduction)
    if reduction == "sequence_mean":
        return _mean_over_sequences(nll_loss, log_probs, target, ignore_index, "log_probs")
    return nll_loss(log_probs, target, ignore_index=ignore_index, reduction=reduction)


def grad_sequence_nll_loss(
    log_probs: ArrayLike, target: ArrayLike, *, ignore_index: int = -100, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`sequence_nll_loss`: ``-onehot / n_tokens``, 0 at padding.

    For 'sequence_mean' each token's ``-onehot`` is divided by :math:`N' L_i` instead.

    Example:
        >>> grad_sequence_nll_loss(np.zeros((1, 2, 2)), [[1, -100]]).tolist()
        [[[0.0, 0.0], [-1.0, 0.0]]]
    """
    _check_sequence(log_probs, target, "log_probs")
    _check_reduction(reduction)
    if reduction == "sequence_mean":
        return _grad_mean_over_sequences(
            grad_nll_loss, log_probs, target, ignore_index, "log_probs"
        )
    return grad_nll_loss(log_probs, target, ignore_index=ignore_index, reduction=reduction)


def perplexity(logits: ArrayLike, target: ArrayLike, *, ignore_index: int = -100) -> np.floating:
    r"""Perplexity: the exponential of the mean token cross-entropy.

    The effective number of tokens the model hesitates between: a uniform
    guess over :math:`C` tokens has perplexity :math:`C`.

    .. math::
        \mathrm{PPL} = \exp\Big(\frac{1}{|\mathcal V|}\sum_{(i,t)\in\mathcal V} -\log p_{i,y_{it},t}\Big)

    Args:
        logits: ``(N, C, T)`` scores.
        target: ``(N, T)`` integer token ids, padding = ``ignore_index``.
        ignore_index: the padding id (not counted).

    Returns:
        A scalar of ``logits``' float dtype (NaN if every token is padding).

    References:
        Jelinek et al., "Perplexity -- a measure of the difficulty of speech
        recognition tasks", JASA 1977.

    Taught in: :ref:`sequences`

    Example:
        >>> print(round(float(perplexity(np.zeros((2, 4, 3)), [[0, 1, 2], [3, -100, -100]])), 4))
        4.0
    """
    _check_sequence(logits, target, "logits")
    x = as_float_array(logits, "logits")
    # exp of the float64 mean, rounded once (float32 logits: see lossutils._stable)
    mean_nll = sequence_cross_entropy(
        x.astype(working_dtype(x.dtype)), target, ignore_index=ignore_index
    )
    return x.dtype.type(np.exp(mean_nll))
