"""lossutils.metrics against direct implementations of each formula: plain Python loops over
examples, labels, thresholds and pairs, written independently of the vectorised code."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lossutils import metrics as M

SETTINGS = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------
# Direct formulas
# --------------------------------------------------------------------------


def counts(pred, target):
    tp = sum(1 for p, t in zip(pred, target) if p and t)
    fp = sum(1 for p, t in zip(pred, target) if p and not t)
    fn = sum(1 for p, t in zip(pred, target) if not p and t)
    return tp, fp, fn


def direct_prf(pred, target, which):
    """Per-label precision, recall or F1 (0 where undefined), and the micro value."""
    pred, target = np.atleast_2d(np.asarray(pred).T).T, np.atleast_2d(np.asarray(target).T).T
    per, totals = [], [0, 0, 0]
    for j in range(pred.shape[1]):
        tp, fp, fn = counts(pred[:, j].tolist(), target[:, j].tolist())
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        per.append(ratio(tp, fp, fn, which))
    return per, ratio(*totals, which)


def ratio(tp, fp, fn, which):
    num, den = {
        "precision": (tp, tp + fp),
        "recall": (tp, tp + fn),
        "f1": (2 * tp, 2 * tp + fp + fn),
    }[which]
    return num / den if den else 0.0


def direct_curve(scores, target):
    """(threshold, precision, recall) for each distinct score, highest first."""
    rows = []
    n_pos = sum(target)
    for thr in sorted(set(scores), reverse=True):
        pred = [s >= thr for s in scores]
        tp, fp, _ = counts(pred, target)
        rows.append((thr, tp / (tp + fp), tp / n_pos))
    return rows


def direct_ap(scores, target):
    """The mean over positives of the precision of 'score >= that positive's score'."""
    precisions = []
    for s_i, t_i in zip(scores, target):
        if t_i:
            pred = [s >= s_i for s in scores]
            tp, fp, _ = counts(pred, target)
            precisions.append(tp / (tp + fp))
    return sum(precisions) / len(precisions)


def direct_auc(scores, target):
    """The Mann-Whitney statistic: pairs (positive, negative) in order, ties one half."""
    pos = [s for s, t in zip(scores, target) if t]
    neg = [s for s, t in zip(scores, target) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def direct_ece(confidence, correct, n_bins):
    edges = np.linspace(0, 1, n_bins + 1).tolist()
    total = 0.0
    for k in range(n_bins):
        lo, hi = edges[k], edges[k + 1]
        members = [i for i, c in enumerate(confidence) if (lo < c <= hi) or (k == 0 and c == 0)]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(confidence[i] for i in members) / len(members)
            total += len(members) / len(confidence) * abs(acc - conf)
    return total


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------


@st.composite
def labels(draw, min_labels=1, max_labels=4):
    n = draw(st.integers(1, 30))
    m = draw(st.integers(min_labels, max_labels))
    shape = draw(st.sampled_from([(n,), (n, m)]))
    pred = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)))
    target = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)))
    return pred, target


@st.composite
def ranked(draw, need_negative=True):
    """Scores (many ties: drawn from a few values) and 0/1 targets with both classes."""
    n = draw(st.integers(2, 40))
    scores = draw(
        hnp.arrays(np.float64, n, elements=st.sampled_from([-2.0, -0.5, 0.0, 0.3, 1.0]))
        | hnp.arrays(np.float64, n, elements=st.floats(-5, 5))
    )
    target = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    target[0] = 1
    if need_negative:
        target[1] = 0
    return scores, target


# --------------------------------------------------------------------------
# Hard predictions
# --------------------------------------------------------------------------


@SETTINGS
@given(case=labels(), which=st.sampled_from(["precision", "recall", "f1"]))
def test_precision_recall_f1_are_the_count_formulas(case, which):
    pred, target = case
    fn = {"precision": M.precision, "recall": M.recall, "f1": M.f1_score}[which]
    per, micro = direct_prf(pred, target, which)
    assert fn(pred, target, average="micro") == pytest.approx(micro, abs=1e-15)
    assert fn(pred, target, average="macro") == pytest.approx(np.mean(per), abs=1e-15)
    got = fn(pred, target, average="none")
    if pred.ndim == 1:
        assert isinstance(got, float) and got == pytest.approx(per[0], abs=1e-15)
    else:
        np.testing.assert_allclose(got, per, atol=1e-15)


def test_f1_micro_and_macro_differ_on_a_rare_label():
    # label 0: common and right; label 1: rare and missed. Macro F1 counts the miss as half.
    target = np.array([[1, 0]] * 9 + [[1, 1]])
    pred = np.array([[1, 0]] * 10)
    assert M.f1_score(pred, target, average="macro") == pytest.approx(0.5)
    assert M.f1_score(pred, target, average="micro") == pytest.approx(20 / 21)


def test_zero_division():
    assert M.precision([0, 0], [1, 0]) == 0.0
    assert M.precision([0, 0], [1, 0], zero_division=1.0) == 1.0
    assert math.isnan(M.recall([1, 0], [0, 0], zero_division=float("nan")))


def test_bool_and_float_inputs_agree_with_integers():
    pred, target = np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1])
    want = M.f1_score(pred, target)
    assert M.f1_score(pred.astype(bool), target.astype(float)) == want


@SETTINGS
@given(
    pred=hnp.arrays(np.int64, 20, elements=st.integers(0, 2)),
    target=hnp.arrays(np.int64, 20, elements=st.integers(0, 2)),
)
def test_balanced_accuracy_is_the_mean_recall_per_class(pred, target):
    classes = sorted(set(target.tolist()))
    want = np.mean(
        [
            sum(1 for p, t in zip(pred, target) if t == c and p == c) / list(target).count(c)
            for c in classes
        ]
    )
    assert M.balanced_accuracy(pred, target) == pytest.approx(want, abs=1e-15)


def test_balanced_accuracy_takes_bce_style_float_and_bool_labels():
    target = np.array([0.0, 0.0, 1.0, 1.0])
    assert M.balanced_accuracy(np.array([False, True, True, True]), target) == 0.75
    assert M.balanced_accuracy([0.0, 1.0, 1.0, 1.0], target.astype(int)) == 0.75


def test_balanced_accuracy_of_the_majority_vote_is_one_half():
    target = np.r_[np.zeros(99, int), 1]
    assert M.balanced_accuracy(np.zeros(100, int), target) == 0.5
    assert np.mean(np.zeros(100) == target) == 0.99  # the accuracy trap


# --------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------


@SETTINGS
@given(case=ranked(need_negative=False))
def test_precision_recall_curve_is_one_point_per_distinct_score(case):
    scores, target = case
    curve = M.precision_recall_curve(scores, target)
    want = np.array(direct_curve(scores.tolist(), target.tolist()))
    np.testing.assert_array_equal(curve.thresholds, want[:, 0])
    np.testing.assert_allclose(curve.precision, want[:, 1], atol=1e-15)
    np.testing.assert_allclose(curve.recall, want[:, 2], atol=1e-15)


@SETTINGS
@given(case=ranked(need_negative=False))
def test_average_precision_is_the_mean_precision_at_each_positive(case):
    scores, target = case
    want = direct_ap(scores.tolist(), target.tolist())
    assert M.average_precision(scores, target) == pytest.approx(want, abs=1e-14)


@SETTINGS
@given(case=ranked(), min_precision=st.floats(0.05, 1.0))
def test_recall_at_precision_is_the_best_recall_reaching_the_precision(case, min_precision):
    scores, target = case
    rows = direct_curve(scores.tolist(), target.tolist())
    want = max([r for _, p, r in rows if p >= min_precision], default=0.0)
    assert M.recall_at_precision(scores, target, min_precision=min_precision) == want


@SETTINGS
@given(case=ranked())
def test_roc_auc_is_the_mann_whitney_statistic(case):
    scores, target = case
    want = direct_auc(scores.tolist(), target.tolist())
    assert M.roc_auc(scores, target) == pytest.approx(want, abs=1e-14)


@SETTINGS
@given(case=ranked())
def test_roc_curve_runs_from_origin_to_one_through_each_threshold(case):
    scores, target = case
    curve = M.roc_curve(scores, target)
    assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0, 0, 1, 1)
    assert curve.thresholds[0] == np.inf
    for thr, fpr, tpr in zip(curve.thresholds[1:], curve.fpr[1:], curve.tpr[1:]):
        pred = scores >= thr
        assert fpr == pytest.approx(np.mean(pred[target == 0]), abs=1e-15)
        assert tpr == pytest.approx(np.mean(pred[target == 1]), abs=1e-15)


def test_ranking_metrics_depend_only_on_the_order_of_the_scores():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=300)
    target = (rng.random(300) < 1 / (1 + np.exp(-logits))).astype(int)
    probs = 1 / (1 + np.exp(-logits))
    for fn in (M.average_precision, M.roc_auc):
        assert fn(logits, target) == pytest.approx(fn(probs, target), abs=1e-15)
        assert fn(3 * logits - 7, target) == pytest.approx(fn(logits, target), abs=1e-15)


def test_perfect_reversed_and_random_rankings():
    target = np.r_[np.ones(10, int), np.zeros(990, int)]
    scores = -np.arange(1000.0)  # positives first
    assert M.average_precision(scores, target) == 1.0
    assert M.roc_auc(scores, target) == 1.0
    assert M.roc_auc(-scores, target) == 0.0
    rng = np.random.default_rng(1)
    many = np.tile(target, 200)
    # A random ranking: AP near the positive fraction (0.01), AUC near one half.
    assert abs(M.average_precision(rng.random(many.size), many) - 0.01) < 0.002
    assert abs(M.roc_auc(rng.random(many.size), many) - 0.5) < 0.02


@SETTINGS
@given(
    scores=hnp.arrays(np.float64, (12, 3), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0])),
    target=hnp.arrays(np.int64, (12, 3), elements=st.integers(0, 1)),
)
def test_multilabel_averages_of_ranking_metrics(scores, target):
    target[0, :], target[1, :2] = 1, 0  # labels 0 and 1 have both classes; label 2 may not
    for fn, direct in ((M.average_precision, direct_ap), (M.roc_auc, direct_auc)):
        per = []
        for j in range(3):
            col = target[:, j].tolist()
            need_negative = fn is M.roc_auc
            ok = any(col) and (not need_negative or not all(col))
            per.append(direct(scores[:, j].tolist(), col) if ok else np.nan)
        np.testing.assert_allclose(fn(scores, target, average="none"), per, atol=1e-14)
        assert fn(scores, target, average="macro") == pytest.approx(np.nanmean(per), abs=1e-14)
        want_micro = direct(scores.ravel().tolist(), target.ravel().tolist())
        assert fn(scores, target, average="micro") == pytest.approx(want_micro, abs=1e-14)


# --------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------


@st.composite
def distributions(draw):
    n = draw(st.integers(1, 40))
    c = draw(st.integers(2, 5))
    raw = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0.01, 10)))
    target = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return raw / raw.sum(axis=1, keepdims=True), target


@SETTINGS
@given(case=distributions(), n_bins=st.integers(1, 20))
def test_ece_is_the_bin_weighted_gap(case, n_bins):
    probs, target = case
    confidence = probs.max(axis=1).tolist()
    correct = (probs.argmax(axis=1) == target).tolist()
    want = direct_ece(confidence, correct, n_bins)
    got = M.expected_calibration_error(probs, target, n_bins=n_bins)
    assert got == pytest.approx(want, abs=1e-14)


@SETTINGS
@given(
    p=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1)),
    data=st.data(),
    n_bins=st.integers(1, 20),
)
def test_binary_probabilities_are_the_two_class_distribution(p, data, n_bins):
    y = data.draw(hnp.arrays(np.int64, p.shape, elements=st.integers(0, 1)))
    # argmax of [1 - p, p] picks class 0 on a tie (p = 0.5); the binary reading predicts 1
    # there, so compare away from the tie.
    p_safe = np.where(p == 0.5, 0.75, p)
    two = np.stack([1 - p_safe, p_safe], axis=1)
    got = M.expected_calibration_error(p_safe, y, n_bins=n_bins)
    assert got == pytest.approx(M.expected_calibration_error(two, y, n_bins=n_bins), abs=1e-14)


def test_calibration_curve_bins_and_extremes():
    # Always right with confidence 1: ECE 0. Always wrong with confidence 1: ECE 1.
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert M.expected_calibration_error(probs, np.array([0, 1])) == 0.0
    assert M.expected_calibration_error(probs, np.array([1, 0])) == 1.0
    bins = M.calibration_curve(np.array([0.95, 0.85, 0.05]), np.array([1, 0, 0]), n_bins=10)
    np.testing.assert_allclose(bins.confidence, [0.85, 0.95])
    np.testing.assert_array_equal(bins.accuracy, [0.0, 1.0])
    np.testing.assert_array_equal(bins.count, [1, 2])


def test_a_calibrated_predictor_has_small_ece():
    rng = np.random.default_rng(2)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert M.expected_calibration_error(p, y) < 0.01
    assert M.expected_calibration_error(p**3, y) > 0.1  # over-confident in "negative"


# --------------------------------------------------------------------------
# Bad input: each error names the argument and says what came
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: M.precision([0.3, 0.9], [0, 1]),
            ValueError,
            r"pred must hold only 0 and 1.*threshold",
        ),
        (
            lambda: M.recall([1, 0], [1, 0, 1]),
            ValueError,
            r"pred and target must have the same shape",
        ),
        (lambda: M.f1_score([1, 0], [2, 0]), ValueError, r"target must hold only 0 and 1"),
        (
            lambda: M.f1_score([1, 0], [1, 0], average="weighted"),
            ValueError,
            r"average must be one of",
        ),
        (lambda: M.f1_score([1], [1], zero_division=0.5), ValueError, r"zero_division must be"),
        (lambda: M.precision(["a"], [1]), TypeError, r"pred must hold 0/1 values, got dtype"),
        (lambda: M.precision([], []), ValueError, r"pred must not be empty"),
        (
            lambda: M.precision(np.zeros((2, 2, 2)), np.zeros((2, 2, 2))),
            ValueError,
            r"pred must have shape \(N,\)",
        ),
        (
            lambda: M.balanced_accuracy([0.5], [1]),
            ValueError,
            r"pred must hold class labels \(whole numbers\).*threshold",
        ),
        (
            lambda: M.balanced_accuracy(["a"], [1]),
            TypeError,
            r"pred must hold class labels \(integers or 0/1\)",
        ),
        (lambda: M.average_precision([0.1, 0.2], [0, 0]), ValueError, r"no positive example"),
        (lambda: M.average_precision([np.nan, 0.2], [0, 1]), ValueError, r"scores must be finite"),
        (
            lambda: M.average_precision([[0.1], [0.2]], [0, 1]),
            ValueError,
            r"scores and target must have the same shape",
        ),
        (lambda: M.roc_auc([0.1, 0.2], [1, 1]), ValueError, r"no negative example"),
        (lambda: M.roc_auc([[0.1, 0.2]] * 2, [[1, 1]] * 2), ValueError, r"no label with both"),
        (
            lambda: M.precision_recall_curve([[0.1, 0.2]] * 2, [[1, 0]] * 2),
            ValueError,
            r"scores must have shape \(N,\) for one curve",
        ),
        (
            lambda: M.recall_at_precision([0.1, 0.2], [0, 1], min_precision=0),
            ValueError,
            r"min_precision must be in \(0, 1\]",
        ),
        (
            lambda: M.recall_at_precision([0.1], [1], min_precision="high"),
            TypeError,
            r"min_precision must be a number",
        ),
        (
            lambda: M.expected_calibration_error([1.5, 0.2], [1, 0]),
            ValueError,
            r"probs must lie in \[0, 1\].*sigmoid or softmax",
        ),
        (
            lambda: M.expected_calibration_error([[0.5, 0.2]], [0]),
            ValueError,
            r"each row of probs must sum to 1",
        ),
        (
            lambda: M.expected_calibration_error([[0.5, 0.5]], [2]),
            ValueError,
            r"class index outside \[0, 2\)",
        ),
        (
            lambda: M.expected_calibration_error([[0.5, 0.5]], [0.0]),
            TypeError,
            r"target must hold integer class indices",
        ),
        (lambda: M.expected_calibration_error([[1.0]], [0]), ValueError, r"C >= 2"),
        (
            lambda: M.expected_calibration_error([0.5], [1], n_bins=0),
            ValueError,
            r"n_bins must be >= 1",
        ),
        (
            lambda: M.expected_calibration_error([0.5], [1], n_bins=2.0),
            TypeError,
            r"n_bins must be an integer",
        ),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
