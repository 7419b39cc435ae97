"""Gaussian and Poisson NLL against torch.nn.functional, the pinball loss against its formula in
torch ops (float64, rtol 1e-10); gradients against autograd; bad input; stability."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import REDUCTIONS, SETTINGS, check_against_torch, torch_reduce

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
values = st.floats(-5, 5, allow_nan=False, width=64)


def _var_shape(shape: tuple[int, ...], kind: str) -> tuple[int, ...]:
    """The variance shapes PyTorch accepts: the input's, one per row, or one axis of 1."""
    if kind == "row":
        return shape[:-1]
    if kind == "axis":
        return shape[:-1] + (1,)
    return shape


@st.composite
def gaussian_case(draw):
    shape = draw(shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=values))
    t = draw(hnp.arrays(np.float64, shape, elements=values))
    kind = draw(st.sampled_from(["same", "row", "axis"]))
    var = draw(
        hnp.arrays(np.float64, _var_shape(shape, kind), elements=st.floats(1e-8, 10, width=64))
    )
    return x, t, var


@SETTINGS
@given(
    case=gaussian_case(),
    full=st.booleans(),
    eps=st.sampled_from([1e-6, 1e-3, 0.5]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_gaussian_nll_matches_torch(case, full, eps, reduction):
    x, t, var = case
    check_against_torch(
        lu.gaussian_nll_loss,
        lu.grad_gaussian_nll_loss,
        F.gaussian_nll_loss,
        x,
        t,
        var,
        full=full,
        eps=eps,
        reduction=reduction,
    )


def test_gaussian_nll_float_variance_and_zero_variance():
    x, t = np.array([0.0, 1.0, 3.0]), np.array([1.0, 1.0, 0.0])
    want = F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), 2.0)
    assert lu.gaussian_nll_loss(x, t, 2.0) == pytest.approx(want.item(), rel=1e-14)
    # A variance of exactly 0 is clamped at eps: finite, as in PyTorch (the naive form: inf).
    var = np.zeros(3)
    want = F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), torch.tensor(var))
    assert np.isfinite(lu.gaussian_nll_loss(x, t, var))
    assert lu.gaussian_nll_loss(x, t, var) == pytest.approx(want.item(), rel=1e-14)
    assert np.all(np.isfinite(lu.grad_gaussian_nll_loss(x, t, var)))


def test_gaussian_nll_with_a_fixed_variance_is_half_the_mse_plus_a_constant():
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(2, 100))
    assert lu.gaussian_nll_loss(x, t, np.ones(100)) == pytest.approx(0.5 * lu.mse(x, t))
    np.testing.assert_allclose(
        lu.grad_gaussian_nll_loss(x, t, np.ones(100)), 0.5 * lu.grad_mse(x, t)
    )


@st.composite
def poisson_case(draw):
    shape = draw(shapes)
    counts = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.0, 7.0])))
    soft = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 20, width=64)))
    t = np.where(draw(st.booleans()), counts, soft)
    log_rate = draw(hnp.arrays(np.float64, shape, elements=values))
    rate = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 30, width=64)))
    return log_rate, rate, t


@SETTINGS
@given(
    case=poisson_case(),
    full=st.booleans(),
    eps=st.sampled_from([1e-8, 1e-3]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_poisson_nll_matches_torch(case, full, eps, reduction):
    log_rate, rate, t = case
    for x, log_input in ((log_rate, True), (rate, False)):
        check_against_torch(
            lu.poisson_nll_loss,
            lu.grad_poisson_nll_loss,
            F.poisson_nll_loss,
            x,
            t,
            log_input=log_input,
            full=full,
            eps=eps,
            reduction=reduction,
        )


def test_poisson_nll_is_the_exact_nll_up_to_log_factorial():
    # lambda - y log lambda + log y! is the Poisson NLL; full=False drops log y!.
    lam, y = np.array([0.5, 2.0, 7.5]), np.array([0.0, 3.0, 5.0])
    exact = lam - y * np.log(lam) + np.array([math.lgamma(k + 1) for k in y])
    got = lu.poisson_nll_loss(np.log(lam), y, reduction="none")
    np.testing.assert_allclose(got + [math.lgamma(k + 1) for k in y], exact, rtol=1e-14)


def test_poisson_log_input_needs_no_log_of_a_vanishing_rate():
    # log-rate -800: the rate underflows to 0, the loss does not (it is y * 800).
    got = lu.poisson_nll_loss(np.array([-800.0]), np.array([2.0]), reduction="sum")
    assert got == pytest.approx(1600.0)


def torch_pinball(x, t, quantile, reduction="mean"):
    q = torch.as_tensor(quantile, dtype=x.dtype)
    r = t - x
    return torch_reduce(torch.maximum(q * r, (q - 1) * r), reduction)


@SETTINGS
@given(
    shape=shapes,
    data=st.data(),
    quantile=st.sampled_from([0.05, 0.3, 0.5, 0.95]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_pinball_matches_its_formula_in_torch(shape, data, quantile, reduction):
    grid = st.sampled_from([-1.0, 0.0, 0.5, 2.0]) | values  # ties included
    x = data.draw(hnp.arrays(np.float64, shape, elements=grid))
    t = data.draw(hnp.arrays(np.float64, shape, elements=grid))
    check_against_torch(
        lu.pinball_loss,
        lu.grad_pinball_loss,
        torch_pinball,
        x,
        t,
        quantile=quantile,
        reduction=reduction,
    )


def test_pinball_with_one_quantile_per_column():
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 10, 3))
    q = np.array([0.1, 0.5, 0.9])
    check_against_torch(lu.pinball_loss, lu.grad_pinball_loss, torch_pinball, x, t, quantile=q)


def test_pinball_minimiser_of_a_constant_is_the_quantile():
    """The constant with the smallest pinball loss leaves a share q of the data below it."""
    y = np.random.default_rng(2).exponential(size=1001)
    for q in (0.1, 0.5, 0.9):
        c = np.quantile(y, q, method="inverted_cdf")
        losses = [lu.pinball_loss(np.full_like(y, c + d), y, quantile=q) for d in (-1e-3, 0, 1e-3)]
        assert losses[1] < losses[0] and losses[1] < losses[2]
    assert lu.pinball_loss(y, y + 1, quantile=0.5) == pytest.approx(0.5 * lu.mae(y, y + 1))


# ---------------------------------------------------------------- bad input


def test_gaussian_nll_rejects_bad_variances():
    x, t = np.zeros((4, 3)), np.ones((4, 3))
    var = np.ones((4, 3))
    var[2, 1] = -1.0
    with pytest.raises(
        ValueError, match=r"var must contain variances >= 0, got 1 value\(s\).*-1.0"
    ):
        lu.gaussian_nll_loss(x, t, var)
    with pytest.raises(ValueError, match=r"var must contain variances >= 0.*nan"):
        lu.grad_gaussian_nll_loss(x, t, np.full((4, 3), np.nan))
    with pytest.raises(
        ValueError, match=r"var of shape \(3,\) does not fit input of shape \(4, 3\): expected"
    ):
        lu.gaussian_nll_loss(x, t, np.ones(3))
    with pytest.raises(ValueError, match=r"input and target must have the same shape"):
        lu.gaussian_nll_loss(x, t[:, :1], np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"eps must be finite and > 0, got 0"):
        lu.gaussian_nll_loss(x, t, np.ones((4, 3)), eps=0)
    with pytest.raises(TypeError, match=r"full must be True or False, got 1"):
        lu.gaussian_nll_loss(x, t, np.ones((4, 3)), full=1)


@pytest.mark.parametrize("fn", [lu.poisson_nll_loss, lu.grad_poisson_nll_loss])
def test_poisson_rejects_negative_counts_and_rates(fn):
    with pytest.raises(
        ValueError, match=r"target must contain counts >= 0, got 1 value\(s\).*-2.0"
    ):
        fn([0.0, 1.0], [1.0, -2.0])
    with pytest.raises(ValueError, match=r"input must contain rates \(log_input=False\) >= 0"):
        fn([-0.5, 1.0], [1.0, 2.0], log_input=False)
    fn([-0.5, 1.0], [1.0, 2.0])  # a negative log-rate is fine
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        fn([0.0], [1.0], reduction="batchmean")


@pytest.mark.parametrize("fn", [lu.pinball_loss, lu.grad_pinball_loss])
def test_pinball_rejects_quantiles_outside_the_open_unit_interval(fn):
    for q in (0.0, 1.0, 1.5, -0.1, np.nan):
        with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\), got"):
            fn([0.0, 1.0], [1.0, 2.0], quantile=q)
    with pytest.raises(ValueError, match=r"quantile must be a number or an array that broadcasts"):
        fn(np.zeros((4, 3)), np.zeros((4, 3)), quantile=[0.1, 0.9])
    with pytest.raises(TypeError, match=r"missing 1 required keyword-only argument: 'quantile'"):
        fn([0.0], [1.0])
