"""The ``epur`` command line: thin subcommands over the library.

Every user mistake ends in one line on stderr and exit code 2; outputs are written
through a temporary file and a rename, so a failed run leaves nothing partial.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from epur._files import atomic_write_bytes, atomic_write_npz, atomic_write_text
from epur.arch import ArchConfig, load_arch
from epur.energy.backend import BACKENDS, sram_backend
from epur.errors import ConfigError, EpurError
from epur.evaluate import evaluate
from epur.report import (
    evaluation_json,
    format_table,
    layer_table,
    reproduce,
    reproduction_json,
    reproduction_table,
    sizes_json,
    sizes_table,
    summary_text,
)
from epur.schedule import Dataflow
from epur.timing import required_sizes
from epur.workload import ZOO_NAMES, Network, load_network, zoo_network
from epur.workload.zoo import zoo_record

__all__ = ["main"]

DATAFLOWS = [d.value for d in Dataflow]


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _add_arch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", metavar="FILE", help="architecture file (YAML/TOML) over the preset")
    p.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="assignments",
        help="override one architecture key, e.g. --set dpu.lanes=32 (repeatable)",
    )


def _add_energy_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--energy-backend",
        choices=BACKENDS,
        default="auto",
        help="SRAM figures: CACTI, the recorded CACTI table, or auto (CACTI when installed)",
    )


def _add_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--known-inputs",
        action="store_true",
        help="treat autoregressive (decoder) inputs as known: teacher forcing",
    )
    p.add_argument("--seq-len", type=_positive_int, metavar="N", help="override every seq_len")
    p.add_argument("--batch", type=_positive_int, metavar="N", help="override the batch size")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="epur", description="E-PUR LSTM accelerator simulator")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sim = sub.add_parser("simulate", help="cycles, memory traffic and buffer needs of a network")
    model = sim.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--network",
        metavar="NAME|FILE",
        help=f"one of {', '.join(ZOO_NAMES)}, or a network file (YAML/TOML)",
    )
    model.add_argument("--onnx", metavar="MODEL", help="the LSTM layers of an ONNX model")
    model.add_argument("--torch", metavar="FILE", help="an nn.LSTM state_dict (torch.save)")
    _add_arch_options(sim)
    sim.add_argument("--dataflow", choices=DATAFLOWS, default="baseline")
    sim.add_argument(
        "--tile-rows",
        type=_positive_int,
        metavar="N",
        help="MWL: rows of W per CU held at once (default: as many as fit)",
    )
    _add_network_options(sim)
    _add_energy_option(sim)
    sim.add_argument("--json", metavar="FILE", help="also write the results as JSON")

    rep = sub.add_parser("reproduce", help="the paper's evaluation on its four networks")
    _add_arch_options(rep)
    _add_energy_option(rep)
    rep.add_argument("--out", metavar="DIR", help="write the report, results and figures there")

    size = sub.add_parser("size", help="buffer capacities with nothing re-fetched or spilled")
    size.add_argument("--network", required=True, action="append", metavar="NAME|FILE")
    size.add_argument(
        "--dataflow",
        choices=DATAFLOWS,
        action="append",
        help="baseline or mwl (repeatable; default: both)",
    )
    _add_arch_options(size)
    _add_network_options(size)
    size.add_argument("--json", metavar="FILE", help="also write the sizes as JSON")

    run = sub.add_parser("run", help="execute a network in E-PUR's datapath; report its error")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", metavar="FILE", help="network file (random weights)")
    source.add_argument("--onnx", metavar="MODEL", help="ONNX model with LSTM nodes")
    source.add_argument("--torch", metavar="FILE", help="state_dict saved with torch.save")
    run.add_argument(
        "--input",
        required=True,
        metavar="X.npy|X.npz",
        help="input sequence [T, I] or [T, B, I]; for ONNX an .npz keyed by input name",
    )
    run.add_argument("--format", metavar="FMT", help="fp32, fp16, bf16, qM.N or int8")
    run.add_argument("--activation", metavar="ACT", help="exact, pwlN or lutN")
    run.add_argument("--dataflow", choices=DATAFLOWS, default="baseline")
    run.add_argument("--seed", type=int, default=0, help="random weights for --network")
    _add_arch_options(run)
    run.add_argument("--out", required=True, metavar="Y.npz", help="where to write the outputs")

    nets = sub.add_parser("networks", help="list the built-in networks")
    nets.add_argument("--json", metavar="FILE", help="also write the list as JSON")
    return parser


def _load(spec: str) -> Network:
    """A zoo network by name, or a network file."""
    if spec.lower() in ZOO_NAMES:
        return zoo_network(spec)
    if Path(spec).suffix.lower() in {".yaml", ".yml", ".toml"}:
        return load_network(spec)
    raise ConfigError(
        f"--network must be one of {', '.join(ZOO_NAMES)} or a .yaml/.toml file, not {spec!r}"
    )


def _adjust(network: Network, args: argparse.Namespace) -> Network:
    """Apply ``--known-inputs``, ``--seq-len`` and ``--batch``."""
    if args.known_inputs:
        network = network.with_known_inputs()
    if args.seq_len is not None:
        network = network.with_seq_len(args.seq_len)
    if args.batch is not None:
        network = replace(network, batch=args.batch)
    return network


def _arch(args: argparse.Namespace) -> ArchConfig:
    return load_arch(args.arch, args.assignments)


def _write_json(path: str, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _imported(args: argparse.Namespace) -> Network:
    """The network of ``--onnx`` or ``--torch`` (their sequence length: ``--seq-len``)."""
    from epur.workload.importers import from_onnx, from_torch

    model = from_onnx(args.onnx) if args.onnx else from_torch(args.torch)
    if args.seq_len is None and all(s.seq_len == 1 for s in model.network.stacks):
        print("note: the model does not fix its sequence length; 1 step (use --seq-len)")
    return model.network


def _simulate(args: argparse.Namespace) -> None:
    network = _load(args.network) if args.network else _imported(args)
    known = args.known_inputs and network.is_autoregressive
    backend = sram_backend(args.energy_backend)
    ev = evaluate(_adjust(network, args), _arch(args), args.dataflow, args.tile_rows, backend)
    print(layer_table(ev))
    print()
    print(summary_text(ev, known))
    if args.json:
        _write_json(args.json, evaluation_json(ev, known))


def _reproduce(args: argparse.Namespace) -> None:
    backend = sram_backend(args.energy_backend)
    total = 1 + len(ZOO_NAMES) + 1  # banking the baseline design; GMAT twice
    done = [0]

    def progress(what: str) -> None:
        done[0] += 1
        line = f"[{done[0]}/{total}] {what} ({backend.name} SRAM figures)"
        if sys.stderr.isatty():  # a bar redrawn in place; plain lines in logs
            bar = "#" * (20 * done[0] // total)
            end = "\n" if done[0] == total else ""
            print(f"\r[{bar:<20}] {line:<60}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    rep = reproduce(_arch(args), backend, progress)
    data = reproduction_json(rep)
    claims = format_table(
        ["claim", "paper", "epur", "gap"],
        [[row["claim"], row["paper"], row["epur"], row["gap"]] for row in data["paper_vs_epur"]],
        right=set(),
    )
    text = reproduction_table(data) + "\n\npaper vs epur:\n" + claims
    print(text)
    if args.out:
        _write_reproduction(Path(args.out), data, text, rep)


def _write_reproduction(out: Path, data: dict[str, Any], text: str, rep: Any) -> None:
    """Render everything first, then write each file atomically: a failure leaves none."""
    from epur.report.html import report_html
    from epur.report.plots import area_breakdown, energy_breakdown, versus_tegra

    if out.exists() and not out.is_dir():
        raise EpurError(f"--out must be a folder, but {out} is a file")
    files: dict[str, bytes] = {}
    if data["summary"]["energy_reduction_vs_tegra_x1_avg"] is not None:
        areas = {name: dict(ev.energy_table.area_mm2) for name, ev in rep.cases[0].designs.items()}
        files |= energy_breakdown(data) | versus_tegra(data) | area_breakdown(areas)
        backend = data["summary"]["energy_backend"]
        files["report.html"] = report_html(data, files, backend).encode("utf-8")
    files["results.json"] = (json.dumps(data, indent=2) + "\n").encode("utf-8")
    files["results.md"] = (text + "\n").encode("utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        atomic_write_bytes(out / name, content)
    print(f"\nwrote {', '.join(sorted(files))} in {out}")


def _size(args: argparse.Namespace) -> None:
    arch = _arch(args)
    flows = args.dataflow or DATAFLOWS
    sizes = [
        required_sizes(_adjust(_load(spec), args), arch, flow)
        for spec in args.network
        for flow in flows
    ]
    print(sizes_table(sizes))
    if args.json:
        _write_json(args.json, sizes_json(sizes))


def _networks(args: argparse.Namespace) -> None:
    rows = []
    for key in ZOO_NAMES:
        net, rec = zoo_network(key), zoo_record(key)
        rows.append(
            {
                "name": key,
                "task": rec["task"],
                "one_way_lstm_layers": sum(
                    getattr(layer, "directions", 1) for _, layer in net.layers()
                ),
                "parameters": net.parameter_count(),
                "seq_len": {s.name: s.seq_len for s in net.stacks},
                "autoregressive": net.is_autoregressive,
                "frame_period_s": net.frame_period_s,
                "confidence": rec["confidence"],
            }
        )
    width = max(len(r["task"]) for r in rows)
    print(f"{'name':10s} {'task':{width}s} {'layers':>6s} {'params':>12s}  seq_len")
    for r in rows:
        seq = ", ".join(f"{k} {v}" for k, v in r["seq_len"].items())
        layers, params = r["one_way_lstm_layers"], r["parameters"]
        print(f"{r['name']:10s} {r['task']:{width}s} {layers:6d} {params:12,d}  {seq}")
    if args.json:
        _write_json(args.json, {"schema_version": 1, "networks": rows})


def _run(args: argparse.Namespace) -> None:
    import numpy as np

    from epur.api import run
    from epur.workload.importers import from_onnx, from_torch
    from epur.workload.weights import random_weights

    model: Any
    if args.onnx:
        model = from_onnx(args.onnx)
    elif args.torch:
        model = from_torch(args.torch)
    else:
        network = load_network(args.network)
        model = (network, random_weights(network, np.random.default_rng(args.seed)))
    inputs = _read_input(args.input)
    out = run(model, inputs, arch=_arch(args), fmt=args.format, activation=args.activation,
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


COMMANDS = {
    "simulate": _simulate,
    "reproduce": _reproduce,
    "size": _size,
    "networks": _networks,
    "run": _run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``epur`` command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except EpurError as exc:
        print(f"epur {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"epur {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
