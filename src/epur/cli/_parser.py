"""The ``epur`` argument parser: every subcommand, option, default and help text.

This module imports nothing heavy (no numpy, pydantic, ONNX or PyTorch), so that
``epur --help`` answers at once; the closed sets it offers (zoo names, dataflows,
SRAM backends) are spelled here and checked against the library by the tests.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

__all__ = ["BACKENDS", "DATAFLOWS", "ZOO_NAMES", "build_parser"]

ZOO_NAMES = ("eesen", "gmat", "bysdne", "rldradspr")  # == epur.workload.ZOO_NAMES
DATAFLOWS = ("baseline", "mwl")  # == [d.value for d in epur.schedule.Dataflow]
DEFAULT_DATAFLOW = "mwl"  # E-PUR's own dataflow
BACKENDS = ("auto", "cacti", "table", "none")  # == epur.energy.BACKENDS
MAX_COUNT = 2**24  # == epur.workload.network.MAX_SIZE: --seq-len, --batch, --tile-rows
MAX_THREADS = 256  # == epur.api.MAX_THREADS
MAX_WORKERS = 1024  # == epur.sweep.executors.MAX_WORKERS


class _Formatter(argparse.HelpFormatter):
    """Help that shows every default (but not ``None`` or ``False``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        hidden = (
            default is None or default is False or default == [] or default == argparse.SUPPRESS
        )
        shown = not hidden
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


class _Once(argparse.Action):
    """Mix-in: a single-valued option given twice is an error, not 'the last one wins'."""

    def _check_once(self, namespace: argparse.Namespace) -> None:
        seen: set[str] = namespace.__dict__.setdefault("_given", set())
        if self.dest in seen:
            raise argparse.ArgumentError(self, "given more than once")
        seen.add(self.dest)


class _StoreOnce(_Once):
    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
        option_string: str | None = None,
    ) -> None:  # fmt: skip
        self._check_once(namespace)
        setattr(namespace, self.dest, values)


class _StoreTrueOnce(_Once):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("default", False)
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
        option_string: str | None = None,
    ) -> None:  # fmt: skip
        self._check_once(namespace)
        setattr(namespace, self.dest, True)


class _Parser(argparse.ArgumentParser):
    """One-line errors (exit code 2), defaults in the help, options given at most once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)
        self.register("action", "store_true", _StoreTrueOnce)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(text: str, low: int, high: int) -> int:
    """``text`` as an integer in ``low..high``, or argparse's one-line error."""
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"must be an integer from {low:,} to {high:,}, not {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    """A count of steps, sequences or rows: 1 to 2**24, as in a network file."""
    return _integer(text, 1, MAX_COUNT)


def _nonnegative_int(text: str) -> int:
    """A seed: 0 to 2**32 - 1, what numpy's generators take."""
    return _integer(text, 0, 2**32 - 1)


def _threads(text: str) -> int:
    """A thread count: 1 to ``MAX_THREADS``."""
    return _integer(text, 1, MAX_THREADS)


def _add_arch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--arch",
        metavar="FILE",
        help="architecture file (YAML/TOML) whose keys override the paper preset",
    )
    p.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="assignments",
        help="override one architecture key, e.g. --set dpu.lanes=32 (repeatable; "
        "applied after --arch)",
    )


def _add_energy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--energy-backend",
        choices=BACKENDS,
        default="auto",
        help="SRAM figures: CACTI 7, the CACTI results recorded in the repository, auto "
        "(CACTI when it runs here, else the recorded ones), or none (timing only: every "
        "SRAM access takes one cycle, no energy or area)",
    )
    p.add_argument(
        "--bank-for-clock",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="split each SRAM into more banks until CACTI's cycle time fits the clock "
        "(as epur reproduce does); needs an SRAM backend",
    )


def _add_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--known-inputs",
        action="store_true",
        help="treat autoregressive (decoder) inputs as known: teacher forcing",
    )
    p.add_argument(
        "--seq-len",
        type=_positive_int,
        metavar="N",
        help="run every stack for N steps (required for models that do not fix it)",
    )
    p.add_argument("--batch", type=_positive_int, metavar="N", help="sequences processed together")


def _network_help() -> str:
    return f"one of {', '.join(ZOO_NAMES)}, or a network file (YAML/TOML)"


def _add_model_source(p: argparse.ArgumentParser, network_help: str) -> None:
    """Exactly one of ``--network``, ``--onnx`` and ``--torch``."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", metavar="NAME|FILE", help=network_help)
    source.add_argument("--onnx", metavar="MODEL", help="an ONNX model with LSTM nodes")
    source.add_argument(
        "--torch", metavar="FILE", help="an nn.LSTM state_dict (and head) saved with torch.save"
    )


def _add_dataflow(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataflow", choices=DATAFLOWS, default=DEFAULT_DATAFLOW,
                   help="MWL (E-PUR's) or the time-step-major baseline")  # fmt: skip


def _add_simulate(sub: Any) -> None:
    sim = sub.add_parser(
        "simulate",
        help="cycles, memory traffic, energy and area of a network",
        description="Schedule a network on an E-PUR design and report its timing, memory "
        "traffic, buffer needs, energy and area.",
    )
    _add_model_source(sim, _network_help())
    _add_arch_options(sim)
    _add_dataflow(sim)
    sim.add_argument(
        "--tile-rows",
        type=_positive_int,
        metavar="N",
        help="MWL only: rows of W per CU held at once (default: as many as fit)",
    )
    _add_network_options(sim)
    _add_energy_options(sim)
    sim.add_argument(
        "--logic-area", choices=("table", "rtl"), default="table",
        help="DPU and MFU area: published per-operation tables, or the RTL synthesised with "
        "Yosys (fixed-point storage, power-of-two lanes, pwlN/lutN; cached; shown side by side)",
    )  # fmt: skip
    sim.add_argument("--json", metavar="FILE", help="also write the results as JSON")


def _add_reproduce(sub: Any) -> None:
    rep = sub.add_parser(
        "reproduce",
        help="the paper's evaluation on its four networks",
        description="The paper's evaluation: three E-PUR designs and a modelled Tegra X1 "
        "on EESEN, GMAT, BYSDNE and RLDRADSPR.",
    )
    _add_arch_options(rep)
    rep.add_argument(
        "--energy-backend",
        choices=BACKENDS[:3],
        default="auto",
        help="SRAM figures: CACTI 7, the CACTI results recorded in the repository, or auto "
        "(CACTI when it runs here, else the recorded ones)",
    )
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="write report.html, results.json, results.md and figures there, all at once "
        "(an earlier result in DIR is replaced; a folder holding other files is refused)",
    )
    rep.add_argument(
        "--baseline-json", nargs="+", action="extend", metavar="FILE",
        help="measured baselines (epur baseline --json) to report beside E-PUR and the "
        "modelled Tegra X1: latency, energy, E-PUR's speedup and energy ratio (repeatable)",
    )  # fmt: skip


def _add_size(sub: Any) -> None:
    size = sub.add_parser(
        "size",
        help="buffer capacities with nothing re-fetched or spilled",
        description="The weight buffer, input buffer and intermediate memory a network "
        "needs so that no weight is re-fetched and no sequence spills to DRAM.",
    )
    size.add_argument(
        "--network", required=True, action="append", metavar="NAME|FILE",
        help=_network_help() + " (repeatable)",
    )  # fmt: skip
    size.add_argument(
        "--dataflow",
        choices=DATAFLOWS,
        action="append",
        help="baseline or mwl (repeatable; default: both)",
    )
    _add_arch_options(size)
    _add_network_options(size)
    size.add_argument("--json", metavar="FILE", help="also write the sizes as JSON")


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="execute a network in E-PUR's datapath; report its error",
        description="Execute a network with real weights exactly as E-PUR's datapath would "
        "and report its error against a float64 reference, layer by layer.",
    )
    _add_model_source(run, _network_help() + ", with random weights")
    run.add_argument(
        "--input",
        required=True,
        metavar="X.npy|X.npz",
        help="input sequence [T, I] or [T, B, I] (.npy); an .npz keyed by ONNX input name "
        "or, for networks of several stacks, by stack name",
    )
    run.add_argument(
        "--batch-first",
        action="store_true",
        help="inputs and outputs are [B, T, ...] (PyTorch's batch_first; a live module's "
        "own setting is used by the Python API)",
    )
    run.add_argument("--format", metavar="FMT", help="fp32, fp16, bf16, qM.N or int8 "
                     "(default: the architecture's formats, fp16 on the paper preset)")  # fmt: skip
    run.add_argument("--activation", metavar="ACT", help="exact, pwlN or lutN "
                     "(default: the architecture's, exact on the paper preset)")  # fmt: skip
    _add_dataflow(run)
    run.add_argument("--seed", type=_nonnegative_int, default=0,
                     help="seed of the random weights (--network)")  # fmt: skip
    run.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        help=f"at most N threads (1 to {MAX_THREADS}) in the compiled kernels, numpy's "
        "OpenBLAS and the datapath's workers; results are the same for every N "
        "(default: the cores available to the process)",
    )
    _add_arch_options(run)
    run.add_argument("--out", required=True, metavar="Y.npz", help="where to write the outputs")


def _workers(text: str) -> int:
    """A worker count: 1 to ``MAX_WORKERS``."""
    return _integer(text, 1, MAX_WORKERS)


def _add_sweep(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="design-space exploration: evaluate every point of a sweep spec",
        description="Evaluate every point of a sweep spec (YAML/TOML: axes over design "
        "fields, networks, sampling, constraints, objectives) into DIR/results.sqlite, one "
        "row per point as it completes, then write the Pareto fronts and summary; or, with "
        "--report DIR, render the HTML report of a finished sweep.",
    )
    sweep.add_argument("spec", nargs="?", metavar="SPEC", help="the sweep spec (YAML/TOML)")
    sweep.add_argument("--out", metavar="DIR", help="where the results store and summary go")
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="finish the sweep in --out: skip the points already stored",
    )
    sweep.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="local worker processes (default: the cores available; 1: this process)",
    )
    sweep.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the points on this Dask cluster instead (pip install 'epur[dask]')",
    )
    sweep.add_argument(
        "--report", metavar="DIR", help="render DIR/report.html from a finished sweep, and stop"
    )


def build_parser(version: str) -> argparse.ArgumentParser:
    """The ``epur`` parser with all its subcommands (``_parser_tools``: rtl, compare,
    baseline)."""
    parser = _Parser(prog="epur", description="E-PUR LSTM accelerator simulator")
    parser.add_argument("--version", action="version", version=f"epur {version}")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    _add_simulate(sub)
    _add_reproduce(sub)
    _add_size(sub)
    _add_run(sub)
    _add_sweep(sub)
    nets = sub.add_parser(
        "networks",
        help="list the built-in networks",
        description="The paper's four networks, built in.",
    )
    nets.add_argument("--json", metavar="FILE", help="also write the list as JSON")
    from epur.cli._parser_tools import add_baseline, add_compare, add_rtl

    add_rtl(sub)
    add_compare(sub)
    add_baseline(sub)
    return parser
