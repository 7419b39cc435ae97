"""lossutils.derivations: every step proved exactly in SymPy, then checked in numbers.

Three layers, so that the symbols, lossutils and PyTorch cannot disagree:

1. exact: every continued line of every derivation equals the line above it
   (``simplify(a - b) == 0`` or an equivalent exact identity), and each link the
   module claims (``nll == scale * loss + constant``, a gradient is the derivative
   of its loss, a maximum-likelihood estimate zeroes the derivative) holds exactly;
2. the same steps at random points in high precision (catches a wrong ``given``);
3. the derived expressions, compiled with ``to_numpy``, against lossutils' losses and
   gradient functions and against PyTorch (``torch.nn.functional``, distributions,
   autograd) at seeded random points.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import derivations as dv
from lossutils.derivations import (
    delta,
    gamma,
    laplace_scale,
    logistic,
    logit,
    mu,
    n_examples,
    prob,
    residual,
    sigma,
    target,
    to_numpy,
)

torch.set_default_dtype(torch.float64)
RTOL = 1e-10

FACTORIES = [
    dv.gaussian_nll,
    dv.laplace_nll,
    dv.huber_nll,
    dv.bernoulli_nll,
    dv.categorical_nll,
    dv.multilabel_nll,
    dv.focal_normaliser,
    dv.focal_gradient,
    dv.gaussian_mle,
    dv.laplace_mle,
    dv.identity_mse_gradient,
    dv.identity_mae_gradient,
    dv.sigmoid_bce_gradient,
    dv.sigmoid_mse_gradient,
    dv.softmax_cross_entropy_gradient,
    dv.softmax_mse_gradient,
]
DERIVATIONS = {f.__name__: f() for f in FACTORIES}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def is_zero(expr) -> bool:
    """Exact zero test: cheap canonical forms first, ``simplify`` only as a last resort."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    # conds='none': the integrals here have positive parameters; skip SymPy's slow convergence checks.
    expr = sp.expand_log(sp.sympify(expr).rewrite(sp.exp), force=True).doit(
        conds="none", meijerg=False
    )
    for canon in (sp.expand, sp.cancel, sp.simplify):
        if canon(expr) == 0:
            return True
    return False


def _value(symbol, key, seed):
    """A random value for ``symbol`` that respects its assumptions (probabilities in (0, 1)).

    Seeded by the symbol's name (``key``), so both sides of an identity get the same values.
    """
    if symbol.is_integer:
        return sp.Integer(3)
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    if symbol.is_positive or symbol.is_nonnegative:
        return sp.Float(rng.uniform(0.15, 0.85), 30)
    return sp.Float(rng.uniform(-2.5, 2.5), 30)


def at_random_point(expr, seed):
    """Evaluate ``expr`` (Sums and Products with n = 3 unrolled) at random values, 25 digits."""
    expr = sp.sympify(expr)
    if expr.has(n_examples):
        expr = expr.subs(n_examples, 3).doit()
    values = {
        s: _value(s, str(s), seed) for s in expr.free_symbols if not isinstance(s, sp.Indexed)
    }
    values.update({s: _value(s.base.label, str(s), seed) for s in expr.atoms(sp.Indexed)})
    return expr.xreplace(values).doit(conds="none", meijerg=False).evalf(25)


def numerically_equal(a, b, rng, trials=3):
    for _ in range(trials):
        seed = int(rng.integers(2**31))
        va, vb = at_random_point(a, seed), at_random_point(b, seed)
        pairs = zip(va, vb) if isinstance(va, sp.MatrixBase) else [(va, vb)]
        for ea, eb in pairs:
            assert abs(complex(ea - eb)) < 1e-18 * (1 + abs(complex(eb))), (a, b, ea, eb)


def continued_pairs():
    for name, d in DERIVATIONS.items():
        for prev, step in zip(d.steps, d.steps[1:]):
            if step.lhs == "":
                yield pytest.param(prev, step, id=f"{name}:{step.key}")


def torch_grad(fn, x):
    """Autograd gradient of ``fn(x).sum()`` at the NumPy array ``x``."""
    xt = torch.tensor(x, requires_grad=True)
    fn(xt).sum().backward()
    return xt.grad.numpy()


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# --------------------------------------------------------------------------
# 1 + 2. Every continued line equals the one above: exactly, and in numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("prev, step", list(continued_pairs()))
def test_each_continued_step_is_an_exact_equality(prev, step, rng):
    given = step.given or {}
    a, b_ = sp.sympify(prev.rhs).subs(given), sp.sympify(step.rhs).subs(given)
    assert is_zero(a - b_), f"{step.key}: {a} != {b_}"
    numerically_equal(a, b_, rng)


@pytest.mark.parametrize(
    "name", [k for k, d in DERIVATIONS.items() if isinstance(d, dv.LikelihoodDerivation)]
)
def test_nll_is_a_positive_multiple_of_the_loss_plus_a_constant(name, rng):
    d = DERIVATIONS[name]
    assert is_zero(d.nll - (d.scale * d.loss + d.constant))
    numerically_equal(d.nll, d.scale * d.loss + d.constant, rng)
    predictions = {mu, prob} | {s for s in d.nll.free_symbols if s.name.startswith("p_")}
    assert not (d.scale.free_symbols | d.constant.free_symbols) & predictions, (
        "scale or constant depends on the prediction"
    )
    assert d.scale.is_positive


@pytest.mark.parametrize(
    "name", ["gaussian_nll", "laplace_nll", "bernoulli_nll", "categorical_nll", "multilabel_nll"]
)
def test_nll_is_minus_the_log_of_the_first_step(name, rng):
    d = DERIVATIONS[name]
    first = d.steps[0].rhs
    assert is_zero(d.nll + sp.log(first))
    numerically_equal(d.nll, -sp.log(first), rng)


def test_every_derivation_renders_as_aligned_latex():
    for name, d in DERIVATIONS.items():
        tex = d._repr_latex_()
        assert tex.startswith("$$\n\\begin{aligned}") and tex.endswith("\\end{aligned}\n$$"), name
        assert tex.count(" &= ") == len(d.steps), name
        assert len(set(d.keys())) == len(d.steps), f"{name}: duplicate step keys"
    d = DERIVATIONS["gaussian_nll"]
    assert d.latex(keys=["nll"]).count("&=") == 1
    with pytest.raises(KeyError, match="has the steps"):
        d["no such step"]
    part = DERIVATIONS["sigmoid_bce_gradient"].only("loss", "gradient")
    assert (
        part.keys() == ("loss", "gradient")
        and part.result == DERIVATIONS["sigmoid_bce_gradient"].result
    )
    # A continued line shown without the line above it gets back the left-hand side it continues.
    full = DERIVATIONS["softmax_cross_entropy_gradient"]
    part = full.only("loss", "lse", "gradient")
    assert [st.lhs for st in part.steps] == [r"\ell(z)", "", r"\nabla_z \ell"]
    assert full.only("raw", "gradient").steps[1].lhs == ""
    with pytest.raises(KeyError, match="has the steps"):
        d.only("nll", "no such step")


def _unbroken(tex: str) -> str:
    """LaTeX without the line breaks and alignment that Derivation.markdown adds."""
    return re.sub(r"\\(begin|end)\{aligned\}|\\\\|&|\\quad|\{\}|\s", "", tex)


def test_every_derivation_shows_each_reason_under_its_equation():
    """The notebook and the website show the Markdown: one display per step, its reason in
    words right under it (not in a right-hand column that a phone's width cuts off)."""
    for name, d in DERIVATIONS.items():
        assert d._repr_markdown_() == d.markdown()
        blocks = d.markdown().split("\n\n")
        shown = iter(blocks)
        for step in d.steps:
            equation = next(shown)
            assert equation.startswith("$$\n") and equation.endswith("\n$$"), (name, step.key)
            # A long sum is broken over aligned lines; the same terms, in the same order.
            assert _unbroken(sp.latex(step.rhs, order="none")) in _unbroken(equation), (
                name,
                step.key,
            )
            assert " && " not in equation, (name, step.key)  # no column of reasons
            if step.note:
                reason = next(shown)
                assert reason.startswith("*") and reason.endswith(".*"), (name, step.key)
                assert step.note[1:].rstrip(".") in reason, (name, step.key)
        assert next(shown, None) is None, name
    part = DERIVATIONS["gaussian_nll"].markdown(keys=["nll"])
    assert part.count("$$") == 2


def test_long_sums_are_broken_over_lines_that_fit_the_column():
    """The multi-label NLL (six terms) no longer runs off a laptop's text column (1062 px of
    768 before): it is broken after a sign, each line short; short equations stay on one line."""
    nll = DERIVATIONS["multilabel_nll"].markdown(keys=["nll"])
    lines = nll.split("\\\\")
    assert "\\begin{aligned}" in nll and len(lines) >= 2
    assert all(line.lstrip("\n&\\quad ").startswith(("-", "+", "\\begin")) for line in lines[1:])
    assert "aligned" not in DERIVATIONS["identity_mse_gradient"].markdown()


# --------------------------------------------------------------------------
# The building blocks
# --------------------------------------------------------------------------


def test_sigmoid_function_matches_its_definition():
    explicit = 1 / (1 + sp.exp(-logit))
    assert is_zero(sp.diff(logistic(logit), logit).rewrite(sp.exp) - sp.diff(explicit, logit))
    assert logistic(0) == sp.S.Half
    assert abs(float(logistic(sp.Float(0.7)).evalf()) - 1 / (1 + np.exp(-0.7))) < 1e-15
    f = to_numpy(logistic(logit), logit)
    xs = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    # NumPy's exp and PyTorch's sigmoid kernels are each within a few ulps on any CPU: 8 in all.
    np.testing.assert_allclose(
        f(xs), torch.sigmoid(torch.tensor(xs)).numpy(), rtol=8 * np.finfo(float).eps
    )


def test_num_classes_is_validated():
    with pytest.raises(ValueError, match="num_classes"):
        dv.categorical_nll(1)
    with pytest.raises(ValueError, match="num_classes"):
        dv.softmax_mse_gradient(2.5)


# --------------------------------------------------------------------------
# 3. Losses from likelihoods, against lossutils and PyTorch
# --------------------------------------------------------------------------


def test_gaussian_nll_matches_torch_and_mse(rng):
    d = DERIVATIONS["gaussian_nll"]
    yv, mv, sv = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.2, 3.0, size=50)
    nll = to_numpy(d.nll, target, mu, sigma)(yv, mv, sv)
    dist = torch.distributions.Normal(torch.tensor(mv), torch.tensor(sv))
    np.testing.assert_allclose(nll, -dist.log_prob(torch.tensor(yv)).numpy(), rtol=RTOL)
    # PyTorch's Gaussian NLL (full=True keeps the constant): the heteroscedastic loss.
    torch_nll = F.gaussian_nll_loss(
        torch.tensor(mv), torch.tensor(yv), torch.tensor(sv**2), full=True, reduction="none"
    )
    np.testing.assert_allclose(nll, torch_nll.numpy(), rtol=RTOL)
    np.testing.assert_allclose(
        to_numpy(d.loss, target, mu)(yv, mv), lu.mse(mv, yv, reduction="none"), rtol=RTOL
    )
    # Heteroscedastic weighting: the sum of NLLs is MSE weighted by 1 / (2 sigma^2), plus constants.
    weighted = lu.mse(mv, yv, weight=1 / (2 * sv**2), reduction="sum")
    np.testing.assert_allclose(
        nll.sum(), weighted + np.sum(np.log(sv * np.sqrt(2 * np.pi))), rtol=RTOL
    )


def test_laplace_nll_matches_torch_and_mae(rng):
    d = DERIVATIONS["laplace_nll"]
    yv, mv, bv = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.2, 3.0, size=50)
    dist = torch.distributions.Laplace(torch.tensor(mv), torch.tensor(bv))
    np.testing.assert_allclose(
        to_numpy(d.nll, target, mu, laplace_scale)(yv, mv, bv),
        -dist.log_prob(torch.tensor(yv)).numpy(),
        rtol=RTOL,
    )
    np.testing.assert_allclose(
        to_numpy(d.loss, target, mu)(yv, mv), lu.mae(mv, yv, reduction="none"), rtol=RTOL
    )
    np.testing.assert_allclose(
        lu.mae(mv, yv), F.l1_loss(torch.tensor(mv), torch.tensor(yv)).item(), rtol=RTOL
    )


def test_huber_density_is_proper_and_its_nll_is_huber(rng):
    d = DERIVATIONS["huber_nll"]
    Z = d["normaliser"]
    # The normaliser is the area under exp(-huber): compare with a fine numerical integral.
    for dv_ in (0.3, 1.0, 2.5):
        grid = np.linspace(-150, 150, 600_001)  # the tails of delta = 0.3 are long
        area = np.trapezoid(
            np.exp(-lu.huber(grid, np.zeros_like(grid), delta=dv_, reduction="none")), grid
        )
        assert abs(area - float(Z.subs(delta, dv_))) < 1e-8
    # Limits: a Gaussian as delta -> oo, a Laplace of scale 1/delta as delta -> 0.
    assert sp.limit(Z, delta, sp.oo) == sp.sqrt(2 * sp.pi)
    assert sp.limit(Z * delta, delta, 0) == 2
    # The loss is PyTorch's Huber loss, with its delta.
    rv = rng.normal(scale=3, size=200)
    for dv_ in (0.5, 1.0, 2.0):
        f = to_numpy(d.loss.subs(delta, dv_), residual)
        np.testing.assert_allclose(
            f(rv), lu.huber(rv, np.zeros_like(rv), delta=dv_, reduction="none"), rtol=RTOL
        )
        np.testing.assert_allclose(
            f(rv),
            F.huber_loss(torch.tensor(rv), torch.zeros(200), delta=dv_, reduction="none").numpy(),
            rtol=RTOL,
        )
    # exp(-h) really is Gaussian inside and Laplace outside.
    assert is_zero(d["unnormalised"].subs(residual, delta / 2) - sp.exp(-((delta / 2) ** 2) / 2))
    assert is_zero(
        sp.log(d["unnormalised"].subs(residual, 3 * delta)) + d.loss.subs(residual, 3 * delta)
    )


def test_bernoulli_nll_matches_bce(rng):
    d = DERIVATIONS["bernoulli_nll"]
    pv, yv = rng.uniform(0.01, 0.99, size=40), rng.integers(0, 2, size=40).astype(float)
    nll = to_numpy(d.nll, prob, target)(pv, yv)
    np.testing.assert_allclose(nll, lu.binary_cross_entropy(pv, yv, reduction="none"), rtol=RTOL)
    np.testing.assert_allclose(
        nll,
        F.binary_cross_entropy(torch.tensor(pv), torch.tensor(yv), reduction="none").numpy(),
        rtol=RTOL,
    )
    # The cost line, unrolled for n = 4 examples, is the mean BCE.
    cost = d["cost"].subs(n_examples, 4).doit()
    P, Y = sp.IndexedBase("p", positive=True), sp.IndexedBase("y", real=True)
    values = {P[k + 1]: pv[k] for k in range(4)} | {Y[k + 1]: yv[k] for k in range(4)}
    assert abs(float(cost.xreplace(values)) - lu.binary_cross_entropy(pv[:4], yv[:4])) < 1e-12
    # The log-likelihood is the log of the product likelihood.
    lik = d["likelihood"].subs(n_examples, 4).doit().xreplace(values)
    assert abs(float(sp.log(lik)) + 4 * lu.binary_cross_entropy(pv[:4], yv[:4])) < 1e-12


@pytest.mark.parametrize("C", [2, 3, 5])
def test_categorical_nll_is_cross_entropy(C, rng):
    d = dv.categorical_nll(C)
    logits = rng.normal(scale=2, size=(30, C))
    labels = rng.integers(0, C, size=30)
    probs = lu.softmax(logits, axis=1)
    onehot = np.eye(C)[labels]
    args = {s.name: s for s in d.nll.free_symbols}
    f = to_numpy(
        d.nll, *[args[f"p_{c + 1}"] for c in range(C)], *[args[f"y_{c + 1}"] for c in range(C)]
    )
    got = f(*probs.T, *onehot.T)
    np.testing.assert_allclose(got, lu.cross_entropy(logits, labels, reduction="none"), rtol=RTOL)
    np.testing.assert_allclose(
        got,
        F.cross_entropy(torch.tensor(logits), torch.tensor(labels), reduction="none").numpy(),
        rtol=RTOL,
    )
    # The same formula with soft (probability) targets is PyTorch's soft-label cross-entropy.
    soft = lu.softmax(rng.normal(size=(30, C)), axis=1)
    np.testing.assert_allclose(
        f(*probs.T, *soft.T),
        F.cross_entropy(torch.tensor(logits), torch.tensor(soft), reduction="none").numpy(),
        rtol=RTOL,
    )
    # Class 1 from logits: log-sum-exp minus the first logit.
    zsyms = [
        next(s for s in d["class_1_logits"].free_symbols if s.name == f"z_{c + 1}")
        for c in range(C)
    ]
    g = to_numpy(d["class_1_logits"], *zsyms)
    np.testing.assert_allclose(
        g(*logits.T), lu.cross_entropy(logits, np.zeros(30, dtype=int), reduction="none"), rtol=RTOL
    )


def test_multilabel_nll_is_multilabel_soft_margin_times_labels(rng):
    L = 3
    d = dv.multilabel_nll(L)
    args = {s.name: s for s in d.nll.free_symbols}
    syms = [args[f"p_{j + 1}"] for j in range(L)] + [args[f"y_{j + 1}"] for j in range(L)]
    logits = rng.normal(scale=2, size=(25, L))
    targets = rng.integers(0, 2, size=(25, L)).astype(float)
    per_sample = to_numpy(d.loss, *syms)(*lu.sigmoid(logits).T, *targets.T)
    np.testing.assert_allclose(
        per_sample, lu.multilabel_soft_margin_loss(logits, targets, reduction="none"), rtol=RTOL
    )
    np.testing.assert_allclose(
        per_sample,
        F.multilabel_soft_margin_loss(
            torch.tensor(logits), torch.tensor(targets), reduction="none"
        ).numpy(),
        rtol=RTOL,
    )
    np.testing.assert_allclose(
        L * per_sample, to_numpy(d.nll, *syms)(*lu.sigmoid(logits).T, *targets.T), rtol=RTOL
    )


# --------------------------------------------------------------------------
# Maximum likelihood
# --------------------------------------------------------------------------


def _sample_values(ys):
    Y = sp.IndexedBase("y", real=True)
    return {n_examples: len(ys)}, {Y[k + 1]: v for k, v in enumerate(ys)}


def test_gaussian_mle_zeroes_the_derivatives_and_is_mean_and_rms(rng):
    d = DERIVATIONS["gaussian_mle"]
    total = d["total"]
    assert is_zero(sp.expand(d["d_mu"] - sp.diff(total, mu)).doit())
    assert is_zero(sp.expand(d["d_mu"].subs(mu, d["mu_hat"])).doit())
    assert is_zero(d["d_sigma"] - sp.diff(total, sigma))
    assert is_zero(d["d_sigma"].subs(sigma, d["sigma_hat"]))
    sample = rng.standard_t(3, size=7)
    ns, ys = _sample_values(sample)
    mu_hat = float(d["mu_hat"].subs(ns).doit().xreplace(ys))
    sigma_hat = float(d["sigma_hat"].subs(ns).doit().xreplace(ys | {mu: mu_hat}))
    assert np.isclose(mu_hat, sample.mean(), rtol=1e-12)
    assert np.isclose(sigma_hat, sample.std(), rtol=1e-12)
    # The Gaussian NLL is lowest there: a nudge in either parameter raises it.
    nll = lambda m, s: -torch.distributions.Normal(m, s).log_prob(torch.tensor(sample)).sum().item()
    best = nll(mu_hat, sigma_hat)
    assert all(
        nll(mu_hat + e, sigma_hat) > best and nll(mu_hat, sigma_hat + e) > best
        for e in (-1e-3, 1e-3)
    )


def test_laplace_mle_is_median_and_mean_absolute_deviation(rng):
    d = DERIVATIONS["laplace_mle"]
    assert is_zero(d["d_b"] - sp.diff(d["total"], laplace_scale))
    assert is_zero(d["d_b"].subs(laplace_scale, d["b_hat"]))
    sample = rng.standard_t(3, size=7)  # odd n: the median is a unique minimiser
    ns, ys = _sample_values(sample)
    med = float(np.median(sample))
    assert d["d_mu"].subs(ns).doit().xreplace(ys | {mu: med, laplace_scale: 1}) == 0
    b_hat = float(d["b_hat"].subs(ns).doit().xreplace(ys | {mu: med}))
    assert np.isclose(b_hat, np.mean(np.abs(sample - med)), rtol=1e-12)
    nll = lambda m, s: (
        -torch.distributions.Laplace(m, s).log_prob(torch.tensor(sample)).sum().item()
    )
    best = nll(med, b_hat)
    assert all(nll(med + e, b_hat) > best and nll(med, b_hat + e) > best for e in (-1e-3, 1e-3))


# --------------------------------------------------------------------------
# Focal loss
# --------------------------------------------------------------------------


def test_focal_loss_is_not_a_likelihood(rng):
    d = DERIVATIONS["focal_normaliser"]
    # exp(-FL) written as powers: the same expressions.
    assert is_zero(sp.log(prob ** ((1 - prob) ** gamma)) + d["loss_y1"])
    assert is_zero(sp.log((1 - prob) ** (prob**gamma)) + d["loss_y0"])
    assert d["gamma_0"] == 1 and d["half_gamma_2"] == 2 ** sp.Rational(3, 4)
    # The normaliser in numbers, from lossutils' focal loss (alpha off) with targets 1 and 0.
    logits = rng.normal(scale=2, size=20)
    for g in (0.5, 2.0):
        fl1 = lu.sigmoid_focal_loss(logits, np.ones(20), alpha=-1, gamma=g)
        fl0 = lu.sigmoid_focal_loss(logits, np.zeros(20), alpha=-1, gamma=g)
        Z = to_numpy(d["normaliser"].subs(gamma, g), prob)(lu.sigmoid(logits))
        np.testing.assert_allclose(Z, np.exp(-fl1) + np.exp(-fl0), rtol=1e-12)
        assert np.all(Z > 1 + 1e-6), "for gamma > 0, exp(-FL) sums to more than 1"


def test_focal_gradient_is_a_weighted_cross_entropy_gradient(rng):
    d = DERIVATIONS["focal_gradient"]
    assert is_zero(d["gradient"] - sp.diff(d["loss"], logit))
    assert is_zero(
        (d["weight"].subs(prob, logistic(logit)) * (logistic(logit) - 1) - d["gradient"]).subs(
            logistic(logit), prob
        )
    )
    weight = d["weight"]
    # For gamma = 1 the weight is 1 - p (1 + log p): above 1 exactly when p < 1/e (hard examples).
    assert is_zero(weight.subs(gamma, 1) - (1 - prob * (1 + sp.log(prob))))
    logits = rng.normal(scale=3, size=30)
    for g in (0.0, 1.0, 2.0):
        w = to_numpy(weight.subs(gamma, g), prob)
        for label in (0.0, 1.0):
            t = np.full(30, label)
            p_hat = lu.sigmoid(logits)
            p_t = p_hat if label else 1 - p_hat
            expected = w(p_t) * (p_hat - t)  # the weight times BCE's gradient sigma(z) - y
            got = lu.grad_sigmoid_focal_loss(logits, t, alpha=-1, gamma=g, reduction="none")
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
            auto = torch_grad(
                lambda x, t=t, g=g: (
                    -(
                        (1 - torch.where(torch.tensor(t) > 0, torch.sigmoid(x), torch.sigmoid(-x)))
                        ** g
                    )
                    * F.logsigmoid(torch.where(torch.tensor(t) > 0, x, -x))
                ),
                logits,
            )
            np.testing.assert_allclose(auto, expected, rtol=1e-9, atol=1e-15)
        # The same weight, with p_t = p_y, multiplies softmax - onehot for the softmax focal loss.
        logits3 = rng.normal(scale=2, size=(10, 3))
        labels = rng.integers(0, 3, size=10)
        probs = lu.softmax(logits3, axis=1)
        expected = w(probs[np.arange(10), labels])[:, None] * (probs - np.eye(3)[labels])
        got = lu.grad_softmax_focal_loss(logits3, labels, gamma=g, reduction="sum")
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)


# --------------------------------------------------------------------------
# Gradients with respect to the pre-activation
# --------------------------------------------------------------------------


def test_sigmoid_bce_gradient(rng):
    d = DERIVATIONS["sigmoid_bce_gradient"]
    assert is_zero(d["dl_dp"] - sp.diff(d["loss"], prob))
    assert is_zero(sp.diff(logistic(logit), logit).subs(logistic(logit), prob) - d["dp_dz"])
    assert is_zero(d["dl_dp"] * d["dp_dz"] - (prob - target))
    # The chain-rule line is the derivative of BCE written with the explicit sigmoid.
    explicit = -(
        target * sp.log(1 / (1 + sp.exp(-logit)))
        + (1 - target) * sp.log(1 - 1 / (1 + sp.exp(-logit)))
    )
    assert is_zero(d["chain"].rewrite(sp.exp) - sp.diff(explicit, logit))
    zv, yv = rng.normal(scale=4, size=40), rng.uniform(size=40)
    g = to_numpy(d.result, logit, target)(zv, yv)
    np.testing.assert_allclose(
        g, lu.grad_binary_cross_entropy_with_logits(zv, yv, reduction="sum"), rtol=RTOL
    )
    auto = torch_grad(
        lambda x: F.binary_cross_entropy_with_logits(x, torch.tensor(yv), reduction="sum"), zv
    )
    np.testing.assert_allclose(g, auto, rtol=1e-9, atol=1e-15)


def test_sigmoid_mse_gradient(rng):
    d = DERIVATIONS["sigmoid_mse_gradient"]
    explicit = (1 / (1 + sp.exp(-logit)) - target) ** 2
    assert is_zero(d["gradient"].rewrite(sp.exp) - sp.diff(explicit, logit))
    zv, yv = rng.normal(scale=4, size=40), rng.integers(0, 2, size=40).astype(float)
    g = to_numpy(d.result, logit, target)(zv, yv)
    s = lu.sigmoid(zv)
    np.testing.assert_allclose(g, lu.grad_mse(s, yv, reduction="sum") * s * (1 - s), rtol=RTOL)
    auto = torch_grad(lambda x: F.mse_loss(torch.sigmoid(x), torch.tensor(yv), reduction="sum"), zv)
    np.testing.assert_allclose(g, auto, rtol=1e-9, atol=1e-15)
    # Bounded: |dl/dz| <= 8/27 for y in {0, 1} (max at sigma = 1/3 or 2/3), below BCE's bound of 1.
    q = sp.Symbol("q", positive=True)
    g1 = sp.Abs(d.result.subs(target, 1).subs(logistic(logit), q))
    stationary = sp.solve(sp.diff(2 * (1 - q) ** 2 * q, q), q)
    assert max(g1.subs(q, s_) for s_ in stationary) == sp.Rational(8, 27)


def test_identity_gradients(rng):
    mse_d, mae_d = DERIVATIONS["identity_mse_gradient"], DERIVATIONS["identity_mae_gradient"]
    assert is_zero(mse_d.result - sp.diff(mse_d["loss"], logit))
    assert sp.diff(mae_d["loss"], logit).subs({logit: 2, target: 1}) == mae_d.result.subs(
        {logit: 2, target: 1}
    )
    assert sp.diff(mae_d["loss"], logit).subs({logit: -1, target: 1}) == mae_d.result.subs(
        {logit: -1, target: 1}
    )
    zv, yv = rng.normal(size=30), rng.normal(size=30)
    zv[0] = yv[0]  # at the kink, PyTorch's subgradient is 0, like sign(0)
    g_mse = to_numpy(mse_d.result, logit, target)(zv, yv)
    np.testing.assert_allclose(g_mse, lu.grad_mse(zv, yv, reduction="sum"), rtol=RTOL)
    np.testing.assert_allclose(
        g_mse, torch_grad(lambda x: F.mse_loss(x, torch.tensor(yv), reduction="sum"), zv), rtol=RTOL
    )
    g_mae = to_numpy(mae_d.result, logit, target)(zv, yv)
    np.testing.assert_array_equal(g_mae, lu.grad_mae(zv, yv, reduction="sum"))
    np.testing.assert_array_equal(
        g_mae, torch_grad(lambda x: F.l1_loss(x, torch.tensor(yv), reduction="sum"), zv)
    )


@pytest.mark.parametrize("C", [2, 3, 4])
def test_softmax_cross_entropy_gradient(C, rng):
    d = dv.softmax_cross_entropy_gradient(C)
    zs = sp.symbols(f"z_1:{C + 1}", real=True)
    ys = sp.symbols(f"y_1:{C + 1}", nonnegative=True)
    # The raw gradient is the derivative of the loss as first written (log of the softmax).
    for j in range(C):
        assert is_zero(d["raw"][j] - sp.diff(d["loss"], zs[j]))
    grad = to_numpy(d["gradient"], *zs, *ys)
    logits = rng.normal(scale=2, size=(20, C))
    labels = rng.integers(0, C, size=20)
    soft = lu.softmax(rng.normal(size=(20, C)), axis=1)
    for labels_or_probs, dense in ((labels, np.eye(C)[labels]), (soft, soft)):
        g = np.stack(
            [np.asarray(e, dtype=float).reshape(-1) for e in grad(*logits.T, *dense.T)[:, 0]],
            axis=1,
        )
        np.testing.assert_allclose(
            g,
            lu.grad_cross_entropy(logits, labels_or_probs, reduction="sum"),
            rtol=1e-9,
            atol=1e-15,
        )
        auto = torch_grad(
            lambda x, t=labels_or_probs: F.cross_entropy(x, torch.tensor(t), reduction="sum"),
            logits,
        )
        np.testing.assert_allclose(g, auto, rtol=1e-9, atol=1e-15)


def test_softmax_mse_gradient(rng):
    C = 3
    d = dv.softmax_mse_gradient(C)
    zs = sp.symbols(f"z_1:{C + 1}", real=True)
    ys = sp.symbols(f"y_1:{C + 1}", nonnegative=True)
    ps = sp.symbols(f"p_1:{C + 1}", positive=True)
    to_z = dict(zip(ps, dv.softmax_exprs(zs)))
    # The Jacobian is the softmax's, exactly.
    for c in range(C):
        for j in range(C):
            assert is_zero(d["jacobian"][c, j].subs(to_z) - sp.diff(dv.softmax_exprs(zs)[c], zs[j]))
    # The chain rule line is the derivative of the squared error of the softmax.
    direct = sum((pc - yc) ** 2 for pc, yc in zip(dv.softmax_exprs(zs), ys))
    for j in range(C):
        assert is_zero(d["raw"][j].subs(to_z) - sp.diff(direct, zs[j]))
    grad = to_numpy(d["gradient"], *ps, *ys)
    logits = rng.normal(scale=2, size=(20, C))
    onehot = np.eye(C)[rng.integers(0, C, size=20)]
    g = np.stack(
        [
            np.asarray(e, dtype=float).reshape(-1)
            for e in grad(*lu.softmax(logits, axis=1).T, *onehot.T)[:, 0]
        ],
        axis=1,
    )
    auto = torch_grad(
        lambda x: F.mse_loss(torch.softmax(x, dim=1), torch.tensor(onehot), reduction="sum"), logits
    )
    np.testing.assert_allclose(g, auto, rtol=1e-9, atol=1e-15)


def test_exports_name_what_they_are_and_shadow_nothing():
    """No single letters, and no name of lossutils' own: a chapter imports both."""
    assert [name for name in dv.__all__ if len(name) == 1] == []
    assert not set(dv.__all__) & set(lu.__all__)
    for old in ("sigmoid", "y", "z", "p", "b", "r", "n", "i"):  # the names the first chapters used
        assert not hasattr(dv, old), old
