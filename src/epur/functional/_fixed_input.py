"""MWL's fixed-point input phase, compiled (``_integer.input_tile``): the same values as
``_steps.input_tile``'s numpy path, ``rnd_psum(rnd_acc(b + x . w))`` for every step.

* ``stored``: the layer's input ``[x_below, x_external]`` rounded to the storage format
  (``_steps._x``, ``_fixed_math.rnd``) and ``max |x|``; ``False`` where a value is not
  finite (numpy then raises or saturates, as it defines);
* ``products16`` (storage of at most 16 bits, every ``sum |w| |x|`` below ``2**31``
  units of ``2**-2Ns``): the sums of the int16 codes' products in int32, exact in any
  order (``_fixed_simd``; ``pack16`` and ``codes16`` make the codes);
* ``products`` (otherwise): ``x [N, K] @ wt [K, R]`` in float64, exact under
  ``Datapath._dot_fixed``'s bound (sums below ``2**52`` accumulator units, so the numpy
  path takes its exact branch), which the caller checked. The loops block rows (their
  weights stay in L1 for every step) and eight ``k`` at a time, across rows innermost,
  which LLVM vectorises;
* ``finish``: ``psum[n, idx[r]] = rnd_psum(rnd_acc(init[r] + sums[n, r] * unit))``, the
  float64 operations exact under the same bound.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._fixed_math import Fmt, rnd
from epur.functional._fixed_simd import BLOCKS, ROWS, tile4x6

__all__ = ["VECTORS", "codes16", "finish", "pack16", "products", "products16", "stored"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
_ROWS = 512  # rows per block: eight rows of their weights (16 KiB in float32) stay in L1
VECTORS = 6  # vectors per tile of products16


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
def pack16(values: F64, scale: float, wp: NDArray[np.int16]) -> None:  # pragma: no cover
    """``wp`` (``_fixed_simd``'s layout, zeros already in its padding) of the codes
    ``values * scale`` (each an ``int16``: the caller's storage format)."""
    rows, k = values.shape
    for r in range(rows):
        blk, lane = r // ROWS, 2 * (r % ROWS)
        src = values[r]
        for j in range(k):
            wp[blk, j // 2, lane + j % 2] = np.int16(src[j] * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def codes16(x: F64, scale: float, xv: NDArray[np.int16]) -> None:  # pragma: no cover
    """``xv[n, j] = x[n, j] * scale`` (``int16`` codes; ``xv``'s other entries kept)."""
    for n in range(x.shape[0]):
        for j in range(x.shape[1]):
            xv[n, j] = np.int16(x[n, j] * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def products16(
    wp: NDArray[np.int16], xp: NDArray[np.int32], out: NDArray[np.int32]
) -> None:  # pragma: no cover
    """``out [N, R]`` = the exact integer sums of the codes' products (``_fixed_simd``:
    ``N`` a multiple of ``VECTORS``, ``wp``'s row blocks a multiple of ``BLOCKS``)."""
    for b0 in range(0, wp.shape[0], BLOCKS):  # a tile's weights stay in L1 for every vector
        for n0 in range(0, xp.shape[0], VECTORS):
            tile4x6(wp, xp, out, b0, n0)


@njit(cache=True, nogil=True, error_model="numpy")
def finish(
    sums: F32 | F64 | NDArray[np.int32],
    unit: float,
    init: F64,
    idx: NDArray[np.int64],
    psum: F64,
    a: Fmt,
    p: Fmt,
) -> None:  # pragma: no cover - compiled
    """``psum[n, idx[r]] = rnd(rnd(init[r] + sums[n, r] * unit, a), p)`` for every row ``n``
    of ``psum`` and every ``r`` (``unit`` a power of two: the product is exact)."""
    rows = init.shape[0]
    buf = np.empty(rows)
    for n in range(psum.shape[0]):
        s = sums[n]
        for r in range(rows):
            buf[r] = rnd(rnd(init[r] + np.float64(s[r]) * unit, a), p)
        dst = psum[n]
        for r in range(rows):
            dst[idx[r]] = buf[r]
