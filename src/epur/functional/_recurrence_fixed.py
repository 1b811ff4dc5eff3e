"""A whole fixed-point LSTM recurrence in one compiled call (``qM.N`` storage and accumulator).

``model.run_network`` sends a recurrent phase here when ``fits``: fixed-point storage, a
fixed-point accumulator whose products are exact (``Datapath._exact_products``), both of
at most 53 bits (every value and code a float64). The kernel performs, step after step,
exactly the float64 operations of ``_steps.lstm_steps`` with ``Datapath``:

* the DPU: ``rnd_acc(init + v . w)`` where ``Datapath._dot_fixed`` takes that branch
  (the same bound: ``peak(w) * max|v| * K + max|init|``, over the whole batch, times
  ``2**N`` below ``2**52``): the sum of integer multiples of ``2**-N`` below ``2**52``
  of them is exact in float64 in any order. Where the bound fails the kernel stops
  before the step, and the caller computes it with numpy;
* the conversions to a fixed-point format (``_rnd``): ``quantize.round_to_format``'s
  integer arithmetic for every rounding (``rne``, ``rna``, ``trunc``) and overflow
  (``sat``, ``wrap``) mode; a value that is not finite (numpy raises, or saturates an
  infinity) stops the kernel before the step as well;
* the MFU, each operation a float64 operation then rounded to the accumulator format
  (``Datapath.mul``, ``add``), the exact sigmoid and tanh computed in float64 and
  rounded, PWL and LUT as ``activations.activation`` evaluates them with ``fmt``;
  ``h`` rounded to the storage format; projection, residual and sequence lengths.

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

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._recurrence import EXACT, LUT, PWL, segment
from epur.functional._vmath import sigmoid64, tanh64
from epur.functional.datapath import Datapath, Operand
from epur.numerics import ActivationFunction, ActivationKind, FormatKind, activation_table
from epur.numerics import activations as act
from epur.numerics.formats import NumberFormat, Overflow, Rounding
from epur.numerics.quantize import fixed_code_range

__all__ = ["FixedConsts", "consts", "fits", "run_recurrence"]

F64 = NDArray[np.float64]
_MARGIN = 2.0**-44
_SMALL = 4096  # exact activations of codes in [-_SMALL, _SMALL] are numpy's, from a table
RNE, RNA, TRUNC = 0, 1, 2


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


def _powers(fmt: NumberFormat) -> F64:
    """``2**N``, ``2**-N``, ``2**(B-1)``, ``2**B``, ``2**M`` of ``qM.N`` (``B = M + N``)."""
    n, b = fmt.frac_bits, fmt.bits
    return np.array([2.0**n, 2.0**-n, 2.0 ** (b - 1), 2.0**b, 2.0**fmt.int_bits])


def _mode(fmt: NumberFormat) -> tuple[F64, int, bool]:
    rounding = {Rounding.NEAREST_EVEN: RNE, Rounding.NEAREST_AWAY: RNA, Rounding.TRUNCATE: TRUNC}
    return _powers(fmt), rounding[fmt.rounding], fmt.overflow is Overflow.WRAP


@dataclass(frozen=True)
class FixedConsts:
    """The formats' and the MFU's constants, as the kernel takes them."""

    acc: tuple[F64, int, bool]  # powers of two (_powers), rounding, wrap
    store: tuple[F64, int, bool]
    act: int
    sig: tuple[F64, F64, F64]
    tanh: tuple[F64, F64, F64]


def consts(dp: Datapath) -> FixedConsts:
    empty = np.zeros(1)
    kind = dp.activation.kind
    tables = []
    for function in (ActivationFunction.SIGMOID, ActivationFunction.TANH):
        if kind == ActivationKind.EXACT:  # numpy's float64 values at the smallest codes
            lo, hi = fixed_code_range(dp.acc)
            codes = np.arange(max(lo, -_SMALL), min(hi, _SMALL) + 1)
            xs = np.zeros(2 * _SMALL + 1)
            xs[codes + _SMALL] = np.ldexp(codes.astype(np.float64), -dp.acc.frac_bits)
            small = act.activation(function, xs, dp.activation)
            tables.append((small, empty, empty))
        else:
            t = activation_table(function, dp.activation, dp.acc)
            tables.append((np.array(t.breakpoints), np.array(t.values),
                           np.array(t.slopes) if t.slopes.size else empty))  # fmt: skip
    code = {ActivationKind.EXACT: EXACT, ActivationKind.LUT: LUT, ActivationKind.PWL: PWL}[kind]
    return FixedConsts(_mode(dp.acc), _mode(dp.storage), code, tables[0], tables[1])


# ---- compiled ------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _integral(y: float, rounding: int) -> float:  # pragma: no cover - compiled
    """``quantize._round_integral``."""
    if rounding == RNE:
        return float(np.rint(y))
    if rounding == TRUNC:
        return math.floor(y)
    toward_zero = float(math.trunc(y))
    if abs(y - toward_zero) >= 0.5:
        return toward_zero + (1.0 if y > 0 else -1.0 if y < 0 else 0.0)
    return toward_zero


@njit(cache=True, nogil=True, inline="always")
def _rnd(x: float, q: F64, rounding: int, wrap: bool) -> float:  # pragma: no cover - compiled
    """``round_to_format`` of a finite ``x`` into a fixed-point format of at most 53 bits
    whose powers of two ``q`` holds (``_powers``)."""
    if wrap:
        x = np.fmod(x, q[4])
    r = _integral(x * q[0], rounding)
    half = q[2]
    if wrap:
        modulus = q[3]
        r = np.fmod(r, modulus)
        if r >= half:
            r -= modulus
        if r < -half:
            r += modulus
    else:
        if r >= half:
            r = half - 1.0
        if r < -half:
            r = -half
    return float((r + 0.0) * q[1])


@njit(cache=True, nogil=True, inline="always")
def _unsure(v: float, q: F64, rounding: int) -> bool:  # pragma: no cover - compiled
    """Whether a float64 value within ``_MARGIN`` (relative) of ``v`` may round to another
    integer multiple of ``q[1]`` (before overflow, which is monotone)."""
    a = abs(v) * _MARGIN
    s = q[0]
    return _integral((v + a) * s, rounding) != _integral((v - a) * s, rounding)


@njit(cache=True, nogil=True)
def _activate(
    x: float,
    fn: int,
    kind: int,
    bp: F64,
    val: F64,
    slope: F64,
    q: F64,
    rounding: int,
    wrap: bool,
) -> tuple[float, bool]:  # pragma: no cover - compiled
    """sigmoid (``fn`` 0) or tanh (1) of an accumulator value ``x`` in the accumulator
    format, and whether an exact one may differ from numpy's."""
    if kind == EXACT:
        code = x * q[0]
        if abs(code) <= _SMALL:  # numpy's values (consts): next to a boundary more often
            return _rnd(bp[int(code) + _SMALL], q, rounding, wrap), False
        e = sigmoid64(x) if fn == 0 else tanh64(x)
        return _rnd(e, q, rounding, wrap), _unsure(e, q, rounding)
    n = bp.shape[0] - 1
    k = segment(bp, x)
    if kind == LUT:
        return float(val[k]), False
    if x < bp[0]:
        return float(val[0]), False
    if x >= bp[n]:
        return float(val[n]), False
    offset = _rnd(x - bp[k], q, rounding, wrap)
    product = _rnd(slope[k] * offset, q, rounding, wrap)
    return _rnd(val[k] + product, q, rounding, wrap), False


@njit(cache=True, nogil=True)
def _dot(w: NDArray[np.float32] | F64, v: F64, acc: F64) -> None:  # pragma: no cover
    """``acc[r] += sum_k w[k, r] * v[k]``: exact (the caller checked the bound)."""
    for k in range(v.shape[0]):
        vk = v[k]
        if vk == 0.0:
            continue
        row = w[k]
        for r in range(acc.shape[0]):
            acc[r] += np.float64(row[r]) * vk


@njit(cache=True, nogil=True)
def _kernel(
    w: NDArray[np.float32] | F64,
    w_peak: float,
    xs: F64,
    init: F64,
    order: NDArray[np.int64],
    start: int,
    h: F64,
    c: F64,
    peep: F64,
    has_peep: bool,
    pw: NDArray[np.float32] | F64,
    p_peak: float,
    has_proj: bool,
    acc_q: F64,
    acc_rnd: int,
    acc_wrap: bool,
    st_q: F64,
    st_rnd: int,
    st_wrap: bool,
    kind: int,
    sbp: F64,
    sval: F64,
    sslope: F64,
    tbp: F64,
    tval: F64,
    tslope: F64,
    shortcut: F64,
    has_res: bool,
    lens: NDArray[np.int64],
    y: F64,
    col0: int,
) -> int:  # pragma: no cover - compiled
    """Steps ``order[start:]``; returns the index of the step it stopped before (one the
    numpy datapath must compute), or ``len(order)``."""
    batch, hsz = c.shape
    rsz = h.shape[1]
    kx = xs.shape[2]
    k = kx + rsz
    rows = 4 * hsz
    limit = 2.0**52
    scale = acc_q[0]
    v = np.empty(k)
    z = np.empty(rows)
    cn = np.empty((batch, hsz))
    out = np.empty((batch, hsz))
    hn = np.empty((batch, rsz))
    ph = np.empty(rsz)
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
        bound = w_peak * vmax * float(k)
        bound += imax
        if not bound * scale < limit:
            return s
        for b in range(batch):
            for j in range(kx):
                v[j] = xs[t, b, j]
            for j in range(rsz):
                v[kx + j] = h[b, j]
            for r in range(rows):
                z[r] = init[ti, b, r]
            _dot(w, v, z)
            for r in range(rows):
                if not math.isfinite(z[r]):
                    return s
                z[r] = _rnd(z[r], acc_q, acc_rnd, acc_wrap)
            # the MFU: each operation in float64, then rounded to the accumulator format
            for j in range(hsz):
                cp = c[b, j]
                zi, zf, zg, zo = z[j], z[hsz + j], z[2 * hsz + j], z[3 * hsz + j]
                if has_peep:
                    zi = _rnd(zi + _rnd(peep[0, j] * cp, acc_q, acc_rnd, acc_wrap),
                              acc_q, acc_rnd, acc_wrap)  # fmt: skip
                    zf = _rnd(zf + _rnd(peep[1, j] * cp, acc_q, acc_rnd, acc_wrap),
                              acc_q, acc_rnd, acc_wrap)  # fmt: skip
                i, u1 = _activate(zi, 0, kind, sbp, sval, sslope,
                                  acc_q, acc_rnd, acc_wrap)  # fmt: skip
                f, u2 = _activate(zf, 0, kind, sbp, sval, sslope,
                                  acc_q, acc_rnd, acc_wrap)  # fmt: skip
                g, u3 = _activate(zg, 1, kind, tbp, tval, tslope,
                                  acc_q, acc_rnd, acc_wrap)  # fmt: skip
                fc = _rnd(f * cp, acc_q, acc_rnd, acc_wrap)
                ig = _rnd(i * g, acc_q, acc_rnd, acc_wrap)
                cj = _rnd(fc + ig, acc_q, acc_rnd, acc_wrap)
                if has_peep:
                    zo = _rnd(zo + _rnd(peep[2, j] * cj, acc_q, acc_rnd, acc_wrap),
                              acc_q, acc_rnd, acc_wrap)  # fmt: skip
                o, u4 = _activate(zo, 0, kind, sbp, sval, sslope,
                                  acc_q, acc_rnd, acc_wrap)  # fmt: skip
                tc, u5 = _activate(cj, 1, kind, tbp, tval, tslope,
                                   acc_q, acc_rnd, acc_wrap)  # fmt: skip
                if u1 or u2 or u3 or u4 or u5:
                    return s
                cn[b, j] = cj
                out[b, j] = _rnd(_rnd(o * tc, acc_q, acc_rnd, acc_wrap),
                                 st_q, st_rnd, st_wrap)  # fmt: skip
        if has_proj:
            omax = 0.0
            for b in range(batch):
                for j in range(hsz):
                    omax = max(omax, abs(out[b, j]))
            bound = p_peak * omax * float(hsz)
            bound += 0.0
            if not bound * scale < limit:
                return s
            for b in range(batch):
                for r in range(rsz):
                    ph[r] = 0.0
                _dot(pw, out[b], ph)
                for r in range(rsz):
                    hn[b, r] = _rnd(_rnd(0.0 + ph[r], acc_q, acc_rnd, acc_wrap),
                                    st_q, st_rnd, st_wrap)  # fmt: skip
        else:
            for b in range(batch):
                for r in range(rsz):
                    hn[b, r] = out[b, r]
        for b in range(batch):
            live = t < lens[b]
            for r in range(rsz):
                yv = hn[b, r]
                if has_res:
                    yv = _rnd(_rnd(hn[b, r] + shortcut[t, b, r], acc_q, acc_rnd,
                                   acc_wrap), st_q, st_rnd, st_wrap)  # fmt: skip
                if live:
                    h[b, r] = hn[b, r]
                y[t, b, col0 + r] = yv if live else 0.0
            if live:
                for j in range(hsz):
                    c[b, j] = cn[b, j]
    return int(order.shape[0])


def transposed(op: Operand, storage: NumberFormat) -> NDArray[np.float32] | F64:
    """``[K, rows]``: float32 where it holds the storage values exactly, else float64."""
    dtype = np.float32 if storage.bits <= 24 else np.float64
    return np.ascontiguousarray(op.values.T.astype(dtype))


def run_recurrence(
    w: NDArray[np.float32] | F64,
    w_peak: float,
    xs: F64,
    init: F64,
    order: NDArray[np.int64],
    start: int,
    h: F64,
    c: F64,
    peep: F64 | None,
    proj: tuple[NDArray[np.float32] | F64, float] | None,
    k: FixedConsts,
    shortcut: F64 | None,
    lens: NDArray[np.int64],
    y: F64,
    col0: int,
) -> int:
    """Run steps ``order[start:]`` (see ``_kernel``); ``h`` and ``c`` are updated in place."""
    pw, p_peak = proj if proj is not None else (np.zeros((1, 1), w.dtype), 0.0)
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
            *k.acc,
            *k.store,
            k.act,
            *k.sig,
            *k.tanh,
            np.zeros((1, 1, 1)) if shortcut is None else shortcut,
            shortcut is not None,
            lens,
            y,
            col0,
        )
    )
