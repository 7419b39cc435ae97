"""'Losses in PyTorch': the claims that re-run its computations, and the GPU statements, which
run only where CUDA is available."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("pytorch-losses")


def test_a_weighted_mean_divides_by_the_kept_weight_and_bce_weights_elements():
    g = torch.Generator().manual_seed(0)
    z, y = torch.randn(12, 4, generator=g), torch.randint(0, 4, (12,), generator=g)
    y[[1, 5]] = -100
    w = torch.tensor([0.5, 2.0, 1.0, 3.0])
    per = F.cross_entropy(z, y, weight=w, reduction="none")  # w_y * loss, 0 where ignored
    kept = y != -100
    assert torch.allclose(F.cross_entropy(z, y, weight=w), per.sum() / w[y[kept]].sum())
    p, t = torch.sigmoid(z), (torch.rand(12, 4, generator=g) > 0.5).to(z.dtype)
    ew = torch.rand(12, 4, generator=g, dtype=z.dtype)
    assert torch.allclose(
        F.binary_cross_entropy(p, t, weight=ew),
        (ew * F.binary_cross_entropy(p, t, reduction="none")).mean(),
    )


def test_the_table_reduction_shapes_match_lossutils(ch):
    """Where lossutils has the loss, reduction='none' gives the shape the table reports."""
    x, t = ch.x.double().numpy(), ch.targets
    pairs = {
        "MSELoss": lu.mse(x, t["probabilities (N, C)"].double().numpy(), reduction="none"),
        "BCEWithLogitsLoss": lu.binary_cross_entropy_with_logits(
            x, t["0/1 floats (N, C)"].double().numpy(), reduction="none"
        ),
        "CrossEntropyLoss": lu.cross_entropy(
            x, t["class indices (int64)"].numpy(), reduction="none"
        ),
        "MultiLabelSoftMarginLoss": lu.multilabel_soft_margin_loss(
            x, t["0/1 floats (N, C)"].double().numpy(), reduction="none"
        ),
    }
    table = {r[0].strip("`"): r[1] for r in ch.rows}
    for name, ours in pairs.items():
        assert ch.shape_name(ours.shape) == table[name], name


@pytest.mark.parametrize("r", [-800.0, -89.5, -20.0, -1e-3, 0.0, 0.7, 30.0, 89.5, 1e4])
def test_log_cosh_function_is_accurate_everywhere_in_float64(ch, r):
    """The stable form equals log(cosh r) to a few float64 ulps of max(1, |r|) (near 0 it
    subtracts log 2, so its error there is absolute, not relative); its gradient is tanh r."""
    x = torch.tensor([r], dtype=torch.float64, requires_grad=True)
    value = ch.LogCosh.apply(x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    exact = math.log(math.cosh(r)) if abs(r) < 700 else abs(r) - math.log(2)
    assert abs(value.item() - exact) <= 4 * np.finfo(np.float64).eps * max(1.0, abs(r))
    assert math.isclose(grad.item(), math.tanh(r), rel_tol=1e-15, abs_tol=1e-300)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_the_any_shape_focal_loss_matches_lossutils_for_every_gamma(ch, gamma):
    g = torch.Generator().manual_seed(int(10 * gamma))
    logits = 4 * torch.randn(3, 6, 4, 5, dtype=torch.float64, generator=g)
    target = torch.randint(0, 6, (3, 4, 5), generator=g)
    target[1, 2] = -100
    ours = lu.softmax_focal_loss(logits.numpy(), target.numpy(), gamma=gamma)
    assert math.isclose(ch.focal_loss(logits, target, gamma=gamma).item(), ours, rel_tol=1e-12)


def test_cpu_autocast_in_float16_keeps_the_losses_in_float32_too(ch):
    h = ch.h.half()
    with torch.autocast("cpu", dtype=torch.float16):
        assert F.cross_entropy(h, ch.c).dtype == torch.float32
        assert F.mse_loss(h, ch.t.half()).dtype == torch.float32
        assert F.linear(h.float(), torch.randn(10, 10, dtype=torch.float32)).dtype == torch.float16


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_on_cuda_autocast_runs_the_losses_in_float32_and_the_matmul_in_float16():
    h = torch.randn(16, 10, device="cuda")
    t, c = torch.rand(16, 10, device="cuda"), torch.randint(0, 10, (16,), device="cuda")
    with torch.autocast("cuda", dtype=torch.float16):
        out = F.linear(h, torch.randn(10, 10, device="cuda"))
        assert out.dtype == torch.float16
        for loss in (
            F.cross_entropy(out, c),
            F.mse_loss(out, t),
            F.l1_loss(out, t),
            F.binary_cross_entropy_with_logits(out, t),
            F.log_softmax(out, 1),
        ):
            assert loss.dtype == torch.float32


@cuda
def test_on_cuda_autocast_refuses_bce_on_probabilities():
    p = torch.rand(8, device="cuda")
    with (
        torch.autocast("cuda", dtype=torch.float16),
        pytest.raises(RuntimeError, match="unsafe to autocast"),
    ):
        F.binary_cross_entropy(p, torch.ones(8, device="cuda"))
