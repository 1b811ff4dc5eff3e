"""``epur networks``: the built-in zoo."""

from __future__ import annotations

import argparse

from epur._files import check_output_file
from epur.cli._common import write_json
from epur.workload import ZOO_NAMES, zoo_network
from epur.workload.zoo import zoo_record

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    if args.json:
        check_output_file(args.json, "--json")  # before the work
    rows = []
    for key in ZOO_NAMES:
        net, rec = zoo_network(key), zoo_record(key)
        rows.append(
            {
                "name": key,
                "task": rec["task"],
                "one_way_lstm_layers": sum(
                    getattr(layer, "directions", 1) for _, layer in net.layers()
                ),
                "parameters": net.parameter_count(),
                "seq_len": {s.name: s.seq_len for s in net.stacks},
                "autoregressive": net.is_autoregressive,
                "frame_period_s": net.frame_period_s,
                "confidence": rec["confidence"],
            }
        )
    width = max(len(r["task"]) for r in rows)
    print(f"{'name':10s} {'task':{width}s} {'layers':>6s} {'params':>12s}  seq_len")
    for r in rows:
        seq = ", ".join(f"{k} {v}" for k, v in r["seq_len"].items())
        layers, params = r["one_way_lstm_layers"], r["parameters"]
        print(f"{r['name']:10s} {r['task']:{width}s} {layers:6d} {params:12,d}  {seq}")
    if args.json:
        write_json(args.json, {"schema_version": 1, "networks": rows})
