"""'Margins, rankings and embeddings': the claims that re-run its experiments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("margins-and-embeddings")


def objective(ch, loss, W, lam=1e-3):
    scores = ch.X @ W
    per = loss(scores.reshape(-1, ch.C), ch.Y.reshape(-1), reduction="none").reshape(ch.Y.shape)
    return per.mean(axis=1) + lam * (W[:, :2] ** 2).sum(axis=(1, 2))


def test_the_svm_measurements_no_longer_change(ch):
    """A further 1000 steps (continuing the decaying step size) change the SVM objective by
    less than 0.5 % and what the chapter reports, the test accuracy and the share of training
    points with zero loss, by at most 0.2 and 2 percentage points."""
    W = ch.W_svm.copy()
    penalised = np.array([1.0, 1.0, 0.0])[:, None]
    for t in range(2000, 3000):
        scores = ch.X @ W
        g = lu.grad_multi_margin_loss(scores.reshape(-1, ch.C), ch.Y.reshape(-1), reduction="sum")
        g = g.reshape(scores.shape) / ch.X.shape[1]
        step = 0.5 / np.sqrt(1 + t / 100)
        W -= step * (np.einsum("snk,snc->skc", ch.X, g) + 2e-3 * penalised * W)
    before = objective(ch, lu.multi_margin_loss, ch.W_svm)
    after = objective(ch, lu.multi_margin_loss, W)
    assert np.all(np.abs(after - before) < 5e-3 * before), after / before - 1

    def accuracy(W):
        return ((ch.X_test @ W).argmax(-1) == ch.y_test).mean(axis=1)

    def zero_share(W):
        scores = (ch.X @ W).reshape(-1, ch.C)
        per = lu.multi_margin_loss(scores, ch.Y.reshape(-1), reduction="none")
        return (per.reshape(ch.Y.shape) == 0).mean(axis=1)

    assert np.all(np.abs(accuracy(W) - accuracy(ch.W_svm)) <= 0.002)
    assert np.all(np.abs(zero_share(W) - zero_share(ch.W_svm)) <= 0.02)


def test_the_batched_fit_matches_pytorch(ch):
    """lossutils' multi-margin and cross-entropy gradients drive the same descent as autograd:
    one step from the fitted weights agrees with PyTorch's."""
    for W, loss in ((ch.W_svm, F.multi_margin_loss), (ch.W_ce, F.cross_entropy)):
        Wt = torch.from_numpy(W.copy()).requires_grad_()
        scores = torch.from_numpy(ch.X) @ Wt
        loss(
            scores.reshape(-1, ch.C), torch.from_numpy(ch.Y.reshape(-1)), reduction="sum"
        ).backward()
        grad_fn = (
            lu.grad_multi_margin_loss if loss is F.multi_margin_loss else lu.grad_cross_entropy
        )
        g = grad_fn((ch.X @ W).reshape(-1, ch.C), ch.Y.reshape(-1), reduction="sum")
        ours = np.einsum("snk,snc->skc", ch.X, g.reshape(ch.Y.shape + (ch.C,)))
        assert np.allclose(ours, Wt.grad.numpy(), atol=1e-10)


def test_separable_exercise_cross_entropy_grows_the_svm_stops(ch):
    """Exercise 'separable': without a penalty, on separable clouds, the cross-entropy weights
    keep growing from 2000 to 8000 steps in every seed; the SVM meets every margin, where its
    gradient is exactly 0, so its weights stop."""
    clouds = [ch.three_clouds(np.random.default_rng(s), 150, spread=0.25) for s in ch.seeds]
    X = np.stack([c[0] for c in clouds])
    Y = np.stack([c[1] for c in clouds])
    lengths = {}
    for name, grad in (("ce", lu.grad_cross_entropy), ("svm", lu.grad_multi_margin_loss)):
        W = np.zeros((len(X), 3, ch.C))
        for t in range(8000):
            g = grad((X @ W).reshape(-1, ch.C), Y.reshape(-1), reduction="sum")
            g = g.reshape(Y.shape + (ch.C,)) / X.shape[1]
            W -= 0.5 * np.einsum("snk,snc->skc", X, g)
            if t + 1 in (2000, 8000):
                lengths[name, t + 1] = np.linalg.norm(W[:, :2], axis=(1, 2))
        if name == "svm":
            scores = (X @ W).reshape(-1, ch.C)
            per = lu.multi_margin_loss(scores, Y.reshape(-1), reduction="none")
            satisfied = (per.reshape(Y.shape) == 0).all(axis=1)
            g = lu.grad_multi_margin_loss(scores, Y.reshape(-1), reduction="none")
            g = np.abs(g.reshape(Y.shape + (ch.C,))).max(axis=(1, 2))
    assert np.all(lengths["ce", 8000] > lengths["ce", 2000] + 0.5)
    # Every margin met: the gradient is exactly 0, so the SVM's weights never move again.
    assert np.all(satisfied) and np.all(g == 0)


def test_embedding_losses_agree_with_pytorch_on_the_learned_embeddings(ch):
    """lossutils' triplet and InfoNCE on seed 0's learned test embeddings equal PyTorch's."""
    e = ch.E_test[0]  # the triplet run of seed 0
    labels = ch.labels_test
    anchor = e[labels == 0][:50]
    positive = e[labels == 0][50:]
    negative = e[labels == 1][:50]
    args = [torch.from_numpy(a.copy()) for a in (anchor, positive, negative)]
    assert np.isclose(
        lu.triplet_margin_loss(anchor, positive, negative), F.triplet_margin_loss(*args).item()
    )
    r = ch.emb_runs.index(("InfoNCE 0.2", 0))
    q = ch.E_test[r][labels == 2][:40]
    k = ch.E_test[r][labels == 3][:40]
    logits = F.normalize(torch.from_numpy(q)) @ F.normalize(torch.from_numpy(k)).T / 0.2
    want = F.cross_entropy(logits, torch.arange(40)).item()
    assert np.isclose(lu.info_nce(q, k, temperature=0.2), want, rtol=1e-12)
