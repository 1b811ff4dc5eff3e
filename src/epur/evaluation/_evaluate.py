"""``evaluate``: the one place where the models are composed (network -> results).

Schedule, then (given an SRAM backend) the SRAM characterisation (every SRAM banked
until its cycle time fits the clock, then its cycles per access, energies, leakage and
area: ``epur.energy.characterise_srams``), then the timing and memory model (charging
the SRAMs' cycles per access), then the energy and area model, which consumes the
timing model's event counts and the SRAMs' figures only.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig
from epur.energy import (
    NO_BACKEND_NOTE,
    Banking,
    EnergyResult,
    EnergyTable,
    SramBackend,
    SramTable,
    characterise_srams,
    energy,
    energy_table,
    sram_backend,
)
from epur.evaluation.design import Design, SramSource
from epur.schedule import Dataflow, Schedule, build_schedule
from epur.timing import TimingResult, simulate
from epur.workload.network import Network

__all__ = ["Accuracy", "Evaluation", "evaluate"]


@dataclass(frozen=True, slots=True)
class Accuracy:
    """The bit-accurate functional model on one input against the float64 reference:
    the largest absolute and relative (to the reference's largest value) error of the
    network's output, over ``steps`` steps of ``batch`` sequences."""

    max_abs_error: float
    max_rel_error: float
    steps: int
    batch: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One network on one design. ``arch`` is the design evaluated: with banking for
    the clock, the given architecture with its SRAMs' bank counts as ``banking`` chose."""

    network: Network
    arch: ArchConfig
    schedule: Schedule
    timing: TimingResult
    energy_table: EnergyTable | None = None
    energy: EnergyResult | None = None
    layer_energy: tuple[EnergyResult, ...] = ()
    banking: tuple[Banking, ...] = ()
    accuracy: Accuracy | None = None  # given an input: ``epur.api.evaluate``

    @property
    def energy_backend(self) -> str:
        """Where the SRAM figures came from: ``cacti``, ``table``, or ``none`` (timing only,
        every SRAM access taking one cycle)."""
        return self.energy_table.backend if self.energy_table is not None else "none"

    @property
    def srams(self) -> SramTable | None:
        """The SRAM characterisation timing and energy used (``None`` without a backend)."""
        return None if self.energy_table is None else self.energy_table.srams

    def banking_notes(self) -> list[str]:
        """Banks added for the clock, and memories that cannot keep up even banked."""
        notes = (b.note(self.arch.clock_hz) for b in self.banking)
        return [n for n in notes if n is not None]

    def sram_notes(self) -> list[str]:
        """What the SRAM model did: the banking notes, or what timing alone assumes."""
        return self.banking_notes() if self.energy_table is not None else [NO_BACKEND_NOTE]

    @property
    def sequence_duration_s(self) -> float | None:
        """Time the input stands for (``Network.sequence_duration_s``)."""
        return self.network.sequence_duration_s

    @property
    def real_time_factor(self) -> float | None:
        """Processing time / input duration: below 1 is faster than real time."""
        duration = self.sequence_duration_s
        return None if duration is None else self.timing.latency_s() / duration


def evaluate(
    network: Network,
    arch: ArchConfig | Design,
    dataflow: Dataflow | str = Dataflow.MWL,
    tile_rows: int | None = None,
    energy_backend: SramBackend | None = None,
    *,
    bank_for_clock: bool = True,
) -> Evaluation:
    """Schedule ``network`` on ``arch`` with ``dataflow``, run the timing model and, with
    an SRAM ``energy_backend``, the energy and area model.

    Given a ``Design``, its fields replace ``dataflow``, ``tile_rows``,
    ``energy_backend`` (its ``sram`` source) and ``bank_for_clock``:
    ``evaluate(network, design)`` is what a sweep and ``epur reproduce`` run. An
    ``energy_backend`` given with a design is the backend its SRAM source resolves to
    (one resolved once for many designs, or one that records what is asked of it);
    a design with no SRAM model (``sram="none"``) uses none.

    Without a backend the memories are taken to cycle at the clock. With one, the SRAMs
    are characterised first (``epur.energy.characterise_srams``): with
    ``bank_for_clock``, every SRAM whose cycle time exceeds the clock period gets its
    banks doubled until it fits (``epur.energy.bank_for_clock``); then each access holds
    a memory's port for as many cycles as its SRAM cycle time needs, and its energies,
    leakage and area are the characterisation's.
    """
    if isinstance(arch, Design):
        design = arch
        arch, dataflow, tile_rows = design.arch, design.dataflow, design.tile_rows
        if design.sram is SramSource.NONE:
            energy_backend = None
        elif energy_backend is None:
            energy_backend = sram_backend(design.sram.value)
        bank_for_clock = design.bank_for_clock
    schedule = build_schedule(network, arch, dataflow, tile_rows)  # banks do not change it
    if energy_backend is None:
        return Evaluation(network, arch, schedule, simulate(schedule, arch))
    srams = characterise_srams(arch, energy_backend, bank_for_clock=bank_for_clock)
    arch = srams.arch
    timing = simulate(schedule, arch, srams.access_cycles())
    table = energy_table(arch, srams)
    layers = tuple(energy(lr.counts, timing.latency_s(lr.counts), table) for lr in timing.layers)
    total = energy(timing.total, timing.latency_s(), table)
    return Evaluation(network, arch, schedule, timing, table, total, layers, srams.banking)
