"""The results of one case of ``epur reproduce`` (a network, GMAT also with known
inputs): each E-PUR design's figures against the modelled Tegra X1 in the default
scenario, and the Tegra X1's own. Built once from the evaluated ``Case``; the text,
Markdown and HTML reports render these, and ``json()`` gives their part of
``results.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from epur.evaluation import Evaluation
from epur.report.per_sequence import energy_per, normalise
from epur.report.tegra import DEFAULT_SCENARIO, TegraResult

if TYPE_CHECKING:
    from epur.report.reproduce import Case

__all__ = ["CaseResults", "DesignEnergy", "DesignResult", "TegraX1Result", "case_results"]


@dataclass(frozen=True, slots=True)
class DesignEnergy:
    """A design's energy on a case (J; per batch, per sequence, per step), its power,
    area and energy reduction against the Tegra X1."""

    energy_j: float
    energy_per_sequence_j: float
    energy_per_step_j: float
    steps_per_sequence: int
    power_w: float
    energy_breakdown_j: Mapping[str, float]
    energy_reduction_vs_tegra_x1: float
    area_mm2: float

    def json(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "energy_per_sequence_j": self.energy_per_sequence_j,
            "energy_per_step_j": self.energy_per_step_j,
            "steps_per_sequence": self.steps_per_sequence,
            "power_w": self.power_w,
            "energy_breakdown_j": dict(self.energy_breakdown_j),
            "energy_reduction_vs_tegra_x1": self.energy_reduction_vs_tegra_x1,
            "area_mm2": self.area_mm2,
        }


@dataclass(frozen=True, slots=True)
class DesignResult:
    """One E-PUR design on one case (SI units); ``energy`` is None without an energy model."""

    cycles: int
    latency_s: float
    macs: int
    dpu_utilization: float
    dram_weight_bytes: int
    dram_bytes: int
    real_time_factor: float | None
    sequence_duration_s: float | None
    dram_activation_bytes: int
    peak_weight_buffer_bytes_per_cu: int
    peak_intermediate_memory_bytes: int
    speedup_vs_tegra_x1: float
    notes: tuple[str, ...]
    energy: DesignEnergy | None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cycles": self.cycles,
            "latency_s": self.latency_s,
            "macs": self.macs,
            "dpu_utilization": self.dpu_utilization,
            "dram_weight_bytes": self.dram_weight_bytes,
            "dram_bytes": self.dram_bytes,
            "real_time_factor": self.real_time_factor,
            "sequence_duration_s": self.sequence_duration_s,
            "dram_activation_bytes": self.dram_activation_bytes,
            "peak_weight_buffer_bytes_per_cu": self.peak_weight_buffer_bytes_per_cu,
            "peak_intermediate_memory_bytes": self.peak_intermediate_memory_bytes,
            "speedup_vs_tegra_x1": self.speedup_vs_tegra_x1,
            "notes": list(self.notes),
        }
        return out if self.energy is None else out | self.energy.json()


def design_result(ev: Evaluation, tegra: TegraResult) -> DesignResult:
    """``ev`` against the Tegra X1 ``tegra`` on the same network."""
    t = ev.timing
    c = t.total
    per = energy_per(ev)
    energy = None
    if ev.energy is not None and ev.energy_table is not None and per is not None:
        energy = DesignEnergy(
            energy_j=ev.energy.total_j,
            energy_per_sequence_j=per.per_sequence_j,
            energy_per_step_j=per.per_step_j,
            steps_per_sequence=per.steps_per_sequence,
            power_w=ev.energy.power_w,
            energy_breakdown_j=ev.energy.breakdown_j(),
            energy_reduction_vs_tegra_x1=tegra.energy_j / ev.energy.total_j,
            area_mm2=ev.energy_table.chip_area_mm2,
        )
    return DesignResult(
        cycles=c.cycles,
        latency_s=t.latency_s(c),
        macs=c.macs,
        dpu_utilization=t.dpu_utilization(c),
        dram_weight_bytes=c.dram_weight_bytes,
        dram_bytes=c.dram_bytes,
        real_time_factor=ev.real_time_factor,
        sequence_duration_s=ev.sequence_duration_s,
        dram_activation_bytes=c.dram_activation_bytes,
        peak_weight_buffer_bytes_per_cu=t.peaks.weight_buffer_bytes,
        peak_intermediate_memory_bytes=t.peaks.intermediate_memory_bytes,
        speedup_vs_tegra_x1=tegra.latency_s / t.latency_s(),
        notes=tuple(t.notes),
        energy=energy,
    )


@dataclass(frozen=True, slots=True)
class TegraX1Result:
    """The modelled Tegra X1 on one case, in the default scenario (``scenario``)."""

    latency_s: float
    energy_j: float
    energy_per_sequence_j: float
    energy_per_step_j: float
    steps_per_sequence: int
    real_time_factor: float | None
    dram_bytes: int
    power_w: float
    scenario: str

    def json(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "energy_j": self.energy_j,
            "energy_per_sequence_j": self.energy_per_sequence_j,
            "energy_per_step_j": self.energy_per_step_j,
            "steps_per_sequence": self.steps_per_sequence,
            "real_time_factor": self.real_time_factor,
            "dram_bytes": self.dram_bytes,
            "power_w": self.power_w,
            "scenario": self.scenario,
            "modelled": True,
        }


@dataclass(frozen=True, slots=True)
class CaseResults:
    """A case's results: each E-PUR design (by key, in evaluation order), the Tegra X1,
    and the mwl design's weight traffic over the baseline dataflow's on its buffers."""

    key: str  # the zoo key (``gmat``)
    known_inputs: bool
    name: str  # the network's name (``GMAT``)
    designs: Mapping[str, DesignResult]
    tegra_x1: TegraX1Result
    mwl_weight_traffic_ratio: float

    @property
    def row_label(self) -> str:
        """How the results table names the case: ``GMAT`` or ``GMAT (known inputs)``."""
        return f"{self.key.upper()}{' (known inputs)' if self.known_inputs else ''}"

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {d: r.json() for d, r in self.designs.items()}
        out["tegra_x1"] = self.tegra_x1.json()
        out["mwl_weight_traffic_ratio"] = self.mwl_weight_traffic_ratio
        return out


def case_results(case: Case) -> CaseResults:
    """The results of an evaluated ``case`` against the Tegra X1 in the default scenario."""
    tegra = case.tegra
    per = normalise(tegra.energy_j, case.network)
    same = case.designs["baseline_on_mwl_buffers"].timing.total.dram_weight_bytes
    return CaseResults(
        key=case.key,
        known_inputs=case.known_inputs,
        name=case.network.name,
        designs={d: design_result(ev, tegra) for d, ev in case.designs.items()},
        tegra_x1=TegraX1Result(
            latency_s=tegra.latency_s,
            energy_j=tegra.energy_j,
            energy_per_sequence_j=per.per_sequence_j,
            energy_per_step_j=per.per_step_j,
            steps_per_sequence=per.steps_per_sequence,
            real_time_factor=tegra.real_time_factor,
            dram_bytes=tegra.dram_bytes,
            power_w=tegra.power_w,
            scenario=DEFAULT_SCENARIO,
        ),
        mwl_weight_traffic_ratio=case.designs["mwl"].timing.total.dram_weight_bytes / same,
    )
