"""Time every lossutils loss (forward, reduction='mean') against torch.nn.functional on CPU.

Run: .venv/bin/python benchmarks/bench_losses.py [--dtype float32 float64] [--repeats 5]

Elementwise losses get 1e6 elements; the cross-entropy family gets 1e5 x 100
logits (1e7 elements). Each timing is the best of a few interleaved repeats,
after one warm-up call. PyTorch runs with its default threads (all cores) and again
with one thread; NumPy ufuncs always run on one core. The ratio is lossutils
time / PyTorch time (below 1: lossutils faster).
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import lossutils as lu


def best_times(fns, repeats, budget_s=1.5):
    """Best wall time of each function over ``repeats`` interleaved rounds (so a
    burst of load on the machine hits all of them alike), after a warm-up;
    fewer rounds once ``budget_s`` is spent."""
    best = [float("inf")] * len(fns)
    start_all = time.perf_counter()
    for round_ in range(repeats + 1):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            if round_:  # round 0 is the warm-up
                best[i] = min(best[i], time.perf_counter() - start)
        if round_ >= 2 and time.perf_counter() - start_all > budget_s:
            break
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


def cases(dtype, rng):
    n = 10**6
    pred, target = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    prob = rng.uniform(0.01, 0.99, n).astype(dtype)
    labels = (rng.uniform(size=n) < 0.3).astype(dtype)
    weight = rng.uniform(0.5, 2, n).astype(dtype)
    multi, multi_t = pred.reshape(10**4, 100), labels.reshape(10**4, 100)
    logits = rng.normal(size=(10**5, 100)).astype(dtype)
    classes = rng.integers(0, 100, 10**5)
    log_probs = lu.log_softmax(logits, axis=1)
    seq = np.ascontiguousarray(logits.reshape(1000, 100, 100))  # (N, C, T)
    seq_t = rng.integers(0, 100, (1000, 100))
    seq_t[:, 80:] = -100  # padding

    T = torch.from_numpy
    tt = lambda a: T(a).to(torch.float64 if dtype == np.float64 else torch.float32)  # noqa: E731
    return [
        ("mse", f"{n:.0e}", lambda: lu.mse(pred, target), lambda: F.mse_loss(T(pred), T(target))),
        ("mse(weight)", f"{n:.0e}", lambda: lu.mse(pred, target, weight=weight),
         lambda: F.mse_loss(T(pred), T(target), weight=T(weight))),
        ("mae", f"{n:.0e}", lambda: lu.mae(pred, target), lambda: F.l1_loss(T(pred), T(target))),
        ("huber", f"{n:.0e}", lambda: lu.huber(pred, target), lambda: F.huber_loss(T(pred), T(target))),
        ("smooth_l1", f"{n:.0e}", lambda: lu.smooth_l1(pred, target, beta=0.5),
         lambda: F.smooth_l1_loss(T(pred), T(target), beta=0.5)),
        ("binary_cross_entropy", f"{n:.0e}", lambda: lu.binary_cross_entropy(prob, labels),
         lambda: F.binary_cross_entropy(T(prob), T(labels))),
        ("bce_with_logits", f"{n:.0e}", lambda: lu.binary_cross_entropy_with_logits(pred, labels),
         lambda: F.binary_cross_entropy_with_logits(T(pred), T(labels))),
        ("weighted_bce_with_logits", f"{n:.0e}",
         lambda: lu.weighted_binary_cross_entropy_with_logits(pred, labels, w0=0.5, w1=3.0),
         lambda: F.binary_cross_entropy_with_logits(T(pred), T(labels), weight=tt(np.array(0.5)),
                                                    pos_weight=tt(np.array(6.0)))),
        ("multilabel_soft_margin", "1e4x100", lambda: lu.multilabel_soft_margin_loss(multi, multi_t),
         lambda: F.multilabel_soft_margin_loss(T(multi), T(multi_t))),
        ("sigmoid_focal", f"{n:.0e}", lambda: lu.sigmoid_focal_loss(pred, labels, reduction="mean"),
         lambda: torch_sigmoid_focal(T(pred), T(labels))),
        ("cross_entropy", "1e5x100", lambda: lu.cross_entropy(logits, classes),
         lambda: F.cross_entropy(T(logits), T(classes))),
        ("cross_entropy(smoothing)", "1e5x100", lambda: lu.cross_entropy(logits, classes, label_smoothing=0.1),
         lambda: F.cross_entropy(T(logits), T(classes), label_smoothing=0.1)),
        ("nll_loss", "1e5x100", lambda: lu.nll_loss(log_probs, classes),
         lambda: F.nll_loss(T(log_probs), T(classes))),
        ("softmax_focal", "1e5x100", lambda: lu.softmax_focal_loss(logits, classes),
         lambda: torch_softmax_focal(T(logits), T(classes))),
        ("sequence_cross_entropy", "1e3x100x100", lambda: lu.sequence_cross_entropy(seq, seq_t),
         lambda: F.cross_entropy(T(seq), T(seq_t))),
        ("perplexity", "1e3x100x100", lambda: lu.perplexity(seq, seq_t),
         lambda: torch.exp(F.cross_entropy(T(seq), T(seq_t)))),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"best of {args.repeats}; torch {torch.__version__} ({threads} threads, and 1 thread), "
          f"numpy {np.__version__} (1 thread); ratio = lossutils / torch")
    print(f"{'loss':<26}{'size':>12}{'dtype':>9}{'lossutils ms':>14}{'torch ms':>10}{'ratio':>7}"
          f"{'torch 1-thr ms':>16}{'ratio':>7}")
    worst = {}
    for dtype_name in args.dtype:
        dtype = np.dtype(dtype_name).type
        for name, size, ours, theirs in cases(dtype, np.random.default_rng(0)):
            def theirs_one_thread(theirs=theirs):
                torch.set_num_threads(1)
                try:
                    return theirs()
                finally:
                    torch.set_num_threads(threads)

            a, b, c = best_times([ours, theirs, theirs_one_thread], args.repeats)
            worst[dtype_name] = max(worst.get(dtype_name, 0), a / b)
            print(f"{name:<26}{size:>12}{dtype_name:>9}{a * 1e3:>14.2f}{b * 1e3:>10.2f}{a / b:>7.2f}"
                  f"{c * 1e3:>16.2f}{a / c:>7.2f}")
    print("worst ratio against torch with its default threads:",
          ", ".join(f"{k} {v:.2f}" for k, v in worst.items()))


if __name__ == "__main__":
    main()
