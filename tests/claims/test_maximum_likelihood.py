"""'Where losses come from: maximum likelihood': the claims that re-run its fits in PyTorch and SymPy."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import derivations


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("maximum-likelihood")


def test_lossutils_huber_loss_is_pytorchs_on_the_normaliser_grid():
    r = np.linspace(-60, 60, 241)
    assert np.allclose(
        lu.huber(r, 0 * r, reduction="none"),
        F.huber_loss(torch.from_numpy(r), torch.zeros(241), reduction="none").numpy(),
    )


def test_the_fitted_nlls_are_pytorchs_log_densities(ch):
    assert np.isclose(
        ch.nll_g,
        -torch.distributions.Normal(ch.mu_g, ch.sigma_g).log_prob(ch.data).mean().item(),
        rtol=1e-12,
    )
    assert np.isclose(
        ch.nll_l,
        -torch.distributions.Laplace(ch.mu_l, ch.b_l).log_prob(ch.data).mean().item(),
        rtol=1e-12,
    )


def test_the_sympy_closed_form_of_the_gaussian_mle_is_the_sample_mean(ch):
    Yb = sp.IndexedBase("y", real=True)
    values = {Yb[k + 1]: float(v) for k, v in enumerate(ch.sample[:9])}
    mu_hat_9 = float(
        derivations.gaussian_mle()["mu_hat"].subs(derivations.n_examples, 9).doit().xreplace(values)
    )
    assert np.isclose(mu_hat_9, ch.sample[:9].mean(), rtol=1e-12)


def test_the_fits_minimise_lossutils_mse_and_mae_up_to_scale_and_constant(ch):
    n, sample = ch.n_obs, ch.sample
    assert np.isclose(
        lu.mse(np.full(n, ch.mu_g), sample),
        F.mse_loss(torch.full((n,), ch.mu_g), ch.data).item(),
        rtol=1e-12,
    )
    gaussian = lu.mse(np.full(n, ch.mu_g), sample) / (2 * ch.sigma_g**2) + np.log(
        ch.sigma_g * np.sqrt(2 * np.pi)
    )
    assert np.isclose(ch.nll_g, gaussian, rtol=1e-9)
    assert np.isclose(
        ch.nll_l, lu.mae(np.full(n, ch.mu_l), sample) / ch.b_l + np.log(2 * ch.b_l), rtol=1e-9
    )
