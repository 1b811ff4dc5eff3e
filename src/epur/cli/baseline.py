"""``epur baseline``: one network measured with PyTorch on this machine's CPU or GPU."""

from __future__ import annotations

import argparse
import sys

from epur._files import check_output_file, write_text
from epur.baselines.measure import Measurement, Options, measure_baseline
from epur.baselines.measured import MeasuredBaseline
from epur.cli._common import adjust, load_spec
from epur.errors import ConfigError
from epur.units import si
from epur.workload import Network
from epur.workload.weights import NetworkWeights

__all__ = ["main"]


def _imported(args: argparse.Namespace) -> tuple[Network, NetworkWeights]:
    """The network and weights of ``--onnx`` or ``--torch``."""
    from epur.workload.importers import from_onnx, from_torch

    model = from_onnx(args.onnx) if args.onnx else from_torch(args.torch)
    if args.seq_len is None and model.seq_len is None:
        flag = "--onnx" if args.onnx else "--torch"
        raise ConfigError(
            f"--seq-len is required: the model of {flag} does not fix its sequence length"
        )
    return model.network, model.weights


def _progress(text: str) -> None:
    print(f"epur baseline: {text}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> None:
    from epur import __version__

    for path, flag in ((args.json, "--json"), (args.platform_out, "--platform-out")):
        if path:
            check_output_file(path, flag)  # before the work
    if args.network:
        # a built-in network or a network file: a topology with random weights
        network, weights, source = load_spec(args.network), None, "zoo"
    else:
        network, weights = _imported(args)
        source = "onnx" if args.onnx else "torch"
    network = adjust(network, args)
    options = Options(
        device=args.device, dtype=args.dtype, batch=network.batch, repeats=args.repeats,
        warmup=args.warmup, seed=args.seed, threads=args.threads,
        epur_version=__version__,
    )  # fmt: skip
    m = measure_baseline(network, weights, source, options, _progress)  # type: ignore[arg-type]
    print(summary_text(m))
    if args.json:
        write_text(args.json, m.baseline.model_dump_json(by_alias=True, indent=2) + "\n", "--json")
    if args.platform_out:
        text = m.platform.model_dump_json(by_alias=True, indent=2) + "\n"
        write_text(args.platform_out, text, "--platform-out")


def _share(achieved: float, peak: float | None, unit: str) -> str:
    """`` (41 % of the peak 173 GFLOPS)``; above the peak, why that can be."""
    if not peak:
        return ""
    pct = 100 * achieved / peak
    shown = f"{pct:.0f}" if pct >= 10 else f"{pct:.2g}"
    above = "; above it: served from on-chip caches" if pct > 100 else ""
    return f" ({shown} % of the peak {si(peak, unit)}{above})"


def summary_text(m: Measurement) -> str:
    """The human summary of one measurement (stdout)."""
    b: MeasuredBaseline = m.baseline
    d = b.device
    energy = (
        f"{si(b.energy_j, 'J')} per sequence ({b.energy_source})"
        if b.energy_j is not None
        else f"n/a ({b.energy_reason})"
    )
    clocks = ", ".join(f"{k} {v:g} MHz" for k, v in (d.clocks_mhz or {}).items()) or "n/a"
    lines = [
        f"{b.network} on {d.kind}: {d.name} ({b.dtype}, batch {b.batch}, {b.weights} weights, "
        f"measured {b.date})",
        f"  latency per sequence   {si(b.latency_s, 's')} (median of {b.repeats}; IQR "
        f"{si(b.latency_spread_s, 's')}; min {si(b.latency_min_s, 's')}, "
        f"max {si(b.latency_max_s, 's')})",
        f"  throughput             {b.throughput_sequences_per_s:.4g} sequences/s",
        f"  energy                 {energy}",
        f"  steps per sequence     {b.steps}; weights per step "
        f"{si(b.weight_bytes_per_step, 'B')}; {si(b.flops_per_sequence, 'FLOP')} per sequence",
        f"  weight bandwidth       {si(b.achieved_weight_bandwidth_bytes_per_s, 'B/s')}"
        + _share(b.achieved_weight_bandwidth_bytes_per_s, d.peak_bandwidth_bytes_per_s, "B/s"),
        f"  arithmetic             {si(b.achieved_flops, 'FLOPS')}"
        + _share(b.achieved_flops, d.peak_flops, "FLOPS"),
        f"  fixed cost per step    {si(b.step_fixed_s, 's')} per layer direction "
        "(two-length fit less the per-step kernels)",
        f"  device                 {d.cores} cores/SMs, {d.threads or '-'} threads, clocks "
        f"{clocks}; peaks: {d.peaks_source}",
        "  versions               " + ", ".join(f"{k} {v}" for k, v in b.versions.items()),
    ]
    return "\n".join(lines)
