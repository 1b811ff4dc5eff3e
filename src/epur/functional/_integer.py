"""The compiled fixed-point datapath (``qM.N`` storage and accumulator,
``_recurrence_fixed``): a direction's whole recurrence, and MWL's input phase.

``_steps.lstm_recurrence`` sends a direction's recurrence here when the float kernel
(``_recurrence``) does not apply and ``fits``; ``model.run_network`` asks ``fits`` whether
a whole recurrence runs compiled at all; ``_steps.input_tile`` asks ``input_tile`` first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.functional import _fixed_input as fin
from epur.functional import _fixed_simd as simd
from epur.functional import _recurrence_fixed as rec
from epur.functional._fixed_math import fmt_tuple
from epur.functional._steps import LayerState, StepHook, _resuming, _x, wu_operand
from epur.functional.datapath import Datapath, Operand
from epur.workload.network import LSTMLayer

__all__ = ["fits", "input_tile", "recurrence"]


def fits(dp: Datapath) -> bool:
    """Whether ``recurrence`` runs a whole recurrence of ``dp`` in compiled code."""
    return rec.fits(dp)


def input_tile(st: LayerState, dp: Datapath, d: int, idx: NDArray[np.int64]) -> bool:
    """MWL's input phase for the rows ``idx`` of direction ``d`` (``_steps.input_tile``),
    compiled (``_fixed_input``): ``psum[d][:, :, idx] = rnd_psum(rnd_acc(b[idx] + x .
    w[idx]))``, the bits of the numpy path. ``False`` where it does not apply (numpy
    computes the tile): not ``fits`` or a partial-sum format over 53 bits, an input that
    is not finite, or sums beyond ``Datapath._dot_fixed``'s exact bound."""
    if not rec.fits(dp) or dp.psum.bits > 53:
        return False
    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    ops = st.ops[d]
    w, b = ops["w"], ops["b"]
    assert isinstance(w, Operand) and isinstance(b, np.ndarray)
    steps, batch = st.y.shape[:2]
    k = w.values.shape[1]
    x = np.empty((steps * batch, k))
    ext = st.external
    has_ext = ext is not None
    below = np.asarray(st.below, dtype=np.float64)
    store = fmt_tuple(dp.storage)
    vmax = fin.stored(below, ext if ext is not None else np.zeros((1, 1, 0)), has_ext, store, x)
    if vmax < 0.0:  # not finite: numpy's round_to_format defines what happens
        return False
    whole = idx.size == w.values.shape[0] and bool((idx == np.arange(idx.size)).all())
    rows = w.values if whole else w.values[idx]
    peak = w.peak if whole else float(np.abs(rows).max(initial=0.0))
    init = np.ascontiguousarray(b[idx], dtype=np.float64)
    sums = peak * vmax * k  # Datapath._dot_fixed's bound, in the same float64 operations
    bound = sums + float(np.abs(init).max(initial=0))
    if not bound * 2.0**dp.acc.frac_bits < 2.0**52:
        return False
    h4 = 4 * layer.hidden_size
    if d not in st.psum:  # allocated by the first tile, as the numpy path does
        st.psum[d] = np.zeros((steps, batch, h4))
    psum = st.psum[d]
    assert psum.dtype == np.float64 and psum.flags.c_contiguous
    out: Any
    unit = 1.0
    if dp.storage.bits <= 16 and sums * 2.0 ** (2 * dp.storage.frac_bits) < 2.0**31:
        # int16 codes, int32 sums (_fixed_simd): every partial sum below 2**31 units
        ns = 2.0**dp.storage.frac_bits
        wp = simd.pack_codes(*rows.shape)
        fin.pack16(rows, ns, wp)
        n = -(-(steps * batch) // fin.VECTORS) * fin.VECTORS
        xv = simd.pack_vectors(n, k)
        fin.codes16(x, ns, xv)
        out = np.empty((n, wp.shape[0] * simd.ROWS), dtype=np.int32)
        fin.products16(wp, xv.view(np.int32), out)
        unit = 1.0 / (ns * ns)
    else:  # float64 sums (32-bit storage, or past int32's bound)
        wt = np.ascontiguousarray(rows.T, dtype=np.float64)
        out = np.empty((steps * batch, idx.size))
        fin.products(x, wt, out)
    fin.finish(out, unit, init, idx.astype(np.int64), psum.reshape(-1, h4), fmt_tuple(dp.acc),
               fmt_tuple(dp.psum))  # fmt: skip
    return True


def recurrence(
    st: LayerState,
    dp: Datapath,
    d: int,
    order: NDArray[np.int64],
    mwl: bool,
    lens: NDArray[np.int64] | None,
    on_steps: StepHook | None = None,
) -> None:
    """``_steps.lstm_recurrence`` for fixed-point formats (``_recurrence_fixed``): a step
    the kernel cannot compute exactly as numpy does is computed by ``lstm_steps``;
    ``on_steps`` hears of the steps done."""

    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    ops = st.ops[d]
    matrix, b, p, proj = ops["u"] if mwl else wu_operand(ops), ops["b"], ops["p"], ops["proj"]
    assert isinstance(matrix, Operand) and isinstance(b, np.ndarray)
    w = rec.transposed(matrix, dp.storage)
    batch = st.y.shape[1]
    if mwl:
        xs = np.zeros((1, 1, 0))
        init = np.ascontiguousarray(st.psum[d], dtype=np.float64)
    else:
        xs = np.ascontiguousarray(_x(st, dp, slice(None)), dtype=np.float64)
        init = np.ascontiguousarray(np.broadcast_to(b, (1, batch, b.size)), dtype=np.float64)
    r = layer.recurrent_size
    shortcut = None
    if layer.residual:
        shortcut = np.ascontiguousarray(dp.store(st.below[:, :, d * r : (d + 1) * r]))
    h = np.array(st.h[d], dtype=np.float64, order="C")
    c = np.array(st.c[d], dtype=np.float64, order="C")
    live = np.full(batch, st.y.shape[0], dtype=np.int64) if lens is None else lens
    codes: tuple[Any, Any] | None = None
    if dp.storage.bits <= 16:  # int16 codes (_fixed_simd)
        none = np.zeros((1, 1, 32), dtype=np.int16)
        pwp = rec.packed(proj, dp.storage) if isinstance(proj, Operand) else none
        codes = (rec.packed(matrix, dp.storage), pwp)
    args = (
        None if not isinstance(p, np.ndarray) else np.ascontiguousarray(p, dtype=np.float64),
        None if not isinstance(proj, Operand) else (rec.transposed(proj, dp.storage), proj.peak),
        codes,
        rec.consts(dp),
        shortcut,
        np.ascontiguousarray(live, dtype=np.int64),
    )
    peak = matrix.peak  # a step numpy computes: the module docstring of _recurrence_fixed
    _resuming(
        lambda o, s: rec.run_recurrence(w, peak, xs, init, o, s, h, c, *args, st.y, d * r),
        st, dp, d, order, mwl, lens, h, c, 0.0, on_steps,
    )  # fmt: skip
