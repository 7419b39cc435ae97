"""Numerical stability: accuracy against mpmath at extreme logits, and no nan/inf/warnings.

The reference values are computed with mpmath at 50 significant digits from
the exact floating-point inputs: a grid of extreme logits and a few hundred
seeded random ones. The relative error is
``|got - exact| / max(|exact|, tiny)`` (``tiny`` = the smallest normal float,
so values that underflow are judged by their absolute error), in units of
the dtype's machine epsilon. ``benchmarks/accuracy_report.py`` prints the
same measure for lossutils and for PyTorch side by side.

The stated accuracy (:func:`max_ulps`) holds whatever SIMD kernels NumPy
dispatches to: ``test_cpu_independence.py`` runs this file again under each
dispatch level the machine offers.

Floating-point *underflow* is not an error here: e^{-10000} rounding to 0 is
the correct answer, so the warning checks raise on overflow, division by
zero and invalid operations, and leave underflow alone.
"""

import warnings

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu

GRID = [
    -1e4,
    -1000,
    -745,
    -710,
    -100,
    -50,
    -30,
    -20,
    -3,
    -1,
    -1e-8,
    0.0,
    1e-8,
    1,
    3,
    20,
    30,
    50,
    100,
    710,
    745,
    1000,
    1e4,
]
DTYPES = [np.float64, np.float32]
MAX_ULPS = 4  # lossutils' float64 accuracy, in machine epsilons (the focal losses: max_ulps)
N_RANDOM = 150  # seeded random inputs added to the grid


def max_ulps(name, dtype):
    """The worst relative error lossutils states for case ``name``, in epsilons of ``dtype``.

    float32 inputs are evaluated in float64 and rounded once (lossutils/_stable.py): half an
    ulp, plus a float64 error a billion times smaller, so 1. In float64, every NumPy kernel
    (exp, log, log1p, pow) errs by under 1 ulp on every dispatch level, and the
    losses add a few roundings: 4 ulps. A focal loss raises 1 - p_t, which carries about 2 ulps
    (an exp, an addition, a division), to the power gamma, which multiplies that error by
    gamma: 2 gamma + 4.
    """
    if dtype == np.float32:
        return 1
    gamma = FOCAL_GAMMA.get(name)
    return MAX_ULPS if gamma is None else 2 * gamma + 4


# ------------------------------------------------------------------ inputs


def _random_logits(shape, seed):
    """Typical logits (normal, scale 4) and large ones (uniform in [-60, 60]), half each."""
    rng = np.random.default_rng(seed)
    return np.where(
        rng.uniform(size=shape) < 0.5,
        rng.normal(scale=4, size=shape),
        rng.uniform(-60, 60, size=shape),
    )


def binary_inputs(dtype):
    """Every grid logit and N_RANDOM random ones, each with targets 0, 1 and 0.3."""
    z = np.tile(np.concatenate([GRID, _random_logits(N_RANDOM, seed=1)]).astype(dtype), 3)
    t = np.repeat(np.array([0.0, 1.0, 0.3], dtype=dtype), len(z) // 3)
    return z, t


def class_inputs(dtype):
    """Rows (a, b, 0) for every pair of grid logits and N_RANDOM random rows (a, b, c),
    each with targets 0, 1, 2."""
    a, b = np.meshgrid(GRID, GRID, indexing="ij")
    grid_rows = np.stack([a.ravel(), b.ravel(), np.zeros(a.size)], axis=1)
    rows = np.concatenate([grid_rows, _random_logits((N_RANDOM, 3), seed=2)]).astype(dtype)
    return np.repeat(rows, 3, axis=0), np.tile(np.arange(3), len(rows))


# ------------------------------------------------------------------ exact references (mpmath)

mp.mp.dps = 50


def _mpf(v):
    return mp.mpf(float(v))


def mp_softplus(z):
    return mp.log1p(mp.exp(z))


def mp_sigmoid(z):
    return 1 / (1 + mp.exp(-z))  # mpmath's exponent range is unbounded: no 1 - p needed


def exact_bce(z, t):
    return [
        ty * mp_softplus(-zz) + (1 - ty) * mp_softplus(zz)
        for zz, ty in zip(map(_mpf, z), map(_mpf, t))
    ]


def exact_sigmoid_focal(gamma, alpha):
    def exact(z, t):
        out = []
        for zz, ty in zip(map(_mpf, z), map(_mpf, t)):
            ce = ty * mp_softplus(-zz) + (1 - ty) * mp_softplus(zz)
            q = ty * mp_sigmoid(-zz) + (1 - ty) * mp_sigmoid(zz)  # 1 - p_t, without cancellation
            out.append((alpha * ty + (1 - alpha) * (1 - ty)) * q**gamma * ce)
        return out

    return exact


def _mp_log_softmax(row):
    # Even at 50 digits, 1000 - log(e^1000 + e^745) would round e^-255 away:
    # log p_c = (x_c - m) - log1p(sum of the other exp(x_k - m)), with m = max x.
    row = [_mpf(v) for v in row]
    top = max(range(len(row)), key=row.__getitem__)
    log_norm = mp.log1p(mp.fsum(mp.exp(v - row[top]) for c, v in enumerate(row) if c != top))
    return [(v - row[top]) - log_norm for v in row]


def exact_log_softmax(x):
    return [v for row in x[::3] for v in _mp_log_softmax(row)]


def exact_softmax_focal(gamma):
    def exact(x, t):
        out = []
        for row, y in zip(x, t):
            logp = _mp_log_softmax(row)
            q = mp.fsum(mp.exp(v) for c, v in enumerate(logp) if c != y)  # 1 - p_y exactly
            out.append(-(q**gamma) * logp[y])
        return out

    return exact


# ------------------------------------------------------------------ the cases
# name -> (inputs, lossutils, PyTorch, exact); the callables take numpy inputs.


def _t(*arrays):
    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def torch_sigmoid_focal(z, t, gamma, alpha):  # torchvision's formula in torch ops
    x, y = _t(z, t)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return (alpha * y + (1 - alpha) * (1 - y)) * ce * (1 - p_t) ** gamma


def torch_softmax_focal(x, t, gamma):
    logits, target = _t(x, t)
    log_p = torch.log_softmax(logits, 1).gather(1, target[:, None])[:, 0]
    return -((1 - log_p.exp()) ** gamma) * log_p


# The logit-adjusted cross-entropy is the cross-entropy of the adjusted logits x + log(prior),
# which lossutils forms in float64 (for float32 input too): the exact reference is the
# cross-entropy of those float64 logits, so the test measures the loss, not the input's shift.
LOG_PRIOR = np.log(np.array([0.7, 0.25, 0.05]))


def exact_logit_adjusted(x, t):
    return [-_mp_log_softmax(row)[y] for row, y in zip(x.astype(np.float64) + LOG_PRIOR, t)]


FOCAL_GAMMA = {f"{kind}_focal(gamma={g})": g for kind in ("softmax", "sigmoid") for g in (0.5, 2.0)}

CASES = {
    "log_sigmoid": (
        lambda d: (np.array(GRID, dtype=d),),
        lu.log_sigmoid,
        lambda z: F.logsigmoid(*_t(z)),
        lambda z: [-mp_softplus(-_mpf(v)) for v in z],
    ),
    "bce_with_logits": (
        binary_inputs,
        lambda z, t: lu.binary_cross_entropy_with_logits(z, t, reduction="none"),
        lambda z, t: F.binary_cross_entropy_with_logits(*_t(z, t), reduction="none"),
        exact_bce,
    ),
    "log_softmax": (
        lambda d: (class_inputs(d)[0][::3],),
        lambda x: lu.log_softmax(x, axis=1).ravel(),
        lambda x: torch.log_softmax(*_t(x), 1).ravel(),
        lambda x: exact_log_softmax(np.repeat(x, 3, axis=0)),
    ),
    "cross_entropy": (
        class_inputs,
        lambda x, t: lu.cross_entropy(x, t, reduction="none"),
        lambda x, t: F.cross_entropy(*_t(x, t), reduction="none"),
        lambda x, t: [-_mp_log_softmax(row)[y] for row, y in zip(x, t)],
    ),
    "logit_adjusted_cross_entropy": (
        class_inputs,
        lambda x, t: lu.logit_adjusted_cross_entropy(
            x, t, prior=np.exp(LOG_PRIOR), reduction="none"
        ),
        lambda x, t: F.cross_entropy(*_t(x + LOG_PRIOR.astype(x.dtype), t), reduction="none"),
        exact_logit_adjusted,
    ),
    **{
        f"softmax_focal(gamma={g})": (
            class_inputs,
            lambda x, t, g=g: lu.softmax_focal_loss(x, t, gamma=g, reduction="none"),
            lambda x, t, g=g: torch_softmax_focal(x, t, g),
            exact_softmax_focal(g),
        )
        for g in (0.5, 2.0)
    },
    **{
        f"sigmoid_focal(gamma={g})": (
            binary_inputs,
            lambda z, t, g=g: lu.sigmoid_focal_loss(z, t, gamma=g, alpha=0.25),
            lambda z, t, g=g: torch_sigmoid_focal(z, t, g, 0.25),
            exact_sigmoid_focal(g, 0.25),
        )
        for g in (0.5, 2.0)
    },
}


def relative_errors(values, exact, dtype):
    """Relative errors of ``values`` against the mpmath ``exact`` list, in epsilons
    (NaN or infinite values count as infinite errors)."""
    tiny, eps = np.finfo(dtype).tiny, np.finfo(dtype).eps
    return np.array(
        [
            float(abs(_mpf(got) - ex) / max(abs(ex), tiny)) / eps if np.isfinite(got) else np.inf
            for got, ex in zip(np.asarray(values, dtype=np.float64).ravel(), exact)
        ]
    )


def worst_relative_error(values, exact, dtype):
    return relative_errors(values, exact, dtype).max()


def measure(name, dtype):
    """Return the relative errors (in epsilons) of lossutils and of PyTorch for one
    case, and its inputs."""
    make_inputs, ours, theirs, exact = CASES[name]
    inputs = make_inputs(dtype)
    want = exact(*inputs)
    return (
        relative_errors(ours(*inputs), want, dtype),
        relative_errors(theirs(*inputs).numpy(), want, dtype),
        inputs,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(CASES))
def test_accurate_to_a_few_ulps_against_mpmath(name, dtype):
    make_inputs, ours, _, exact = CASES[name]
    inputs = make_inputs(dtype)
    assert worst_relative_error(ours(*inputs), exact(*inputs), dtype) <= max_ulps(name, dtype)


def test_where_pytorch_rounds_to_zero_lossutils_does_not():
    # BCE of logit -50 with target 0 is log1p(e^-50) ~ 1.93e-22; PyTorch returns 0.
    ours, theirs, _ = measure("bce_with_logits", np.float64)
    assert ours.max() <= MAX_ULPS < theirs.max()
    assert lu.binary_cross_entropy_with_logits([-50.0], [0.0]) == pytest.approx(
        1.9287498479639178e-22, rel=1e-15
    )
    assert lu.cross_entropy([[50.0, 0.0]], [0]) == pytest.approx(1.9287498479639178e-22, rel=1e-15)


# ------------------------------------------------------------------ no nan / inf / warnings

EXTREME = np.array([-1e4, -1e3, -50, -1e-8, 0.0, 1e-8, 50, 1e3, 1e4])


def _binary_losses():
    fns = [
        (lu.binary_cross_entropy_with_logits, lu.grad_binary_cross_entropy_with_logits, {}),
        (
            lu.binary_cross_entropy_with_logits,
            lu.grad_binary_cross_entropy_with_logits,
            {"pos_weight": 3.0},
        ),
        (
            lu.weighted_binary_cross_entropy_with_logits,
            lu.grad_weighted_binary_cross_entropy_with_logits,
            {"w0": 0.5, "w1": 4.0},
        ),
        (lu.multilabel_soft_margin_loss, lu.grad_multilabel_soft_margin_loss, {}),
    ]
    fns += [
        (lu.sigmoid_focal_loss, lu.grad_sigmoid_focal_loss, {"gamma": g, "alpha": a})
        for g in (0.0, 0.5, 2.0)
        for a in (0.25, -1.0)
    ]
    return fns


def _class_losses():
    return [
        (lu.cross_entropy, lu.grad_cross_entropy, {}),
        (
            lu.cross_entropy,
            lu.grad_cross_entropy,
            {"label_smoothing": 0.1, "weight": [1.0, 2.0, 3.0]},
        ),
        (lu.softmax_focal_loss, lu.grad_softmax_focal_loss, {"gamma": 0.5}),
        (
            lu.softmax_focal_loss,
            lu.grad_softmax_focal_loss,
            {"gamma": 2.0, "alpha": [1.0, 2.0, 3.0]},
        ),
    ]


def _assert_clean(fn, *args, **kw):
    """Call ``fn`` with overflow/invalid/divide warnings turned into errors; check finiteness."""
    with (
        warnings.catch_warnings(),
        np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"),
    ):
        warnings.simplefilter("error")
        out = fn(*args, **kw)
    assert np.all(np.isfinite(out)), (fn.__name__, kw, out)
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_binary_losses_from_logits_are_finite_without_warnings(dtype):
    z = np.repeat(EXTREME, 3).astype(dtype)
    t = np.tile([0.0, 1.0, 0.3], len(EXTREME)).astype(dtype)
    for loss, grad, kw in _binary_losses():
        for reduction in ("none", "mean", "sum"):
            out = _assert_clean(loss, z, t, reduction=reduction, **kw)
            assert np.result_type(out) == dtype
            _assert_clean(grad, z, t, reduction=reduction, **kw)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_class_losses_from_logits_are_finite_without_warnings(dtype):
    a, b = np.meshgrid(EXTREME, EXTREME, indexing="ij")
    x = np.stack([a.ravel(), b.ravel(), -a.ravel()], axis=1).astype(dtype)
    x = np.repeat(x, 3, axis=0)
    t = np.tile(np.arange(3), len(x) // 3)
    for loss, grad, kw in _class_losses():
        for reduction in ("none", "mean", "sum"):
            out = _assert_clean(loss, x, t, reduction=reduction, **kw)
            assert np.result_type(out) == dtype
            _assert_clean(grad, x, t, reduction=reduction, **kw)
    for fn in (lu.sigmoid, lu.log_sigmoid):
        _assert_clean(fn, x)
    for fn in (lu.softmax, lu.log_softmax):
        _assert_clean(fn, x, axis=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_on_probabilities_is_finite_at_0_and_1(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3], dtype=dtype)
    for eps in (None, 1e-7 if dtype == np.float64 else 1e-4):
        _assert_clean(lu.binary_cross_entropy, p, t, eps=eps, reduction="none")
        _assert_clean(lu.grad_binary_cross_entropy, p, t, eps=eps, reduction="none")
