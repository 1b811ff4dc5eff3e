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

_STEPS_PER_JOB = 8  # vectors sharing one pass over a block of weights
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
