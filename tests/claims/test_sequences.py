"""'Sequence models: cross-entropy per token': the claims that re-run its training or check
its model against PyTorch's modules."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F


@contextlib.contextmanager
def _float32_one_thread():
    """This chapter trains in PyTorch's default float32 on one thread (its set-up cell leaves the
    dtype alone and sets one thread); on a busy 2-core machine two threads are many times slower."""
    saved = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_default_dtype(saved[0])
        torch.set_num_threads(saved[1])


@pytest.fixture(autouse=True)
def float64_like_the_chapters():
    """Replaces the suite's float64 fixture: this chapter's re-runs compute as it does."""
    with _float32_one_thread():
        yield


@pytest.fixture(scope="module")
def ch(chapter):
    with _float32_one_thread():  # also when the chapter runs first here, before any test
        return chapter("sequences")


def _fresh_params(ch, seed=0):
    """The chapter's initialisation (same shapes and scales), from its own seed."""
    gen = torch.Generator().manual_seed(seed)
    S, K, C, H = ch.S, ch.K, ch.C, ch.H
    params = {
        "W": torch.randn(S, K * C, H, generator=gen) / math.sqrt(K),
        "b": torch.zeros(S, 1, H),
        "V": torch.randn(S, H, C, generator=gen) * 0.1 / math.sqrt(H),
        "c": torch.zeros(S, 1, C),
    }
    return gen, {name: p.requires_grad_() for name, p in params.items()}


def test_the_ten_models_are_independent(ch):
    """Summing the models' losses gives model s the gradient of its own loss, and nothing else."""
    _, params = _fresh_params(ch, seed=3)
    x, y = ch.training_batch(torch.Generator().manual_seed(4))
    losses = ch.model_losses(params, x, y, ch.eps)
    total = torch.autograd.grad(losses.sum(), list(params.values()), retain_graph=True)
    own = torch.autograd.grad(losses[3], list(params.values()))
    for g_total, g_own in zip(total, own):
        assert torch.allclose(g_total[3], g_own[3], rtol=1e-5, atol=1e-7)
        assert not torch.cat([g_own[:3].flatten(), g_own[4:].flatten()]).any()


def test_lm_logits_is_a_one_hidden_layer_network_on_one_hot_windows(ch):
    """embedding_bag over offset rows == Linear(K*C -> H) on the concatenated one-hot window."""
    S, K, C, H = ch.S, ch.K, ch.C, ch.H
    x = torch.from_numpy(ch.val_ids[: 40 + K - 1]).expand(S, 1, -1)
    got = ch.lm_logits(ch.params, x)[:, 0]  # (S, 40, C)
    windows = x[:, 0].unfold(-1, K, 1)  # (S, 40, K)
    for s in (0, 7):
        hidden, out = torch.nn.Linear(K * C, H), torch.nn.Linear(H, C)
        with torch.no_grad():
            hidden.weight.copy_(ch.params["W"][s].T)
            hidden.bias.copy_(ch.params["b"][s, 0])
            out.weight.copy_(ch.params["V"][s].T)
            out.bias.copy_(ch.params["c"][s, 0])
            one_hot = F.one_hot(windows[s], C).float().reshape(-1, K * C)
            want = out(torch.relu(hidden(one_hot)))
        assert torch.allclose(got[s], want, rtol=1e-4, atol=1e-5)


def test_the_weighted_counts_minimise_the_weighted_loss(ch):
    """The chapter's claim behind 'what each average optimises': with k = 0, the table of
    weighted counts is a stationary point (the minimum: the loss is convex in the logits)."""
    prev, nxt, length = ch.sentence_pairs(ch.split["train"][:200])
    for weight in (np.ones(len(prev)), 1 / length):
        table = torch.tensor(ch.fit_weighted_bigram(prev, nxt, weight, k=1e-12), requires_grad=True)
        loss = (torch.from_numpy(weight) * -F.log_softmax(table, dim=1)[prev, nxt]).sum()
        (grad,) = torch.autograd.grad(loss, table)
        seen = np.bincount(prev, minlength=ch.C) > 0
        assert grad[seen].abs().max() < 1e-8


def test_twice_the_training_gives_the_same_comparisons(ch):
    """The models are near convergence, not at it: with twice the steps every comparison the
    chapter draws holds again (each seed beats the trigram and the bigram; smoothing costs
    perplexity seed by seed)."""
    gen, params = _fresh_params(ch)
    steps = 2 * ch.steps
    optimiser = torch.optim.Adam(params.values(), lr=ch.lr)
    for step in range(steps):
        optimiser.param_groups[0]["lr"] = ch.lr * (1 - step / steps)
        x, y = ch.training_batch(gen)
        losses = ch.model_losses(params, x, y, ch.eps)
        optimiser.zero_grad()
        losses.sum().backward()
        optimiser.step()
    with torch.no_grad():
        logits = ch.lm_logits(params, ch.x_val)
        nll = F.cross_entropy(logits.permute(0, 3, 1, 2), ch.y_val, reduction="none")
    ppl = nll.mean(dim=(1, 2)).exp().numpy()
    plain, smoothed = ppl[: ch.seeds], ppl[ch.seeds :]
    assert (plain < math.exp(ch.baseline["trigram"][1])).all()
    assert (smoothed > plain).all()
    assert plain.mean() < ch.val_ppl[: ch.seeds].mean()  # longer training still helps a little
