"""The NVIDIA Tegra X1 running an LSTM network as cuDNN runs it (batch as given).

**Modelled, never measured.** The structure is cuDNN 5's (**Appleyard et al., 2016**):

* per layer and direction, the input product ``W x_t`` of every step is one GEMM over the
  whole sequence (``W`` read once from DRAM), then at every step the recurrent GEMV
  ``U r_{t-1}`` (with an LSTMP projection, ``W_r h_t`` too) and one point-wise kernel;
* the recurrent weights stay on chip across steps only when they fit in the GPU's L2
  (``onchip_bytes``); otherwise they are re-read from DRAM at every step;
* an autoregressive stack cannot hoist the input GEMM: each step of each layer is a GEMV
  of ``[W U]``, and its weights stay on chip only if the whole stack's weights fit (the
  stack cycles through all its layers at every step);
* a fully-connected layer is a GEMM over the sequence (a GEMV per step when autoregressive).

Every kernel takes ``max(flops / (peak_flops x flops_fraction), bytes / (bandwidth x
bandwidth_fraction))``; the point-wise kernel is pure traffic at the GEMV's bandwidth
fraction; every per-step kernel pair also pays ``step_fixed_s`` (launches and
synchronisation). Energy = board power under load x latency, as the paper measured the
board. Parameters, their sources and status are in ``TegraConfig.sources``; the named
scenarios are ``tegra_scenarios()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from epur.errors import ConfigError
from epur.units import KIB
from epur.workload.network import FCLayer, Layer, LSTMLayer, Network, Stack
from epur.workload.zoo import zoo_network

__all__ = [
    "DEFAULT_SCENARIO",
    "DRAM_BANDWIDTH_BYTES_PER_S",
    "FITTED",
    "ONCHIP_BYTES",
    "PAPER_REAL_TIME_MISSES",
    "PEAK_FP16_FLOPS",
    "PEAK_FP32_FLOPS",
    "POWER_UNDER_LOAD_W",
    "SCENARIOS",
    "STEP_FIXED_S",
    "TX1_MAX_POWER_W",
    "LayerCost",
    "PlatformRates",
    "Source",
    "TegraConfig",
    "TegraResult",
    "bytes_per_value",
    "calibrate_step_fixed_s",
    "evaluate_tegra",
    "kernel_time_s",
    "lstm_step_work",
    "tegra_scenarios",
]

# --- constants, each with its source (full references in docs/sources.md) ---------------
PEAK_FP16_FLOPS = 1.0e12
"""1 TFLOPS FP16 [published: **NVIDIA Tegra X1** whitepaper]."""
PEAK_FP32_FLOPS = 0.5e12
"""Half the FP16 rate: Maxwell GM20B runs two FP16 operations per FP32 lane [published:
**NVIDIA Tegra X1**]."""
DRAM_BANDWIDTH_BYTES_PER_S = 25.6e9
"""LPDDR4-3200 x64 [published: **NVIDIA Tegra X1**; **JEDEC JESD209-4**]."""
ONCHIP_BYTES = 256 * KIB
"""The GPU's 256 KiB L2, the only storage that keeps weights across kernel launches
(register files and shared memory do not survive a launch) [published: the GM20B L2 of
**NVIDIA Tegra X1**'s specification]."""
STEP_FIXED_S = 10e-6
"""Launch + synchronisation per recurrent step: two kernel launches (GEMV and point-wise,
**Appleyard et al., 2016**) at about 5 us each [assumed: no TX1 measurement found]."""
POWER_UNDER_LOAD_W = 5.7
"""GoogLeNet at 258 images/s and 45 images/s/W [published: **NVIDIA GPU inference
whitepaper, 2015**] = 5.7 W under a sustained GPU load [derived]; 4-10 W is the plausible
range [assumed]."""
FITTED: Mapping[str, float] = {
    "gemm_bandwidth_fraction": 0.387,
    "gemm_flops_fraction": 0.75,
    "gemv_bandwidth_fraction": 0.408,
    "gemv_flops_fraction": 0.734,
}
"""Achieved fractions of peak, fitted to the measured TX1 kernels (**DeepBench PR 17**,
FP32, cuDNN 5.0.5) by ``epur.baselines.tegra_fit.fit_efficiencies`` (3 significant
digits); ``benchmarks/fit_tegra.py`` reproduces them and prints the residuals."""
PAPER_REAL_TIME_MISSES = ("eesen", "rldradspr")
"""The zoo networks on which the paper says the Tegra X1 is not real time (**Silfa et al.,
PACT 2018**, introduction)."""
SCENARIOS = ("floor", "cudnn_measured", "paper_calibrated")
DEFAULT_SCENARIO = "cudnn_measured"
"""The scenario a summary should use: every value published, fitted to measured TX1
kernels, or a small assumed launch cost; it does not borrow the paper's claims."""

Status = Literal["published", "derived", "fitted", "assumed", "calibrated", "measured"]
Precision = Literal["fp16", "fp32"]
_PARAMETERS = (
    "precision",
    "peak_fp16_flops",
    "peak_fp32_flops",
    "dram_bandwidth_bytes_per_s",
    "onchip_bytes",
    "gemm_bandwidth_fraction",
    "gemm_flops_fraction",
    "gemv_bandwidth_fraction",
    "gemv_flops_fraction",
    "step_fixed_s",
    "power_w",
)
_STRICT = ConfigDict(frozen=True, extra="forbid")


class Source(BaseModel):
    """Where one parameter's value comes from."""

    model_config = _STRICT
    status: Status
    source: str = Field(min_length=1)


_Fraction = Field(gt=0.0, le=1.0)


TX1_MAX_POWER_W = 15.0
"""The Tegra X1's thermal ceiling: a ``tegra_x1`` config's power must not exceed it."""


class PlatformRates(BaseModel):
    """What the cuDNN-style model needs of a device besides its power: peaks, the
    fractions of them its kernels reach, on-chip bytes and the fixed cost of a step (the
    fields of ``TegraConfig`` and of a measured platform file)."""

    model_config = _STRICT
    precision: Precision
    peak_fp16_flops: float = Field(gt=0.0, allow_inf_nan=False)
    peak_fp32_flops: float = Field(gt=0.0, allow_inf_nan=False)
    dram_bandwidth_bytes_per_s: float = Field(gt=0.0, allow_inf_nan=False)
    onchip_bytes: int = Field(ge=0)
    gemm_bandwidth_fraction: float = _Fraction
    gemm_flops_fraction: float = _Fraction
    gemv_bandwidth_fraction: float = _Fraction
    gemv_flops_fraction: float = _Fraction
    step_fixed_s: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)


class TegraConfig(PlatformRates):
    """One Tegra X1 as the model sees it; every parameter validated, each with its source.

    ``platform`` names the device: ``tegra_x1`` for the paper's scenarios, or a measured
    device (``epur baseline --platform-out``, ``epur.baselines.measure_platform``) that the
    same cuDNN-style structure models with its own peaks, fractions and fixed cost.
    """

    model_config = _STRICT
    scenario: str = Field(min_length=1)
    platform: str = Field(default="tegra_x1", min_length=1)
    power_w: float = Field(gt=0.0, allow_inf_nan=False, description="board power under load")
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _every_parameter_sourced(self) -> TegraConfig:
        if self.platform == "tegra_x1" and self.power_w > TX1_MAX_POWER_W:
            raise ValueError(
                f"power_w must be at most {TX1_MAX_POWER_W:g} W (the TX1's thermal ceiling), "
                f"not {self.power_w!r}"
            )
        missing = sorted(set(_PARAMETERS) - set(self.sources))
        extra = sorted(set(self.sources) - set(_PARAMETERS))
        if missing or extra:
            raise ValueError(
                f"sources must name every parameter: missing {missing}, unknown {extra}"
            )
        return self

    @property
    def bytes_per_value(self) -> int:
        return bytes_per_value(self.precision)

    @property
    def peak_flops(self) -> float:
        return self.peak_fp16_flops if self.precision == "fp16" else self.peak_fp32_flops

    def replace(self, **changes: object) -> TegraConfig:
        """A validated copy with ``changes`` (a ``ConfigError`` if one is out of range)."""
        try:
            return TegraConfig.model_validate(self.model_dump() | changes)
        except ValueError as exc:
            what = "Tegra X1" if self.platform == "tegra_x1" else self.platform
            raise ConfigError(f"{what} config: {exc}") from None


def bytes_per_value(precision: Precision) -> int:
    return 2 if precision == "fp16" else 4


def kernel_time_s(
    flops: float,
    nbytes: float,
    peak_flops: float,
    bandwidth: float,
    flops_fraction: float,
    bandwidth_fraction: float,
) -> float:
    """One kernel: the larger of its arithmetic and its DRAM traffic at the achieved rates."""
    return max(flops / (peak_flops * flops_fraction), nbytes / (bandwidth * bandwidth_fraction))


@dataclass(frozen=True, slots=True)
class StepWork:
    """One recurrent step of one LSTM direction, in values (times bytes per value = bytes)."""

    gemv_flops: int
    weights: int  # values the GEMV reads unless they stay on chip
    activations: int  # GEMV vectors in and out
    pointwise: int  # point-wise kernel's reads and writes


def lstm_step_work(layer: LSTMLayer, batch: int, hoisted: bool) -> StepWork:
    """Work of one step of one direction of ``layer``.

    Hoisted (cuDNN's normal case): GEMV ``U r_{t-1}`` (+ ``W_r h_t``) reading ``r_{t-1}`` and
    writing ``4H`` pre-activations. Not hoisted (autoregressive): GEMV of ``[W U]`` and the
    bias, reading ``x_t`` too. Point-wise: reads both pre-activations (one when not hoisted),
    ``c_{t-1}`` and the peepholes, writes ``c_t`` and ``h_t``.
    """
    h, r, i = layer.hidden_size, layer.recurrent_size, layer.input_size
    g = 4 * h
    proj = h * layer.projection_size if layer.projection_size is not None else 0
    if hoisted:
        flops = 2 * batch * (g * r + proj)
        weights = g * r + proj
        activations = batch * (r + g)
        preacts = 2 * g
    else:
        flops = 2 * batch * (g * (i + r) + proj)
        weights = g * (i + r) + g + proj
        activations = batch * (i + r + g)
        preacts = g
    pointwise = batch * (preacts + 3 * h) + (3 * h if layer.peepholes else 0)
    return StepWork(flops, weights, activations, pointwise)


@dataclass(frozen=True, slots=True)
class LayerCost:
    """One layer's share of an inference (all its directions)."""

    stack: str
    layer: str
    gemm_s: float  # the hoisted input GEMM (0 when autoregressive)
    steps_s: float  # the per-step GEMVs and point-wise kernels, without fixed costs
    fixed_s: float  # step_fixed_s x fixed_steps
    fixed_steps: int  # per-step kernel pairs (steps x directions)
    dram_bytes: int
    flops: int

    @property
    def latency_s(self) -> float:
        return self.gemm_s + self.steps_s + self.fixed_s


@dataclass(frozen=True, slots=True)
class TegraResult:
    """One inference on the modelled Tegra X1 (the attributes ``PlatformResult`` had, and more)."""

    platform: str
    scenario: str
    latency_s: float
    energy_j: float
    dram_bytes: int
    flops: int
    power_w: float
    real_time_factor: float | None  # latency / input duration; None without a frame rate
    bandwidth_bound_s: float  # dram_bytes / peak bandwidth: no schedule of this traffic is faster
    compute_bound_s: float  # flops / peak flops
    fixed_steps: int
    layers: tuple[LayerCost, ...]
    modelled: bool = True

    @property
    def floor_s(self) -> float:
        """The structure's lower bound: its traffic at peak bandwidth or its arithmetic at peak."""
        return max(self.bandwidth_bound_s, self.compute_bound_s)


def _layer_name(stack: Stack, k: int, layer: Layer) -> str:
    return layer.name or f"{stack.name}[{k}]"


def _gemm(cfg: TegraConfig, rows: int, cols: int, columns: int) -> tuple[float, int, int]:
    """``rows x cols`` weights (+ ``rows`` biases) times ``columns`` input vectors."""
    b = cfg.bytes_per_value
    flops = 2 * rows * cols * columns
    nbytes = b * (rows * cols + rows + columns * (cols + rows))
    time = kernel_time_s(flops, nbytes, cfg.peak_flops, cfg.dram_bandwidth_bytes_per_s,
                         cfg.gemm_flops_fraction, cfg.gemm_bandwidth_fraction)  # fmt: skip
    return time, nbytes, flops


def _step(cfg: TegraConfig, flops: int, nbytes: int, pointwise_bytes: int) -> float:
    """A GEMV and its point-wise kernel, without the fixed cost."""
    bw = cfg.dram_bandwidth_bytes_per_s * cfg.gemv_bandwidth_fraction
    gemv = kernel_time_s(flops, nbytes, cfg.peak_flops, cfg.dram_bandwidth_bytes_per_s,
                         cfg.gemv_flops_fraction, cfg.gemv_bandwidth_fraction)  # fmt: skip
    return gemv + pointwise_bytes / bw


def _stepped(cfg: TegraConfig, work: StepWork, steps: int, resident: bool) -> tuple[float, int]:
    """``steps`` steps; the weights are read at the first and, unless resident, every step."""
    b = cfg.bytes_per_value
    first = b * (work.weights + work.activations)
    rest = b * ((0 if resident else work.weights) + work.activations)
    pw = b * work.pointwise
    time = _step(cfg, work.gemv_flops, first, pw) + (steps - 1) * _step(
        cfg, work.gemv_flops, rest, pw
    )
    return time, first + (steps - 1) * rest + steps * pw


def _fc_work(layer: FCLayer, batch: int) -> StepWork:
    o, i = layer.output_size, layer.input_size
    return StepWork(2 * batch * o * i, o * i + o, batch * (i + o), 0)


def _hoisted_layer(cfg: TegraConfig, stack: Stack, k: int, layer: Layer, batch: int) -> LayerCost:
    t = stack.seq_len
    name = _layer_name(stack, k, layer)
    if isinstance(layer, FCLayer):
        time, nbytes, flops = _gemm(cfg, layer.output_size, layer.input_size, batch * t)
        return LayerCost(stack.name, name, time, 0.0, 0.0, 0, nbytes, flops)
    d = layer.directions
    gemm_s, gemm_bytes, gemm_flops = _gemm(cfg, 4 * layer.hidden_size, layer.input_size, batch * t)
    work = lstm_step_work(layer, batch, hoisted=True)
    resident = work.weights * cfg.bytes_per_value <= cfg.onchip_bytes
    steps_s, steps_bytes = _stepped(cfg, work, t, resident)
    return LayerCost(
        stack.name, name, d * gemm_s, d * steps_s, d * t * cfg.step_fixed_s, d * t,
        d * (gemm_bytes + steps_bytes), d * (gemm_flops + t * work.gemv_flops),
    )  # fmt: skip


def _autoregressive_stack(cfg: TegraConfig, stack: Stack, batch: int) -> list[LayerCost]:
    works: list[tuple[int, StepWork]] = []
    for layer in stack.layers:
        if isinstance(layer, FCLayer):
            works.append((1, _fc_work(layer, batch)))
        else:
            works.append((layer.directions, lstm_step_work(layer, batch, hoisted=False)))
    total_weights = sum(d * w.weights for d, w in works)
    resident = total_weights * cfg.bytes_per_value <= cfg.onchip_bytes
    out = []
    t = stack.seq_len
    for k, (layer, (d, work)) in enumerate(zip(stack.layers, works, strict=True)):
        steps_s, nbytes = _stepped(cfg, work, t, resident)
        out.append(LayerCost(stack.name, _layer_name(stack, k, layer), 0.0, d * steps_s,
                             d * t * cfg.step_fixed_s, d * t, d * nbytes,
                             d * t * work.gemv_flops))  # fmt: skip
    return out


def evaluate_tegra(network: Network, config: TegraConfig) -> TegraResult:
    """Latency, energy and traffic of one inference of ``network`` on the Tegra X1 ``config``."""
    layers: list[LayerCost] = []
    for stack in network.stacks:
        if stack.autoregressive:
            layers += _autoregressive_stack(config, stack, network.batch)
        else:
            layers += [_hoisted_layer(config, stack, k, layer, network.batch)
                       for k, layer in enumerate(stack.layers)]  # fmt: skip
    latency = sum(c.latency_s for c in layers)
    nbytes = sum(c.dram_bytes for c in layers)
    flops = sum(c.flops for c in layers)
    duration = network.sequence_duration_s
    rtf = None if duration is None else latency / duration
    return TegraResult(
        platform=config.platform, scenario=config.scenario, latency_s=latency,
        energy_j=config.power_w * latency, dram_bytes=nbytes, flops=flops,
        power_w=config.power_w, real_time_factor=rtf,
        bandwidth_bound_s=nbytes / config.dram_bandwidth_bytes_per_s,
        compute_bound_s=flops / config.peak_flops,
        fixed_steps=sum(c.fixed_steps for c in layers), layers=tuple(layers),
    )  # fmt: skip


def calibrate_step_fixed_s(base: TegraConfig, networks: Mapping[str, Network]) -> float:
    """The smallest ``step_fixed_s`` with which ``base`` misses real time (RTF >= 1) on every
    network in ``networks`` (each must have a frame rate): latency is linear in the fixed
    cost, ``L0 + c x fixed_steps``, so ``c = max((duration - L0) / fixed_steps, 0)``."""
    zero = base.replace(step_fixed_s=0.0)
    needed = 0.0
    for key, net in networks.items():
        duration = net.sequence_duration_s
        if duration is None:
            raise ConfigError(f"{key} has no frame rate: real time is undefined")
        r = evaluate_tegra(net, zero)
        if r.fixed_steps:
            needed = max(needed, (duration - r.latency_s) / r.fixed_steps)
    # the closed form can land one rounding short of RTF 1: step up to the first float that holds
    while any((evaluate_tegra(n, base.replace(step_fixed_s=needed)).real_time_factor or 0.0) < 1
              for n in networks.values()):  # fmt: skip
        needed = math.nextafter(needed, math.inf)
    return needed


def _sources(**overrides: Source) -> dict[str, Source]:
    pub = "published"
    out = {
        "peak_fp16_flops": Source(status=pub, source="NVIDIA Tegra X1: 1 TFLOPS FP16"),
        "peak_fp32_flops": Source(status=pub, source="NVIDIA Tegra X1: half the FP16 rate"),
        "dram_bandwidth_bytes_per_s": Source(
            status=pub, source="NVIDIA Tegra X1; JEDEC JESD209-4: LPDDR4-3200 x64"
        ),
        "onchip_bytes": Source(status=pub, source="NVIDIA Tegra X1: the GM20B's 256 KiB L2"),
        "power_w": Source(
            status="derived",
            source="NVIDIA GPU inference whitepaper, 2015: 258 images/s at 45 images/s/W",
        ),
    }
    return out | overrides


def _fitted_sources() -> dict[str, Source]:
    fit = Source(status="fitted", source="DeepBench PR 17 (TX1, cuDNN 5.0.5, FP32): tegra_fit")
    return {k: fit for k in FITTED} | {
        "precision": Source(
            status="assumed", source="FP32, as the measured kernels; 2017 frameworks often ran FP32"
        ),
    }


@cache
def _scenarios() -> tuple[TegraConfig, ...]:
    peak = Source(status="assumed", source="the floor: peak rate (1.0), a lower bound")
    floor = TegraConfig(
        scenario="floor", precision="fp16", peak_fp16_flops=PEAK_FP16_FLOPS,
        peak_fp32_flops=PEAK_FP32_FLOPS, dram_bandwidth_bytes_per_s=DRAM_BANDWIDTH_BYTES_PER_S,
        onchip_bytes=ONCHIP_BYTES, gemm_bandwidth_fraction=1.0, gemm_flops_fraction=1.0,
        gemv_bandwidth_fraction=1.0, gemv_flops_fraction=1.0, step_fixed_s=0.0,
        power_w=POWER_UNDER_LOAD_W,
        sources=_sources(
            precision=Source(status="assumed", source="FP16: half FP32's bytes, the floor"),
            step_fixed_s=Source(status="assumed", source="the floor: no fixed cost"),
            **{k: peak for k in FITTED},
        ),
    )  # fmt: skip
    measured = floor.replace(
        scenario="cudnn_measured", precision="fp32", step_fixed_s=STEP_FIXED_S, **FITTED,
        sources=_sources(
            step_fixed_s=Source(status="assumed", source="two kernel launches of about 5 us"),
            **_fitted_sources(),
        ),
    )  # fmt: skip
    nets = {key: zoo_network(key) for key in PAPER_REAL_TIME_MISSES}
    calibrated = measured.replace(
        scenario="paper_calibrated",
        step_fixed_s=calibrate_step_fixed_s(measured, nets),
        sources=_sources(
            step_fixed_s=Source(
                status="calibrated",
                source="Silfa et al., PACT 2018: the smallest cost with which the TX1 misses "
                "real time on EESEN and RLDRADSPR (calibrate_step_fixed_s)",
            ),
            **_fitted_sources(),
        ),
    )
    return floor, measured, calibrated


def tegra_scenarios() -> dict[str, TegraConfig]:
    """The named scenarios: ``floor``, ``cudnn_measured``, ``paper_calibrated``."""
    return {c.scenario: c for c in _scenarios()}
