"""The results of ``epur reproduce``, typed: built once from the ``Reproduction``
(``reproduction_results``), rendered by the text, Markdown and HTML reports, and
written as ``results.json`` by ``ReproductionResults.json()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from typing import TYPE_CHECKING, Any

from epur.arch import PROVENANCE, ArchChange, ArchConfig, Memory, Provenance
from epur.report.case_results import CaseResults, case_results
from epur.report.consistency import Consistency
from epur.report.designs import DESIGN_TEXT
from epur.report.measured import (
    EPUR_DESIGN,
    BaselineFile,
    MeasuredComparison,
    measured_comparisons,
)
from epur.report.memories import SramFigures, memory_figures
from epur.report.paper_claims import Bands, Claim, Summary, paper_vs_epur
from epur.report.parameters import changes_json
from epur.report.per_sequence import ENERGY_DEFINITIONS
from epur.report.sensitivity import Sensitivity
from epur.report.tegra import DEFAULT_SCENARIO
from epur.report.workloads import Workload, workload
from epur.timing import AccessCycles

if TYPE_CHECKING:
    from epur.report.reproduce import Reproduction

__all__ = [
    "DesignInfo",
    "ReproductionResults",
    "ScenarioNetwork",
    "ScenarioResults",
    "reproduction_results",
]


@dataclass(frozen=True, slots=True)
class DesignInfo:
    """One E-PUR design: its dataflow, memories and the cycles one access of each costs."""

    description: str
    dataflow: str
    arch_name: str
    weight_buffer_capacity_bytes: int
    weight_buffer_banks: int
    intermediate_memory_capacity_bytes: int
    intermediate_memory_banks: int
    access_cycles: AccessCycles

    def cycles_text(self) -> str:
        """The cycles per access of each memory (WB, IB, IM), joined by commas."""
        return ", ".join(str(v) for v in astuple(self.access_cycles))

    def json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "dataflow": self.dataflow,
            "arch_name": self.arch_name,
            "weight_buffer_capacity_bytes": self.weight_buffer_capacity_bytes,
            "weight_buffer_banks": self.weight_buffer_banks,
            "intermediate_memory_capacity_bytes": self.intermediate_memory_capacity_bytes,
            "intermediate_memory_banks": self.intermediate_memory_banks,
            "access_cycles": asdict(self.access_cycles),
        }


@dataclass(frozen=True, slots=True)
class ScenarioNetwork:
    """The Tegra X1 of one scenario on one faithful network."""

    latency_s: float
    energy_j: float
    real_time_factor: float | None

    def json(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "energy_j": self.energy_j,
            "real_time_factor": self.real_time_factor,
        }


@dataclass(frozen=True, slots=True)
class ScenarioResults:
    """One Tegra X1 scenario: its per-step cost and power, each faithful network's
    figures on it and the headline averages of the mwl design against it."""

    name: str
    description: str
    precision: str
    step_overhead_s: float
    power_w: float
    energy_reduction_avg: float | None
    speedup_avg: float
    networks: Mapping[str, ScenarioNetwork]

    def json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "precision": self.precision,
            "step_overhead_s": self.step_overhead_s,
            "power_w": self.power_w,
            "energy_reduction_avg": self.energy_reduction_avg,
            "speedup_avg": self.speedup_avg,
            "networks": {k: n.json() for k, n in self.networks.items()},
        }


@dataclass(frozen=True, slots=True)
class ReproductionResults:
    """Everything ``epur reproduce`` reports. ``cases`` in evaluation order (GMAT with
    known inputs after GMAT); ``design_archs``: the architecture each design ran on."""

    title: str
    arch: ArchConfig
    changes: tuple[ArchChange, ...]
    baseline_weight_buffer_bytes: int
    designs: Mapping[str, DesignInfo]
    design_archs: Mapping[str, ArchConfig]
    provenance: Mapping[str, Provenance]
    workloads: tuple[tuple[str, Workload], ...]  # (key, workload) of each faithful network
    memories: tuple[SramFigures, ...]
    cases: tuple[CaseResults, ...]
    summary: Summary
    claims: tuple[Claim, ...]
    scenarios: tuple[ScenarioResults, ...]
    sensitivity: Sensitivity | None  # None without an energy model
    consistency: Consistency | None
    measured: tuple[MeasuredComparison, ...] = ()  # ``--baseline-json`` files, if any

    @property
    def networks(self) -> tuple[CaseResults, ...]:
        """The faithful cases (GMAT with its autoregressive decoder)."""
        return tuple(c for c in self.cases if not c.known_inputs)

    @property
    def known_inputs(self) -> tuple[CaseResults, ...]:
        return tuple(c for c in self.cases if c.known_inputs)

    def json(self) -> dict[str, Any]:
        """``results.json`` (schema_version 1); ``measured_baselines`` only with measured
        baselines."""
        out: dict[str, Any] = {
            "schema_version": 1,
            "title": self.title,
            "arch": self.arch.model_dump(mode="json"),
            "arch_changes": changes_json(self.changes),
            "baseline_weight_buffer_bytes": self.baseline_weight_buffer_bytes,
            "designs": {name: d.json() for name, d in self.designs.items()},
            "arch_provenance": {
                k: {"status": p.status, "source": p.source} for k, p in self.provenance.items()
            },
            "workloads": {key: w.json() for key, w in self.workloads},
            "memories": [m.json() for m in self.memories],
            "energy_definitions": ENERGY_DEFINITIONS,
            "networks": {c.key: c.json() for c in self.networks},
            "known_inputs": {c.key: c.json() for c in self.known_inputs},
            "summary": self.summary.json(),
            "paper_vs_epur": [c.json() for c in self.claims],
            "scenarios": {s.name: s.json() for s in self.scenarios},
            "sensitivity": [] if self.sensitivity is None else self.sensitivity.json(),
            "consistency": None if self.consistency is None else self.consistency.json(),
        }
        if self.measured:
            out["measured_baselines"] = [m.json() for m in self.measured]
        return out


def _average(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _provenance(changes: tuple[ArchChange, ...]) -> dict[str, Provenance]:
    """Each field's status and source; ``user`` for a field the user changed."""
    out = dict(PROVENANCE)
    for c in changes:
        how = "set by --arch/--set" if c.derived_from is None else "follows it"
        out[c.key] = Provenance(c.provenance, how)
    return out


def _designs(rep: Reproduction) -> dict[str, DesignInfo]:
    out = {}
    for name, ev in rep.cases[0].designs.items():
        arch = ev.arch
        wb, im = Memory.WEIGHT_BUFFER.config(arch), Memory.INTERMEDIATE_MEMORY.config(arch)
        out[name] = DesignInfo(
            description=DESIGN_TEXT[name],
            dataflow=str(ev.timing.dataflow),
            arch_name=arch.name,
            weight_buffer_capacity_bytes=wb.capacity_bytes,
            weight_buffer_banks=wb.banks,
            intermediate_memory_capacity_bytes=im.capacity_bytes,
            intermediate_memory_banks=im.banks,
            access_cycles=ev.timing.access_cycles,
        )
    return out


def _scenarios(rep: Reproduction) -> tuple[ScenarioResults, ...]:
    out = []
    for name, config in rep.tegras.items():
        mwl = [(c.designs["mwl"], c.scenarios[name]) for c in rep.faithful()]
        reductions = [t.energy_j / ev.energy.total_j for ev, t in mwl if ev.energy is not None]
        out.append(ScenarioResults(
            name=name,
            description=config.sources["step_fixed_s"].source,
            precision=config.precision,
            step_overhead_s=config.step_fixed_s,
            power_w=config.power_w,
            energy_reduction_avg=_average(reductions) if reductions else None,
            speedup_avg=_average([t.latency_s / ev.timing.latency_s() for ev, t in mwl]),
            networks={
                c.key: ScenarioNetwork(c.scenarios[name].latency_s, c.scenarios[name].energy_j,
                                       c.scenarios[name].real_time_factor)
                for c in rep.faithful()
            },
        ))  # fmt: skip
    return tuple(out)


def _summary(rep: Reproduction) -> Summary:
    mwl = [(c.designs["mwl"], c.tegra) for c in rep.faithful()]
    speedups = [t.latency_s / ev.timing.latency_s() for ev, t in mwl]
    reductions = [t.energy_j / ev.energy.total_j for ev, t in mwl if ev.energy is not None]
    table = rep.cases[0].designs["mwl"].energy_table
    sens = rep.sensitivity
    return Summary(
        energy_reduction_avg=_average(reductions) if reductions else None,
        speedup_avg=_average(speedups),
        averaged_over=tuple(c.key for c in rep.faithful()),
        energy_backend=table.backend if table is not None else None,
        tegra_scenario=DEFAULT_SCENARIO,
        bands=None if sens is None else Bands(sens.energy_reduction_range(), sens.speedup_range()),
    )


def reproduction_results(
    rep: Reproduction, baselines: Sequence[BaselineFile] = ()
) -> ReproductionResults:
    """The results of ``rep``, as every report renders them, with the measured
    ``baselines`` (``epur.report.measured``) beside them."""
    cases = tuple(case_results(c) for c in rep.cases)
    summary = _summary(rep)
    table = rep.cases[0].designs["mwl"].energy_table
    area = None if table is None else (table.chip_area_mm2, rep.arch.technology.node_nm)
    networks = tuple(c for c in cases if not c.known_inputs)
    first = rep.cases[0].designs
    return ReproductionResults(
        title=rep.title,
        arch=rep.arch,
        changes=rep.changes,
        baseline_weight_buffer_bytes=rep.baseline_arch.weight_buffer.capacity_bytes,
        designs=_designs(rep),
        design_archs={name: ev.arch for name, ev in first.items()},
        provenance=_provenance(rep.changes),
        workloads=tuple((c.key, workload(c.network)) for c in rep.faithful()),
        memories=tuple(memory_figures(first)),
        cases=cases,
        summary=summary,
        claims=paper_vs_epur(summary, networks, rep.consistency, area),
        scenarios=_scenarios(rep),
        sensitivity=rep.sensitivity,
        consistency=rep.consistency,
        measured=measured_comparisons(
            baselines, networks, {c.key: c.network.batch for c in rep.faithful()},
            str(rep.designs[EPUR_DESIGN].arch.formats.storage),
            rep.tegras[DEFAULT_SCENARIO].precision,
        ),
    )  # fmt: skip
