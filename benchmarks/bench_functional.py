"""Speed of the functional model on one EESEN sequence, against PyTorch's CPU nn.LSTM.

Run: ``python benchmarks/bench_functional.py [--repeat N] [--json FILE]`` (needs torch).

EESEN: 5 bidirectional layers of 320 cells with peepholes, 120 inputs, 800 steps,
batch 1. PyTorch's ``nn.LSTM`` has no peepholes, so it runs the same sizes without
them (a lower bound on its time); epur runs the real network. Median of N runs;
PyTorch uses all the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional.model import run_network
from epur.workload import zoo_network
from epur.workload.weights import random_weights

FORMATS = ["fp32", "fp16", "bf16", "q8.8", "int8"]


def median_time(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_time(repeat: int) -> float:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    lstm = torch.nn.LSTM(120, 320, num_layers=5, bidirectional=True)
    x = torch.randn(800, 1, 120)
    with torch.no_grad():
        lstm(x)  # warm-up
        return median_time(lambda: lstm(x), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    net = zoo_network("eesen")
    weights = random_weights(net, np.random.default_rng(0))
    x = {"main": np.random.default_rng(1).standard_normal((800, 1, 120))}
    reference = torch_time(args.repeat * 3)
    rows = []
    for fmt in FORMATS:
        arch = apply_overrides(paper_preset(), format_settings(fmt))
        for dataflow in ("baseline", "mwl"):
            t = median_time(
                lambda a=arch, d=dataflow: run_network(net, weights, x, a, d), args.repeat
            )
            rows.append({"format": fmt, "dataflow": dataflow, "seconds": t, "ratio": t / reference})
            print(f"{fmt:5s} {dataflow:8s} {t:7.2f} s  {t / reference:6.1f}x PyTorch", flush=True)
    print(f"\nPyTorch nn.LSTM (no peepholes): {reference:.3f} s\n")
    print("| format | dataflow | epur s | x PyTorch |\n|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['dataflow']} | {r['seconds']:.2f} | {r['ratio']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"torch_s": reference, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
