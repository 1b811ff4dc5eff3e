"""The work of one sequence as a framework runs it, and the statistics of measured times.

Pure counting and arithmetic, no framework: what ``epur baseline`` divides its measured
times by (FLOPs, weight bytes, steps, per-step kernels), the median and interquartile
range of the repeats, and the two-length fit that gives the per-step fixed cost
(docs/baselines.md gives every definition).

Counts follow what PyTorch's ``nn.LSTM`` computes: per direction and step, the four gates'
``W x_t`` and ``U r_{t-1}`` products (``2 x 4H x (I + R)`` FLOPs) and, with a projection,
``W_r h_t`` (``2 x P x H``); a fully-connected layer ``2 x O x I``. Peepholes, which
``nn.LSTM`` does not have, are neither run nor counted (``3H`` of ``4H(I + R)`` MACs).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from epur.errors import ConfigError
from epur.workload.network import FCLayer, Layer, LSTMLayer, Network, Stack

__all__ = [
    "BYTES_PER_VALUE",
    "GemvShape",
    "NetworkWork",
    "StepFit",
    "TimeStats",
    "fit_steps",
    "gemv_shapes",
    "layer_flops_per_step",
    "layer_weight_values",
    "network_work",
    "shortened",
    "time_stats",
]

BYTES_PER_VALUE = {"fp32": 4, "fp16": 2, "bf16": 2}
"""Bytes of one weight in each measured dtype."""


def layer_flops_per_step(layer: Layer) -> int:
    """FLOPs of one time step of ``layer`` (all directions, one sequence): two per MAC."""
    if isinstance(layer, FCLayer):
        return 2 * layer.output_size * layer.input_size
    h, r = layer.hidden_size, layer.recurrent_size
    per_dir = 2 * 4 * h * (layer.input_size + r)
    if layer.projection_size is not None:
        per_dir += 2 * layer.projection_size * h
    return layer.directions * per_dir


def layer_weight_values(layer: Layer) -> int:
    """Weights a step of ``layer`` reads if nothing stays on chip: ``W``, ``U``, one bias
    per gate row and the projection, all directions (peepholes left out, as run)."""
    if isinstance(layer, FCLayer):
        return layer.output_size * (layer.input_size + 1)
    h, r = layer.hidden_size, layer.recurrent_size
    per_dir = 4 * h * (layer.input_size + r) + 4 * h
    if layer.projection_size is not None:
        per_dir += layer.projection_size * h
    return layer.directions * per_dir


@dataclass(frozen=True, slots=True)
class GemvShape:
    """One per-step matrix-vector product: ``rows x cols`` weights, ``count`` of them per
    time step of its stack (directions), ``steps`` time steps per sequence."""

    rows: int
    cols: int
    count: int
    steps: int

    @property
    def flops(self) -> int:
        """FLOPs of one product for one sequence."""
        return 2 * self.rows * self.cols


def gemv_shapes(network: Network) -> tuple[GemvShape, ...]:
    """The per-step products of ``network`` as cuDNN-style code runs them.

    A layer-by-layer stack hoists ``W x_t`` into one GEMM over the sequence: per step and
    direction, ``U [4H, R]`` (and ``W_r [P, H]``). An autoregressive stack cannot: per
    step, ``[W U] [4H, I + R]`` (and ``W_r``), and each fully-connected layer ``[O, I]``.
    (A hoisted stack's fully-connected layers are one GEMM over the sequence: no GEMV.)
    """
    out: list[GemvShape] = []
    for stack in network.stacks:
        for layer in stack.layers:
            out += _layer_gemvs(stack, layer)
    return tuple(out)


def _layer_gemvs(stack: Stack, layer: Layer) -> list[GemvShape]:
    t = stack.seq_len
    if isinstance(layer, FCLayer):
        fc = GemvShape(layer.output_size, layer.input_size, 1, t)
        return [fc] if stack.autoregressive else []
    h, r, d = layer.hidden_size, layer.recurrent_size, layer.directions
    cols = r + (layer.input_size if stack.autoregressive else 0)
    out = [GemvShape(4 * h, cols, d, t)]
    if layer.projection_size is not None:
        out.append(GemvShape(layer.projection_size, h, d, t))
    return out


@dataclass(frozen=True, slots=True)
class NetworkWork:
    """The work of one sequence of a network (batch 1), as ``nn.LSTM`` runs it."""

    steps: int  # time steps of all stacks, one after another
    flops: int  # per sequence
    weight_bytes: int  # sum over stacks of steps x the stack's weight bytes
    kernel_steps: int  # per-step kernel pairs (layer directions x steps; FC in decoders)

    @property
    def weight_bytes_per_step(self) -> int:
        """The average weight bytes of one step (the stack's weights, read once)."""
        return round(self.weight_bytes / self.steps)


def network_work(network: Network, dtype: str) -> NetworkWork:
    """Steps, FLOPs, weight bytes and per-step kernels of one sequence of ``network``."""
    if dtype not in BYTES_PER_VALUE:
        raise ConfigError(f"dtype must be one of {', '.join(BYTES_PER_VALUE)}, not {dtype!r}")
    b = BYTES_PER_VALUE[dtype]
    steps = flops = nbytes = kernels = 0
    for stack in network.stacks:
        t = stack.seq_len
        steps += t
        flops += t * sum(layer_flops_per_step(layer) for layer in stack.layers)
        nbytes += t * b * sum(layer_weight_values(layer) for layer in stack.layers)
        kernels += t * sum(_kernels(stack, layer) for layer in stack.layers)
    return NetworkWork(steps, flops, nbytes, kernels)


def _kernels(stack: Stack, layer: Layer) -> int:
    if isinstance(layer, LSTMLayer):
        return layer.directions
    return 1 if stack.autoregressive else 0


def shortened(network: Network) -> Network:
    """``network`` with every stack's ``seq_len`` halved (rounded up): the second length of
    the step fit. The same network when every stack has one step."""
    stacks = tuple(replace(s, seq_len=(s.seq_len + 1) // 2) for s in network.stacks)
    return replace(network, stacks=stacks)


@dataclass(frozen=True, slots=True)
class TimeStats:
    """Median, interquartile range, minimum and maximum of repeated times (seconds)."""

    median_s: float
    iqr_s: float
    min_s: float
    max_s: float


def time_stats(times_s: Sequence[float]) -> TimeStats:
    """The statistics of ``times_s`` (at least one). The IQR is the distance between the
    first and third quartiles (``statistics.quantiles``, inclusive method); 0 for one time."""
    if not times_s:
        raise ValueError("time_stats needs at least one time")
    if len(times_s) == 1:
        q1 = q3 = times_s[0]
    else:
        q1, _, q3 = statistics.quantiles(times_s, n=4, method="inclusive")
    return TimeStats(statistics.median(times_s), q3 - q1, min(times_s), max(times_s))


@dataclass(frozen=True, slots=True)
class StepFit:
    """``time = intercept_s + slope_s x steps`` through two measured lengths."""

    intercept_s: float  # per-sequence cost: input GEMMs, set-up
    slope_s: float  # one time step: its GEMVs, point-wise work and fixed cost


def fit_steps(steps_a: int, time_a_s: float, steps_b: int, time_b_s: float) -> StepFit | None:
    """The line through ``(steps_a, time_a_s)`` and ``(steps_b, time_b_s)``; ``None`` when
    the lengths are equal. The slope is clamped at 0 (a noisy shorter run can take longer)."""
    if steps_a == steps_b:
        return None
    slope = max((time_a_s - time_b_s) / (steps_a - steps_b), 0.0)
    return StepFit(time_a_s - slope * steps_a, slope)
