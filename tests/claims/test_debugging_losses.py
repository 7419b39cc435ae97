"""'Choosing and debugging a loss': the claims that re-run its computations in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import lossutils as lu


@pytest.fixture(scope="module")
def ch(chapter):
    return chapter("debugging-losses")


def test_the_stacked_networks_are_nn_linear_stacks(ch):
    """Model 2 of a stack, rebuilt from nn.Linear layers, gives the same logits."""
    params = ch.init_mlp(5, [2, 32, 32, 1], torch.Generator().manual_seed(0))
    X = ch.train_set[0]
    layers = []
    for W, b in zip(params[::2], params[1::2]):
        linear = nn.Linear(*W.shape[1:])
        with torch.no_grad():
            linear.weight.copy_(W[2].T)
            linear.bias.copy_(b[2, 0])
        layers += [linear, nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    with torch.no_grad():
        assert torch.allclose(net(X[2]).squeeze(-1), ch.mlp(params, X)[2], rtol=1e-12)


def test_the_chapters_bce_is_lossutils_per_model(ch):
    logits = torch.randn(5, 40, generator=torch.Generator().manual_seed(1)) * 4
    y = ch.train_set[1][:, :40]
    ours = [lu.binary_cross_entropy_with_logits(z.numpy(), t.numpy()) for z, t in zip(logits, y)]
    assert np.allclose(ch.bce(logits, y).numpy(), ours, rtol=1e-12)


def _minimise_cross_entropy(inputs, targets, n_tokens, ignore_index):
    """The smallest token-level cross-entropy of a bigram logit table, found by L-BFGS."""
    table = torch.zeros(n_tokens, n_tokens, requires_grad=True)
    opt = torch.optim.LBFGS(
        [table], max_iter=500, tolerance_grad=1e-12, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        logits = table[inputs].transpose(1, 2)
        loss = F.cross_entropy(logits, targets, ignore_index=ignore_index)
        loss.backward()
        return loss

    opt.step(closure)
    return closure().item()


def test_the_bigram_count_table_minimises_the_cross_entropy(ch):
    """'Training' by counting: the frequencies minimise the token-level cross-entropy, with and
    without the padding, as L-BFGS on F.cross_entropy confirms."""
    tokens = ch.corpora[0]
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    for ignore_index in (-100, ch.PAD):
        counted = ch.token_loss(ch.fit_bigram(tokens, ignore_index), tokens, ignore_index)
        fitted = _minimise_cross_entropy(inputs, targets, ch.V, ignore_index)
        assert fitted >= counted - 1e-9 and fitted - counted < 1e-4, (ignore_index, fitted, counted)


def test_adam_is_almost_indifferent_to_the_reduction(ch):
    """The claim of the exercise on reduction='sum': with Adam, the summed loss (the mean's
    learning rate) ends within 1 % of the mean's training loss, seed by seed, while SGD with
    the same switch trains far worse (measured in the chapter)."""
    X, Y = ch.train_set
    final = {}
    for name, loss_fn in [("mean", ch.bce), ("sum", ch.bce_sum)]:
        params = ch.init_mlp(5, [2, 32, 32, 1], torch.Generator().manual_seed(4))
        opt = torch.optim.Adam(params, lr=0.01)
        g = torch.Generator().manual_seed(0)
        for _epoch in range(60):
            for idx in ch.batches(5, 100, 20, g):
                xb, yb = X.take_along_dim(idx[..., None], 1), Y.take_along_dim(idx, 1)
                opt.zero_grad()
                loss_fn(ch.mlp(params, xb), yb).sum().backward()
                opt.step()
        with torch.no_grad():
            final[name] = ch.bce(ch.mlp(params, X), Y).numpy()
    assert np.allclose(final["sum"], final["mean"], rtol=1e-2)
    assert np.all(final["mean"] < np.array(ch.sum_runs["sum, lr 0.2"]))


def test_the_early_stopping_exercise_agrees_with_the_argmin_when_patience_is_unlimited(ch):
    for run in ch.curves["val"][ch.plain]:
        assert ch.early_stopping(run, patience=10**6) == (int(np.argmin(run)), len(run) - 1)


def test_the_float_label_example_is_what_the_text_says(ch):
    """Half the labels come back just below their integer; rounding restores all of them."""
    below = (ch.restored < ch.labels) & (ch.restored > ch.labels - 1e-5)
    assert torch.equal(below, ch.truncated != ch.labels)
