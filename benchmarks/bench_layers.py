"""Cost of ``evaluate`` (schedule + timing, no SRAM backend) per layer as networks deepen.

Run: ``python benchmarks/bench_layers.py [--sizes 100 1000 5000 20000] [--repeat N] [--json F]``

Networks of ``n`` small layers (4 inputs, 4 hidden units, 4 steps): in one stack, in
stacks of 10 layers, and in one autoregressive stack, under both dataflows. The cost per
layer must stay flat (linear total cost): ``tests/unit/test_schedule_scaling.py`` checks
the algorithm (lines executed for n and 2n layers); this measures the clock.

Networks hold at most ``MAX_LAYERS`` layers (``epur.workload.network``); larger sizes
are built without validation, to show the algorithm's growth beyond what users may run,
and are marked so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from epur.arch import paper_preset
from epur.evaluation import evaluate
from epur.workload import LSTMLayer, Network, Stack
from epur.workload import network as network_module

MAX_LAYERS: int | None = getattr(network_module, "MAX_LAYERS", None)


def build(stacks: tuple[Stack, ...]) -> Network:
    """A network, unvalidated if it has more layers than ``MAX_LAYERS``."""
    if MAX_LAYERS is None or sum(len(s.layers) for s in stacks) <= MAX_LAYERS:
        return Network("deep", stacks)
    net = object.__new__(Network)
    values = {"name": "deep", "stacks": stacks, "batch": 1, "frame_period_s": None,
              "description": "", "provenance": ""}  # fmt: skip
    for f in fields(Network):
        object.__setattr__(net, f.name, values[f.name])
    return net


def one_stack(n: int) -> Network:
    return build((Stack("main", 4, tuple(LSTMLayer(4, 4) for _ in range(n))),))


def many_stacks(n: int) -> Network:
    layers = tuple(LSTMLayer(4, 4) for _ in range(10))
    return build(tuple(Stack(f"s{k}", 4, layers) for k in range(n // 10)))


def autoregressive(n: int) -> Network:
    return build((Stack("dec", 4, tuple(LSTMLayer(4, 4) for _ in range(n)), True),))


SHAPES: dict[str, Callable[[int], Network]] = {
    "one stack": one_stack,
    "stacks of 10": many_stacks,
    "autoregressive": autoregressive,
}


def measure(sizes: list[int], repeat: int) -> list[dict[str, object]]:
    arch = paper_preset()
    rows: list[dict[str, object]] = []
    for shape, make in SHAPES.items():
        for dataflow in ("baseline", "mwl"):
            for n in sizes:
                net = make(n)
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    evaluate(net, arch, dataflow)
                    times.append(time.perf_counter() - start)
                best = min(times)
                rows.append(
                    {
                        "shape": shape,
                        "dataflow": dataflow,
                        "layers": n,
                        "validated": MAX_LAYERS is None or n <= MAX_LAYERS,
                        "seconds": best,
                        "us_per_layer": 1e6 * best / n,
                    }
                )
                print(f"{shape:>15} {dataflow:>8} {n:>7,} layers: {best:8.3f} s "
                      f"{1e6 * best / n:8.1f} us/layer", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 5_000, 20_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    rows = measure(args.sizes, args.repeat)
    print("\n| network | dataflow | " + " | ".join(f"{n:,} layers" for n in args.sizes) + " |")
    print("|---|---|" + "---:|" * len(args.sizes))
    for shape in SHAPES:
        for dataflow in ("baseline", "mwl"):
            cells = []
            for r in rows:
                if (r["shape"], r["dataflow"]) == (shape, dataflow):
                    mark = "" if r["validated"] else "*"
                    cells.append(f"{r['us_per_layer']:.0f} us{mark}")
            print(f"| {shape} | {dataflow} | " + " | ".join(cells) + " |")
    if MAX_LAYERS is not None and any(n > MAX_LAYERS for n in args.sizes):
        print(f"\n* beyond MAX_LAYERS = {MAX_LAYERS:,}: built without validation")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
