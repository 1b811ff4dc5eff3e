"""``epur simulate``: timing, memory traffic, energy and area of one network."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from epur._files import check_output_file
from epur.cli._common import adjust, arch, load_spec, note, write_json
from epur.energy import EnergyTable, energy_table
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
    design = arch(args)
    rtl = args.logic_area == "rtl"
    if rtl and backend is None:
        note("--logic-area rtl has no effect with --energy-backend none (no area)")
    elif rtl:
        from epur.cli._rtl_area import check_rtl_area

        check_rtl_area(design)  # before the work
    ev = evaluate(
        network, design, args.dataflow, args.tile_rows, backend,
        bank_for_clock=args.bank_for_clock,
    )  # fmt: skip
    both = None
    if rtl and ev.energy_table is not None:
        from epur.cli._rtl_area import rtl_logic_area

        table = ev.energy_table  # the published tables' logic area
        area = rtl_logic_area(design)  # synthesised, or from the cache
        # the energies do not depend on the area: only the table's areas change
        rtl_table = energy_table(ev.arch, table.srams, logic_area=area)
        ev = replace(ev, energy_table=rtl_table)
        both = _side_by_side(table, rtl_table)
    print(layer_table(ev))
    print()
    print(summary_text(ev, known))
    if both is not None:
        print()
        print(_side_by_side_text(both))
    if args.json:
        data = evaluation_json(ev, known)
        if both is not None:
            data["logic_area"] = both
        write_json(args.json, data)


def _areas(table: EnergyTable) -> dict[str, float]:
    return {
        "dpu": table.area_mm2["dpu"],
        "mfu": table.area_mm2["mfu"],
        "chip": table.chip_area_mm2,
    }


def _side_by_side(table: EnergyTable, rtl: EnergyTable) -> dict[str, Any]:
    """The DPUs', MFUs' and chip's area (mm^2) with the published per-operation tables'
    logic and with the RTL's synthesised logic; which one the results use."""
    return {"table": _areas(table), "rtl": _areas(rtl), "used": "rtl"}


def _side_by_side_text(both: dict[str, Any]) -> str:
    lines = [
        "logic area (mm2, all CUs)  table      rtl  (rtl used above)",
        *(
            f"  {name:<24} {both['table'][name]:>7.3f}  {both['rtl'][name]:>7.3f}"
            for name in ("dpu", "mfu", "chip")
        ),
        "  note: table: published per-operation areas (epur.energy.logic); rtl: Yosys gate "
        "count of the RTL's DPU and MFU, NanGate 45 nm NAND2 equivalents scaled to the node, "
        "no wiring or placement (docs/rtl.md)",
    ]
    return "\n".join(lines)
