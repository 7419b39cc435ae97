"""'Binary classification: BCE and the sigmoid': the claims that re-run its computations in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("binary-cross-entropy")


def test_every_row_of_the_four_ways_table_agrees_with_pytorch(ch):
    """The clamp route is F.binary_cross_entropy, the logit route F.binary_cross_entropy_with_logits
    (to float32 rounding in float32), and the logit route is always right."""
    for (z, y, dt), row in ch.results.items():
        tdt = torch.float32 if dt == "float32" else torch.float64
        zt, yt = torch.tensor([z], dtype=tdt), torch.tensor([y], dtype=tdt)
        # lossutils' float32 sigmoid is correctly rounded, PyTorch's kernel within an ulp on any CPU.
        eps = np.finfo(np.float32 if dt == "float32" else np.float64).eps
        assert np.isclose(row["p"], torch.sigmoid(zt).item(), rtol=2 * eps, atol=0)
        assert np.isclose(
            row["clamp"], F.binary_cross_entropy(torch.sigmoid(zt), yt).item(), rtol=1e-6
        )
        assert np.isclose(
            row["from logits"], F.binary_cross_entropy_with_logits(zt, yt).item(), rtol=1e-6
        )
        assert abs(row["from logits"] - ch.exact[z, y]) <= 1e-6 * ch.exact[z, y]


def test_logistic_regression_final_loss_and_gradient_are_pytorchs(ch):
    z_train = ch.x_train @ ch.w + ch.b
    x_t = torch.from_numpy(ch.x_train)
    final = F.binary_cross_entropy_with_logits(
        ch.model(x_t).squeeze(1), torch.from_numpy(ch.y_train)
    )
    ch.model.zero_grad()
    final.backward()
    g_z = lu.grad_binary_cross_entropy_with_logits(z_train, ch.y_train)  # dJ/dz, one per example
    assert np.isclose(
        lu.binary_cross_entropy_with_logits(z_train, ch.y_train), final.item(), rtol=1e-12
    )
    assert np.allclose(g_z @ ch.x_train, ch.model.weight.grad.numpy()[0], atol=1e-12)
    assert np.isclose(g_z.sum(), ch.model.bias.grad.item(), atol=1e-12)


def test_pytorchs_pos_weight_is_lossutils_w1_on_the_training_logits(ch):
    x_imb, y_imb = ch.two_clouds(380, 20, seed=2)  # the first seed's training set
    for pw, runs in ch.runs.items():
        z_train = runs[0]["model"](torch.from_numpy(x_imb)).detach().numpy()[:, 0]
        weight = None if pw is None else torch.tensor(pw)
        expected = F.binary_cross_entropy_with_logits(
            torch.from_numpy(z_train), torch.from_numpy(y_imb), pos_weight=weight
        ).item()
        ours = lu.weighted_binary_cross_entropy_with_logits(z_train, y_imb, w1=pw or 1.0)
        assert np.isclose(ours, expected, rtol=1e-12)
        assert np.isclose(
            lu.binary_cross_entropy_with_logits(z_train, y_imb, pos_weight=pw), expected, rtol=1e-12
        )


def test_ten_times_longer_imbalance_runs_move_the_percentages_less_than_their_spread(ch):
    """The text: the 400-step runs are not fully converged, but converging changes recall and
    precision by less than their spread over the seeds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors, as in the chapter: more threads only contend
    try:
        for pw, runs in ch.runs.items():
            longer = [ch.imbalance_run(seed, pw, steps=4000) for seed in range(len(runs))]
            for key in ("recall", "precision"):
                short = np.array([r[key] for r in runs])
                change = np.abs(np.array([r[key] for r in longer]) - short)
                assert change.max() < short.max() - short.min(), (pw, key)
    finally:
        torch.set_num_threads(threads)
