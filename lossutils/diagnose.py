r"""The loss doctor: look at a batch before it reaches a loss, and say what looks wrong.

Most "my model does not learn" bugs raise no error: a softmax before a loss that applies its own,
``(N, 1)`` predictions against ``(N,)`` targets, padding that counts as tokens. Each leaves a
fingerprint in the batch itself (outputs that sum to 1, shapes that broadcast, a token id that ends
every sequence), and :func:`diagnose` looks for those fingerprints. It reads the batch; it does not
compute the loss, so it also runs on a batch the loss would reject, and it never raises on a
plausible batch: anything odd is a finding.

The losses it knows, and the kind of arguments each takes, come from :mod:`lossutils.registry`.
Taught in the chapter "Choosing and debugging a loss" (``chapters/debugging-losses.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import registry

__all__ = ["CODES", "Finding", "diagnose"]

#: Every code :func:`diagnose` can report, with what it means.
CODES: dict[str, str] = {
    "empty": "the output or the target holds no values",
    "non-finite": "the output or the target holds NaN or infinity",
    "shape-mismatch": "output and target shapes do not fit the loss, and would not broadcast",
    "broadcast-shape": "an elementwise loss gets shapes that differ but broadcast: (N, 1), (N,)",
    "probabilities-as-logits": "a loss that applies its own sigmoid or softmax gets probabilities",
    "logits-as-probabilities": "a loss that wants probabilities or log-probabilities gets scores",
    "float-class-indices": "class indices stored as floats, which PyTorch refuses",
    "target-out-of-range": "class indices outside [0, C), or binary targets outside [0, 1]",
    "padding-not-ignored": "one token id ends most sequences in a run, and is not ignore_index",
    "class-imbalance": "binary targets under 5 % or over 95 % positive, with no class weight",
}

#: Positive rates outside [IMBALANCE_RATE, 1 - IMBALANCE_RATE] count as imbalanced.
IMBALANCE_RATE = 0.05

# What a loss's first argument must be, where it is not what its registry kind implies (values
# for the elementwise losses, logits for the others).
_FIRST = {
    "binary_cross_entropy": "probabilities",
    "nll_loss": "log-probabilities",
    "sequence_nll_loss": "log-probabilities",
}

# The losses the doctor knows: those whose arguments are element-wise values, binary targets,
# class indices or token sequences (the guide's losses, and perplexity). Evaluation metrics are
# not losses, and the Beyond-the-guide losses (variances, counts, quantiles, margins, embeddings)
# have fingerprints of their own that these checks do not read.
_KINDS = ("elementwise", "binary", "class", "sequence")
_DIAGNOSED = tuple(
    e for e in registry.LOSSES + registry.METRICS if e.inputs in _KINDS and e.module != "metrics"
)

# Machine epsilon of PyTorch's floating dtypes (NumPy has no bfloat16 to ask).
_TORCH_EPS = {
    "torch.float64": 2.0**-52,
    "torch.float32": 2.0**-23,
    "torch.float16": 2.0**-10,
    "torch.bfloat16": 2.0**-7,
}

# Keyword arguments that already weight the classes of a binary loss (the focal loss weights
# them by design).
_CLASS_WEIGHTS = ("pos_weight", "weight", "w0", "w1")
_WEIGHTED_BY_DESIGN = ("sigmoid_focal_loss",)


@dataclass(frozen=True)
class Finding:
    """One thing that looks wrong with a batch.

    Attributes:
        code: a short, stable name from :data:`CODES`, e.g. ``"broadcast-shape"``; test on it.
        message: what was seen, in plain words, and the fix.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _as_array(x: Any) -> tuple[np.ndarray, float]:
    """A NumPy array from an array, a list or a PyTorch tensor (any device, any dtype), and the
    machine epsilon of its original dtype (0 for integers), which sets the checks' tolerances."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch.Tensor, without importing torch
        x = x.detach().cpu()
        if not x.dtype.is_floating_point:
            return x.numpy(), 0.0
        eps = _TORCH_EPS.get(str(x.dtype), 2.0**-3)  # unknown: as coarse as float8
        return x.float().numpy() if x.dtype.itemsize < 4 else x.numpy(), eps
    arr = np.asarray(x)
    return arr, float(np.finfo(arr.dtype).eps) if arr.dtype.kind == "f" else 0.0


def _loss_kind(loss: str | Callable) -> tuple[str, str, str]:
    """The loss's name, what its two arguments are (the registry's ``inputs``: "elementwise",
    "binary", "class" or "sequence") and what its first argument must be."""
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    entries = {e.name: e for e in _DIAGNOSED}
    if name not in entries:
        raise ValueError(
            f"loss must be the name of a lossutils loss the doctor knows ({', '.join(entries)}), "
            f"got {loss!r}"
        )
    kind = entries[name].inputs
    return name, kind, _FIRST.get(name, "values" if kind == "elementwise" else "logits")


def _shape(s: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, s)) + ("," if len(s) == 1 else "") + ")"


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _check_elementwise_shapes(out: np.ndarray, tgt: np.ndarray, name: str) -> list[Finding]:
    if out.shape == tgt.shape:
        return []
    joint = _broadcast(out.shape, tgt.shape)
    if joint is None:
        return [
            Finding(
                "shape-mismatch",
                f"{name} compares output and target element by element, but output "
                f"{_shape(out.shape)} and target {_shape(tgt.shape)} do not fit: give them one "
                f"shape.",
            )
        ]
    fix = "output.squeeze(-1)" if out.shape[-1:] == (1,) else "target.reshape(output.shape)"
    return [
        Finding(
            "broadcast-shape",
            f"output {_shape(out.shape)} and target {_shape(tgt.shape)} broadcast to "
            f"{_shape(joint)}: {name} would compare every prediction with every target instead "
            f"of each with its own. Give them one shape, e.g. {fix}.",
        )
    ]


def _check_class_shapes(
    out: np.ndarray, tgt: np.ndarray, name: str, kind: str
) -> tuple[list[Finding], bool]:
    """Findings, and whether the target holds class indices (False: probabilities or unknown)."""
    want_ndim = 3 if kind == "sequence" else None
    if out.ndim < 2 or (want_ndim and out.ndim != want_ndim):
        layout = "(N, C, T)" if kind == "sequence" else "(N, C) or (N, C, d1, ...)"
        return [
            Finding(
                "shape-mismatch",
                f"{name} wants scores of shape {layout} with the classes on axis 1, got "
                f"output {_shape(out.shape)}.",
            )
        ], False
    index_shape = out.shape[:1] + out.shape[2:]
    if tgt.shape == index_shape:
        return [], True
    if tgt.shape == out.shape and tgt.dtype.kind == "f" and kind == "class":
        return [], False  # class probabilities (soft targets), PyTorch's second target format
    if out.ndim == 3 and tgt.shape == out.shape[:2]:
        fix = (
            f"the output looks like (N, T, C) = {_shape(out.shape)}: put the classes on axis 1, "
            f"output.transpose(1, 2)"
        )
    elif tgt.shape == index_shape + (1,):
        fix = "drop the trailing axis of the target: target.squeeze(-1)"
    else:
        fix = f"class indices must have shape {_shape(index_shape)}"
    return [
        Finding(
            "shape-mismatch",
            f"output {_shape(out.shape)} and target {_shape(tgt.shape)} do not fit {name}: {fix}.",
        )
    ], False


def _check_first_argument(
    out: np.ndarray, eps: float, name: str, kind: str, first: str
) -> list[Finding]:
    """Does the output look like what the loss's first argument must be? ``eps``: the machine
    epsilon of the output's dtype (16-bit probabilities sum to 1 only within it)."""
    x = out.astype(np.float64)
    in_unit = bool(np.all((x >= 0) & (x <= 1)))
    class_axis = kind in ("class", "sequence") and x.ndim >= 2
    sums_to_one = class_axis and bool(np.all(np.abs(x.sum(axis=1) - 1) <= max(1e-6, eps)))
    if first == "logits":
        # A constant batch (a zero-initialised last layer) is no evidence either way.
        if kind == "binary" and in_unit and x.min() < x.max():
            return [
                Finding(
                    "probabilities-as-logits",
                    f"every output lies in [0, 1]: these look like probabilities, but {name} "
                    f"applies its own sigmoid. Pass the raw scores (logits): remove the model's "
                    f"final sigmoid.",
                )
            ]
        if class_axis and in_unit and sums_to_one:
            return [
                Finding(
                    "probabilities-as-logits",
                    f"every output lies in [0, 1] and each sums to 1 over the classes (axis 1): "
                    f"these look like softmax probabilities, but {name} applies its own "
                    f"log-softmax. Pass the raw scores (logits): remove the model's final softmax.",
                )
            ]
        return []
    if first == "probabilities":
        outside = int(np.count_nonzero((x < 0) | (x > 1)))
        if outside:
            return [
                Finding(
                    "logits-as-probabilities",
                    f"{outside} output value(s) lie outside [0, 1] (from {x.min():.3g} to "
                    f"{x.max():.3g}): {name} wants probabilities. These look like logits: use "
                    f"binary_cross_entropy_with_logits on them (stable), rather than a sigmoid "
                    f"before {name}.",
                )
            ]
        return []
    if first == "log-probabilities" and class_axis:
        # Log-probabilities are <= 0 and their exponentials sum to 1 over the classes.
        tol = max(1e-3, 64 * eps)
        peak = x.max(axis=1, keepdims=True)
        lse = np.squeeze(peak, 1) + np.log(np.exp(x - peak).sum(axis=1))
        if in_unit and sums_to_one:
            hint = "they look like probabilities: pass their log (log_softmax of the logits)"
        else:
            hint = "they look like raw scores: pass log_softmax(output, dim=1), or use the "
            hint += "cross_entropy loss on the scores"
        if x.max() > tol or np.abs(lse).max() > tol:
            return [
                Finding(
                    "logits-as-probabilities",
                    f"{name} wants log-probabilities (values <= 0 whose exponentials sum to 1 "
                    f"over axis 1), but the largest output is {x.max():.3g} and the log-sum-exp "
                    f"over the classes reaches {lse.flat[np.abs(lse).argmax()]:.3g}: {hint}.",
                )
            ]
    return []


def _check_class_target(
    tgt: np.ndarray, n_classes: int, name: str, ignore_index: Any
) -> list[Finding]:
    findings = []
    if tgt.dtype.kind == "f":
        fractional = int(np.count_nonzero(np.abs(tgt - np.round(tgt)) > 1e-6))
        detail = f"; {fractional} of them are not whole numbers" if fractional else ""
        findings.append(
            Finding(
                "float-class-indices",
                f"the target holds class indices as {tgt.dtype} values{detail}: PyTorch's {name} "
                f"refuses floating indices. Convert with target.round().long() (plain .long() "
                f"truncates, so 2.9999999 becomes 2).",
            )
        )
        tgt = np.round(tgt)
    used = tgt[tgt != ignore_index]
    bad = used[(used < 0) | (used >= n_classes)]
    if bad.size:
        findings.append(
            Finding(
                "target-out-of-range",
                f"{bad.size} target(s) lie outside the class range [0, {n_classes}) (e.g. "
                f"{bad.flat[0]:g}) and are not ignore_index={ignore_index}: PyTorch raises an "
                f"IndexError (a device-side assert on a GPU). Check the label encoding (1-based "
                f"labels?) and the number of outputs.",
            )
        )
    return findings


def _check_padding(tgt: np.ndarray, ignore_index: Any) -> list[Finding]:
    """A token id that ends at least half of the sequences in a trailing run of length >= 2."""
    if tgt.ndim != 2 or tgt.shape[1] < 2:
        return []
    n_seq = tgt.shape[0]
    last = tgt[:, -1]
    # Length of each row's trailing run of its last token.
    same = tgt == last[:, None]
    run = np.argmin(same[:, ::-1], axis=1)
    run[same.all(axis=1)] = tgt.shape[1]
    findings = []
    for token in np.unique(last[run >= 2]):
        ended = int(np.count_nonzero((last == token) & (run >= 2)))
        if 2 * ended >= n_seq and token != ignore_index:
            findings.append(
                Finding(
                    "padding-not-ignored",
                    f"token id {token:g} ends {ended} of {n_seq} sequences in a run of 2 or more "
                    f"(up to {run[last == token].max()}): it looks like padding, and "
                    f"ignore_index={ignore_index}, so those positions count as tokens (they "
                    f"lower the loss and train the model to predict padding). Pass "
                    f"ignore_index={token:g}, or pad with -100.",
                )
            )
    return findings


def _check_imbalance(tgt: np.ndarray, name: str, loss_kwargs: dict[str, Any]) -> list[Finding]:
    if name in _WEIGHTED_BY_DESIGN or any(loss_kwargs.get(k) is not None for k in _CLASS_WEIGHTS):
        return []
    if not np.all((tgt == 0) | (tgt == 1)):
        return []  # soft targets: no class counts to speak of
    n, pos = tgt.size, int(np.count_nonzero(tgt == 1))
    rate = pos / n
    if IMBALANCE_RATE <= rate <= 1 - IMBALANCE_RATE:
        return []
    if pos in (0, n):
        fix = (
            f"every target is {tgt.flat[0]:g}: the loss cannot teach the other class from "
            f"this batch. Check the labels, or sample batches that hold both classes."
        )
    elif rate < IMBALANCE_RATE:
        fix = (
            f"the negatives dominate the mean loss. Weight the positives: pos_weight = "
            f"negatives / positives = {(n - pos) / pos:.3g} (or weight=...); "
            f"choose_loss('binary', imbalance={(n - pos) / pos:.3g}) gives the course's advice."
        )
    else:
        fix = (
            f"the positives dominate the mean loss. Weight the classes: pos_weight = "
            f"negatives / positives = {(n - pos) / pos:.3g} (or weight=...)."
        )
    return [
        Finding(
            "class-imbalance",
            f"positives are {100 * rate:.3g} % of the targets ({pos} of {n}), and {name} gets "
            f"no class weight: {fix}",
        )
    ]


def diagnose(
    output: Any, target: Any, *, loss: str | Callable, **loss_kwargs: Any
) -> list[Finding]:
    r"""Look at a batch for the fingerprints of common loss bugs; return what looks wrong.

    A loss reports one number and no complaint, whatever it is given: probabilities where it
    wants logits give a plausible but wrong value, ``(N, 1)`` predictions against ``(N,)``
    targets broadcast to an ``(N, N)`` comparison, and padding counts as easy tokens. The batch
    itself shows these mistakes, and each check below is one such fingerprint. Call it on the
    first batch of a training run (or in a test); it reads the values, it does not train.

    The checks, for output :math:`o` and target :math:`y` (classes on axis 1):

    * ``probabilities-as-logits``: a loss that takes logits gets :math:`0 \le o \le 1`
      everywhere, and for the softmax losses also :math:`|\sum_c o_{\cdot c} - 1| \le 10^{-6}`
      on every row (within the dtype's epsilon for 16-bit outputs); for the binary losses, the
      outputs must also not all be equal (a constant batch, as from a zero-initialised last
      layer, is no evidence). Log-probabilities into ``cross_entropy`` are not flagged: the
      log-softmax of log-probabilities is themselves, so the loss is right.
    * ``logits-as-probabilities``: ``binary_cross_entropy`` gets an :math:`o \notin [0, 1]`;
      ``nll_loss`` gets an :math:`o > 0` or a row with
      :math:`|\log \sum_c e^{o_{\cdot c}}| > 10^{-3}` (wider for 16-bit outputs).
    * ``broadcast-shape``: an elementwise or binary loss gets shapes that differ but broadcast.
    * ``padding-not-ignored``: in the ``(N, T)`` targets of a sequence loss, one token id ends
      at least :math:`N/2` sequences in a trailing run of length :math:`\ge 2`, and is not the
      ``ignore_index`` in force (default -100, PyTorch's).
    * ``class-imbalance``: 0/1 targets of a binary loss are positive less than 5 % or more than
      95 % of the time, and no ``pos_weight``, ``weight`` (or ``w0``/``w1``) is given.
    * also ``empty``, ``non-finite``, ``shape-mismatch``, ``float-class-indices`` and
      ``target-out-of-range`` (see :data:`CODES`).

    Args:
        output: what the model produced for the batch (a NumPy array, a list, or a PyTorch
            tensor on any device and in any dtype).
        target: the batch's targets, in the format the loss takes.
        loss: the name of a ``lossutils`` loss (``"cross_entropy"``), or the function itself:
            a loss of the guide's kinds (regression, binary, multi-label, multi-class, imbalanced
            and sequence losses, and ``perplexity``).
        **loss_kwargs: what would be passed to the loss (``ignore_index``, ``weight``,
            ``pos_weight``, ...); the checks read ``ignore_index`` and the class weights.

    Returns:
        A list of :class:`Finding` (``code`` and ``message``), in the order the checks run;
        empty when nothing looks wrong. A clean report is no proof of a correct pipeline.

    Raises:
        ValueError: if ``loss`` is not a ``lossutils`` loss.

    References:
        Karpathy, "A Recipe for Training Neural Networks", 2019 (the checks to run before
        training). PyTorch's documentation of each loss, for the input formats.

    Taught in: :ref:`debugging-losses`

    Example:
        >>> probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])  # a softmax too many
        >>> [f.code for f in diagnose(probs, np.array([0, 1]), loss="cross_entropy")]
        ['probabilities-as-logits']
        >>> diagnose(np.log(probs), np.array([0, 1]), loss="nll_loss")
        []
        >>> [f.code for f in diagnose(np.zeros((4, 1)), np.zeros(4), loss="mse")]
        ['broadcast-shape']
    """
    name, kind, first = _loss_kind(loss)
    (out, eps), (tgt, _) = _as_array(output), _as_array(target)
    for what, arr in (("output", out), ("target", tgt)):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold numbers, got dtype {arr.dtype}")
    if out.size == 0 or tgt.size == 0:
        return [
            Finding(
                "empty",
                f"output {_shape(out.shape)} or target {_shape(tgt.shape)} holds no values: the "
                f"mean loss of an empty batch is NaN. Skip empty batches (check the data "
                f"loader's last batch and the masks).",
            )
        ]
    findings = []
    pair = (("output", out), ("target", tgt))
    bad = [what for what, arr in pair if not np.all(np.isfinite(arr))]
    if bad:
        findings.append(
            Finding(
                "non-finite",
                f"the {' and the '.join(bad)} {'hold' if len(bad) > 1 else 'holds'} NaN or "
                f"infinity: the loss and every gradient will be NaN. Find the first step where "
                f"it appears (a learning rate too high, a log of 0, an exp that overflows); "
                f"torch.autograd.detect_anomaly names the operation.",
            )
        )
    ignore_index = loss_kwargs.get("ignore_index", -100)
    if kind in ("elementwise", "binary"):
        shape_findings, index_target = _check_elementwise_shapes(out, tgt, name), False
    else:
        shape_findings, index_target = _check_class_shapes(out, tgt, name, kind)
    findings += shape_findings
    # The class axis is only known when the shapes fit.
    if not bad and not (kind in ("class", "sequence") and shape_findings):
        findings += _check_first_argument(out, eps, name, kind, first)
    if bad:
        return findings
    if index_target:
        findings += _check_class_target(tgt, out.shape[1], name, ignore_index)
        if kind == "sequence":
            findings += _check_padding(tgt, ignore_index)
    if kind == "binary":
        outside = tgt[(tgt < 0) | (tgt > 1)]
        if outside.size:
            findings.append(
                Finding(
                    "target-out-of-range",
                    f"{outside.size} target(s) lie outside [0, 1] (e.g. {outside.flat[0]:g}): "
                    f"{name} wants 0/1 labels or probabilities. Class indices belong to "
                    f"cross_entropy.",
                )
            )
        else:
            findings += _check_imbalance(tgt, name, loss_kwargs)
    return findings
