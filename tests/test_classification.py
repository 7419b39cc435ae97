"""Classification losses and gradients against torch.nn.functional (float64, rtol 1e-10).

Logits stay in [-6, 6] here: at larger |z| PyTorch itself loses relative
accuracy (see test_stability.py, where lossutils is checked against mpmath).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu

RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ["mean", "sum", "none"]
SETTINGS = settings(max_examples=30, deadline=None)

logit = st.floats(-6, 6, allow_nan=False, width=64)
unit = st.floats(0, 1, allow_nan=False, width=64)
positive = st.floats(0.1, 3, allow_nan=False, width=64)


def torch_value_and_grad(fn, first, *args, **kw):
    """PyTorch's loss and the autograd gradient of its sum w.r.t. the first argument."""
    x = torch.tensor(first, requires_grad=True)
    conv = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = fn(x, *conv, **kw)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def check(loss, grad, ref, first, *args, **kw):
    want, want_grad = torch_value_and_grad(ref, first, *args, **kw)
    got = loss(first, *args, **kw)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    got_grad = grad(first, *args, **kw)
    assert got_grad.shape == np.shape(first)
    np.testing.assert_allclose(got_grad, want_grad, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- binary


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
    check(lu.binary_cross_entropy, lu.grad_binary_cross_entropy, F.binary_cross_entropy,
          p, t, weight=w, reduction=reduction)


@SETTINGS
@given(case=binary_case(first=unit | st.sampled_from([0.0, 1.0])), eps=st.sampled_from([1e-7, 1e-3, 0.2]))
def test_bce_eps_is_bce_of_clipped_prob(case, eps):
    p, t, w, reduction = case

    def ref(x, t, weight, reduction):  # clamp's backward masks the gradient outside
        return F.binary_cross_entropy(x.clamp(eps, 1 - eps), t, weight=weight, reduction=reduction)

    want, want_grad = torch_value_and_grad(ref, p, t, weight=w, reduction=reduction)
    np.testing.assert_allclose(lu.binary_cross_entropy(p, t, weight=w, eps=eps, reduction=reduction),
                               want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(lu.grad_binary_cross_entropy(p, t, weight=w, eps=eps, reduction=reduction),
                               want_grad, rtol=RTOL, atol=ATOL)


def test_bce_clamps_log_at_minus_100_like_torch():
    assert lu.binary_cross_entropy([0.0, 1.0], [1.0, 0.0], reduction="none").tolist() == [100.0, 100.0]


@SETTINGS
@given(case=binary_case(), with_pos_weight=st.booleans(), data=st.data())
def test_bce_with_logits_matches_torch(case, with_pos_weight, data):
    z, t, w, reduction = case
    pw = None
    if with_pos_weight:  # one per class (last axis), as in PyTorch's docs
        pw = data.draw(hnp.arrays(np.float64, z.shape[-1:], elements=positive))
    check(lu.binary_cross_entropy_with_logits, lu.grad_binary_cross_entropy_with_logits,
          F.binary_cross_entropy_with_logits, z, t, weight=w, pos_weight=pw, reduction=reduction)


@SETTINGS
@given(case=binary_case())
def test_multilabel_soft_margin_matches_torch(case):
    z, t, w, reduction = case
    if z.ndim > 2:  # PyTorch's loss is defined for (N, C) and (C,)
        z, t = z.reshape(-1, z.shape[-1]), t.reshape(-1, t.shape[-1])
        w = None if w is None or w.ndim > 1 else w
    check(lu.multilabel_soft_margin_loss, lu.grad_multilabel_soft_margin_loss,
          F.multilabel_soft_margin_loss, z, t, weight=w, reduction=reduction)


def test_multilabel_mean_equals_bce_with_logits_mean():
    rng = np.random.default_rng(1)
    z, t = rng.normal(size=(7, 5)), rng.integers(0, 2, (7, 5)).astype(float)
    assert lu.multilabel_soft_margin_loss(z, t) == pytest.approx(
        lu.binary_cross_entropy_with_logits(z, t), rel=1e-14)


# ---------------------------------------------------------------- building blocks


@SETTINGS
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3), elements=st.floats(-50, 50)),
       axis=st.integers(-1, 0))
def test_building_blocks_match_torch(x, axis):
    tx = torch.tensor(x)
    np.testing.assert_allclose(lu.sigmoid(x), torch.sigmoid(tx), rtol=1e-14, atol=0)
    np.testing.assert_allclose(lu.log_sigmoid(x), F.logsigmoid(tx), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(lu.softmax(x, axis=axis), torch.softmax(tx, axis), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(lu.log_softmax(x, axis=axis), torch.log_softmax(tx, axis), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- multi-class


@st.composite
def class_case(draw, allow_prob=True, min_classes=1):
    """Logits (N, C, d...) or (C,), targets (indices with some ignored, or
    probabilities), class weights and options."""
    unbatched = draw(st.booleans()) and draw(st.booleans())
    n_classes = draw(st.integers(min_classes, 5))
    if unbatched:
        shape, index_shape = (n_classes,), ()
    else:
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        n = draw(st.integers(1, 4))
        shape, index_shape = (n, n_classes) + extra, (n,) + extra
    x = draw(hnp.arrays(np.float64, shape, elements=logit))
    ignore_index = draw(st.sampled_from([-100, 0, 1]))
    if allow_prob and ignore_index < 0 and draw(st.booleans()):
        raw = draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))
        t = torch.softmax(torch.tensor(raw), 0 if unbatched else 1).numpy()
    else:
        pool = list(range(n_classes)) + [ignore_index]
        t = draw(hnp.arrays(np.int64, index_shape, elements=st.sampled_from(pool)))
    w = draw(st.none() | hnp.arrays(np.float64, (n_classes,), elements=positive))
    return x, t, w, ignore_index, draw(st.sampled_from(REDUCTIONS))


@SETTINGS
@given(case=class_case(), label_smoothing=st.sampled_from([0.0, 0.1, 0.35, 1.0]))
def test_cross_entropy_matches_torch(case, label_smoothing):
    x, t, w, ignore_index, reduction = case
    check(lu.cross_entropy, lu.grad_cross_entropy, F.cross_entropy, x, t, weight=w,
          ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)


@SETTINGS
@given(case=class_case(allow_prob=False))
def test_nll_loss_matches_torch(case):
    x, t, w, ignore_index, reduction = case
    log_probs = lu.log_softmax(x, axis=0 if x.ndim == 1 else 1)
    check(lu.nll_loss, lu.grad_nll_loss, F.nll_loss, log_probs, t, weight=w,
          ignore_index=ignore_index, reduction=reduction)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_ignored_mean_is_nan_with_zero_gradient_like_torch(weighted, label_smoothing):
    x, t = np.random.default_rng(2).normal(size=(3, 4)), np.full(3, -100)
    w = np.arange(1.0, 5.0) if weighted else None
    kw = dict(weight=w, label_smoothing=label_smoothing)
    want, want_grad = torch_value_and_grad(F.cross_entropy, x, t, **kw)
    assert np.isnan(want) and np.isnan(lu.cross_entropy(x, t, **kw))
    np.testing.assert_array_equal(lu.grad_cross_entropy(x, t, **kw), want_grad)
    assert lu.cross_entropy(x, t, reduction="sum", **kw) == 0


def test_cross_entropy_is_nll_of_log_softmax_and_plain_gradient():
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    assert lu.cross_entropy(x, t) == pytest.approx(lu.nll_loss(lu.log_softmax(x, axis=1), t), rel=1e-14)
    onehot = np.eye(4)[t]
    np.testing.assert_allclose(lu.grad_cross_entropy(x, t), (lu.softmax(x, axis=1) - onehot) / 6, rtol=1e-13)
