"""lossutils: the tested NumPy core of the course "Loss Functions in Deep Learning".

Layout:

* :mod:`lossutils.regression` -- MSE, MAE, Huber, Smooth L1.
* :mod:`lossutils.classification` -- stable sigmoid / softmax helpers, binary
  and multi-class cross-entropy, NLL, multi-label soft margin.
* :mod:`lossutils.imbalanced` -- weighted BCE and focal losses.
* :mod:`lossutils.sequence` -- padded token-level cross-entropy and perplexity.
* :mod:`lossutils._validation` -- the shared input checks and reductions.

Every loss is a pure NumPy function ``loss(first, target, *, ..., reduction=)``
that matches ``torch.nn.functional`` (PyTorch 2.13) on valid inputs, is
numerically stable at extreme logits, and raises a clear error on bad input.
Each ``loss`` has a ``grad_loss`` twin with the same signature that returns
the analytic gradient of the reduced loss with respect to the first argument.
"""

from .regression import grad_huber, grad_mae, grad_mse, grad_smooth_l1, huber, mae, mse, smooth_l1

__all__ = [
    # regression
    "mse", "mae", "huber", "smooth_l1",
    "grad_mse", "grad_mae", "grad_huber", "grad_smooth_l1",
]
