"""The functional model: a network with weights, executed in E-PUR's datapath.

``run`` builds the schedule (baseline or MWL) and walks its phases exactly as the
timing model does, computing with ``Datapath`` (``datapath.py``: every rounding
point). It vectorises wherever the dataflow allows: over the batch always, over
neurons within a step, and over the whole sequence in MWL's input phase and in
fully-connected layers (a matrix product per tile of weight rows).

Baseline and MWL do **not** give identical bits in general: the baseline reduces
``[W U] . [x h]`` in one dot product (chunks straddle the x/h boundary), while MWL
rounds ``W x + b`` to the partial-sum format and starts the recurrent dot product
from it. They are identical when every sum is exact: fixed-point formats (whose
accumulators have guard bits) with a partial-sum format that holds the
accumulator's values, and int8 with fixed scales. The tests check both statements.

int8 uses per-tensor symmetric scales: one per weight matrix of a layer direction
(``[W U]``; the projection and FC weights their own) and one per layer for every
activation its input buffers hold (``x`` and ``h``), calibrated as ``max|v| / 127``
on the float64 reference run of the same input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig
from epur.errors import ConfigError
from epur.functional.datapath import Datapath, Operand
from epur.functional.reference import layer_name, reference_run
from epur.numerics import (
    ActivationFunction,
    ActivationKind,
    activation_table,
    parse_activation,
)
from epur.schedule import ArrayKind, Dataflow, Direction, Phase, PhaseKind, Work, build_schedule
from epur.workload.network import FCLayer, Layer, LSTMLayer, Network, Stack
from epur.workload.weights import FCWeights, LSTMWeights, NetworkWeights

__all__ = ["RunResult", "run_network", "sized_to_inputs"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Outputs of one run: the last layer's sequence ``y [T, B, out]``, each layer's
    final states (``h_n[k] [dirs, B, R]``, ``c_n[k] [dirs, B, H]``; empty for FC
    layers) and, when asked for, every layer's output sequence."""

    y: F64
    h_n: list[F64]
    c_n: list[F64]
    layer_outputs: list[F64] = field(default_factory=list)


@dataclass(eq=False)
class _LayerState:
    """One layer's operands and running values while the schedule executes."""

    layer: Layer
    name: str
    below: F64  # [T, B, below] the layer below's output (filled as it runs) or stack input
    external: F64 | None  # [T, B, I - below] external features, if any
    y: F64  # [T, B, out]
    act_scale: float = 1.0
    ops: list[dict[str, Operand | F64 | None]] = field(default_factory=list)  # per direction
    h: list[F64] = field(default_factory=list)
    c: list[F64] = field(default_factory=list)
    psum: list[F64] = field(default_factory=list)
    tile_start: int = 0


def _datapath(arch: ArchConfig) -> Datapath:
    f = arch.formats
    spec = parse_activation(arch.mfu.activation)
    for function in ActivationFunction if spec.kind != ActivationKind.EXACT else ():
        try:
            activation_table(function, spec, f.accumulator_format)
        except ValueError as exc:
            raise ConfigError(
                f"mfu.activation {spec.name} cannot be built in the accumulator format "
                f"{f.accumulator}: {exc}"
            ) from None
    return Datapath(
        storage=f.storage_format,
        acc=f.accumulator_format,
        psum=f.partial_sums_format,
        lanes=arch.dpu.lanes,
        activation=parse_activation(arch.mfu.activation),
    )


def run_network(
    network: Network,
    weights: NetworkWeights,
    inputs: Mapping[str, F64],
    arch: ArchConfig,
    dataflow: Dataflow | str = Dataflow.BASELINE,
    *,
    seq_lens: NDArray[np.int64] | None = None,
    initial: Mapping[int, tuple[F64 | None, F64 | None]] | None = None,
    keep_layers: bool = False,
    tile_rows: int | None = None,
) -> RunResult:
    """Run ``network`` on ``inputs`` in ``arch``'s number formats, in ``dataflow`` order.

    ``inputs`` maps each stack's name to its input ``[T, B, I]`` (and
    ``"<layer>.external_in"`` to a layer's extra features); ``seq_lens [B]`` ends
    sequences early (ONNX semantics); ``initial`` maps a layer index to its
    ``(h0 [dirs, B, R], c0 [dirs, B, H])``; ``tile_rows`` sets MWL's tile size.
    """
    weights.check(network)
    network = sized_to_inputs(network, inputs)
    schedule = build_schedule(network, arch, dataflow, tile_rows)
    dp = _datapath(arch)
    scales = _int8_scales(network, weights, inputs) if dp.is_int8 else {}
    states = _states(network, weights, inputs, dp, scales, initial or {})
    lens = None if seq_lens is None else np.asarray(seq_lens, dtype=np.int64)
    for group in _co_executed(schedule.phases):
        if len(group) == 2:
            _run_both_directions(group, states, dp, lens)
        else:
            _run_phase(group[0], states, dp, lens)
    lstm = [s for s in states if isinstance(s.layer, LSTMLayer)]
    return RunResult(
        y=states[-1].y,
        h_n=[np.stack(s.h) for s in lstm],
        c_n=[np.stack(s.c) for s in lstm],
        layer_outputs=[s.y for s in states] if keep_layers else [],
    )


def sized_to_inputs(network: Network, inputs: Mapping[str, F64]) -> Network:
    """``network`` with each stack's ``seq_len`` and the batch taken from its input."""
    stacks: list[Stack] = []
    batches = set()
    for stack in network.stacks:
        if stack.name not in inputs:
            raise ConfigError(f"inputs must hold an array for stack {stack.name!r}")
        x = inputs[stack.name]
        if x.ndim != 3 or x.shape[-1] != stack.layers[0].input_size:
            raise ConfigError(
                f"input {stack.name!r} must have shape [T, B, {stack.layers[0].input_size}], "
                f"not {list(x.shape)}"
            )
        stacks.append(replace(stack, seq_len=x.shape[0]))
        batches.add(x.shape[1])
    if len(batches) != 1:
        raise ConfigError(f"every stack input must have the same batch size, not {sorted(batches)}")
    return replace(network, stacks=tuple(stacks), batch=batches.pop())


def _int8_scales(
    network: Network, weights: NetworkWeights, inputs: Mapping[str, F64]
) -> dict[int, float]:
    """Per layer: ``max|v| / 127`` over its input and recurrent values (float64 reference)."""
    ref = reference_run(network, weights, inputs)
    scales: dict[int, float] = {}
    k = 0
    for stack in network.stacks:
        below = np.asarray(inputs[stack.name], dtype=np.float64)
        for layer in stack.layers:
            peak = float(np.abs(below).max(initial=0.0))
            ext = inputs.get(f"{layer_name(layer, k)}.external_in")
            if ext is not None:
                peak = max(peak, float(np.abs(ext).max(initial=0.0)))
            for d in ref[k].directions:
                peak = max(peak, float(np.abs(d.y).max(initial=0.0)))
            scales[k] = peak / 127 if peak > 0 else 1.0
            below = ref[k].y
            k += 1
    return scales


def _operand(dp: Datapath, w: F64) -> Operand:
    if dp.is_int8:
        scale = float(np.abs(w).max(initial=0.0)) / 127 or 1.0
        return Operand(dp.store(w, scale), scale)
    return Operand(dp.store(w))


def _const(dp: Datapath, v: F64) -> F64:
    """A weight-buffer constant (bias, peephole): stored, then read into the accumulator."""
    return v if dp.is_int8 else dp.rnd_acc(dp.store(v))


def _states(
    network: Network,
    weights: NetworkWeights,
    inputs: Mapping[str, F64],
    dp: Datapath,
    scales: Mapping[int, float],
    initial: Mapping[int, tuple[F64 | None, F64 | None]],
) -> list[_LayerState]:
    states: list[_LayerState] = []
    k = 0
    for stack in network.stacks:
        t, b = inputs[stack.name].shape[:2]
        below_y = np.asarray(inputs[stack.name], dtype=np.float64)
        for layer in stack.layers:
            name = layer_name(layer, k)
            external = None
            if layer.input_size > below_y.shape[-1]:
                if f"{name}.external_in" not in inputs:
                    raise ConfigError(f"inputs must hold {name}.external_in for layer {name}")
                external = np.asarray(inputs[f"{name}.external_in"], dtype=np.float64)
            y = np.zeros((t, b, layer.output_size))
            st = _LayerState(layer, name, below_y, external, y, scales.get(k, 1.0))
            _load(st, weights.layers[k], dp, b, initial.get(k, (None, None)))
            states.append(st)
            below_y = st.y
            k += 1
    return states


def _load(
    st: _LayerState,
    w: object,
    dp: Datapath,
    batch: int,
    init: tuple[F64 | None, F64 | None],
) -> None:
    """Quantise a layer's weights into the storage format and set its initial state."""
    layer = st.layer
    if isinstance(layer, FCLayer):
        assert isinstance(w, FCWeights)
        st.ops.append({"w": _operand(dp, w.w), "b": _const(dp, w.b)})
        return
    assert isinstance(layer, LSTMLayer) and isinstance(w, tuple)
    h0, c0 = init
    for d, wd in enumerate(w):
        assert isinstance(wd, LSTMWeights)
        wu = _operand(dp, np.concatenate([wd.w, wd.u], axis=1))
        i = layer.input_size
        st.ops.append(
            {
                "wu": wu,
                "w": Operand(wu.values[:, :i], wu.scale),
                "u": Operand(wu.values[:, i:], wu.scale),
                "b": _const(dp, wd.b),
                "p": None if wd.peepholes is None else _const(dp, wd.peepholes),
                "proj": None if wd.projection is None else _operand(dp, wd.projection),
            }
        )
        r, h = layer.recurrent_size, layer.hidden_size
        st.h.append(dp.store(np.zeros((batch, r)) if h0 is None else h0[d], st.act_scale))
        st.c.append(dp.rnd_acc(np.zeros((batch, h)) if c0 is None else c0[d]))
        st.psum.append(np.zeros((st.y.shape[0], batch, 4 * h)))
    st.tile_start = 0


def _direction(layer: LSTMLayer, work: Work) -> int:
    return 1 if layer.bidirectional and work.direction == Direction.BACKWARD else 0


def _run_phase(
    phase: Phase, states: list[_LayerState], dp: Datapath, lens: NDArray[np.int64] | None
) -> None:
    if phase.kind == PhaseKind.RECURRENT:
        for t in phase.step_order():
            for work in phase.works:
                st = states[work.layer]
                if isinstance(st.layer, FCLayer):
                    _fc_rows(st, dp, np.arange(st.layer.output_size), slice(t, t + 1))
                else:
                    mwl = any(a.array.kind == ArrayKind.PARTIAL_SUMS for a in work.reads)
                    _lstm_steps(st, dp, [(_direction(st.layer, work), t)], mwl, lens)
        return
    for st in {id(states[w.layer]): states[w.layer] for w in phase.works}.values():
        st.tile_start = 0
    for work in phase.works:
        st = states[work.layer]
        if isinstance(st.layer, FCLayer):
            rows = work.groups[0].rows
            local = np.arange(max(rows))
            idx = np.sort(np.concatenate([4 * (st.tile_start + local[: n]) + c
                                          for c, n in enumerate(rows)]))  # fmt: skip
            _fc_rows(st, dp, idx.astype(np.int64), slice(None))
        else:
            _input_tile(st, dp, _direction(st.layer, work), work.groups[0].rows[0])
        st.tile_start += max(work.groups[0].rows)


def _is_recurrence(phase: Phase) -> bool:
    return phase.kind == PhaseKind.RECURRENT and len(phase.works) == 1


def _co_executed(phases: tuple[Phase, ...]) -> list[tuple[Phase, ...]]:
    """The phases in execution groups: a bidirectional layer's two recurrences are
    independent, so they run together (one Python step for both directions; the
    values are those of the schedule's order). Under MWL, the backward input phase
    moves before the forward recurrence, which does not read it."""
    out: list[tuple[Phase, ...]] = []
    k = 0
    while k < len(phases):
        a = phases[k : k + 4]
        layer = a[0].works[0].layer
        same = all(len(p.works) == 1 and p.works[0].layer == layer for p in a)
        if (
            same
            and len(a) >= 2
            and all(_is_recurrence(p) for p in a[:2])
            and (a[0].works[0].direction != a[1].works[0].direction)
        ):
            out.append((a[0], a[1]))
            k += 2
        elif same and len(a) == 4 and [p.kind for p in a] == [
            PhaseKind.INPUT, PhaseKind.RECURRENT, PhaseKind.INPUT, PhaseKind.RECURRENT
        ] and a[1].works[0].direction != a[3].works[0].direction:  # fmt: skip
            out += [(a[0],), (a[2],), (a[1], a[3])]
            k += 4
        else:
            out.append((a[0],))
            k += 1
    return out


def _run_both_directions(
    pair: tuple[Phase, ...],
    states: list[_LayerState],
    dp: Datapath,
    lens: NDArray[np.int64] | None,
) -> None:
    first, second = pair
    st = states[first.works[0].layer]
    assert isinstance(st.layer, LSTMLayer)
    mwl = any(a.array.kind == ArrayKind.PARTIAL_SUMS for a in first.works[0].reads)
    d0, d1 = (_direction(st.layer, p.works[0]) for p in pair)
    for t0, t1 in zip(first.step_order(), second.step_order(), strict=True):
        _lstm_steps(st, dp, [(d0, t0), (d1, t1)], mwl, lens)


def _x(st: _LayerState, dp: Datapath, steps: slice | int) -> F64:
    """The layer's input ``[x_below, x_external]`` as its input buffers hold it."""
    x = st.below[steps]
    if st.external is not None:
        x = np.concatenate([x, st.external[steps]], axis=-1)
    return dp.store(x, st.act_scale)


def _input_tile(st: _LayerState, dp: Datapath, d: int, rows: int) -> None:
    """MWL phase A for one tile: W x_t + b for every step, into the partial sums."""
    assert isinstance(st.layer, LSTMLayer)
    h = st.layer.hidden_size
    idx = np.concatenate([g * h + st.tile_start + np.arange(rows) for g in range(4)])
    ops = st.ops[d]
    w, b = ops["w"], ops["b"]
    assert isinstance(w, Operand) and b is not None and not isinstance(b, Operand)
    z = dp.dot(w.rows(idx), _x(st, dp, slice(None)), bias=b[idx],
               v_scale=st.act_scale)  # fmt: skip
    st.psum[d][:, :, idx] = dp.rnd_psum(z)


def _fc_rows(st: _LayerState, dp: Datapath, idx: NDArray[np.int64], steps: slice) -> None:
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


def _lstm_steps(
    st: _LayerState,
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


def _dpu(st: _LayerState, dp: Datapath, d: int, t: int, mwl: bool) -> F64:
    """The gate pre-activations ``[B, 4H]`` of direction ``d`` at step ``t``."""
    ops = st.ops[d]
    wu, u, b = ops["wu"], ops["u"], ops["b"]
    assert isinstance(wu, Operand) and isinstance(u, Operand)
    if mwl:
        return dp.dot(u, st.h[d], psum=st.psum[d][t], v_scale=st.act_scale)
    assert b is not None and not isinstance(b, Operand)
    v = np.concatenate([_x(st, dp, t), st.h[d]], axis=-1)
    return dp.dot(wu, v, bias=b, v_scale=st.act_scale)


def _finish(
    st: _LayerState,
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
