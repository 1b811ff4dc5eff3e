"""``epur reproduce``: the paper's evaluation, as text and optionally a report folder."""

from __future__ import annotations

import argparse
import sys

from epur._files import check_output_folder, shown, write_folder
from epur.cli._common import arch
from epur.energy.backend import sram_backend
from epur.report import reproduce
from epur.report.measured import load_baselines
from epur.report.reproduce import Reproduction
from epur.report.reproduction_results import ReproductionResults, reproduction_results
from epur.report.results import reproduction_text
from epur.workload import ZOO_NAMES

__all__ = ["REPORT_FILES", "main"]

# every file ``--out DIR`` may hold: a DIR holding results.json and only these is an
# earlier result, which a new one replaces; anything else there is refused
REPORT_FILES = frozenset(
    {"report.html", "results.json", "results.md"}
    | {f"{name}.{ext}" for name in ("area_breakdown", "energy_breakdown", "vs_tegra_x1",
                                                  "tornado_energy_reduction", "tornado_speedup")
       for ext in ("png", "svg")}
)  # fmt: skip
MARKER = "results.json"


def main(args: argparse.Namespace) -> None:
    if args.out is not None:  # refused at once, not after the evaluation
        check_output_folder(args.out, "--out", REPORT_FILES, MARKER)
    baselines = load_baselines(args.baseline_json or [])  # every file read before the work
    backend = sram_backend(args.energy_backend)
    # GMAT twice (faithful and with known inputs), then the sensitivity and consistency
    total = len(ZOO_NAMES) + 1 + (backend is not None)
    done = [0]
    where = backend.name if backend is not None else "no"

    def progress(what: str) -> None:
        done[0] += 1
        line = f"[{done[0]}/{total}] {what} ({where} SRAM figures)"
        if sys.stderr.isatty():  # a bar redrawn in place; plain lines in logs
            bar = "#" * (20 * done[0] // total)
            end = "\n" if done[0] == total else ""
            print(f"\r[{bar:<20}] {line:<80}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    rep = reproduce(arch(args), backend, progress)
    results = reproduction_results(rep, baselines)
    text = reproduction_text(results, rep.changes)
    print(text)
    if args.out is not None:
        _write(args.out, results, text, rep)


def _write(out: str, results: ReproductionResults, text: str, rep: Reproduction) -> None:
    """Render every file first, then write them all as the folder ``out``: all or nothing
    (``write_folder``)."""
    from epur.report.html import report_files

    files = report_files(rep, results, text)
    write_folder(out, files, "--out", REPORT_FILES, MARKER)
    print(f"\nwrote {', '.join(sorted(files))} in {shown(out)}")
