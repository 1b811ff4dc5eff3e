"""Compiled kernels (numba) for the DPU's float reduction: the same arithmetic as
``Datapath._dot_float``, which the tests use as their reference.

``dot_tree_f32`` computes, for every row ``r`` and vector ``i``, the DPU dot product
with an fp32 accumulator: per chunk, the lane products (float32 multiplies), a
pairwise adder tree (lane 2k + lane 2k+1, then pairs of those sums, ...; float32
adds), then the chunk sum added to the accumulator, chunk after chunk. IEEE
float32 arithmetic (no fast-math) is exactly the DPU's rounded arithmetic, so the
result is bit-identical to the element-by-element numpy emulation.

A job is ``steps`` consecutive vectors (time steps) x a block of rows. Chunk after
chunk, the chunk's weights for those rows are loaded once (they stay in L1) and
serve every vector of the job: its products, its tree and its accumulator add, so
each (row, vector) still sees its chunks in order and the same operations as with
one vector at a time; only the speed changes. Consecutive jobs take the next steps of
the same block of rows, whose weights (256 rows: 655 KB for EESEN's 640 inputs in
float32) then stay in the core's L2 cache for the whole sequence instead of being read
again for every group of steps (measured on EESEN, 2026-12-01: MWL's input phase 5-10 %
faster). The loops over rows are innermost and
start at 0, so LLVM vectorises them across independent rows (with an index that
could be negative, numba's wraparound keeps them scalar); the lanes of one tree are
never vectorised together, so the pairing stays the documented one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._simd import (
    tree16_steps1,
    tree16_steps1_exact,
    tree16_steps8,
    tree16_steps8_exact,
)

__all__ = ["chunk_tree", "dot_tree_f32"]

_STEPS_PER_JOB = 16  # consecutive vectors (time steps) served per loaded block of weights
_ROWS_PER_JOB = 256  # rows per job: a chunk's weights and the job's accumulators stay in L1


@njit(cache=True, nogil=True)
def _job(
    wt: NDArray[np.float32],
    v: NDArray[np.float32],
    out: NDArray[np.float32],
    width: int,
    job: int,
    steps: int,
    exact: bool,
) -> None:  # pragma: no cover - compiled
    """``steps`` vectors x one block of rows: per chunk, its weights are loaded once and
    serve every vector of the block (products, adder tree, accumulator add); the
    chunks are added to each accumulator in order, so every (row, vector) sees exactly
    the operations of the unblocked loop, in the same order.

    One-dimensional views keep the inner loops (over rows) free of aliasing, so they
    vectorise across independent rows, never across the lanes of one tree.
    """
    n_rows, n = wt.shape[1], v.shape[0]
    chunks = wt.shape[0] // width
    step_jobs = (n + steps - 1) // steps
    first = (job % step_jobs) * steps
    last = min(first + steps, n)
    r0 = (job // step_jobs) * _ROWS_PER_JOB
    r1 = min(r0 + _ROWS_PER_JOB, n_rows)
    if width == 16:  # the paper's DPU: 16 rows per vector, 8 steps per loaded block
        whole = r0 + (r1 - r0) // 16 * 16
        for c in range(chunks):
            for r in range(r0, whole, 16):
                i = first
                while i + 8 <= last:
                    if exact:
                        tree16_steps8_exact(wt, c * 16, r, v, i, out)
                    else:
                        tree16_steps8(wt, c * 16, r, v, i, out)
                    i += 8
                while i < last:
                    if exact:
                        tree16_steps1_exact(wt, c * 16, r, v, i, out)
                    else:
                        tree16_steps1(wt, c * 16, r, v, i, out)
                    i += 1
            if whole < r1:  # the last rows, fewer than 16
                _tree16(wt, v, out, whole, r1, c, first, last)
        return
    buf = np.empty((width, r1 - r0), dtype=np.float32)
    for c in range(chunks):
        for i in range(first, last):
            chunk_tree(wt, c * width, r0, r1, v[i], out[i], buf, width)


@njit(cache=True, nogil=True)
def chunk_tree(
    wt: NDArray[np.float32],
    lane0: int,
    r0: int,
    r1: int,
    x: NDArray[np.float32],
    acc: NDArray[np.float32],
    buf: NDArray[np.float32],
    width: int,
) -> None:  # pragma: no cover - compiled
    """One chunk of any power-of-two ``width`` for rows ``r0 .. r1 - 1``: the lane
    products ``wt[lane0 + lane, r] * x[lane0 + lane]``, the pairwise adder tree, and
    ``acc[r] +=`` its sum (``buf``: ``[width, >= r1 - r0]`` scratch). Each loop runs over
    rows from 0 (LLVM then vectorises it across independent rows, never across the
    lanes of one tree, so the pairing stays the documented one)."""
    rows = r1 - r0
    for lane in range(width):  # the lane products
        xl = x[lane0 + lane]
        src, dst = wt[lane0 + lane, r0:r1], buf[lane]
        for r in range(rows):
            dst[r] = src[r] * xl
    level = width
    while level > 1:  # the pairwise adder tree
        level //= 2
        for lane in range(level):
            a, b, d = buf[2 * lane], buf[2 * lane + 1], buf[lane]
            for r in range(rows):
                d[r] = a[r] + b[r]
    total, into = buf[0], acc[r0:r1]
    for r in range(rows):  # the accumulator
        into[r] += total[r]


@njit(cache=True, nogil=True)
def _tree16(
    wt: NDArray[np.float32],
    v: NDArray[np.float32],
    out: NDArray[np.float32],
    r0: int,
    r1: int,
    c: int,
    first: int,
    last: int,
) -> None:  # pragma: no cover - compiled
    """16 lanes, chunk ``c``, vectors ``first..last-1``: products, the pairwise tree
    ((0+1)+(2+3))+((4+5)+(6+7)) ..., accumulate; written out so that the loop over
    rows vectorises with the sums in registers. The chunk's 16 weight rows are loaded
    once (into L1) for all the vectors."""
    b, n = c * 16, r1 - r0
    w0, w1, w2, w3 = wt[b, r0:r1], wt[b + 1, r0:r1], wt[b + 2, r0:r1], wt[b + 3, r0:r1]
    w4, w5, w6, w7 = wt[b + 4, r0:r1], wt[b + 5, r0:r1], wt[b + 6, r0:r1], wt[b + 7, r0:r1]
    w8, w9, w10, w11 = wt[b + 8, r0:r1], wt[b + 9, r0:r1], wt[b + 10, r0:r1], wt[b + 11, r0:r1]
    w12, w13 = wt[b + 12, r0:r1], wt[b + 13, r0:r1]
    w14, w15 = wt[b + 14, r0:r1], wt[b + 15, r0:r1]
    for i in range(first, last):
        x = v[i]
        acc = out[i, r0:r1]
        x0, x1, x2, x3 = x[b], x[b + 1], x[b + 2], x[b + 3]
        x4, x5, x6, x7 = x[b + 4], x[b + 5], x[b + 6], x[b + 7]
        x8, x9, x10, x11 = x[b + 8], x[b + 9], x[b + 10], x[b + 11]
        x12, x13, x14, x15 = x[b + 12], x[b + 13], x[b + 14], x[b + 15]
        for r in range(n):  # from 0: LLVM sees no negative index and vectorises
            q0 = (w0[r] * x0 + w1[r] * x1) + (w2[r] * x2 + w3[r] * x3)
            q1 = (w4[r] * x4 + w5[r] * x5) + (w6[r] * x6 + w7[r] * x7)
            q2 = (w8[r] * x8 + w9[r] * x9) + (w10[r] * x10 + w11[r] * x11)
            q3 = (w12[r] * x12 + w13[r] * x13) + (w14[r] * x14 + w15[r] * x15)
            acc[r] += (q0 + q1) + (q2 + q3)


def _jobs(n_rows: int, n: int, steps: int) -> int:
    return -(-n_rows // _ROWS_PER_JOB) * -(-n // steps)


@njit(cache=True, nogil=True)
def _serial(
    wt: NDArray[np.float32],
    v: NDArray[np.float32],
    out: NDArray[np.float32],
    width: int,
    first: int,
    last: int,
    steps: int,
    exact: bool,
) -> None:  # pragma: no cover - compiled
    """Jobs ``first .. last - 1`` (disjoint blocks of ``out``: any split gives the same bits)."""
    for job in range(first, last):
        _job(wt, v, out, width, job, steps, exact)


_PARALLEL_MACS = 1 << 20  # below this, starting threads costs more than it saves


def dot_tree_f32(
    wt: NDArray[np.float32],
    v: NDArray[np.float32],
    init: NDArray[np.float32],
    width: int,
    steps: int = _STEPS_PER_JOB,
    threads: int = 1,
    in_place: bool = False,
    exact_products: bool = False,
) -> NDArray[np.float32]:
    """``init + w @ v`` per DPU rules: ``wt [Kp, R]`` (transposed weights), ``v [N, Kp]``,
    ``init [N, R]``; ``Kp`` is a whole number of chunks of ``width`` (a power of two)
    lanes, zero-padded. ``steps`` (>= 1) vectors share each loaded block of weights;
    it changes the speed only, never a bit of the result. ``threads``: at most this
    many threads (Python threads running the compiled, GIL-free jobs: on a loaded
    machine they slow down with it, where numba's parallel loops were measured 4x
    slower than one thread); the jobs are split in contiguous ranges, and each output
    value is computed by one job, so the bits do not depend on it. ``in_place``: the
    result is accumulated into ``init`` (C-contiguous) itself, not a copy.
    ``exact_products``: every product is exact in float32 (the caller knows: fp16
    operands, integer codes), so the 16-lane tree's first level may fuse a multiply
    and its add (``_simd._tree``): the same bits, fewer operations."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    out = init if in_place else init.copy()
    jobs = _jobs(wt.shape[1], v.shape[0], steps)
    n = max(1, min(threads, jobs)) if wt.size * v.shape[0] >= _PARALLEL_MACS else 1
    if n == 1:
        _serial(wt, v, out, width, 0, jobs, steps, exact_products)
        return out
    bounds = [jobs * k // n for k in range(n + 1)]
    with ThreadPoolExecutor(n, thread_name_prefix="epur-dpu") as pool:
        done = [pool.submit(_serial, wt, v, out, width, bounds[k], bounds[k + 1], steps,
                            exact_products) for k in range(n)]  # fmt: skip
        for future in done:
            future.result()
    return out
