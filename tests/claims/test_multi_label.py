"""'Multi-label classification': the claims that re-run a fit or compare many values with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("multi-label")


def test_the_two_pytorch_losses_agree_with_per_label_weights(ch):
    """The text: BCEWithLogitsLoss and MultiLabelSoftMarginLoss are the same number, also with
    per-label weights, and lossutils' soft-margin loss is both."""
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(50, ch.M)), ch.Y[0, :50].numpy()
    w = rng.random(ch.M)
    zt, yt, wt = map(torch.from_numpy, (z, y, w))
    soft = F.multilabel_soft_margin_loss(zt, yt, weight=wt).item()
    assert np.isclose(
        soft, F.binary_cross_entropy_with_logits(zt, yt, weight=wt).item(), rtol=1e-14
    )
    assert np.isclose(soft, lu.multilabel_soft_margin_loss(z, y, weight=w), rtol=1e-12)


def test_the_chapters_adam_is_torch_optim_adam(ch):
    """The chapter writes Adam out; on the same batches it equals torch.optim.Adam."""
    k = 2  # one learning rate of the grid, the guide's convention
    W = torch.zeros(len(ch.SEEDS), ch.D + 1, ch.M, requires_grad=True)
    opt = torch.optim.Adam([W], lr=float(ch.LRS[k]))
    for idx in ch.batches:
        xb = torch.stack([ch.XB[s, idx[s]] for s in ch.SEEDS])
        yb = torch.stack([ch.Y[s, idx[s]] for s in ch.SEEDS])
        opt.zero_grad()
        ch.guide_loss(W, xb, yb).sum().backward()
        opt.step()
    np.testing.assert_allclose(
        W.detach().numpy(), ch.trained["Adam"][0, k].numpy(), rtol=1e-9, atol=1e-12
    )


def test_the_softmax_fit_is_a_minimum_of_pytorchs_cross_entropy(ch):
    """fit_softmax's analytic gradient: at its solution, autograd through F.cross_entropy with
    probability targets (photos with labels only) finds a zero gradient."""
    for s in ch.SEEDS:
        keep = ch.Y[s].sum(-1) > 0
        W = ch.W_soft[s].clone().requires_grad_(True)
        target = ch.Y[s][keep] / ch.Y[s][keep].sum(-1, keepdim=True)
        F.cross_entropy(ch.XB[s][keep] @ W, target).backward()
        assert W.grad.abs().max() < 1e-8


def test_the_weighted_fit_converged_and_lossutils_matches_pytorch(ch):
    W = ch.W_weighted.clone().requires_grad_(True)
    z = ch.XB @ W
    F.binary_cross_entropy_with_logits(z, ch.Y, pos_weight=ch.pos_weight).backward()
    assert W.grad.abs().max() < 1e-9
    z0, y0, pw = z[0].detach().numpy(), ch.Y[0].numpy(), ch.pos_weight[0, 0].numpy()
    ours = lu.binary_cross_entropy_with_logits(z0, y0, pos_weight=pw)
    theirs = F.binary_cross_entropy_with_logits(
        z[0].detach(), ch.Y[0], pos_weight=ch.pos_weight[0, 0]
    )
    assert np.isclose(ours, theirs.item(), rtol=1e-12)


def test_softmax_minimiser_is_the_expected_normalised_target():
    """The text: cross-entropy against soft targets is minimised by their expectation. For a
    constant model (bias only) that is the mean normalised target, to the optimiser's precision."""
    rng = np.random.default_rng(1)
    y = (rng.random((500, 4)) < [0.7, 0.5, 0.2, 0.1]).astype(float)
    y = y[y.sum(1) > 0]
    target = torch.from_numpy(y / y.sum(1, keepdims=True))
    b = torch.zeros(4, requires_grad=True)
    opt = torch.optim.LBFGS([b], tolerance_grad=1e-12, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(b.expand(len(y), 4), target)
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(
        torch.softmax(b, 0).detach().numpy(), target.mean(0).numpy(), atol=1e-6
    )
