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
from dataclasses import dataclass
from typing import Any

from epur.arch import ArchChange, ArchConfig, arch_changes
from epur.energy import SramBackend
from epur.evaluation import Design, Evaluation, SramSource, evaluate
from epur.report.consistency import (
    PAPER_ENERGY_REDUCTION,
    THESIS_SPEEDUP,
    Consistency,
    consistency,
)
from epur.report.designs import DESIGNS
from epur.report.parameters import report_title
from epur.report.reproduction_results import ReproductionResults, reproduction_results
from epur.report.results import RESULT_HEADERS, reproduction_table, result_rows
from epur.report.sensitivity import EpurFigures, Sensitivity, sensitivity
from epur.report.tegra import (
    DEFAULT_SCENARIO,
    TegraConfig,
    TegraResult,
    evaluate_tegra,
    tegra_scenarios,
)
from epur.schedule import Dataflow
from epur.timing import weight_buffer_design
from epur.workload.network import Network
from epur.workload.zoo import ZOO_NAMES, zoo_network

__all__ = [
    "DESIGNS",
    "RESULT_HEADERS",
    "Point",
    "Reproduction",
    "ReproductionResults",
    "reproduce",
    "reproduction_designs",
    "reproduction_json",
    "reproduction_points",
    "reproduction_results",
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


def reproduction_json(rep: Reproduction) -> dict[str, Any]:
    """``results.json`` of ``rep`` (``ReproductionResults.json``)."""
    return reproduction_results(rep).json()
