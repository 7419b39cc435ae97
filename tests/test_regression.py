"""Regression losses and gradients against torch.nn.functional (float64, rtol 1e-10)."""

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, SETTINGS, torch_value_and_grad

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
values = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def regression_case(draw):
    shape = draw(shapes)
    pred = draw(hnp.arrays(np.float64, shape, elements=values))
    target = draw(hnp.arrays(np.float64, shape, elements=values))
    weight = draw(st.none() | hnp.arrays(np.float64, shape, elements=st.floats(0.1, 3)))
    return pred, target, weight


def _torch_smooth_l1(p, t, *, reduction, weight, beta):
    # PyTorch 2.13's smooth_l1_loss has no weight: ours multiplies before reducing.
    if weight is None:
        return F.smooth_l1_loss(p, t, reduction=reduction, beta=beta)
    out = F.smooth_l1_loss(p, t, reduction="none", beta=beta) * weight
    return {"none": out, "sum": out.sum(), "mean": out.mean()}[reduction]


CASES = [
    (lu.mse, lu.grad_mse, F.mse_loss, {}),
    (lu.mae, lu.grad_mae, F.l1_loss, {}),
    (lu.huber, lu.grad_huber, F.huber_loss, {"delta": 1.0}),
    (lu.huber, lu.grad_huber, F.huber_loss, {"delta": 0.3}),
    (lu.huber, lu.grad_huber, F.huber_loss, {"delta": 4.0}),
    (lu.smooth_l1, lu.grad_smooth_l1, _torch_smooth_l1, {"beta": 1.0}),
    (lu.smooth_l1, lu.grad_smooth_l1, _torch_smooth_l1, {"beta": 0.25}),
    (lu.smooth_l1, lu.grad_smooth_l1, _torch_smooth_l1, {"beta": 0.0}),
]


@pytest.mark.parametrize("loss, grad, ref, kw", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
@SETTINGS
@given(case=regression_case(), reduction=st.sampled_from(REDUCTIONS))
def test_matches_torch(loss, grad, ref, kw, reduction, case):
    pred, target, weight = case
    want, want_grad = torch_value_and_grad(
        ref, pred, target, weight=weight, reduction=reduction, **kw
    )
    got = loss(pred, target, weight=weight, reduction=reduction, **kw)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    got_grad = grad(pred, target, weight=weight, reduction=reduction, **kw)
    assert got_grad.shape == pred.shape
    np.testing.assert_allclose(got_grad, want_grad, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("loss, grad, ref, kw", CASES[:1] + CASES[1:2] + CASES[2:3] + CASES[5:6])
def test_kinks_follow_torch_subgradient(loss, grad, ref, kw):
    # Residuals exactly at 0 and at +-threshold (1.0 here): PyTorch's choices.
    pred = np.array([0.0, 1.0, -1.0, 2.0, -0.5])
    target = np.zeros_like(pred)
    _, want_grad = torch_value_and_grad(ref, pred, target, weight=None, reduction="sum", **kw)
    np.testing.assert_array_equal(grad(pred, target, reduction="sum", **kw), want_grad)


def test_mae_subgradient_at_zero_is_zero():
    assert lu.grad_mae([0.0], [0.0], reduction="sum")[0] == 0.0


def test_smooth_l1_beta_zero_is_l1_and_huber_is_scaled_smooth_l1():
    rng = np.random.default_rng(0)
    p, t, w = rng.normal(size=(3, 50))
    assert lu.smooth_l1(p, t, beta=0.0) == pytest.approx(lu.mae(p, t), rel=1e-15)
    for b in (0.1, 1.0, 3.0):
        assert lu.huber(p, t, delta=b, weight=w) == pytest.approx(
            b * lu.smooth_l1(p, t, beta=b, weight=w), rel=1e-14
        )


def test_dtypes_and_return_types():
    p32 = np.array([1.0, 2.0], dtype=np.float32)
    for loss in (lu.mse, lu.mae, lu.huber, lu.smooth_l1):
        out = loss(p32, [0, 0])
        assert isinstance(out, np.float32), loss
        assert loss(p32, [0, 0], reduction="none").dtype == np.float32
        out = loss([1, 2], [0, 0])  # lists of ints: promoted to float64
        assert isinstance(out, np.float64)
        assert isinstance(float(out), float)


def test_weighted_mean_denominators_as_documented():
    p, t, w = np.array([1.0, 3.0]), np.zeros(2), np.array([1.0, 3.0])
    assert lu.mse(p, t, weight=w) == pytest.approx((1 + 27) / 4)  # weighted average
    assert lu.mae(p, t, weight=w) == pytest.approx((1 + 9) / 4)
    assert lu.huber(p, t, weight=w) == pytest.approx((0.5 + 3 * 2.5) / 2)  # / n
