"""MWL's fixed-point input phase, compiled (``_integer.input_tile``): the same values as
``_steps.input_tile``'s numpy path, ``rnd_psum(rnd_acc(b + x . w))`` for every step.

* ``stored``: the layer's input ``[x_below, x_external]`` rounded to the storage format
  (``_steps._x``, ``_fixed_math.rnd``) and ``max |x|``; ``False`` where a value is not
  finite (numpy then raises or saturates, as it defines);
* ``products``: ``x [N, K] @ wt [K, R]``, sums of exact products of storage values. The
  caller checked ``Datapath._dot_fixed``'s bound (float64 sums below ``2**52``
  accumulator units, so the numpy path takes its exact branch) and, for float32
  operands, that every partial sum stays below ``2**24`` units of ``2**-2Ns``: the sums
  are then exact in any order. The loops block rows (their weights stay in L1 for every
  step) and eight ``k`` at a time, across rows innermost, which LLVM vectorises;
* ``finish``: ``psum[n, idx[r]] = rnd_psum(rnd_acc(init[r] + sums[n, r]))``, the
  float64 addition exact under the same bound.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._fixed_math import Fmt, rnd

__all__ = ["finish", "products", "stored"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
_ROWS = 512  # rows per block: eight rows of their weights (16 KiB in float32) stay in L1


@njit(cache=True, nogil=True, error_model="numpy")
def stored(below: F64, external: F64, has_ext: bool, st: Fmt, x: F64) -> float:  # pragma: no cover
    """``x [T*B, K]`` = ``[below, external]`` rounded to the storage format ``st``;
    returns ``max |x|``, or ``-1.0`` where an input is not finite."""
    steps, batch, kb = below.shape
    ke = external.shape[2] if has_ext else 0
    peak = 0.0
    finite = True
    for t in range(steps):
        for b in range(batch):
            row = x[t * batch + b]
            src = below[t, b]
            for j in range(kb):
                finite &= math.isfinite(src[j])
                row[j] = rnd(src[j], st)
            if has_ext:
                ext = external[t, b]
                for j in range(ke):
                    finite &= math.isfinite(ext[j])
                    row[kb + j] = rnd(ext[j], st)
            for j in range(kb + ke):
                peak = max(peak, abs(row[j]))
    return peak if finite else -1.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def products(x: F32 | F64, wt: F32 | F64, out: F32 | F64) -> None:  # pragma: no cover
    """``out [N, R] = x [N, K] @ wt [K, R]`` of exact sums (the module docstring)."""
    n_vec, k = x.shape
    rows = wt.shape[1]
    k8 = k - k % 8
    out[:] = 0.0
    for r0 in range(0, rows, _ROWS):
        r1 = min(r0 + _ROWS, rows)
        for i in range(0, k8, 8):
            w0, w1, w2, w3 = wt[i, r0:r1], wt[i + 1, r0:r1], wt[i + 2, r0:r1], wt[i + 3, r0:r1]
            w4, w5, w6, w7 = wt[i + 4, r0:r1], wt[i + 5, r0:r1], wt[i + 6, r0:r1], wt[i + 7, r0:r1]
            for n in range(n_vec):
                xn = x[n]
                a0, a1, a2, a3 = xn[i], xn[i + 1], xn[i + 2], xn[i + 3]
                a4, a5, a6, a7 = xn[i + 4], xn[i + 5], xn[i + 6], xn[i + 7]
                o = out[n, r0:r1]
                for r in range(r1 - r0):
                    o[r] += ((w0[r] * a0 + w1[r] * a1) + (w2[r] * a2 + w3[r] * a3)) + (
                        (w4[r] * a4 + w5[r] * a5) + (w6[r] * a6 + w7[r] * a7)
                    )
        for i in range(k8, k):
            w0 = wt[i, r0:r1]
            for n in range(n_vec):
                a0 = x[n, i]
                o = out[n, r0:r1]
                for r in range(r1 - r0):
                    o[r] += w0[r] * a0


@njit(cache=True, nogil=True, error_model="numpy")
def finish(
    sums: F32 | F64, init: F64, idx: NDArray[np.int64], psum: F64, a: Fmt, p: Fmt
) -> None:  # pragma: no cover - compiled
    """``psum[n, idx[r]] = rnd(rnd(init[r] + sums[n, r], a), p)`` for every ``n``, ``r``."""
    rows = init.shape[0]
    buf = np.empty(rows)
    for n in range(sums.shape[0]):
        s = sums[n]
        for r in range(rows):
            buf[r] = rnd(rnd(init[r] + np.float64(s[r]), a), p)
        dst = psum[n]
        for r in range(rows):
            dst[idx[r]] = buf[r]
