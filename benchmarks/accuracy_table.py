"""Output error of E-PUR's number formats and activations on the paper's four networks.

Run: ``python benchmarks/accuracy_table.py [--out DIR]`` (a few minutes).

Trained weights of the four networks are not available, so each network gets
random weights drawn as PyTorch initialises ``nn.LSTM`` (uniform in +-1/sqrt(H),
seed 0) and a random standard-normal input sequence (seed 1) of the network's own
length; GMAT's decoder inputs and per-layer attention contexts are random too
(the functional model takes them as given). Errors are of the last layer's
output sequence against the float64 reference: norm-wise relative
``||y - y_ref|| / ||y_ref||`` and the largest absolute difference. MWL dataflow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional.accuracy import error_stats
from epur.functional.model import run_network
from epur.functional.reference import layer_name, reference_run
from epur.workload import Network, zoo_network
from epur.workload.weights import random_weights
from epur.workload.zoo import ZOO_NAMES

FORMATS = [("fp16", "fp16 (fp32 acc)"), ("bf16", "bf16 (fp32 acc)"),
           ("q8.8", "q8.8 (q16.16 acc)"), ("int8", "int8 (int32 acc)")]  # fmt: skip
ACTIVATIONS = ["exact", "pwl16", "lut256"]


def inputs(net: Network, rng: np.random.Generator) -> dict[str, Any]:
    feeds: dict[str, Any] = {}
    k = 0
    for stack in net.stacks:
        feeds[stack.name] = rng.standard_normal((stack.seq_len, 1, stack.layers[0].input_size))
        below = stack.layers[0].input_size
        for layer in stack.layers:
            if layer.input_size > below:
                extra = layer.input_size - below
                feeds[f"{layer_name(layer, k)}.external_in"] = rng.standard_normal(
                    (stack.seq_len, 1, extra)
                )
            below = layer.output_size
            k += 1
    return feeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name in ZOO_NAMES:
        net = zoo_network(name).with_known_inputs()
        weights = random_weights(net, np.random.default_rng(0))
        feeds = inputs(net, np.random.default_rng(1))
        ref = reference_run(net, weights, feeds)[-1].y
        for fmt, _ in FORMATS:
            for act in ACTIVATIONS:
                arch = apply_overrides(paper_preset(), [*format_settings(fmt),
                                                        f"mfu.activation={act}"])  # fmt: skip
                start = time.perf_counter()
                y = run_network(net, weights, feeds, arch, "mwl").y
                e = error_stats(name, y, ref)
                results.setdefault(name, {}).setdefault(fmt, {})[act] = {
                    "relative": e.relative, "max_abs": e.max_abs, "rms": e.rms}  # fmt: skip
                seconds = time.perf_counter() - start
                print(f"{name:9s} {fmt:5s} {act:7s} rel {e.relative:.2e} max {e.max_abs:.2e} "
                      f"({seconds:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip
    lines = ["| format | activation | " + " | ".join(n.upper() for n in ZOO_NAMES) + " |",
             "|---|---|" + "---:|" * len(ZOO_NAMES)]  # fmt: skip
    for fmt, label in FORMATS:
        for act in ACTIVATIONS:
            cells = [f"{results[n][fmt][act]['relative']:.1e}" for n in ZOO_NAMES]
            lines.append(f"| {label} | {act} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.md").write_text(table + "\n")
    (args.out / "accuracy.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
