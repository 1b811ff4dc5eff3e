"""Speed of the core simulator (issue: `epur reproduce` under 2 s; cost flat in MACs).

Run: ``python benchmarks/bench_simulator.py [--repeat N] [--json FILE]``

1. Wall time of ``epur reproduce`` (four networks, both dataflows, GMAT also with
   known inputs) as a fresh process, interpreter start-up included: median of N runs.
2. The closed-form model's time to schedule and simulate one network while its MAC
   count grows by orders of magnitude (longer sequences, wider layers): it must stay
   flat, since the closed form costs each layer in O(1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from epur.arch import apply_overrides, paper_preset
from epur.evaluation import evaluate
from epur.workload import LSTMLayer, Network, Stack


def time_reproduce(repeat: int) -> list[float]:
    command = [shutil.which("epur") or sys.executable, "reproduce"]
    if command[0] == sys.executable:
        command = [sys.executable, "-m", "epur", "reproduce"]
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([*command, "--out", out], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def time_reproduce_cacti(repeat: int) -> tuple[list[float], list[float]]:
    """``epur reproduce`` with CACTI: cold (an empty cache folder each time) and warm."""
    command = [sys.executable, "-m", "epur", "reproduce", "--energy-backend", "cacti"]
    cold, warm = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "XDG_CACHE_HOME": cache}
            for times in (cold, warm):
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env)
                times.append(time.perf_counter() - start)
    return cold, warm


def scaling(repeat: int) -> list[dict[str, float]]:
    # the widest layers need more than the preset's 8 KiB input buffers
    arch = apply_overrides(paper_preset(), ["input_buffer.capacity_bytes=64KiB"])
    rows = []
    for seq_len, hidden in [(10, 64), (1_000, 256), (100_000, 1024), (10_000_000, 4096)]:
        layers = tuple(
            LSTMLayer(hidden, hidden, bidirectional=True, peepholes=True) if k == 0
            else LSTMLayer(2 * hidden, hidden, bidirectional=True, peepholes=True)
            for k in range(5)
        )  # fmt: skip
        net = Network("scaling", (Stack("main", seq_len, layers),))
        for dataflow in ("baseline", "mwl"):
            evaluate(net, arch, dataflow)  # warm-up
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                evaluate(net, arch, dataflow)
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    "seq_len": seq_len,
                    "hidden": hidden,
                    "dataflow": dataflow,
                    "macs": net.macs_per_sequence(),
                    "median_ms": 1e3 * statistics.median(times),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    wall = time_reproduce(args.repeat)
    cold, warm = time_reproduce_cacti(max(1, args.repeat // 2))
    rows = scaling(args.repeat * 4)
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"epur reproduce: median {statistics.median(wall):.3f} s, max {max(wall):.3f} s "
          f"over {len(wall)} runs (fresh process each)")  # fmt: skip
    print(f"epur reproduce with CACTI: cold cache median {statistics.median(cold):.2f} s, "
          f"warm {statistics.median(warm):.2f} s over {len(cold)} runs")  # fmt: skip
    print("\n| seq_len | hidden | dataflow | MACs per sequence | schedule + simulate (ms) |")
    print("|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['seq_len']:,} | {r['hidden']:,} | {r['dataflow']} | {r['macs']:.3g} "
              f"| {r['median_ms']:.2f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "reproduce_s": wall,
                                         "reproduce_cacti_cold_s": cold,
                                         "reproduce_cacti_warm_s": warm,
                                         "scaling": rows}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
