"""'Calibration and proper scoring rules': the claims that re-run its experiments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import metrics


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("calibration")


def test_each_fitted_temperature_minimises_the_validation_nll(ch):
    """Scaling any seed's temperature up or down by 1 % raises its validation NLL."""
    for s, t in enumerate(ch.T.ravel()):
        nll = [
            lu.cross_entropy(ch.logits_valid[s] / (t * f), ch.y_valid[s]) for f in (0.99, 1, 1.01)
        ]
        assert nll[1] < nll[0] and nll[1] < nll[2], (s, t, nll)


def test_softmax_regression_matches_pytorch_nll_and_metrics(ch):
    """The reported NLL and Brier score are PyTorch's, and the ECE is the bins' weighted gap."""
    z = torch.from_numpy(ch.logits_test)
    y = torch.from_numpy(ch.y_test)
    for s in range(len(z)):
        assert np.isclose(ch.before["nll"][s], F.cross_entropy(z[s], y).item(), rtol=1e-12)
        p = torch.softmax(z[s], dim=1)
        brier = ((p - F.one_hot(y, ch.C).double()) ** 2).sum(1).mean().item()
        assert np.isclose(ch.before["brier"][s], brier, rtol=1e-12)
        bins = metrics.calibration_curve(p.numpy(), ch.y_test, n_bins=15)
        gap = np.sum(bins.count * np.abs(bins.accuracy - bins.confidence)) / len(ch.y_test)
        assert np.isclose(ch.before["ece"][s], gap, rtol=1e-12)


def test_kl_and_soft_cross_entropy_train_the_same_student(ch, one_thread):
    """The KL divergence and the cross-entropy with the same soft targets differ by a constant,
    so L-BFGS on either finds the same student (seed 0, T = 4)."""
    x = ch.x_small[:1, :, ch.half]
    soft = lu.softmax(ch.teacher_logits[:1] / 4.0, axis=-1)
    W_kl = ch.fit_softmax_regression(x, soft, temperature=4.0)
    xb, target = ch.with_bias(x), torch.from_numpy(soft)
    W = torch.zeros_like(W_kl).requires_grad_()
    opt = torch.optim.LBFGS(
        [W],
        max_iter=500,
        tolerance_grad=1e-10,
        tolerance_change=1e-14,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def objective():
        opt.zero_grad()
        log_p = F.log_softmax(xb @ W / 4.0, dim=-1)
        ce = -(target * log_p).sum(-1).mean(1) * 16.0
        total = (ce + 1e-3 * W.pow(2).sum((1, 2))).sum()
        total.backward()
        return total

    opt.step(objective)
    assert np.allclose(W.detach().numpy(), W_kl.numpy(), atol=1e-5)


def test_the_students_logits_agree_with_lossutils_kl(ch):
    """lu.kl_div on the distillation targets equals PyTorch's, and its gradient through
    log_softmax is (p - q) / N, the soft cross-entropy's."""
    z = (ch.with_bias(ch.x_small[0, :, ch.half]) @ ch.students["teacher, T = 4"][0]).numpy()
    q = lu.softmax(ch.teacher_logits[0] / 4.0, axis=-1)
    log_p = lu.log_softmax(z / 4.0, axis=-1)
    want = F.kl_div(torch.from_numpy(log_p), torch.from_numpy(q), reduction="batchmean").item()
    assert np.isclose(lu.kl_div(log_p, q, reduction="batchmean"), want, rtol=1e-12)
    # through the log-softmax: J^T g with g = -q / N gives (p - q) / N
    g = lu.grad_kl_div(log_p, q, reduction="batchmean")
    p = np.exp(log_p)
    through = g - p * g.sum(axis=-1, keepdims=True)
    assert np.allclose(through, (p - q) / len(q), atol=1e-15)
