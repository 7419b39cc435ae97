"""Worst relative error of lossutils and of PyTorch against mpmath (50 digits), side by side.

Run: .venv/bin/python benchmarks/accuracy_report.py

The grid of logits, the reference formulas and the error measure are those
of tests/test_stability.py (which asserts the lossutils column): logits from
-1e4 to 1e4 including -50, -30, -1e-8, 0, 1e-8, 30, 50, and seeded random ones;
binary targets 0, 1 and 0.3; three-class rows (a, b, 0) over every pair of grid
logits, and random rows. Errors are
in units of the dtype's machine epsilon (float64: 2.2e-16, float32: 1.2e-7),
with values that underflow judged by their absolute error against the
smallest normal number. An error of 1/eps (4.5e15 or 8.4e6) means a result of
0 where the true value is not: all digits lost.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_stability as ts


def where(inputs, i, n_out):
    """The input behind output ``i`` (log_softmax has 3 outputs per input row)."""
    row = i * len(inputs[0]) // n_out
    parts = [
        np.array2string(a[row], separator=", ") if np.ndim(a[row]) else f"{a[row]:g}"
        for a in inputs
    ]
    return " / ".join(parts) + (f" (class {i % 3})" if n_out > len(inputs[0]) else "")


def main():
    print(
        f"{'case':<26}{'dtype':>8}{'lossutils':>11}{'PyTorch':>10}  PyTorch's worst input (logits / target)"
    )
    for dtype in ts.DTYPES:
        for name in ts.CASES:
            ours, theirs, inputs = ts.measure(name, dtype)
            i = int(np.argmax(theirs))
            print(
                f"{name:<26}{dtype.__name__:>8}{ours.max():>11.3g}{theirs.max():>10.3g}  "
                f"{where(inputs, i, len(theirs))}"
            )
    print("(worst relative errors, in machine epsilons)")
    print("\nexample: BCE with logits at z = -50, y = 0 (true value 1.9287498479639178e-22)")
    import torch
    import torch.nn.functional as F

    import lossutils as lu

    print(
        "  lossutils:",
        float(lu.binary_cross_entropy_with_logits(np.array([-50.0]), np.array([0.0]))),
    )
    print(
        "  PyTorch:  ",
        float(
            F.binary_cross_entropy_with_logits(
                torch.tensor([-50.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
            )
        ),
    )


if __name__ == "__main__":
    main()
