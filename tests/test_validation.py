"""Bad input: every loss and its gradient raise a clear error that names the argument, says
what was expected and shows what came. The functions come from lossutils.registry, so a new loss
is checked here as soon as it is registered."""

import inspect

import numpy as np
import pytest

import lossutils as lu
from helpers import ISSUE17_KINDS, REDUCTIONS, first_argument, valid_inputs
from lossutils.registry import LOSSES

X3 = np.zeros((4, 3))  # logits (N=4, C=3)
Y3 = np.array([0, 1, 2, 0])
P = np.full(4, 0.5)
T = np.array([0.0, 1.0, 1.0, 0.0])


def loss_and_gradient(*kinds: str) -> list:
    """Every loss and gradient whose inputs are of one of ``kinds`` (see registry.Entry)."""
    return [f for e in LOSSES if e.inputs in kinds for f in (e.function, e.gradient)]


ELEMENTWISE = loss_and_gradient("elementwise")
BINARY = loss_and_gradient("binary")
CLASS = loss_and_gradient("class")
ALL = ELEMENTWISE + BINARY + CLASS  # the sequence losses' own checks: test_sequence.py


def functions(fns):
    return pytest.mark.parametrize("fn", fns, ids=lambda f: f.__name__)


def valid_args(fn):
    return valid_inputs(lu.registry.find(fn.__name__))


# ---------------------------------------------------------------- shapes


@functions(ELEMENTWISE + BINARY)
def test_no_silent_broadcasting_of_n1_against_n(fn):
    name = first_argument(fn)
    with pytest.raises(
        ValueError,
        match=rf"{name} and target must have the same shape, "
        rf"got {name} shape \(4, 1\) and target shape \(4,\)",
    ):
        fn(P[:, None], T)


@functions(CLASS)
def test_class_index_target_shape(fn):
    with pytest.raises(
        ValueError, match=r"target of class indices must have shape \(4,\), got \(4, 1\)"
    ):
        fn(X3, Y3[:, None])
    with pytest.raises(
        ValueError, match=r"must have shape \(C,\), \(N, C\) or \(N, C, d1, ...\), got a scalar"
    ):
        fn(1.0, 0)
    # K-dimensional: logits (N, C, d1) need targets (N, d1)
    with pytest.raises(ValueError, match=r"must have shape \(2, 5\), got \(2, 3\)"):
        fn(np.zeros((2, 3, 5)), np.zeros((2, 3), dtype=int))


@functions(CLASS)
def test_class_index_out_of_range(fn):
    with pytest.raises(
        ValueError, match=r"target contains class index 3, outside \[0, 3\) \(ignore_index=-100\)"
    ):
        fn(X3, [0, 1, 3, 0])
    with pytest.raises(ValueError, match=r"class index -1, outside \[0, 3\)"):
        fn(X3, [0, -1, 2, 0])
    fn(X3, [0, -1, 2, 0], ignore_index=-1)  # ... unless it is the ignored index
    fn(X3, [0, -100, 2, -100])
    with pytest.raises(TypeError, match=r"ignore_index must be an integer, got None"):
        fn(X3, Y3, ignore_index=None)


@functions(CLASS)
def test_non_integer_class_targets(fn):
    match = (
        r"target must hold integer class indices of shape \(4,\) or class probabilities of shape \(4, 3\)"
        r".*got dtype float64 and shape \(4,\)"
        if "cross_entropy" in fn.__name__
        else r"target must hold integer class indices, got dtype float64"
    )
    with pytest.raises(TypeError, match=match):
        fn(X3, Y3.astype(float))
    with pytest.raises(TypeError, match=r"integer class indices, got dtype bool"):
        fn(X3, np.array([True, False, True, True]))


# ---------------------------------------------------------------- values


@functions([lu.binary_cross_entropy, lu.grad_binary_cross_entropy])
def test_bce_prob_outside_unit_interval(fn):
    with pytest.raises(
        ValueError,
        match=r"prob must contain probabilities in \[0, 1\], got 1 value\(s\) outside, e.g. 1.2",
    ):
        fn([0.5, 1.2], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"prob must contain probabilities.*e.g. nan"):
        fn([0.5, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"eps must be in \(0, 0.5\), got 0.5"):
        fn(P, T, eps=0.5)
    with pytest.raises(ValueError, match=r"eps must be finite and > 0, got 0"):
        fn(P, T, eps=0)


@functions(BINARY)
def test_binary_targets_outside_unit_interval(fn):
    with pytest.raises(
        ValueError,
        match=r"target must contain probabilities in \[0, 1\], got 2 value\(s\) outside, e.g. -1.0",
    ):
        fn(P, [-1.0, 0.0, 2.0, 1.0])


def test_bool_targets_mean_0_and_1():
    assert lu.binary_cross_entropy_with_logits(
        P, T.astype(bool)
    ) == lu.binary_cross_entropy_with_logits(P, T)


@functions([lu.cross_entropy, lu.grad_cross_entropy])
def test_probability_targets_of_cross_entropy(fn):
    bad = np.full((4, 3), 0.5)
    bad[1, 2] = 1.5
    with pytest.raises(
        ValueError, match=r"target must contain probabilities in \[0, 1\].*e.g. 1.5"
    ):
        fn(X3, bad)
    with pytest.raises(ValueError, match=r"ignore_index=0 is only for class-index targets"):
        fn(X3, np.full((4, 3), 1 / 3), ignore_index=0)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        fn(X3, Y3, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"label_smoothing must be finite and >= 0, got -0.1"):
        fn(X3, Y3, label_smoothing=-0.1)


@pytest.mark.parametrize(
    "fn, arg, value, match",
    [
        (lu.huber, "delta", -1.0, r"delta must be finite and > 0, got -1.0"),
        (lu.grad_huber, "delta", 0.0, r"delta must be finite and > 0, got 0.0"),
        (lu.smooth_l1, "beta", -0.5, r"beta must be finite and >= 0, got -0.5"),
        (lu.grad_smooth_l1, "beta", np.inf, r"beta must be finite and >= 0, got inf"),
        (lu.sigmoid_focal_loss, "gamma", -2.0, r"gamma must be finite and >= 0, got -2.0"),
        (lu.grad_sigmoid_focal_loss, "gamma", -2.0, r"gamma must be finite and >= 0, got -2.0"),
        (
            lu.weighted_binary_cross_entropy_with_logits,
            "w1",
            -1.0,
            r"w1 must be finite and >= 0, got -1.0",
        ),
        (
            lu.grad_weighted_binary_cross_entropy_with_logits,
            "w0",
            np.nan,
            r"w0 must be finite and >= 0, got nan",
        ),
    ],
)
def test_negative_hyperparameters(fn, arg, value, match):
    with pytest.raises(ValueError, match=match):
        fn(P, T, **{arg: value})


@functions([lu.softmax_focal_loss, lu.grad_softmax_focal_loss])
def test_softmax_focal_gamma_and_alpha(fn):
    with pytest.raises(ValueError, match=r"gamma must be finite and >= 0, got -1.0"):
        fn(X3, Y3, gamma=-1.0)
    with pytest.raises(ValueError, match=r"alpha must have shape \(3,\), got shape \(2,\)"):
        fn(X3, Y3, alpha=[1.0, 2.0])


@functions([lu.sigmoid_focal_loss, lu.grad_sigmoid_focal_loss])
def test_sigmoid_focal_alpha_must_be_a_number(fn):
    with pytest.raises(TypeError, match=r"alpha must be a finite real number.*got \[0.25, 0.75\]"):
        fn(P, T, alpha=[0.25, 0.75])
    with pytest.raises(TypeError, match=r"gamma must be a real number, got '2'"):
        fn(P, T, gamma="2")


# ---------------------------------------------------------------- weights


@functions(ELEMENTWISE)
def test_elementwise_weight_shape(fn):
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\), got shape \(2,\)"):
        fn(P, T, weight=[1.0, 2.0])


@functions([lu.cross_entropy, lu.grad_cross_entropy, lu.nll_loss, lu.grad_nll_loss])
def test_class_weight_length(fn):
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got shape \(2,\)"):
        fn(X3, Y3, weight=[1.0, 2.0])


@functions([f for f in BINARY if "weight" in inspect.signature(f).parameters])
def test_binary_weight_must_broadcast_to_the_input(fn):
    x, t = np.full((4, 3), 0.5), np.zeros((4, 3))
    fn(x, t, weight=np.ones(3))  # one per class: fine, as in PyTorch
    with pytest.raises(
        ValueError, match=r"weight of shape \(4,\) does not broadcast to the input shape \(4, 3\)"
    ):
        fn(x, t, weight=np.ones(4))
    with pytest.raises(
        ValueError, match=r"weight of shape \(2, 4, 3\) does not broadcast to the input shape"
    ):
        fn(x, t, weight=np.ones((2, 4, 3)))  # would enlarge the output


@functions([lu.binary_cross_entropy_with_logits, lu.grad_binary_cross_entropy_with_logits])
def test_pos_weight_must_broadcast(fn):
    with pytest.raises(
        ValueError,
        match=r"pos_weight of shape \(2,\) does not broadcast to the input shape \(4, 3\)",
    ):
        fn(np.zeros((4, 3)), np.zeros((4, 3)), pos_weight=[1.0, 2.0])


# ---------------------------------------------------------------- empty, dtype, reduction


@functions(ALL)
def test_empty_input(fn):
    name = first_argument(fn)
    if fn in CLASS:
        with pytest.raises(ValueError, match=rf"{name} must not be empty, got shape \(0, 3\)"):
            fn(np.zeros((0, 3)), np.zeros(0, dtype=int))
    else:
        with pytest.raises(ValueError, match=rf"{name} must not be empty, got shape \(0,\)"):
            fn(np.zeros(0), np.zeros(0))


@functions(ALL)
@pytest.mark.parametrize(
    "bad",
    [
        np.array(["a", "b", "c", "d"]),
        np.array([None] * 4, dtype=object),
        np.array([True, False, True, False]),
        np.full(4, 1 + 1j),
    ],
    ids=["str", "object", "bool", "complex"],
)
def test_non_numeric_first_argument(fn, bad):
    first, target = valid_args(fn)
    if first.ndim == 2:
        bad = np.stack([bad] * 3, axis=1)
    with pytest.raises(
        TypeError,
        match=rf"{first_argument(fn)} must be an array of real numbers, got dtype {bad.dtype}",
    ):
        fn(bad, target)


@functions(ELEMENTWISE + BINARY)
def test_non_numeric_target(fn):
    with pytest.raises(TypeError, match=r"target must be an array of real numbers, got dtype <U1"):
        fn(P, ["a", "b", "c", "d"])


@functions(ALL)
def test_bad_reduction(fn):
    with pytest.raises(
        ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"
    ):
        fn(*valid_args(fn), reduction="avg")


def test_integer_and_list_inputs_are_promoted_to_float64():
    assert isinstance(lu.mse([1, 2], [0, 0]), np.float64)
    assert lu.grad_mse([1, 2], [0, 0]).dtype == np.float64
    assert isinstance(lu.cross_entropy([[1, 2]], [0]), np.float64)
    assert isinstance(lu.cross_entropy([1, 2, 3], 2), np.float64)  # unbatched (C,) logits
    assert lu.cross_entropy([1, 2, 3], 2, reduction="none").shape == ()
    assert lu.grad_cross_entropy([1, 2, 3], 2).shape == (3,)


@functions(ALL)
def test_inputs_are_never_modified(fn):
    # The implementations work in place on their own temporaries, never on the caller's arrays.
    rng = np.random.default_rng(0)
    first, target = valid_args(fn)
    first = rng.uniform(0.1, 0.9, first.shape) if first.dtype.kind == "f" else first
    args = [first.copy(), target.copy()]
    kw = {}
    if fn in (lu.mse, lu.grad_mse, lu.huber, lu.grad_huber):
        kw["weight"] = np.ones(first.shape)
    if fn in (lu.cross_entropy, lu.grad_cross_entropy):
        kw.update(weight=np.ones(3), label_smoothing=0.1)
    saved = [a.copy() for a in args] + [v.copy() for v in kw.values() if isinstance(v, np.ndarray)]
    for reduction in ("none", "sum", "mean"):
        fn(*args, reduction=reduction, **kw)
    for before, after in zip(saved, args + [v for v in kw.values() if isinstance(v, np.ndarray)]):
        np.testing.assert_array_equal(before, after)


@functions(ELEMENTWISE + BINARY)
def test_zero_dimensional_inputs(fn):
    if fn in (lu.multilabel_soft_margin_loss, lu.grad_multilabel_soft_margin_loss):
        with pytest.raises(
            ValueError, match=r"logits must have shape \(N, L\) or \(L,\), got a scalar"
        ):
            fn(0.3, 1.0)
        return
    out = fn(0.3, 1.0, reduction="none")
    assert np.shape(out) == () and np.isfinite(out)
    assert np.isfinite(fn(0.3, 1.0))


# ---------------------------------------------------------------- issue 17's losses

# Losses whose arguments are of the kinds issue 17 added (a variance, a ranking, a triplet, ...);
# their shape and value checks are in tests/test_probabilistic.py, test_margins.py and
# test_scoring.py, and these generic ones apply to all of them.
ISSUE17 = loss_and_gradient(*ISSUE17_KINDS)


def required(fn) -> dict:
    """The keyword arguments that have no default (the pinball loss's quantile)."""
    return {"quantile": 0.3} if "pinball" in fn.__name__ else {}


@functions(ISSUE17)
def test_issue17_bad_reduction(fn):
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', .*got 'avg'"):
        fn(*valid_args(fn), reduction="avg", **required(fn))


@functions(ISSUE17)
def test_issue17_inputs_are_never_modified(fn):
    args = valid_args(fn)
    saved = [a.copy() for a in args]
    for reduction in REDUCTIONS:
        out = fn(*args, reduction=reduction, **required(fn))
        assert np.all(np.isfinite(out))
    for before, after in zip(saved, args):
        np.testing.assert_array_equal(before, after)


@functions(ISSUE17)
def test_issue17_non_numeric_first_argument(fn):
    first, *rest = valid_args(fn)
    bad = np.full(first.shape, "a")
    with pytest.raises(TypeError, match=rf"{first_argument(fn)} must be an array of real numbers"):
        fn(bad, *rest, **required(fn))
