"""The float64 reference's recurrence in one compiled call (numba, ``nogil``).

``reference._lstm_directions`` computes the input half of every step with one matrix
product per direction, then hands the whole recurrence of a layer's directions to
``lstm_recurrence``: per step and direction ``z = zx[t] + U h (+ peepholes)``, the
gates in float64, ``c``, ``h``, the projection and the sequence lengths, exactly the
equations of the numpy loop it replaces. The recurrent product is a plain loop over
``U^T`` (rows of ``U^T`` scaled by ``h[r]`` and added in turn, which vectorises
without reassociation). It is bound by reading ``U`` (3.2 MB for EESEN, more than a
core's L2), so odd steps add the rows in reverse order: the rows the previous step
read last, still in cache, are read first. The sums' order, and the C library's
``exp`` and ``tanh``, make the values differ from a numpy evaluation in the last
float64 bits, which a reference may (it is compared with PyTorch and ONNX Runtime to
``1e-5``).

Steps past a sequence's end (``t >= seq_lens[b]``) are skipped: they change nothing
and their output stays zero (ONNX semantics). The directions are independent and run
on threads (``reference._lstm_directions``), within the thread count numba is given.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["lstm_recurrence"]

F64 = NDArray[np.float64]


@njit(cache=True, nogil=True, inline="always")
def _sigmoid(x: float) -> float:  # pragma: no cover - compiled
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@njit(cache=True, nogil=True)
def _gemv(u_t: F64, v: F64, out: F64, backward: bool) -> None:  # pragma: no cover - compiled
    """``out = v U`` for ``u_t = U^T [R, 4H]``: the rows scaled and added in ``r``
    order, or in reverse order when ``backward``."""
    out[:] = 0.0
    rows = u_t.shape[0]
    for i in range(rows):
        r = rows - 1 - i if backward else i
        vr = v[r]
        row = u_t[r]
        for k in range(out.shape[0]):
            out[k] += row[k] * vr


@njit(cache=True, nogil=True)
def lstm_recurrence(
    d: int,
    zx: F64,
    u_t: F64,
    peep: F64,
    proj_t: F64,
    reverses: NDArray[np.bool_],
    lens: NDArray[np.int64],
    h: F64,
    c: F64,
    y: F64,
) -> None:  # pragma: no cover - compiled
    """All steps of direction ``d`` of ``n``; ``h[d]`` and ``c[d]`` are updated in place,
    ``y[d]`` (zeros on entry) receives the outputs. The GIL is released: the caller runs
    the directions on threads.

    Shapes: ``zx [n, T, B, 4H]`` (``x W^T + b``), ``u_t [n, R, 4H]`` (``U^T``), ``peep
    [n, 3, H]`` (zeros without peepholes), ``proj_t [n, H, R]`` (``P^T``; ``[n, 0, 0]``
    without a projection), ``lens [B]``, ``h [n, B, R]``, ``c [n, B, H]``, ``y [n, T,
    B, R]``.
    """
    _, t_len, batch, four_h = zx.shape
    h_size = four_h // 4
    r_size = u_t.shape[1]
    has_proj = proj_t.shape[1] > 0
    z = np.empty((batch, four_h))
    out = np.empty(h_size)
    for s in range(t_len):
        t = t_len - 1 - s if reverses[d] else s
        ud = u_t[d]
        for b in range(batch):
            if t < lens[b]:
                _gemv(ud, h[d, b], z[b], s % 2 == 1)
        for b in range(batch):
            if t >= lens[b]:  # past this sequence's end: nothing changes
                continue
            zb, xb, pd = z[b], zx[d, t, b], peep[d]
            for j in range(h_size):
                cj = c[d, b, j]
                i = _sigmoid(zb[j] + xb[j] + pd[0, j] * cj)
                f = _sigmoid(zb[h_size + j] + xb[h_size + j] + pd[1, j] * cj)
                g = math.tanh(zb[2 * h_size + j] + xb[2 * h_size + j])
                cj = f * cj + i * g
                o = _sigmoid(zb[3 * h_size + j] + xb[3 * h_size + j] + pd[2, j] * cj)
                c[d, b, j] = cj
                out[j] = o * math.tanh(cj)
            if has_proj:
                for r in range(r_size):
                    h[d, b, r] = 0.0
                for j in range(h_size):
                    oj = out[j]
                    for r in range(r_size):
                        h[d, b, r] += proj_t[d, j, r] * oj
            else:
                for j in range(h_size):
                    h[d, b, j] = out[j]
            for r in range(r_size):
                y[d, t, b, r] = h[d, b, r]
