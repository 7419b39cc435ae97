"""The Brier score against its formula in torch ops and the KL divergence against
torch.nn.functional.kl_div (float64, rtol 1e-10); gradients against autograd; propriety; bad
input."""

import warnings

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import REDUCTIONS, SETTINGS, check_against_torch, torch_reduce


def torch_brier(probs, target, reduction="mean"):
    onehot = F.one_hot(target, probs.shape[-1]).to(probs.dtype)
    return torch_reduce(((probs - onehot) ** 2).sum(-1), reduction)


@st.composite
def probabilities(draw, n_min=1):
    n, c = draw(st.integers(n_min, 6)), draw(st.integers(2, 5))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-6, 6, width=64)))
    p = lu.softmax(z, axis=1)
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return p, y


@SETTINGS
@given(case=probabilities(), reduction=st.sampled_from(REDUCTIONS))
def test_brier_matches_its_formula_in_torch(case, reduction):
    p, y = case
    check_against_torch(lu.brier_score, lu.grad_brier_score, torch_brier, p, y, reduction=reduction)


def test_brier_unbatched_and_binary():
    p = np.array([0.2, 0.8])
    assert lu.brier_score(p, np.array(1), reduction="none").shape == ()
    assert lu.brier_score(p, np.array(1)) == pytest.approx(2 * (0.8 - 1) ** 2)  # 2 x binary
    assert lu.grad_brier_score(p, np.array(1)).tolist() == pytest.approx([0.4, -0.4])


def test_brier_and_log_loss_are_proper_focal_is_not():
    """Expected score under true class probabilities q: the minimiser over predictions p is q
    for the Brier score and the log loss, and not q for the focal loss."""
    q = np.array([0.7, 0.2, 0.1])
    rng = np.random.default_rng(0)
    candidates = np.vstack([q, rng.dirichlet(np.ones(3), size=2000)])
    labels = np.arange(3)

    def expected(score):
        return np.array([sum(q[c] * score(p, c) for c in labels) for p in candidates])

    brier = expected(lambda p, c: lu.brier_score(p, np.array(c)))
    log = expected(lambda p, c: -np.log(p[c]))
    focal = expected(lambda p, c: -((1 - p[c]) ** 2) * np.log(p[c]))
    assert brier.argmin() == 0 and log.argmin() == 0
    assert focal.argmin() != 0 and focal.min() < focal[0]


@st.composite
def distributions(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    z = draw(hnp.arrays(np.float64, shape, elements=st.floats(-6, 6, width=64)))
    w = draw(hnp.arrays(np.float64, shape, elements=st.floats(-6, 6, width=64)))
    log_p = lu.log_softmax(z, axis=-1)
    q = lu.softmax(w, axis=-1)
    if draw(st.booleans()):  # some exact zeros in the target: 0 log 0 = 0
        q = np.where(w > 3, 0.0, q)
    return log_p, q


@SETTINGS
@given(
    case=distributions(),
    log_target=st.booleans(),
    reduction=st.sampled_from((*REDUCTIONS, "batchmean")),
)
def test_kl_div_matches_torch(case, log_target, reduction):
    log_p, q = case
    if log_target:
        q = np.log(np.where(q > 0, q, 1e-300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's warning about 'mean'
        check_against_torch(
            lu.kl_div,
            lu.grad_kl_div,
            F.kl_div,
            log_p,
            q,
            log_target=log_target,
            reduction=reduction,
        )


def test_kl_div_is_cross_entropy_minus_entropy():
    rng = np.random.default_rng(3)
    logits, q = rng.normal(size=(8, 5)), rng.dirichlet(np.ones(5), size=8)
    log_p = lu.log_softmax(logits, axis=1)
    entropy = -(q * np.log(q)).sum(axis=1).mean()
    kl = lu.kl_div(log_p, q, reduction="batchmean")
    assert kl == pytest.approx(lu.cross_entropy(logits, q) - entropy, rel=1e-12)
    assert lu.kl_div(log_p, q) == pytest.approx(kl / 5, rel=1e-14)  # 'mean' also divides by C
    assert lu.kl_div(np.log(q), q, reduction="batchmean") == pytest.approx(0.0, abs=1e-15)


def test_kl_div_zero_target_terms_are_zero():
    got = lu.kl_div(np.log([[0.5, 0.5]]), [[1.0, 0.0]], reduction="none")
    np.testing.assert_allclose(got, [[np.log(2), 0.0]], rtol=1e-15)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [lu.brier_score, lu.grad_brier_score])
def test_brier_bad_input(fn):
    p, y = np.full((4, 3), 1 / 3), np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"probs must contain probabilities in \[0, 1\].*e.g. 1.5"):
        fn(np.array([[1.5, -0.5]]), np.array([0]))
    with pytest.raises(ValueError, match=r"probs must hold class probabilities that sum to 1.*0.9"):
        fn(np.array([[0.5, 0.4]]), np.array([0]))
    with pytest.raises(TypeError, match=r"target must hold integer class indices, got dtype float"):
        fn(p, y.astype(float))
    with pytest.raises(ValueError, match=r"target contains class index 3, outside \[0, 3\)"):
        fn(p, [0, 1, 3, 0])
    with pytest.raises(ValueError, match=r"target of class indices must have shape \(4,\)"):
        fn(p, y[:2])
    with pytest.raises(ValueError, match=r"probs must have shape \(N, C\) or \(C,\)"):
        fn(np.full((2, 2, 2), 0.5), y)


@pytest.mark.parametrize("fn", [lu.kl_div, lu.grad_kl_div])
def test_kl_div_bad_input(fn):
    log_p, q = np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)
    with pytest.raises(
        ValueError, match=r"input must hold log-probabilities \(<= 0\), got 0.5: pass"
    ):
        fn(np.full((2, 2), 0.5), q)
    with pytest.raises(ValueError, match=r"target must contain probabilities in \[0, 1\]"):
        fn(log_p, np.log(q))
    with pytest.raises(ValueError, match=r"target must hold log-probabilities \(<= 0\) when log"):
        fn(log_p, q + 1, log_target=True)
    with pytest.raises(ValueError, match=r"input and target must have the same shape"):
        fn(log_p, q[:, :1])
    with pytest.raises(
        ValueError, match=r"reduction must be one of \('mean', 'batchmean', 'sum', 'none'\)"
    ):
        fn(log_p, q, reduction="avg")
    with pytest.raises(TypeError, match=r"log_target must be True or False"):
        fn(log_p, q, log_target="no")
