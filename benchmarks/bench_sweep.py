"""How fast ``epur sweep`` runs: points per second of a timing+energy sweep.

    flock /tmp/epur-bench.lock python benchmarks/bench_sweep.py [--points N] [--workers W]

A grid over lanes x weight-buffer size x number format x dataflow on the four networks
(500 points by default), with the SRAM source ``auto`` (CACTI, through its cache: run
twice to time a warm cache), timed from spec to stored rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from epur.sweep.executors import make_executor
from epur.sweep.runner import run_sweep
from epur.sweep.spec import parse_sweep_spec

LANES = [4, 8, 16, 32, 64]
FORMATS = ["fp16", "q8.8", "fp32", "bf16", "int8"]


def spec_for(points: int, sram: str) -> dict[str, object]:
    """About ``points`` points: 4 networks x 2 dataflows x lanes x formats x sizes."""
    per = max(1, points // (4 * 2))
    lanes = LANES[: max(1, min(len(LANES), round(per ** (1 / 3))))]
    formats = FORMATS[: max(1, min(len(FORMATS), round(per ** (1 / 3))))]
    steps = max(1, -(-per // (len(lanes) * len(formats))))  # at least the points asked for
    return {
        "networks": ["eesen", "gmat", "bysdne", "rldradspr"],
        "sram": sram,
        "axes": {
            "dpu.lanes": lanes,
            "weight_buffer.capacity_bytes": {
                "min": 2**21,
                "max": 2**24,
                "steps": steps,
                "scale": "log",
            }
            if steps > 1
            else [2**23],
            "format": formats,
            "dataflow": ["mwl", "baseline"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sram", default="auto")
    args = parser.parse_args()
    spec = parse_sweep_spec(spec_for(args.points, args.sram), "bench", Path("."))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with make_executor(args.workers) as executor:
            outcome = run_sweep(spec, Path(tmp) / "out", executor)
        took = time.perf_counter() - start
    ok = sum(r.status.value != "error" for r in outcome.rows)
    print(
        f"{outcome.points} points ({ok} evaluated without error) on {args.workers} "
        f"workers, sram {args.sram}: {took:.1f} s, {outcome.points / took:.0f} points/s"
    )


if __name__ == "__main__":
    main()
