"""Evaluate a loss's formula over cache-sized blocks: how the library is fast.

A loss body states its formula once, as a function of NumPy arrays (``formula(z, t)``), and
hands it to :func:`elementwise` or :func:`rowwise` with the inputs. They cut the inputs into
blocks of about :data:`BLOCK_SIZE` elements, convert each block to the working dtype
(:func:`lossutils._stable.working_dtype`: float64 for float16/float32 inputs of a loss that calls
``exp`` or ``log``), apply the formula, and either write the block's result into the output,
rounding it once to the result dtype, or add it to a float64 running sum.

Why blocks: NumPy evaluates a formula one operation at a time, and each operation on a whole
array writes a new full-size temporary. At 10^6 elements those temporaries do not fit in any
cache and each one costs fresh memory pages, so an unblocked loss spends most of its time moving
memory. A block of 2^14 float64 values (128 KiB) and its temporaries stay in the CPU's L2 cache,
NumPy reuses their memory from block to block, and the per-call overhead of 60 blocks is a few
microseconds. Measured on a 2-core AMD EPYC (AVX-512), NumPy 2.4: blocks of 2^13 to 2^16
elements are within a few per cent of each other, and all are about twice as fast as whole
arrays (``benchmarks/bench_losses.py``).

Formulas must not write into their arguments: for float64 input a block is a view of the
caller's array.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._stable import working_dtype

#: Elements per block (for the class losses: the rows of about this many elements).
BLOCK_SIZE = 1 << 14

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


def pick_classes(x: np.ndarray, index: np.ndarray, *, values: np.ndarray | None = None) -> np.ndarray | None:
    """Get (or, with ``values``, set) the entries ``x[n, index[n, ...], ...]`` of a C-contiguous
    array with the classes on axis 1; ``index`` has ``x``'s shape without axis 1.

    One flat gather ``x.reshape(-1)[flat]`` is a few times faster than ``np.take_along_axis``.
    """
    inner = math.prod(x.shape[2:])
    position = np.arange(index.size).reshape(index.shape)  # running position, class axis removed
    flat = position + (position // inner) * ((x.shape[1] - 1) * inner) + index * inner
    if values is None:
        return x.reshape(-1)[flat]
    x.reshape(-1)[flat] = values
    return None


def reduce(values: np.ndarray, reduction: str, *, denominator: float | None = None) -> Result:
    """Reduce values already computed (a few per sample): 'none' keeps them, 'sum' and 'mean'
    add them up in float64 and round once to their dtype."""
    if reduction == "none":
        return values
    return _finish(float(np.sum(values, dtype=np.float64)), reduction, denominator, values.size, values.dtype)


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
        buffersize=BLOCK_SIZE,
    )
    with it:
        for blocks in it:
            yield dict(zip(names, blocks)), (blocks[-1] if out is not None else None)


def elementwise(
    formula: Formula,
    reduction: str = "none",
    *,
    weight: np.ndarray | None = None,
    denominator: float | None = None,
    float64_inside: bool = True,
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
    partial_sums = [float(np.sum(values(blocks))) for blocks, _ in _element_blocks(inputs, work, None)]
    return _finish(math.fsum(partial_sums), reduction, denominator, first.size, first.dtype)


_WEIGHT = "_weight"  # the weight's name among the blocks (not a name a formula can take)


# --------------------------------------------------------------------------
# Row-wise losses: a reduction along one axis (the class axis) of the first array.
# --------------------------------------------------------------------------


def _row_blocks(shape: tuple[int, ...], axis: int):
    """Split an array of ``shape`` into blocks of rows along ``axis``.

    The array is seen as ``(N, C, D)``: ``N`` the product of the dimensions before ``axis``,
    ``C`` its length, ``D`` the product of those after. Yields index pairs ``(n, d)`` of slices,
    each block holding about BLOCK_SIZE elements (at least one row).
    """
    n_rows = math.prod(shape[:axis])
    n_classes = shape[axis]
    depth = math.prod(shape[axis + 1 :])
    d_step = max(1, min(depth, BLOCK_SIZE // max(n_classes, 1)))
    n_step = max(1, BLOCK_SIZE // max(n_classes * d_step, 1))
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
    """Evaluate ``formula(**blocks)`` over blocks of rows, the classes on the last axis.

    The first array (e.g. logits ``(N, C, d1, ...)``) is seen as rows of length ``C`` =
    ``shape[axis]``; the formula receives it as a 2-D block ``(rows, C)`` in the working dtype,
    the class axis last. Every other array either has the first array's shape (class
    probabilities: given as ``(rows, C)`` too) or its shape without ``axis`` (class indices,
    per-sample weights: given as ``(rows,)``). None values are left out.

    Args:
        formula: returns one value per row (``out='rows'``) or per element (``out='elements'``).
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
    n_classes = shape[axis]
    row_shape = shape[:axis] + shape[axis + 1 :]
    as3 = (math.prod(shape[:axis]), n_classes, math.prod(shape[axis + 1 :]))

    def as_rows(a: np.ndarray, n: slice, d: slice, dtype) -> np.ndarray:
        if a.ndim == first.ndim:  # class-shaped: (n, C, d) -> (n * d, C), classes last
            block = np.moveaxis(a.reshape(as3)[n, :, d], 1, 2)
            return block.reshape(-1, n_classes).astype(dtype, copy=False)
        return a.reshape(as3[0], as3[2])[n, d].reshape(-1).astype(dtype, copy=False)

    names = [k for k, v in arrays.items() if v is not None]
    if out == "elements":
        result = np.empty(shape, dtype=first.dtype)
        result3 = result.reshape(as3)
    elif reduction == "none":
        result = np.empty(row_shape, dtype=first.dtype)
        result2 = result.reshape(as3[0], as3[2])
    partial_sums = []
    for n, d in _row_blocks(shape, axis):
        blocks = {}
        for name in names:
            a = arrays[name]
            dtype = work if a.dtype.kind == "f" else a.dtype
            blocks[name] = as_rows(a, n, d, dtype)
        values = formula(**blocks)
        if out == "elements":
            target = np.moveaxis(result3[n, :, d], 1, 2)
            target[...] = values.reshape(target.shape)
        elif reduction == "none":
            target = result2[n, d]
            target[...] = values.reshape(target.shape)
        else:
            partial_sums.append(float(np.sum(values)))
    if out == "elements" or reduction == "none":
        return result
    return _finish(math.fsum(partial_sums), reduction, denominator, math.prod(row_shape), first.dtype)
