"""``measure_baseline``: one network measured with PyTorch on a CPU or a CUDA GPU.

The steps (docs/baselines.md): build the network in PyTorch (``measure_torch``); probe the
device's peaks (``measure_probe``); time ``repeats`` forward passes of ``batch``
sequences after ``warmup`` untimed ones, reading the energy counter around the timed
passes (``measure_energy``); time the network again with every stack's sequence halved
and fit ``time = a + b x steps`` through the two medians; time each per-step GEMV and each
input GEMM alone, whose rates over the peaks are the platform's fractions; the fixed
cost per step is the fitted step time less the per-step kernels at those fractions
(``measure_platform.fit_fixed_cost``). The result is the ``epur-baseline/1`` record
(``MeasuredBaseline``) and the ``epur-platform/1`` file (``PlatformFile``) built from the
same numbers.

Per sequence: ``latency_s`` = median pass time / batch; ``energy_j`` = counter energy
over the timed passes / (repeats x batch). Achieved weight bandwidth = the sequence's
weight bytes (each step reading its stack's weights once) / median pass time; achieved
FLOPS = FLOPs of the batch / median pass time.
"""

from __future__ import annotations

import platform as python_platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from epur.baselines.measure_energy import EnergyCounter, nvml_counter, rapl_counter
from epur.baselines.measure_platform import PlatformFile, fit_fixed_cost
from epur.baselines.measure_probe import describe_device, kernel_s, probe_peaks, time_calls
from epur.baselines.measure_torch import DTYPES, build, load_torch, torch_device
from epur.baselines.measure_work import (
    fit_steps,
    gemv_shapes,
    network_work,
    shortened,
    time_stats,
)
from epur.baselines.measured import DeviceInfo, MeasuredBaseline
from epur.baselines.tegra_cudnn import Source
from epur.workload.network import FCLayer, Network
from epur.workload.weights import NetworkWeights

__all__ = ["GEMM_COLUMNS", "Measurement", "Options", "measure_baseline"]

GEMM_COLUMNS = 4096
"""Input GEMMs are timed on at most this many input vectors: their rate, not their time,
is what the platform file needs, and a whole sequence at batch 64 would take minutes."""


@dataclass(frozen=True, slots=True)
class Options:
    """How to measure: the device, dtype, batch and how many passes."""

    device: Literal["cpu", "cuda"] = "cpu"
    dtype: Literal["fp32", "fp16", "bf16"] = "fp32"
    batch: int = 1
    repeats: int = 10
    warmup: int = 2
    seed: int = 0
    threads: int | None = None  # PyTorch's CPU threads; None: PyTorch's default
    epur_version: str = "unknown"


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measured baseline and the platform file from the same numbers."""

    baseline: MeasuredBaseline
    platform: PlatformFile


Progress = Callable[[str], None]


def measure_baseline(
    network: Network, weights: NetworkWeights | None, source: Literal["zoo", "onnx", "torch"],
    options: Options, progress: Progress | None = None,
) -> Measurement:  # fmt: skip
    """Measure ``network`` (its batch replaced by ``options.batch``) with PyTorch.

    ``options.threads`` sets PyTorch's CPU threads for the measurement (restored after).
    """
    torch = load_torch()
    threads = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    try:
        return _measure(torch, network, weights, source, options, progress)
    finally:
        torch.set_num_threads(threads)


def _measure(
    torch: Any, network: Network, weights: NetworkWeights | None,
    source: Literal["zoo", "onnx", "torch"], options: Options, progress: Progress | None,
) -> Measurement:  # fmt: skip
    say = progress or (lambda _: None)
    device = torch_device(torch, options.device, options.dtype)
    tdtype = getattr(torch, DTYPES[options.dtype])
    net = Network(network.name, network.stacks, options.batch, network.frame_period_s,
                  network.description, network.provenance)  # fmt: skip
    handle, nvml, counter = _energy_counter(torch, device)
    say(f"probing the peaks of {options.device}")
    peaks = probe_peaks(torch, device, tdtype, handle, nvml)
    facts = describe_device(torch, device, handle, nvml)
    say(f"{net.name}: {options.warmup} warm-up and {options.repeats} timed passes of "
        f"{options.batch} sequence(s)")  # fmt: skip
    model = build(torch, net, weights, device, options.dtype, options.seed)
    before = counter.read() if counter.read is not None else None
    times = time_calls(torch, device, model.run, options.repeats, options.warmup)
    energy_j, reason = _energy(counter, before, options.repeats * options.batch)
    stats = time_stats(times)
    short = shortened(net)
    say(f"{net.name}: the same at half the sequence length (the per-step fit)")
    short_model = build(torch, short, weights, device, options.dtype, options.seed)
    short_times = time_calls(torch, device, short_model.run, options.repeats, 1)
    work = network_work(net, options.dtype)
    short_steps = network_work(short, options.dtype).steps
    fit = fit_steps(work.steps, stats.median_s, short_steps, statistics.median(short_times))
    say(f"{net.name}: timing each GEMV and input GEMM alone")
    gemv = _gemv_alone(torch, device, tdtype, net)
    batch_s = stats.median_s
    per_seq = batch_s / options.batch
    info = DeviceInfo(
        kind=options.device, name=facts.name, cores=facts.cores, threads=facts.threads,
        memory_bytes=facts.memory_bytes, clocks_mhz=facts.clocks_mhz, peak_flops=peaks.flops,
        peak_bandwidth_bytes_per_s=peaks.bandwidth_bytes_per_s, peaks_source=peaks.source,
    )  # fmt: skip
    date = datetime.now(UTC).isoformat(timespec="seconds")
    baseline = MeasuredBaseline(
        date=date, network=net.name, source=source,
        weights="random" if weights is None else "model", device=info, dtype=options.dtype,
        batch=options.batch, repeats=options.repeats, warmup=options.warmup,
        latency_s=per_seq, latency_spread_s=stats.iqr_s / options.batch,
        latency_min_s=stats.min_s / options.batch, latency_max_s=stats.max_s / options.batch,
        throughput_sequences_per_s=options.batch / batch_s, energy_j=energy_j,
        energy_reason=reason, energy_source=counter.source if energy_j is not None else None,
        steps=work.steps, weight_bytes_per_step=work.weight_bytes_per_step,
        flops_per_sequence=float(work.flops),
        achieved_weight_bandwidth_bytes_per_s=work.weight_bytes / batch_s,
        achieved_flops=work.flops * options.batch / batch_s, step_fixed_s=None,
        versions=_versions(torch, options.epur_version),
    )  # fmt: skip
    gemm = _gemm_alone(torch, device, tdtype, net)
    platform = _platform_file(baseline, facts.onchip_bytes, gemv, gemm, per_seq)
    if fit is not None:
        platform, fixed = fit_fixed_cost(platform, net, fit.slope_s * work.steps)
        baseline = baseline.model_copy(update={"step_fixed_s": fixed})
    return Measurement(baseline, platform)


def _energy_counter(torch: Any, device: Any) -> tuple[Any, Any, EnergyCounter]:
    """The NVML handle and module (GPU) and the energy counter of ``device``; the GPU is
    found in NVML by its UUID (CUDA's numbering skips the GPUs it does not see)."""
    if device.type != "cuda":
        return None, None, rapl_counter()
    props = torch.cuda.get_device_properties(device)
    uuid = getattr(props, "uuid", None)
    counter = nvml_counter(device.index or 0, uuid=None if uuid is None else f"GPU-{uuid}")
    if counter.read is None:
        return None, None, counter
    import pynvml  # type: ignore[import-not-found,unused-ignore]  # loaded by nvml_counter

    return counter.handle, pynvml, counter


def _energy(
    counter: EnergyCounter, before: tuple[int, ...] | None, sequences: int
) -> tuple[float | None, str | None]:
    if counter.read is None or counter.joules is None or before is None:
        return None, counter.reason
    total = counter.joules(before, counter.read())
    if total <= 0:
        return None, f"the {counter.source} counter did not advance over the timed passes"
    return total / sequences, None


def _gemv_alone(torch: Any, device: Any, dtype: Any, net: Network) -> tuple[float, float, int]:
    """Seconds, FLOPs and weight values of all the per-step GEMVs of one pass, each shape
    timed alone at the batch."""
    seconds = 0.0
    flops = values = 0
    for shape in gemv_shapes(net):
        n = shape.count * shape.steps
        shape_s = kernel_s(torch, device, dtype, (shape.rows, shape.cols, net.batch), best=True)
        seconds += n * shape_s
        flops += n * shape.flops * net.batch
        values += n * shape.rows * shape.cols
    return seconds, flops, values


def _gemm_alone(torch: Any, device: Any, dtype: Any, net: Network) -> tuple[float, float] | None:
    """Achieved FLOPS and weight bandwidth (bytes/s) of the hoisted input GEMMs, each timed
    alone on at most ``GEMM_COLUMNS`` inputs; ``None`` when every stack is autoregressive."""
    seconds = 0.0
    flops = nbytes = 0
    size = torch.empty((), dtype=dtype).element_size()
    for stack in net.stacks:
        if stack.autoregressive:
            continue
        for layer in stack.layers:
            rows = layer.output_size if isinstance(layer, FCLayer) else 4 * layer.hidden_size
            cols = layer.input_size
            columns = min(stack.seq_len * net.batch, GEMM_COLUMNS)
            d = 1 if isinstance(layer, FCLayer) else layer.directions
            seconds += d * kernel_s(torch, device, dtype, (rows, cols, columns), 2, 3, True)
            flops += d * 2 * rows * cols * columns
            nbytes += d * size * rows * cols
    return None if seconds == 0 else (flops / seconds, nbytes / seconds)


def _versions(torch: Any, epur_version: str) -> dict[str, str]:
    import numpy

    out = {"epur": epur_version, "torch": torch.__version__, "numpy": numpy.__version__,
           "python": python_platform.python_version()}  # fmt: skip
    if torch.version.cuda is not None:
        out["cuda"] = str(torch.version.cuda)
    if torch.backends.cudnn.is_available():
        out["cudnn"] = str(torch.backends.cudnn.version())
    return out


def _fraction(value: float) -> float:
    """A rate over a peak as a fraction in (0, 1] (a kernel in cache can beat DRAM)."""
    return min(max(value, 1e-6), 1.0)


def _platform_file(
    m: MeasuredBaseline, onchip: int | None, gemv: tuple[float, float, int],
    gemm: tuple[float, float] | None, per_seq: float,
) -> PlatformFile:  # fmt: skip
    """The platform file of measurement ``m`` (see ``measure_platform``)."""
    dev = m.device
    size = 4 if m.dtype == "fp32" else 2
    seconds, flops, values = gemv
    # a kernel that beat the probe shows the peak is at least its rate
    rates = [dev.peak_flops or 0.0, flops / seconds if seconds else 0.0, gemm[0] if gemm else 0.0]
    peak_flops = max(rates) or 1.0
    peak_bw = dev.peak_bandwidth_bytes_per_s or 1.0
    gemv_f = _fraction(flops / seconds / peak_flops) if seconds else 1.0
    gemv_b = _fraction(values * size / seconds / peak_bw) if seconds else 1.0
    gemm_f, gemm_b = (gemv_f, gemv_b) if gemm is None else (
        _fraction(gemm[0] / peak_flops), _fraction(gemm[1] / peak_bw))  # fmt: skip
    probed = Source(status="measured", source=f"{dev.name}: {dev.peaks_source}")
    peak = probed
    if peak_flops > (dev.peak_flops or 0.0):
        peak = Source(status="measured", source=f"{dev.name}: the rate {m.network}'s kernels "
                      f"reached, above the probe ({dev.peaks_source})")  # fmt: skip
    alone = Source(status="measured", source=f"{m.network}'s kernels timed alone / the peak")
    sources = {
        "precision": Source(status="measured", source=f"the measured dtype, {m.dtype}"),
        "peak_fp16_flops": peak if m.dtype != "fp32" else _unused("fp16"),
        "peak_fp32_flops": peak if m.dtype == "fp32" else _unused("fp32"),
        "dram_bandwidth_bytes_per_s": probed,
        "onchip_bytes": Source(status="measured", source="the last-level cache (CPU) or L2 "
                               "(GPU) as read" if onchip else "unreadable: 0, nothing resident"),
        "gemm_bandwidth_fraction": alone if gemm else _as_gemv(),
        "gemm_flops_fraction": alone if gemm else _as_gemv(),
        "gemv_bandwidth_fraction": alone,
        "gemv_flops_fraction": alone,
        "step_fixed_s": Source(status="measured", source="epur baseline's two-length fit, "
                               "less the per-step kernels at these fractions (docs/baselines.md)"),
        "power_w": Source(status="measured", source=f"{m.energy_source} energy / time")
        if m.energy_j is not None else Source(status="assumed", source="unknown"),
    }  # fmt: skip
    return PlatformFile(
        platform=f"{m.device.kind}: {dev.name}", date=m.date, network=m.network, batch=m.batch,
        dtype=m.dtype, precision="fp32" if m.dtype == "fp32" else "fp16",
        peak_fp16_flops=peak_flops, peak_fp32_flops=peak_flops,
        dram_bandwidth_bytes_per_s=peak_bw, onchip_bytes=onchip or 0,
        gemm_bandwidth_fraction=gemm_b, gemm_flops_fraction=gemm_f,
        gemv_bandwidth_fraction=gemv_b, gemv_flops_fraction=gemv_f,
        step_fixed_s=0.0,  # fit_fixed_cost sets it
        power_w=None if m.energy_j is None else m.energy_j / per_seq,
        power_reason=m.energy_reason, sources=sources,
    )  # fmt: skip


def _unused(precision: str) -> Source:
    return Source(status="assumed", source=f"not probed: {precision} is not the measured dtype "
                  "(the probed peak is repeated; the model uses the measured dtype's)")  # fmt: skip


def _as_gemv() -> Source:
    return Source(status="assumed", source="no hoisted GEMM in this network: the GEMV's")
