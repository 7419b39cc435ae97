"""Binary and multi-label losses (lossutils.binary) against torch.nn.functional, float64.

Logits stay in [-6, 6] here: at larger |z| PyTorch itself loses relative accuracy (see
test_stability.py, where lossutils is checked against mpmath).
"""

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import (
    ATOL,
    REDUCTIONS,
    RTOL,
    SETTINGS,
    check_against_torch,
    logit,
    positive,
    torch_value_and_grad,
    unit,
)


@st.composite
def binary_case(draw, first=logit):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=first))
    t = draw(hnp.arrays(np.float64, shape, elements=unit | st.sampled_from([0.0, 1.0])))
    # weights: none, full shape, or one per class (last axis) broadcast as in PyTorch
    w_shape = draw(st.sampled_from([None, shape, shape[-1:]]))
    w = None if w_shape is None else draw(hnp.arrays(np.float64, w_shape, elements=positive))
    return x, t, w, draw(st.sampled_from(REDUCTIONS))


@SETTINGS
@given(case=binary_case(first=unit | st.sampled_from([0.0, 1.0, 1e-300])))
def test_bce_matches_torch(case):
    p, t, w, reduction = case
    check_against_torch(
        lu.binary_cross_entropy,
        lu.grad_binary_cross_entropy,
        F.binary_cross_entropy,
        p,
        t,
        weight=w,
        reduction=reduction,
    )


@SETTINGS
@given(
    case=binary_case(first=unit | st.sampled_from([0.0, 1.0])),
    eps=st.sampled_from([1e-7, 1e-3, 0.2]),
)
def test_bce_eps_is_bce_of_clipped_prob(case, eps):
    p, t, w, reduction = case

    def ref(x, t, weight, reduction):  # clamp's backward masks the gradient outside
        return F.binary_cross_entropy(x.clamp(eps, 1 - eps), t, weight=weight, reduction=reduction)

    want, want_grad = torch_value_and_grad(ref, p, t, weight=w, reduction=reduction)
    np.testing.assert_allclose(
        lu.binary_cross_entropy(p, t, weight=w, eps=eps, reduction=reduction),
        want,
        rtol=RTOL,
        atol=ATOL,
    )
    np.testing.assert_allclose(
        lu.grad_binary_cross_entropy(p, t, weight=w, eps=eps, reduction=reduction),
        want_grad,
        rtol=RTOL,
        atol=ATOL,
    )


def test_bce_clamps_log_at_minus_100_like_torch():
    assert lu.binary_cross_entropy([0.0, 1.0], [1.0, 0.0], reduction="none").tolist() == [
        100.0,
        100.0,
    ]


@SETTINGS
@given(case=binary_case(), with_pos_weight=st.booleans(), data=st.data())
def test_bce_with_logits_matches_torch(case, with_pos_weight, data):
    z, t, w, reduction = case
    pw = None
    if with_pos_weight:  # one per class (last axis), as in PyTorch's docs
        pw = data.draw(hnp.arrays(np.float64, z.shape[-1:], elements=positive))
    check_against_torch(
        lu.binary_cross_entropy_with_logits,
        lu.grad_binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        z,
        t,
        weight=w,
        pos_weight=pw,
        reduction=reduction,
    )


@SETTINGS
@given(case=binary_case())
def test_multilabel_soft_margin_matches_torch(case):
    z, t, w, reduction = case
    if z.ndim > 2:  # PyTorch's loss is defined for (N, C) and (C,)
        z, t = z.reshape(-1, z.shape[-1]), t.reshape(-1, t.shape[-1])
        w = None if w is None or w.ndim > 1 else w
    check_against_torch(
        lu.multilabel_soft_margin_loss,
        lu.grad_multilabel_soft_margin_loss,
        F.multilabel_soft_margin_loss,
        z,
        t,
        weight=w,
        reduction=reduction,
    )


def test_multilabel_mean_equals_bce_with_logits_mean():
    rng = np.random.default_rng(1)
    z, t = rng.normal(size=(7, 5)), rng.integers(0, 2, (7, 5)).astype(float)
    assert lu.multilabel_soft_margin_loss(z, t) == pytest.approx(
        lu.binary_cross_entropy_with_logits(z, t), rel=1e-14
    )
