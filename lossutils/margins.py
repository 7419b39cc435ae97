r"""Margins, rankings and embeddings: losses that are satisfied once a margin is met.

Cross-entropy keeps pushing a correct class's probability towards 1; a margin loss stops once
the correct score beats the others by ``margin``. The same idea ranks pairs of items
(:func:`margin_ranking_loss`) and shapes an embedding space, where an anchor must lie closer to
a positive than to a negative (:func:`triplet_margin_loss`). :func:`info_nce` is the
cross-entropy version of the same goal: classify which of a batch of keys belongs to each
query, from their cosine similarities divided by a temperature.

Each loss has a ``grad_`` twin, the gradient of the reduced loss with respect to the first
argument; at a kink it follows PyTorch's choice of subgradient.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._blocks import Result, elementwise, reduce, rowwise
from ._stable import p_norm, p_norm_grad, pick, target_nll, target_softmax, working_dtype
from ._validation import (
    as_float_array,
    as_target_array,
    as_weight,
    check_integer,
    check_nonempty,
    check_reduction,
    check_same_shape,
    check_scalar,
    mean_scale,
)

__all__ = registry.exports("margins")


# --------------------------------------------------------------------------
# Multi-class margin (SVM) loss
# --------------------------------------------------------------------------


def _margin_inputs(input, target, p, margin, weight, reduction):
    """Validate; return ``(scores (N, C), class indices (N,), weight or None, unbatched)``."""
    check_reduction(reduction)
    x = as_float_array(input, "input")
    if x.ndim not in (1, 2):
        raise ValueError(f"input must have shape (N, C) or (C,), got shape {x.shape}")
    check_nonempty(x, "input")
    if check_integer(p, "p") not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p}")
    check_scalar(margin, "margin")
    unbatched = x.ndim == 1
    n_classes = x.shape[-1]
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    shape = () if unbatched else x.shape[:1]
    if t.shape != shape:
        raise ValueError(f"target of class indices must have shape {shape}, got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)].flat[0]
        raise ValueError(f"target contains class index {bad}, outside [0, {n_classes})")
    w = as_weight(weight, "weight", (n_classes,), x.dtype)
    if unbatched:
        x, t = x[None], t[None]
    return np.ascontiguousarray(x), t, w, unbatched


def _hinges(x: np.ndarray, y: np.ndarray, margin: float) -> np.ndarray:
    r"""The hinge of every wrong class, :math:`\max(0, m - x_y + x_c)` (0 at the target),
    for blocks ``(rows, C, K)`` and targets ``(rows, K)``."""
    h = margin - pick(x, y)[:, None, :] + x
    np.maximum(h, 0.0, out=h)
    np.put_along_axis(h, y[:, None, :], 0.0, axis=1)
    return h


def multi_margin_loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Result:
    r"""Multi-class margin loss (the multiclass SVM, or hinge, loss) of class scores.

    Each wrong class :math:`c` costs nothing once the correct score beats it by the margin,
    :math:`x_y \ge x_c + m`, and linearly (``p=1``) or quadratically (``p=2``) more the less it
    does. A sample whose margins are all met has loss 0 and gradient 0: unlike cross-entropy,
    the loss is *satisfied*.

    .. math::
        \ell_i = \frac{w_{y_i}}{C} \sum_{c \ne y_i} \max(0,\ m - x_{i y_i} + x_{i c})^p,
        \qquad \text{mean} = \frac1N \sum_i \ell_i

    Arithmetic only (evaluated in float64 for float32 input and rounded once, like the other
    class losses), so it needs no stabilising.

    Args:
        input: class scores, ``(N, C)``, or unbatched ``(C,)``.
        target: integer class indices, ``(N,)`` (``()`` for unbatched scores).
        p: 1 (hinge) or 2 (squared hinge).
        margin: :math:`m \ge 0`.
        weight: optional per-class weights, shape ``(C,)``; a sample's terms are scaled by the
            weight of its target class (PyTorch's rule).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``input``'s float dtype, or the per-sample losses for 'none'.

    References:
        Weston & Watkins, "Support Vector Machines for Multi-Class Pattern Recognition", ESANN
        1999 (this sum over wrong classes); Stanford CS231n notes, "Linear classification" (the
        multiclass SVM loss against the softmax classifier); PyTorch ``MultiMarginLoss``.

    Taught in: :ref:`margins-and-embeddings`

    Example:
        >>> print(round(float(multi_margin_loss([[3.0, 2.5, 0.0]], [0])), 4))
        0.1667
        >>> print(float(multi_margin_loss([[3.0, 1.0, 0.0]], [0])))  # every margin met
        0.0
    """
    x, y, w, unbatched = _margin_inputs(input, target, p, margin, weight, reduction)
    n_classes = x.shape[1]
    w_y = None if w is None else w[y]

    def loss(x, y, w_y=None):
        h = _hinges(x, y, margin)
        value = (h if p == 1 else h * h).sum(axis=1) / n_classes
        return value if w_y is None else w_y * value

    result = rowwise(loss, reduction, x=x, y=y, w_y=w_y)
    return result.reshape(()) if unbatched and reduction == "none" else result


def grad_multi_margin_loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`multi_margin_loss` with respect to ``input``.

    For each wrong class with an unmet margin, :math:`h_c = m - x_y + x_c > 0`:
    :math:`\partial\ell/\partial x_c = w_y\, p\, h_c^{p-1} / C` and the target class gets minus
    their sum; 0 everywhere once every margin is met (at :math:`h_c = 0` exactly too, as in
    PyTorch). Divided by :math:`N` for 'mean'.

    Example:
        >>> grad_multi_margin_loss([[3.0, 2.5, 0.0]], [0], reduction="sum").tolist()
        [[-0.3333333333333333, 0.3333333333333333, 0.0]]
    """
    x, y, w, unbatched = _margin_inputs(input, target, p, margin, weight, reduction)
    n_classes = x.shape[1]
    scale = mean_scale(reduction, x.shape[0]) / n_classes
    w_y = None if w is None else w[y]

    def grad(x, y, w_y=None):
        h = _hinges(x, y, margin)
        g = (h > 0).astype(h.dtype) if p == 1 else 2 * h
        g *= scale if w_y is None else scale * w_y[:, None, :]
        target_grad = 0.0 - g.sum(axis=1, keepdims=True)  # 0 - 0 is +0.0, where -0 is -0.0
        np.put_along_axis(g, y[:, None, :], target_grad, axis=1)
        return g

    result = rowwise(grad, out="elements", x=x, y=y, w_y=w_y)
    return result[0] if unbatched else result


# --------------------------------------------------------------------------
# Ranking pairs
# --------------------------------------------------------------------------


def _ranking_inputs(input1, input2, target, margin, reduction):
    check_reduction(reduction)
    x1 = as_float_array(input1, "input1")
    x2 = as_float_array(input2, "input2", dtype=x1.dtype)
    t = as_target_array(target, "target", x1.dtype)
    check_nonempty(x1, "input1")
    check_same_shape(x1, x2, "input1", "input2")
    check_same_shape(x1, t, "input1", "target")
    bad = (t != 1) & (t != -1)
    if bad.any():
        raise ValueError(
            "target must contain 1 (input1 should rank higher) or -1 (input2 should), "
            f"got {t[bad].flat[0]}"
        )
    check_scalar(margin, "margin")
    return x1, x2, t


def margin_ranking_loss(
    input1: ArrayLike,
    input2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    reduction: str = "mean",
) -> Result:
    r"""Margin ranking loss: the first score should beat the second by ``margin`` (or lose).

    For a pair of items whose order is known, :math:`y = 1` if the first should rank higher
    and :math:`y = -1` if the second should, the loss is 0 once the right one leads by the
    margin. With ``margin=0`` any correct order is enough, and scores that are all equal cost
    nothing: a positive margin is what makes the scores spread apart.

    .. math::
        \ell_i = \max\big(0,\ -y_i (s_{1i} - s_{2i}) + m\big), \qquad
        \text{mean} = \frac1n \sum_i \ell_i

    Arithmetic only: float32 stays float32 and needs no stabilising.

    Args:
        input1: scores :math:`s_1` of the first items, any shape.
        input2: scores :math:`s_2` of the second items, the same shape.
        target: :math:`y \in \{1, -1\}`, the same shape.
        margin: :math:`m \ge 0`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``input1``'s float dtype, or the elementwise losses for 'none'.

    References:
        Herbrich, Graepel & Obermayer, "Large Margin Rank Boundaries for Ordinal Regression"
        (2000); PyTorch ``MarginRankingLoss``.

    Taught in: :ref:`margins-and-embeddings`

    Example:
        >>> print(float(margin_ranking_loss([2.0, 0.5], [1.0, 0.0], [1, 1], margin=1.0)))
        0.25
    """
    x1, x2, t = _ranking_inputs(input1, input2, target, margin, reduction)

    def loss(x1, x2, t):
        return np.maximum(margin - t * (x1 - x2), 0.0)

    return elementwise(loss, reduction, float64_inside=False, x1=x1, x2=x2, t=t)


def grad_margin_ranking_loss(
    input1: ArrayLike,
    input2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`margin_ranking_loss` with respect to ``input1``: :math:`-y_i / D`
    where :math:`-y_i(s_{1i} - s_{2i}) + m \ge 0`, else 0 (PyTorch passes the gradient at 0
    too). The gradient with respect to ``input2`` is its negative.

    Example:
        >>> grad_margin_ranking_loss([2.0, 0.5], [1.0, 0.0], [1, 1], margin=1.0).tolist()
        [-0.5, -0.5]
    """
    x1, x2, t = _ranking_inputs(input1, input2, target, margin, reduction)
    scale = mean_scale(reduction, x1.size)

    def grad(x1, x2, t):
        active = margin - t * (x1 - x2) >= 0
        return np.where(active, -scale * t, 0.0)

    return elementwise(grad, float64_inside=False, x1=x1, x2=x2, t=t)


# --------------------------------------------------------------------------
# Triplets of embeddings
# --------------------------------------------------------------------------


def _embedding_inputs(names: tuple[str, ...], arrays: tuple, reduction: str):
    """Validate vectors ``(N, D)`` or ``(D,)`` of one shape; return them ``(N, D)`` and whether
    they were unbatched."""
    check_reduction(reduction)
    first = as_float_array(arrays[0], names[0])
    out = [first] + [as_float_array(a, n, dtype=first.dtype) for n, a in zip(names[1:], arrays[1:])]
    if first.ndim not in (1, 2):
        raise ValueError(f"{names[0]} must have shape (N, D) or (D,), got shape {first.shape}")
    check_nonempty(first, names[0])
    for name, a in zip(names[1:], out[1:]):
        check_same_shape(first, a, names[0], name)
    unbatched = first.ndim == 1
    return [a[None] if unbatched else a for a in out], unbatched


def _triplet_inputs(anchor, positive, negative, margin, p, eps, swap, reduction):
    arrays, unbatched = _embedding_inputs(
        ("anchor", "positive", "negative"), (anchor, positive, negative), reduction
    )
    check_scalar(margin, "margin", positive=True)  # PyTorch refuses margin <= 0
    p = check_scalar(p, "p")
    if p < 1:
        raise ValueError(f"p must be >= 1 (a norm), got {p}")
    check_scalar(eps, "eps")
    if not isinstance(swap, (bool, np.bool_)):
        raise TypeError(f"swap must be True or False, got {swap!r}")
    return arrays, unbatched, p


class _Triplet:
    """The distances of a block of triplets: anchor-positive, anchor-negative and, with
    ``swap``, positive-negative (PyTorch's ``pairwise_distance``: :math:`\\lVert a - b +
    \\epsilon\\rVert_p`, the eps added to the difference)."""

    def __init__(self, a, pos, neg, p, eps, swap):
        self.u_ap, self.u_an = a - pos, a - neg
        self.u_ap += eps
        self.u_an += eps
        self.d_ap, self.d_an = p_norm(self.u_ap, p), p_norm(self.u_an, p)
        self.d_neg, self.an_weight = self.d_an, None  # None: the negative term weighs 1
        if swap:
            d_pn = p_norm(pos - neg + eps, p)
            self.d_neg = np.minimum(self.d_an, d_pn)
            # The negative term reaches the anchor only where d(a, n) is the smaller distance;
            # at a tie PyTorch's minimum splits the gradient evenly.
            self.an_weight = (self.d_an < d_pn) + 0.5 * (self.d_an == d_pn)


def triplet_margin_loss(
    anchor: ArrayLike,
    positive: ArrayLike,
    negative: ArrayLike,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Result:
    r"""Triplet margin loss: the anchor must be closer to the positive than to the negative,
    by a margin.

    Anchor and positive share a label (the same person, the same class), the negative does
    not; the loss is 0 once :math:`d(a, n) \ge d(a, p) + m`. ``swap=True`` uses the harder of
    the two negative distances, :math:`\min(d(a, n), d(p, n))` (Balntas et al. 2016).

    .. math::
        \ell_i = \max\big(0,\ d(a_i, p_i) - d(a_i, n_i) + m\big), \quad
        d(x, y) = \lVert x - y + \epsilon \rVert_p, \qquad \text{mean} = \frac1N\sum_i \ell_i

    Stability: the norms are computed scaled by their largest entry, so that distances between
    vectors with entries beyond :math:`10^{154}` do not overflow (the textbook square root of a
    sum of squares does); float32 inputs are evaluated in float64 and rounded once.

    Args:
        anchor: embeddings ``(N, D)``, or one ``(D,)``.
        positive: embeddings of the same shape, each sharing its anchor's label.
        negative: embeddings of the same shape, each with another label.
        margin: :math:`m > 0`.
        p: the norm's order, :math:`\ge 1`.
        eps: added to each difference, as in PyTorch's ``pairwise_distance``, >= 0.
        swap: use :math:`\min(d(a, n), d(p, n))` as the negative distance.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        A scalar of ``anchor``'s float dtype, or the per-triplet losses for 'none'.

    References:
        Schroff, Kalenichenko & Philbin, "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015; Balntas et al., "Learning local feature descriptors with
        triplets and shallow convolutional neural networks", BMVC 2016 (the swap); PyTorch
        ``TripletMarginLoss``.

    Taught in: :ref:`margins-and-embeddings`

    Example:
        >>> a, pos, neg = [[0.0, 0.0]], [[0.0, 1.0]], [[1.5, 0.0]]
        >>> print(round(float(triplet_margin_loss(a, pos, neg, eps=0.0)), 4))
        0.5
    """
    (a, pos, neg), unbatched, p = _triplet_inputs(
        anchor, positive, negative, margin, p, eps, swap, reduction
    )

    def loss(a, pos, neg):
        d = _Triplet(a[:, :, 0], pos[:, :, 0], neg[:, :, 0], p, eps, swap)
        return np.maximum(d.d_ap - d.d_neg + margin, 0.0)[:, None]

    result = rowwise(loss, reduction, a=a, pos=pos, neg=neg)
    return result.reshape(()) if unbatched and reduction == "none" else result


def grad_triplet_margin_loss(
    anchor: ArrayLike,
    positive: ArrayLike,
    negative: ArrayLike,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`triplet_margin_loss` with respect to ``anchor``.

    Where the margin is not met (:math:`\ge 0`, as PyTorch's ``clamp_min``):
    :math:`\nabla_a d(a, p) - \nabla_a d(a, n)`, with
    :math:`\partial d(a, b)/\partial a_k = \mathrm{sign}(u_k)(|u_k|/d)^{p-1}` for
    :math:`u = a - b + \epsilon` (for :math:`p = 2`, :math:`u / d`: a unit vector from
    :math:`b` to :math:`a`). Divided by :math:`N` for 'mean'.

    Example:
        >>> a, pos, neg = [[0.0, 0.0]], [[0.0, 1.0]], [[1.5, 0.0]]
        >>> grad_triplet_margin_loss(a, pos, neg, eps=0.0).tolist()
        [[1.0, -1.0]]
    """
    (a, pos, neg), unbatched, p = _triplet_inputs(
        anchor, positive, negative, margin, p, eps, swap, reduction
    )
    scale = mean_scale(reduction, a.shape[0])

    def grad(a, pos, neg):
        d = _Triplet(a[:, :, 0], pos[:, :, 0], neg[:, :, 0], p, eps, swap)
        active = d.d_ap - d.d_neg + margin >= 0
        g_an = p_norm_grad(d.u_an, d.d_an, p)
        if d.an_weight is not None:
            g_an *= d.an_weight[:, None]
        g = p_norm_grad(d.u_ap, d.d_ap, p)
        g -= g_an
        g *= scale
        g[~active] = 0.0  # +0.0, not -0.0, where the margin is satisfied
        return g[:, :, None]

    result = rowwise(grad, out="elements", a=a, pos=pos, neg=neg)
    return result[0] if unbatched else result


# --------------------------------------------------------------------------
# InfoNCE: cross-entropy over similarities
# --------------------------------------------------------------------------

_NORMALIZE_EPS = 1e-12  # PyTorch's F.normalize: x / max(||x||, eps)


class _Similarities(NamedTuple):
    """The validated queries' unit rows and norms, the keys' unit rows, the logits
    ``(N, N, 1)`` (rows are queries, classes keys: the layout of the class primitives) and the
    result dtype."""

    q_hat: np.ndarray
    q_norm: np.ndarray
    k_hat: np.ndarray
    logits: np.ndarray
    dtype: np.dtype


def _similarities(queries, keys, temperature, reduction) -> _Similarities:
    (q, k), unbatched = _embedding_inputs(("queries", "keys"), (queries, keys), reduction)
    if unbatched:
        raise ValueError(f"queries must have shape (N, D), got shape {q.shape[1:]}")
    tau = check_scalar(temperature, "temperature", positive=True)
    work = working_dtype(q.dtype)
    q_hat, q_norm = _unit_rows(q.astype(work))
    k_hat, _ = _unit_rows(k.astype(work))
    logits = ((q_hat / tau) @ k_hat.T)[:, :, None]
    return _Similarities(q_hat, q_norm, k_hat, logits, q.dtype)


def _unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows divided by their Euclidean norm (at least 1e-12, as PyTorch's F.normalize)."""
    norm = np.maximum(p_norm(x, 2), _NORMALIZE_EPS)[:, None]
    return x / norm, norm


# The logits are products computed in the working dtype, not inputs: their differences are not
# exact, so the class primitives must repair the rounding of each difference (see logsumexp).
_EXACT = False


def info_nce(
    queries: ArrayLike, keys: ArrayLike, *, temperature: float = 0.1, reduction: str = "mean"
) -> Result:
    r"""InfoNCE: cross-entropy over the cosine similarities of queries and keys, with in-batch
    negatives.

    Row :math:`i` of ``queries`` and row :math:`i` of ``keys`` are a positive pair (two views
    of one image, a sentence and its translation); every other key in the batch serves as a
    negative. Each query must pick out its key among the :math:`N` keys: an :math:`N`-way
    classification whose logits are cosine similarities divided by the temperature
    :math:`\tau`. A small :math:`\tau` sharpens the softmax, so the hardest negatives take most
    of the gradient; a large one spreads it over all of them.

    .. math::
        \ell_i = -\log \frac{\exp(\hat q_i \cdot \hat k_i / \tau)}
                             {\sum_{j=1}^{N} \exp(\hat q_i \cdot \hat k_j / \tau)}, \quad
        \hat x = \frac{x}{\max(\lVert x\rVert_2, 10^{-12})}, \qquad
        \text{mean} = \frac1N\sum_i \ell_i

    It equals ``F.cross_entropy(F.normalize(q) @ F.normalize(k).T / tau, arange(N))``.

    Stability: the naive softmax of :math:`\hat q \cdot \hat k / \tau` overflows once
    :math:`1/\tau > 709` (float64) or :math:`88` (float32); the loss is computed relative to the
    positive logit, :math:`\log(1 + \sum_{j \ne i} e^{(s_{ij} - s_{ii})/\tau})` with ``log1p``
    (the library's stable cross-entropy), finite and accurate for any :math:`\tau > 0`. float32
    inputs are evaluated in float64 and rounded once.

    Args:
        queries: ``(N, D)`` embeddings.
        keys: ``(N, D)`` embeddings; row ``i`` is the positive of query ``i``.
        temperature: :math:`\tau > 0`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (``(N,)``).

    Returns:
        A scalar of ``queries``' float dtype, or the per-query losses for 'none'.

    References:
        van den Oord, Li & Vinyals, "Representation Learning with Contrastive Predictive
        Coding", arXiv:1807.03748, 2018 (InfoNCE, a lower bound on mutual information); Chen et
        al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020
        (cosine similarity with a temperature, in-batch negatives).

    Taught in: :ref:`margins-and-embeddings`

    Example:
        >>> q = [[1.0, 0.0], [0.0, 1.0]]
        >>> print(round(float(info_nce(q, q, temperature=1.0)), 4))
        0.3133
    """
    sim = _similarities(queries, keys, temperature, reduction)
    diagonal = np.arange(len(sim.logits))[:, None]  # query i's key is key i
    nll = target_nll(sim.logits, diagonal, exact_differences=_EXACT)[:, 0]
    return np.asarray(reduce(nll, reduction)).astype(sim.dtype)[()]  # rounded once


def grad_info_nce(
    queries: ArrayLike, keys: ArrayLike, *, temperature: float = 0.1, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`info_nce` with respect to ``queries``.

    In the logits it is the cross-entropy's, :math:`(P - I)/D` with :math:`P` the row-wise
    softmax; through the similarities, :math:`G = (P - I)\hat K / (\tau D)`; through the
    normalisation, each row loses its component along :math:`\hat q_i`:
    :math:`(G_i - \hat q_i (\hat q_i \cdot G_i)) / \lVert q_i\rVert`.

    Example:
        >>> q = [[1.0, 0.0], [0.0, 1.0]]
        >>> np.round(grad_info_nce(q, q, temperature=1.0), 4).tolist()
        [[0.0, 0.1345], [0.1345, 0.0]]
    """
    sim = _similarities(queries, keys, temperature, reduction)
    n = len(sim.logits)
    p_minus_i = target_softmax(sim.logits, np.arange(n)[:, None], exact_differences=_EXACT)
    tau = float(temperature)
    g_hat = p_minus_i.p_minus_onehot[:, :, 0] @ sim.k_hat * (mean_scale(reduction, n) / tau)
    # Through q / |q|: remove the radial part, divide by |q|. Where |q| <= eps F.normalize
    # divides by the constant eps, and the gradient is g / eps.
    tiny = sim.q_norm <= _NORMALIZE_EPS
    along = np.sum(sim.q_hat * g_hat, axis=1, keepdims=True)
    radial = np.where(tiny, 0.0, sim.q_hat * along)
    return ((g_hat - radial) / sim.q_norm).astype(sim.dtype)
