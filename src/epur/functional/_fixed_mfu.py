"""The fixed-point MFU of one batch element, compiled (``_recurrence_fixed``): the same
float64 operations and roundings as ``_steps.lstm_steps`` with ``Datapath``.

Each stage is a loop across the neurons over 1-D views (indices from 0, so numba's
negative-index wraparound disappears), with ``_fixed_math.rnd``'s branch-free rounding
and ``_vmath``'s polynomial sigmoid and tanh: LLVM vectorises them. The exact
activations of the codes in ``[-SMALL, SMALL]`` are numpy's values from a table
(``_recurrence_fixed.consts``), patched in by a scalar loop after the vector one.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._fixed_math import Fmt, rnd, rnd_mul, unsure
from epur.functional._recurrence import EXACT, LUT, segments
from epur.functional._vmath import sigmoid64, tanh64

__all__ = ["SMALL", "cell"]

F64 = NDArray[np.float64]
SMALL = 4096  # exact activations of codes in [-SMALL, SMALL] are numpy's, from a table


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _table(
    x: float, k: int, kind: int, bp: F64, val: F64, slope: F64, a: Fmt
) -> float:  # pragma: no cover - compiled
    """LUT or PWL of an accumulator value ``x`` in segment ``k`` (``activations.activation``
    with ``fmt``)."""
    n = bp.shape[0] - 1
    if kind == LUT:
        return float(val[k])
    if x < bp[0]:
        return float(val[0])
    if x >= bp[n]:
        return float(val[n])
    offset = rnd(x - bp[k], a)
    product = rnd(slope[k] * offset, a)
    return rnd(val[k] + product, a)


@njit(cache=True, nogil=True, error_model="numpy")
def _activate(
    x: F64, e: F64, fn: int, kind: int, table: tuple[F64, F64, F64], a: Fmt
) -> bool:  # pragma: no cover - compiled
    """``e[j]`` = sigmoid (``fn`` 0) or tanh (1) of the accumulator value ``x[j]``, in the
    accumulator format; whether an exact one may differ from numpy's (``unsure``)."""
    bp, val, slope = table
    n = x.shape[0]
    if kind != EXACT:
        k = np.empty(n, dtype=np.int64)
        segments(bp, x, 0, n, k)
        for j in range(n):
            e[j] = _table(x[j], k[j], kind, bp, val, slope, a)
        return False
    s = a[0]
    bad = False
    near = False  # an unsure value at a small code: numpy's values from the table
    if fn == 0:
        for j in range(n):
            f = sigmoid64(x[j])
            e[j] = rnd(f, a)
            u = unsure(f, a)
            bad |= u & (abs(x[j] * s) > SMALL)
            near |= u & (abs(x[j] * s) <= SMALL)
    else:
        for j in range(n):
            f = tanh64(x[j])
            e[j] = rnd(f, a)
            u = unsure(f, a)
            bad |= u & (abs(x[j] * s) > SMALL)
            near |= u & (abs(x[j] * s) <= SMALL)
    if near:  # rarely: a scalar loop
        for j in range(n):
            code = x[j] * s
            if abs(code) <= SMALL:
                e[j] = rnd(bp[int(code) + SMALL], a)
    return bad


@njit(cache=True, nogil=True, error_model="numpy")
def cell(
    z: F64,
    c: F64,
    cn: F64,
    out: F64,
    x: F64,
    e: F64,
    peep: F64,
    has_peep: bool,
    kind: int,
    sig: tuple[F64, F64, F64],
    tnh: tuple[F64, F64, F64],
    a: Fmt,
    st: Fmt,
) -> bool:  # pragma: no cover - compiled
    """From the gate pre-activations ``z [4H]`` (accumulator values) and the cell state
    ``c [H]``: the new cell state ``cn``, and ``out = store(rnd(o * tanh(cn)))``; ``x``
    and ``e`` (``[5H]``) are scratch. Returns whether an exact activation is unsure
    (then ``cn`` and ``out`` are not to be used)."""
    h = c.shape[0]
    zi, zf, zg, zo = z[:h], z[h : 2 * h], z[2 * h : 3 * h], z[3 * h : 4 * h]
    xi, xf, xo, xc = x[:h], x[h : 2 * h], x[3 * h : 4 * h], x[4 * h :]
    ei, ef, eg, eo, ec = e[:h], e[h : 2 * h], e[2 * h : 3 * h], e[3 * h : 4 * h], e[4 * h :]
    if has_peep:
        pi, pf = peep[0], peep[1]
        for j in range(h):
            xi[j] = rnd(zi[j] + rnd_mul(pi[j], c[j], a), a)
        for j in range(h):
            xf[j] = rnd(zf[j] + rnd_mul(pf[j], c[j], a), a)
    else:
        for j in range(h):
            xi[j] = zi[j]
            xf[j] = zf[j]
    bad = _activate(x[: 2 * h], e[: 2 * h], 0, kind, sig, a)
    bad |= _activate(zg, eg, 1, kind, tnh, a)
    for j in range(h):
        cn[j] = rnd(rnd_mul(ef[j], c[j], a) + rnd_mul(ei[j], eg[j], a), a)
    if has_peep:
        po = peep[2]
        for j in range(h):
            xo[j] = rnd(zo[j] + rnd_mul(po[j], cn[j], a), a)
    else:
        for j in range(h):
            xo[j] = zo[j]
    for j in range(h):
        xc[j] = cn[j]
    bad |= _activate(xo, eo, 0, kind, sig, a)
    bad |= _activate(xc, ec, 1, kind, tnh, a)
    for j in range(h):
        out[j] = rnd(rnd_mul(eo[j], ec[j], a), st)
    return bad
