"""'Regression: MSE, MAE, Huber': the claims that re-run its computations in PyTorch or at length."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("regression-losses")


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_value_and_slope_are_continuous_at_the_joint_and_curvature_jumps(delta):
    """The text: value and slope agree at |r| = delta (finite differences on both sides);
    the curvature jumps from 1 to 0."""
    h = 1e-6
    v = lu.huber(
        np.array([delta - h, delta, delta + h]), np.zeros(3), delta=delta, reduction="none"
    )
    assert np.isclose(v[1], delta**2 / 2)
    assert np.isclose((v[1] - v[0]) / h, delta, rtol=1e-5) and np.isclose(
        (v[2] - v[1]) / h, delta, rtol=1e-5
    )
    g = lu.grad_huber(
        np.array([delta - 0.1, delta - 0.05, delta + 0.05, delta + 0.1]),
        np.zeros(4),
        delta=delta,
        reduction="sum",
    )
    assert np.isclose(g[1] - g[0], 0.05) and g[3] == g[2] == delta


def test_smooth_l1_is_huber_over_its_threshold_and_the_limits_hold():
    rng = np.random.default_rng(7)
    p, t = rng.normal(0, 3, 200), rng.normal(0, 3, 200)
    pt, tt = torch.from_numpy(p), torch.from_numpy(t)
    for beta in (0.1, 1.0, 2.5):
        assert np.isclose(
            lu.smooth_l1(p, t, beta=beta) * beta, lu.huber(p, t, delta=beta), rtol=1e-12
        )
        assert np.isclose(
            F.smooth_l1_loss(pt, tt, beta=beta).item() * beta,
            F.huber_loss(pt, tt, delta=beta).item(),
            rtol=1e-12,
        )
    assert np.isclose(
        lu.huber(p, t, delta=1e3), lu.mse(p, t) / 2, rtol=1e-12
    )  # delta above all |r|
    assert np.isclose(lu.smooth_l1(p, t, beta=0.0), lu.mae(p, t), rtol=1e-12)


def test_the_plotted_huber_loss_is_pytorchs(ch):
    ours = lu.huber(ch.res, ch.zero, delta=1.0, reduction="none")
    theirs = F.huber_loss(torch.from_numpy(ch.res), torch.zeros(601), reduction="none").numpy()
    assert np.allclose(ours, theirs, rtol=1e-12)


def test_fitted_lines_lossutils_agrees_with_pytorch_and_the_huber_line_is_stationary(ch):
    X = np.stack([ch.x, np.ones_like(ch.x)], axis=1)
    huber_line = ch.exact["Huber (δ = 1)"]
    assert np.allclose(X.T @ lu.grad_huber(X @ huber_line, ch.y, reduction="sum"), 0, atol=1e-9)
    for name, ours, theirs, kw in [
        ("MSE", lu.mse, F.mse_loss, {}),
        ("MAE", lu.mae, F.l1_loss, {}),
        ("Huber (δ = 1)", lu.huber, F.huber_loss, {"delta": 1.0}),
    ]:
        pred = ch.fits[name][0] * ch.x + ch.fits[name][1]
        expected = theirs(torch.from_numpy(pred), torch.from_numpy(ch.y), **kw).item()
        assert np.isclose(ours(pred, ch.y, **kw), expected, rtol=1e-12)


def test_the_delta_sweep_scaling_identity_is_pytorchs_huber_per_delta(ch):
    """rho_delta(r) = delta^2 rho_1(r / delta), divided by min(delta, 1): Smooth L1 below 1."""
    lines = torch.from_numpy(ch.sweep[:, :1] * ch.x + ch.sweep[:, 1:])
    every = ch.huber_per_delta(lines, torch.from_numpy(ch.y).expand(ch.deltas.size, -1))
    y_t = torch.from_numpy(ch.y)
    for k in (0, 7, 12, 24):
        pred = ch.sweep[k, 0] * ch.x + ch.sweep[k, 1]
        direct = F.huber_loss(torch.from_numpy(pred), y_t, delta=float(ch.deltas[k])).item()
        assert np.isclose(every[k].item() * min(ch.deltas[k], 1.0), direct, rtol=1e-12)
        if ch.deltas[k] < 1:
            smooth = F.smooth_l1_loss(torch.from_numpy(pred), y_t, beta=float(ch.deltas[k])).item()
            assert np.isclose(every[k].item(), smooth, rtol=1e-12)
        assert np.isclose(lu.huber(pred, ch.y, delta=ch.deltas[k]), direct, rtol=1e-12)


def test_gradient_descent_matches_the_exact_huber_line_across_the_sweep(ch):
    for k in range(0, ch.deltas.size, 2):
        assert np.allclose(ch.sweep[k], ch.exact_huber(ch.x, ch.y, ch.deltas[k]), atol=2e-3), k


def test_one_gradient_step_of_each_cost_is_pytorchs(ch):
    """From (0, 0) one step of size 1 is minus the gradient at (0, 0)."""
    u, y = torch.from_numpy(ch.u), torch.from_numpy(ch.y_clean)
    for grad, loss, kw in [
        (lu.grad_mse, F.mse_loss, {}),
        (lu.grad_mae, F.l1_loss, {}),
        (lu.grad_huber, F.huber_loss, {}),
    ]:
        path = ch.gd_paths(grad, ch.u, ch.y_clean[None], [1.0])
        wb = torch.zeros(2, requires_grad=True)
        (g,) = torch.autograd.grad(loss(wb[0] * u + wb[1], y, **kw), wb)
        assert np.allclose(path[1, 0], -g.numpy(), rtol=1e-12)


def test_units_change_hubers_fit_but_not_mses_or_maes(ch):
    """Exercise 'units-and-delta': targets x1000 rescale the MSE and MAE lines; Huber with
    delta = 1 turns into the MAE fit."""
    x, y = ch.x, ch.y
    assert np.allclose(np.polyfit(x, 1000 * y, 1), 1000 * np.polyfit(x, y, 1))
    assert np.allclose(ch.exact_lad(x, 1000 * y), [1000, 1000] * ch.exact_lad(x, y))
    assert np.allclose(ch.exact_huber(x, 1000 * y, 1.0) / 1000, ch.exact_lad(x, y), atol=0.02)


def test_the_pinball_loss_lands_on_the_quantile():
    """Exercise 'pinball': tau = 0.9 puts the best constant on the 90th percentile."""
    q = np.random.default_rng(14).normal(size=1001)
    cs = np.linspace(-3, 3, 6001)[::10]
    pinball = np.array([np.mean(np.maximum(0.9 * (q - c), -0.1 * (q - c))) for c in cs])
    assert abs(cs[np.argmin(pinball)] - np.quantile(q, 0.9)) < 0.011
