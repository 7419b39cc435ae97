"""Time every lossutils loss and its gradient against PyTorch on one CPU thread.

Run: ``make bench``, or ``.venv/bin/python benchmarks/bench_losses.py [--dtype float32]
[--kind loss grad] [--only huber cross] [--repeats 7]``.

Elementwise losses get 1e6 elements; the class losses get 1e5 x 100 logits (1e7 elements),
the sequence losses 1e3 x 100 x 100. ``loss`` rows time the mean-reduced loss against
``torch.nn.functional``; ``grad`` rows time ``lossutils.grad_<loss>`` against what autograd
needs for the same gradient, a forward pass and ``torch.autograd.grad``. Each timing is the
best of ``--repeats`` interleaved rounds after a warm-up (so that a burst of load on the machine
hits both sides alike). PyTorch runs on one thread, as NumPy's ufuncs do; ratio = lossutils time
/ PyTorch time (below 1: lossutils faster). The library's goal is every ratio at or under 1.5.

Timings depend on the machine and on its load: the header prints both, and NumPy's SIMD level.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

import lossutils as lu

TARGET_RATIO = 1.5


class Case(NamedTuple):
    """One benchmarked loss: lossutils' loss and gradient, and PyTorch's loss (a function of
    the tensor the gradient is taken with respect to)."""

    name: str
    size: str
    loss: Callable[[], object]
    grad: Callable[[], object]
    torch_loss: Callable[[torch.Tensor], torch.Tensor]
    first: np.ndarray  # the argument the gradient is taken with respect to


def best_times(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall time of each function over ``repeats`` interleaved rounds, after a warm-up."""
    best = [float("inf")] * len(fns)
    for round_ in range(repeats + 1):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            if round_:  # round 0 is the warm-up
                best[i] = min(best[i], time.perf_counter() - start)
    return best


def torch_sigmoid_focal(x, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss written out, mean-reduced."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return ((alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - p_t) ** gamma).mean()


def torch_softmax_focal(x, t, gamma=2.0):
    log_p = torch.log_softmax(x, 1).gather(1, t[:, None])[:, 0]
    return (-((1 - log_p.exp()) ** gamma) * log_p).mean()


def cases(dtype: type, rng: np.random.Generator) -> list[Case]:
    """The benchmarked calls: one per loss of ``lossutils.LOSSES``, a few with options."""
    n = 10**6
    pred, target = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    prob = rng.uniform(0.01, 0.99, n).astype(dtype)
    labels = (rng.uniform(size=n) < 0.3).astype(dtype)
    weight = rng.uniform(0.5, 2, n).astype(dtype)
    multi, multi_t = pred.reshape(10**4, 100), labels.reshape(10**4, 100)
    logits = rng.normal(size=(10**5, 100)).astype(dtype)
    classes = rng.integers(0, 100, 10**5)
    prior = (np.arange(100, 0, -1) / 5050).astype(dtype)  # a long tail: 100 : 99 : ... : 1
    log_probs = lu.log_softmax(logits, axis=1)
    seq = np.ascontiguousarray(logits.reshape(1000, 100, 100))  # (N, C, T)
    seq_t = rng.integers(0, 100, (1000, 100))
    seq_t[:, 80:] = -100  # padding
    T = torch.from_numpy

    def case(name, size, fn, first, args, kw, torch_loss):
        return Case(
            name,
            size,
            lambda: fn(first, *args, **kw),
            lambda: getattr(lu, "grad_" + fn.__name__)(first, *args, **kw),
            torch_loss,
            first,
        )

    w0, w1 = dtype(0.5), dtype(3.0)
    return [
        case("mse", "1e6", lu.mse, pred, (target,), {}, lambda x: F.mse_loss(x, T(target))),
        case(
            "mse(weight)",
            "1e6",
            lu.mse,
            pred,
            (target,),
            {"weight": weight},
            lambda x: F.mse_loss(x, T(target), weight=T(weight)),
        ),
        case("mae", "1e6", lu.mae, pred, (target,), {}, lambda x: F.l1_loss(x, T(target))),
        case("huber", "1e6", lu.huber, pred, (target,), {}, lambda x: F.huber_loss(x, T(target))),
        case(
            "smooth_l1",
            "1e6",
            lu.smooth_l1,
            pred,
            (target,),
            {"beta": 0.5},
            lambda x: F.smooth_l1_loss(x, T(target), beta=0.5),
        ),
        case(
            "binary_cross_entropy",
            "1e6",
            lu.binary_cross_entropy,
            prob,
            (labels,),
            {},
            lambda x: F.binary_cross_entropy(x, T(labels)),
        ),
        case(
            "bce_with_logits",
            "1e6",
            lu.binary_cross_entropy_with_logits,
            pred,
            (labels,),
            {},
            lambda x: F.binary_cross_entropy_with_logits(x, T(labels)),
        ),
        case(
            "weighted_bce_with_logits",
            "1e6",
            lu.weighted_binary_cross_entropy_with_logits,
            pred,
            (labels,),
            {"w0": 0.5, "w1": 3.0},
            lambda x: F.binary_cross_entropy_with_logits(
                x, T(labels), weight=torch.tensor(w0), pos_weight=torch.tensor(w1 / w0)
            ),
        ),
        case(
            "multilabel_soft_margin",
            "1e4x100",
            lu.multilabel_soft_margin_loss,
            multi,
            (multi_t,),
            {},
            lambda x: F.multilabel_soft_margin_loss(x, T(multi_t)),
        ),
        case(
            "sigmoid_focal",
            "1e6",
            lu.sigmoid_focal_loss,
            pred,
            (labels,),
            {"reduction": "mean"},
            lambda x: torch_sigmoid_focal(x, T(labels)),
        ),
        case(
            "cross_entropy",
            "1e5x100",
            lu.cross_entropy,
            logits,
            (classes,),
            {},
            lambda x: F.cross_entropy(x, T(classes)),
        ),
        case(
            "cross_entropy(smoothing)",
            "1e5x100",
            lu.cross_entropy,
            logits,
            (classes,),
            {"label_smoothing": 0.1},
            lambda x: F.cross_entropy(x, T(classes), label_smoothing=0.1),
        ),
        case(
            "logit_adjusted_cross_entropy",
            "1e5x100",
            lu.logit_adjusted_cross_entropy,
            logits,
            (classes,),
            {"prior": prior},
            lambda x: F.cross_entropy(x + T(np.log(prior)), T(classes)),
        ),
        case(
            "nll_loss",
            "1e5x100",
            lu.nll_loss,
            log_probs,
            (classes,),
            {},
            lambda x: F.nll_loss(x, T(classes)),
        ),
        case(
            "softmax_focal",
            "1e5x100",
            lu.softmax_focal_loss,
            logits,
            (classes,),
            {},
            lambda x: torch_softmax_focal(x, T(classes)),
        ),
        case(
            "sequence_cross_entropy",
            "1e3x100x100",
            lu.sequence_cross_entropy,
            seq,
            (seq_t,),
            {},
            lambda x: F.cross_entropy(x, T(seq_t)),
        ),
        case(
            "sequence_nll_loss",
            "1e3x100x100",
            lu.sequence_nll_loss,
            seq,
            (seq_t,),
            {},
            lambda x: F.nll_loss(x, T(seq_t)),
        ),
        *issue17_cases(case, dtype, rng),
    ]


def issue17_cases(case: Callable, dtype: type, rng: np.random.Generator) -> list[Case]:
    """Probabilistic regression, margins and embeddings, scoring rules: 1e6 numbers each."""
    n = 10**6
    mean, target = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    var = rng.uniform(0.1, 2.0, n).astype(dtype)
    counts = rng.poisson(2.0, n).astype(dtype)
    q = dtype(0.9)
    s2, order = rng.normal(size=n).astype(dtype), rng.choice(np.array([-1, 1], dtype=dtype), n)
    scores, classes = rng.normal(size=(10**4, 100)).astype(dtype), rng.integers(0, 100, 10**4)
    anchor, pos, neg = rng.normal(size=(3, 10**5, 10)).astype(dtype)
    queries, keys = rng.normal(size=(2, 1000, 128)).astype(dtype)
    probs = lu.softmax(scores, axis=1)
    log_p, target_p = lu.log_softmax(scores, axis=1), probs[::-1].copy()
    T = torch.from_numpy
    return [
        case(
            "gaussian_nll",
            "1e6",
            lu.gaussian_nll_loss,
            mean,
            (target, var),
            {},
            lambda x: F.gaussian_nll_loss(x, T(target), T(var)),
        ),
        case(
            "poisson_nll",
            "1e6",
            lu.poisson_nll_loss,
            mean,
            (counts,),
            {},
            lambda x: F.poisson_nll_loss(x, T(counts)),
        ),
        case(
            "pinball",
            "1e6",
            lu.pinball_loss,
            mean,
            (target,),
            {"quantile": q},
            lambda x: torch.maximum(q * (T(target) - x), (q - 1) * (T(target) - x)).mean(),
        ),
        case(
            "multi_margin",
            "1e4x100",
            lu.multi_margin_loss,
            scores,
            (classes,),
            {},
            lambda x: F.multi_margin_loss(x, T(classes)),
        ),
        case(
            "margin_ranking",
            "1e6",
            lu.margin_ranking_loss,
            mean,
            (s2, order),
            {"margin": 0.5},
            lambda x: F.margin_ranking_loss(x, T(s2), T(order), margin=0.5),
        ),
        case(
            "triplet_margin",
            "1e5x10",
            lu.triplet_margin_loss,
            anchor,
            (pos, neg),
            {},
            lambda x: F.triplet_margin_loss(x, T(pos), T(neg)),
        ),
        case(
            "info_nce",
            "1e3x128",
            lu.info_nce,
            queries,
            (keys,),
            {},
            lambda x: F.cross_entropy(
                F.normalize(x) @ F.normalize(T(keys)).T / 0.1, torch.arange(len(keys))
            ),
        ),
        case(
            "brier_score",
            "1e4x100",
            lu.brier_score,
            probs,
            (classes,),
            {},
            lambda x: ((x - F.one_hot(T(classes), 100).to(x.dtype)) ** 2).sum(1).mean(),
        ),
        case(
            "kl_div",
            "1e4x100",
            lu.kl_div,
            log_p,
            (target_p,),
            {"reduction": "batchmean"},
            lambda x: F.kl_div(x, T(target_p), reduction="batchmean"),
        ),
    ]


def torch_forward(case: Case) -> Callable[[], object]:
    x = torch.from_numpy(case.first)
    return lambda: case.torch_loss(x)


def torch_gradient(case: Case) -> Callable[[], object]:
    """Autograd's cost of the same gradient: a forward pass that records the graph, then grad."""
    x = torch.from_numpy(case.first).requires_grad_()
    return lambda: torch.autograd.grad(case.torch_loss(x), x)


def floors(repeats: int) -> None:
    """What the float32 policy costs before any arithmetic: for float32 BCE with logits and
    cross-entropy, the float64 kernels they cannot skip (evaluated in blocks, as lossutils does)
    and the conversion of their inputs, against PyTorch's whole float32 loss on one thread."""
    rng = np.random.default_rng(0)
    block = 1 << 15

    def blocked(op, *arrays):
        def run():
            for i in range(0, arrays[0].size, block):
                op(*(a.reshape(-1)[i : i + block] for a in arrays))

        return run

    z = rng.normal(size=10**6).astype(np.float32)
    t = (rng.uniform(size=10**6) < 0.3).astype(np.float32)
    x = rng.normal(size=(10**5, 100)).astype(np.float32)
    z64, x64 = z.astype(np.float64), x.astype(np.float64)
    e64 = np.exp(-np.abs(z64))  # log1p's argument in the BCE, in (0, 1]
    T = torch.from_numpy
    parts = {
        "BCE with logits, 1e6": (
            lambda: F.binary_cross_entropy_with_logits(T(z), T(t)),
            {
                "float64 exp": blocked(np.exp, z64),
                "float64 log1p": blocked(np.log1p, e64),
                "float32 -> float64, 2 inputs": blocked(
                    lambda a, b: (a.astype(np.float64), b.astype(np.float64)), z, t
                ),
            },
        ),
        "cross-entropy, 1e5 x 100 (torch's log_softmax alone)": (
            lambda: torch.log_softmax(T(x), 1),
            {
                "float64 exp": blocked(np.exp, x64),
                "float32 -> float64": blocked(lambda a: a.astype(np.float64), x),
            },
        ),
    }
    print("\nfloors of the float32 policy (float64 kernels that cannot be skipped, per loss):")
    for name, (theirs, unavoidable) in parts.items():
        times = best_times([theirs, *unavoidable.values()], repeats)
        floor = sum(times[1:])
        detail = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in zip(unavoidable, times[1:]))
        print(
            f"  {name}: torch float32 {times[0] * 1e3:.2f} ms; {detail}; "
            f"together {floor * 1e3:.2f} ms = {floor / times[0]:.2f} x torch before any arithmetic"
        )


def machine() -> list[str]:
    """Where the numbers come from: CPU, load, NumPy's SIMD targets, PyTorch's capability."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    dispatch = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"machine: {cpu}, {os.cpu_count()} logical cores, load average {load} (1, 5, 15 min)",
        f"numpy {np.__version__}: SIMD baseline {' '.join(umath.__cpu_baseline__)}, "
        f"dispatch {' '.join(dispatch) or 'none'}"
        + (
            f" (NPY_DISABLE_CPU_FEATURES={os.environ['NPY_DISABLE_CPU_FEATURES']})"
            if os.environ.get("NPY_DISABLE_CPU_FEATURES")
            else ""
        ),
        f"torch {torch.__version__}: CPU capability {torch.backends.cpu.get_cpu_capability()}, 1 thread",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"]
    )
    parser.add_argument("--kind", nargs="+", default=["loss", "grad"], choices=["loss", "grad"])
    parser.add_argument(
        "--only", nargs="+", default=None, help="run the cases whose name contains one of these"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--floors", action="store_true", help="also time the float32 policy's fixed costs"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    for line in machine():
        print(line)
    print(
        f"best of {args.repeats} interleaved rounds; ratio = lossutils / torch (1 thread), "
        f"target <= {TARGET_RATIO}"
    )
    print(
        f"{'case':<26}{'size':>12}{'dtype':>9}{'kind':>6}{'lossutils ms':>14}{'torch ms':>10}{'ratio':>7}"
    )
    over = []
    worst: dict[tuple[str, str], float] = {}
    for dtype_name in args.dtype:
        for case in cases(np.dtype(dtype_name).type, np.random.default_rng(0)):
            if args.only and not any(s in case.name for s in args.only):
                continue
            for kind in args.kind:
                ours, theirs = (
                    (case.loss, torch_forward(case))
                    if kind == "loss"
                    else (case.grad, torch_gradient(case))
                )
                a, b = best_times([ours, theirs], args.repeats)
                ratio = a / b
                worst[dtype_name, kind] = max(worst.get((dtype_name, kind), 0.0), ratio)
                flag = "  *" if ratio > TARGET_RATIO else ""
                if flag:
                    over.append(f"{case.name} {dtype_name} {kind} {ratio:.2f}")
                print(
                    f"{case.name:<26}{case.size:>12}{dtype_name:>9}{kind:>6}{a * 1e3:>14.2f}"
                    f"{b * 1e3:>10.2f}{ratio:>7.2f}{flag}",
                    flush=True,
                )
    print("worst ratio:", ", ".join(f"{d} {k} {v:.2f}" for (d, k), v in worst.items()))
    print(f"over {TARGET_RATIO} (*):", "; ".join(over) or "none")
    if args.floors:
        floors(args.repeats)


if __name__ == "__main__":
    main()
