"""A roofline model of the NVIDIA Tegra X1 running an LSTM network at batch 1.

**Superseded** by ``epur.baselines.tegra_cudnn`` (``evaluate_tegra`` with a scenario of
``tegra_scenarios()``): this model re-reads ``[W U]`` at every step, which is not how cuDNN
runs an LSTM. Kept only until its callers (``epur.report``) move; then delete it.

**Modelled, never measured.** Every step of every layer direction is a
matrix-vector product: its time is the larger of its arithmetic at peak
throughput and its memory traffic at peak bandwidth; weights that exceed the GPU's
last-level cache are re-read from DRAM at every step (they cannot stay on chip
across steps). Energy is board power under load x time. Peak rates make this a
*lower bound* on the Tegra's latency, so speedups against it are conservative.

Constants (full references in ``docs/sources.md``, **NVIDIA Tegra X1**):

* 1 TFLOPS FP16 peak: NVIDIA Tegra X1 / Jetson TX1 specification [read].
* LPDDR4-3200 x64, 25.6 GB/s: Tegra X1 specification [read].
* 10 W: the Tegra X1 power envelope [read] (Jetson TX1 module 10-15 W [recalled]).
* 256 KiB GPU L2 cache: [assumed, recalled from the Maxwell GM20B configuration].
* FP16 weights and activations (2 bytes), as E-PUR's paper preset.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.workload.network import LSTMLayer, Network

__all__ = ["TEGRA_X1", "PlatformResult", "RooflinePlatform", "roofline"]


@dataclass(frozen=True, slots=True)
class RooflinePlatform:
    name: str
    peak_flops: float  # FLOP/s at the modelled precision
    bandwidth_bytes_per_s: float
    power_w: float
    cache_bytes: int
    bytes_per_value: int
    source: str


TEGRA_X1 = RooflinePlatform(
    name="tegra_x1",
    peak_flops=1.0e12,
    bandwidth_bytes_per_s=25.6e9,
    power_w=10.0,
    cache_bytes=256 * 1024,
    bytes_per_value=2,
    source="NVIDIA Tegra X1 whitepaper: 1 TFLOPS FP16, LPDDR4-3200 x64 25.6 GB/s, 10 W",
)


@dataclass(frozen=True, slots=True)
class PlatformResult:
    platform: str
    latency_s: float
    energy_j: float
    dram_bytes: int
    modelled: bool = True


def _step(
    platform: RooflinePlatform, macs: int, weight_values: int, io_values: int, first: bool
) -> tuple[float, int]:
    """Time and DRAM bytes of one layer direction's step."""
    weights = weight_values * platform.bytes_per_value
    resident = weights <= platform.cache_bytes and not first
    traffic = (0 if resident else weights) + io_values * platform.bytes_per_value
    time = max(2 * macs / platform.peak_flops, traffic / platform.bandwidth_bytes_per_s)
    return time, traffic


def roofline(network: Network, platform: RooflinePlatform = TEGRA_X1) -> PlatformResult:
    """Latency and energy of one inference of ``network`` (batch as given) on ``platform``."""
    time = 0.0
    traffic = 0
    for stack, layer in network.layers():
        dirs = layer.directions if isinstance(layer, LSTMLayer) else 1
        per_dir_macs = layer.macs_per_step() // dirs
        per_dir_weights = layer.parameter_count() // dirs
        io = layer.input_size + layer.output_size // dirs
        for t in range(min(stack.seq_len, 2)):  # the first step differs; the rest repeat
            step_time, step_bytes = _step(platform, per_dir_macs * network.batch,
                                          per_dir_weights, io * network.batch, t == 0)  # fmt: skip
            repeat = 1 if t == 0 else stack.seq_len - 1
            time += dirs * repeat * step_time
            traffic += dirs * repeat * step_bytes
    return PlatformResult(platform.name, time, time * platform.power_w, traffic)
