"""The ``epur`` subcommands around the models: ``rtl`` (the hardware), ``baseline``
(measured devices) and ``compare`` (peer simulators); ``_parser.build_parser`` adds them.
Like ``_parser``, this module imports nothing heavy."""

from __future__ import annotations

import argparse
from typing import Any

from epur.cli._parser import (
    BACKENDS,
    _add_arch_options,
    _add_model_source,
    _add_network_options,
    _integer,
    _network_help,
    _nonnegative_int,
    _Parser,
    _positive_int,
    _threads,
)

__all__ = ["RTL_UNITS", "SCALESIM_DATAFLOWS", "add_baseline", "add_compare", "add_rtl"]

RTL_UNITS = ("dpu", "cu", "mfu")  # == epur.rtl.top.UNITS


def _lanes(text: str) -> int:
    """A lane count: any integer here; ``epur.rtl.top.check`` says which it supports."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None


def add_rtl(sub: Any) -> None:
    rtl = sub.add_parser(
        "rtl",
        help="Verilog of the computation unit, and its synthesis to gates (epur[rtl])",
        description="The RTL of E-PUR's computation unit (DPU, CU, MFU) in Amaranth, for "
        "fixed-point formats and a power-of-two number of lanes: its Verilog, and its "
        "synthesis to generic cells with Yosys (pip install 'epur[rtl]').",
    )
    cmds = rtl.add_subparsers(dest="rtl_command", required=True, parser_class=_Parser,
                              metavar="ACTION", help="generate or stats")  # fmt: skip
    gen = cmds.add_parser(
        "generate",
        help="write one Verilog file per unit",
        description="Write one Verilog file per unit and manifest.json.",
    )
    stats = cmds.add_parser(
        "stats",
        help="synthesise with Yosys: cells by kind, NAND2 equivalents",
        description="Synthesise every unit to Yosys's generic cells and print the cells "
        "by kind, the flip-flops and the NAND2-equivalent count and area (docs/rtl.md).",
    )
    for p in (gen, stats):
        p.add_argument("--lanes", required=True, type=_lanes, metavar="L",
                       help="DPU lanes: a power of two from 1 to 256")  # fmt: skip
        p.add_argument("--format", required=True, metavar="qM.N",
                       help="the storage format, fixed point (8, 16 or 32 bits)")  # fmt: skip
        p.add_argument("--activation", default="pwl16", metavar="pwlN|lutN",
                       help="the MFU's sigmoid and tanh")  # fmt: skip
    gen.add_argument(
        "--out", required=True, metavar="DIR",
        help="the folder to write (an earlier result there is replaced; a folder holding "
        "other files is refused)",
    )  # fmt: skip
    stats.add_argument("--unit", choices=RTL_UNITS, action="append",
                       help="synthesise only this unit (repeatable; default: all)")  # fmt: skip
    stats.add_argument("--json", metavar="FILE", help="also write the counts as JSON")


def add_baseline(sub: Any) -> None:
    base = sub.add_parser(
        "baseline",
        help="measure a network with PyTorch on this CPU or GPU (epur[torch])",
        description="Run a network with PyTorch (nn.LSTM per layer; the model's weights "
        "when imported, random otherwise) and measure its latency per sequence (median and "
        "interquartile range of the repeats), energy where a counter is readable (RAPL, "
        "NVML), achieved weight bandwidth and FLOPS against the device's peaks, and the "
        "fixed cost per step (docs/baselines.md).",
    )
    _add_model_source(base, _network_help() + ", with random weights")
    base.add_argument("--device", required=True, choices=("cpu", "cuda"),
                      help="where PyTorch runs the network")  # fmt: skip
    base.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), default="fp32",
                      help="weights and activations")  # fmt: skip
    _add_network_options(base)
    base.add_argument("--repeats", type=_positive_int, default=10, metavar="N",
                      help="timed passes (after the warm-up)")  # fmt: skip
    base.add_argument("--warmup", type=_nonnegative_int, default=2, metavar="N",
                      help="untimed passes first")  # fmt: skip
    base.add_argument("--seed", type=_nonnegative_int, default=0,
                      help="seed of the random weights and inputs")  # fmt: skip
    base.add_argument("--threads", type=_threads, metavar="N",
                      help="PyTorch's CPU threads (default: PyTorch's, the cores available); "
                      "1 is steadiest on a machine shared with other work")  # fmt: skip
    base.add_argument("--json", metavar="FILE", help="also write the measurement as JSON "
                      "(epur-baseline/1)")  # fmt: skip
    base.add_argument("--platform-out", metavar="FILE", help="also write the device as a "
                      "platform file of the Tegra-style model (epur-platform/1)")  # fmt: skip


SCALESIM_DATAFLOWS = ("ws", "os", "is")  # == [d.value for d in epur.peers.SystolicDataflow]


def _sample_cycles(text: str) -> int:
    """SCALE-Sim's budget per distinct GEMM: 1,000 to 10,000,000 simulated cycles."""
    return _integer(text, 1_000, 10_000_000)


def add_compare(sub: Any) -> None:
    compare = sub.add_parser(
        "compare",
        help="a peer simulator beside epur: SCALE-Sim (epur[peers])",
        description="Run the network's GEMMs on a peer simulator and print its figures "
        "beside E-PUR's (pip install 'epur[peers]').",
    )
    peers = compare.add_subparsers(dest="peer", required=True, parser_class=_Parser,
                                   metavar="PEER", help="scalesim")  # fmt: skip
    ss = peers.add_parser(
        "scalesim",
        help="SCALE-Sim 3.0.0's systolic array beside E-PUR with as many MACs",
        description="Write the network's work (MWL's whole-sequence input GEMMs, the "
        "per-step recurrent GEMVs) as a SCALE-Sim topology and configuration, simulate a "
        "sample of each GEMM (whole folds), scale it, and print SCALE-Sim's cycles, "
        "utilisation and SRAM/DRAM traffic beside E-PUR's, with why they differ.",
    )
    _add_model_source(ss, _network_help())
    _add_arch_options(ss)
    _add_network_options(ss)
    ss.add_argument("--array", metavar="RxC", help="SCALE-Sim's array, rows x columns, "
                    "with E-PUR's MAC count (default: lanes x CUs, 16x4 on the paper "
                    "preset)")  # fmt: skip
    ss.add_argument("--dataflow", choices=SCALESIM_DATAFLOWS, default="ws",
                    dest="scalesim_dataflow", help="SCALE-Sim's dataflow: weight, output or "
                    "input stationary (E-PUR runs MWL)")  # fmt: skip
    ss.add_argument("--sample-cycles", type=_sample_cycles, default=40_000, metavar="N",
                    help="simulated cycles per distinct GEMM at most (about 25,000 a second; "
                    "a GEMM whose one fold is longer gets the closed form only)")  # fmt: skip
    ss.add_argument("--energy-backend", choices=BACKENDS, default="auto",
                    help="E-PUR's SRAM figures, as in epur simulate")  # fmt: skip
    ss.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    ss.add_argument("--out", metavar="DIR", help="keep SCALE-Sim's inputs, reports and "
                    "log there (a new or empty folder, or an earlier one)")  # fmt: skip
