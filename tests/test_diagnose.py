"""lossutils.diagnose, the loss doctor: each finding on the batch that should raise it, none on
healthy batches (no false alarms), and no exception on any plausible batch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu
from lossutils import registry
from lossutils.diagnose import CODES, Finding, diagnose

LOSS_NAMES = sorted(
    e.name
    for e in registry.LOSSES + registry.METRICS
    if e.inputs in ("elementwise", "binary", "class", "sequence") and e.module != "metrics"
)

RNG = np.random.default_rng(20240615)


def codes(*args, **kwargs) -> list[str]:
    return [f.code for f in diagnose(*args, **kwargs)]


def logits(*shape, scale=2.0, seed=0):
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def labels(n, c, seed=0):
    return np.random.default_rng(seed).integers(0, c, size=n)


def bits(n, rate=0.4, seed=0):
    return (np.random.default_rng(seed).random(n) < rate).astype(np.float64)


def padded(lengths, t, pad, vocab=9, seed=0):
    """Token ids (N, T): sequence i has lengths[i] real tokens in [1, vocab), then `pad`."""
    rng = np.random.default_rng(seed)
    out = np.full((len(lengths), t), pad)
    for i, n in enumerate(lengths):
        out[i, :n] = rng.integers(1, vocab, size=n)
    return out


# --- healthy batches: no finding -----------------------------------------------------------


def healthy_batches(seed):
    """(output, target, loss, kwargs) that a correct pipeline produces, for every loss."""
    n, c = 64, 5
    z, y = logits(n, c, seed=seed), labels(n, c, seed=seed)
    zb, yb = logits(n, seed=seed), bits(n, seed=seed)
    seq_t = padded([3, 7, 10, 5, 10, 8], 10, pad=-100, seed=seed)
    yield logits(n, seed=seed), logits(n, seed=seed + 1), "mse", {}
    yield logits(n, 3, seed=seed), logits(n, 3, seed=seed + 1), "huber", {"delta": 1.0}
    yield logits(n, seed=seed), logits(n, seed=seed + 1), "mae", {}
    yield logits(n, seed=seed), logits(n, seed=seed + 1), "smooth_l1", {}
    yield zb, yb, "binary_cross_entropy_with_logits", {}
    yield lu.sigmoid(zb), yb, "binary_cross_entropy", {}
    yield (
        logits(n, 4, seed=seed),
        bits(n * 4, seed=seed).reshape(n, 4),
        "multilabel_soft_margin_loss",
        {},
    )
    yield (
        zb,
        bits(n, rate=0.02, seed=seed),
        "binary_cross_entropy_with_logits",
        {"pos_weight": 49.0},
    )
    yield (
        zb,
        bits(n, rate=0.02, seed=seed),
        "weighted_binary_cross_entropy_with_logits",
        {"w1": 49.0},
    )
    yield zb, bits(n, rate=0.02, seed=seed), "sigmoid_focal_loss", {}
    yield z, y, "cross_entropy", {}
    yield z, y, "softmax_focal_loss", {}
    yield z, y, "logit_adjusted_cross_entropy", {"prior": np.full(c, 1 / c)}
    yield lu.log_softmax(z, axis=1), y, "cross_entropy", {}  # log-softmax is idempotent: right
    yield z, lu.softmax(logits(n, c, seed=seed + 1), axis=1), "cross_entropy", {}  # soft targets
    yield (
        logits(2, c, 3, 4, seed=seed),
        labels(24, c, seed=seed).reshape(2, 3, 4),
        "cross_entropy",
        {},
    )
    yield z, np.where(np.arange(n) % 7 == 0, -100, y), "cross_entropy", {}
    yield lu.log_softmax(z, axis=1), y, "nll_loss", {}
    yield lu.log_softmax(z.astype(np.float32), axis=1), y, "nll_loss", {}
    yield lu.log_softmax(100 * z, axis=1), y, "nll_loss", {}  # very confident, still log-probs
    yield logits(6, 9, 10, seed=seed), seq_t, "sequence_cross_entropy", {}
    yield (
        logits(6, 9, 10, seed=seed),
        padded([3, 7, 10, 5, 10, 8], 10, pad=0),
        "sequence_cross_entropy",
        {"ignore_index": 0},
    )
    yield lu.log_softmax(logits(6, 9, 10, seed=seed), axis=1), seq_t, "sequence_nll_loss", {}
    yield logits(6, 9, 10, seed=seed), seq_t, "perplexity", {}


@pytest.mark.parametrize("seed", range(5))
def test_no_finding_on_healthy_batches(seed):
    for output, target, loss, kwargs in healthy_batches(seed):
        assert diagnose(output, target, loss=loss, **kwargs) == [], (loss, kwargs)


def test_healthy_batches_cover_every_loss():
    """A loss added to the registry needs a healthy batch here (and the doctor must know what
    its first argument is: lossutils.diagnose._FIRST)."""
    assert {loss for *_, loss, _ in healthy_batches(0)} == set(LOSS_NAMES)


def test_healthy_batches_are_accepted_by_the_losses():
    """The negatives are real batches: every lossutils loss computes a finite value on them."""
    for output, target, loss, kwargs in healthy_batches(0):
        assert np.all(np.isfinite(getattr(lu, loss)(output, target, **kwargs))), loss


def test_torch_tensors_from_a_model_are_read_as_they_are():
    z = torch.randn(32, 5, requires_grad=True)  # as a model returns them
    y = torch.randint(0, 5, (32,))
    assert diagnose(z, y, loss="cross_entropy") == []
    assert codes(torch.softmax(z, dim=1), y, loss="cross_entropy") == ["probabilities-as-logits"]
    assert codes(torch.softmax(z, dim=1).bfloat16(), y, loss=lu.cross_entropy) == [
        "probabilities-as-logits"
    ]
    assert diagnose(F.log_softmax(z, dim=1).half(), y, loss="nll_loss") == []


# --- each finding on the batch that should raise it ----------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "softmax_focal_loss"])
def test_softmax_probabilities_into_a_loss_that_wants_logits(loss):
    z, y = logits(16, 4), labels(16, 4)
    assert codes(lu.softmax(z, axis=1), y, loss=loss) == ["probabilities-as-logits"]
    # Uniform probabilities, as a zero-initialised model with a softmax gives, are caught too.
    assert codes(np.full((16, 4), 0.25), y, loss=loss) == ["probabilities-as-logits"]


def test_softmax_over_the_class_axis_of_a_sequence():
    z = logits(4, 7, 6)
    t = padded([6, 6, 4, 5], 6, pad=-100, vocab=7)
    assert codes(lu.softmax(z, axis=1), t, loss="sequence_cross_entropy") == [
        "probabilities-as-logits"
    ]
    # A softmax over the wrong axis does not sum to 1 over the classes: no claim of a softmax.
    assert "probabilities-as-logits" not in codes(
        lu.softmax(z, axis=2), t, loss="sequence_cross_entropy"
    )


@pytest.mark.parametrize(
    "loss", ["binary_cross_entropy_with_logits", "weighted_binary_cross_entropy_with_logits"]
)
def test_sigmoid_probabilities_into_a_loss_that_wants_logits(loss):
    assert codes(lu.sigmoid(logits(32)), bits(32), loss=loss) == ["probabilities-as-logits"]


def test_probabilities_whose_rows_do_not_sum_to_one_are_not_called_softmax_outputs():
    # Values in [0, 1] are plausible logits for a softmax loss unless each row also sums to 1.
    y = labels(16, 4)
    assert diagnose(np.random.default_rng(1).random((16, 4)), y, loss="cross_entropy") == []
    near = lu.softmax(logits(16, 4), axis=1) * (1 + 1e-5)  # rows that miss 1 by 1e-5 > 1e-6
    assert diagnose(near, y, loss="cross_entropy") == []
    assert codes(near / (1 + 1e-5), y, loss="cross_entropy") == ["probabilities-as-logits"]


def test_logits_into_binary_cross_entropy():
    found = diagnose(logits(32), bits(32), loss="binary_cross_entropy")
    assert [f.code for f in found] == ["logits-as-probabilities"]
    assert "binary_cross_entropy_with_logits" in found[0].message


@pytest.mark.parametrize("make", [lambda z: z, lambda z: lu.softmax(z, axis=1), lambda z: z - 3.0])
def test_not_log_probabilities_into_nll_loss(make):
    z = logits(16, 4)
    assert codes(make(z), labels(16, 4), loss="nll_loss") == ["logits-as-probabilities"]


def test_nll_loss_message_says_which_mistake_it_looks_like():
    z, y = logits(16, 4), labels(16, 4)
    assert "probabilities" in diagnose(lu.softmax(z, axis=1), y, loss="nll_loss")[0].message
    assert "raw scores" in diagnose(z, y, loss="nll_loss")[0].message


def test_logits_into_sequence_nll_loss():
    t = padded([6, 6, 4, 5], 6, pad=-100, vocab=7)
    assert codes(logits(4, 7, 6), t, loss="sequence_nll_loss") == ["logits-as-probabilities"]


@pytest.mark.parametrize(
    ("out_shape", "tgt_shape", "joint"),
    [
        ((8, 1), (8,), (8, 8)),
        ((8,), (8, 1), (8, 8)),
        ((1, 8), (8,), (1, 8)),
        ((4, 3), (3,), (4, 3)),
    ],
)
@pytest.mark.parametrize(
    "loss", ["mse", "mae", "huber", "smooth_l1", "binary_cross_entropy_with_logits"]
)
def test_shapes_that_broadcast(loss, out_shape, tgt_shape, joint):
    out, tgt = logits(*out_shape), bits(int(np.prod(tgt_shape))).reshape(tgt_shape)
    found = diagnose(out, tgt, loss=loss)
    assert [f.code for f in found] == ["broadcast-shape"]
    assert str(joint).replace(" ", "") in found[0].message.replace(" ", "")
    # PyTorch agrees that these broadcast (and warns): the finding is about a real silent bug.
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(torch.from_numpy(out), torch.from_numpy(tgt))


def test_shapes_that_do_not_fit_at_all():
    assert codes(logits(8), logits(7), loss="mse") == ["shape-mismatch"]
    assert codes(logits(8, 5), labels(8, 5)[:, None], loss="cross_entropy") == ["shape-mismatch"]
    assert codes(logits(8), labels(8, 5), loss="cross_entropy") == ["shape-mismatch"]
    t = padded([6, 6, 4, 5], 6, pad=-100, vocab=7)
    found = diagnose(logits(4, 6, 7), t, loss="sequence_cross_entropy")  # (N, T, C)
    assert [f.code for f in found] == ["shape-mismatch"] and "transpose(1, 2)" in found[0].message


def test_padding_that_counts_as_tokens():
    t = padded([3, 7, 10, 5, 4, 8], 10, pad=0)
    found = diagnose(logits(6, 9, 10), t, loss="sequence_cross_entropy")
    assert [f.code for f in found] == ["padding-not-ignored"]
    assert "ignore_index=0" in found[0].message
    assert codes(lu.log_softmax(logits(6, 9, 10), axis=1), t, loss="sequence_nll_loss") == [
        "padding-not-ignored"
    ]
    # The fix in either form: ignore the padding id, or pad with PyTorch's default -100.
    assert diagnose(logits(6, 9, 10), t, loss="sequence_cross_entropy", ignore_index=0) == []
    assert (
        diagnose(logits(6, 9, 10), np.where(t == 0, -100, t), loss="sequence_cross_entropy") == []
    )


def test_padding_rule_at_its_edges():
    z = logits(4, 9, 6)
    # Two of four sequences end in a run of 2 of token 0: half, flagged.
    half = np.array(
        [[1, 2, 3, 4, 0, 0], [5, 6, 7, 8, 0, 0], [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]
    )
    assert codes(z, half, loss="sequence_cross_entropy") == ["padding-not-ignored"]
    # One of four: not flagged.
    one = half.copy()
    one[1, -2:] = [7, 3]
    assert diagnose(z, one, loss="sequence_cross_entropy") == []
    # Every sequence ends in one end-of-sequence token (a run of 1): not padding.
    eos = np.array([[1, 2, 3, 4, 5, 8], [5, 6, 7, 1, 2, 8], [1, 2, 3, 4, 5, 8], [6, 5, 4, 3, 2, 8]])
    assert diagnose(z, eos, loss="sequence_cross_entropy") == []
    # An end-of-sequence token, then padding: the padding is flagged, not the end token.
    both = np.array(
        [[1, 2, 8, 0, 0, 0], [5, 6, 7, 1, 8, 0], [1, 8, 0, 0, 0, 0], [6, 5, 4, 3, 2, 8]]
    )
    found = diagnose(z, both, loss="sequence_cross_entropy")
    assert [f.code for f in found] == ["padding-not-ignored"] and "token id 0 " in found[0].message


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.049, 0.951, 0.99, 1.0])
@pytest.mark.parametrize(
    "loss",
    ["binary_cross_entropy_with_logits", "binary_cross_entropy", "multilabel_soft_margin_loss"],
)
def test_class_imbalance_without_a_class_weight(loss, rate):
    n = 1000
    y = (np.arange(n) < round(rate * n)).astype(np.float64)
    out = lu.sigmoid(logits(n)) if loss == "binary_cross_entropy" else logits(n)
    assert codes(out, y, loss=loss) == ["class-imbalance"]
    for weights in ({"pos_weight": 99.0}, {"weight": np.where(y == 1, 99.0, 1.0)}):
        if loss == "binary_cross_entropy_with_logits" or "pos_weight" not in weights:
            assert diagnose(out, y, loss=loss, **weights) == []


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5, 0.95])
def test_no_imbalance_finding_within_5_to_95_percent(rate):
    n = 1000
    y = (np.arange(n) < round(rate * n)).astype(np.float64)
    assert diagnose(logits(n), y, loss="binary_cross_entropy_with_logits") == []


def test_imbalance_message_gives_the_ratio():
    y = (np.arange(1000) < 10).astype(np.float64)
    (found,) = diagnose(logits(1000), y, loss="binary_cross_entropy_with_logits")
    assert "1 %" in found.message and "10 of 1000" in found.message and "99" in found.message


def test_soft_binary_targets_have_no_class_counts():
    y = np.full(100, 0.01)
    assert diagnose(logits(100), y, loss="binary_cross_entropy_with_logits") == []


def test_float_class_indices():
    z, y = logits(16, 4), labels(16, 4)
    found = diagnose(z, y.astype(np.float32), loss="cross_entropy")
    assert [f.code for f in found] == ["float-class-indices"]
    assert "round().long()" in found[0].message
    # PyTorch refuses them, as the message says.
    with pytest.raises(RuntimeError, match="expected target dtype"):
        F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y.astype(np.float32)))
    drifted = diagnose(z, y + 0.3, loss="cross_entropy")
    assert "16 of them are not whole numbers" in drifted[0].message


def test_class_indices_out_of_range():
    z = logits(4, 3)
    assert codes(z, np.array([0, 3, 1, 2]), loss="cross_entropy") == ["target-out-of-range"]
    assert codes(z, np.array([0, -1, 1, 2]), loss="cross_entropy") == ["target-out-of-range"]
    assert diagnose(z, np.array([0, -100, 1, 2]), loss="cross_entropy") == []
    assert diagnose(z, np.array([0, 3, 1, 2]), loss="cross_entropy", ignore_index=3) == []
    with pytest.raises(IndexError):
        F.cross_entropy(torch.from_numpy(z), torch.tensor([0, 3, 1, 2]))


def test_binary_targets_out_of_range():
    assert codes(
        logits(4), np.array([0.0, 2.0, 1.0, 0.0]), loss="binary_cross_entropy_with_logits"
    ) == ["target-out-of-range"]


def test_non_finite_values_are_reported_and_the_other_checks_skip_them():
    z, y = logits(8, 3), labels(8, 3)
    z[2, 1] = np.nan
    assert codes(z, y, loss="cross_entropy") == ["non-finite"]
    assert "output holds" in diagnose(z, y, loss="cross_entropy")[0].message
    t = logits(8)
    t[0] = np.inf
    assert codes(logits(8, 1), t, loss="mse") == ["non-finite", "broadcast-shape"]


def test_empty_batch():
    assert codes(np.zeros((0, 3)), np.zeros(0, dtype=int), loss="cross_entropy") == ["empty"]


def test_findings_are_records_with_a_code_and_a_message():
    (found,) = diagnose(logits(4, 1), logits(4), loss="mse")
    assert isinstance(found, Finding) and found.code in CODES
    assert str(found).startswith("broadcast-shape: output (4, 1) and target (4,)")


def test_an_unknown_loss_is_an_error_naming_the_argument():
    with pytest.raises(ValueError, match="loss must be the name of a lossutils loss"):
        diagnose(logits(4), logits(4), loss="l2")
    with pytest.raises(ValueError, match="got <built-in function len>"):
        diagnose(logits(4), logits(4), loss=len)


# --- never raises on a plausible batch -------------------------------------------------------

SHAPES = [(8,), (8, 1), (1, 8), (8, 5), (8, 5, 3), (2, 5, 3, 4), (0, 5)]
OUTPUT_VALUES = [
    lambda s: logits(*s),
    lambda s: np.abs(logits(*s)) % 1,
    lambda s: np.full(s, np.nan),
    lambda s: np.full(s, -np.inf),
    lambda s: 1e300 * logits(*s),
    lambda s: np.zeros(s, dtype=np.float16),
    lambda s: np.ones(s, dtype=np.int64),
]
TARGET_VALUES = [
    lambda s: labels(int(np.prod(s)), 5).reshape(s),
    lambda s: bits(int(np.prod(s))).reshape(s),
    lambda s: logits(*s),
    lambda s: np.full(s, -100),
    lambda s: np.zeros(s, dtype=bool),
    lambda s: np.full(s, np.nan),
]


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_never_raises_on_any_combination_of_shapes_and_values(loss):
    for so, st, make_out, make_tgt in itertools.product(
        SHAPES, SHAPES, OUTPUT_VALUES, TARGET_VALUES
    ):
        found = diagnose(make_out(so), make_tgt(st), loss=loss, ignore_index=-100)
        assert all(isinstance(f, Finding) and f.code in CODES and f.message for f in found)


@pytest.mark.parametrize("name", ["gaussian_nll_loss", "info_nce", "roc_auc"])
def test_losses_the_doctor_cannot_read_are_refused_by_name(name):
    """Metrics are not losses, and the Beyond-the-guide losses have other fingerprints: the doctor
    says it does not know them instead of running checks that do not apply."""
    with pytest.raises(ValueError, match=f"loss must be .* the doctor knows .*got '{name}'"):
        diagnose(np.zeros(4), np.zeros(4), loss=name)
