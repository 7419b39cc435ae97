"""'Multi-class: softmax and categorical cross-entropy': the claims that re-run its computations
in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("multiclass-cross-entropy")


def test_shifted_softmax_and_lse_agree_with_pytorch_on_every_row_and_naive_fail_exactly_on_overflow(
    ch,
):
    for (z, dt), (naive, shifted, lse_naive, lse_shifted) in ch.results.items():
        tdt = torch.float32 if dt == "float32" else torch.float64
        zt = torch.tensor(z, dtype=tdt)
        assert np.allclose(shifted, torch.softmax(zt, dim=0).numpy(), rtol=1e-6)
        assert np.allclose(lu.softmax(np.array(z, dtype=shifted.dtype)), shifted, rtol=1e-6)
        assert np.isclose(lse_shifted, torch.logsumexp(zt, dim=0).item(), rtol=1e-6)
        assert np.allclose(
            lu.log_softmax(np.array(z, dtype=shifted.dtype)), np.array(z) - lse_shifted, atol=1e-4
        )
        with np.errstate(over="ignore"):
            overflow = z[0] > ch.overflow_at[dt]
            underflow = np.exp(np.array(z, dtype=shifted.dtype)).sum() == 0
        assert np.isnan(naive).any() == (overflow or underflow) == (not np.all(np.isfinite(naive)))
        assert np.isinf(lse_naive) == (overflow or underflow)


def test_the_double_softmax_figure_is_pytorchs(ch):
    target = torch.from_numpy(ch.class0)
    assert np.allclose(
        ch.correct, F.cross_entropy(torch.from_numpy(ch.grid), target, reduction="none").numpy()
    )
    twice = F.cross_entropy(
        torch.softmax(torch.from_numpy(ch.grid), dim=1), target, reduction="none"
    )
    assert np.allclose(ch.twice, twice.numpy())


def test_the_label_smoothing_curves_are_pytorchs(ch):
    for eps, curve in ch.ls_curves.items():
        theirs = F.cross_entropy(
            torch.from_numpy(ch.grid4),
            torch.from_numpy(ch.zeros4),
            label_smoothing=eps,
            reduction="none",
        ).numpy()
        assert np.allclose(curve, theirs, rtol=1e-12)


def test_the_batched_network_is_nn_linear_stacks(ch):
    """Run 3 of the batched network, rebuilt from PyTorch's modules, gives the same logits."""
    run, layers = 3, []
    for k in range(0, len(ch.params), 2):
        linear = torch.nn.Linear(*ch.params[k].shape[1:])
        with torch.no_grad():
            linear.weight.copy_(ch.params[k][run].T)
            linear.bias.copy_(ch.params[k + 1][run, 0])
        layers += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        assert torch.allclose(net(ch.X[run]), ch.mlps(ch.params, ch.X)[run], rtol=1e-12)


def test_lossutils_agrees_with_pytorch_on_the_networks_logits(ch):
    """For index targets with label smoothing and for the smoothed probability targets."""
    with torch.no_grad():
        train_logits = ch.mlps(ch.params, ch.X).numpy()
        test_logits = ch.mlps(ch.params, torch.from_numpy(ch.x_test))
    for r, (_, _, eps) in enumerate(ch.settings):
        theirs = F.cross_entropy(
            torch.from_numpy(train_logits[r]), torch.from_numpy(ch.y_noisy[r]), label_smoothing=eps
        ).item()
        assert np.isclose(
            lu.cross_entropy(train_logits[r], ch.y_noisy[r], label_smoothing=eps),
            theirs,
            rtol=1e-12,
        )
        assert np.isclose(
            lu.cross_entropy(train_logits[r], ch.targets[r].numpy()), theirs, rtol=1e-12
        )
        assert np.isclose(
            lu.cross_entropy(test_logits[r].numpy(), ch.y_test),
            F.cross_entropy(test_logits[r], torch.from_numpy(ch.y_test)).item(),
            rtol=1e-10,
        )


def test_the_double_softmax_runs_are_the_clean_runs_with_the_bug(ch):
    """The bug's runs start from the clean plain-CE runs' initial weights, and their loss is
    PyTorch's cross-entropy of the softmax, which lossutils computes too."""
    for seed, run in enumerate(ch.clean):
        assert ch.settings[run] == (seed, 0.0, 0.0)
    with torch.no_grad():
        probs = torch.softmax(ch.mlps(ch.bug_params, ch.x_clean), dim=-1).numpy()
        printed = ch.ce_of_softmax(ch.bug_params).numpy()
    for k in range(ch.seeds):
        assert np.isclose(
            lu.cross_entropy(probs[k], ch.y_clean[ch.clean[k]]), printed[k], rtol=1e-12
        )
