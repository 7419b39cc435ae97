"""Padded sequence losses and perplexity against PyTorch (float64, rtol 1e-10)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import ATOL, REDUCTIONS, RTOL, check_against_torch, torch_value_and_grad

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


def _torch_sequence_mean(token_loss):
    """The mean of the per-sequence means in torch ops, from PyTorch's per-token losses."""

    def reference(x, target, reduction):
        assert reduction == "sequence_mean"
        tokens = token_loss(x, target, reduction="none")  # (N, T), 0 at padding
        lengths = (target != PAD).sum(dim=1)
        keep = lengths > 0  # a sequence that is all padding has no mean
        return (tokens.sum(dim=1)[keep] / lengths[keep]).mean()

    return reference


@settings(max_examples=30, deadline=None)
@given(batch=padded_batch())
def test_sequence_mean_matches_the_formula_in_torch_ops(batch):
    logits, target = batch
    check_against_torch(
        lu.sequence_cross_entropy,
        lu.grad_sequence_cross_entropy,
        _torch_sequence_mean(F.cross_entropy),
        logits,
        target,
        reduction="sequence_mean",
    )
    check_against_torch(
        lu.sequence_nll_loss,
        lu.grad_sequence_nll_loss,
        _torch_sequence_mean(F.nll_loss),
        lu.log_softmax(logits, axis=1),
        target,
        reduction="sequence_mean",
    )


def test_sequence_mean_weighs_sequences_alike_and_equals_mean_for_equal_lengths():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 5, 4))
    full = rng.integers(0, 5, size=(3, 4))
    for fn in (lu.sequence_cross_entropy, lu.grad_sequence_cross_entropy):
        np.testing.assert_allclose(
            fn(logits, full, reduction="sequence_mean"), fn(logits, full), rtol=1e-13
        )
    short = full.copy()
    short[0, 1:] = PAD  # one token against four: the per-token mean hides it
    tokens = lu.sequence_cross_entropy(logits, short, reduction="none")
    want = np.mean([tokens[0, 0], tokens[1].mean(), tokens[2].mean()])
    got = lu.sequence_cross_entropy(logits, short, reduction="sequence_mean")
    assert got == pytest.approx(want, rel=1e-13)


def test_sequence_mean_skips_sequences_that_are_all_padding():
    rng = np.random.default_rng(2)
    logits, target = rng.normal(size=(3, 4, 5)), rng.integers(0, 4, size=(3, 5))
    target[1] = PAD
    kept = [0, 2]
    for fn in (lu.sequence_cross_entropy, lu.sequence_nll_loss):
        got = fn(logits, target, reduction="sequence_mean")
        want = fn(logits[kept], target[kept], reduction="sequence_mean")
        assert got == pytest.approx(want, rel=1e-14)
    grad = lu.grad_sequence_cross_entropy(logits, target, reduction="sequence_mean")
    assert not grad[1].any()
    np.testing.assert_allclose(
        grad[kept],
        lu.grad_sequence_cross_entropy(logits[kept], target[kept], reduction="sequence_mean"),
    )
    # No real token at all: NaN, as PyTorch's mean over no tokens, and a zero gradient.
    everything = np.full((2, 5), PAD)
    assert np.isnan(lu.sequence_cross_entropy(logits[:2], everything, reduction="sequence_mean"))
    grad = lu.grad_sequence_nll_loss(logits[:2], everything, reduction="sequence_mean")
    assert grad.shape == (2, 4, 5) and not grad.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_mean_keeps_the_dtype_and_rounds_once(dtype):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 20, size=(4, 6, 7)).astype(dtype)
    target = rng.integers(0, 6, size=(4, 7))
    target[np.arange(7) >= np.array([7, 3, 1, 5])[:, None]] = PAD
    exact = lu.sequence_cross_entropy(logits.astype(np.float64), target, reduction="sequence_mean")
    got = lu.sequence_cross_entropy(logits, target, reduction="sequence_mean")
    assert got.dtype == dtype and got == dtype(exact)  # float64 inside, rounded once
    grad = lu.grad_sequence_cross_entropy(logits, target, reduction="sequence_mean")
    exact = lu.grad_sequence_cross_entropy(
        logits.astype(np.float64), target, reduction="sequence_mean"
    )
    assert grad.dtype == dtype and np.array_equal(grad, exact.astype(dtype))


@pytest.mark.parametrize(
    "fn",
    [
        lu.sequence_cross_entropy,
        lu.sequence_nll_loss,
        lu.grad_sequence_cross_entropy,
        lu.grad_sequence_nll_loss,
    ],
)
def test_an_unknown_reduction_names_the_four(fn):
    with pytest.raises(
        ValueError,
        match=r"reduction must be one of \('mean', 'sum', 'none', "
        r"'sequence_mean'\), got 'per_sequence'",
    ):
        fn(np.zeros((1, 2, 3)), np.zeros((1, 3), dtype=int), reduction="per_sequence")


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
