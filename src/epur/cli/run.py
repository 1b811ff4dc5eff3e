"""``epur run``: execute a network in E-PUR's datapath and report its error.

A run that takes more than ``PROGRESS_AFTER_S`` seconds (or any run when stderr is
a terminal) reports its progress on stderr: on a terminal, one bar over layers and
steps redrawn in place; elsewhere (a log), one plain line per layer as it starts.
Short runs print nothing there. The report ends with the time of the datapath and of
the float64 reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from epur._files import check_output_file, read_arrays, write_npz
from epur.cli._common import arch, load_spec
from epur.errors import ConfigError
from epur.report import format_table

__all__ = ["PROGRESS_AFTER_S", "main"]

PROGRESS_AFTER_S = 2.0


def main(args: argparse.Namespace) -> None:
    import numpy as np

    from epur.api import run

    check_output_file(args.out, "--out")  # before the run, which may take minutes
    model: Any
    batch_first = None
    if args.onnx:
        from epur.workload.importers.onnx import from_onnx

        if args.batch_first:
            raise ConfigError(
                "--batch-first applies to --torch and --network; an ONNX model's graph "
                "fixes its layout"
            )
        model = from_onnx(args.onnx)
    elif args.torch:
        from epur.workload.importers.torch import from_torch

        model = from_torch(args.torch, batch_first=args.batch_first)
    inputs = read_arrays(args.input, "--input")
    if not (args.onnx or args.torch):
        from epur.api import check_run_memory
        from epur.workload.weights import random_weights

        network = load_spec(args.network)
        batch_first = args.batch_first
        check_run_memory(network, inputs, dataflow=args.dataflow, batch_first=batch_first)
        model = (network, random_weights(network, np.random.default_rng(args.seed)))
    report = _Progress(sys.stderr.isatty())
    try:
        out = run(model, inputs, arch=arch(args), fmt=args.format, activation=args.activation,
                  dataflow=args.dataflow, batch_first=batch_first, progress=report.line,
                  step_progress=report.steps if report.tty else None,
                  threads=args.threads)  # fmt: skip
    finally:
        report.close()
    rows = [[e.layer, f"{e.max_abs:.3e}", f"{e.rms:.3e}", f"{e.relative:.3e}"] for e in out.errors]
    print("error against the float64 reference:")
    print(format_table(["output", "max abs", "RMS", "relative"], rows))
    t = out.timings
    print(f"datapath {t.datapath_s:.2f} s, float64 reference {t.reference_s:.2f} s")
    write_npz(args.out, out.outputs, "--out")
    print(f"wrote {args.out} ({', '.join(f'{k} {list(v.shape)}' for k, v in out.outputs.items())})")


class _Progress:
    """Progress on stderr once the run has taken ``PROGRESS_AFTER_S`` seconds (at once on
    a terminal): a bar over steps redrawn in place on a terminal, else a line per layer."""

    BAR = 30
    REDRAW_S = 0.1

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.start = time.monotonic()
        self.layer = ""
        self.drawn = 0.0
        self.width = 0

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        if self.tty:
            self.layer = text
        elif elapsed >= PROGRESS_AFTER_S:
            print(f"epur run: {elapsed:6.1f} s  {text}", file=sys.stderr, flush=True)

    def steps(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.drawn < self.REDRAW_S and done < total:
            return
        self.drawn = now
        filled = self.BAR * done // max(total, 1)
        bar = "#" * filled + "." * (self.BAR - filled)
        pct = 100 * done // max(total, 1)
        text = f"epur run: {now - self.start:6.1f} s [{bar}] {pct:3d}%  {self.layer}"
        print("\r" + text.ljust(self.width), end="", file=sys.stderr, flush=True)
        self.width = len(text)

    def close(self) -> None:
        if self.tty and self.width:
            print(file=sys.stderr, flush=True)
