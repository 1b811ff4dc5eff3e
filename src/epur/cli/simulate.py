"""``epur simulate``: timing, memory traffic, energy and area of one network."""

from __future__ import annotations

import argparse

from epur._files import check_output_file
from epur.cli._common import adjust, arch, load_spec, note, write_json
from epur.energy.backend import sram_backend
from epur.errors import ConfigError
from epur.evaluation import evaluate
from epur.report import evaluation_json, layer_table, summary_text
from epur.workload import Network

__all__ = ["main"]


def _imported(args: argparse.Namespace) -> Network:
    """The network of ``--onnx`` or ``--torch``; ``--seq-len`` where the model fixes none."""
    from epur.workload.importers import from_onnx, from_torch

    model = from_onnx(args.onnx) if args.onnx else from_torch(args.torch)
    if args.seq_len is None and model.seq_len is None:
        flag = "--onnx" if args.onnx else "--torch"
        raise ConfigError(
            f"--seq-len is required: the model of {flag} does not fix its sequence length"
        )
    return model.network


def main(args: argparse.Namespace) -> None:
    if args.json:
        check_output_file(args.json, "--json")  # before the work
    if args.tile_rows is not None and args.dataflow != "mwl":
        raise ConfigError(
            f"--tile-rows applies to --dataflow mwl only, not --dataflow {args.dataflow}"
        )
    given = load_spec(args.network) if args.network else _imported(args)
    known = args.known_inputs and given.is_autoregressive
    network = adjust(given, args)
    backend = sram_backend(args.energy_backend)
    if backend is None and not args.bank_for_clock:
        note("--no-bank-for-clock has no effect with --energy-backend none")
    ev = evaluate(
        network, arch(args), args.dataflow, args.tile_rows, backend,
        bank_for_clock=args.bank_for_clock,
    )  # fmt: skip
    print(layer_table(ev))
    print()
    print(summary_text(ev, known))
    if args.json:
        write_json(args.json, evaluation_json(ev, known))
