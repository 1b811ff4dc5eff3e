"""Quick profile: the functional model (``run_network``) on one EESEN sequence against
PyTorch's CPU ``nn.LSTM(120, 320, num_layers=5, bidirectional=True)``, same thread
count, alternating runs, medians.

Run: ``python benchmarks/profile_recurrence.py [--repeat N] [--threads 2] [--steps K]
[fmt:dataflow ...]`` (default: fp32:mwl fp16:mwl fp32:baseline fp16:baseline).

Each line also gives the time spent in the compiled DPU kernel of the non-recurrent
products (``_kernels.dot_tree_f32``: MWL's input phase), median per run. ``--steps K``
sets how many time steps share one loaded block of weights in that kernel (1: one
vector per pass over the weights, the unblocked kernel; the result is the same bits).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import epur.functional.datapath as datapath_module
from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional.model import run_network
from epur.workload import zoo_network
from epur.workload.weights import random_weights


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument(
        "cases", nargs="*", default=["fp32:mwl", "fp16:mwl", "fp32:baseline", "fp16:baseline"]
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="kernel steps per weight block")
    args = parser.parse_args()
    kernel = vars(datapath_module)["dot_tree_f32"]
    in_kernel = [0.0]

    def timed(*a: object, **kw: object) -> object:
        start = time.perf_counter()
        if args.steps is not None:
            kw["steps"] = args.steps
        try:
            return kernel(*a, **kw)
        finally:
            in_kernel[0] += time.perf_counter() - start

    vars(datapath_module)["dot_tree_f32"] = timed  # the call site looks the name up
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(120, 320, num_layers=5, bidirectional=True)
    xt = torch.randn(800, 1, 120)
    net = zoo_network("eesen")
    weights = random_weights(net, np.random.default_rng(0))
    x = {"main": np.random.default_rng(1).standard_normal((800, 1, 120))}
    for case in args.cases:
        fmt, dataflow = case.split(":")
        arch = apply_overrides(paper_preset(), format_settings(fmt))
        run_network(net, weights, x, arch, dataflow)  # warm-up (compilation)
        ours, theirs, phase = [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            with torch.no_grad():
                lstm(xt)
            theirs.append(time.perf_counter() - start)
            in_kernel[0] = 0.0
            start = time.perf_counter()
            run_network(net, weights, x, arch, dataflow)
            ours.append(time.perf_counter() - start)
            phase.append(in_kernel[0])
        a, b = statistics.median(ours), statistics.median(theirs)
        print(
            f"{fmt:5s} {dataflow:8s} epur {a:6.3f} s  torch {b:6.3f} s  {a / b:5.1f}x"
            f"  (input-phase kernel {statistics.median(phase):6.3f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
