"""One layer's values and the datapath operations the schedule's phases perform on them.

``model.run_network`` walks the schedule and calls these: ``load`` quantises a
layer's weights into the storage format, ``input_tile`` is MWL's input phase for one
tile of rows, ``fc_rows`` a fully-connected layer's rows, and ``lstm_steps`` one
recurrent step of one or more directions (DPU, MFU, projection, residual).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from epur.functional.datapath import Datapath, Operand
from epur.numerics import FormatKind
from epur.workload.network import FCLayer, Layer, LSTMLayer
from epur.workload.weights import FCWeights, LSTMWeights

if TYPE_CHECKING:
    from epur.functional._recurrence import Packed

__all__ = [
    "LayerState", "Ops", "fc_rows", "input_tile", "load", "lstm_recurrence", "lstm_steps",
    "operands", "peak",
]  # fmt: skip

F64 = NDArray[np.float64]


@dataclass(eq=False)
class LayerState:
    """One layer's operands and running values while the schedule executes."""

    layer: Layer
    name: str
    below: F64  # [T, B, below] the layer below's output (filled as it runs) or stack input
    external: F64 | None  # [T, B, I - below] external features, if any
    y: F64  # [T, B, out]
    act_scale: float = 1.0
    ops: list[Ops] = field(default_factory=list)  # per direction
    h: list[F64] = field(default_factory=list)
    c: list[F64] = field(default_factory=list)
    # MWL: per direction, [T, B, 4H]; float32 when the datapath's partial sums fit it
    psum: dict[int, NDArray[Any]] = field(default_factory=dict)
    # the whole input as stored (``_x``; key: "values", "codes" (int8) or "f32"), computed
    # once for both directions (written from their threads: both would write the same array)
    stored_x: dict[str, NDArray[Any]] = field(default_factory=dict)


def _stored(dp: Datapath, w: F64, scale: float) -> Operand:
    """``w`` in the storage format, in one pass: int8 as its codes, a float format that
    fp32 holds as float32 values (the float64 values follow if a numpy path asks); fixed
    point as float64 values, which its kernels read."""
    if dp.is_int8:
        return Operand.from_codes(dp.codes(w, scale), scale)
    if dp.fits_fp32() and dp.storage.kind == FormatKind.FLOAT:
        return Operand.of32(dp.store32(w))
    return Operand(dp.store(w), scale)


def _int8_scale(*parts: F64, peaks: Mapping[int, float] | None = None) -> float:
    """int8: ``max|values| / 127`` of the matrix the parts make up (1.0 for zeros);
    ``peaks``: ``max |part|`` already known, by ``id`` of the array."""
    known = peaks or {}
    return max(known[id(p)] if id(p) in known else peak(p) for p in parts) / 127 or 1.0


def peak(a: F64) -> float:
    """``max |a|`` (0 for an empty array; NaN if ``a`` holds one), without an ``abs``
    copy of ``a``."""
    if a.size == 0:
        return 0.0
    return max(float(a.max()), -float(a.min()))


def wu_operand(ops: dict[str, Operand | F64 | None]) -> Operand:
    """The baseline's ``[W U]`` of a direction's operands, joined once on first use (MWL
    never needs it)."""
    if "wu" not in ops:
        w, u = ops["w"], ops["u"]
        assert isinstance(w, Operand) and isinstance(u, Operand)
        ops["wu"] = Operand.joined(w, u)
    wu = ops["wu"]
    assert isinstance(wu, Operand)
    return wu


def _operand(dp: Datapath, w: F64) -> Operand:
    """A matrix of its own (an FC layer's, a projection) in the storage format."""
    return _stored(dp, w, _int8_scale(w) if dp.is_int8 else 1.0)


def _const(dp: Datapath, v: F64) -> F64:
    """A weight-buffer constant (bias, peephole): stored, then read into the accumulator."""
    return v if dp.is_int8 else dp.rnd_acc(dp.store(v))


Ops = dict[str, Operand | F64 | None]
"""One direction's (or an FC layer's) operands in the storage format: ``w``, ``u``, ``b``,
``p`` (peepholes), ``proj``; the kernels add their layouts of them on first use."""


def operands(
    layer: Layer, w: object, dp: Datapath, peaks: Mapping[int, float] | None = None
) -> list[Ops]:
    """A layer's weights quantised into the storage format: one ``Ops`` per direction
    (an FC layer: one); ``peaks``: int8's ``max |W|`` and ``max |U|`` where known (by
    ``id`` of the array)."""
    if isinstance(layer, FCLayer):
        assert isinstance(w, FCWeights)
        return [{"w": _operand(dp, w.w), "b": _const(dp, w.b)}]
    assert isinstance(layer, LSTMLayer) and isinstance(w, tuple)
    ops: list[Ops] = []
    for wd in w:
        assert isinstance(wd, LSTMWeights)
        scale = _int8_scale(wd.w, wd.u, peaks=peaks) if dp.is_int8 else 1.0  # [W U]'s
        ops.append(
            {  # [W U] itself (the baseline's) is joined on first use: ``wu_operand``
                "w": _stored(dp, wd.w, scale),
                "u": _stored(dp, wd.u, scale),
                "b": _const(dp, wd.b),
                "p": None if wd.peepholes is None else _const(dp, wd.peepholes),
                "proj": None if wd.projection is None else _operand(dp, wd.projection),
            }
        )
    return ops


def load(
    st: LayerState,
    ops: list[Ops],
    dp: Datapath,
    batch: int,
    init: tuple[F64 | None, F64 | None],
) -> None:
    """Give a layer its operands (``operands``) and set its initial state."""
    st.ops = ops
    if not isinstance(st.layer, LSTMLayer):
        return
    h0, c0 = init
    r, h = st.layer.recurrent_size, st.layer.hidden_size
    for d in range(len(ops)):
        st.h.append(dp.store(np.zeros((batch, r)) if h0 is None else h0[d], st.act_scale))
        st.c.append(dp.rnd_acc(np.zeros((batch, h)) if c0 is None else c0[d]))


def _x(st: LayerState, dp: Datapath, steps: slice | int, codes: bool = False) -> F64:
    """The layer's input ``[x_below, x_external]`` as its input buffers hold it (int8
    ``codes``: the codes of those values); the whole sequence once per layer."""
    if steps == slice(None):
        key = "codes" if codes else "values"
        if key not in st.stored_x:
            st.stored_x[key] = _x(st, dp, slice(0, None), codes)
        return st.stored_x[key]
    x = _unstored(st, steps)
    return dp.codes(x, st.act_scale) if codes else dp.store(x, st.act_scale)


def _unstored(st: LayerState, steps: slice | int) -> F64:
    x = st.below[steps]
    return x if st.external is None else np.concatenate([x, st.external[steps]], axis=-1)


def _x32(st: LayerState, dp: Datapath) -> NDArray[np.float32]:
    """The whole input as stored (``_x``), as float32 (a storage format fp32 holds)."""
    if "f32" not in st.stored_x:
        st.stored_x["f32"] = dp.store32(_unstored(st, slice(None)))
    return st.stored_x["f32"]


def input_tile(
    st: LayerState,
    dp: Datapath,
    d: int,
    rows: int,
    threads: int = 1,
    start: int = 0,
    compiled: bool = True,
) -> None:
    """MWL phase A for one tile, rows ``start .. start + rows - 1`` of each gate: ``W x_t +
    b`` for every step, into direction ``d``'s partial sums (``threads``: at most this
    many; a bidirectional layer's two directions may run at once: they write apart).
    ``compiled=False``: ``Datapath.dot`` and its roundings, the definition the compiled
    paths are tested against."""
    assert isinstance(st.layer, LSTMLayer)
    h = st.layer.hidden_size
    idx = np.concatenate([g * h + start + np.arange(rows) for g in range(4)])
    ops = st.ops[d]
    w, b = ops["w"], ops["b"]
    assert isinstance(w, Operand) and b is not None and not isinstance(b, Operand)
    whole = rows == h  # one tile: every row, in order
    if compiled and dp.psum_in_fp32():  # float32 throughout: the compiled DPU, no copies
        z32 = dp.dot32(w if whole else w.rows(idx), _x32(st, dp), b[idx], threads)
        _psum32(st, dp, d, idx, whole, z32)
        return
    from epur.functional import _integer
    from epur.functional import _recurrence as rec
    from epur.functional._recurrence_kernel import dequantised

    if compiled and _integer.input_tile(st, dp, d, idx):
        return
    q = rec.Int8.of(w.scale, w.shape[1], st.act_scale, b[idx], None)
    if compiled and dp.is_int8 and rec.fits(dp) and q is not None:  # exact sums, float32
        xc = _x(st, dp, slice(None), codes=True)
        sums = dp.dot32(w.codes if whole else w.codes.rows(idx), xc, np.zeros(1), threads)
        _psum32(st, dp, d, idx, whole, dequantised(sums, q.grid, q.params[1]))
        return
    z = dp.dot(w.rows(idx), _x(st, dp, slice(None)), bias=b[idx],
               v_scale=st.act_scale)  # fmt: skip
    if d not in st.psum:  # allocated by the first tile: the baseline never needs them
        st.psum[d] = np.zeros((*st.y.shape[:2], 4 * h))
    st.psum[d][:, :, idx] = dp.rnd_psum(z)


def _psum32(
    st: LayerState,
    dp: Datapath,
    d: int,
    idx: NDArray[np.int64],
    whole: bool,
    z32: NDArray[np.float32],
) -> None:
    """Direction ``d``'s partial sums of rows ``idx``: ``z32`` (fp32 accumulator values)
    rounded to the partial-sum format, which float32 holds (``Datapath.psum_in_fp32``,
    ``_recurrence.fits``)."""
    if (dp.psum.exponent_bits, dp.psum.mantissa_bits) != (8, 23):  # a narrower format
        z32 = dp.rnd_psum(z32.astype(np.float64)).astype(np.float32)
    if whole:
        st.psum[d] = z32
        return
    assert isinstance(st.layer, LSTMLayer)
    rows = 4 * st.layer.hidden_size
    st.psum.setdefault(d, np.zeros((*st.y.shape[:2], rows), dtype=np.float32))
    st.psum[d][:, :, idx] = z32


def fc_rows(st: LayerState, dp: Datapath, idx: NDArray[np.int64], steps: slice) -> None:
    assert isinstance(st.layer, FCLayer)
    w, b = st.ops[0]["w"], st.ops[0]["b"]
    assert isinstance(w, Operand) and b is not None and not isinstance(b, Operand)
    z = dp.dot(w.rows(idx), _x(st, dp, steps), bias=b[idx],
               v_scale=st.act_scale)  # fmt: skip
    kind = st.layer.activation.value
    if kind == "relu":
        z = np.maximum(z, 0.0)
    elif kind == "sigmoid":
        z = dp.sigmoid(z)
    elif kind == "tanh":
        z = dp.tanh(z)
    st.y[steps, :, idx] = dp.store(z, st.act_scale)


def lstm_steps(
    st: LayerState,
    dp: Datapath,
    steps: list[tuple[int, int]],
    mwl: bool,
    lens: NDArray[np.int64] | None,
) -> None:
    """One step of each ``(direction, t)`` in ``steps`` (independent directions run
    together, stacked on a leading axis): the DPU, the MFU, projection and residual."""
    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    hsz = layer.hidden_size
    dirs = [d for d, _ in steps]
    c_prev = np.stack([st.c[d] for d in dirs])
    z = np.stack([_dpu(st, dp, d, t, mwl) for d, t in steps])  # [D, B, 4H]
    zi, zf, zg, zo = (z[..., k * hsz : (k + 1) * hsz] for k in range(4))
    peeps = [st.ops[d]["p"] for d in dirs]
    if peeps[0] is None:  # i, f and o at once (element-wise: the same values, fewer calls)
        i, f, o = np.split(dp.sigmoid(np.concatenate([zi, zf, zo], axis=-1)), 3, axis=-1)
    else:
        p = np.stack([q for q in peeps if isinstance(q, np.ndarray)])[:, :, None, :]  # [D,3,1,H]
        zif = dp.add(np.concatenate([zi, zf], axis=-1),
                     dp.mul(np.concatenate([p[:, 0], p[:, 1]], axis=-1),
                            np.concatenate([c_prev, c_prev], axis=-1)))  # fmt: skip
        i, f = np.split(dp.sigmoid(zif), 2, axis=-1)
    g = dp.tanh(zg)
    c = dp.add(dp.mul(f, c_prev), dp.mul(i, g))
    if peeps[0] is not None:
        o = dp.sigmoid(dp.add(zo, dp.mul(p[:, 2], c)))
    out = dp.store(dp.mul(o, dp.tanh(c)), st.act_scale)
    for k, (d, t) in enumerate(steps):
        _finish(st, dp, d, t, out[k], c[k], lens)


def _dpu(st: LayerState, dp: Datapath, d: int, t: int, mwl: bool) -> F64:
    """The gate pre-activations ``[B, 4H]`` of direction ``d`` at step ``t``."""
    ops = st.ops[d]
    u, b = ops["u"], ops["b"]
    if mwl:
        assert isinstance(u, Operand)
        return dp.dot(u, st.h[d], psum=st.psum[d][t].astype(np.float64), v_scale=st.act_scale)
    assert b is not None and not isinstance(b, Operand)
    v = np.concatenate([_x(st, dp, t), st.h[d]], axis=-1)
    return dp.dot(wu_operand(ops), v, bias=b, v_scale=st.act_scale)


def _finish(
    st: LayerState,
    dp: Datapath,
    d: int,
    t: int,
    out: F64,
    c: F64,
    lens: NDArray[np.int64] | None,
) -> None:
    """Projection, state update (sequences that ended keep theirs), residual, output."""
    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    proj = st.ops[d]["proj"]
    if isinstance(proj, Operand):
        out = dp.store(dp.dot(proj, out, v_scale=st.act_scale), st.act_scale)
    live = np.ones((out.shape[0], 1), dtype=bool) if lens is None else (t < lens)[:, None]
    st.h[d] = np.where(live, out, st.h[d])
    st.c[d] = np.where(live, c, st.c[d])
    y = out
    r = layer.recurrent_size
    if layer.residual:
        shortcut = st.below[t, :, d * r : (d + 1) * r]
        y = dp.store(dp.add(out, dp.store(shortcut, st.act_scale)), st.act_scale)
    st.y[t, :, d * r : (d + 1) * r] = np.where(live, y, 0.0)


def lstm_recurrence(
    st: LayerState,
    dp: Datapath,
    d: int,
    order: NDArray[np.int64],
    mwl: bool,
    lens: NDArray[np.int64] | None,
    on_steps: StepHook | None = None,
) -> None:
    """Every step of direction ``d`` in ``order``, in one compiled call
    (``_recurrence``): the same bits as ``lstm_steps`` step by step. A step whose exact
    activation the kernel cannot be sure of is computed by ``lstm_steps``."""
    from epur.functional import _recurrence as rec

    if not rec.fits(dp):
        from epur.functional import _integer

        _integer.recurrence(st, dp, d, order, mwl, lens, on_steps)
        return
    layer = st.layer
    assert isinstance(layer, LSTMLayer)
    ops = st.ops[d]
    matrix, b, p, proj = ops["u"] if mwl else wu_operand(ops), ops["b"], ops["p"], ops["proj"]
    assert isinstance(matrix, Operand) and isinstance(b, np.ndarray)
    projection = proj if isinstance(proj, Operand) else None
    int8 = None
    if dp.is_int8:  # integer codes: every sum exact in float32, dequantised as Datapath does
        int8 = rec.Int8.of(matrix.scale, matrix.shape[1], st.act_scale,
                           None if mwl else b,
                           None if projection is None else
                           (projection.scale, projection.shape[1]))  # fmt: skip
        if int8 is None:  # sums float32 cannot hold, or another dequantisation: numpy
            for t in order:
                lstm_steps(st, dp, [(d, int(t))], mwl, lens)
                if on_steps is not None:
                    on_steps(1)
            return
    batch = st.y.shape[1]
    matrix = _codes(matrix, int8)
    if mwl:
        xs = np.zeros((1, 1, 0), dtype=np.float32)
        init = np.ascontiguousarray(st.psum[d], dtype=np.float32)  # float32 already: no copy
    else:
        matrix, xs, init = _baseline_x_chunks(st, dp, matrix, b, int8 is not None)
    words = rec.word_kind(dp)
    w = _packed(matrix, dp.lanes, words)  # int8: codes already
    r = layer.recurrent_size
    shortcut = None
    if layer.residual:
        shortcut = np.ascontiguousarray(dp.store(st.below[:, :, d * r : (d + 1) * r], st.act_scale))
    h_scale = st.act_scale if int8 is not None else 0.0
    h = _kernel_h(st.h[d], h_scale)
    c = st.c[d].astype(np.float32)
    live = np.full(batch, st.y.shape[0], dtype=np.int64) if lens is None else lens
    args = (
        None if not isinstance(p, np.ndarray) else np.ascontiguousarray(p, dtype=np.float64),
        None if projection is None else _packed(_codes(projection, int8), dp.lanes, words),
        rec.consts(dp),
        shortcut,
        np.ascontiguousarray(live, dtype=np.int64),
    )
    # a step the kernel stops before (an activation next to an fp32 rounding boundary)
    _resuming(
        lambda o, s: rec.run_recurrence(w, xs, init, o, s, h, c, *args, st.y, d * r, int8),
        st, dp, d, order, mwl, lens, h, c, h_scale, on_steps,
    )  # fmt: skip


def _packed(op: Operand, lanes: int, words: int) -> Packed:
    """``_recurrence.pack`` of ``op``, kept in it (``Operand.layout``) for the next run."""
    from epur.functional import _recurrence as rec

    return op.layout(f"packed {lanes} {words}", lambda m: rec.pack(m.exact, lanes, words))


def _codes(op: Operand, int8: object) -> Operand:
    """int8 (``int8`` not ``None``): the operand's integer codes; else the operand."""
    return op if int8 is None else op.codes


def _kernel_h(h: F64, scale: float) -> NDArray[np.float32]:
    """``h`` as a compiled recurrence holds it: float32 values, or int8 codes (``scale``)."""
    return (h if scale == 0.0 else np.rint(h / scale)).astype(np.float32)


def _baseline_x_chunks(
    st: LayerState, dp: Datapath, wu: Operand, b: F64, int8: bool
) -> tuple[Operand, NDArray[np.float32], NDArray[np.float32]]:
    """The baseline's ``[W U] . [x h]`` split where its chunks allow: the leading chunks
    that hold only ``x`` do not depend on the recurrence, so the accumulator after them
    (bias, then those chunks in order) is computed for every step at once (``dot32``,
    each loaded weight block serving several steps, as MWL's input phase); the kernel
    starts from it and adds the remaining chunks (``x``'s tail and ``h``) in order.
    Every accumulator sees the same operations in the same order: the same bits.
    ``int8``: ``wu`` holds codes, ``x`` becomes codes and the accumulators start from 0
    (exact integer sums; the kernel adds the bias on the integer grid).
    Returns the remaining matrix, its ``x`` columns ``[T, B, *]`` and the initial
    accumulators (``[T, B, 4H]``, or ``[1, B, 4H]`` when no chunk is ``x`` alone)."""
    x = _x(st, dp, slice(None), codes=True).astype(np.float32) if int8 else _x32(st, dp)
    start = np.zeros_like(b) if int8 else b
    k0 = (x.shape[-1] // dp.lanes) * dp.lanes  # whole chunks of x
    if k0 == 0:
        first = np.broadcast_to(start.astype(np.float32), (1, x.shape[1], b.size))
        return wu, np.ascontiguousarray(x), np.ascontiguousarray(first)
    init = dp.dot32(wu.columns(0, k0), x[..., :k0], start)
    return wu.columns(k0), np.ascontiguousarray(x[..., k0:]), init


StepHook = Callable[[int], None]
"""Told how many recurrent steps (one time step of one direction) were just done."""
_STEPS_PER_CALL = 256  # a compiled call's steps between two progress reports


def _resuming(
    kernel: Callable[[NDArray[np.int64], int], int],
    st: LayerState,
    dp: Datapath,
    d: int,
    order: NDArray[np.int64],
    mwl: bool,
    lens: NDArray[np.int64] | None,
    h: NDArray[Any],
    c: NDArray[Any],
    h_scale: float = 0.0,
    on_steps: StepHook | None = None,
) -> None:
    """Run ``kernel(order[:stop], start)``, which advances the state ``h``, ``c`` from step
    ``start`` and returns the step it stopped before (``stop`` when done); each such step
    is computed by ``lstm_steps`` (numpy) and the kernel resumes after it. ``h_scale``:
    the kernel's ``h`` holds int8 codes of that scale (0: values). ``on_steps`` hears of
    the steps done every ``_STEPS_PER_CALL`` steps (the kernel is called in pieces)."""

    def values() -> F64:
        return h.astype(np.float64) * h_scale if h_scale else h.astype(np.float64)

    s = 0
    while s < len(order):
        stop = min(s + _STEPS_PER_CALL, len(order)) if on_steps is not None else len(order)
        done = kernel(order[:stop], s)
        if done < stop:
            st.h[d], st.c[d] = values(), c.astype(np.float64)
            lstm_steps(st, dp, [(d, int(order[done]))], mwl, lens)
            h[:], c[:] = _kernel_h(st.h[d], h_scale), st.c[d]
            done += 1
        if on_steps is not None:
            on_steps(done - s)
        s = done
    st.h[d], st.c[d] = values(), c.astype(np.float64)
