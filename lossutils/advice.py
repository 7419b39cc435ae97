r"""Which loss for which task: a small, explicit decision helper.

:func:`choose_loss` turns the three questions that decide most loss choices
(what is the target, how skewed are the classes, are there gross outliers?)
into a :class:`Recommendation`: the ``lossutils`` function to call, the
activation that turns the model's raw output into a prediction, the matching
``torch.nn`` class, the keyword arguments to start from, and one sentence
saying why. The rules are the course's rules of thumb, written down so that
they can be tested and argued with; they are a starting point, not a
substitute for validating on held-out data.

The imbalance rule (evidence: :ref:`imbalanced-data`):

* below :data:`WEIGHTING_THRESHOLD` (3 : 1) the plain loss is kept;
* from 3 : 1, at every ratio, the rare class is weighted by the imbalance ratio.

The chapter trained plain BCE, weighted BCE, the focal loss (two alphas, with its prior-bias
initialisation) and logit adjustment to convergence on a 100 : 1 problem, over five seeds: they
ranked alike (the same average precision and ROC AUC, within the seeds' spread), and differed in
where they put the threshold and in calibration. Weighting by the ratio gave the balanced
accuracy of logit adjustment; the focal loss, which this function recommended from 100 : 1
before that experiment, ranked no better, found the fewest positives with the paper's
:math:`\alpha = 0.25` and gave the least calibrated probabilities, so it is no longer advised for
imbalance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from numbers import Real

__all__ = ["Recommendation", "choose_loss", "TASKS", "WEIGHTING_THRESHOLD"]

#: The task types :func:`choose_loss` knows.
TASKS = ("regression", "binary", "multiclass", "multilabel", "sequence")

#: Imbalance ratio (majority count / minority count) from which the rare class is up-weighted.
WEIGHTING_THRESHOLD = 3.0

_CLASSIFICATION = ("binary", "multiclass", "multilabel")


@dataclass(frozen=True)
class Recommendation:
    """A loss recommendation for one task.

    Attributes:
      loss: the name of the ``lossutils`` function, e.g. ``"huber"``
        (``getattr(lossutils, rec.loss)`` is the function).
      activation: what turns the model's raw output into a prediction:
        ``"identity"``, ``"sigmoid"``, ``"softmax"`` or ``"log_softmax"``. With
        logits the loss applies it internally; apply it yourself only to
        report probabilities.
      pytorch: the name of the matching ``torch.nn`` loss class, e.g.
        ``"HuberLoss"`` (``getattr(torch.nn, rec.pytorch)``).
      reason: one sentence saying why.
      kwargs: keyword arguments for the ``lossutils`` function to start from,
        e.g. ``{"w1": 19.0}``; empty when the defaults are the advice.
    """

    loss: str
    activation: str
    pytorch: str
    reason: str
    kwargs: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        # A private copy: the frozen record must not change if the caller's dict does.
        object.__setattr__(self, "kwargs", dict(self.kwargs))


def _check_task(task):
    if not isinstance(task, str) or task not in TASKS:
        hint = ""
        if isinstance(task, str):
            if task == "imbalanced":
                hint = " (imbalance is not a task: pass task='binary', 'multiclass' or 'multilabel' and imbalance=ratio)"
            elif task.lower().replace("-", "").replace("_", "") in TASKS:
                hint = f" (did you mean {task.lower().replace('-', '').replace('_', '')!r}?)"
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}{hint}")


def _check_imbalance(imbalance, task):
    if imbalance is None:
        return None
    if (
        isinstance(imbalance, bool)
        or not isinstance(imbalance, Real)
        or not math.isfinite(imbalance)
    ):
        raise ValueError(
            f"imbalance must be None or a finite ratio >= 1 (majority count / minority count), "
            f"got {imbalance!r}"
        )
    if imbalance < 1:
        raise ValueError(
            f"imbalance must be a ratio >= 1 (majority count / minority count), got {imbalance!r}; "
            f"for a minority fraction p, pass (1 - p) / p"
        )
    if task not in _CLASSIFICATION:
        raise ValueError(
            f"imbalance applies to the tasks 'binary', 'multiclass' and 'multilabel', "
            f"not to task={task!r}"
        )
    return float(imbalance)


def _check_flag(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


# The recommendation for balanced (or mildly imbalanced) classes, by (task, from_logits).
_BALANCED = {
    ("binary", True): Recommendation(
        "binary_cross_entropy_with_logits",
        "sigmoid",
        "BCEWithLogitsLoss",
        "A yes/no target is a Bernoulli variable: binary cross-entropy on logits is its negative "
        "log-likelihood, with the sigmoid inside the loss for numerical stability.",
    ),
    ("binary", False): Recommendation(
        "binary_cross_entropy",
        "sigmoid",
        "BCELoss",
        "The model already outputs probabilities, so binary cross-entropy takes them directly; "
        "prefer logits and BCEWithLogitsLoss, which stay accurate when the sigmoid saturates.",
    ),
    ("multilabel", True): Recommendation(
        "binary_cross_entropy_with_logits",
        "sigmoid",
        "BCEWithLogitsLoss",
        "Each label is an independent yes/no question, so each gets its own sigmoid and binary "
        "cross-entropy; a softmax would wrongly force the labels to compete.",
    ),
    ("multilabel", False): Recommendation(
        "binary_cross_entropy",
        "sigmoid",
        "BCELoss",
        "Each label is an independent yes/no question and the model already outputs one "
        "probability per label; prefer logits and BCEWithLogitsLoss for stability.",
    ),
    ("multiclass", True): Recommendation(
        "cross_entropy",
        "softmax",
        "CrossEntropyLoss",
        "Exactly one of C classes is right: cross-entropy is the negative log-likelihood of a "
        "categorical distribution, with the log-softmax inside the loss.",
    ),
    ("multiclass", False): Recommendation(
        "nll_loss",
        "log_softmax",
        "NLLLoss",
        "The model ends in a log-softmax, so the negative log-likelihood of the true class is the "
        "cross-entropy; do not add another softmax.",
    ),
    ("sequence", True): Recommendation(
        "sequence_cross_entropy",
        "softmax",
        "CrossEntropyLoss",
        "Each real token is one multi-class prediction over the vocabulary: token-level "
        "cross-entropy with logits of shape (N, C, T), padding skipped through ignore_index.",
    ),
    ("sequence", False): Recommendation(
        "sequence_nll_loss",
        "log_softmax",
        "NLLLoss",
        "The model ends in a log-softmax over the vocabulary, so the token-level negative "
        "log-likelihood is the cross-entropy; padding is skipped through ignore_index.",
    ),
}


def choose_loss(task, *, imbalance=None, outliers=False, from_logits=True):
    r"""Recommend a loss, activation and PyTorch class for a task.

    The target decides the family: a real number calls for a regression loss,
    a yes/no answer for binary cross-entropy, one of ``C`` classes for
    cross-entropy, several independent yes/no answers for one binary
    cross-entropy per label, and tokens for cross-entropy per token. Two
    properties of the data then adjust it: gross outliers make the squared
    error's pull unbounded, so Huber's loss caps it; a rare class contributes
    little to an average loss, so from 3 : 1 it is up-weighted by the
    imbalance ratio, which moves the decision towards it (the measured
    comparison behind this rule is in :ref:`imbalanced-data`).

    Args:
      task: ``'regression'``, ``'binary'``, ``'multiclass'``, ``'multilabel'``
        or ``'sequence'``.
      imbalance: ``None`` (balanced, the default) or the imbalance ratio
        >= 1: negatives per positive for ``'binary'`` (and for the rarest
        label of ``'multilabel'``), largest over smallest class count for
        ``'multiclass'``. Only for the classification tasks.
      outliers: whether the regression targets contain gross outliers that
        should not dominate the fit. Only for ``'regression'``.
      from_logits: ``True`` (the default and the advice) if the model outputs
        raw scores; ``False`` if its last layer already applies the
        activation (a sigmoid for ``'binary'``/``'multilabel'``, a log-softmax
        for ``'multiclass'``/``'sequence'``). Not used for ``'regression'``.

    Returns:
      A :class:`Recommendation` with ``loss``, ``activation``, ``pytorch``,
      ``reason`` and ``kwargs``.

    Raises:
      ValueError: naming the argument, for an unknown task, an imbalance that
        is not a finite ratio >= 1, a non-bool flag, or an option that does
        not apply to the task.

    Example:
      >>> rec = choose_loss("regression", outliers=True)
      >>> rec.loss, rec.activation, rec.pytorch
      ('huber', 'identity', 'HuberLoss')
      >>> choose_loss("binary", imbalance=19).kwargs
      {'w0': 1.0, 'w1': 19.0}
      >>> choose_loss("multiclass", imbalance=500).loss
      'cross_entropy'
      >>> choose_loss("classification")
      Traceback (most recent call last):
      ...
      ValueError: task must be one of 'regression', 'binary', 'multiclass', 'multilabel', 'sequence', got 'classification'
    """
    _check_task(task)
    ratio = _check_imbalance(imbalance, task)
    outliers = _check_flag(outliers, "outliers")
    from_logits = _check_flag(from_logits, "from_logits")
    if outliers and task != "regression":
        raise ValueError(
            f"outliers applies only to task='regression', not to task={task!r}; "
            f"for noisy labels in classification, see label smoothing"
        )

    if task == "regression":
        if outliers:
            return Recommendation(
                "huber",
                "identity",
                "HuberLoss",
                "Huber's loss is quadratic for residuals below delta and linear beyond, so gross "
                "outliers pull with a bounded force; set delta to the residual size beyond which "
                "you stop trusting a point (1.0 suits standardised targets).",
                {"delta": 1.0},
            )
        return Recommendation(
            "mse",
            "identity",
            "MSELoss",
            "With no gross outliers the squared error is smooth, fits the conditional mean and is "
            "the negative log-likelihood of Gaussian noise.",
        )

    if ratio is None or ratio < WEIGHTING_THRESHOLD:
        rec = replace(
            _BALANCED[task, from_logits], kwargs={}
        )  # a fresh copy: callers may edit kwargs
        if ratio is None:
            return rec
        return Recommendation(
            rec.loss,
            rec.activation,
            rec.pytorch,
            f"An imbalance of {ratio:g}:1 is below {WEIGHTING_THRESHOLD:g}:1, which rarely needs a "
            f"correction: keep the plain loss and watch per-class metrics. {rec.reason}",
        )

    if not from_logits:
        raise ValueError(
            f"from_logits=False with imbalance={ratio:g}: the weighted losses take logits; "
            f"remove the model's final activation and pass from_logits=True"
        )

    evidence = (
        "The focal loss is not advised for imbalance: in the chapter imbalanced-data it ranked "
        "no better and gave the least calibrated probabilities."
    )
    if task == "multiclass":
        return Recommendation(
            "cross_entropy",
            "softmax",
            "CrossEntropyLoss",
            f"An imbalance of {ratio:g}:1 (at least {WEIGHTING_THRESHOLD:g}:1) lets the common "
            f"classes dominate the average loss: pass weight= proportional to 1 / class "
            f"frequency, which moves the decisions towards the rare classes as logit adjustment "
            f"does (logit_adjusted_cross_entropy, or subtract log(class frequency) from the "
            f"logits of a plain model); neither improves the ranking. {evidence}",
        )
    return Recommendation(
        "weighted_binary_cross_entropy_with_logits",
        "sigmoid",
        "BCEWithLogitsLoss",
        f"An imbalance of {ratio:g}:1 (at least {WEIGHTING_THRESHOLD:g}:1) lets the negatives "
        f"dominate the average loss: weighting each positive by the ratio (w1 = {ratio:g}, "
        f"PyTorch's pos_weight) moves the decision p > 0.5 to where plain BCE's p exceeds "
        f"1 / (1 + {ratio:g}), the rule for balanced errors, without improving the ranking; "
        f"it multiplies the predicted odds by w1, so subtract log(w1) from the logits before "
        f"reading them as probabilities. {evidence}",
        {"w0": 1.0, "w1": ratio},
    )
