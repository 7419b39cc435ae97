"""float32 inputs: float32 results, the float64 answer rounded once, and agreement with PyTorch.

Every function that calls a transcendental kernel (exp, log, log1p, pow) evaluates float32
input in float64 and rounds the result once (lossutils/_stable.py, lossutils/_blocks.py), so its float32 result is
within one ulp of its float64 result on every CPU. ``test_cpu_independence.py`` runs this file
again under each SIMD dispatch level of NumPy and each CPU capability of PyTorch.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import registry

EPS32 = float(np.finfo(np.float32).eps)
TINY32 = float(np.finfo(np.float32).tiny)
rng = np.random.default_rng(11)
# Typical and extreme logits, binary targets (hard and soft), 4 classes (one index ignored).
Z = np.concatenate([rng.normal(scale=4, size=3000), rng.uniform(-120, 120, 1000)]).astype(
    np.float32
)
T = rng.choice(np.array([0.0, 1.0, 0.3], dtype=np.float32), size=Z.size)
P = lu.sigmoid(Z.astype(np.float64)).astype(np.float32)
X = np.concatenate([rng.normal(scale=4, size=(900, 4)), rng.uniform(-120, 120, (100, 4))]).astype(
    np.float32
)
Y = np.where(rng.uniform(size=1000) < 0.05, -100, rng.integers(0, 4, 1000))
Q = rng.dirichlet(np.ones(4), size=1000).astype(np.float32)  # class-probability targets
SEQ, SEQ_T = X.reshape(50, 20, 4).transpose(0, 2, 1), Y.reshape(50, 20)  # (N, C, T), (N, T)


def _binary(*names, **kw):
    return [(f"{n}{kw or ''}", getattr(lu, n), (Z, T), kw) for n in names]


def _class(*names, **kw):
    return [(f"{n}{kw or ''}", getattr(lu, n), (X, Y), kw) for n in names]


# (id, function, float32 arguments, keyword arguments) for every function that calls a kernel.
CASES = [
    ("sigmoid", lu.sigmoid, (Z,), {}),
    ("log_sigmoid", lu.log_sigmoid, (Z,), {}),
    ("softmax", lu.softmax, (X,), {"axis": 1}),
    ("log_softmax", lu.log_softmax, (X,), {"axis": 1}),
    *_binary("binary_cross_entropy", "grad_binary_cross_entropy", reduction="none"),
    *_binary(
        "binary_cross_entropy_with_logits",
        "grad_binary_cross_entropy_with_logits",
        reduction="none",
        pos_weight=np.float32(3.0),
    ),
    *_binary("binary_cross_entropy_with_logits", "grad_binary_cross_entropy_with_logits"),
    *_binary(
        "weighted_binary_cross_entropy_with_logits",
        "grad_weighted_binary_cross_entropy_with_logits",
        reduction="none",
        w0=0.5,
        w1=4.0,
    ),
    *_binary("sigmoid_focal_loss", "grad_sigmoid_focal_loss", gamma=2.0),
    *_binary(
        "sigmoid_focal_loss", "grad_sigmoid_focal_loss", gamma=0.5, alpha=-1, reduction="mean"
    ),
    (
        "multilabel_soft_margin_loss",
        lu.multilabel_soft_margin_loss,
        (Z.reshape(-1, 8), T.reshape(-1, 8)),
        {"reduction": "none"},
    ),
    (
        "grad_multilabel_soft_margin_loss",
        lu.grad_multilabel_soft_margin_loss,
        (Z.reshape(-1, 8), T.reshape(-1, 8)),
        {},
    ),
    *_class("cross_entropy", "grad_cross_entropy", reduction="none"),
    *_class(
        "cross_entropy", "grad_cross_entropy", label_smoothing=0.1, weight=[1.0, 2.0, 0.5, 1.0]
    ),
    ("cross_entropy(probabilities)", lu.cross_entropy, (X, Q), {"reduction": "none"}),
    ("grad_cross_entropy(probabilities)", lu.grad_cross_entropy, (X, Q), {}),
    *_class(
        "logit_adjusted_cross_entropy",
        "grad_logit_adjusted_cross_entropy",
        reduction="none",
        prior=[0.7, 0.2, 0.09, 0.01],
    ),
    *_class(
        "logit_adjusted_cross_entropy",
        "grad_logit_adjusted_cross_entropy",
        prior=[0.5, 0.3, 0.15, 0.05],
        tau=1.5,
        weight=[1.0, 2.0, 0.5, 1.0],
    ),
    *_class("softmax_focal_loss", "grad_softmax_focal_loss", reduction="none"),
    *_class("softmax_focal_loss", "grad_softmax_focal_loss", gamma=0.5),
    ("sequence_cross_entropy", lu.sequence_cross_entropy, (SEQ, SEQ_T), {"reduction": "none"}),
    ("grad_sequence_cross_entropy", lu.grad_sequence_cross_entropy, (SEQ, SEQ_T), {}),
    ("perplexity", lu.perplexity, (SEQ, SEQ_T), {}),
    *[  # probabilistic regression, margins and embeddings, scoring rules (issue 17)
        (f"{f.__name__}{kw or ''}", f, args, kw)
        for pair, args, kws in (
            (("gaussian_nll_loss",), (Z, T, np.abs(Z) + np.float32(0.1)), ({}, {"full": True})),
            (("poisson_nll_loss",), (Z / 20, T), ({}, {"full": True})),
            (("poisson_nll_loss",), (np.abs(Z), T), ({"log_input": False, "full": True},)),
            (("triplet_margin_loss",), (X, X[::-1].copy(), X + 1), ({}, {"p": 3.0, "swap": True})),
            (("info_nce",), (X[:200], X[200:400]), ({}, {"temperature": 0.01})),
            (("multi_margin_loss",), (X, np.abs(Y) % 4), ({}, {"p": 2})),
            (("brier_score",), (Q, np.abs(Y) % 4), ({},)),
            (("kl_div",), (np.log(Q), Q[::-1].copy()), ({}, {"reduction": "batchmean"})),
        )
        for name in pair
        for f in (getattr(lu, name), getattr(lu, "grad_" + name))
        for kw in kws
    ],
]
CASES = [
    (i, f, (P, T) if "binary_cross_entropy" == f.__name__.removeprefix("grad_") else args, kw)
    for i, f, args, kw in CASES
]  # BCE on probabilities takes P, not logits
# Functions built from additions and multiplications only: IEEE arithmetic is correctly rounded
# on every CPU, so they compute in their input's dtype.
ARITHMETIC_ONLY = {
    "mse",
    "mae",
    "huber",
    "smooth_l1",
    "grad_mse",
    "grad_mae",
    "grad_huber",
    "grad_smooth_l1",
    "nll_loss",
    "grad_nll_loss",
    "sequence_nll_loss",
    "grad_sequence_nll_loss",
    "pinball_loss",
    "grad_pinball_loss",
    "margin_ranking_loss",
    "grad_margin_ranking_loss",
}
NOT_NUMERIC = {"choose_loss", "diagnose"}  # advice and checks, not losses
# lossutils.metrics: counts, sorts and means over the whole data set, reported as Python floats
# (or float64 arrays) whatever the input's dtype.
REPORTED = {e.name for e in registry.METRICS if e.module == "metrics"}
# Class weights from integer class counts: float64, computed once per data set.
FROM_COUNTS = {e.name for e in registry.WEIGHTS}


def test_every_public_function_is_covered():
    """A new public function must be added here: to CASES, or to ARITHMETIC_ONLY with a reason."""
    covered = (
        {f.__name__ for _, f, _, _ in CASES}
        | ARITHMETIC_ONLY
        | NOT_NUMERIC
        | REPORTED
        | FROM_COUNTS
    )
    assert set(lu.__all__) == covered


@pytest.mark.parametrize(("fn", "args", "kw"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float32_is_the_float64_result_rounded_once(fn, args, kw):
    got = np.asarray(fn(*args, **kw))
    assert got.dtype == np.float32
    want = np.asarray(
        fn(*(a.astype(np.float64) if a.dtype == np.float32 else a for a in args), **kw)
    )
    assert want.dtype == np.float64
    # One ulp of the float64 value (half an ulp for the rounding, and room to spare); values
    # below float32's normal range are judged by their absolute error.
    ulps = np.abs(got - want) / (EPS32 * np.maximum(np.abs(want), TINY32))
    assert np.nanmax(ulps) <= 1, f"worst {np.nanmax(ulps):.2f} ulps at {np.nanargmax(ulps)}"
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_float32_in_float32_out():
    x = np.random.default_rng(4).normal(size=(5, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 0, 1])
    assert isinstance(lu.cross_entropy(x, t), np.float32)
    assert lu.grad_cross_entropy(x, t).dtype == np.float32
    y = (x > 0).astype(np.float32)
    assert isinstance(lu.binary_cross_entropy_with_logits(x, y), np.float32)
    assert lu.log_softmax(x).dtype == np.float32
    assert isinstance(lu.binary_cross_entropy(lu.sigmoid(x), y), np.float32)
    assert (
        lu.sigmoid(np.float16(0.5)).dtype == np.float32
    )  # float16 is computed as float32 always was
    assert lu.cross_entropy(x.astype(np.float16), t, reduction="none").dtype == np.float32


def _torch_bound(n_summed):
    """Relative tolerance between lossutils and PyTorch in float32, on any x86-64 CPU.

    lossutils is within half an ulp of the true value. PyTorch evaluates each element with its
    own float32 kernels (SLEEF's 1-ulp exp and log on AVX2 and AVX-512, the C library's
    elsewhere) and a few roundings, say 8 ulps in all; a sum of n terms of one sign adds at most
    log2(n) + 1 roundings of the running total.
    """
    return (8 + math.log2(n_summed) + 1) * EPS32


def test_float32_agrees_with_torch_float32():
    rng = np.random.default_rng(5)
    x = rng.normal(scale=3, size=(64, 10)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    y = (rng.uniform(size=(64, 10)) < 0.3).astype(np.float32)
    tx, tt, ty = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(y)
    means = [  # mean losses: sums of x.size positive terms
        (lu.cross_entropy(x, t, label_smoothing=0.1), F.cross_entropy(tx, tt, label_smoothing=0.1)),
        (lu.binary_cross_entropy_with_logits(x, y), F.binary_cross_entropy_with_logits(tx, ty)),
        (lu.binary_cross_entropy(lu.sigmoid(x), y), F.binary_cross_entropy(torch.sigmoid(tx), ty)),
        (lu.multilabel_soft_margin_loss(x, y), F.multilabel_soft_margin_loss(tx, ty)),
    ]
    for ours, theirs in means:
        assert isinstance(ours, np.float32)
        np.testing.assert_allclose(ours, theirs.item(), rtol=_torch_bound(x.size))
    # log_softmax is x - max - log(sum of 10 exps): near 0 (the dominant class) its error is
    # absolute, relative to the size of the logits subtracted.
    bound = _torch_bound(x.shape[1])
    np.testing.assert_allclose(
        lu.log_softmax(x, axis=1),
        torch.log_softmax(tx, 1).numpy(),
        rtol=bound,
        atol=bound * np.abs(x).max(),
    )
