"""Weighted BCE, focal and logit-adjusted losses against reference formulas in torch ops
(float64, rtol 1e-10), and class-balanced weights against their formula in 50 digits.

torchvision is not a dependency: its sigmoid_focal_loss is written out below
exactly as torchvision.ops.focal_loss does it.
"""

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, SETTINGS, check_against_torch, logit, torch_reduce, unit
from lossutils import metrics


@st.composite
def binary_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    z = draw(hnp.arrays(np.float64, shape, elements=logit))
    t = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | unit))
    return z, t, draw(st.sampled_from(REDUCTIONS))


@SETTINGS
@given(case=binary_case(), w0=st.floats(0.1, 5), w1=st.floats(0, 5))
def test_weighted_bce_is_the_guide_formula(case, w0, w1):
    z, t, reduction = case

    def ref(z, t, w0, w1, reduction):
        p = torch.sigmoid(z)
        return torch_reduce(-(w1 * t * torch.log(p) + w0 * (1 - t) * torch.log(1 - p)), reduction)

    check_against_torch(
        lu.weighted_binary_cross_entropy_with_logits,
        lu.grad_weighted_binary_cross_entropy_with_logits,
        ref,
        z,
        t,
        w0=w0,
        w1=w1,
        reduction=reduction,
    )
    # ... which is PyTorch's BCE with weight = w0 and pos_weight = w1 / w0
    want = F.binary_cross_entropy_with_logits(
        torch.tensor(z),
        torch.tensor(t),
        reduction=reduction,
        weight=torch.tensor(w0, dtype=torch.float64),
        pos_weight=torch.tensor(w1 / w0, dtype=torch.float64),
    )
    np.testing.assert_allclose(
        lu.weighted_binary_cross_entropy_with_logits(z, t, w0=w0, w1=w1, reduction=reduction),
        want,
        rtol=RTOL,
        atol=ATOL,
    )


def torchvision_sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction):
    """torchvision.ops.sigmoid_focal_loss, verbatim in torch ops."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return torch_reduce(loss, reduction)


@SETTINGS
@given(
    case=binary_case(),
    alpha=st.sampled_from([0.25, -1.0, 0.0, 0.9]),
    gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7]),
)
def test_sigmoid_focal_matches_torchvision(case, alpha, gamma):
    z, t, reduction = case
    check_against_torch(
        lu.sigmoid_focal_loss,
        lu.grad_sigmoid_focal_loss,
        torchvision_sigmoid_focal_loss,
        z,
        t,
        alpha=alpha,
        gamma=gamma,
        reduction=reduction,
    )


def test_sigmoid_focal_defaults_are_torchvision():
    z, t = np.array([0.3, -2.0]), np.array([1.0, 0.0])
    assert lu.sigmoid_focal_loss(z, t).shape == (2,)  # reduction='none'
    want = torchvision_sigmoid_focal_loss(torch.tensor(z), torch.tensor(t), 0.25, 2.0, "none")
    np.testing.assert_allclose(lu.sigmoid_focal_loss(z, t), want, rtol=RTOL)


@st.composite
def class_case(draw):
    n_classes = draw(st.integers(2, 5))  # one class: p_y = 1 and torch's pow'(0) is nan
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n = draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float64, (n, n_classes) + extra, elements=logit))
    ignore_index = draw(st.sampled_from([-100, 0]))
    pool = st.sampled_from(list(range(n_classes)) + [ignore_index])
    t = draw(hnp.arrays(np.int64, (n,) + extra, elements=pool))
    alpha = draw(st.none() | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.1, 3)))
    return x, t, alpha, ignore_index, draw(st.sampled_from(REDUCTIONS))


def torch_softmax_focal(x, t, alpha, gamma, ignore_index, reduction):
    valid = t != ignore_index
    safe = torch.where(valid, t, 0)
    log_p = torch.log_softmax(x, 1).gather(1, safe.unsqueeze(1)).squeeze(1)
    a = torch.ones(()) if alpha is None else alpha[safe]
    a = torch.where(valid, a, 0.0).to(x.dtype)
    loss = -a * (1 - log_p.exp()) ** gamma * log_p
    return loss.sum() / a.sum() if reduction == "mean" else torch_reduce(loss, reduction)


@SETTINGS
@given(case=class_case(), gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7]))
def test_softmax_focal_matches_formula(case, gamma):
    x, t, alpha, ignore_index, reduction = case
    assume((t != ignore_index).any())  # all ignored: see the test below
    check_against_torch(
        lu.softmax_focal_loss,
        lu.grad_softmax_focal_loss,
        torch_softmax_focal,
        x,
        t,
        alpha=alpha,
        gamma=gamma,
        ignore_index=ignore_index,
        reduction=reduction,
    )


@SETTINGS
@given(case=class_case())
def test_softmax_focal_with_gamma_0_is_weighted_cross_entropy(case):
    x, t, alpha, ignore_index, reduction = case
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    np.testing.assert_allclose(
        lu.softmax_focal_loss(x, t, alpha=alpha, gamma=0.0, **kw),
        lu.cross_entropy(x, t, weight=alpha, **kw),
        rtol=1e-14,
        atol=1e-300,
    )
    np.testing.assert_allclose(
        lu.grad_softmax_focal_loss(x, t, alpha=alpha, gamma=0.0, **kw),
        lu.grad_cross_entropy(x, t, weight=alpha, **kw),
        rtol=1e-14,
        atol=1e-300,
    )
    want = F.cross_entropy(
        torch.tensor(x),
        torch.tensor(t),
        **kw,
        weight=None if alpha is None else torch.tensor(alpha),
    )
    np.testing.assert_allclose(
        lu.softmax_focal_loss(x, t, alpha=alpha, gamma=0.0, **kw), want, rtol=RTOL, atol=ATOL
    )


def test_softmax_focal_all_ignored_is_nan_with_zero_gradient_like_cross_entropy():
    x, t = np.random.default_rng(0).normal(size=(3, 4)), np.full(3, -100)
    assert np.isnan(lu.softmax_focal_loss(x, t))
    assert lu.softmax_focal_loss(x, t, reduction="sum") == 0
    np.testing.assert_array_equal(lu.grad_softmax_focal_loss(x, t), np.zeros((3, 4)))


def test_focal_down_weights_easy_examples():
    # An easy example (p_t ~ 0.95) loses far more of its loss than a hard one.
    easy, hard = 3.0, -3.0
    ratio = lu.sigmoid_focal_loss(
        [easy, hard], [1.0, 1.0], alpha=-1
    ) / lu.binary_cross_entropy_with_logits([easy, hard], [1.0, 1.0], reduction="none")
    assert ratio[0] < 0.003 < 0.9 < ratio[1]


# --------------------------------------------------------------------------
# Logit adjustment
# --------------------------------------------------------------------------


def torch_logit_adjusted(x, t, prior, tau, weight, ignore_index, reduction):
    """Menon et al.'s loss as PyTorch spells it: cross-entropy of logits + tau * log(prior)."""
    shift = tau * torch.log(prior).reshape((1, -1) + (1,) * (x.ndim - 2))
    return F.cross_entropy(
        x + shift, t, weight=weight, ignore_index=ignore_index, reduction=reduction
    )


@SETTINGS
@given(
    case=class_case(),
    tau=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    data=st.data(),
)
def test_logit_adjusted_cross_entropy_is_cross_entropy_of_shifted_logits(case, tau, data):
    x, t, weight, ignore_index, reduction = case
    assume((t != ignore_index).any() or reduction != "mean")
    n_classes = x.shape[1]
    prior = data.draw(hnp.arrays(np.float64, (n_classes,), elements=st.floats(1e-4, 10)))
    check_against_torch(
        lu.logit_adjusted_cross_entropy,
        lu.grad_logit_adjusted_cross_entropy,
        torch_logit_adjusted,
        x,
        t,
        prior=prior,
        tau=tau,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
    )


def test_logit_adjusted_with_probability_targets_and_unbatched_logits():
    rng = np.random.default_rng(2)
    x, q = rng.normal(size=(5, 3)), rng.dirichlet(np.ones(3), size=5)
    prior = np.array([0.8, 0.15, 0.05])
    want = F.cross_entropy(torch.tensor(x) + torch.log(torch.tensor(prior)), torch.tensor(q))
    np.testing.assert_allclose(lu.logit_adjusted_cross_entropy(x, q, prior=prior), want, rtol=RTOL)
    one = lu.logit_adjusted_cross_entropy(x[0], 2, prior=prior, reduction="none")
    np.testing.assert_allclose(
        one, F.cross_entropy(torch.tensor(x[0] + np.log(prior)), torch.tensor(2))
    )
    assert lu.grad_logit_adjusted_cross_entropy(x[0], 2, prior=prior).shape == (3,)


def test_logit_adjustment_needs_only_the_prior_up_to_scale_and_reduces_to_cross_entropy():
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(20, 4)), rng.integers(0, 4, 20)
    prior = np.array([0.6, 0.3, 0.08, 0.02])
    for fn, plain in (
        (lu.logit_adjusted_cross_entropy, lu.cross_entropy),
        (lu.grad_logit_adjusted_cross_entropy, lu.grad_cross_entropy),
    ):
        np.testing.assert_allclose(fn(x, t, prior=prior), fn(x, t, prior=1000 * prior), rtol=1e-13)
        np.testing.assert_allclose(fn(x, t, prior=prior, tau=0.0), plain(x, t), rtol=1e-15)
        np.testing.assert_allclose(fn(x, t), plain(x, t), rtol=1e-15)  # prior=None: no adjustment


def test_post_hoc_adjustment_is_the_bayes_rule_for_the_balanced_error():
    """argmax of logits - log prior is argmax of P(y | x) / prior: with the true posterior of
    a known model, it beats the plain argmax on the balanced accuracy."""
    rng = np.random.default_rng(4)
    prior = np.array([0.9, 0.09, 0.01])
    y = rng.choice(3, size=200_000, p=prior)
    means = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    x = rng.normal(size=(y.size, 2)) + means[y]
    log_post = -0.5 * ((x[:, None, :] - means) ** 2).sum(-1) + np.log(prior)  # + const
    plain = metrics.balanced_accuracy(log_post.argmax(1), y)
    adjusted = metrics.balanced_accuracy((log_post - np.log(prior)).argmax(1), y)
    assert adjusted > plain + 0.1


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        (
            {"prior": [0.5, 0.5]},
            ValueError,
            r"prior must have shape \(3,\), one frequency per class",
        ),
        ({"prior": [0.5, 0.5, 0.0]}, ValueError, r"prior must hold finite class frequencies > 0"),
        ({"prior": [0.5, 0.5, np.nan]}, ValueError, r"prior must hold finite class frequencies"),
        ({"prior": ["a", "b", "c"]}, TypeError, r"prior must be an array of real numbers"),
        ({"tau": -1.0}, ValueError, r"tau must be finite and >= 0, got -1.0"),
        ({"tau": "1"}, TypeError, r"tau must be a real number"),
    ],
)
def test_logit_adjusted_bad_input_is_named(kw, error, match):
    for fn in (lu.logit_adjusted_cross_entropy, lu.grad_logit_adjusted_cross_entropy):
        with pytest.raises(error, match=match):
            fn(np.zeros((4, 3)), np.array([0, 1, 2, 0]), **kw)


# --------------------------------------------------------------------------
# Class-balanced weights
# --------------------------------------------------------------------------


@SETTINGS
@given(
    counts=hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(1, 10**6)),
    beta=st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1 - 1e-9]),
)
def test_class_balanced_weights_are_the_effective_number_formula(counts, beta):
    """Against the formula in 50-digit arithmetic (mpmath), normalised to sum to C."""
    with mpmath.workdps(50):
        b = mpmath.mpf(beta)
        inverse = [(1 - b) / (1 - b ** int(n)) for n in counts]
        want = [float(w * len(counts) / sum(inverse)) for w in inverse]
    got = lu.class_balanced_weights(counts, beta=beta)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isclose(got.sum(), len(counts))


def test_class_balanced_weights_limits():
    counts = np.array([5000, 500, 50, 5])
    np.testing.assert_array_equal(lu.class_balanced_weights(counts, beta=0.0), np.ones(4))
    inverse = (1 / counts) * 4 / (1 / counts).sum()
    np.testing.assert_allclose(lu.class_balanced_weights(counts, beta=1.0), inverse, rtol=1e-15)
    # beta -> 1 approaches inverse frequency; small beta approaches equal weights
    np.testing.assert_allclose(
        lu.class_balanced_weights(counts, beta=1 - 1e-10), inverse, rtol=1e-5
    )
    weights = [lu.class_balanced_weights(counts, beta=b) for b in (0.9, 0.99, 0.999, 0.9999)]
    ratios = [w[-1] / w[0] for w in weights]  # rarest over commonest: grows with beta
    assert ratios == sorted(ratios) and 1 < ratios[0] and ratios[-1] < 1000


@pytest.mark.parametrize(
    ("counts", "beta", "error", "match"),
    [
        ([10, 0], 0.9, ValueError, r"counts must be finite and > 0 \(a class with no example"),
        ([[10, 5]], 0.9, ValueError, r"counts must be a non-empty 1-D array of class counts"),
        ([], 0.9, ValueError, r"counts must be a non-empty 1-D array"),
        ([10, 5], 1.5, ValueError, r"beta must be in \[0, 1\], got 1.5"),
        ([10, 5], -0.1, ValueError, r"beta must be finite and >= 0"),
        (["a"], 0.9, TypeError, r"counts must be an array of real numbers"),
    ],
)
def test_class_balanced_weights_bad_input_is_named(counts, beta, error, match):
    with pytest.raises(error, match=match):
        lu.class_balanced_weights(counts, beta=beta)
