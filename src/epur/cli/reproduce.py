"""``epur reproduce``: the paper's evaluation, as text and optionally a report folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from epur._files import atomic_write_bytes
from epur.cli._common import arch
from epur.energy.backend import sram_backend
from epur.errors import EpurError
from epur.report import format_table, reproduce, reproduction_json, reproduction_table
from epur.workload import ZOO_NAMES

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    backend = sram_backend(args.energy_backend)
    total = 1 + len(ZOO_NAMES) + 1  # banking the baseline design; GMAT twice
    done = [0]
    where = backend.name if backend is not None else "no"

    def progress(what: str) -> None:
        done[0] += 1
        line = f"[{done[0]}/{total}] {what} ({where} SRAM figures)"
        if sys.stderr.isatty():  # a bar redrawn in place; plain lines in logs
            bar = "#" * (20 * done[0] // total)
            end = "\n" if done[0] == total else ""
            print(f"\r[{bar:<20}] {line:<60}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    rep = reproduce(arch(args), backend, progress)
    data = reproduction_json(rep)
    claims = format_table(
        ["claim", "paper", "epur", "gap"],
        [[row["claim"], row["paper"], row["epur"], row["gap"]] for row in data["paper_vs_epur"]],
        right=set(),
    )
    text = reproduction_table(data) + "\n\npaper vs epur:\n" + claims
    print(text)
    if args.out:
        _write(Path(args.out), data, text, rep)


def _write(out: Path, data: dict[str, Any], text: str, rep: Any) -> None:
    """Render everything first, then write each file atomically: a failure leaves none."""
    from epur.report.html import report_html
    from epur.report.plots import area_breakdown, energy_breakdown, versus_tegra

    if out.exists() and not out.is_dir():
        raise EpurError(f"--out must be a folder, but {out} is a file")
    files: dict[str, bytes] = {}
    if data["summary"]["energy_reduction_vs_tegra_x1_avg"] is not None:
        areas = {name: dict(ev.energy_table.area_mm2) for name, ev in rep.cases[0].designs.items()}
        files |= energy_breakdown(data) | versus_tegra(data) | area_breakdown(areas)
        files["report.html"] = report_html(data, files, data["summary"]["energy_backend"]).encode(
            "utf-8"
        )
    files["results.json"] = (json.dumps(data, indent=2) + "\n").encode("utf-8")
    files["results.md"] = (text + "\n").encode("utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        atomic_write_bytes(out / name, content)
    print(f"\nwrote {', '.join(sorted(files))} in {out}")
