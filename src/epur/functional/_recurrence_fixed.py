"""A whole fixed-point LSTM recurrence in one compiled call (``qM.N`` storage and accumulator).

``model.run_network`` sends a recurrent phase here when ``fits``: fixed-point storage, a
fixed-point accumulator whose products are exact (``Datapath._exact_products``), both of
at most 53 bits (every value and code a float64). The kernel performs, step after step,
exactly the float64 operations of ``_steps.lstm_steps`` with ``Datapath``:

* the DPU: ``rnd_acc(init + v . w)`` where ``Datapath._dot_fixed`` takes that branch
  (the same bound: ``peak(w) * max|v| * K + max|init|``, over the whole batch, times
  ``2**Na`` below ``2**52``): the sum of integer multiples of ``2**-Na`` below ``2**52``
  of them is exact in float64 in any order. Where the bound fails the kernel stops
  before the step, and the caller computes it with numpy. Every product of two storage
  values is a multiple of ``2**-2Ns``: where the storage format fits float32 (at most 24
  bits, ``transposed``) and ``peak(w) * max|v| * K * 2**2Ns < 2**24``, the products are
  summed in float32 (``_fixed_math.dot32``: exact, half the memory traffic), then
  ``init`` added in float64; otherwise in float64 (``dot64``). Where the storage format
  has at most 16 bits and the same sum stays below ``2**31`` units, the int16 codes'
  products are summed in int32 instead (``_dpu16``, ``_fixed_simd``; ``packed``), which
  comes first;
* the conversions to a fixed-point format: ``_fixed_math.rnd``, ``round_to_format``'s
  arithmetic for every rounding (``rne``, ``rna``, ``trunc``) and overflow (``sat``,
  ``wrap``) mode, on values the bounds keep finite;
* the MFU, each operation a float64 operation then rounded to the accumulator format
  (``Datapath.mul``, ``add``), the exact sigmoid and tanh computed in float64 and
  rounded, PWL and LUT as ``activations.activation`` evaluates them with ``fmt``;
  ``h`` rounded to the storage format; projection, residual and sequence lengths. The
  MFU's stages are loops across the neurons (``_fixed_mfu``), which LLVM vectorises.

**Exact activations.** As in ``_recurrence``, the kernel's float64 sigmoid and tanh
(``_vmath``) may differ from numpy's in the last float64 bits. Near zero, sigmoid and
tanh of a code lie next to a rounding boundary (``1/2 + x/4`` and ``x`` are multiples of
``2**-(N+2)``): for the codes in ``[-4096, 4096]`` the kernel takes numpy's float64
values from a table (``consts``). Elsewhere, where the float64 value lies within
``2**-44`` (relative) of a rounding boundary of the accumulator format (a midpoint of
two codes for ``rne``/``rna``, a code for ``trunc``), the kernel stops before that step
and the caller computes it with ``_steps.lstm_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._fixed_input import pack16
from epur.functional._fixed_math import Fmt, dot32, dot64, fmt_tuple, rnd
from epur.functional._fixed_mfu import SMALL, cell
from epur.functional._fixed_simd import BLOCKS, pack_codes, tile4x1
from epur.functional._recurrence import EXACT, LUT, PWL
from epur.functional.datapath import Datapath, Operand
from epur.numerics import ActivationFunction, ActivationKind, FormatKind, activation_table
from epur.numerics import activations as act
from epur.numerics.formats import NumberFormat
from epur.numerics.quantize import fixed_code_range

__all__ = ["FixedConsts", "consts", "fits", "packed", "run_recurrence", "transposed"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def fits(dp: Datapath) -> bool:
    """Fixed-point storage and accumulator with exact products, both at most 53 bits."""
    s, a, p = dp.storage, dp.acc, dp.psum
    return (
        s.kind == FormatKind.FIXED
        and a.kind == FormatKind.FIXED
        and p.kind == FormatKind.FIXED
        and dp._exact_products()
        and s.bits <= 53
        and a.bits <= 53
    )


@dataclass(frozen=True)
class FixedConsts:
    """The formats' and the MFU's constants, as the kernel takes them."""

    acc: Fmt
    store: Fmt
    act: int
    sig: tuple[F64, F64, F64]  # EXACT: numpy's values at the codes [-SMALL, SMALL]; else
    tanh: tuple[F64, F64, F64]  # the table's breakpoints, values and slopes


def consts(dp: Datapath) -> FixedConsts:
    empty = np.zeros(1)
    kind = dp.activation.kind
    tables = []
    for function in (ActivationFunction.SIGMOID, ActivationFunction.TANH):
        if kind == ActivationKind.EXACT:  # numpy's float64 values at the smallest codes
            lo, hi = fixed_code_range(dp.acc)
            codes = np.arange(max(lo, -SMALL), min(hi, SMALL) + 1)
            xs = np.zeros(2 * SMALL + 1)
            xs[codes + SMALL] = np.ldexp(codes.astype(np.float64), -dp.acc.frac_bits)
            small = act.activation(function, xs, dp.activation)
            tables.append((small, empty, empty))
        else:
            t = activation_table(function, dp.activation, dp.acc)
            tables.append((np.array(t.breakpoints), np.array(t.values),
                           np.array(t.slopes) if t.slopes.size else empty))  # fmt: skip
    code = {ActivationKind.EXACT: EXACT, ActivationKind.LUT: LUT, ActivationKind.PWL: PWL}[kind]
    return FixedConsts(fmt_tuple(dp.acc), fmt_tuple(dp.storage), code, tables[0], tables[1])


def packed(op: Operand, storage: NumberFormat) -> NDArray[np.int16]:
    """The int16 codes of a matrix of at most 16-bit storage values, packed for
    ``_fixed_simd`` (``wp``)."""
    wp = pack_codes(*op.values.shape)
    pack16(op.values, 2.0**storage.frac_bits, wp)
    return wp


def transposed(op: Operand, storage: NumberFormat) -> F32 | F64:
    """``[K, rows]``: float32 where it holds the storage values exactly, else float64."""
    dtype = np.float32 if storage.bits <= 24 else np.float64
    return np.ascontiguousarray(op.values.T.astype(dtype))


# ---- compiled ------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _dpu(
    w: F32 | F64,
    narrow: bool,
    v64: F64,
    v32: F32,
    init: F64,
    z: F64,
    z32: F32,
    a: Fmt,
) -> None:  # pragma: no cover - compiled
    """``z = rnd_acc(init + w . v)``, exactly (the caller checked the float64 bound, and
    the float32 one where ``narrow``)."""
    rows = z.shape[0]
    if narrow:
        for r in range(rows):
            z32[r] = 0.0
        dot32(w, v32, z32)  # type: ignore[arg-type]
        for r in range(rows):
            z[r] = rnd(init[r] + np.float64(z32[r]), a)
        return
    for r in range(rows):
        z[r] = init[r]
    dot64(w, v64, z)
    for r in range(rows):
        z[r] = rnd(z[r], a)


@njit(cache=True, nogil=True, error_model="numpy")
def _dpu16(
    wp: NDArray[np.int16],
    v: F64,
    init: F64,
    z: F64,
    xv: NDArray[np.int16],
    zi: NDArray[np.int32],
    scale: float,
    a: Fmt,
) -> None:  # pragma: no cover - compiled
    """``z = rnd_acc(init + w . v)`` from the int16 codes (``_fixed_simd``; the caller
    checked that every partial sum stays below ``2**31`` units of ``2**-2Ns``)."""
    for j in range(v.shape[0]):
        xv[0, j] = np.int16(v[j] * scale)
    xp = xv.view(np.int32)
    for b0 in range(0, wp.shape[0], BLOCKS):
        tile4x1(wp, xp, zi, b0, 0)
    unit = 1.0 / (scale * scale)
    for r in range(z.shape[0]):
        z[r] = rnd(init[r] + np.float64(zi[0, r]) * unit, a)


@njit(cache=True, nogil=True, error_model="numpy")
def _kernel(
    w: F32 | F64,
    w_peak: float,
    xs: F64,
    init: F64,
    order: NDArray[np.int64],
    start: int,
    h: F64,
    c: F64,
    peep: F64,
    has_peep: bool,
    pw: F32 | F64,
    p_peak: float,
    has_proj: bool,
    is32: bool,
    wp: NDArray[np.int16],
    pwp: NDArray[np.int16],
    has16: bool,
    a: Fmt,
    st: Fmt,
    kind: int,
    sig: tuple[F64, F64, F64],
    tnh: tuple[F64, F64, F64],
    shortcut: F64,
    has_res: bool,
    lens: NDArray[np.int64],
    y: F64,
    col0: int,
) -> int:  # pragma: no cover - compiled
    """Steps ``order[start:]`` (``is32``: ``w`` and ``pw`` are float32); returns the
    index of the step it stopped before (one the numpy datapath must compute), or
    ``len(order)``."""
    batch, hsz = c.shape
    rsz = h.shape[1]
    kx = xs.shape[2]
    k = kx + rsz
    rows = 4 * hsz
    limit = 2.0**52
    scale = a[0]
    square = st[0] * st[0]  # products of storage values: multiples of 2**-2Ns
    v = np.empty(k)
    v32 = np.empty(k, dtype=np.float32)
    z = np.empty(rows)
    z32 = np.empty(max(rows, rsz), dtype=np.float32)
    cn = np.empty((batch, hsz))
    out = np.empty((batch, hsz))
    o32 = np.empty(hsz, dtype=np.float32)
    hn = np.empty((batch, rsz))
    ph = np.empty(rsz)
    zero = np.zeros(rsz)
    x = np.empty(5 * hsz)
    e = np.empty(5 * hsz)
    xv = np.zeros((1, 2 * max(wp.shape[1], pwp.shape[1])), dtype=np.int16)
    zi = np.empty((1, 16 * max(wp.shape[0], pwp.shape[0])), dtype=np.int32)
    ns = st[0]
    for s in range(start, order.shape[0]):
        t = order[s]
        ti = t if init.shape[0] > 1 else 0
        # the bound of Datapath._dot_fixed, over the whole batch
        vmax = 0.0
        imax = 0.0
        for b in range(batch):
            for j in range(kx):
                vmax = max(vmax, abs(xs[t, b, j]))
            for j in range(rsz):
                vmax = max(vmax, abs(h[b, j]))
            for r in range(rows):
                imax = max(imax, abs(init[ti, b, r]))
        sums = w_peak * vmax * float(k)
        bound = sums + imax
        if not bound * scale < limit:
            return s
        narrow = is32 and sums * square < 2.0**24
        codes = has16 and sums * square < 2.0**31
        for b in range(batch):
            for j in range(kx):
                v[j] = xs[t, b, j]
            for j in range(rsz):
                v[kx + j] = h[b, j]
            if codes:
                _dpu16(wp, v, init[ti, b], z, xv, zi, ns, a)
            else:
                for j in range(k):
                    v32[j] = v[j]
                _dpu(w, narrow, v, v32, init[ti, b], z, z32, a)
            if cell(z, c[b], cn[b], out[b], x, e, peep, has_peep, kind, sig, tnh, a, st):
                return s
        if has_proj:
            omax = 0.0
            for b in range(batch):
                for j in range(hsz):
                    omax = max(omax, abs(out[b, j]))
            sums = p_peak * omax * float(hsz)
            bound = sums + 0.0
            if not bound * scale < limit:
                return s
            narrow = is32 and sums * square < 2.0**24
            codes = has16 and sums * square < 2.0**31
            for b in range(batch):
                if codes:
                    _dpu16(pwp, out[b], zero, ph, xv, zi, ns, a)
                    for r in range(rsz):
                        hn[b, r] = rnd(ph[r], st)
                    continue
                for j in range(hsz):
                    o32[j] = out[b, j]
                _dpu(pw, narrow, out[b], o32, zero, ph, z32[:rsz], a)
                for r in range(rsz):
                    hn[b, r] = rnd(ph[r], st)
        else:
            for b in range(batch):
                for r in range(rsz):
                    hn[b, r] = out[b, r]
        for b in range(batch):
            live = t < lens[b]
            for r in range(rsz):
                yv = hn[b, r]
                if has_res:
                    yv = rnd(rnd(hn[b, r] + shortcut[t, b, r], a), st)
                if live:
                    h[b, r] = hn[b, r]
                y[t, b, col0 + r] = yv if live else 0.0
            if live:
                for j in range(hsz):
                    c[b, j] = cn[b, j]
    return int(order.shape[0])


def run_recurrence(
    w: F32 | F64,
    w_peak: float,
    xs: F64,
    init: F64,
    order: NDArray[np.int64],
    start: int,
    h: F64,
    c: F64,
    peep: F64 | None,
    proj: tuple[F32 | F64, float] | None,
    codes: tuple[NDArray[np.int16], NDArray[np.int16]] | None,
    k: FixedConsts,
    shortcut: F64 | None,
    lens: NDArray[np.int64],
    y: F64,
    col0: int,
) -> int:
    """Run steps ``order[start:]`` (see ``_kernel``); ``h`` and ``c`` are updated in place.
    ``codes``: the int16 packings (``packed``) of the matrix and the projection, where the
    storage format has at most 16 bits."""
    pw, p_peak = proj if proj is not None else (np.zeros((1, 1), w.dtype), 0.0)
    none = np.zeros((1, 1, 32), dtype=np.int16)
    wp, pwp = codes if codes is not None else (none, none)
    return int(
        _kernel(
            w,
            w_peak,
            xs,
            init,
            order,
            start,
            h,
            c,
            np.zeros((3, 1)) if peep is None else peep,
            peep is not None,
            pw,
            p_peak,
            proj is not None,
            w.dtype == np.float32,
            wp,
            pwp,
            codes is not None,
            k.acc,
            k.store,
            k.act,
            k.sig,
            k.tanh,
            np.zeros((1, 1, 1)) if shortcut is None else shortcut,
            shortcut is not None,
            lens,
            y,
            col0,
        )
    )
