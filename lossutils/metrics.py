r"""Evaluation metrics: the numbers reported about a classifier, as opposed to the losses it is
trained on.

A loss must be differentiable and is averaged over a batch; a metric answers a question a user
asks ("of the alarms raised, how many were real?") and is often a step function of the model's
scores, so it is computed after training, on held-out data, and has no gradient.

Three families, by what they take:

* **hard predictions** (0/1 decisions, e.g. ``scores >= threshold``): :func:`precision`,
  :func:`recall`, :func:`f1_score` and :func:`balanced_accuracy`;
* **scores** (logits or probabilities: only their order matters) for every threshold at once:
  :func:`precision_recall_curve`, :func:`average_precision`, :func:`recall_at_precision`,
  :func:`roc_curve` and :func:`roc_auc`;
* **probabilities**: :func:`calibration_curve` and :func:`expected_calibration_error`.

Binary inputs have shape ``(N,)``; multi-label inputs ``(N, L)``, one column per label, and an
``average=`` argument that says how the labels are combined: ``"micro"`` pools every (example,
label) pair into one problem, ``"macro"`` computes the metric per label and takes the
unweighted mean (so a rare label counts as much as a common one), ``"none"`` returns the
per-label values. Targets are 0/1 (booleans, integers or floats equal to 0 or 1).

These functions follow the definitions of scikit-learn's ``sklearn.metrics`` (which the course
does not depend on); each docstring states its formula, and the tests check each against a
direct, loop-by-loop implementation of that formula.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import registry
from ._validation import check_integer, check_same_shape

__all__ = registry.exports("metrics")

AVERAGES = ("micro", "macro", "none")


# --------------------------------------------------------------------------
# Input checks: each error names the argument, what was expected and what came
# --------------------------------------------------------------------------


def _as_binary(x: ArrayLike, name: str, hint: str = "") -> np.ndarray:
    """0/1 values (booleans, integers or floats) as a boolean array of shape (N,) or (N, L)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold 0/1 values, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (N,) (binary) or (N, L) (multi-label), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype.kind != "b":
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            raise ValueError(
                f"{name} must hold only 0 and 1, got {int(bad.sum())} other value(s), "
                f"e.g. {arr[bad].flat[0]}{hint}"
            )
    return arr.astype(bool)


def _as_scores(x: ArrayLike, name: str) -> np.ndarray:
    """Finite real scores of shape (N,) or (N, L), as float64."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (N,) (binary) or (N, L) (multi-label), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN/inf")
    return arr


def _check_average(average: str) -> None:
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")


def _check_zero_division(zero_division: float) -> float:
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)):
        raise TypeError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    if not (np.isnan(zero_division) or zero_division in (0, 1)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return float(zero_division)


def _score_inputs(scores: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = _as_scores(scores, "scores")
    t = _as_binary(target, "target")
    check_same_shape(s, t, "scores", "target")
    return s, t


def _prediction_inputs(pred: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    hint = " (threshold scores first, e.g. pred = probs >= 0.5)"
    p = _as_binary(pred, "pred", hint)
    t = _as_binary(target, "target")
    check_same_shape(p, t, "pred", "target")
    return p, t


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    """num / den elementwise, ``zero_division`` where den is 0."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.full(np.broadcast(num, den).shape, zero_division)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _result(values: np.ndarray) -> float | np.ndarray:
    """A per-label result: a Python float for one value, else the array."""
    return float(values) if np.ndim(values) == 0 else values


# --------------------------------------------------------------------------
# Hard predictions
# --------------------------------------------------------------------------


def _counts(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per label (axis 0 summed)."""
    tp = (pred & target).sum(axis=0)
    fp = (pred & ~target).sum(axis=0)
    fn = (~pred & target).sum(axis=0)
    return tp, fp, fn


def _averaged(num, den, average: str, zero_division: float) -> float | np.ndarray:
    """``num / den`` combined over labels: micro pools the counts, macro averages the ratios."""
    if average == "micro":
        return _result(_ratio(np.sum(num), np.sum(den), zero_division))
    per_label = _ratio(num, den, zero_division)
    if average == "macro":
        return float(np.mean(per_label))
    return _result(per_label)


def precision(
    pred: ArrayLike, target: ArrayLike, *, average: str = "micro", zero_division: float = 0.0
) -> float | np.ndarray:
    r"""Precision: of the examples predicted positive, the fraction that are positive.

    It answers "when the model raises an alarm, how often is it right?". Predicting nothing
    positive leaves it undefined (0 / 0): ``zero_division`` is returned then.

    .. math::
        \mathrm{precision} = \frac{TP}{TP + FP}

    Args:
      pred: 0/1 predictions, shape ``(N,)`` or ``(N, L)`` (threshold scores first).
      target: 0/1 targets of the same shape.
      average: ``"micro"`` (default: TP and FP summed over labels), ``"macro"`` (the mean of the
        per-label precisions) or ``"none"`` (one per label). For ``(N,)`` inputs all three agree.
      zero_division: the value where :math:`TP + FP = 0`: 0.0 (default, as scikit-learn),
        1.0 or nan.

    Returns:
      A float, or for ``average="none"`` with ``(N, L)`` inputs an array of shape ``(L,)``.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> precision([1, 1, 0, 0], [1, 0, 1, 0])
      0.5
    """
    _check_average(average)
    zero_division = _check_zero_division(zero_division)
    p, t = _prediction_inputs(pred, target)
    tp, fp, _ = _counts(p, t)
    return _averaged(tp, tp + fp, average, zero_division)


def recall(
    pred: ArrayLike, target: ArrayLike, *, average: str = "micro", zero_division: float = 0.0
) -> float | np.ndarray:
    r"""Recall (sensitivity, true-positive rate): of the positives, the fraction predicted positive.

    It answers "of the cases that matter, how many did the model find?". A label with no
    positive example leaves it undefined (0 / 0): ``zero_division`` is returned then.

    .. math::
        \mathrm{recall} = \frac{TP}{TP + FN}

    Args:
      pred: 0/1 predictions, shape ``(N,)`` or ``(N, L)``.
      target: 0/1 targets of the same shape.
      average: ``"micro"`` (default), ``"macro"`` or ``"none"``, as in :func:`precision`.
      zero_division: the value where :math:`TP + FN = 0`: 0.0 (default), 1.0 or nan.

    Returns:
      A float, or for ``average="none"`` with ``(N, L)`` inputs an array of shape ``(L,)``.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> recall([1, 0, 0, 0], [1, 1, 0, 0])
      0.5
    """
    _check_average(average)
    zero_division = _check_zero_division(zero_division)
    p, t = _prediction_inputs(pred, target)
    tp, _, fn = _counts(p, t)
    return _averaged(tp, tp + fn, average, zero_division)


def f1_score(
    pred: ArrayLike, target: ArrayLike, *, average: str = "micro", zero_division: float = 0.0
) -> float | np.ndarray:
    r"""F1 score: the harmonic mean of precision and recall.

    High only when both are: predicting everything positive gives recall 1 but, for a rare
    class, precision near 0 and so F1 near 0. Micro F1 pools the counts of every label, so
    common labels dominate it; macro F1 is the mean of the per-label F1 scores, so every label
    counts equally, however rare.

    .. math::
        F_1 = \frac{2\,\mathrm{precision}\cdot\mathrm{recall}}{\mathrm{precision}+\mathrm{recall}}
            = \frac{2\,TP}{2\,TP + FP + FN}

    Args:
      pred: 0/1 predictions, shape ``(N,)`` or ``(N, L)``.
      target: 0/1 targets of the same shape.
      average: ``"micro"`` (default: one F1 from the counts summed over labels), ``"macro"``
        (the mean of the per-label F1) or ``"none"`` (one per label).
      zero_division: the value where :math:`2TP + FP + FN = 0` (a label never predicted and
        never present): 0.0 (default, as scikit-learn), 1.0 or nan.

    Returns:
      A float, or for ``average="none"`` with ``(N, L)`` inputs an array of shape ``(L,)``.

    References:
      van Rijsbergen, *Information Retrieval*, 2nd ed., 1979 (the F measure).

    Taught in: :ref:`multi-label`

    Example:
      >>> pred = [[1, 0], [1, 0], [0, 1]]
      >>> target = [[1, 0], [1, 0], [0, 0]]
      >>> f1_score(pred, target, average="micro"), f1_score(pred, target, average="macro")
      (0.8, 0.5)
    """
    _check_average(average)
    zero_division = _check_zero_division(zero_division)
    p, t = _prediction_inputs(pred, target)
    tp, fp, fn = _counts(p, t)
    return _averaged(2 * tp, 2 * tp + fp + fn, average, zero_division)


def _as_labels(x: ArrayLike, name: str) -> np.ndarray:
    """Class labels of shape (N,): booleans, integers, or floats holding whole numbers (0.0/1.0
    targets, as BCE takes them)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold class labels (integers or 0/1), got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (N,), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        bad = arr != np.round(arr)
        if bad.any():
            raise ValueError(
                f"{name} must hold class labels (whole numbers), got {int(bad.sum())} other "
                f"value(s), e.g. {arr[bad].flat[0]} (threshold scores first, e.g. probs >= 0.5)"
            )
    return arr.astype(np.int64)


def balanced_accuracy(pred: ArrayLike, target: ArrayLike) -> float:
    r"""Balanced accuracy: the mean over classes of the recall of each class.

    Plain accuracy counts examples, so on data with 99 % negatives a model that always says
    "negative" scores 0.99; balanced accuracy counts classes, so it scores 0.5, chance level.
    For two classes it is the mean of the true-positive and true-negative rates.

    .. math::
        \mathrm{BA} = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}}
            \frac{\#\{i : \hat y_i = c,\ y_i = c\}}{\#\{i : y_i = c\}}

    where :math:`\mathcal{C}` is the set of classes present in ``target``.

    Args:
      pred: predicted class labels, shape ``(N,)``: 0/1 (booleans, integers or floats such as
        BCE's 0.0/1.0 targets) for a binary problem, or integer class indices.
      target: true class labels of the same shape.

    Returns:
      A float in [0, 1].

    References:
      Brodersen et al., "The balanced accuracy and its posterior distribution", ICPR 2010.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> balanced_accuracy([0, 0, 0, 0], [0, 0, 0, 1])  # always "negative": chance level
      0.5
    """
    p, t = _as_labels(pred, "pred"), _as_labels(target, "target")
    check_same_shape(p, t, "pred", "target")
    classes = np.unique(t)
    return float(np.mean([np.mean(p[t == c] == c) for c in classes]))


# --------------------------------------------------------------------------
# Scores: every threshold at once
# --------------------------------------------------------------------------


class PRCurve(NamedTuple):
    """Precision and recall at each threshold (see :func:`precision_recall_curve`)."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray


class ROCCurve(NamedTuple):
    """False- and true-positive rates at each threshold (see :func:`roc_curve`)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _cumulative_counts(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct score, highest first: the threshold and the counts of positives and
    negatives predicted positive by ``s >= threshold``. Tied scores share one threshold."""
    order = np.argsort(-s)  # the order within a tie does not matter: ties share a threshold
    s, t = s[order], t[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(t)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return s[last_of_tie], tp.astype(np.float64), fp.astype(np.float64)


def _need_both_classes(t: np.ndarray, what: str, *, negatives: bool = True) -> None:
    if not t.any():
        raise ValueError(f"target has no positive example: {what} is undefined")
    if negatives and t.all():
        raise ValueError(f"target has no negative example: {what} is undefined")


def precision_recall_curve(scores: ArrayLike, target: ArrayLike) -> PRCurve:
    r"""Precision and recall of the rule "positive if score >= threshold", for every threshold.

    The thresholds are the distinct scores, highest first, so recall rises from left to right
    and the last point predicts everything positive (recall 1, precision = the positive
    fraction). Scores may be logits or probabilities: only their order matters. No artificial
    end point is added (scikit-learn appends precision 1 at recall 0).

    Args:
      scores: real scores, shape ``(N,)``; higher means "more likely positive".
      target: 0/1 targets, shape ``(N,)``, with at least one positive.

    Returns:
      A ``PRCurve(precision, recall, thresholds)`` of three arrays of one length, the number of
      distinct scores.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> curve = precision_recall_curve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
      >>> curve.precision.tolist(), curve.recall.tolist()
      ([1.0, 0.5, 0.6666666666666666, 0.5], [0.5, 0.5, 1.0, 1.0])
    """
    s, t = _score_inputs(scores, target)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (N,) for one curve, got shape {s.shape}")
    _need_both_classes(t, "recall", negatives=False)
    thresholds, tp, fp = _cumulative_counts(s, t)
    return PRCurve(tp / (tp + fp), tp / tp[-1], thresholds)


def _average_precision_1d(s: np.ndarray, t: np.ndarray) -> float:
    curve = precision_recall_curve(s, t)
    recall_steps = np.diff(curve.recall, prepend=0.0)
    return float(np.sum(recall_steps * curve.precision))


def _over_labels(fn, s: np.ndarray, t: np.ndarray, average: str, *, negatives: bool = True):
    """Apply a binary ranking metric per label; labels it is undefined for give nan."""
    if s.ndim == 1:
        return fn(s, t)
    if average == "micro":
        return fn(s.ravel(), t.ravel())
    defined = t.any(axis=0) & (~t.all(axis=0) if negatives else True)
    per_label = np.array(
        [fn(s[:, j], t[:, j]) if defined[j] else np.nan for j in range(s.shape[1])]
    )
    if average == "none":
        return per_label
    if not defined.any():
        raise ValueError(
            "target has no label with both a positive and a negative example"
            if negatives
            else "target has no label with a positive example"
        )
    return float(np.mean(per_label[defined]))


def average_precision(scores: ArrayLike, target: ArrayLike, *, average: str = "macro") -> float:
    r"""Average precision (AP): the area under the precision-recall curve, as a step function.

    Each threshold's precision is weighted by the recall it adds, so AP is the mean, over the
    positives, of the precision at the rank where each is found (ties grouped). It is 1 for a
    perfect ranking and about the positive fraction for a random one, which makes it the
    summary of choice for a rare class. For multi-label data, ``average="macro"`` (the
    default) is the *mean average precision* (mAP) reported for tagging tasks.

    .. math::
        \mathrm{AP} = \sum_k (R_k - R_{k-1})\, P_k, \qquad R_0 = 0,

    over the thresholds :math:`k` of :func:`precision_recall_curve` (scikit-learn's
    ``average_precision_score``; no interpolation).

    Args:
      scores: real scores (logits or probabilities), shape ``(N,)`` or ``(N, L)``.
      target: 0/1 targets of the same shape.
      average: for ``(N, L)``: ``"macro"`` (default: mAP, the mean over the labels that have a
        positive example), ``"micro"`` (one AP over every (example, label) pair) or ``"none"``
        (one per label, nan for a label with no positive).

    Returns:
      A float, or for ``average="none"`` with ``(N, L)`` inputs an array of shape ``(L,)``.

    Raises:
      ValueError: if ``target`` has no positive (in any label, for macro).

    References:
      Manning, Raghavan & Schütze, *Introduction to Information Retrieval*, 2008, sec. 8.4.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> average_precision([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])  # (1/1 + 2/3) / 2
      0.8333333333333333
    """
    _check_average(average)
    s, t = _score_inputs(scores, target)
    return _over_labels(_average_precision_1d, s, t, average, negatives=False)


def recall_at_precision(scores: ArrayLike, target: ArrayLike, *, min_precision: float) -> float:
    r"""The highest recall of any threshold whose precision is at least ``min_precision``.

    An operating point a user can state: "at most one false alarm per true one"
    (``min_precision=0.5``), "find as many as you can". It is 0 if no threshold reaches that
    precision.

    .. math::
        \max_k \{\, R_k : P_k \ge p_{\min} \,\}

    Args:
      scores: real scores, shape ``(N,)``.
      target: 0/1 targets, shape ``(N,)``, with at least one positive.
      min_precision: the precision to reach, in (0, 1].

    Returns:
      A float in [0, 1].

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> recall_at_precision([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], min_precision=0.6)
      1.0
    """
    if isinstance(min_precision, bool) or not isinstance(min_precision, (int, float, np.floating)):
        raise TypeError(f"min_precision must be a number in (0, 1], got {min_precision!r}")
    if not 0 < min_precision <= 1:
        raise ValueError(f"min_precision must be in (0, 1], got {min_precision!r}")
    curve = precision_recall_curve(scores, target)
    reached = curve.precision >= min_precision
    return float(curve.recall[reached].max()) if reached.any() else 0.0


def roc_curve(scores: ArrayLike, target: ArrayLike) -> ROCCurve:
    r"""False-positive and true-positive rates of "positive if score >= threshold", per threshold.

    The thresholds are the distinct scores, highest first, preceded by :math:`+\infty` (nothing
    predicted positive), so the curve runs from (0, 0) to (1, 1). The true-positive rate is the
    recall; the false-positive rate is the fraction of negatives predicted positive.

    Args:
      scores: real scores, shape ``(N,)``.
      target: 0/1 targets, shape ``(N,)``, with at least one positive and one negative.

    Returns:
      A ``ROCCurve(fpr, tpr, thresholds)`` of three arrays of one length.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> curve = roc_curve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
      >>> curve.fpr.tolist(), curve.tpr.tolist()
      ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    s, t = _score_inputs(scores, target)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (N,) for one curve, got shape {s.shape}")
    _need_both_classes(t, "the ROC curve")
    thresholds, tp, fp = _cumulative_counts(s, t)
    return ROCCurve(np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]], np.r_[np.inf, thresholds])


def _roc_auc_1d(s: np.ndarray, t: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(s, t)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def roc_auc(scores: ArrayLike, target: ArrayLike, *, average: str = "macro") -> float:
    r"""Area under the ROC curve: the probability that a random positive outscores a random
    negative (ties count one half).

    It depends only on the order of the scores, so two models that rank the examples alike have
    the same ROC AUC however differently they would threshold them; and since both axes are
    rates within one class, it barely notices class imbalance, which makes it look good on a
    rare class where average precision does not.

    .. math::
        \mathrm{AUC} = \frac{1}{N_+ N_-} \sum_{i:\,y_i=1} \sum_{j:\,y_j=0}
            \Big( [s_i > s_j] + \tfrac12 [s_i = s_j] \Big)

    (the Mann-Whitney U statistic over :math:`N_+ N_-`), computed as the trapezoidal area under
    :func:`roc_curve`.

    Args:
      scores: real scores, shape ``(N,)`` or ``(N, L)``.
      target: 0/1 targets of the same shape.
      average: for ``(N, L)``: ``"macro"`` (default: the mean over labels that have both
        classes), ``"micro"`` or ``"none"`` (nan for a label without both classes).

    Returns:
      A float in [0, 1], or for ``average="none"`` an array of shape ``(L,)``.

    Raises:
      ValueError: if ``target`` lacks positives or negatives (in every label, for macro).

    References:
      Hanley & McNeil, "The meaning and use of the area under a receiver operating
      characteristic (ROC) curve", Radiology 1982.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> roc_auc([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])  # 3 of the 4 (pos, neg) pairs in order
      0.75
    """
    _check_average(average)
    s, t = _score_inputs(scores, target)
    return _over_labels(_roc_auc_1d, s, t, average)


# --------------------------------------------------------------------------
# Probabilities: calibration
# --------------------------------------------------------------------------


class CalibrationBins(NamedTuple):
    """Per non-empty confidence bin: mean confidence, accuracy and example count."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def _top_class(probs: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The confidence (top-class probability) and correctness of each prediction."""
    p = np.asarray(probs)
    if p.dtype.kind not in "iuf":
        raise TypeError(f"probs must hold probabilities, got dtype {p.dtype}")
    p = p.astype(np.float64)
    if p.ndim not in (1, 2) or p.shape[0] == 0 or (p.ndim == 2 and p.shape[1] < 2):
        raise ValueError(
            f"probs must have shape (N,) (binary: P(y = 1)) or (N, C) with C >= 2 (one "
            f"probability per class), got shape {p.shape}"
        )
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        raise ValueError(
            f"probs must lie in [0, 1], got {int(bad.sum())} value(s) outside, e.g. "
            f"{p[bad].flat[0]} (pass probabilities: sigmoid or softmax of the logits)"
        )
    if p.ndim == 1:
        t = _as_binary(target, "target")
        check_same_shape(p, t, "probs", "target")
        return np.maximum(p, 1 - p), (p >= 0.5) == t
    row_sums = p.sum(axis=1)
    if not np.allclose(row_sums, 1, rtol=0, atol=1e-4):
        worst = row_sums[np.argmax(np.abs(row_sums - 1))]
        raise ValueError(
            f"each row of probs must sum to 1 (a distribution over the classes), got a row "
            f"summing to {worst:.6g}; for independent per-label probabilities, pass each column"
        )
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices for (N, C) probs, got {t.dtype}")
    if t.shape != p.shape[:1]:
        raise ValueError(f"target must have shape {p.shape[:1]}, got shape {t.shape}")
    if t.min() < 0 or t.max() >= p.shape[1]:
        raise ValueError(
            f"target holds a class index outside [0, {p.shape[1]}): {t.min()}..{t.max()}"
        )
    return p.max(axis=1), p.argmax(axis=1) == t


def calibration_curve(probs: ArrayLike, target: ArrayLike, *, n_bins: int = 15) -> CalibrationBins:
    r"""The reliability diagram's points: accuracy against confidence, per confidence bin.

    The confidence of a prediction is its top-class probability. Predictions are grouped into
    ``n_bins`` equal-width bins :math:`(k/B, (k+1)/B]` of confidence (the first bin includes 0);
    a calibrated model is right, in each bin, as often as it is confident: a point on the
    diagonal.

    Binary probabilities of shape ``(N,)`` are read as :math:`P(y = 1)`, that is as the
    two-class distribution :math:`(1 - p, p)`: the prediction is 1 where :math:`p \ge 0.5`
    and its confidence is :math:`\max(p, 1 - p)`, so the result equals that of the ``(N, 2)``
    array ``[1 - p, p]`` (only bins above 0.5 can be filled).

    Args:
      probs: probabilities, shape ``(N, C)`` (rows summing to 1) or ``(N,)`` (binary).
      target: class indices, shape ``(N,)`` (0/1 for binary ``probs``).
      n_bins: the number of equal-width bins on [0, 1], >= 1.

    Returns:
      ``CalibrationBins(confidence, accuracy, count)``: for each non-empty bin, in increasing
      confidence, the mean confidence, the fraction correct and the number of predictions.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> bins = calibration_curve([0.9, 0.9, 0.3, 0.6], [1, 0, 0, 1], n_bins=4)
      >>> bins.confidence.tolist(), bins.accuracy.tolist(), bins.count.tolist()
      ([0.65, 0.9], [1.0, 0.5], [2, 2])
    """
    n_bins = check_integer(n_bins, "n_bins")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    confidence, correct = _top_class(probs, target)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin k holds edges[k] < confidence <= edges[k + 1]; a confidence of 0 joins bin 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    filled = count > 0
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    correct_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=n_bins)
    n = count[filled]
    return CalibrationBins(conf_sum[filled] / n, correct_sum[filled] / n, n)


def expected_calibration_error(probs: ArrayLike, target: ArrayLike, *, n_bins: int = 15) -> float:
    r"""Expected calibration error (ECE): the bin-weighted mean gap between accuracy and
    confidence.

    A model that says "90 %" should be right 90 % of the time. ECE groups predictions into
    equal-width bins of confidence (the top-class probability) and averages, weighted by the
    number of predictions in each bin, the absolute difference between how often the model was
    right and how confident it was. 0 is perfect calibration; it says nothing about accuracy
    (a model that always predicts the majority class with the majority's frequency has ECE
    near 0).

    .. math::
        \mathrm{ECE} = \sum_{b=1}^{B} \frac{|S_b|}{N}
            \,\big|\mathrm{acc}(S_b) - \mathrm{conf}(S_b)\big|

    Binary probabilities of shape ``(N,)`` are read as :math:`P(y = 1)`, i.e. as the
    two-class distribution :math:`(1 - p, p)` (see :func:`calibration_curve`), so the result
    equals that of ``[1 - p, p]`` with ``(N, 2)`` input. This top-label ECE folds the bins
    around 0.5 together: :math:`p = 0.2` and :math:`p = 0.8` share a bin, and their errors
    can cancel. To check the calibration of the positive class alone (a reliability diagram of
    :math:`P(y=1)` against the frequency of :math:`y = 1`), bin ``p`` directly.

    Args:
      probs: probabilities, shape ``(N, C)`` (rows summing to 1) or ``(N,)`` (binary).
      target: class indices, shape ``(N,)`` (0/1 for binary ``probs``).
      n_bins: the number of equal-width confidence bins on [0, 1] (default 15, as Guo et al.).

    Returns:
      A float in [0, 1].

    References:
      Naeini, Cooper & Hauskrecht, "Obtaining well calibrated probabilities using Bayesian
      binning", AAAI 2015. Guo, Pleiss, Sun & Weinberger, "On calibration of modern neural
      networks", ICML 2017.

    Taught in: :ref:`imbalanced-data`

    Example:
      >>> probs = [[0.9, 0.1], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]]
      >>> expected_calibration_error(probs, [0, 1, 1, 1], n_bins=4)  # (2 * 0.4 + 2 * 0.35) / 4
      0.375
      >>> expected_calibration_error([0.1, 0.1, 0.7, 0.6], [0, 1, 1, 1], n_bins=4)  # the same
      0.375
    """
    bins = calibration_curve(probs, target, n_bins=n_bins)
    weights = bins.count / bins.count.sum()
    return float(np.sum(weights * np.abs(bins.accuracy - bins.confidence)))
