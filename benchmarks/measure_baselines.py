"""Measure the zoo networks with ``epur baseline`` and tabulate them beside epur's models.

Run: ``python benchmarks/measure_baselines.py --device cpu`` (or ``cuda``). For each zoo
network, batch (1 and 64) and dtype (fp32, and the 16-bit types the device runs natively:
bf16 on a CPU with AVX-512 BF16 or AMX, fp16 and bf16 on a GPU) it runs ``python -m epur
baseline ... --json`` in a fresh process, then writes
``benchmarks/results/baselines_<device>.json`` (the measurements, each with epur's modelled
E-PUR and Tegra X1 latency per sequence at the same batch) and ``baselines_<device>.md``
(the table README.md's "Measured baselines" shows). Modelled: E-PUR is the paper preset
with MWL (as ``epur simulate``), the Tegra X1 is the ``cudnn_measured`` scenario (as
``epur reproduce``'s tables); both per sequence, i.e. the batch's latency over the batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from epur.arch import load_arch
from epur.baselines import DEFAULT_SCENARIO, evaluate_tegra, tegra_scenarios
from epur.evaluation import evaluate
from epur.units import si
from epur.workload.zoo import ZOO_NAMES, zoo_network

RESULTS = Path(__file__).resolve().parent / "results"
NATIVE_16BIT = {"cpu": ("bf16",), "cuda": ("fp16", "bf16")}


def modelled(network: str, batch: int, seq_len: int | None) -> dict[str, Any]:
    """epur's E-PUR (paper preset, MWL) and Tegra X1 latency per sequence at ``batch``.

    The paper preset's 8 KiB input buffers hold one sequence's input vector; for a batch
    they are scaled by the batch (``epur_note`` says so)."""
    net = replace(zoo_network(network), batch=batch)
    net = net if seq_len is None else net.with_seq_len(seq_len)
    arch, note = load_arch(None, []), None
    if batch > 1:
        size = arch.input_buffer.capacity_bytes * batch
        arch = load_arch(None, [f"input_buffer.capacity_bytes={size}"])
        note = f"input buffers x{batch} ({size // 1024} KiB per CU) to hold the batch"
    epur = evaluate(net, arch, "mwl", None, None).timing.latency_s()
    tegra = evaluate_tegra(net, tegra_scenarios()[DEFAULT_SCENARIO]).latency_s
    return {"epur_latency_s": epur / batch, "tegra_x1_latency_s": tegra / batch,
            "epur_note": note}  # fmt: skip


def measure(network: str, batch: int, dtype: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ``epur baseline`` run in a fresh process; its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "b.json"
        cmd = [sys.executable, "-m", "epur", "baseline", "--network", network, "--device",
               args.device, "--dtype", dtype, "--batch", str(batch), "--repeats",
               str(args.repeats), "--warmup", str(args.warmup), "--json", str(out)]  # fmt: skip
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.seq_len:
            cmd += ["--seq-len", str(args.seq_len)]
        print(" ".join(cmd[1:]), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        data: dict[str, Any] = json.loads(out.read_text())
    return data


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the measurements."""
    head = ("| network | dtype | batch | latency / seq | IQR | energy / seq | weight bandwidth "
            "| FLOPS (% of peak) | fixed / step | E-PUR (modelled) | Tegra X1 (modelled) |\n"
            "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")  # fmt: skip
    lines = [head]
    for r in rows:
        m = r["measured"]
        peak = m["device"]["peak_flops"]
        share = f" ({100 * m['achieved_flops'] / peak:.2g} %)" if peak else ""
        energy = si(m["energy_j"], "J") if m["energy_j"] is not None else "n/a (below)"
        lines.append(
            f"| {m['network']} | {m['dtype']} | {m['batch']} | {si(m['latency_s'], 's')} "
            f"| {si(m['latency_spread_s'], 's')} | {energy} "
            f"| {si(m['achieved_weight_bandwidth_bytes_per_s'], 'B/s')} "
            f"| {si(m['achieved_flops'], 'FLOPS')}{share} | {si(m['step_fixed_s'], 's')} "
            f"| {si(r['epur_latency_s'], 's')} | {si(r['tegra_x1_latency_s'], 's')} |"
        )
    reasons = sorted({r["measured"]["energy_reason"] for r in rows} - {None})
    lines += [f"\nEnergy n/a: {reason}." for reason in reasons]
    return "\n".join(lines)


def header(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Device, date, peaks and how the runs were made, above the table."""
    m = rows[0]["measured"]
    d = m["device"]
    peaks = {}
    for r in rows:  # each run probes its own peaks, in its dtype: their medians
        peaks.setdefault(r["measured"]["dtype"], []).append(r["measured"]["device"]["peak_flops"])
    bws = sorted(r["measured"]["device"]["peak_bandwidth_bytes_per_s"] for r in rows)
    flops = ", ".join(f"{k} {si(statistics.median(v), 'FLOPS')}" for k, v in peaks.items())
    length = f"--seq-len {args.seq_len}" if args.seq_len else "full sequence lengths"
    return (
        f"Measured on {d['kind']}: {d['name']} ({d['cores']} cores/SMs, "
        f"{d['threads'] or '-'} PyTorch threads), {m['date'][:10]}, "
        f"{', '.join(f'{k} {v}' for k, v in m['versions'].items())}. Peaks, probed by "
        f"each run (medians): {flops}; {si(statistics.median(bws), 'B/s')} "
        f"({d['peaks_source']}). {args.repeats} timed passes after {args.warmup} warm-up, "
        f"{length}, random weights; latency, IQR and energy per sequence (batch time / "
        "batch); weight bandwidth = weights read once per step / time; FLOPS against the "
        "run's own probed peak. Modelled: E-PUR (paper preset, MWL; at batch > 1 its input "
        "buffers scaled by the batch to hold it) and the Tegra X1 (cudnn_measured), per "
        "sequence at the same batch."
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--dtypes", nargs="+", help="default: fp32 and the native 16-bit types")
    p.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    p.add_argument("--networks", nargs="+", choices=ZOO_NAMES, default=list(ZOO_NAMES))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, help="PyTorch's CPU threads (default: PyTorch's)")
    p.add_argument("--seq-len", type=int, help="shorten every stack (default: the zoo's)")
    p.add_argument("--render", action="store_true",
                   help="only rewrite the table from the JSON of an earlier run")  # fmt: skip
    args = p.parse_args()
    stem = RESULTS / f"baselines_{args.device}"
    if args.render:
        rows = json.loads(stem.with_suffix(".json").read_text())
        text = header(rows, args) + "\n\n" + table(rows) + "\n"
        stem.with_suffix(".md").write_text(text)
        print(text)
        return
    dtypes = args.dtypes or ["fp32", *NATIVE_16BIT[args.device]]
    rows = []
    RESULTS.mkdir(exist_ok=True)
    for network in args.networks:
        for batch in args.batches:
            for dtype in dtypes:
                rows.append({"measured": measure(network, batch, dtype, args),
                             **modelled(network, batch, args.seq_len)})  # fmt: skip
                # written after every run: a long series that fails keeps what it measured
                stem.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    text = header(rows, args) + "\n\n" + table(rows) + "\n"
    stem.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
