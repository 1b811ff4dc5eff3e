"""Compiled element operations and loops of the fixed-point datapath (``qM.N`` of at most
53 bits, every value a float64), written so that LLVM vectorises the loops that use them:
no library calls, no branches it cannot turn into selects.

A format is a tuple ``Fmt`` (``fmt_tuple``): ``(2**N, 2**-N, 2**(B-1), 2**B, 2**M, 2**-M,
2**-B, rounding, wrap)`` of ``qM.N`` (``B = M + N``). ``rnd`` is
``quantize.round_to_format`` of a finite value, exactly:

* ``wrap``: ``x - trunc(x * 2**-M) * 2**M``, which is ``fmod(x, 2**M)`` exactly (the
  quotient by a power of two is exact, so is the multiple, and the difference is
  representable, so IEEE subtraction gives it);
* ``y = x * 2**N`` rounded to an integer (``integral``: ``rint``; ``floor``; ``trunc(y)``
  plus the sign of ``y`` where ``|y - trunc(y)| >= 1/2``);
* ``sat``: clipped to ``[-2**(B-1), 2**(B-1) - 1]``; ``wrap``: ``r - trunc(r * 2**-B) *
  2**B`` (``fmod``, exact as above: ``|r| <= 2**B``), then ``2**B`` subtracted at or above
  ``2**(B-1)`` and added below ``-2**(B-1)``;
* ``(r + 0.0) * 2**-N`` (a zero result is ``+0.0``).

Every mode's value is computed and the format's is selected, so one loop serves all.

The DPU loops add exact integer multiples of a power of two: ``dot32`` in float32 where
the caller proved every partial sum below ``2**24`` units, ``dot64`` in float64 (below
``2**52``). Sums of such integers are exact in any order, so the loops add four rows of
the transposed matrix at once, with fused multiply-adds.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.numerics.formats import NumberFormat, Overflow, Rounding

__all__ = [
    "MARGIN", "RNA", "RNE", "TRUNC", "Fmt", "dot32", "dot64", "fmt_tuple", "rnd", "rnd_mul",
    "rnd_split", "two_product", "unsure",
]  # fmt: skip

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Fmt = tuple[float, float, float, float, float, float, float, int, bool]
MARGIN = 2.0**-44
RNE, RNA, TRUNC = 0, 1, 2


def fmt_tuple(fmt: NumberFormat) -> Fmt:
    """The ``Fmt`` of a fixed-point format of at most 53 bits."""
    rounding = {Rounding.NEAREST_EVEN: RNE, Rounding.NEAREST_AWAY: RNA, Rounding.TRUNCATE: TRUNC}
    n, b, m = fmt.frac_bits, fmt.bits, fmt.int_bits
    return (2.0**n, 2.0**-n, 2.0 ** (b - 1), 2.0**b, 2.0**m, 2.0**-m, 2.0**-b,
            rounding[fmt.rounding], fmt.overflow is Overflow.WRAP)  # fmt: skip


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def integral(y: float, rounding: int) -> float:  # pragma: no cover - compiled
    """``quantize._round_integral`` of ``y`` (an integer, as float64)."""
    t = np.trunc(y)
    away = t + np.copysign(1.0, y) if abs(y - t) >= 0.5 else t
    down = np.floor(y)
    near = np.rint(y)
    return near if rounding == RNE else (down if rounding == TRUNC else away)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def rnd(x: float, f: Fmt) -> float:  # pragma: no cover - compiled
    """``round_to_format(x, fmt)`` of a finite ``x`` (the module docstring)."""
    s, m, invm, rounding, wrap = f[0], f[4], f[5], f[7], f[8]
    xw = x - np.trunc(x * invm) * m
    return fit(integral((xw if wrap else x) * s, rounding), f)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def fit(r: float, f: Fmt) -> float:  # pragma: no cover - compiled
    """The value of the integer ``r`` (units of ``2**-N``) after the format's overflow:
    ``sat`` clips, ``wrap`` keeps the low ``M + N`` bits (the module docstring)."""
    inv, half, mod, invmod, wrap = f[1], f[2], f[3], f[6], f[8]
    rw = r - np.trunc(r * invmod) * mod
    rw = rw - mod if rw >= half else rw
    rw = rw + mod if rw < -half else rw
    rs = half - 1.0 if r >= half else r
    rs = -half if r < -half else rs
    return ((rw if wrap else rs) + 0.0) * inv


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def two_product(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """``(p, e)`` with ``p = fl(a * b)`` and ``p + e = a * b`` exactly (Dekker's product with
    Veltkamp's split, Dekker 1971, docs/sources.md: no fused multiply-add needed), for
    products far from float64's overflow and underflow."""
    p = a * b
    c = 134217729.0 * a  # 2**27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def rnd_mul(a: float, b: float, f: Fmt) -> float:  # pragma: no cover - compiled
    """``round_to_format(a * b, fmt)`` of the exact product: two accumulator values of
    ``qM.N`` have a ``2N``-bit fraction, beyond float64's 53 bits where ``|a * b| >=
    2**(53 - 2N)`` (``f * c`` in ``q8.24``), where ``rnd(a * b)`` would round twice."""
    p, e = two_product(a, b)
    return rnd_split(p, e, f)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def rnd_split(x: float, ex: float, f: Fmt) -> float:  # pragma: no cover - compiled
    """``round_to_format(x + ex, fmt)`` of the exact ``x + ex``, where ``|ex|`` is at most
    half a float64 unit of ``x`` and ``x * 2**(N+1) < 2**53``: the boundaries of the
    format's rounding (integers of ``y = x * 2**N`` for ``trunc``, their midpoints for
    ``rne`` and ``rna``) are float64 values, so ``ex`` decides only where ``y`` is one:
    ``trunc`` goes one down where ``y`` is an integer and ``ex < 0``; a tie goes up or down
    with the sign of ``ex`` (the exact value is no tie)."""
    s, m, invm, rounding, wrap = f[0], f[4], f[5], f[7], f[8]
    xw = x - np.trunc(x * invm) * m
    y = (xw if wrap else x) * s
    down = np.floor(y)
    side = down + 1.0 if ex > 0.0 else down
    tie = y - down == 0.5 and ex != 0.0
    r = side if tie and rounding != TRUNC else integral(y, rounding)
    r = down - 1.0 if rounding == TRUNC and y == down and ex < 0.0 else r
    return fit(r, f)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def unsure(v: float, f: Fmt) -> bool:  # pragma: no cover - compiled
    """Whether a float64 value within ``MARGIN`` (relative) of ``v`` may round to another
    integer multiple of ``2**-N`` (overflow, after, is monotone): ``y = v * 2**N`` lies
    within ``2 * MARGIN * |y|`` (twice the margin: the test's own roundings) of a rounding
    boundary, a midpoint of two integers (``rne``, ``rna``) or an integer (``trunc``).
    ``y - floor(y)`` is exact (``|y| < 2**53``)."""
    y = v * f[0]
    q = abs((y - np.floor(y)) - 0.5)
    dist = 0.5 - q if f[7] == TRUNC else q
    return dist <= abs(y) * (2.0 * MARGIN)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def dot32(w: F32, v: F32, acc: F32) -> None:  # pragma: no cover - compiled
    """``acc[r] += sum_k w[k, r] * v[k]`` in float32: exact when every ``|w| * |v|`` summed
    over ``k`` is an integer multiple of a power of two ``u`` below ``2**24 u`` (the caller
    checked), whatever the order and the fused multiply-adds."""
    k = v.shape[0]
    rows = acc.shape[0]
    k4 = k - k % 4
    for i in range(0, k4, 4):
        a0, a1, a2, a3 = v[i], v[i + 1], v[i + 2], v[i + 3]
        w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
        for r in range(rows):
            acc[r] += (w0[r] * a0 + w1[r] * a1) + (w2[r] * a2 + w3[r] * a3)
    for i in range(k4, k):
        a0, w0 = v[i], w[i]
        for r in range(rows):
            acc[r] += w0[r] * a0


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def dot64(w: F32 | F64, v: F64, acc: F64) -> None:  # pragma: no cover - compiled
    """``acc[r] += sum_k w[k, r] * v[k]`` in float64: exact below ``2**52`` units (``dot32``)."""
    k = v.shape[0]
    rows = acc.shape[0]
    k4 = k - k % 4
    for i in range(0, k4, 4):
        a0, a1, a2, a3 = v[i], v[i + 1], v[i + 2], v[i + 3]
        w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
        for r in range(rows):
            acc[r] += (np.float64(w0[r]) * a0 + np.float64(w1[r]) * a1) + (
                np.float64(w2[r]) * a2 + np.float64(w3[r]) * a3
            )
    for i in range(k4, k):
        a0, w0 = v[i], w[i]
        for r in range(rows):
            acc[r] += np.float64(w0[r]) * a0
