"""Margin, ranking and embedding losses against torch.nn.functional, InfoNCE against its formula
in torch ops (float64, rtol 1e-10); gradients against autograd, kinks included; bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import REDUCTIONS, RTOL, SETTINGS, check_against_torch, torch_value_and_grad

# No magnitudes below 1e-100: there PyTorch's norms underflow to 0 and lossutils' do not (see
# test_triplet_distances_do_not_overflow_or_underflow).
values = st.floats(-4, 4, allow_nan=False, width=64).filter(lambda v: v == 0 or abs(v) > 1e-100)
on_a_grid = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])  # scores that meet a margin exactly


@st.composite
def class_scores(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    x = draw(hnp.arrays(np.float64, (n, c), elements=values | on_a_grid))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    w = draw(st.none() | hnp.arrays(np.float64, (c,), elements=st.floats(0.1, 3)))
    return x, y, w


@SETTINGS
@given(
    case=class_scores(),
    p=st.sampled_from([1, 2]),
    margin=st.sampled_from([0.0, 0.5, 1.0]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_multi_margin_matches_torch(case, p, margin, reduction):
    x, y, w = case
    check_against_torch(
        lu.multi_margin_loss,
        lu.grad_multi_margin_loss,
        F.multi_margin_loss,
        x,
        y,
        p=p,
        margin=margin,
        weight=w,
        reduction=reduction,
    )


def test_multi_margin_unbatched_scores():
    x = np.array([1.0, 0.2, 0.9])
    for reduction in REDUCTIONS:
        want, want_grad = torch_value_and_grad(
            F.multi_margin_loss, x, torch.tensor(2), reduction=reduction
        )
        got = lu.multi_margin_loss(x, np.array(2), reduction=reduction)
        assert np.shape(got) == np.shape(want) == ()
        np.testing.assert_allclose(got, want, rtol=RTOL)
        np.testing.assert_allclose(lu.grad_multi_margin_loss(x, np.array(2)), want_grad, rtol=RTOL)


def test_multi_margin_is_satisfied_once_the_margins_are_met():
    x = np.array([[3.0, 1.0, -2.0], [0.0, 0.9, 0.0]])
    assert lu.multi_margin_loss(x, [0, 1], reduction="none").tolist()[0] == 0.0
    assert not lu.grad_multi_margin_loss(x, [0, 1])[0].any()


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6),
    data=st.data(),
    margin=st.sampled_from([0.0, 0.5, 1.0]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_margin_ranking_matches_torch(shape, data, margin, reduction):
    x1 = data.draw(hnp.arrays(np.float64, shape, elements=values | on_a_grid))
    x2 = data.draw(hnp.arrays(np.float64, shape, elements=values | on_a_grid))
    t = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    check_against_torch(
        lu.margin_ranking_loss,
        lu.grad_margin_ranking_loss,
        F.margin_ranking_loss,
        x1,
        x2,
        t,
        margin=margin,
        reduction=reduction,
    )


def test_margin_ranking_without_a_margin_is_happy_with_equal_scores():
    s = np.zeros(5)
    t = np.array([1, -1, 1, 1, -1])
    assert lu.margin_ranking_loss(s, s, t) == 0.0
    assert lu.margin_ranking_loss(s, s, t, margin=1.0) == 1.0


@st.composite
def triplets(draw):
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    a, pos, neg = (draw(hnp.arrays(np.float64, (n, d), elements=values)) for _ in range(3))
    return a, pos, neg


@SETTINGS
@given(
    case=triplets(),
    margin=st.sampled_from([0.1, 1.0, 3.0]),
    p=st.sampled_from([1.0, 2.0, 3.0]),
    eps=st.sampled_from([0.0, 1e-6, 0.1]),
    swap=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_triplet_matches_torch(case, margin, p, eps, swap, reduction):
    a, pos, neg = case
    check_against_torch(
        lu.triplet_margin_loss,
        lu.grad_triplet_margin_loss,
        F.triplet_margin_loss,
        a,
        pos,
        neg,
        margin=margin,
        p=p,
        eps=eps,
        swap=swap,
        reduction=reduction,
    )


def test_triplet_unbatched_and_swap_tie():
    a, pos, neg = np.array([0.0, 1.0]), np.array([0.5, 1.0]), np.array([2.0, -1.0])
    for reduction in REDUCTIONS:
        want, want_grad = torch_value_and_grad(
            F.triplet_margin_loss, a, torch.tensor(pos), torch.tensor(neg), reduction=reduction
        )
        got = lu.triplet_margin_loss(a, pos, neg, reduction=reduction)
        assert np.shape(got) == ()
        np.testing.assert_allclose(got, want, rtol=RTOL)
        np.testing.assert_allclose(lu.grad_triplet_margin_loss(a, pos, neg), want_grad, rtol=RTOL)
    # positive == anchor: d(p, n) == d(a, n), and PyTorch's minimum splits the gradient
    a2 = np.array([[0.0, 1.0], [1.0, 1.0]])
    neg2 = np.array([[0.3, 0.2], [1.5, 0.0]])
    check_against_torch(
        lu.triplet_margin_loss,
        lu.grad_triplet_margin_loss,
        F.triplet_margin_loss,
        a2,
        a2.copy(),
        neg2,
        swap=True,
        margin=2.0,
    )


def test_triplet_distances_do_not_overflow_or_underflow():
    a, pos, neg = np.array([[1e200, 0.0]]), np.array([[0.0, 0.0]]), np.array([[1.5e200, 0.0]])
    # d(a, p) - d(a, n) + 1 = 1e200 - 0.5e200 + 1; the textbook norm overflows to inf - inf.
    assert lu.triplet_margin_loss(a, pos, neg, eps=0.0) == pytest.approx(5e199, rel=1e-15, abs=0)
    np.testing.assert_allclose(lu.grad_triplet_margin_loss(a, pos, neg, eps=0.0), [[2.0, 0.0]])
    # Distances of 1e-200 keep their digits (PyTorch's norm squares them to 0).
    tiny = np.array([[3e-200, 4e-200]])
    got = lu.triplet_margin_loss(np.zeros((1, 2)), tiny, 2 * tiny, eps=0.0, margin=1e-199)
    assert got == pytest.approx(5e-200, rel=1e-14, abs=0)  # 5e-200 - 10e-200 + 10e-200


def torch_info_nce(q, k, temperature, reduction="mean"):
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(q)), reduction=reduction)


@SETTINGS
@given(
    n=st.integers(1, 6),
    d=st.integers(1, 5),
    data=st.data(),
    temperature=st.sampled_from([0.05, 0.1, 1.0, 5.0]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_info_nce_is_cross_entropy_over_cosine_similarities(n, d, data, temperature, reduction):
    q = data.draw(hnp.arrays(np.float64, (n, d), elements=values))
    k = data.draw(hnp.arrays(np.float64, (n, d), elements=values))
    # A zero query's gradient is the rounding error of a sum of zeros times 1 / 1e-12 (F.normalize
    # divides by eps): noise in both libraries, left to test_info_nce_zero_query_follows_f_normalize.
    assume(np.all(np.abs(q).max(axis=1) > 1e-3))
    check_against_torch(
        lu.info_nce,
        lu.grad_info_nce,
        torch_info_nce,
        q,
        k,
        temperature=temperature,
        reduction=reduction,
    )


def test_info_nce_is_finite_at_tiny_temperatures():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(2, 8, 3))
    got = lu.info_nce(q, k, temperature=1e-4)
    assert np.isfinite(got)
    q_hat = q / np.linalg.norm(q, axis=1, keepdims=True)
    k_hat = k / np.linalg.norm(k, axis=1, keepdims=True)
    s = q_hat @ k_hat.T
    # As tau -> 0 the loss tends to the hinge max_j (s_ij - s_ii)_+ / tau: within log N.
    hinge = np.maximum(s - np.diag(s)[:, None], 0).max(axis=1) / 1e-4
    assert np.all(lu.info_nce(q, k, temperature=1e-4, reduction="none") >= hinge - 1e-9)
    assert np.all(lu.info_nce(q, k, temperature=1e-4, reduction="none") <= hinge + np.log(8))
    assert np.all(np.isfinite(lu.grad_info_nce(q, k, temperature=1e-4)))


def test_info_nce_zero_query_follows_f_normalize():
    q = np.array([[0.0, 0.0], [1.0, 2.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    check_against_torch(lu.info_nce, lu.grad_info_nce, torch_info_nce, q, k, temperature=0.5)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [lu.multi_margin_loss, lu.grad_multi_margin_loss])
def test_multi_margin_bad_input(fn):
    x, y = np.zeros((4, 3)), np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"input must have shape \(N, C\) or \(C,\), got shape"):
        fn(np.zeros((2, 3, 4)), y)
    with pytest.raises(
        ValueError, match=r"target of class indices must have shape \(4,\), got \(4, 1\)"
    ):
        fn(x, y[:, None])
    with pytest.raises(ValueError, match=r"target contains class index 3, outside \[0, 3\)"):
        fn(x, [0, 1, 3, 0])
    with pytest.raises(
        TypeError, match=r"target must hold integer class indices, got dtype float64"
    ):
        fn(x, y.astype(float))
    with pytest.raises(ValueError, match=r"p must be 1 or 2, got 3"):
        fn(x, y, p=3)
    with pytest.raises(ValueError, match=r"margin must be finite and >= 0, got -1.0"):
        fn(x, y, margin=-1.0)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got shape \(2,\)"):
        fn(x, y, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"input must not be empty"):
        fn(np.zeros((0, 3)), np.zeros(0, dtype=int))


@pytest.mark.parametrize("fn", [lu.margin_ranking_loss, lu.grad_margin_ranking_loss])
def test_margin_ranking_bad_input(fn):
    with pytest.raises(
        ValueError, match=r"target must contain 1 \(input1 should rank higher\) or -1"
    ):
        fn([1.0, 2.0], [0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"input1 and input2 must have the same shape"):
        fn(np.zeros((4, 1)), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"input1 and target must have the same shape"):
        fn(np.zeros(4), np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        fn(np.zeros(4), np.zeros(4), np.ones(4), reduction="avg")


@pytest.mark.parametrize("fn", [lu.triplet_margin_loss, lu.grad_triplet_margin_loss])
def test_triplet_bad_input(fn):
    a = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"anchor and negative must have the same shape"):
        fn(a, a, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"margin must be finite and > 0, got 0"):
        fn(a, a, a, margin=0)
    with pytest.raises(ValueError, match=r"p must be >= 1 \(a norm\), got 0.5"):
        fn(a, a, a, p=0.5)
    with pytest.raises(ValueError, match=r"anchor must have shape \(N, D\) or \(D,\)"):
        fn(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match=r"swap must be True or False, got 'yes'"):
        fn(a, a, a, swap="yes")


@pytest.mark.parametrize("fn", [lu.info_nce, lu.grad_info_nce])
def test_info_nce_bad_input(fn):
    q = np.ones((4, 3))
    for tau in (0.0, -0.1, np.inf):
        with pytest.raises(ValueError, match=r"temperature must be finite and > 0, got"):
            fn(q, q, temperature=tau)
    with pytest.raises(ValueError, match=r"queries and keys must have the same shape"):
        fn(q, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"queries must have shape \(N, D\), got shape \(3,\)"):
        fn(np.ones(3), np.ones(3))
