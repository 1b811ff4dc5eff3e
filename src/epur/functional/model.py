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
accumulators have guard bits) with a partial-sum format that holds the accumulator's
values. int8 with fixed scales is not: its cell states can differ by an fp32 unit (and
so, rarely, an output code), since MWL adds the dequantised recurrent sum, rounded, to
the partial sum, while the baseline dequantises the whole sum once
(``docs/datapath.md``). The tests check these statements.

int8 uses per-tensor symmetric scales: one per weight matrix of a layer direction
(``[W U]``; the projection and FC weights their own) and one per layer for every
activation its input buffers hold (``x`` and ``h``), calibrated as ``max|v| / 127``
on the float64 reference run of the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig
from epur.errors import ConfigError
from epur.functional import _integer, _recurrence
from epur.functional._phases import Executor, co_executed
from epur.functional._steps import LayerState, StepHook, load, peak
from epur.functional.prepared import PreparedWeights, datapath_of, prepare_weights
from epur.functional.reference import LayerResult, layer_name, reference_run
from epur.schedule import Dataflow, build_schedule
from epur.workload.network import FCLayer, Layer, LSTMLayer, Network, Stack
from epur.workload.weights import NetworkWeights

__all__ = [
    "PreparedWeights", "RunResult", "prepare_weights", "progress_line", "run_network",
    "sized_to_inputs",
]  # fmt: skip

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


def run_network(
    network: Network,
    weights: NetworkWeights | PreparedWeights,
    inputs: Mapping[str, F64],
    arch: ArchConfig,
    dataflow: Dataflow | str = Dataflow.BASELINE,
    *,
    seq_lens: NDArray[np.int64] | None = None,
    initial: Mapping[int, tuple[F64 | None, F64 | None]] | None = None,
    keep_layers: bool = False,
    tile_rows: int | None = None,
    progress: Callable[[str], None] | None = None,
    compiled: bool = True,
    threads: int | None = None,
    reference: Sequence[LayerResult] | None = None,
    on_steps: StepHook | None = None,
) -> RunResult:
    """Run ``network`` on ``inputs`` in ``arch``'s number formats, in ``dataflow`` order.

    ``weights``: the network's weights, or ``prepare_weights(network, weights, arch)``'s
    (quantised once for many runs: the same bits, without the passes over the weights).

    ``inputs`` maps each stack's name to its input ``[T, B, I]`` (and
    ``"<layer>.external_in"`` to a layer's extra features); ``seq_lens [B]`` ends
    sequences early (ONNX semantics); ``initial`` maps a layer index to its ``(h0 [dirs,
    B, R], c0 [dirs, B, H])``; ``tile_rows`` sets MWL's tile size. ``progress`` is
    called with ``progress_line(...)`` once for each layer, when the schedule first
    reaches it (the layers of an autoregressive stack start together).
    ``compiled=False`` computes every recurrent step with numpy (``lstm_steps``) where a
    whole recurrence would run in one compiled call (``_recurrence``), and MWL's input
    phase with ``Datapath.dot``: the definition, whose bits the tests compare with.
    ``threads``: at most this many threads (default 2) run a bidirectional layer's two
    directions, an input phase's jobs and the layers' weight quantisation; the bits do
    not depend on it.
    ``reference``: ``reference_run(network, weights, inputs)`` when the caller has it
    (int8 calibrates its activation scales on it; else it is computed). ``on_steps`` is
    told, from any thread, how many recurrent steps (one time step of one direction)
    were just done, every few hundred steps.
    """
    workers = 2 if threads is None else threads
    prepared = _prepared(network, weights, arch, workers)
    network = sized_to_inputs(network, inputs)
    schedule = build_schedule(network, arch, dataflow, tile_rows)
    dp = prepared.datapath
    whole = compiled and (_recurrence.fits(dp) or _integer.fits(dp))
    raw = prepared.weights
    scales = _int8_scales(network, raw, inputs, reference) if dp.is_int8 else {}
    states = _states(network, prepared, inputs, scales, initial or {})
    lens = None if seq_lens is None else np.asarray(seq_lens, dtype=np.int64)
    layers = [layer for _, layer in network.layers()]
    started: set[int] = set()
    with ThreadPoolExecutor(min(workers, 2), thread_name_prefix="epur-recurrence") as pool:
        run = Executor(states, dp, lens, workers, pool, whole, on_steps)
        for group in co_executed(schedule.phases):
            if progress is not None:
                for k in sorted({w.layer for phase in group for w in phase.works} - started):
                    started.add(k)
                    progress(progress_line(k, len(layers), layers[k]))
            run.group(group)
    lstm = [s for s in states if isinstance(s.layer, LSTMLayer)]
    return RunResult(
        y=states[-1].y,
        h_n=[np.stack(s.h) for s in lstm],
        c_n=[np.stack(s.c) for s in lstm],
        layer_outputs=[s.y for s in states] if keep_layers else [],
    )


def _prepared(
    network: Network, weights: NetworkWeights | PreparedWeights, arch: ArchConfig, threads: int
) -> PreparedWeights:
    """``weights`` prepared for ``arch`` (``prepare_weights``), or checked to be so."""
    if isinstance(weights, NetworkWeights):
        return prepare_weights(network, weights, arch, threads=threads)
    same_layers = [x for _, x in weights.network.layers()] == [x for _, x in network.layers()]
    if not same_layers or weights.datapath != datapath_of(arch):
        raise ConfigError(
            "prepared weights were prepared for another network or another datapath "
            "(formats, lanes, activation): prepare_weights(network, weights, arch) again"
        )
    return weights


def progress_line(index: int, total: int, layer: Layer) -> str:
    """What a progress report says before a layer runs: ``layer 3/10 L3 (bidirectional
    LSTM 320)`` (0-based ``index``)."""
    if isinstance(layer, FCLayer):
        what = f"FC {layer.input_size}->{layer.output_size}"
    else:
        what = f"{'bidirectional ' * layer.bidirectional}LSTM {layer.hidden_size}"
        what += f", projection {layer.projection_size}" if layer.projection_size else ""
    return f"layer {index + 1}/{total} {layer_name(layer, index)} ({what})"


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
    network: Network,
    weights: NetworkWeights,
    inputs: Mapping[str, F64],
    reference: Sequence[LayerResult] | None,
) -> dict[int, float]:
    """Per layer: ``max|v| / 127`` over its input and recurrent values (float64 reference),
    over their finite values (a reference that overflowed calibrates on the rest); 1.0
    where that is zero (all-zero values, or a quotient that underflows)."""
    ref = reference_run(network, weights, inputs) if reference is None else reference
    scales: dict[int, float] = {}
    k = 0
    for stack in network.stacks:
        below = np.asarray(inputs[stack.name], dtype=np.float64)
        for layer in stack.layers:
            peak = _finite_peak(below)
            ext = inputs.get(f"{layer_name(layer, k)}.external_in")
            if ext is not None:
                peak = max(peak, _finite_peak(ext))
            for d in ref[k].directions:
                peak = max(peak, _finite_peak(d.y))
            scales[k] = peak / 127 or 1.0
            below = ref[k].y
            k += 1
    return scales


def _finite_peak(a: F64) -> float:
    """``max |a|`` over the finite values of ``a`` (0 if none), without an ``abs`` copy
    where every value is finite."""
    top = peak(a)  # NaN or inf if a holds one
    if np.isfinite(top):
        return top
    return float(np.abs(a[np.isfinite(a)]).max(initial=0.0))


def _states(
    network: Network,
    prepared: PreparedWeights,
    inputs: Mapping[str, F64],
    scales: Mapping[int, float],
    initial: Mapping[int, tuple[F64 | None, F64 | None]],
) -> list[LayerState]:
    states: list[LayerState] = []
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
            st = LayerState(layer, name, below_y, external, y, scales.get(k, 1.0))
            load(st, prepared.layers[k], prepared.datapath, b, initial.get(k, (None, None)))
            states.append(st)
            below_y = st.y
            k += 1
    return states
