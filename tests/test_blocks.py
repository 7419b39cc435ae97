"""Evaluation over blocks (lossutils._blocks): inputs of many blocks, with rows split across
blocks, broadcast weights, float32 and non-contiguous arrays, give the same results as PyTorch.

The other tests use small inputs, which fit in one block; here every input spans several
blocks and ends in a partial one.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, torch_value_and_grad
from lossutils._blocks import block_length, row_block_length

BLOCK_SIZE = block_length(np.float32)  # the largest block, in elements (float32 work)
ROW_BLOCK_SIZE = row_block_length(np.float64)  # a block of rows, in elements (float64 work)

EPS32 = float(np.finfo(np.float32).eps)
rng = np.random.default_rng(7)
SHAPE = (5, 3 * BLOCK_SIZE // 5 + 77)  # three blocks and a bit; the last axis is the class axis
Z = rng.normal(scale=3, size=SHAPE)
T = (rng.uniform(size=SHAPE) < 0.3).astype(float)
T[0] = rng.uniform(size=SHAPE[1])  # soft targets too
W = rng.uniform(0.5, 2, SHAPE)
W_LAST = rng.uniform(0.5, 2, SHAPE[-1])  # one weight per column, broadcast over the rows


ELEMENTWISE = [  # (lossutils loss, its keyword arguments, PyTorch with the same arguments)
    (lu.mse, {"weight": W}, F.mse_loss),
    (lu.mse, {}, F.mse_loss),  # without a weight, 'sum' and 'mean' take the dot-product total
    (lu.smooth_l1, {"beta": 0.5}, F.smooth_l1_loss),
    (lu.mae, {}, F.l1_loss),
    (lu.huber, {"delta": 0.7, "weight": W}, F.huber_loss),
    (
        lu.binary_cross_entropy_with_logits,
        {"weight": W_LAST, "pos_weight": W_LAST[::-1].copy()},
        F.binary_cross_entropy_with_logits,
    ),
    (lu.multilabel_soft_margin_loss, {"weight": W_LAST}, F.multilabel_soft_margin_loss),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("loss", "kw", "reference"), ELEMENTWISE, ids=lambda c: getattr(c, "__name__", "")
)
def test_elementwise_losses_over_many_blocks_match_torch(loss, kw, reference, reduction):
    grad = getattr(lu, "grad_" + loss.__name__)
    want, want_grad = torch_value_and_grad(reference, Z, T, reduction=reduction, **kw)
    np.testing.assert_allclose(loss(Z, T, reduction=reduction, **kw), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        grad(Z, T, reduction=reduction, **kw), want_grad, rtol=RTOL, atol=ATOL
    )


def test_sigmoid_focal_over_many_blocks_is_its_formula():
    p = torch.sigmoid(torch.tensor(Z))
    t = torch.tensor(T)
    ce = F.binary_cross_entropy_with_logits(torch.tensor(Z), t, reduction="none")
    want = (0.25 * t + 0.75 * (1 - t)) * ce * (1 - (p * t + (1 - p) * (1 - t))) ** 2
    np.testing.assert_allclose(lu.sigmoid_focal_loss(Z, T), want.numpy(), rtol=RTOL, atol=ATOL)


# (logits shape, what it exercises): rows across blocks; (N, C, d) blocks cut along d; a row
# (C classes) longer than a block.
CLASS_SHAPES = [
    ((3 * ROW_BLOCK_SIZE // 7 + 5, 7), "rows"),
    ((3, 5, ROW_BLOCK_SIZE // 2 + 3), "depth"),
    ((2, ROW_BLOCK_SIZE + 11), "long rows"),
]


@pytest.mark.parametrize(("shape", "what"), CLASS_SHAPES, ids=[c[1] for c in CLASS_SHAPES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_losses_over_many_blocks_match_torch(shape, what, reduction):
    x = rng.normal(scale=3, size=shape)
    n_classes = shape[1]
    t = rng.integers(0, n_classes, shape[:1] + shape[2:])
    t.reshape(-1)[::5] = -100  # some ignored
    w = rng.uniform(0.5, 2, n_classes)
    for kw in ({}, {"weight": w, "label_smoothing": 0.1}):
        want, want_grad = torch_value_and_grad(F.cross_entropy, x, t, reduction=reduction, **kw)
        np.testing.assert_allclose(
            lu.cross_entropy(x, t, reduction=reduction, **kw), want, rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(
            lu.grad_cross_entropy(x, t, reduction=reduction, **kw), want_grad, rtol=RTOL, atol=ATOL
        )
    q = torch.softmax(torch.tensor(rng.normal(size=shape)), 1).numpy()  # probability targets
    want, want_grad = torch_value_and_grad(F.cross_entropy, x, q, reduction=reduction)
    np.testing.assert_allclose(
        lu.cross_entropy(x, q, reduction=reduction), want, rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        lu.grad_cross_entropy(x, q, reduction=reduction), want_grad, rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        lu.log_softmax(x, axis=1), torch.log_softmax(torch.tensor(x), 1), rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_over_many_blocks_is_the_float64_result_rounded_once(reduction):
    z32, t32 = Z.astype(np.float32), T.astype(np.float32)
    x32 = z32[:, : 91 * (SHAPE[1] // 91)].reshape(-1, 91)  # rows of 91 classes
    y = rng.integers(0, x32.shape[1], len(x32))
    pairs = [
        (
            lu.binary_cross_entropy_with_logits(
                z32, t32, weight=W_LAST.astype(np.float32), reduction=reduction
            ),
            lu.binary_cross_entropy_with_logits(
                z32.astype(float),
                t32.astype(float),
                weight=W_LAST.astype(np.float32).astype(float),
                reduction=reduction,
            ),
        ),
        (
            lu.grad_sigmoid_focal_loss(z32, t32, reduction=reduction),
            lu.grad_sigmoid_focal_loss(z32.astype(float), t32.astype(float), reduction=reduction),
        ),
        (
            lu.cross_entropy(x32, y, label_smoothing=0.2, reduction=reduction),
            lu.cross_entropy(x32.astype(float), y, label_smoothing=0.2, reduction=reduction),
        ),
        (
            lu.grad_cross_entropy(x32, y, reduction=reduction),
            lu.grad_cross_entropy(x32.astype(float), y, reduction=reduction),
        ),
    ]
    for got, want in pairs:
        assert np.asarray(got).dtype == np.float32
        ulps = np.abs(got - want) / (EPS32 * np.maximum(np.abs(want), np.finfo(np.float32).tiny))
        assert np.max(ulps) <= 1


def test_non_contiguous_inputs_give_the_contiguous_results():
    zt, tt = Z.T, T.T  # transposed views
    assert not zt.flags.c_contiguous
    zc, tc = np.ascontiguousarray(zt), np.ascontiguousarray(tt)
    for fn in (
        lu.binary_cross_entropy_with_logits,
        lu.grad_binary_cross_entropy_with_logits,
        lu.huber,
        lu.grad_huber,
        lu.sigmoid_focal_loss,
    ):
        np.testing.assert_array_equal(fn(zt, tt, reduction="none"), fn(zc, tc, reduction="none"))
    x = Z[:, ::3]  # strided class scores
    y = rng.integers(0, x.shape[1], len(x))
    np.testing.assert_array_equal(lu.grad_cross_entropy(x, y), lu.grad_cross_entropy(x.copy(), y))
    # A class axis in the middle is reduced by another NumPy routine than a last one: ulps apart.
    np.testing.assert_allclose(
        lu.softmax(Z, axis=0), lu.softmax(np.ascontiguousarray(Z.T), axis=1).T, rtol=1e-14, atol=0
    )


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5)], ids=["(N, C)", "(N, C, d)"])
def test_extreme_logits_in_every_layout_match_torch(shape):
    """Rows where some logit exceeds the target's by more than 709 overflow exp(x_k - x_y): they
    are computed from the row's maximum instead, in both layouts of the class axis."""
    x = rng.choice(np.array([-1e4, -800.0, -50.0, 0.0, 3.0, 30.0, 750.0, 1e4]), size=shape)
    t = rng.integers(0, shape[1], shape[:1] + shape[2:])
    for reduction in REDUCTIONS:
        want, want_grad = torch_value_and_grad(F.cross_entropy, x, t, reduction=reduction)
        np.testing.assert_allclose(
            lu.cross_entropy(x, t, reduction=reduction), want, rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(
            lu.grad_cross_entropy(x, t, reduction=reduction), want_grad, rtol=RTOL, atol=ATOL
        )
    log_p = torch.log_softmax(torch.tensor(x), 1)
    focal_weight = (1 - log_p.exp()) ** 2  # softmax focal loss, gamma = 2, in torch ops
    want = -(focal_weight * log_p).gather(1, torch.tensor(t)[:, None])[:, 0]
    np.testing.assert_allclose(
        lu.softmax_focal_loss(x, t, reduction="none"), want, rtol=RTOL, atol=ATOL
    )
    assert np.isfinite(lu.grad_softmax_focal_loss(x, t)).all()


def test_activations_of_permuted_scores_match_torch():
    """(N, T, C) model outputs permuted to (N, C, T), as a chapter does: a view whose blocks are
    not contiguous."""
    x = rng.normal(size=(6, 9, 5)).transpose(0, 2, 1)  # (N, C, T), not C-contiguous
    t = rng.integers(0, 5, (6, 9))
    want = torch.log_softmax(torch.tensor(x), 1).numpy()
    np.testing.assert_allclose(lu.log_softmax(x, axis=1), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(lu.softmax(x, axis=1), np.exp(want), rtol=1e-13, atol=1e-300)
    want, want_grad = torch_value_and_grad(F.cross_entropy, x, t)
    np.testing.assert_allclose(lu.sequence_cross_entropy(x, t), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        lu.grad_sequence_cross_entropy(x, t), want_grad, rtol=RTOL, atol=ATOL
    )
