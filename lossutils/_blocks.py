"""Evaluate a loss's formula over cache-sized blocks: how the library is fast.

A loss body states its formula once, as a function of NumPy arrays (``formula(z, t)``), and
hands it to :func:`elementwise` or :func:`rowwise` with the inputs. They cut the inputs into
blocks of :data:`BLOCK_BYTES` per input, convert each block to the working dtype
(:func:`lossutils._stable.working_dtype`: float64 for float16/float32 inputs of a loss that calls
``exp`` or ``log``), apply the formula, and either write the block's result into the output,
rounding it once to the result dtype, or add it to a float64 running sum.

Why blocks: NumPy evaluates a formula one operation at a time, and each operation on a whole
array writes a new full-size temporary. At 10^6 elements those temporaries do not fit in any
cache and each one costs fresh memory pages, so an unblocked loss spends most of its time moving
memory. A block and its temporaries stay in the CPU's caches, and the allocator reuses their
memory from block to block. Measured on a 2-core AMD EPYC (AVX-512), NumPy 2.4, a fresh process
each (``benchmarks/bench_losses.py`` has the cases): blocks of 32 KiB were 20 to 50 % slower
than 256 KiB (the per-call overhead of NumPy adds up), 256 KiB to 2 MiB were within a few per
cent of each other for the elementwise losses, and the row-wise losses kept gaining up to 1 MiB
(:data:`ROW_BLOCK_BYTES`).

What else the measurements taught, applied in :mod:`lossutils._stable`: NumPy's ``where``
branches on every element (several times slower than arithmetic on random signs, so the
primitives select with ``maximum``); ``maximum`` with a scalar is twice as slow as with an
array; sums along short rows are faster with ``einsum``; gathers and scatters at the target class
are faster through flat indices than ``take_along_axis``; and a temporary that the allocator
hands back to the operating system must be page-faulted in again by the next block, so the
primitives work in place on the arrays they create, and :func:`_raise_the_allocators_threshold`
keeps glibc from doing so.

Formulas must not write into their arguments: for float64 input a block is a view of the
caller's array.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ._stable import working_dtype

#: Bytes of each input per block, in the working dtype: 32768 float64 or 65536 float32 values.
BLOCK_BYTES = 1 << 18


#: Bytes of the first array per block of rows (:func:`rowwise`), in the working dtype: 131072
#: float64 values. Row reductions pay NumPy's overhead per row and per call, not per element,
#: so they gain from larger blocks: against 256 KiB, 1 MiB took cross-entropy 19.9 -> 14.5 ms,
#: the triplet loss 3.2 -> 2.6 ms (float32, 2-core AMD EPYC with 1 MiB of L2 per core); 2 MiB
#: was no faster, and the elementwise losses gained nothing past 256 KiB.
ROW_BLOCK_BYTES = 1 << 20


def block_length(dtype: np.dtype) -> int:
    """Elements per block of :func:`elementwise` for arrays of ``dtype``."""
    return BLOCK_BYTES // np.dtype(dtype).itemsize


def row_block_length(dtype: np.dtype) -> int:
    """About this many elements of the first array per block of rows of :func:`rowwise` (at
    least one row), for a working dtype ``dtype``."""
    return ROW_BLOCK_BYTES // np.dtype(dtype).itemsize


def _raise_the_allocators_threshold() -> None:
    """Free one 2 MiB array, once, so that glibc reuses the memory of a block's temporaries.

    glibc's ``malloc`` serves a request of 128 KiB or more with fresh pages from the kernel
    (``mmap``) and hands them back on ``free``, until the program frees such a chunk: from then on
    it serves requests up to that chunk's size from its heap, where freed memory is reused (the
    threshold only grows, and the heap is trimmed only past twice it). Most programs cross it
    early by freeing some large array; one that has not would take fresh pages for every
    temporary of every block, which made the class losses 3 to 4 times slower in a fresh process
    (measured). Other allocators ignore this.
    """
    np.empty(1 << 21, dtype=np.uint8)


_raise_the_allocators_threshold()

Formula = Callable[..., np.ndarray]
#: What a loss returns: a NumPy scalar when reduced, an array for reduction='none'.
Result = np.ndarray | np.floating


def _finish(total: float, reduction: str, denominator: float | None, size: int, dtype: np.dtype):
    """A float64 sum reduced to 'sum' or 'mean' and rounded once to ``dtype``.

    A zero denominator (every target ignored) gives NaN, as in PyTorch.
    """
    if reduction == "sum":
        return dtype.type(total)
    denominator = size if denominator is None else denominator
    with np.errstate(invalid="ignore", divide="ignore"):
        return dtype.type(np.float64(total) / np.float64(denominator))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """The sum of ``a * b`` over two 1-D blocks, by BLAS, which fuses the product and the sum
    into one pass; used by the ``total`` formulas of :func:`elementwise`.

    Float64 goes in pieces of at most 8192 elements: OpenBLAS runs a ``ddot`` of more than
    10000 elements on several threads, and on a busy 2-core machine waking them cost 6 to 15 ms
    per call (measured), a thousand times the work. ``np.vecdot`` of the blocks seen as rows of
    8192 makes one single-threaded ``ddot`` per row in one call (3.5 us for 32768 elements,
    against 6.1 us for a Python loop of ``np.dot`` calls summed by ``math.fsum``; measured).
    Its float32 ``sdot`` has no threaded path (``kernel/x86_64/sdot.c``).
    """
    if a.dtype == np.float32 or a.size <= _DDOT_PIECE:
        return float(np.dot(a, b))
    whole = a.size - a.size % _DDOT_PIECE
    if _vecdot is None:  # NumPy 1.x
        total = math.fsum(
            np.dot(a[i : i + _DDOT_PIECE], b[i : i + _DDOT_PIECE])
            for i in range(0, whole, _DDOT_PIECE)
        )
    else:
        total = float(
            _vecdot(a[:whole].reshape(-1, _DDOT_PIECE), b[:whole].reshape(-1, _DDOT_PIECE)).sum()
        )
    return total if whole == a.size else total + float(np.dot(a[whole:], b[whole:]))


_vecdot = getattr(np, "vecdot", None)  # NumPy >= 2.0
_DDOT_PIECE = 8192


def pick_classes(
    x: np.ndarray,
    index: np.ndarray,
    *,
    values: np.ndarray | None = None,
    where: np.ndarray | None = None,
) -> np.ndarray | None:
    """Get (or, with ``values``, set) the entries ``x[n, index[n, ...], ...]`` of a C-contiguous
    array with the classes on axis 1; ``index`` has ``x``'s shape without axis 1.

    Seen as ``(N, C, D)``, entry ``(n, c, d)`` is at ``(n C + c) D + d`` of the flat array: one
    flat gather is a few times faster than ``np.take_along_axis``. ``where`` (a boolean array of
    ``index``'s shape): get only the entries where it holds, as a 1-D array (the index may be
    anything elsewhere, e.g. an ignored target), skipping the gathers of the others.
    """
    n, n_classes, depth = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    if depth == 1:
        flat = index + np.arange(0, n * n_classes, n_classes).reshape(index.shape)
    else:
        flat = np.multiply(index, depth, dtype=np.intp)  # no overflow for narrow integer targets
        flat += _class_0(n, n_classes, depth).reshape(index.shape)
    if where is not None:
        flat = flat[where] if not where.all() else flat.reshape(-1)
    if values is None:
        return np.take(x.reshape(-1), flat)
    x.reshape(-1)[flat] = values
    return None


def _class_0(n: int, n_classes: int, depth: int) -> np.ndarray:
    """The flat positions ``n C D + d`` of class 0 in an ``(N, C, D)`` array, shape ``(N, D)``,
    read-only. Remembered for the last few shapes (up to 2^20 positions each): building them
    took 2/3 of the index arithmetic of a 1e3 x 100 x 100 gather (NumPy's integer ``arange``
    and short-row broadcasts are slow: 45 us of 70, measured)."""
    if n * depth > _CACHED_POSITIONS:
        return _positions(n, n_classes, depth)
    return _cached_positions(n, n_classes, depth)


def _positions(n: int, n_classes: int, depth: int) -> np.ndarray:
    step = n_classes * depth
    positions = np.arange(0, n * step, step)[:, None] + np.arange(depth)
    positions.flags.writeable = False
    return positions


_cached_positions = functools.lru_cache(maxsize=4)(_positions)
_CACHED_POSITIONS = 1 << 20


def reduce(values: np.ndarray, reduction: str, *, denominator: float | None = None) -> Result:
    """Reduce values already computed (a few per sample): 'none' keeps them, 'sum' and 'mean'
    add them up in float64 and round once to their dtype."""
    if reduction == "none":
        return values
    return _finish(
        float(np.sum(values, dtype=np.float64)), reduction, denominator, values.size, values.dtype
    )


# --------------------------------------------------------------------------
# Elementwise losses: every input has the first argument's shape (or broadcasts to it).
# --------------------------------------------------------------------------


def _element_blocks(arrays: dict[str, np.ndarray | None], work: np.dtype, out: np.ndarray | None):
    """Iterate over aligned blocks of ``arrays`` (None entries left out) and of ``out``.

    NumPy's buffered iterator does the cutting, the broadcasting (a weight of shape ``(C,)``
    against ``(N, C)`` logits) and the conversion to ``work`` in each block; written blocks of
    ``out`` are converted back to its dtype, one rounding per element.
    """
    names = [k for k, v in arrays.items() if v is not None]
    operands = [arrays[k] for k in names]
    flags = [["readonly"]] * len(operands)
    if out is not None:
        operands.append(out)
        flags.append(["writeonly"])
    it = np.nditer(
        operands,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=flags,
        op_dtypes=[work] * len(operands),
        casting="same_kind",
        buffersize=block_length(work),
    )
    with it:
        for blocks in it:
            if len(operands) == 1:  # the iterator gives the block itself, not a tuple
                blocks = (blocks,)
            yield dict(zip(names, blocks)), (blocks[-1] if out is not None else None)


def elementwise(
    formula: Formula,
    reduction: str = "none",
    *,
    weight: np.ndarray | None = None,
    denominator: float | None = None,
    float64_inside: bool = True,
    total: Callable[..., float] | None = None,
    **arrays: np.ndarray | None,
):
    """Evaluate ``formula(**blocks)`` over every element and reduce.

    Args:
        formula: a function of the named arrays (keyword arguments of the same names) that
            returns one value per element; it never writes into its arguments.
        reduction: ``'none'`` (an array shaped like the first array), ``'sum'`` or ``'mean'``.
        weight: an optional array that multiplies each value before the reduction; it has the
            first array's shape or broadcasts to it.
        denominator: the divisor of 'mean' (default: the number of elements).
        float64_inside: False for formulas made of arithmetic only, which stay in the input's
            dtype (see :func:`lossutils._stable.working_dtype`).
        total: optionally, a block's sum of the formula's values written with :func:`dot`
            products, which fuse a product and a sum into one pass; used for 'sum' and 'mean'
            without a weight. It must equal the sum of ``formula``'s values.
        **arrays: the inputs; the first sets the shape and the result dtype, the others have
            its shape or broadcast to it. None values are left out (the formula's default
            applies).

    Returns:
        The elementwise values, or their float64 sum or mean rounded once to the result dtype.
    """
    first = next(iter(arrays.values()))
    work = working_dtype(first.dtype, float64_inside=float64_inside)
    inputs = {**arrays, _WEIGHT: weight}

    def values(blocks: dict[str, np.ndarray]) -> np.ndarray:
        w = blocks.pop(_WEIGHT, None)
        result = formula(**blocks)
        return result if w is None else w * result

    if reduction == "none":
        out = np.empty(first.shape, dtype=first.dtype)
        for blocks, out_block in _element_blocks(inputs, work, out):
            out_block[...] = values(blocks)
        return out[()] if out.ndim == 0 else out  # a scalar for a scalar, as NumPy's ufuncs
    if total is not None and weight is None:
        partial_sums = [float(total(**blocks)) for blocks, _ in _element_blocks(arrays, work, None)]
    else:
        partial_sums = [
            float(np.sum(values(blocks))) for blocks, _ in _element_blocks(inputs, work, None)
        ]
    return _finish(math.fsum(partial_sums), reduction, denominator, first.size, first.dtype)


_WEIGHT = "_weight"  # the weight's name among the blocks (not a name a formula can take)


# --------------------------------------------------------------------------
# Row-wise losses: a reduction along one axis (the class axis) of the first array.
# --------------------------------------------------------------------------


def _row_blocks(shape: tuple[int, ...], axis: int, length: int):
    """Split an array of ``shape`` into blocks of rows along ``axis``.

    The array is seen as ``(N, C, D)``: ``N`` the product of the dimensions before ``axis``,
    ``C`` its length, ``D`` the product of those after. Yields index pairs ``(n, d)`` of slices,
    each block holding about ``length`` elements (at least one row).
    """
    n_rows = math.prod(shape[:axis])
    n_classes = shape[axis]
    depth = math.prod(shape[axis + 1 :])
    d_step = max(1, min(depth, length // max(n_classes, 1)))
    n_step = max(1, length // max(n_classes * d_step, 1))
    for n0 in range(0, n_rows, n_step):
        for d0 in range(0, depth, d_step):
            yield slice(n0, n0 + n_step), slice(d0, d0 + d_step)


def rowwise(
    formula: Formula,
    reduction: str = "none",
    *,
    axis: int = 1,
    out: str = "rows",
    denominator: float | None = None,
    **arrays: np.ndarray | None,
):
    """Evaluate ``formula(**blocks)`` over blocks of rows, a reduction along the class axis.

    The first array (e.g. logits ``(N, C, d1, ...)``) is seen as ``(N, C, D)``, the classes
    ``C = shape[axis]`` in the middle, as in PyTorch; the formula receives blocks of it shaped
    ``(rows, C, K)`` (a slice of the ``N`` and the ``D`` axes) in the working dtype, and reduces
    along axis 1. Every other array either has the first array's shape (class probabilities:
    given as ``(rows, C, K)`` too) or its shape without ``axis`` (class indices, per-sample
    weights: given as ``(rows, K)``). None values are left out.

    Args:
        formula: returns one value per row, shape ``(rows, K)`` (``out='rows'``), or per element,
            shape ``(rows, C, K)`` (``out='elements'``).
        reduction: with ``out='rows'``: ``'none'`` (shape without ``axis``), ``'sum'`` or
            ``'mean'``; ignored for 'elements', whose result has the first array's shape.
        axis: the class axis of the first array.
        out: ``'rows'`` or ``'elements'``.
        denominator: the divisor of 'mean' (default: the number of rows).

    Returns:
        The per-row values (or their float64 sum or mean rounded once), or the per-element
        values, in the first array's dtype.
    """
    first = next(iter(arrays.values()))
    axis = range(first.ndim)[axis]
    work = working_dtype(first.dtype)
    shape = first.shape
    row_shape = shape[:axis] + shape[axis + 1 :]
    as3 = (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))
    views = {}  # each array as (N, C, D) or (N, D), in the dtype its blocks are given in
    for name, a in arrays.items():
        if a is not None:
            dtype = work if a.dtype.kind == "f" else a.dtype
            views[name] = (
                a.reshape(as3) if a.ndim == first.ndim else a.reshape(as3[0], as3[2]),
                dtype,
            )
    if out == "elements":
        result = np.empty(shape, dtype=first.dtype)
        result3 = result.reshape(as3)
    elif reduction == "none":
        result = np.empty(row_shape, dtype=first.dtype)
        result2 = result.reshape(as3[0], as3[2])
    partial_sums = []
    for n, d in _row_blocks(shape, axis, row_block_length(work)):
        blocks = {  # C-contiguous, as the primitives' flat gathers and scatters expect
            name: np.ascontiguousarray(a[n, :, d] if a.ndim == 3 else a[n, d], dtype=dtype)
            for name, (a, dtype) in views.items()
        }
        values = formula(**blocks)
        if out == "elements":
            result3[n, :, d] = values
        elif reduction == "none":
            result2[n, d] = values
        else:
            partial_sums.append(float(np.sum(values)))
    if out == "elements" or reduction == "none":
        return result
    return _finish(
        math.fsum(partial_sums), reduction, denominator, math.prod(row_shape), first.dtype
    )
