"""Compiled kernels (numba) for the DPU's float reduction: the same arithmetic as
``Datapath._dot_float``, which the tests use as their reference.

``dot_tree_f32`` computes, for every row ``r`` and vector ``i``, the DPU dot product
with an fp32 accumulator: per chunk, the lane products (float32 multiplies), a
pairwise adder tree (lane 2k + lane 2k+1, then pairs of those sums, ...; float32
adds), then the chunk sum added to the accumulator, chunk after chunk. IEEE
float32 arithmetic (no fast-math) is exactly the DPU's rounded arithmetic, so the
result is bit-identical to the element-by-element numpy emulation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

__all__ = ["dot_tree_f32"]

_STEPS_PER_JOB = 32  # vectors sharing one pass over a block of weights
_ROWS_PER_JOB = 256  # rows per job: the tree buffer stays in L1/L2


@njit(cache=True, nogil=True)
def _job(
    wt: NDArray[np.float32], v: NDArray[np.float32], out: NDArray[np.float32], width: int, job: int
) -> None:  # pragma: no cover - compiled
    """One block of vectors x one block of rows: products, adder tree, accumulator.

    One-dimensional views keep the inner loops free of aliasing, so they vectorise.
    """
    n_rows, n = wt.shape[1], v.shape[0]
    chunks = wt.shape[0] // width
    row_jobs = (n_rows + _ROWS_PER_JOB - 1) // _ROWS_PER_JOB
    first = (job // row_jobs) * _STEPS_PER_JOB
    r0 = (job % row_jobs) * _ROWS_PER_JOB
    r1 = min(r0 + _ROWS_PER_JOB, n_rows)
    if width == 16:  # the paper's DPU: the same tree, unrolled into registers
        for i in range(first, min(first + _STEPS_PER_JOB, n)):
            _tree16(wt, v[i], out[i], r0, r1, chunks)
        return
    rows = r1 - r0
    buf = np.empty((width, rows), dtype=np.float32)
    for i in range(first, min(first + _STEPS_PER_JOB, n)):
        acc = out[i, r0:r1]
        for c in range(chunks):
            base = c * width
            for lane in range(width):  # the lane products
                x = v[i, base + lane]
                src, dst = wt[base + lane, r0:r1], buf[lane]
                for r in range(rows):
                    dst[r] = src[r] * x
            level = width
            while level > 1:  # the pairwise adder tree
                level //= 2
                for lane in range(level):
                    a, b, d = buf[2 * lane], buf[2 * lane + 1], buf[lane]
                    for r in range(rows):
                        d[r] = a[r] + b[r]
            total = buf[0]
            for r in range(rows):  # the accumulator
                acc[r] += total[r]


@njit(cache=True, nogil=True)
def _tree16(
    wt: NDArray[np.float32],
    x: NDArray[np.float32],
    acc: NDArray[np.float32],
    r0: int,
    r1: int,
    chunks: int,
) -> None:  # pragma: no cover - compiled
    """16 lanes: products, the pairwise tree ((0+1)+(2+3))+((4+5)+(6+7)) ..., accumulate;
    written out so that the loop over rows vectorises with the sums in registers."""
    for c in range(chunks):
        b = c * 16
        x0, x1, x2, x3 = x[b], x[b + 1], x[b + 2], x[b + 3]
        x4, x5, x6, x7 = x[b + 4], x[b + 5], x[b + 6], x[b + 7]
        x8, x9, x10, x11 = x[b + 8], x[b + 9], x[b + 10], x[b + 11]
        x12, x13, x14, x15 = x[b + 12], x[b + 13], x[b + 14], x[b + 15]
        w0, w1, w2, w3 = wt[b], wt[b + 1], wt[b + 2], wt[b + 3]
        w4, w5, w6, w7 = wt[b + 4], wt[b + 5], wt[b + 6], wt[b + 7]
        w8, w9, w10, w11 = wt[b + 8], wt[b + 9], wt[b + 10], wt[b + 11]
        w12, w13, w14, w15 = wt[b + 12], wt[b + 13], wt[b + 14], wt[b + 15]
        for r in range(r0, r1):
            q0 = (w0[r] * x0 + w1[r] * x1) + (w2[r] * x2 + w3[r] * x3)
            q1 = (w4[r] * x4 + w5[r] * x5) + (w6[r] * x6 + w7[r] * x7)
            q2 = (w8[r] * x8 + w9[r] * x9) + (w10[r] * x10 + w11[r] * x11)
            q3 = (w12[r] * x12 + w13[r] * x13) + (w14[r] * x14 + w15[r] * x15)
            acc[r] += (q0 + q1) + (q2 + q3)


def _jobs(n_rows: int, n: int) -> int:
    return -(-n_rows // _ROWS_PER_JOB) * -(-n // _STEPS_PER_JOB)


@njit(cache=True, parallel=True, nogil=True)
def _parallel(
    wt: NDArray[np.float32], v: NDArray[np.float32], out: NDArray[np.float32], width: int, jobs: int
) -> None:  # pragma: no cover - compiled
    for job in prange(jobs):
        _job(wt, v, out, width, job)


@njit(cache=True, nogil=True)
def _serial(
    wt: NDArray[np.float32], v: NDArray[np.float32], out: NDArray[np.float32], width: int, jobs: int
) -> None:  # pragma: no cover - compiled
    for job in range(jobs):
        _job(wt, v, out, width, job)


_PARALLEL_MACS = 1 << 16  # below this, starting threads costs more than it saves


def dot_tree_f32(
    wt: NDArray[np.float32], v: NDArray[np.float32], init: NDArray[np.float32], width: int
) -> NDArray[np.float32]:
    """``init + w @ v`` per DPU rules: ``wt [Kp, R]`` (transposed weights), ``v [N, Kp]``,
    ``init [N, R]``; ``Kp`` is a whole number of chunks of ``width`` (a power of two)
    lanes, zero-padded."""
    out = init.copy()
    jobs = _jobs(wt.shape[1], v.shape[0])
    run = _parallel if wt.size * v.shape[0] >= _PARALLEL_MACS else _serial
    run(wt, v, out, width, jobs)
    return out
