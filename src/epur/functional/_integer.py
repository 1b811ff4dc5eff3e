"""The compiled fixed-point datapath (``qM.N`` storage and accumulator,
``_recurrence_fixed``): a direction's whole recurrence, and MWL's input phase.

``_steps.lstm_recurrence`` sends a direction's recurrence here when the float kernel
(``_recurrence``) does not apply and ``fits``; ``model.run_network`` asks ``fits`` whether
a whole recurrence runs compiled at all; ``_steps.input_tile`` asks ``input_tile`` first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from epur.functional import _recurrence_fixed as rec
from epur.functional._steps import LayerState, _resuming, _x
from epur.functional.datapath import Datapath, Operand
from epur.workload.network import LSTMLayer

__all__ = ["fits", "input_tile", "recurrence"]


def fits(dp: Datapath) -> bool:
    """Whether ``recurrence`` runs a whole recurrence of ``dp`` in compiled code."""
    return rec.fits(dp)


def input_tile(st: LayerState, dp: Datapath, d: int, idx: NDArray[np.int64]) -> bool:
    """MWL's input phase for the rows ``idx`` of direction ``d`` (``_steps.input_tile``),
    compiled; ``False`` where it does not apply (numpy computes the tile)."""
    return False


def recurrence(
    st: LayerState,
    dp: Datapath,
    d: int,
    order: NDArray[np.int64],
    mwl: bool,
    lens: NDArray[np.int64] | None,
) -> None:
    """``_steps.lstm_recurrence`` for fixed-point formats (``_recurrence_fixed``): a step
    the kernel cannot compute exactly as numpy does is computed by ``lstm_steps``."""

    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    ops = st.ops[d]
    matrix, b, p, proj = ops["u"] if mwl else ops["wu"], ops["b"], ops["p"], ops["proj"]
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
    args = (
        None if not isinstance(p, np.ndarray) else np.ascontiguousarray(p, dtype=np.float64),
        None if not isinstance(proj, Operand) else (rec.transposed(proj, dp.storage), proj.peak),
        rec.consts(dp),
        shortcut,
        np.ascontiguousarray(live, dtype=np.int64),
    )
    peak = matrix.peak  # a step numpy computes: the module docstring of _recurrence_fixed
    _resuming(
        lambda s: rec.run_recurrence(w, peak, xs, init, order, s, h, c, *args, st.y, d * r),
        st, dp, d, order, mwl, lens, h, c,
    )  # fmt: skip
