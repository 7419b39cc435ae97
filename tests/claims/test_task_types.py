"""'Task types and the loss they call for': the identities and checks that re-run in PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("task-types")


def test_a_column_output_against_a_flat_target_broadcasts_with_only_a_warning(ch):
    """The text: a (N, 1) output against a (N,) target broadcasts to (N, N); PyTorch only warns,
    and the loss is wrong."""
    out, target = (
        torch.from_numpy(ch.outputs["regression"])[:, None],
        torch.from_numpy(ch.targets["regression"]),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrong = F.mse_loss(out, target)
    assert any("broadcast" in str(w.message) for w in caught)
    assert not np.isclose(wrong.item(), lu.mse(ch.outputs["regression"], ch.targets["regression"]))


def test_every_tasks_loss_is_torch_nn_functionals(ch):
    z = {k: torch.from_numpy(v) for k, v in ch.outputs.items()}
    y = {k: torch.from_numpy(v) for k, v in ch.targets.items()}
    o, t = ch.outputs, ch.targets
    assert np.isclose(
        lu.mse(o["regression"], t["regression"]),
        F.mse_loss(z["regression"], y["regression"]).item(),
        rtol=1e-12,
    )
    assert np.isclose(
        lu.binary_cross_entropy_with_logits(o["binary"], t["binary"]),
        F.binary_cross_entropy_with_logits(z["binary"], y["binary"]).item(),
        rtol=1e-12,
    )
    assert np.isclose(
        lu.cross_entropy(o["multiclass"], t["multiclass"]),
        F.cross_entropy(z["multiclass"], y["multiclass"]).item(),
        rtol=1e-12,
    )
    assert np.isclose(
        ch.ours["imbalanced"],
        F.binary_cross_entropy_with_logits(
            z["imbalanced"], y["imbalanced"], pos_weight=torch.tensor(ch.ratio)
        ).item(),
        rtol=1e-12,
    )


def test_the_identities_behind_the_table_hold_on_this_data(ch):
    o, t, ours = ch.outputs, ch.targets, ch.ours
    # Multi-label: BCE with logits over all elements = the multi-label soft-margin loss.
    soft_margin = lu.multilabel_soft_margin_loss(o["multilabel"], t["multilabel"])
    assert np.isclose(
        soft_margin,
        F.multilabel_soft_margin_loss(
            torch.from_numpy(o["multilabel"]), torch.from_numpy(t["multilabel"])
        ).item(),
        rtol=1e-12,
    )
    assert np.isclose(soft_margin, ours["multilabel"], rtol=1e-12)
    # Sequence: cross-entropy on logits = NLL on log-softmax, padding ignored, = the mean over real tokens.
    log_p = lu.log_softmax(o["sequence"], axis=1)
    assert np.isclose(lu.sequence_nll_loss(log_p, t["sequence"]), ours["sequence"], rtol=1e-12)
    nll = F.nll_loss(
        F.log_softmax(torch.from_numpy(o["sequence"]), dim=1), torch.from_numpy(t["sequence"])
    )
    assert np.isclose(nll.item(), ours["sequence"], rtol=1e-12)
    real = t["sequence"] != ch.PAD
    picked = np.take_along_axis(log_p, np.where(real, t["sequence"], 0)[:, None, :], axis=1)[:, 0]
    assert np.isclose(-picked[real].mean(), ours["sequence"], rtol=1e-12)
    # A binary task is a two-class task: cross-entropy with logits (0, z) equals BCE with logit z.
    two = np.stack([np.zeros(ch.N), o["binary"]], axis=1)
    assert np.isclose(
        lu.cross_entropy(two, t["binary"].astype(np.int64)), ours["binary"], rtol=1e-12
    )
    # The activations choose_loss names are the ones the table says.
    assert [ch.recs[k].activation for k in ch.heads] == [
        "identity",
        "sigmoid",
        "softmax",
        "sigmoid",
        "sigmoid",
        "softmax",
    ]


@pytest.mark.parametrize(
    "task, kwargs, argument",
    [
        ("classification", {}, "task"),
        ("binary", {"imbalance": 0.2}, "imbalance"),
        ("binary", {"outliers": True}, "outliers"),
    ],
)
def test_choose_loss_refuses_bad_input_naming_the_argument(task, kwargs, argument):
    with pytest.raises(ValueError) as err:
        lu.choose_loss(task, **kwargs)
    assert str(err.value).split()[0] == argument


def test_lossutils_agrees_with_pytorch_on_the_trained_outputs(ch):
    for task in ch.heads:
        rec = ch.recs[task]
        ours = getattr(lu, rec.loss)(ch.trained[task], ch.targets[task], **rec.kwargs)
        assert np.isclose(
            ours, ch.pytorch_loss(rec, ch.trained[task], ch.targets[task]), rtol=1e-12
        ), task
