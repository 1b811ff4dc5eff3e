"""``epur reproduce``: the paper's evaluation on the four networks.

For every network: E-PUR with the baseline dataflow on weight buffers sized for it
(each layer's W and U rows per gate, in as many banks as keep up with the clock),
E-PUR with MWL on the paper preset (buffers that hold U), the baseline dataflow on
those MWL-sized buffers, and the Tegra X1 as cuDNN runs an LSTM (modelled, never
measured; every scenario of ``epur.report.tegra``, the default one in the tables).
GMAT runs faithfully (autoregressive decoder) and, separately, with known inputs
(teacher forcing). Then the sensitivity of the headline averages to each uncertain
assumption (``epur.report.sensitivity``) and whether the paper's statements can hold
together (``epur.report.consistency``).

The evaluation is a fixed experiment: ``reproduction_designs`` are the three E-PUR
designs (``Design``), ``reproduction_points`` pairs each network with each of them, and
every point is evaluated by ``evaluate(network, design)``, as a sweep evaluates its
points. The report modules render the typed results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from epur.arch import PROVENANCE, ArchChange, ArchConfig, Memory, arch_changes
from epur.energy import SramBackend
from epur.evaluation import Design, Evaluation, SramSource, evaluate
from epur.report.consistency import (
    PAPER_ENERGY_REDUCTION,
    THESIS_SPEEDUP,
    Consistency,
    consistency,
)
from epur.report.designs import DESIGN_TEXT, DESIGNS
from epur.report.memories import memory_figures
from epur.report.parameters import changes_json, report_title
from epur.report.per_sequence import ENERGY_DEFINITIONS, energy_per, normalise
from epur.report.results import RESULT_HEADERS, reproduction_table, result_rows
from epur.report.sensitivity import EpurFigures, Sensitivity, sensitivity
from epur.report.tegra import (
    DEFAULT_SCENARIO,
    TegraConfig,
    TegraResult,
    evaluate_tegra,
    tegra_scenarios,
)
from epur.report.workloads import workload
from epur.schedule import Dataflow
from epur.timing import weight_buffer_design
from epur.workload.network import Network
from epur.workload.zoo import ZOO_NAMES, zoo_network

__all__ = [
    "DESIGNS",
    "RESULT_HEADERS",
    "Point",
    "Reproduction",
    "reproduce",
    "reproduction_designs",
    "reproduction_json",
    "reproduction_points",
    "reproduction_table",
    "result_rows",
]

__all__ += ["PAPER_ENERGY_REDUCTION", "THESIS_SPEEDUP"]


@dataclass(frozen=True, slots=True)
class Point:
    """One evaluation of the experiment: a network of the zoo (``case``; GMAT also with
    known inputs) on one of the designs (``design_key``, one of ``DESIGNS``)."""

    case: str
    known_inputs: bool
    network: Network
    design_key: str
    design: Design


def reproduction_designs(
    arch: ArchConfig, sram: SramSource | str = SramSource.AUTO
) -> dict[str, Design]:
    """The three E-PUR designs (``DESIGNS``) of ``arch``: the baseline dataflow on weight
    buffers sized for it (for every zoo network with known inputs), MWL on ``arch``, and
    the baseline dataflow on ``arch``'s buffers; each banked for the clock."""
    sized = [zoo_network(k).with_known_inputs() for k in ZOO_NAMES]
    base_arch = weight_buffer_design(arch, sized, Dataflow.BASELINE)
    return {
        "baseline": Design(arch=base_arch, dataflow=Dataflow.BASELINE, sram=sram),
        "mwl": Design(arch=arch, dataflow=Dataflow.MWL, sram=sram),
        "baseline_on_mwl_buffers": Design(arch=arch, dataflow=Dataflow.BASELINE, sram=sram),
    }


def reproduction_points(designs: dict[str, Design]) -> tuple[Point, ...]:
    """Every zoo network (GMAT faithfully, then with known inputs) on every design, in
    the order they are evaluated and reported."""
    points = []
    for key in ZOO_NAMES:
        network = zoo_network(key)
        for known in [False, True] if network.is_autoregressive else [False]:
            net = network.with_known_inputs() if known else network
            points += [Point(key, known, net, d, design) for d, design in designs.items()]
    return tuple(points)


def _source(backend: SramBackend | None) -> SramSource:
    """The SRAM source a backend stands for (``auto`` for one of another kind, a test's
    fixed figures: ``evaluate`` is given the backend itself)."""
    if backend is None:
        return SramSource.NONE
    known = {s.value for s in SramSource}
    return SramSource(backend.name) if backend.name in known else SramSource.AUTO


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    known_inputs: bool
    network: Network
    designs: dict[str, Evaluation]
    scenarios: dict[str, TegraResult]  # the Tegra X1 in each scenario

    @property
    def tegra(self) -> TegraResult:
        """The Tegra X1 in the default scenario, as the tables and figures show it."""
        return self.scenarios[DEFAULT_SCENARIO]

    @property
    def label(self) -> str:
        """``GMAT`` or ``GMAT (known inputs)``: how every table and figure names the case."""
        return f"{self.network.name}{' (known inputs)' if self.known_inputs else ''}"


@dataclass(frozen=True, slots=True)
class Reproduction:
    arch: ArchConfig
    designs: dict[str, Design]  # the three E-PUR designs (``reproduction_designs``)
    cases: tuple[Case, ...]
    tegras: dict[str, TegraConfig]  # the scenarios
    sensitivity: Sensitivity | None  # None without an energy model
    consistency: Consistency | None

    def faithful(self) -> list[Case]:
        return [c for c in self.cases if not c.known_inputs]

    @property
    def baseline_arch(self) -> ArchConfig:
        """The baseline design's architecture (weight buffers sized for it)."""
        return self.designs["baseline"].arch

    @property
    def changes(self) -> tuple[ArchChange, ...]:
        """The fields the user's architecture changes from the paper preset."""
        return arch_changes(self.arch)

    @property
    def title(self) -> str:
        return report_title(self.changes)


def reproduce(
    arch: ArchConfig,
    backend: SramBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> Reproduction:
    """Every zoo network on the three E-PUR designs and the modelled Tegra X1.

    ``progress`` is told of each step before it starts: each network (GMAT twice), then
    (with an SRAM ``backend``) the sensitivity and the consistency check. The sensitivity
    re-evaluates only the mwl design, and only for assumptions on E-PUR.
    """
    designs = reproduction_designs(arch, _source(backend))
    tegras = tegra_scenarios()
    evaluations: dict[tuple[str, bool], dict[str, Evaluation]] = {}
    networks: dict[tuple[str, bool], Network] = {}
    for point in reproduction_points(designs):
        case = (point.case, point.known_inputs)
        if case not in networks:
            networks[case] = point.network
            if progress is not None:
                progress(point.network.name + (" (known inputs)" if point.known_inputs else ""))
        ev = evaluate(point.network, point.design, energy_backend=backend)
        evaluations.setdefault(case, {})[point.design_key] = ev
    cases = [
        Case(key, known, net, evaluations[key, known],
             {name: evaluate_tegra(net, v) for name, v in tegras.items()})
        for (key, known), net in networks.items()
    ]  # fmt: skip
    if progress is not None and backend is not None:
        progress("sensitivity of the headline and the consistency check")
    sens, cons = _uncertainty(designs["mwl"], backend, cases, tegras)
    return Reproduction(arch, designs, tuple(cases), tegras, sens, cons)


def _figures(ev: Evaluation) -> EpurFigures:
    return EpurFigures(ev.timing.latency_s(), None if ev.energy is None else ev.energy.total_j)


def _uncertainty(
    mwl: Design, backend: SramBackend | None, cases: list[Case],
    tegras: dict[str, TegraConfig],
) -> tuple[Sensitivity | None, Consistency | None]:  # fmt: skip
    """The sensitivity and the consistency check about the ``mwl`` design and the
    default Tegra (nothing without an energy model): each assumption changes the
    design's architecture, evaluated as every other design is."""
    faithful = [c for c in cases if not c.known_inputs]
    if backend is None:
        return None, None
    networks = {c.key: c.network for c in faithful}
    epur = {c.key: _figures(c.designs["mwl"]) for c in faithful}

    def run(changed: ArchConfig) -> dict[str, EpurFigures]:
        design = Design(arch=changed, dataflow=mwl.dataflow, sram=mwl.sram)
        evaluations = {k: evaluate(n, design, energy_backend=backend) for k, n in networks.items()}
        return {k: _figures(ev) for k, ev in evaluations.items()}

    known = next(((_figures(c.designs["mwl"]), c.tegra) for c in cases if c.known_inputs), None)
    sens = sensitivity(
        mwl.arch, networks, epur, {c.key: c.tegra for c in faithful}, tegras[DEFAULT_SCENARIO],
        tegras, known, run,
    )  # fmt: skip
    return sens, consistency(networks, epur, tegras[DEFAULT_SCENARIO])


def _entry(ev: Evaluation, tegra: TegraResult) -> dict[str, Any]:
    t = ev.timing
    out: dict[str, Any] = t.summary() | {
        "real_time_factor": ev.real_time_factor,
        "sequence_duration_s": ev.sequence_duration_s,
        "dram_activation_bytes": t.total.dram_activation_bytes,
        "peak_weight_buffer_bytes_per_cu": t.peaks.weight_buffer_bytes,
        "peak_intermediate_memory_bytes": t.peaks.intermediate_memory_bytes,
        "speedup_vs_tegra_x1": tegra.latency_s / t.latency_s(),
        "notes": list(t.notes),
    }
    per = energy_per(ev)
    if ev.energy is not None and ev.energy_table is not None and per is not None:
        out |= {
            "energy_j": ev.energy.total_j,
            "energy_per_sequence_j": per.per_sequence_j,
            "energy_per_step_j": per.per_step_j,
            "steps_per_sequence": per.steps_per_sequence,
            "power_w": ev.energy.power_w,
            "energy_breakdown_j": ev.energy.breakdown_j(),
            "energy_reduction_vs_tegra_x1": tegra.energy_j / ev.energy.total_j,
            "area_mm2": sum(ev.energy_table.area_mm2.values()),
        }
    return out


def _case_json(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {d: _entry(ev, case.tegra) for d, ev in case.designs.items()}
    tegra = normalise(case.tegra.energy_j, case.network)
    out["tegra_x1"] = {
        "latency_s": case.tegra.latency_s,
        "energy_j": case.tegra.energy_j,
        "energy_per_sequence_j": tegra.per_sequence_j,
        "energy_per_step_j": tegra.per_step_j,
        "steps_per_sequence": tegra.steps_per_sequence,
        "real_time_factor": case.tegra.real_time_factor,
        "dram_bytes": case.tegra.dram_bytes,
        "power_w": case.tegra.power_w,
        "scenario": DEFAULT_SCENARIO,
        "modelled": True,
    }
    same = case.designs["baseline_on_mwl_buffers"].timing.total.dram_weight_bytes
    out["mwl_weight_traffic_ratio"] = case.designs["mwl"].timing.total.dram_weight_bytes / same
    return out


def _average(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def reproduction_json(rep: Reproduction) -> dict[str, Any]:
    mwl = [(c.designs["mwl"], c.tegra) for c in rep.faithful()]
    speedups = [t.latency_s / ev.timing.latency_s() for ev, t in mwl]
    reductions = [t.energy_j / ev.energy.total_j for ev, t in mwl if ev.energy is not None]
    table = rep.cases[0].designs["mwl"].energy_table
    summary: dict[str, Any] = {
        "energy_reduction_vs_tegra_x1_avg": _average(reductions) if reductions else None,
        "speedup_vs_tegra_x1_avg": _average(speedups),
        "averaged_over": [c.key for c in rep.faithful()],
        "energy_backend": table.backend if table is not None else None,
        "tegra_scenario": DEFAULT_SCENARIO,
    }
    if rep.sensitivity is not None:
        summary["energy_reduction_vs_tegra_x1_range"] = _pair(
            rep.sensitivity.energy_reduction_range()
        )
        summary["speedup_vs_tegra_x1_range"] = list(rep.sensitivity.speedup_range())
    first = rep.cases[0].designs
    return {
        "schema_version": 1,
        "title": rep.title,
        "arch": rep.arch.model_dump(mode="json"),
        "arch_changes": changes_json(rep.changes),
        "baseline_weight_buffer_bytes": rep.baseline_arch.weight_buffer.capacity_bytes,
        "designs": _designs_json(rep),
        "arch_provenance": _provenance_json(rep.changes),
        "workloads": {c.key: workload(c.network).json() for c in rep.faithful()},
        "memories": [m.json() for m in memory_figures(first)],
        "energy_definitions": ENERGY_DEFINITIONS,
        "networks": {c.key: _case_json(c) for c in rep.faithful()},
        "known_inputs": {c.key: _case_json(c) for c in rep.cases if c.known_inputs},
        "summary": summary,
        "paper_vs_epur": paper_vs_epur(rep, summary),
        "scenarios": scenarios_json(rep),
        "sensitivity": [] if rep.sensitivity is None else rep.sensitivity.json(),
        "consistency": None if rep.consistency is None else rep.consistency.json(),
    }


def _band(summary: dict[str, Any], key: str) -> str:
    band = summary.get(key)
    return "" if band is None else f" (sensitivity: {band[0]:.3g}-{band[1]:.3g}x)"


def _pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else list(pair)


def scenarios_json(rep: Reproduction) -> dict[str, Any]:
    """Each Tegra X1 scenario: its per-step cost and power, each faithful network's
    figures on it and the headline averages of the mwl design against it."""
    out: dict[str, Any] = {}
    for name, config in rep.tegras.items():
        mwl = [(c.designs["mwl"], c.scenarios[name]) for c in rep.faithful()]
        reductions = [t.energy_j / ev.energy.total_j for ev, t in mwl if ev.energy is not None]
        out[name] = {
            "description": config.sources["step_fixed_s"].source,
            "precision": config.precision,
            "step_overhead_s": config.step_fixed_s,
            "power_w": config.power_w,
            "energy_reduction_avg": _average(reductions) if reductions else None,
            "speedup_avg": _average([t.latency_s / ev.timing.latency_s() for ev, t in mwl]),
            "networks": {
                c.key: {
                    "latency_s": c.scenarios[name].latency_s,
                    "energy_j": c.scenarios[name].energy_j,
                    "real_time_factor": c.scenarios[name].real_time_factor,
                }
                for c in rep.faithful()
            },
        }
    return out


def _provenance_json(changes: tuple[ArchChange, ...]) -> dict[str, dict[str, str]]:
    """Each field's status and source; ``user`` for a field the user changed."""
    out = {key: {"status": p.status, "source": p.source} for key, p in PROVENANCE.items()}
    for c in changes:
        how = "set by --arch/--set" if c.derived_from is None else "follows it"
        out[c.key] = {"status": c.provenance, "source": how}
    return out


def _designs_json(rep: Reproduction) -> dict[str, Any]:
    """Each design's dataflow, memories and the cycles one access of each costs."""
    out = {}
    for name, ev in rep.cases[0].designs.items():
        arch = ev.arch
        out[name] = {
            "description": DESIGN_TEXT[name],
            "dataflow": str(ev.timing.dataflow),
            "arch_name": arch.name,
            **{
                f"{m.value}_{field}": getattr(m.config(arch), field)
                for m in (Memory.WEIGHT_BUFFER, Memory.INTERMEDIATE_MEMORY)
                for field in ("capacity_bytes", "banks")
            },
            "access_cycles": asdict(ev.timing.access_cycles),
        }
    return out


def paper_vs_epur(rep: Reproduction, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's headline claims beside what this model gives, with the gap."""
    rows: list[dict[str, Any]] = []
    red, spd = summary["energy_reduction_vs_tegra_x1_avg"], summary["speedup_vs_tegra_x1_avg"]
    if red is not None:
        rows.append(
            {
                "claim": "energy reduction vs Tegra X1 (average)",
                "paper": "92x",
                "epur": f"{red:.1f}x" + _band(summary, "energy_reduction_vs_tegra_x1_range"),
                "gap": f"{red / PAPER_ENERGY_REDUCTION:.2f} of it",
            }
        )
    rows.append(
        {
            "claim": "speedup vs Tegra X1 (average; thesis)",
            "paper": "6.8x",
            "epur": f"{spd:.2f}x" + _band(summary, "speedup_vs_tegra_x1_range"),
            "gap": f"{spd / THESIS_SPEEDUP:.2f} of it",
        }
    )
    realtime = [
        f"{c.network.name} {'yes' if (r := c.designs['mwl'].real_time_factor) < 1 else 'no'}"
        f" (RTF {r:.3f})"
        for c in rep.faithful()
        if c.designs["mwl"].real_time_factor is not None
    ]
    rows.append(
        {
            "claim": "real time on all networks",
            "paper": "yes",
            "epur": "; ".join(realtime) + "; others have no frame rate",
            "gap": "not checkable for networks without a frame rate",
        }
    )
    tegra_rtf = [
        f"{c.network.name} RTF {t:.3g}" for c in rep.faithful()
        if (t := c.tegra.real_time_factor) is not None
    ]  # fmt: skip
    rows.append(
        {
            "claim": "Tegra X1 not real time on EESEN and RLDRADSPR",
            "paper": "yes",
            "epur": f"{DEFAULT_SCENARIO}: " + "; ".join(tegra_rtf),
            "gap": "modelled Tegra (scenarios below)",
        }
    )
    if rep.consistency is not None:
        rows.append(
            {
                "claim": "all three statements at once",
                "paper": "yes",
                "epur": "yes" if rep.consistency.holds else "no",
                "gap": "see the consistency check",
            }
        )
    table = rep.cases[0].designs["mwl"].energy_table
    if table is not None:
        rows.append(
            {
                "claim": "chip area",
                "paper": "'very small' (no figure in the abstract)",
                "epur": f"{sum(table.area_mm2.values()):.1f} mm2 at "
                f"{rep.arch.technology.node_nm} nm",
                "gap": "no published figure",
            }
        )
    return rows
