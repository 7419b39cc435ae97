"""'What is a loss function?': the claims that re-run its experiments in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("what-is-a-loss")


def test_gradient_descent_follows_pytorch_autograd(ch):
    """The same descent with PyTorch's autograd ends where the chapter's NumPy descent ends."""
    wb = torch.tensor([-1.0, 3.0], requires_grad=True)
    x_t, y_t = torch.from_numpy(ch.x), torch.from_numpy(ch.y)
    for _ in range(120):
        loss = F.mse_loss(wb[0] * x_t + wb[1], y_t)
        (g,) = torch.autograd.grad(loss, wb)
        wb = (wb - 0.2 * g).detach().requires_grad_(True)
    assert np.allclose(wb.detach().numpy(), ch.path[-1], rtol=1e-10)


def test_the_plotted_costs_of_a_constant_are_pytorchs(ch):
    waits = torch.from_numpy(ch.waits)
    for i in (0, 137, 200, 400):
        c = torch.full_like(waits, ch.cs_grid[i])
        assert np.isclose(ch.mae_curve[i], F.l1_loss(c, waits).item(), rtol=1e-12)
        assert np.isclose(ch.mse_curve[i], F.mse_loss(c, waits).item(), rtol=1e-12)


def test_huber_exercise_constant_moves_from_median_to_mean(ch):
    """Exercise 'constant-huber': delta 0.5 lands near the median, 2 in between, 50 on the mean."""
    c_huber = {
        d: ch.fit_constant(lambda p, t, d=d: F.huber_loss(p, t, delta=d), ch.waits)
        for d in (0.5, 2.0, 50.0)
    }
    assert np.median(ch.waits) - 0.1 < c_huber[0.5] < c_huber[2.0] < ch.waits.mean() + 1e-3
    assert abs(c_huber[50.0] - ch.waits.mean()) < 1e-3
    assert np.max(np.abs(ch.waits - ch.waits.mean())) < 50  # so Huber with delta 50 is half the MSE
