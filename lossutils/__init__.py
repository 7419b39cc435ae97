"""lossutils: the tested NumPy core of the course "Loss Functions in Deep Learning".

Layout:

* :mod:`lossutils.regression` -- MSE, MAE, Huber, Smooth L1.
* :mod:`lossutils.classification` -- stable sigmoid / softmax helpers, binary
  and multi-class cross-entropy, NLL, multi-label soft margin.
* :mod:`lossutils.imbalanced` -- weighted BCE and focal losses.
* :mod:`lossutils.sequence` -- padded token-level cross-entropy and perplexity.
* :mod:`lossutils._validation` -- the shared input checks and reductions.
* :mod:`lossutils._stable` -- the numerical policy: float32 inputs are evaluated in
  float64 and rounded once, so results do not depend on the CPU's SIMD kernels.
* :mod:`lossutils.advice`, :mod:`lossutils.plotting`, :mod:`lossutils.derivations`
  -- the course's helpers for choosing a loss, drawing figures and deriving
  losses symbolically (only ``choose_loss`` is re-exported here).

Every loss is a pure NumPy function ``loss(first, target, *, ..., reduction=)``
that matches ``torch.nn.functional`` (PyTorch 2.13) on valid inputs, is
numerically stable at extreme logits, and raises a clear error on bad input.
Each ``loss`` has a ``grad_loss`` twin with the same signature that returns
the analytic gradient of the reduced loss with respect to the first argument.
"""

from .advice import choose_loss
from .classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    grad_binary_cross_entropy,
    grad_binary_cross_entropy_with_logits,
    grad_cross_entropy,
    grad_multilabel_soft_margin_loss,
    grad_nll_loss,
    log_sigmoid,
    log_softmax,
    multilabel_soft_margin_loss,
    nll_loss,
    sigmoid,
    softmax,
)
from .imbalanced import (
    grad_sigmoid_focal_loss,
    grad_softmax_focal_loss,
    grad_weighted_binary_cross_entropy_with_logits,
    sigmoid_focal_loss,
    softmax_focal_loss,
    weighted_binary_cross_entropy_with_logits,
)
from .regression import grad_huber, grad_mae, grad_mse, grad_smooth_l1, huber, mae, mse, smooth_l1
from .sequence import (
    grad_sequence_cross_entropy,
    grad_sequence_nll_loss,
    perplexity,
    sequence_cross_entropy,
    sequence_nll_loss,
)

__all__ = [
    # regression
    "mse", "mae", "huber", "smooth_l1",
    "grad_mse", "grad_mae", "grad_huber", "grad_smooth_l1",
    # classification: stable building blocks
    "sigmoid", "log_sigmoid", "softmax", "log_softmax",
    # classification: losses
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "multilabel_soft_margin_loss",
    "grad_binary_cross_entropy", "grad_binary_cross_entropy_with_logits",
    "grad_cross_entropy", "grad_nll_loss", "grad_multilabel_soft_margin_loss",
    # imbalanced data
    "weighted_binary_cross_entropy_with_logits", "sigmoid_focal_loss", "softmax_focal_loss",
    "grad_weighted_binary_cross_entropy_with_logits", "grad_sigmoid_focal_loss",
    "grad_softmax_focal_loss",
    # sequences
    "sequence_cross_entropy", "sequence_nll_loss", "perplexity",
    "grad_sequence_cross_entropy", "grad_sequence_nll_loss",
    # choosing a loss
    "choose_loss",
]
