"""'Pairing losses with activations': the claims that re-run its computations in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.optim.adam import adam as torch_adam  # the update torch.optim.Adam.step calls

import lossutils as lu
from lossutils import derivations
from lossutils.derivations import to_numpy


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("losses-and-activations")


def _torch_adam_run(loss_fn, start, steps, lr=0.1):
    """Adam steps on a parameter vector with PyTorch autograd and PyTorch's own Adam update."""
    p = torch.tensor(start, requires_grad=True)
    m, v, t = torch.zeros_like(p), torch.zeros_like(p), torch.tensor(0.0)
    for _ in range(steps):
        (g,) = torch.autograd.grad(loss_fn(p), p)
        with torch.no_grad():
            torch_adam(
                [p],
                [g],
                [m],
                [v],
                [],
                [t],
                amsgrad=False,
                beta1=0.9,
                beta2=0.999,
                lr=lr,
                weight_decay=0.0,
                eps=1e-8,
                maximize=False,
                foreach=False,
            )
    return p.detach().numpy()


def test_the_symbolic_sigmoid_gradients_are_lossutils_and_pytorchs(ch):
    z = ch.z_grid
    for target in (0.0, 1.0):
        t = np.full_like(z, target)
        zt = torch.tensor(z, requires_grad=True)
        F.binary_cross_entropy_with_logits(zt, torch.from_numpy(t), reduction="sum").backward()
        assert np.allclose(ch.grad_bce(z, t), zt.grad.numpy(), rtol=1e-10, atol=1e-15)
        assert np.allclose(
            ch.grad_bce(z, t),
            lu.grad_binary_cross_entropy_with_logits(z, t, reduction="sum"),
            rtol=1e-12,
        )
        zt = torch.tensor(z, requires_grad=True)
        F.mse_loss(torch.sigmoid(zt), torch.from_numpy(t), reduction="sum").backward()
        assert np.allclose(ch.grad_mse(z, t), zt.grad.numpy(), rtol=1e-10, atol=1e-15)
        s = lu.sigmoid(z)
        assert np.allclose(
            ch.grad_mse(z, t), lu.grad_mse(s, t, reduction="sum") * s * (1 - s), rtol=1e-12
        )


@pytest.mark.parametrize("lr_index, seed", [(0, 0), (2, 3)])
def test_pytorch_autograd_retraces_the_batched_bad_start_descents(ch, lr_index, seed):
    """One (learning rate, seed) run of the batched descent, retraced alone in PyTorch: the same
    accuracies for 50 steps, and the same weights as an unbatched NumPy loop after 50 steps."""
    X, lr = ch.Xs[seed], float(ch.lrs[lr_index])
    Xt, yt = torch.from_numpy(X), torch.from_numpy(ch.labels)
    for name in ("BCE", "MSE"):
        wb = torch.tensor([*ch.w_bad, ch.b_bad], requires_grad=True)
        accuracy = []
        for _ in range(50):
            z = Xt @ wb[:2] + wb[2]
            accuracy.append(((z > 0) == (yt == 1)).double().mean().item())
            loss = (
                F.binary_cross_entropy_with_logits(z, yt)
                if name == "BCE"
                else F.mse_loss(torch.sigmoid(z), yt)
            )
            (grad,) = torch.autograd.grad(loss, wb)
            wb = (wb - lr * grad).detach().requires_grad_(True)
        assert np.allclose(accuracy, ch.runs[name][0][:50, lr_index, seed])
        w, b = ch.w_bad.copy(), ch.b_bad
        for _ in range(50):
            g = ch.grad_logits(name, X @ w + b, ch.labels)
            w, b = w - lr * X.T @ g, b - lr * g.sum()
        assert np.allclose(wb.detach().numpy(), [*w, b], rtol=1e-9)


def test_the_symbolic_softmax_gradients_are_lossutils_and_pytorchs(ch):
    logits = np.random.default_rng(2).normal(scale=3, size=(20, 3))
    labels = np.random.default_rng(3).integers(0, 3, size=20)
    onehot = np.eye(3)[labels]
    g_ce = np.stack([np.asarray(e[0]) for e in ch.ce_grad(*logits.T, *onehot.T)], axis=1)
    assert np.allclose(
        g_ce, lu.grad_cross_entropy(logits, labels, reduction="sum"), rtol=1e-10, atol=1e-14
    )
    zt = torch.tensor(logits, requires_grad=True)
    F.cross_entropy(zt, torch.from_numpy(labels), reduction="sum").backward()
    assert np.allclose(g_ce, zt.grad.numpy(), rtol=1e-10, atol=1e-14)
    probs = lu.softmax(logits, axis=1)
    g_mse = np.stack([np.asarray(e[0]) for e in ch.mse_grad_p(*probs.T, *onehot.T)], axis=1)
    zt = torch.tensor(logits, requires_grad=True)
    F.mse_loss(torch.softmax(zt, dim=1), torch.from_numpy(onehot), reduction="sum").backward()
    assert np.allclose(g_mse, zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_the_softmax_trainings_gradients_are_pytorchs_on_the_bad_start(ch):
    """The squared error summed over the classes and averaged over the examples (the chapter's
    convention), and F.mse_loss's default, C times smaller; cross-entropy's mean."""
    X3, onehot = ch.X3s[0], ch.onehot[0].copy()  # a view of a read-only array: torch warns
    logits0 = X3 @ ch.W_bad
    p0 = lu.softmax(logits0, axis=1)
    ours = ch.softmax_backward(p0, lu.grad_mse(p0, onehot, reduction="sum") / ch.n3)
    zt = torch.tensor(logits0, requires_grad=True)
    (
        F.mse_loss(torch.softmax(zt, dim=1), torch.from_numpy(onehot), reduction="sum") / ch.n3
    ).backward()
    assert np.allclose(ours, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    zt = torch.tensor(logits0, requires_grad=True)
    F.mse_loss(torch.softmax(zt, dim=1), torch.from_numpy(onehot)).backward()
    assert np.allclose(ours / ch.C, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    zt = torch.tensor(logits0, requires_grad=True)
    F.cross_entropy(zt, torch.from_numpy(ch.classes)).backward()
    assert np.allclose(
        lu.grad_cross_entropy(logits0, ch.classes), zt.grad.numpy(), rtol=1e-10, atol=1e-15
    )


def test_the_focal_weight_times_p_minus_y_is_lossutils_and_pytorchs_gradient(ch):
    """With alpha off, for gamma 0, 1 and 2 and both labels."""
    z = np.linspace(-8, 8, 161)
    for gamma in (0.0, 1.0, 2.0):
        weight = to_numpy(ch.focal["weight"].subs(derivations.gamma, gamma), derivations.prob)
        for target in (0.0, 1.0):
            t = np.full_like(z, target)
            p = lu.sigmoid(z)
            expected = weight(p if target else 1 - p) * (p - t)
            assert np.allclose(
                lu.grad_sigmoid_focal_loss(z, t, alpha=-1, gamma=gamma),
                expected,
                rtol=1e-9,
                atol=1e-15,
            )
            zt = torch.tensor(z, requires_grad=True)
            sign = 1.0 if target else -1.0
            p_t = torch.sigmoid(sign * zt)
            (-((1 - p_t) ** gamma) * F.logsigmoid(sign * zt)).sum().backward()
            assert np.allclose(zt.grad.numpy(), expected, rtol=1e-9, atol=1e-15)


def test_the_chapters_adam_is_pytorchs(ch):
    """On the first data set; the chapter's Adam (lu.optim.adam) runs every seed at once."""
    Xt, yt = torch.from_numpy(ch.X), torch.from_numpy(ch.labels)
    losses = {
        "BCE": lambda wb: F.binary_cross_entropy_with_logits(Xt @ wb[:2] + wb[2], yt),
        "MSE": lambda wb: F.mse_loss(torch.sigmoid(Xt @ wb[:2] + wb[2]), yt),
    }
    for name, loss_fn in losses.items():
        theta30 = _torch_adam_run(loss_fn, [*ch.w_bad, ch.b_bad], 30)
        assert np.allclose(theta30, ch.adam(name, steps=30)[2][0], rtol=1e-9, atol=1e-12)


def test_pytorchs_adam_takes_the_epsilon_exercises_step(ch):
    """At z = -40 PyTorch's first Adam step (lr 1) is |g| / (|g| + eps), as the chapter says."""

    def mse_of_z(z):
        return F.mse_loss(torch.sigmoid(z), torch.ones(1))

    z = torch.tensor([-40.0], requires_grad=True)
    (g,) = torch.autograd.grad(mse_of_z(z), z)
    assert np.isclose(g.item(), ch.grad_mse(-40.0, 1.0), rtol=1e-12, atol=0)
    step = _torch_adam_run(mse_of_z, [-40.0], 1, lr=1.0)[0] - (
        -40.0
    )  # moves z up, towards the answer
    assert (
        np.isclose(step, abs(g.item()) / (abs(g.item()) + 1e-8), rtol=1e-4, atol=0)
        and 0 < step < 1e-8
    )


def test_pytorchs_mse_gradient_through_a_sigmoid_stays_below_8_27():
    zt = torch.tensor(np.linspace(-30, 30, 6001), requires_grad=True)
    F.mse_loss(torch.sigmoid(zt), torch.ones(6001), reduction="sum").backward()
    assert 8 / 27 - 1e-4 < zt.grad.abs().max().item() <= 8 / 27 + 1e-12


def test_the_far_point_solutions_zero_pytorchs_gradients(ch):
    A, labels = torch.from_numpy(ch.A_far), torch.from_numpy(ch.labels_far)
    wb = torch.tensor(ch.wb_ls, requires_grad=True)
    F.mse_loss(A @ wb, labels).backward()
    assert wb.grad.abs().max().item() < 1e-10
    wb = torch.tensor(ch.wb_lr, requires_grad=True)
    F.binary_cross_entropy_with_logits(A @ wb, labels).backward()
    assert wb.grad.abs().max().item() < 1e-4
