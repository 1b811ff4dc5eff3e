"""``epur size``: buffer capacities with nothing re-fetched or spilled."""

from __future__ import annotations

import argparse

from epur._files import check_output_file
from epur.cli._common import adjust, arch, load_spec, write_json
from epur.cli._parser import DATAFLOWS
from epur.report import sizes_json, sizes_table
from epur.timing import required_sizes

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    if args.json:
        check_output_file(args.json, "--json")  # before the work
    design = arch(args)
    flows = args.dataflow or DATAFLOWS
    sizes = [
        required_sizes(adjust(load_spec(spec), args), design, flow)
        for spec in args.network
        for flow in flows
    ]
    print(sizes_table(sizes))
    if args.json:
        write_json(args.json, sizes_json(sizes))
