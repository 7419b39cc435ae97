"""'Predicting distributions': the claims that re-run its experiments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("probabilistic-regression")


def test_the_nll_pitfall_survives_a_schedule_three_times_as_long(ch, one_thread):
    """The chapter's NLL and beta-NLL runs, retrained with 3 x 1500 steps: the NLL's mean stays
    the worse fit in at least 4 of 5 seeds (one seed may escape late), beta-NLL's stays good."""
    torch.manual_seed(0)
    n_losses = 2  # NLL and beta-NLL; the MSE runs are not needed here
    params = [
        p.repeat(n_losses, 1, 1).requires_grad_()
        for p in ch.init_mlps(len(ch.seeds), [1, 24, 24, 2])
    ]
    X = torch.from_numpy(2 * ch.x_train - 1).repeat(n_losses, 1)[..., None]
    Y = torch.from_numpy(ch.y_train).repeat(n_losses, 1)
    beta = torch.tensor([0.0] * 5 + [0.5] * 5)[:, None]
    steps = 3 * ch.steps
    opt = torch.optim.Adam(params, lr=0.02)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / steps)
    for _ in range(steps):
        opt.zero_grad()
        mu, var = ch.mean_and_var(params, X)
        nll = F.gaussian_nll_loss(mu, Y, var, reduction="none")
        (nll * var.detach() ** beta).mean(dim=1).sum().backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        mu, _ = ch.mean_and_var(params, ch.X_grid[:10])
    rmse = np.sqrt(np.mean((mu.numpy() - ch.chirp(ch.x_grid)) ** 2, axis=1))
    nll_rmse, beta_rmse = rmse[:5], rmse[5:]
    assert np.sum(nll_rmse > 2 * beta_rmse) >= 4, (nll_rmse, beta_rmse)
    assert np.all(beta_rmse < 0.15), beta_rmse


def test_the_poisson_fit_is_the_maximum_likelihood_estimate(ch):
    """Newton's method on the Poisson log-likelihood (an independent solver) finds the chapter's
    gradient-descent fit, and the log1p fit is the least-squares line of log(1 + y)."""
    for s in ch.seeds:
        X = np.column_stack([np.ones_like(ch.xc[s]), ch.xc[s]])
        w = np.zeros(2)
        for _ in range(50):
            rate = np.exp(X @ w)
            w -= np.linalg.solve(X.T @ (rate[:, None] * X), X.T @ (rate - ch.yc[s]))
        assert np.allclose(w, ch.w_poisson[s], atol=1e-6)
        least_squares = np.linalg.lstsq(X, np.log1p(ch.yc[s]), rcond=None)[0]
        assert np.allclose(least_squares, ch.w_log1p[s], atol=1e-6)


def test_the_chapters_losses_agree_with_pytorch_on_its_data(ch):
    """gaussian_nll_loss and poisson_nll_loss on the experiments' own fitted values."""
    mu, var = ch.mu_grid, ch.var_grid
    y = np.broadcast_to(ch.chirp(ch.x_grid), mu.shape)
    for reduction in ("mean", "none"):
        want = F.gaussian_nll_loss(
            torch.from_numpy(mu),
            torch.from_numpy(y.copy()),
            torch.from_numpy(var),
            reduction=reduction,
        )
        assert np.allclose(lu.gaussian_nll_loss(mu, y, var, reduction=reduction), want.numpy())
    z = ch.w_poisson[:, :1] + ch.w_poisson[:, 1:] * ch.xc
    want = F.poisson_nll_loss(torch.from_numpy(z), torch.from_numpy(ch.yc), full=True)
    assert np.isclose(lu.poisson_nll_loss(z, ch.yc, full=True), want.item(), rtol=1e-12)


def test_quantile_fit_is_a_minimum_of_the_pinball_loss(ch):
    """Moving any fitted quantile line (any weight, either way) does not lower the training
    pinball loss: the fit is at the minimum, to the optimiser's precision."""
    w = ch.w_quantile.detach().numpy()
    phi = ch.phi.numpy()
    y = np.repeat(ch.yq[..., None], 3, axis=2)

    def loss(weights):
        return lu.pinball_loss(phi @ weights, y, quantile=ch.levels)

    base = loss(w)
    for k in range(w.shape[1]):
        for sign in (-1, 1):
            moved = w.copy()
            moved[:, k, :] += sign * 1e-3
            assert loss(moved) >= base - 1e-7
