"""Weighted BCE and focal losses against reference formulas in torch ops (float64, rtol 1e-10).

torchvision is not a dependency: its sigmoid_focal_loss is written out below
exactly as torchvision.ops.focal_loss does it.
"""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, SETTINGS, check_against_torch, logit, torch_reduce, unit


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
