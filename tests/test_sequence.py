"""Padded sequence losses and perplexity against PyTorch (float64, rtol 1e-10)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, torch_value_and_grad

PAD = -100


@st.composite
def padded_batch(draw):
    """Logits (N, C, T) and targets (N, T) whose sequences end in padding."""
    n, c, t = draw(st.integers(1, 4)), draw(st.integers(2, 6)), draw(st.integers(1, 7))
    logits = draw(hnp.arrays(np.float64, (n, c, t), elements=st.floats(-6, 6)))
    tokens = draw(hnp.arrays(np.int64, (n, t), elements=st.integers(0, c - 1)))
    lengths = draw(hnp.arrays(np.int64, (n,), elements=st.integers(1, t)))
    tokens[np.arange(t) >= lengths[:, None]] = PAD
    return logits, tokens


@settings(max_examples=30, deadline=None)
@given(batch=padded_batch(), reduction=st.sampled_from(REDUCTIONS))
def test_sequence_losses_match_torch(batch, reduction):
    logits, target = batch
    want, want_grad = torch_value_and_grad(F.cross_entropy, logits, target, reduction=reduction)
    np.testing.assert_allclose(
        lu.sequence_cross_entropy(logits, target, reduction=reduction), want, rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        lu.grad_sequence_cross_entropy(logits, target, reduction=reduction),
        want_grad,
        rtol=RTOL,
        atol=ATOL,
    )
    log_probs = lu.log_softmax(logits, axis=1)
    want, want_grad = torch_value_and_grad(F.nll_loss, log_probs, target, reduction=reduction)
    np.testing.assert_allclose(
        lu.sequence_nll_loss(log_probs, target, reduction=reduction), want, rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        lu.grad_sequence_nll_loss(log_probs, target, reduction=reduction),
        want_grad,
        rtol=RTOL,
        atol=ATOL,
    )


@settings(max_examples=15, deadline=None)
@given(batch=padded_batch())
def test_perplexity_is_exp_of_mean_token_nll(batch):
    logits, target = batch
    want = torch.exp(F.cross_entropy(torch.tensor(logits), torch.tensor(target)))
    np.testing.assert_allclose(lu.perplexity(logits, target), want, rtol=RTOL)


def test_padding_does_not_count():
    rng = np.random.default_rng(0)
    logits, target = rng.normal(size=(2, 5, 4)), np.array([[1, 2, 3, PAD], [4, PAD, PAD, PAD]])
    real = [(0, 0), (0, 1), (0, 2), (1, 0)]
    nll = [-lu.log_softmax(logits[i, :, t])[target[i, t]] for i, t in real]
    assert lu.sequence_cross_entropy(logits, target) == pytest.approx(np.mean(nll), rel=1e-14)
    grad = lu.grad_sequence_cross_entropy(logits, target)
    assert not grad[0, :, 3].any() and not grad[1, :, 1:].any()


def test_uniform_model_has_perplexity_of_vocabulary_size():
    assert lu.perplexity(np.zeros((3, 7, 5)), np.zeros((3, 5), dtype=int)) == pytest.approx(7.0)


def test_other_padding_id():
    logits, target = np.zeros((1, 3, 3)), np.array([[0, 1, 2]])
    got = lu.sequence_cross_entropy(logits, target, ignore_index=2, reduction="none")
    np.testing.assert_allclose(got, [[np.log(3), np.log(3), 0.0]], rtol=1e-15)


def test_all_padding_gives_nan_perplexity():
    assert np.isnan(lu.perplexity(np.zeros((1, 3, 2)), np.full((1, 2), PAD)))


@pytest.mark.parametrize(
    "fn",
    [
        lu.sequence_cross_entropy,
        lu.sequence_nll_loss,
        lu.perplexity,
        lu.grad_sequence_cross_entropy,
        lu.grad_sequence_nll_loss,
    ],
)
def test_layout_errors(fn):
    with pytest.raises(ValueError, match=r"must have shape \(N, C, T\).*got shape \(4, 5\)"):
        fn(np.zeros((4, 5)), np.zeros(4, dtype=int))
    with pytest.raises(
        ValueError, match=r"target must have shape \(N, T\) = \(2, 4\), got shape \(2, 3, 4\)"
    ):
        fn(np.zeros((2, 3, 4)), np.zeros((2, 3, 4), dtype=int))
    # (N, T, C) logits, as many frameworks lay them out: a hint to move the class axis
    with pytest.raises(ValueError, match=r"looks like \(N, T, C\).*np.moveaxis"):
        fn(np.zeros((2, 7, 10)), np.zeros((2, 7), dtype=int))
