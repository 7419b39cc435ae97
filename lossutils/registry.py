"""The list of lossutils' public functions: where each lives, and which chapter teaches it.

This is the one list that ``lossutils/__init__.py`` (what ``import lossutils`` exports), the API
page (the table below and one section per module) and the tests (``tests/test_registry.py``,
``tests/helpers.py``) read. To add a loss, follow "Adding a loss" in ``CONTRIBUTING.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One public function of lossutils.

    Attributes:
        name: the function's name, e.g. ``"huber"``; a loss's gradient is ``"grad_" + name``.
        module: the module it lives in, e.g. ``"regression"`` for ``lossutils.regression``.
        chapter: the label of the chapter that teaches it, e.g. ``"regression-losses"``.
        pytorch: the PyTorch call it matches (the tests check it against that call).
        inputs: what its first two arguments are: ``"elementwise"`` (predictions and targets of
            one shape), ``"binary"`` (logits or probabilities and targets in [0, 1] of one
            shape), ``"class"`` (class scores ``(N, C, ...)`` and class indices ``(N, ...)``),
            ``"sequence"`` (scores ``(N, C, T)`` and token ids ``(N, T)``), ``"scores"`` (one
            array of scores), ``"class_counts"`` (one array of class counts) or one of the
            kinds of the Beyond-the-guide losses (``tests/helpers.py`` lists them all).
    """

    name: str
    module: str
    chapter: str
    pytorch: str
    inputs: str

    @property
    def function(self) -> Callable:
        return getattr(importlib.import_module(f"lossutils.{self.module}"), self.name)

    @property
    def gradient(self) -> Callable:
        """The ``grad_`` twin of a loss (a loss in :data:`LOSSES` has one)."""
        return getattr(importlib.import_module(f"lossutils.{self.module}"), "grad_" + self.name)


F = "torch.nn.functional."

#: Every loss. Each has a ``grad_`` twin with the same signature, the gradient of the reduced
#: loss with respect to its first argument. Listed in the order of the API page.
LOSSES: tuple[Entry, ...] = (
    Entry("mse", "regression", "regression-losses", F + "mse_loss", "elementwise"),
    Entry("mae", "regression", "regression-losses", F + "l1_loss", "elementwise"),
    Entry("huber", "regression", "regression-losses", F + "huber_loss", "elementwise"),
    Entry("smooth_l1", "regression", "regression-losses", F + "smooth_l1_loss", "elementwise"),
    Entry(
        "binary_cross_entropy",
        "binary",
        "binary-cross-entropy",
        F + "binary_cross_entropy",
        "binary",
    ),
    Entry(
        "binary_cross_entropy_with_logits",
        "binary",
        "binary-cross-entropy",
        F + "binary_cross_entropy_with_logits",
        "binary",
    ),
    Entry(
        "multilabel_soft_margin_loss",
        "binary",
        "task-types",
        F + "multilabel_soft_margin_loss",
        "binary",
    ),
    Entry("cross_entropy", "multiclass", "multiclass-cross-entropy", F + "cross_entropy", "class"),
    Entry("nll_loss", "multiclass", "multiclass-cross-entropy", F + "nll_loss", "class"),
    Entry(
        "weighted_binary_cross_entropy_with_logits",
        "imbalanced",
        "binary-cross-entropy",
        F + "binary_cross_entropy_with_logits(weight=w0, pos_weight=w1 / w0)",
        "binary",
    ),
    Entry(
        "sigmoid_focal_loss",
        "imbalanced",
        "losses-and-activations",
        "torchvision.ops.sigmoid_focal_loss",
        "binary",
    ),
    Entry(
        "softmax_focal_loss",
        "imbalanced",
        "losses-and-activations",
        "-(1 - p_y) ** gamma * log p_y, in torch ops",
        "class",
    ),
    Entry(
        "logit_adjusted_cross_entropy",
        "imbalanced",
        "imbalanced-data",
        F + "cross_entropy(logits + tau * log(prior), target)",
        "class",
    ),
    Entry("sequence_cross_entropy", "sequence", "sequences", F + "cross_entropy", "sequence"),
    Entry("sequence_nll_loss", "sequence", "sequences", F + "nll_loss", "sequence"),
    # Beyond the guide (issue 17)
    Entry(
        "gaussian_nll_loss",
        "probabilistic",
        "probabilistic-regression",
        F + "gaussian_nll_loss",
        "gaussian",
    ),
    Entry(
        "poisson_nll_loss",
        "probabilistic",
        "probabilistic-regression",
        F + "poisson_nll_loss",
        "counts",
    ),
    Entry(
        "pinball_loss",
        "probabilistic",
        "probabilistic-regression",
        "torch.maximum(q * (t - x), (q - 1) * (t - x)), in torch ops",
        "quantile",
    ),
    Entry(
        "multi_margin_loss", "margins", "margins-and-embeddings", F + "multi_margin_loss", "margin"
    ),
    Entry(
        "margin_ranking_loss",
        "margins",
        "margins-and-embeddings",
        F + "margin_ranking_loss",
        "ranking",
    ),
    Entry(
        "triplet_margin_loss",
        "margins",
        "margins-and-embeddings",
        F + "triplet_margin_loss",
        "triplet",
    ),
    Entry(
        "info_nce",
        "margins",
        "margins-and-embeddings",
        F + "cross_entropy(F.normalize(q) @ F.normalize(k).T / tau, arange(N))",
        "contrastive",
    ),
    Entry(
        "brier_score",
        "scoring",
        "calibration",
        "((softmax - one_hot) ** 2).sum(1), in torch ops",
        "probabilities",
    ),
    Entry("kl_div", "scoring", "calibration", F + "kl_div", "distributions"),
)

#: The stable output activations.
ACTIVATIONS: tuple[Entry, ...] = (
    Entry("sigmoid", "activations", "binary-cross-entropy", "torch.sigmoid", "scores"),
    Entry("log_sigmoid", "activations", "binary-cross-entropy", F + "logsigmoid", "scores"),
    Entry("softmax", "activations", "multiclass-cross-entropy", "torch.softmax", "scores"),
    Entry("log_softmax", "activations", "multiclass-cross-entropy", "torch.log_softmax", "scores"),
)

#: Scores that are reported, not trained on: no gradient. PyTorch has none of the ones in
#: ``lossutils.metrics``; their ``pytorch`` field gives the definition (scikit-learn's, which
#: the course does not depend on) that the tests check them against.
METRICS: tuple[Entry, ...] = (
    Entry(
        "perplexity", "sequence", "sequences", "torch.exp(" + F + "cross_entropy(...))", "sequence"
    ),
    Entry(
        "precision",
        "metrics",
        "imbalanced-data",
        "TP / (TP + FP), as sklearn.metrics.precision_score",
        "binary",
    ),
    Entry(
        "recall",
        "metrics",
        "imbalanced-data",
        "TP / (TP + FN), as sklearn.metrics.recall_score",
        "binary",
    ),
    Entry(
        "f1_score",
        "metrics",
        "multi-label",
        "2 TP / (2 TP + FP + FN), as sklearn.metrics.f1_score",
        "binary",
    ),
    Entry(
        "balanced_accuracy",
        "metrics",
        "imbalanced-data",
        "the mean recall per class, as sklearn.metrics.balanced_accuracy_score",
        "elementwise",
    ),
    Entry(
        "precision_recall_curve",
        "metrics",
        "imbalanced-data",
        "sklearn.metrics.precision_recall_curve, without its end point (recall 0, precision 1)",
        "binary",
    ),
    Entry(
        "average_precision",
        "metrics",
        "imbalanced-data",
        "sum_k (R_k - R_k-1) P_k, as sklearn.metrics.average_precision_score",
        "binary",
    ),
    Entry(
        "recall_at_precision",
        "metrics",
        "imbalanced-data",
        "the largest recall of a threshold whose precision reaches min_precision",
        "binary",
    ),
    Entry("roc_curve", "metrics", "imbalanced-data", "sklearn.metrics.roc_curve", "binary"),
    Entry(
        "roc_auc",
        "metrics",
        "imbalanced-data",
        "the Mann-Whitney statistic over N+ N-, as sklearn.metrics.roc_auc_score",
        "binary",
    ),
    Entry(
        "calibration_curve",
        "metrics",
        "imbalanced-data",
        "the reliability diagram of the top-class confidence (Guo et al. 2017)",
        "class",
    ),
    Entry(
        "expected_calibration_error",
        "metrics",
        "imbalanced-data",
        "sum_b |S_b| / N |acc(S_b) - conf(S_b)|, 15 equal bins (Guo et al. 2017)",
        "class",
    ),
)

#: Helpers that compute a loss's hyperparameters from the data (class weights from class
#: counts): no gradient.
WEIGHTS: tuple[Entry, ...] = (
    Entry(
        "class_balanced_weights",
        "imbalanced",
        "imbalanced-data",
        "weight= of CrossEntropyLoss; w[1] / w[0] as pos_weight= of BCEWithLogitsLoss",
        "class_counts",
    ),
)

#: Module -> the title of its section on the API page, in the page's order.
MODULES: dict[str, str] = {
    "activations": "Activations",
    "regression": "Regression",
    "binary": "Binary and multi-label classification",
    "multiclass": "Multi-class classification",
    "imbalanced": "Imbalanced data",
    "sequence": "Sequences",
    "probabilistic": "Probabilistic regression",
    "margins": "Margins, rankings and embeddings",
    "scoring": "Proper scoring rules",
    "metrics": "Evaluation metrics",
}

ENTRIES: tuple[Entry, ...] = ACTIVATIONS + LOSSES + METRICS + WEIGHTS


def names(entries: tuple[Entry, ...] = ENTRIES) -> list[str]:
    """The public names of ``entries``: each function, and each loss's ``grad_`` twin."""
    out = []
    for entry in entries:
        out.append(entry.name)
        if entry in LOSSES:
            out.append("grad_" + entry.name)
    return out


def exports(module: str) -> list[str]:
    """The public names defined in ``lossutils.<module>``: that module's ``__all__``."""
    return names(tuple(e for e in ENTRIES if e.module == module))


def find(name: str) -> Entry:
    """The entry of a public function, or of the loss whose ``grad_`` twin ``name`` is."""
    for entry in ENTRIES:
        if name in (entry.name, "grad_" + entry.name):
            return entry
    raise KeyError(f"{name!r} is not a public function of lossutils")


def _table() -> str:
    """The table of every function for the API page (reStructuredText)."""
    rows = [
        f"   * - :func:`~lossutils.{e.module}.{e.name}`\n"
        + (f"       (:func:`~lossutils.{e.module}.grad_{e.name}`)\n" if e in LOSSES else "")
        + f"     - :ref:`{e.chapter}`\n     - ``{e.pytorch}``"
        for e in ENTRIES
    ]
    head = ".. list-table::\n   :header-rows: 1\n\n   * - Function (gradient)\n     - Taught in\n     - Matches\n"
    return head + "\n".join(rows) + "\n"


if __doc__:  # None under python -OO
    __doc__ += (
        "\nEvery function, the chapter that teaches it and the PyTorch call it matches:\n\n"
        + _table()
    )
