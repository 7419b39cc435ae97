"""lossutils: the tested NumPy core of the course "Loss Functions in Deep Learning".

Layout (each module holds one family; :mod:`lossutils.registry` lists every public function):

* :mod:`lossutils.activations` -- stable sigmoid and softmax, and their logarithms.
* :mod:`lossutils.regression` -- MSE, MAE, Huber, Smooth L1.
* :mod:`lossutils.binary` -- binary cross-entropy (from probabilities or logits) and the
  multi-label soft-margin loss.
* :mod:`lossutils.multiclass` -- cross-entropy and the negative log-likelihood.
* :mod:`lossutils.imbalanced` -- weighted BCE and focal losses.
* :mod:`lossutils.sequence` -- padded token-level cross-entropy, and perplexity.
* :mod:`lossutils.metrics` -- evaluation metrics that are not losses: precision, recall, F1,
  average precision, ROC AUC, balanced accuracy and calibration error.
* :mod:`lossutils.probabilistic` -- the Gaussian and Poisson NLL and the pinball (quantile) loss.
* :mod:`lossutils.margins` -- the multiclass margin (SVM), margin ranking, triplet and InfoNCE
  losses.
* :mod:`lossutils.scoring` -- the Brier score and the Kullback-Leibler divergence.
* :mod:`lossutils.registry` -- the list of public functions that this package, the API page and
  the tests read.
* Private, at the bottom: ``lossutils._stable`` (the numerically stable primitives and the
  float32 policy), ``lossutils._blocks`` (evaluation over cache-sized blocks) and
  ``lossutils._validation`` (input checks).
* :mod:`lossutils.advice`, :mod:`lossutils.plotting`, :mod:`lossutils.derivations`,
  :mod:`lossutils.book` -- the course's helpers for choosing a loss, drawing figures, deriving
  losses symbolically and gluing numbers into the text (only ``choose_loss`` is re-exported).
* :mod:`lossutils.optim` (``lu.optim``) -- functional SGD, RMSProp, Adam and AdamW, equal to
  ``torch.optim`` step for step; a tool, not a loss: not in the registry, not re-exported.
* ``lossutils.diagnose`` -- the loss doctor: :func:`diagnose` looks at a batch for the
  fingerprints of common loss bugs (re-exported).

Every loss is a pure NumPy function ``loss(first, target, *, ..., reduction=)`` that matches
``torch.nn.functional`` (PyTorch 2.13) on valid inputs, is numerically stable at extreme logits,
and raises a clear error on bad input. (A loss that PyTorch defines with other positional
arguments takes PyTorch's: ``gaussian_nll_loss(input, target, var)``,
``margin_ranking_loss(input1, input2, target)``, ``triplet_margin_loss(anchor, positive,
negative)``.) Each ``loss`` has a ``grad_loss`` twin with the same signature that returns the
analytic gradient of the reduced loss with respect to the first argument.
"""

from . import (
    optim,  # noqa: F401 (lu.optim, the optimisers: a module, not re-exported)
    registry,
)
from .activations import *  # noqa: F403 (each family module's __all__ comes from the registry)
from .advice import choose_loss
from .binary import *  # noqa: F403
from .diagnose import diagnose
from .imbalanced import *  # noqa: F403
from .margins import *  # noqa: F403
from .metrics import *  # noqa: F403
from .multiclass import *  # noqa: F403
from .probabilistic import *  # noqa: F403
from .regression import *  # noqa: F403
from .scoring import *  # noqa: F403
from .sequence import *  # noqa: F403

__all__ = [*registry.names(), "choose_loss", "diagnose"]
