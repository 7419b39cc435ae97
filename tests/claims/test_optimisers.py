"""'Optimisers and the loss's gradient': the claims that re-run its computations in PyTorch.

lu.optim itself is checked against torch.optim option by option in tests/test_optim.py; here
PyTorch re-runs the chapter's own experiments: the optimisers on its constant gradient, its
gradients (autograd on torch.nn.functional losses), gradient-norm clipping with
torch.nn.utils.clip_grad_norm_, and Adam's epsilon identity with torch.optim.Adam.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu

TORCH_OPTIMISERS = {
    "SGD": lambda p, lr: torch.optim.SGD([p], lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9),
    "RMSProp": lambda p, lr: torch.optim.RMSprop([p], lr=lr),
    "Adam": lambda p, lr: torch.optim.Adam([p], lr=lr),
}


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("optimisers")


def _torch_path(make, grad_fn, start, steps, lr):
    """torch.optim on a NumPy gradient function: the parameters after every step."""
    p = torch.nn.Parameter(torch.tensor(np.asarray(start, dtype=np.float64)))
    opt = make(p, lr)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.tensor(grad_fn(p.detach().numpy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def test_the_constant_gradient_steps_are_torch_optims(ch):
    for name, make in TORCH_OPTIMISERS.items():
        path = _torch_path(make, lambda _: ch.constant_grad, np.zeros(2), 100, ch.lr)
        assert np.allclose(np.abs(np.diff(path, axis=0)), ch.step_sizes[name], rtol=1e-12), name


def test_the_race_winners_follow_torch_optims_paths(ch):
    """Each optimiser, at the learning rate it won with, from the drawn start of every
    landscape: the path the figures draw is torch.optim's (first 100 steps)."""
    for land, (_, grad_fn, _, start) in ch.LANDSCAPES.items():
        for name, make in TORCH_OPTIMISERS.items():
            best_lr = ch.race[land, name][0]
            ours = ch.run(ch.OPTIMISERS[name](best_lr), grad_fn, np.array(start), 100)
            theirs = _torch_path(make, grad_fn, start, 100, best_lr)
            assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12), (land, name)


def test_the_landscape_gradients_are_autograds(ch):
    theta = np.random.default_rng(0).normal(size=(4, 2)) * 2
    x, y = torch.from_numpy(ch.x_line), torch.from_numpy(ch.y_line)
    xc, yc = torch.from_numpy(ch.x_cls), torch.from_numpy(ch.labels)
    for row in theta:
        t = torch.tensor(row, requires_grad=True)
        F.mse_loss(t[0] * x + t[1], y).backward()
        assert np.allclose(ch.line_grad(row), t.grad.numpy(), rtol=1e-12)
        t = torch.tensor(row, requires_grad=True)
        F.binary_cross_entropy_with_logits(t[0] * xc + t[1], yc).backward()
        assert np.allclose(ch.bce_grad(row), t.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("scoring", ["BCE", "MSE on σ(z)", "MSE on z"])
def test_the_classification_gradients_are_autograds(ch, scoring):
    theta = np.random.default_rng(1).normal(size=(2, ch.SEEDS, 3))
    _, grad_loss, _ = ch.SCORINGS[scoring]
    ours = ch.mean_gradient(grad_loss, ch.A_train, ch.y_train, theta)
    t = torch.tensor(theta, requires_grad=True)
    z = torch.einsum("snd,lsd->lsn", torch.from_numpy(ch.A_train), t)
    y = torch.from_numpy(ch.y_train).expand_as(z)
    per_example = {
        "BCE": lambda: F.binary_cross_entropy_with_logits(z, y, reduction="none"),
        "MSE on σ(z)": lambda: F.mse_loss(torch.sigmoid(z), y, reduction="none"),
        "MSE on z": lambda: F.mse_loss(z, y, reduction="none"),
    }[scoring]()
    per_example.mean(dim=-1).sum().backward()  # each run's mean loss; runs independent
    assert np.allclose(ours, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_the_norm_clipping_is_clip_grad_norm(ch):
    """torch.nn.utils.clip_grad_norm_ scales by max_norm / (norm + 1e-6): equal to 1e-5."""
    theta = np.random.default_rng(2).normal(size=(5, 2))
    ours = ch.norm_clipped_gradient(theta, c=1.0)
    for s, g in enumerate(ch.mse_gradient(theta)):
        p = torch.nn.Parameter(torch.tensor(theta[s]))
        p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
        assert np.linalg.norm(g) > 1.0 and np.allclose(ours[s], p.grad.numpy(), rtol=1e-5)


def test_per_example_clipping_is_twice_torchs_huber_gradient(ch):
    theta = np.random.default_rng(3).normal(size=(5, 2)) * 3
    for s in range(5):
        t = torch.tensor(theta[s], requires_grad=True)
        pred = t[0] * torch.from_numpy(ch.u_out[s]) + t[1]
        F.huber_loss(pred, torch.from_numpy(ch.y_out[s]), delta=ch.delta).backward()
        ours = ch.per_example_clipped_gradient(theta)[s]
        assert np.allclose(ours, 2 * t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_adams_epsilon_identity_holds_in_torch(ch):
    """torch.optim.Adam on 100 J with eps = 1e-8 takes the steps of Adam on J with 1e-10."""
    lr = ch.race["line fit (MSE)", "Adam"][0]
    paths = []
    for scale, eps in ((100.0, 1e-8), (1.0, 1e-10)):
        make = lambda p, lr, eps=eps: torch.optim.Adam([p], lr=lr, eps=eps)
        scaled = lambda th, scale=scale: scale * ch.line_grad(th)
        paths.append(_torch_path(make, scaled, ch.line_start, 200, lr))
    assert np.allclose(paths[0], paths[1], rtol=1e-12, atol=1e-12)
    assert np.allclose(paths[0], ch.on_100J, rtol=1e-9, atol=1e-12)


def test_the_minibatch_gradient_is_autograds(ch):
    theta = np.random.default_rng(4).normal(size=(3, ch.SEEDS_MB, ch.D_MB))
    ours = ch.mean_gradient(lu.grad_mse, ch.X_mb, ch.y_mb, theta)
    t = torch.tensor(theta, requires_grad=True)
    z = torch.einsum("snd,lsd->lsn", torch.from_numpy(ch.X_mb), t)
    y = torch.from_numpy(ch.y_mb).expand_as(z)
    F.mse_loss(z, y, reduction="none").mean(dim=-1).sum().backward()
    assert np.allclose(ours, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def _race(ch, make):
    """Mean steps to converge, at the best rate of the grid, on each landscape (as the race)."""
    means = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for land, (_, grad_fn, minimum, start) in ch.LANDSCAPES.items():
            starts = np.broadcast_to(ch.five_starts(minimum, start), (len(ch.LRS), 5, 2))
            steps = ch.steps_to_converge(
                ch.run(make(ch.LRS[:, None, None]), grad_fn, starts, ch.STEPS), minimum
            )
            means[land] = steps[steps.max(axis=1).argmin()].mean()
    return means


def test_the_constants_exercise(ch):
    """Momentum 0.5 beats 0.9 everywhere (under its fewest steps, and by 3x on the line fit and
    the quadratic); RMSProp with alpha = 0.999 beats 0.99 everywhere, in a handful of steps on
    the quadratic."""
    old = {key: steps.mean() for key, (_, steps) in ch.race.items()}
    fewest_09 = min(steps.min() for (_, name), (_, steps) in ch.race.items() if name == "momentum")
    momentum = _race(ch, lambda lr: lu.optim.sgd(lr, momentum=0.5))
    for land, steps in momentum.items():
        assert steps < fewest_09 and steps < old[land, "momentum"], land
    for land in ("line fit (MSE)", "quadratic"):
        assert momentum[land] < old[land, "momentum"] / 3, land
    rmsprop = _race(ch, lambda lr: lu.optim.rmsprop(lr, alpha=0.999))
    for land, steps in rmsprop.items():
        assert steps < 0.8 * old[land, "RMSProp"], land
    assert rmsprop["quadratic"] < 10


def test_rmsprop_with_a_longer_memory_settles(ch):
    """The mechanism the chapter gives: with alpha = 0.999 RMSProp's last steps shrink, as
    Adam's do, where alpha = 0.99 keeps bouncing (eta = 0.1 on the line fit)."""
    path = ch.run(lu.optim.rmsprop(0.1, alpha=0.999), ch.line_grad, ch.line_start, ch.STEPS)
    assert np.abs(np.diff(path[-101:], axis=0)).mean() < 1e-10
    assert 0.5 < ch.last_steps["RMSProp"] / 0.1 < 1.5
