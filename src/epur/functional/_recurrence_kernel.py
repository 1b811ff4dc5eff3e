"""The compiled half of ``_recurrence``: one call runs every step of a recurrence.

``_kernel`` performs, step after step, exactly the operations of
``_steps.lstm_steps`` (and so of ``Datapath``): the DPU (products, the pairwise adder
tree ``lane 2k + lane 2k+1``, then pairs of those sums, the accumulator initialised
with the MWL partial sum or the bias and adding the chunk sums in order, the last chunk
zero-padded), the MFU (peepholes, sigmoid and tanh, ``c = rnd(rnd(f*c) + rnd(i*g))``,
``h = rnd(o * tanh(c))``), the projection, the storage rounding of ``h``, sequence
lengths and the residual. IEEE float32 arithmetic without fast-math is exactly the
datapath's rounded fp32 arithmetic. The 16-lane DPU is ``_simd.tree16_chunks``; other
widths use the transposed ``[chunk][lane][row]`` weights, whose loops over rows
vectorise. The MFU is a few loops across the neurons (arguments, activations, cell
update, output, the storage rounding of ``round_float``), which LLVM vectorises.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._kernels import chunk_tree
from epur.functional._simd import tree16_chunks, tree16_chunks_bf16, tree16_chunks_f16
from epur.functional._vmath import round_float, sigmoid64, tanh64, unsure

__all__ = ["EXACT", "LUT", "PWL", "dequantised", "kernel", "segments"]

F32 = NDArray[np.float32]
EXACT, LUT, PWL = 0, 1, 2


@njit(cache=True, nogil=True, error_model="numpy")
def segments(
    bp: NDArray[np.float64], x: NDArray[Any], lo: int, hi: int, k: NDArray[np.int64]
) -> None:  # pragma: no cover - compiled
    """``k[j]`` = the PWL/LUT segment of ``x[lo + j]``, ``j < hi - lo``: the number of
    interior breakpoints ``bp[1..n-1]`` at most ``x`` (``activations.activation``'s
    ``searchsorted``); NaN gives 0. The breakpoints are evenly spaced, so the segment is
    guessed from the spacing (a float64 quotient within a few units in the last place
    of the true one) and moved by one breakpoint where the guess is off. One loop over
    the values, which LLVM vectorises (written as a function called per value, with
    ``inline="always"``, it did not: the recurrence took 1.7x as long)."""
    n = bp.shape[0] - 1
    per_step = n / (bp[n] - bp[0])
    for j in range(hi - lo):
        v = np.float64(x[lo + j])
        g = (v - bp[0]) * per_step
        g = min(max(g, 0.0), n - 1.0) if g == g else 0.0
        s = int(g)
        up = min(s + 1, n - 1)
        s = up if bp[up] <= v else s
        k[j] = s - 1 if s >= 1 and bp[s] > v else s


@njit(cache=True, nogil=True, error_model="numpy")
def _dot(
    wt: F32,
    blocks: NDArray[np.float32],
    words: NDArray[np.uint16],
    word_kind: int,
    rows: int,
    chunks: int,
    width: int,
    x: F32,
    acc: F32,
    buf: F32,
) -> None:  # pragma: no cover - compiled
    """``acc[r]`` (holding the initial value) plus the chunk sums of ``wt [Kp, rows]``
    times ``x [Kp]``, chunk after chunk. Width 16: 16 rows per vector, the accumulator
    in a register across the chunks (``_simd.tree16_chunks``; ``acc`` has
    ``Packed.padded_rows`` entries), from float32 ``blocks`` or 16-bit ``words``
    (``word_kind`` 1: binary16, 2: bfloat16). Other widths: ``_kernels.chunk_tree`` per
    chunk, its loops over rows vectorised."""
    if width == 16 and word_kind == 1 and words.shape[0] > 0:
        for k in range(words.shape[0]):
            tree16_chunks_f16(words, k, x, acc)
        return
    if width == 16 and word_kind == 2 and words.shape[0] > 0:
        for k in range(words.shape[0]):
            tree16_chunks_bf16(words, k, x, acc)
        return
    if width == 16 and blocks.shape[0] > 0:
        for k in range(blocks.shape[0]):
            tree16_chunks(blocks, k, x, acc)
        return
    for c in range(chunks):
        chunk_tree(wt, c * width, 0, rows, x, acc, buf, width)


@njit(cache=True, nogil=True, error_model="numpy")
def _tables(
    x: F32,
    lo: int,
    hi: int,
    lut: bool,
    bp: NDArray[np.float64],
    val: NDArray[np.float64],
    slope: NDArray[np.float64],
    e: NDArray[np.float64],
    k: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """``e[j]`` = the LUT or PWL value of ``x[j]`` in fp32 (``activations.activation``),
    for ``lo <= j < hi`` (their segments: ``segments``, into the scratch ``k``)."""
    n = bp.shape[0] - 1
    segments(bp, x, lo, hi, k)
    for j in range(hi - lo):
        v = np.float64(x[lo + j])
        s = k[j]
        if lut:
            out = val[s]
        else:
            offset = np.float64(np.float32(v - bp[s]))
            inside = np.float64(np.float32(val[s] + np.float64(np.float32(slope[s] * offset))))
            out = val[0] if v < bp[0] else (val[n] if v >= bp[n] else inside)
        e[lo + j] = out if v == v else v


@njit(cache=True, nogil=True, error_model="numpy")
def _activate(
    x: F32,
    lo: int,
    hi: int,
    fn: int,
    kind: int,
    bp: NDArray[np.float64],
    val: NDArray[np.float64],
    slope: NDArray[np.float64],
    e: NDArray[np.float64],
    k: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """``e[j]`` = sigmoid (``fn`` 0) or tanh (1) of the fp32 value ``x[j]``, ``lo <= j
    < hi``: exact in float64 (rounded by the caller), or the table's fp32 value (``k``:
    scratch for the segments). The exact loops vectorise (``_vmath``)."""
    if kind != EXACT:
        _tables(x, lo, hi, kind == LUT, bp, val, slope, e, k)
    elif fn == 0:
        for j in range(hi - lo):
            e[lo + j] = sigmoid64(np.float64(x[lo + j]))
    else:
        for j in range(hi - lo):
            e[lo + j] = tanh64(np.float64(x[lo + j]))


@njit(cache=True, nogil=True, error_model="numpy")
def _any_unsure(e: NDArray[np.float64]) -> bool:  # pragma: no cover - compiled
    bad = False
    for j in range(e.shape[0]):
        bad |= unsure(e[j])
    return bad


@njit(cache=True, nogil=True, error_model="numpy")
def _store_all(
    v: F32, out: F32, n: int, m: int, emin: int, vmax: float, scale: float, int8: bool
) -> None:  # pragma: no cover - compiled
    """``out[j]`` = ``v[j]`` rounded to the storage format (a copy for fp32), ``j < n``;
    int8: the code ``clip(rint(v / scale), -127, 127)`` (``Datapath.store``)."""
    if int8:
        for j in range(n):
            out[j] = min(max(np.rint(np.float64(v[j]) / scale), -127.0), 127.0)
        return
    if m >= 23:
        for j in range(n):
            out[j] = v[j]
        return
    for j in range(n):
        out[j] = round_float(np.float64(v[j]), m, emin, vmax)


@njit(cache=True, nogil=True, error_model="numpy")
def kernel(
    w: F32,
    w_blocks: NDArray[np.float32],
    w_words: NDArray[np.uint16],
    w_kind: int,
    w_rows: int,
    w_chunks: int,
    width: int,
    vmap: NDArray[np.int64],
    xs: F32,
    init: F32,
    order: NDArray[np.int64],
    start: int,
    h: F32,
    c: F32,
    peep: NDArray[np.float64],
    has_peep: bool,
    pw: F32,
    p_blocks: NDArray[np.float32],
    p_words: NDArray[np.uint16],
    p_kind: int,
    p_chunks: int,
    pmap: NDArray[np.int64],
    has_proj: bool,
    kind: int,
    sbp: NDArray[np.float64],
    sval: NDArray[np.float64],
    sslope: NDArray[np.float64],
    tbp: NDArray[np.float64],
    tval: NDArray[np.float64],
    tslope: NDArray[np.float64],
    store_m: int,
    store_emin: int,
    store_max: float,
    int8: NDArray[np.float64],
    grid: NDArray[np.float64],
    shortcut: NDArray[np.float64],
    has_res: bool,
    lens: NDArray[np.int64],
    y: NDArray[np.float64],
    col0: int,
) -> int:  # pragma: no cover - compiled
    """Steps ``order[start:]``; returns the index of the step it stopped before (an
    exact activation it cannot be sure of), or ``len(order)``.

    ``int8`` is empty for float storage; for int8 it holds ``[act_scale, dq, p_dq,
    mwl]``: ``h``, ``xs`` and the weights hold integer codes (float32, every sum exact),
    the DPU's sum is dequantised as ``_dequantise`` does (``rnd((sum + grid) * dq)``,
    or under MWL ``rnd(psum + rnd(sum * dq))`` with the accumulator from 0), and ``h``
    is stored as the codes ``clip(rint(h / act_scale), -127, 127)``."""
    batch, hsz = c.shape
    rsz = h.shape[1]
    kx = xs.shape[2]
    kp = vmap.shape[0]
    quantised = int8.shape[0] > 0
    scale, dq, p_dq = (int8[0], int8[1], int8[2]) if quantised else (1.0, 1.0, 1.0)
    psum_after = quantised and int8[3] > 0
    v = np.zeros(kp, dtype=np.float32)
    ext = np.zeros(kx + rsz + 1, dtype=np.float32)  # the vector's sources; the last is 0
    gather = np.empty(kp, dtype=np.int64)
    for p in range(kp):
        gather[p] = vmap[p] if vmap[p] >= 0 else kx + rsz
    vp = np.zeros(pmap.shape[0], dtype=np.float32)
    acc = np.zeros(max(w_rows, w_blocks.shape[0] * 16, w_words.shape[0] * 16), dtype=np.float32)
    z = np.empty(w_rows, dtype=np.float32)
    buf = np.empty((width, max(w_rows, rsz)), dtype=np.float32)
    cn = np.empty((batch, hsz), dtype=np.float32)
    hn = np.empty((batch, rsz), dtype=np.float32)
    cp = np.empty(hsz, dtype=np.float32)  # c of the step before, and after
    cq = np.empty(hsz, dtype=np.float32)
    out = np.empty(hsz, dtype=np.float32)
    hr = np.empty(rsz, dtype=np.float32)
    x = np.empty(5 * hsz, dtype=np.float32)  # the activations' arguments: i, f, g, o, c
    e = np.empty(5 * hsz, dtype=np.float64)  # their float64 values
    seg = np.empty(2 * hsz, dtype=np.int64)  # table segments (PWL, LUT)
    ph = np.zeros(max(rsz, p_blocks.shape[0] * 16, p_words.shape[0] * 16), dtype=np.float32)
    pi, pf, po = peep[0], peep[min(1, peep.shape[0] - 1)], peep[peep.shape[0] - 1]
    # explicit loops, no slices: a slice in the loop is a reference-counted view
    for s in range(start, order.shape[0]):
        t = order[s]
        ti = t if init.shape[0] > 1 else 0
        for b in range(batch):
            for p in range(kx):  # [x_t, h, 0]: every lane position's source, then gathered
                ext[p] = xs[t, b, p]
            for p in range(rsz):
                ext[kx + p] = h[b, p]
            for p in range(kp):
                v[p] = ext[gather[p]]
            for r in range(w_rows):
                acc[r] = 0.0 if psum_after else init[ti, b, r]
            _dot(w, w_blocks, w_words, w_kind, w_rows, w_chunks, width, v, acc, buf)
            if not quantised:
                for r in range(w_rows):
                    z[r] = acc[r]
            elif psum_after:
                for r in range(w_rows):
                    z[r] = init[ti, b, r] + np.float32(np.float64(acc[r]) * dq)
            else:
                for r in range(w_rows):
                    z[r] = (np.float64(acc[r]) + grid[r]) * dq
            # the MFU, in fp32 operations (a peephole product rounded from float64, exact
            # for fp32 operands), each stage a loop across neurons (vectorised)
            for j in range(hsz):
                cp[j] = c[b, j]
            if has_peep:
                for j in range(hsz):
                    x[j] = z[j] + np.float32(pi[j] * cp[j])
                    x[hsz + j] = z[hsz + j] + np.float32(pf[j] * cp[j])
            else:
                for j in range(2 * hsz):
                    x[j] = z[j]
            for j in range(hsz):
                x[2 * hsz + j] = z[2 * hsz + j]
            _activate(x, 0, 2 * hsz, 0, kind, sbp, sval, sslope, e, seg)
            _activate(x, 2 * hsz, 3 * hsz, 1, kind, tbp, tval, tslope, e, seg)
            for j in range(hsz):
                i, f = np.float32(e[j]), np.float32(e[hsz + j])
                cq[j] = f * cp[j] + i * np.float32(e[2 * hsz + j])
            if has_peep:
                for j in range(hsz):
                    x[3 * hsz + j] = z[3 * hsz + j] + np.float32(po[j] * cq[j])
            else:
                for j in range(hsz):
                    x[3 * hsz + j] = z[3 * hsz + j]
            for j in range(hsz):
                x[4 * hsz + j] = cq[j]
            _activate(x, 3 * hsz, 4 * hsz, 0, kind, sbp, sval, sslope, e, seg)
            _activate(x, 4 * hsz, 5 * hsz, 1, kind, tbp, tval, tslope, e, seg)
            if kind == EXACT and _any_unsure(e):
                return s
            for j in range(hsz):
                out[j] = np.float32(e[3 * hsz + j]) * np.float32(e[4 * hsz + j])
                cn[b, j] = cq[j]
            if has_proj:
                _store_all(out, x, hsz, store_m, store_emin, store_max, scale, quantised)
                for p in range(pmap.shape[0]):
                    src = pmap[p]
                    vp[p] = 0.0 if src < 0 else x[src]
                for r in range(ph.shape[0]):
                    ph[r] = 0.0
                _dot(pw, p_blocks, p_words, p_kind, rsz, p_chunks, width, vp, ph, buf)
                if quantised:
                    for r in range(rsz):
                        ph[r] = np.float64(ph[r]) * p_dq
                _store_all(ph, hr, rsz, store_m, store_emin, store_max, scale, quantised)
            else:
                _store_all(out, hr, rsz, store_m, store_emin, store_max, scale, quantised)
            for r in range(rsz):
                hn[b, r] = hr[r]
        for b in range(batch):
            live = t < lens[b]
            for r in range(rsz):
                yv = hn[b, r] * scale if quantised else float(hn[b, r])
                if has_res:
                    total = np.float64(np.float32(yv + shortcut[t, b, r]))
                    if quantised:
                        yv = min(max(np.rint(total / scale), -127.0), 127.0) * scale
                    else:
                        yv = round_float(total, store_m, store_emin, store_max)
                if live:
                    h[b, r] = hn[b, r]
                y[t, b, col0 + r] = yv if live else 0.0
            if live:
                for j in range(hsz):
                    c[b, j] = cn[b, j]
    return int(order.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def dequantised(
    sums: NDArray[np.float32], grid: NDArray[np.float64], dq: float
) -> NDArray[np.float32]:  # pragma: no cover - compiled
    """int8 with a bias: ``rnd_fp32((sum + grid[r]) * dq)`` of every code sum ``[..., R]``
    (``Datapath._dequantise``'s first branch, which ``Int8.of`` checked applies)."""
    flat = sums.reshape(-1, grid.shape[0])
    out = np.empty(flat.shape, dtype=np.float32)
    for i in range(flat.shape[0]):
        for r in range(flat.shape[1]):
            out[i, r] = (np.float64(flat[i, r]) + grid[r]) * dq
    return out.reshape(sums.shape)
