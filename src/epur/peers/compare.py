"""SCALE-Sim beside E-PUR: the network's GEMMs on a systolic array of the same MACs.

``compare_scalesim`` evaluates the network on E-PUR (``epur.evaluation.evaluate``, MWL),
lists its GEMMs (``epur.peers.gemms``), simulates a sample of each distinct GEMM with
SCALE-Sim (whole folds, the streamed dimension whole: ``epur.peers.systolic.sample``) in
one run, and scales the sample to the GEMM and the GEMM by how often it runs. A GEMM
whose single fold is over the budget is given by the closed form only (cycles, no
accesses). Every GEMM also carries the closed form, the cross-check of the adapter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from epur.arch import ArchConfig
from epur.energy import SramBackend
from epur.errors import ConfigError
from epur.evaluation import Evaluation, evaluate
from epur.peers.gemms import Gemm, GemmKind, network_gemms
from epur.peers.scalesim import (
    SRAM_KB,
    Accesses,
    ScaleSimLayer,
    installed_version,
    run_scalesim,
)
from epur.peers.systolic import (
    Array,
    Sample,
    SystolicDataflow,
    closed_form_cycles,
    fill_cycles,
    sample,
)
from epur.schedule import Dataflow
from epur.workload.network import Network

__all__ = [
    "DEFAULT_SAMPLE_CYCLES",
    "GemmResult",
    "ScaleSimComparison",
    "Source",
    "compare_scalesim",
    "default_array",
    "scale_layer",
]

DEFAULT_SAMPLE_CYCLES = 40_000  # simulated cycles per distinct GEMM: about 1.5 s each
REFETCH = 1.5  # a sample's DRAM count above this x its operand's size means re-fetches


class Source(StrEnum):
    """Where a GEMM's SCALE-Sim figures come from."""

    SIMULATED = "simulated"  # the whole GEMM was simulated
    SAMPLED = "sampled"  # whole folds of it were simulated, scaled by the fold ratio
    CLOSED_FORM = "closed form"  # one fold is over the budget: cycles from the closed form


def default_array(arch: ArchConfig) -> Array:
    """The array with E-PUR's MACs: one row per DPU lane, one column per CU (16x4)."""
    return Array(arch.dpu.lanes, arch.compute_units)


@dataclass(frozen=True, slots=True)
class GemmResult:
    """One distinct GEMM: SCALE-Sim's figures for one run of it (scaled from ``sample``,
    whose raw report is ``simulated``) and the closed form's cycles."""

    gemm: Gemm
    source: Source
    sample: Sample | None
    simulated: ScaleSimLayer | None
    cycles: int  # one run: SCALE-Sim's (scaled), or the closed form's
    closed_form_cycles: int
    accesses: Accesses | None  # one run, scaled; None for the closed form

    @property
    def total_cycles(self) -> int:
        return self.cycles * self.gemm.count


def _factor(count: int, size: int, own: float, other: float, spills: bool) -> float:
    """The factor of a DRAM count: ``own`` (the ratios of its operand's sliced dimensions),
    times ``other`` (those it does not have) where the operand is fetched once per fold:
    the sample shows it (a count above ``REFETCH`` x its size), or, for the operand that
    streams past the column folds, it exceeds half its SRAM (``spills``)."""
    return own * (other if count > REFETCH * size or spills else 1.0)


def scale_layer(
    layer: ScaleSimLayer, part: Sample, dataflow: SystolicDataflow
) -> tuple[int, Accesses]:
    """A sample's cycles and accesses scaled to the whole GEMM.

    Cycles: the sample's ``folds`` identical folds, plus SCALE-Sim's one-cycle-short count,
    scaled by the fold ratio. SRAM accesses are made per fold: scaled by every sliced
    dimension's ratio. A DRAM count is scaled by the ratios of its operand's dimensions
    (ifmap m, k; filter k, n; ofmap m, n), and by the others' only where the operand is
    fetched more than once: SCALE-Sim 3.0.0 re-reads the operand that is not folded over
    the columns (WS, OS: the inputs; IS: the weights) once per column fold when it
    exceeds half its 64 KB SRAM (double buffering), and WS writes partial sums per
    row fold, which the sample shows."""
    rm, rk, rn = part.ratios
    s = part.shape
    half = SRAM_KB * 1024 // 2
    cycles = (layer.cycles + 1) * part.folds // part.sample_folds - 1
    a, all_ = layer.accesses, rm * rk * rn
    ifmap_spills = dataflow is not SystolicDataflow.IS and s.m * s.k > half
    filter_spills = dataflow is SystolicDataflow.IS and s.k * s.n > half
    return cycles, Accesses(
        round(a.sram_ifmap_reads * all_),
        round(a.sram_filter_reads * all_),
        round(a.sram_ofmap_writes * all_),
        round(
            a.dram_ifmap_reads * _factor(a.dram_ifmap_reads, s.m * s.k, rm * rk, rn, ifmap_spills)
        ),
        round(
            a.dram_filter_reads
            * _factor(a.dram_filter_reads, s.k * s.n, rk * rn, rm, filter_spills)
        ),
        round(a.dram_ofmap_writes * _factor(a.dram_ofmap_writes, s.m * s.n, rm * rn, rk, False)),
    )


@dataclass(frozen=True, slots=True)
class ScaleSimComparison:
    """SCALE-Sim's figures for the network's GEMMs beside E-PUR's evaluation."""

    epur: Evaluation
    array: Array
    array_is_default: bool
    dataflow: SystolicDataflow
    sample_cycles: int
    scalesim_version: str
    gemms: tuple[GemmResult, ...]
    simulated_cycles: int  # what SCALE-Sim actually simulated, all samples
    wall_s: float  # SCALE-Sim's run, process start included

    @property
    def word_bytes(self) -> int:
        """E-PUR's stored word: SCALE-Sim's element counts are converted with it."""
        return self.epur.arch.storage_bits // 8

    @property
    def fill_cycles(self) -> int:
        return fill_cycles(self.array, self.dataflow)

    @property
    def cycles(self) -> int:
        return sum(g.total_cycles for g in self.gemms)

    @property
    def closed_form_cycles(self) -> int:
        return sum(g.closed_form_cycles * g.gemm.count for g in self.gemms)

    @property
    def macs(self) -> int:
        return sum(g.gemm.macs for g in self.gemms)

    def utilization(self, kind: GemmKind | None = None) -> float:
        """MACs / (cycles x array MACs), of all GEMMs or of one kind."""
        chosen = [g for g in self.gemms if kind is None or g.gemm.kind is kind]
        cycles = sum(g.total_cycles for g in chosen)
        return sum(g.gemm.macs for g in chosen) / (cycles * self.array.macs) if cycles else 0.0

    def cycles_of(self, kind: GemmKind) -> int:
        return sum(g.total_cycles for g in self.gemms if g.gemm.kind is kind)

    @property
    def accesses(self) -> Accesses:
        """All accesses of the network (GEMMs given by the closed form count none)."""
        total = Accesses(0, 0, 0, 0, 0, 0)
        for g in self.gemms:
            if g.accesses is not None:
                total += g.accesses.times(g.gemm.count)
        return total

    @property
    def complete(self) -> bool:
        """Whether every GEMM's accesses were simulated (none by the closed form only)."""
        return all(g.accesses is not None for g in self.gemms)


def _check_macs(arch: ArchConfig, array: Array) -> None:
    epur_macs = arch.dpu.lanes * arch.compute_units
    if array.macs != epur_macs:
        lanes, rest = divmod(array.macs, arch.compute_units)
        other = f", or --set dpu.lanes={lanes}" if not rest else ""
        raise ConfigError(
            f"--array {array} has {array.macs} MACs but E-PUR has {epur_macs} "
            f"({arch.compute_units} CUs x {arch.dpu.lanes} lanes): give an array of "
            f"{epur_macs} MACs{other}"
        )


def compare_scalesim(
    network: Network,
    arch: ArchConfig,
    workdir: Path,
    array: Array | None = None,
    dataflow: SystolicDataflow = SystolicDataflow.WS,
    sample_cycles: int = DEFAULT_SAMPLE_CYCLES,
    energy_backend: SramBackend | None = None,
) -> ScaleSimComparison:
    """``network`` on E-PUR (MWL) and its GEMMs on SCALE-Sim (module docstring); SCALE-Sim's
    inputs, reports and log are left in ``workdir``. ``array`` defaults to E-PUR's MACs
    (``default_array``); another must have as many MACs."""
    chosen = array or default_array(arch)
    _check_macs(arch, chosen)
    version = installed_version()  # before the work
    ev = evaluate(network, arch, Dataflow.MWL, None, energy_backend)
    gemms = network_gemms(ev.schedule)
    parts = [sample(g.shape, chosen, dataflow, sample_cycles) for g in gemms]
    shapes = list(dict.fromkeys(p.shape for p in parts if p is not None))
    simulated = sum(closed_form_cycles(s, chosen, dataflow) for s in shapes)
    start = time.perf_counter()
    layers = run_scalesim(shapes, chosen, dataflow, workdir, 120 + simulated / 2_000)
    wall = time.perf_counter() - start
    by_shape = dict(zip(shapes, layers, strict=True))
    results = []
    for g, part in zip(gemms, parts, strict=True):
        closed = closed_form_cycles(g.shape, chosen, dataflow)
        if part is None:
            results.append(GemmResult(g, Source.CLOSED_FORM, None, None, closed, closed, None))
            continue
        layer = by_shape[part.shape]
        cycles, accesses = scale_layer(layer, part, dataflow)
        source = Source.SIMULATED if part.is_whole else Source.SAMPLED
        results.append(GemmResult(g, source, part, layer, cycles, closed, accesses))
    return ScaleSimComparison(
        ev, chosen, array is None, dataflow, sample_cycles, version, tuple(results),
        simulated, wall,
    )  # fmt: skip
