"""Multi-class losses (lossutils.multiclass) against torch.nn.functional, float64.

Logits stay in [-6, 6] here: at larger |z| PyTorch itself loses relative accuracy (see
test_stability.py, where lossutils is checked against mpmath).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import REDUCTIONS, SETTINGS, check_against_torch, logit, positive, torch_value_and_grad


@st.composite
def class_case(draw, allow_prob=True, min_classes=1):
    """Logits (N, C, d...) or (C,), targets (indices with some ignored, or probabilities), class
    weights and options."""
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
    check_against_torch(
        lu.cross_entropy,
        lu.grad_cross_entropy,
        F.cross_entropy,
        x,
        t,
        weight=w,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


@SETTINGS
@given(case=class_case(allow_prob=False))
def test_nll_loss_matches_torch(case):
    x, t, w, ignore_index, reduction = case
    log_probs = lu.log_softmax(x, axis=0 if x.ndim == 1 else 1)
    check_against_torch(
        lu.nll_loss,
        lu.grad_nll_loss,
        F.nll_loss,
        log_probs,
        t,
        weight=w,
        ignore_index=ignore_index,
        reduction=reduction,
    )


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
    assert lu.cross_entropy(x, t) == pytest.approx(
        lu.nll_loss(lu.log_softmax(x, axis=1), t), rel=1e-14
    )
    onehot = np.eye(4)[t]
    np.testing.assert_allclose(
        lu.grad_cross_entropy(x, t), (lu.softmax(x, axis=1) - onehot) / 6, rtol=1e-13
    )
