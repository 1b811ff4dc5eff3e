"""``epur run``: execute a network in E-PUR's datapath and report its error.

A run that takes more than ``PROGRESS_AFTER_S`` seconds (or any run when stderr is
a terminal) reports each layer on stderr as it starts; short runs print nothing
there.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
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
    out = run(model, inputs, arch=arch(args), fmt=args.format, activation=args.activation,
              dataflow=args.dataflow, batch_first=batch_first,
              progress=_progress())  # fmt: skip
    rows = [[e.layer, f"{e.max_abs:.3e}", f"{e.rms:.3e}", f"{e.relative:.3e}"] for e in out.errors]
    print("error against the float64 reference:")
    print(format_table(["output", "max abs", "RMS", "relative"], rows))
    write_npz(args.out, out.outputs, "--out")
    print(f"wrote {args.out} ({', '.join(f'{k} {list(v.shape)}' for k, v in out.outputs.items())})")


def _progress() -> Callable[[str], None]:
    """Layer-by-layer progress on stderr, once the run has taken ``PROGRESS_AFTER_S``
    seconds (at once on a terminal)."""
    start = time.monotonic()
    tty = sys.stderr.isatty()

    def report(line: str) -> None:
        elapsed = time.monotonic() - start
        if tty or elapsed >= PROGRESS_AFTER_S:
            print(f"epur run: {elapsed:6.1f} s  {line}", file=sys.stderr, flush=True)

    return report
