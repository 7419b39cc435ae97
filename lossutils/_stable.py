r"""Numerical policy shared by every loss: how float32 inputs are computed.

**float32 in, float64 inside, rounded once.** A float16 or float32 input is converted to
float64 (exactly: every float32 is a float64), the loss or gradient is evaluated in float64,
and the result is rounded to float32 once at the end.

Why: NumPy picks the SIMD kernel of ``exp``, ``log`` and ``log1p`` at run time from the CPU's
features, and its float32 kernels differ in accuracy (measured on 4e6 points with NumPy 2.4:
``exp`` 0.50 ulp on the baseline kernel, 2.4 ulp on the AVX2 and AVX-512 ones; ``log`` 0.82
against 3.1 ulp). A loss built from a few such calls inherits their errors (the focal losses
amplify them by :math:`\gamma`), so the same float32 loss was accurate to 4 ulps on one machine
and not on another. Float64 kernels err by a few float64 ulps, about :math:`10^{-9}` of a float32
ulp, so after the final rounding a float32 result is within half an ulp of the float64 one
(plus that float64 error), whatever kernel NumPy dispatched to. The price is speed: the float64
arithmetic moves twice the bytes, see ``benchmarks/bench_losses.py``.

Functions made of additions, multiplications and look-ups only (the regression losses,
``nll_loss``) need none of this: IEEE arithmetic is correctly rounded on every CPU, so they
stay in their input's dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np

F = TypeVar("F", bound=Callable)

#: Input dtypes evaluated in float64 and rounded back to float32.
_LOW_PRECISION = (np.dtype(np.float16), np.dtype(np.float32))


def computed_in_float64(fn: F) -> F:
    """Evaluate ``fn`` in float64 when its first argument is float16 or float32; round the
    result once to float32 (the dtype those inputs have always produced).

    Targets and weights follow the first argument's dtype inside every loss, so converting the
    first argument is enough. Anything else (float64, integers, lists, bad input) is passed
    through untouched, so validation errors are the function's own.
    """

    @functools.wraps(fn)
    def wrapper(first, *args, **kwargs):
        dtype = getattr(first, "dtype", None)
        if dtype not in _LOW_PRECISION:
            return fn(first, *args, **kwargs)
        result = fn(np.asarray(first, dtype=np.float64), *args, **kwargs)
        if isinstance(result, np.ndarray):
            return result.astype(np.float32)
        return np.float32(result)

    return wrapper  # type: ignore[return-value]
