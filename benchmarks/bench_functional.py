"""Speed of the functional model on one EESEN sequence, against PyTorch's CPU nn.LSTM.

Run: ``python benchmarks/bench_functional.py [--rounds N] [--threads N] [--json FILE]``
(needs torch; writes ``benchmarks/results/functional_speed.json`` by default).

EESEN: 5 bidirectional layers of 320 cells with peepholes, 120 inputs, 800 steps,
batch 1. PyTorch's ``nn.LSTM`` has no peepholes, so it runs the same sizes without
them (a little less work than epur's); epur runs the real network. Both run in this
process with the same thread bound (``torch.set_num_threads(N)``, epur's
``bounded_threads(N)`` and ``threads=N``), alternately (PyTorch, epur, epur prepared,
PyTorch, ... ``--rounds`` times per configuration) after one untimed warm-up each, and
the medians and their ratios are recorded. epur runs from the raw float64 weights
(quantised into the format and laid out for the kernels in every run) and from
``prepare_weights``' (quantised once, as ``nn.LSTM`` holds its weights ready). epur's
figure is the datapath alone (``run_network``);
the float64 reference is timed once on its own. Configurations: every format (fp32,
fp16, bf16, q8.8, int8) with exact activations and MWL; fp16 with pwl16 and lut256;
fp16 with the baseline dataflow. int8 calibrates its activation scales on the float64
reference, which is computed once and given to every run (as ``epur run`` does). Last,
the whole command
``epur run --network eesen --input x.npy --format fp16 --out y.npz`` as a fresh
process (interpreter start-up, imports, the run, its reference and error report,
writing the outputs), median of ``--command-runs`` after a first run recorded apart
(it compiles the kernels when the numba cache lacks them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from epur.api import available_cores, bounded_threads, format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional.model import prepare_weights, run_network
from epur.functional.reference import reference_run
from epur.workload import zoo_network
from epur.workload.weights import random_weights

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ["fp32", "fp16", "bf16", "q8.8", "int8"]
CONFIGS = [(fmt, "exact", "mwl") for fmt in FORMATS] + [
    ("fp16", "pwl16", "mwl"),
    ("fp16", "lut256", "mwl"),
    ("fp16", "exact", "baseline"),
]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _epur() -> list[str]:
    found = shutil.which("epur")
    return [found] if found else [sys.executable, "-m", "epur"]


def command_times(x: np.ndarray, threads: int, runs: int) -> tuple[float, list[float], str]:
    """Wall seconds of the whole ``epur run`` command: a first run (which compiles the
    kernels if the numba cache lacks them) and ``runs`` later ones; its timing line."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x[:, 0, :])  # [T, I]: one sequence
        command = [*_epur(), "run", "--network", "eesen", "--input", "x.npy", "--format",
                   "fp16", "--threads", str(threads), "--out", "y.npz"]  # fmt: skip
        times, line = [], ""
        for _ in range(runs + 1):
            start = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp)
            times.append(time.perf_counter() - start)
            found = re.search(r"^datapath .*$", done.stdout, re.M)
            line = found.group(0) if found else ""
    return times[0], times[1:], line


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each, alternated")
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--steps", type=int, default=800, help="sequence length (EESEN: 800)")
    parser.add_argument("--command-runs", type=int, default=3)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "functional_speed.json"
    )
    args = parser.parse_args()

    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    lstm = torch.nn.LSTM(120, 320, num_layers=5, bidirectional=True)
    xt = torch.randn(args.steps, 1, 120)

    def torch_run() -> None:
        with torch.no_grad():
            lstm(xt)

    net = zoo_network("eesen")
    weights = random_weights(net, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((args.steps, 1, 120))
    feeds = {"main": x}
    rows = []
    with bounded_threads(args.threads):
        start = time.perf_counter()
        ref = reference_run(net, weights, feeds)  # also int8's calibration, given to it
        reference_s = time.perf_counter() - start
        torch_run()  # warm-up
        for fmt, activation, dataflow in CONFIGS:
            sets = [*format_settings(fmt), f"mfu.activation={activation}"]
            arch = apply_overrides(paper_preset(), sets)

            prepared = prepare_weights(net, weights, arch, threads=args.threads)

            def epur_run(a: Any = arch, d: str = dataflow, w: Any = weights) -> None:
                run_network(net, w, feeds, a, d, threads=args.threads, reference=ref)

            epur_run()  # warm-up: compiles the kernels on a first run
            epur_run(w=prepared)  # and keeps the kernels' layouts in the prepared weights
            torch_s, epur_s, ready_s = [], [], []
            for _ in range(args.rounds):
                torch_s.append(timed(torch_run))
                epur_s.append(timed(epur_run))
                ready_s.append(timed(lambda p=prepared: epur_run(w=p)))
            t, e, r = (statistics.median(x) for x in (torch_s, epur_s, ready_s))
            rows.append({"format": fmt, "activation": activation, "dataflow": dataflow,
                         "epur_s": e, "torch_s": t, "ratio": e / t,
                         "epur_prepared_s": r, "ratio_prepared": r / t})  # fmt: skip
            print(
                f"{fmt:5s} {activation:6s} {dataflow:8s} epur {e:7.3f} s ({e / t:4.2f}x), "
                f"prepared {r:7.3f} s ({r / t:4.2f}x)  PyTorch {t:6.3f} s",
                flush=True,
            )
    print(f"float64 reference (once): {reference_s:.3f} s", flush=True)
    first, cmd, line = command_times(x, args.threads, args.command_runs)
    print(f"epur run --network eesen --format fp16 (whole process): median "
          f"{statistics.median(cmd):.2f} s [{line}]")  # fmt: skip
    print("\n| format | activation | dataflow | PyTorch (s) | epur (s) | x | prepared (s) | x |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['activation']} | {r['dataflow']} | {r['torch_s']:.3f} | "
              f"{r['epur_s']:.3f} | {r['ratio']:.2f} | {r['epur_prepared_s']:.3f} | "
              f"{r['ratio_prepared']:.2f} |")  # fmt: skip
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores "
        f"({available_cores()} available), Python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "threads": args.threads,
        "rounds": args.rounds,
        "steps": args.steps,
        "network": "EESEN: 5 bidirectional LSTM layers, input 120, hidden 320, peepholes, "
        "batch 1; PyTorch's nn.LSTM of the same sizes has no peepholes",
        "epur_is": "run_network alone (the datapath; int8 given the float64 reference it "
        "calibrates on, timed once as float64_reference_s); medians of alternated runs. "
        "epur_s: from the raw float64 weights (quantised and laid out in every run); "
        "epur_prepared_s: from prepare_weights' (quantised once, as nn.LSTM holds its "
        "weights ready)",
        "float64_reference_s": reference_s,
        "runs": rows,
        "command": "epur run --network eesen --input x.npy --format fp16 --out y.npz",
        "command_s_median": statistics.median(cmd),
        "command_s": cmd,
        "command_s_first_run": first,
        "command_timing_line": line,
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
