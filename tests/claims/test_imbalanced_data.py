"""'Imbalanced data': the claims that re-run an experiment, and choose_loss against the evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import metrics


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("imbalanced-data")


def test_lossutils_focal_gradient_is_autograd_through_torchvisions_formula(ch):
    """The gradient panel uses lu.grad_sigmoid_focal_loss; it equals autograd on the grid."""
    for gamma in ch.gammas:
        z = torch.from_numpy(ch.z_pos).requires_grad_(True)
        y = torch.ones_like(z)
        p = torch.sigmoid(z)
        loss = (1 - p) ** gamma * F.binary_cross_entropy_with_logits(z, y, reduction="none")
        loss.sum().backward()
        np.testing.assert_allclose(ch.focal_grad[gamma], np.abs(z.grad.numpy()), rtol=1e-10)


def test_every_fit_converged(ch):
    """Each comparison is made at the minimum of each loss: the gradient vanishes."""
    fits = {
        "weighted BCE": (ch.weighted_bce, ch.theta_weighted),
        "logit-adjusted BCE": (ch.adjusted_bce, ch.theta_adjusted),
        "focal 0.25": (ch.focal(0.25), ch.theta_focal[0.25]),
        "focal 0.75": (ch.focal(0.75), ch.theta_focal[0.75]),
    }
    for name, (loss, theta) in fits.items():
        g, _ = ch.gradient_and_hessian(loss, theta)
        assert g.abs().max() < 1e-8, name
    for name, theta in ch.weighted_fits.items():
        g, _ = ch.gradient_and_hessian(ch.bce_weighted_by(ch.ratios[name]), theta)
        assert g.abs().max() < 1e-8, name


def test_the_focal_minimum_is_a_minimum(ch):
    """The focal loss is not convex in z; at the fitted parameters the true Hessian (not the
    clamped one the fit uses) is positive definite, so the fit stopped at a local minimum."""
    for alpha in (0.25, 0.75):
        theta, loss = ch.theta_focal[alpha], ch.focal(alpha)
        for s in range(len(ch.SEEDS)):
            H = torch.autograd.functional.hessian(
                lambda th, s=s, loss=loss: ch.mean_loss(loss, th.expand(len(ch.SEEDS), 3))[s],
                theta[s],
            )
            assert torch.linalg.eigvalsh(H).min() > 0


def test_misspecified_exercise(ch):
    """ex-imb-misspecified: with positives at half the spread, the losses still rank alike (AP
    within 0.01 of plain BCE's in every seed) and still threshold differently (recall at p > 0.5
    ordered focal 0.25 < plain < weighted in every seed)."""

    def sample(rng, n):
        y = (rng.random(n) < ch.PRIOR).astype(float)
        x = rng.normal(size=(n, 2)) * np.where(y == 1, 0.5, 1.0)[:, None] + y[:, None] * ch.MU
        return x, y

    train = [sample(np.random.default_rng(seed), 20_200) for seed in ch.SEEDS]
    X = torch.tensor(np.stack([x for x, _ in train]))
    Y = torch.tensor(np.stack([y for _, y in train]))
    x_test, y_test = sample(np.random.default_rng(1000), 50_500)
    XB = torch.cat([X, torch.ones_like(X[..., :1])], dim=-1)
    # The chapter's fit reads XB and Y from its namespace: run it on the new data.
    saved = ch.fit.__globals__["XB"], ch.fit.__globals__["Y"]
    ch.fit.__globals__["XB"], ch.fit.__globals__["Y"] = XB, Y
    try:
        w1 = (Y.shape[1] - Y.sum(1, keepdim=True)) / Y.sum(1, keepdim=True)
        losses = {
            "plain": ch.bce,
            "weighted": lambda z, y: F.binary_cross_entropy_with_logits(
                z, y, pos_weight=w1, reduction="none"
            ),
            "focal": ch.focal(0.25),
        }
        thetas = {k: ch.fit(loss) for k, loss in losses.items()}
        for k, loss in losses.items():
            assert ch.gradient_and_hessian(loss, thetas[k])[0].abs().max() < 1e-8, k
    finally:
        ch.fit.__globals__["XB"], ch.fit.__globals__["Y"] = saved
    z = {k: th.numpy() @ np.c_[x_test, np.ones(len(x_test))].T for k, th in thetas.items()}
    ap = {k: np.array([metrics.average_precision(zs, y_test) for zs in v]) for k, v in z.items()}
    rec = {k: np.array([metrics.recall(zs > 0, y_test) for zs in v]) for k, v in z.items()}
    for k in ("weighted", "focal"):
        assert np.abs(ap[k] - ap["plain"]).max() < 0.01, k
    assert np.all(rec["focal"] < rec["plain"]) and np.all(rec["plain"] < rec["weighted"])


def test_choose_loss_agrees_with_the_chapters_evidence(ch):
    """choose_loss's advice at the chapter's ratio is the model that the comparison supports:
    its balanced accuracy within 0.005 of the best, its AP within 0.015 of the best in every
    seed, and a calibration error a log(w1) shift repairs; the focal losses, which it no
    longer recommends, lose on balanced accuracy and on calibration in every seed."""
    advice = lu.choose_loss("binary", imbalance=ch.RATIO)
    assert advice.loss == "weighted_binary_cross_entropy_with_logits"
    assert advice.kwargs == {"w0": 1.0, "w1": float(ch.RATIO)}
    assert "imbalanced-data" in advice.reason
    r = ch.results
    best_ba = max(v["balanced accuracy"].mean() for v in r.values())
    assert best_ba - r["weighted BCE"]["balanced accuracy"].mean() < 0.005
    best_ap = np.max([v["AP"] for v in r.values()], axis=0)
    assert np.all(best_ap - r["weighted BCE"]["AP"] < 0.015)
    for focal in ("focal, α = 0.25", "focal, α = 0.75"):
        assert np.all(r[focal]["balanced accuracy"] < r["weighted BCE"]["balanced accuracy"] - 0.1)
        assert np.all(r[focal]["ECE"] > r["weighted BCE"]["ECE"])
    # The multi-class advice (weights by inverse frequency) against the three-class evidence.
    multi = lu.choose_loss("multiclass", imbalance=100)
    assert multi.loss == "cross_entropy" and "weight=" in multi.reason
    assert "imbalanced-data" in multi.reason
    gap = ch.balanced_3["logit-adjusted loss"] - ch.balanced_3["weighted cross-entropy"]
    assert np.abs(gap).max() < 0.01
