"""``epur reproduce``: the paper's evaluation, as text and optionally a report folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from epur._files import atomic_write_bytes
from epur.cli._common import arch
from epur.energy.backend import sram_backend
from epur.errors import EpurError
from epur.report import reproduce, reproduction_json
from epur.report.reproduce import Reproduction
from epur.report.results import reproduction_text
from epur.workload import ZOO_NAMES

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    backend = sram_backend(args.energy_backend)
    total = len(ZOO_NAMES) + 1  # GMAT twice: faithful and with known inputs
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
    text = reproduction_text(data, rep.changes)
    print(text)
    if args.out:
        _write(Path(args.out), data, text, rep)


def _write(out: Path, data: dict[str, Any], text: str, rep: Reproduction) -> None:
    """Render everything first, then write each file atomically: a failure leaves none."""
    from epur.report.html import report_files

    if out.exists() and not out.is_dir():
        raise EpurError(f"--out must be a folder, but {out} is a file")
    files = report_files(rep, data, text)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        atomic_write_bytes(out / name, content)
    print(f"\nwrote {', '.join(sorted(files))} in {out}")
