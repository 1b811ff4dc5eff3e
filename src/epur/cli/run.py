"""``epur run``: execute a network in E-PUR's datapath and report its error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from epur._files import atomic_write_npz
from epur.cli._common import arch, load_spec
from epur.errors import ConfigError
from epur.report import format_table

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    import numpy as np

    from epur.api import run

    model: Any
    if args.onnx:
        from epur.workload.importers.onnx import from_onnx

        model = from_onnx(args.onnx)
    elif args.torch:
        from epur.workload.importers.torch import from_torch

        model = from_torch(args.torch, batch_first=args.batch_first)
    else:
        from epur.workload.weights import random_weights

        network = load_spec(args.network)
        model = (network, random_weights(network, np.random.default_rng(args.seed)))
    inputs = _read_input(args.input)
    out = run(model, inputs, arch=arch(args), fmt=args.format, activation=args.activation,
              dataflow=args.dataflow)  # fmt: skip
    rows = [[e.layer, f"{e.max_abs:.3e}", f"{e.rms:.3e}", f"{e.relative:.3e}"] for e in out.errors]
    print("error against the float64 reference:")
    print(format_table(["output", "max abs", "RMS", "relative"], rows))
    atomic_write_npz(args.out, out.outputs)
    print(f"wrote {args.out} ({', '.join(f'{k} {list(v.shape)}' for k, v in out.outputs.items())})")


def _read_input(path: str) -> Any:
    import numpy as np

    p = Path(path)
    if p.suffix.lower() not in {".npy", ".npz"}:
        raise ConfigError(f"--input must be a .npy or .npz file, not {path!r}")
    try:
        data = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(f"--input file {path} does not exist") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ConfigError(f"--input file {path} is not a readable numpy file: {exc}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return {key: data[key] for key in data.files}
    return data
