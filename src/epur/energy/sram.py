"""SRAM characterisation: one step, before timing and energy, that both consume.

``characterise_srams(arch, backend)`` asks the SRAM backend (CACTI, or its recorded
table) for every on-chip memory of ``arch`` (``epur.arch.Memory``), first banking each
for the clock (``epur.energy.banking``) unless told not to, and returns an ``SramTable``:
per memory, the SRAM as CACTI saw it, the cycles one access holds its port at the
clock (what the timing model charges, ``SramTable.access_cycles``), the energy per read
and write, the leakage and the area (what the energy and area model charge).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from epur.arch import ArchConfig, Memory
from epur.energy.backend import SramBackend, memory_specs
from epur.energy.banking import Banking, cycles_per_access
from epur.energy.banking import bank_for_clock as _bank_for_clock
from epur.energy.cacti import SramResult, SramSpec
from epur.timing.result import AccessCycles

__all__ = ["SramEntry", "SramTable", "characterise_srams"]


@dataclass(frozen=True, slots=True)
class SramEntry:
    """One on-chip memory as characterised: what CACTI was asked (``spec``, per
    instance), what it answered (``result``), and the cycles one access holds the port
    at the design's clock."""

    memory: Memory
    instances: int
    spec: SramSpec
    result: SramResult
    config_text: str | None  # the CACTI configuration (to re-run it), when known
    cycles_per_access: int

    @property
    def name(self) -> str:
        """The memory's name (its ``ArchConfig`` field and JSON key)."""
        return self.memory.value

    @property
    def read_energy_j(self) -> float:
        return self.result.read_energy_j

    @property
    def write_energy_j(self) -> float:
        return self.result.write_energy_j

    @property
    def leakage_w(self) -> float:
        """Subthreshold and gate leakage of one instance."""
        return self.result.leakage_w + self.result.gate_leakage_w

    @property
    def area_mm2(self) -> float:
        """Area of one instance."""
        return self.result.area_mm2

    @property
    def cycle_time_s(self) -> float:
        return self.result.cycle_time_s

    @property
    def fits_clock(self) -> bool:
        return self.cycles_per_access <= 1


@dataclass(frozen=True, slots=True)
class SramTable:
    """Every on-chip memory of ``arch`` characterised, in ``Memory`` order. ``arch`` is
    the architecture characterised: with banking for the clock, the given one with its
    SRAMs' bank counts as ``banking`` chose."""

    backend: str
    arch: ArchConfig
    entries: tuple[SramEntry, ...]
    banking: tuple[Banking, ...] = ()

    def __post_init__(self) -> None:
        if tuple(e.memory for e in self.entries) != tuple(Memory):
            raise ValueError("an SRAM table holds one entry per memory, in Memory order")

    def __getitem__(self, memory: Memory) -> SramEntry:
        return self.entries[list(Memory).index(memory)]

    def __iter__(self) -> Iterator[SramEntry]:
        return iter(self.entries)

    @property
    def clock_hz(self) -> int:
        return self.arch.clock_hz

    def access_cycles(self) -> AccessCycles:
        """What the timing model charges per access of each memory."""
        return AccessCycles.from_memories({e.memory: e.cycles_per_access for e in self})

    @property
    def leakage_w(self) -> float:
        """Leakage of every instance of every memory."""
        return sum(e.instances * e.leakage_w for e in self)

    def area_mm2(self) -> dict[Memory, float]:
        """Area of every instance of each memory."""
        return {e.memory: e.instances * e.area_mm2 for e in self}


def characterise_srams(
    arch: ArchConfig, backend: SramBackend, *, bank_for_clock: bool = True
) -> SramTable:
    """Every on-chip memory of ``arch`` from ``backend``; with ``bank_for_clock``, each
    first banked until its cycle time fits the clock (``epur.energy.bank_for_clock``)."""
    banking: tuple[Banking, ...] = ()
    if bank_for_clock:
        arch, banking = _bank_for_clock(arch, backend)
    entries = tuple(
        SramEntry(
            memory,
            memory.instances(arch),
            spec,
            (result := backend.sram(spec)),
            backend.config_text(spec),
            cycles_per_access(result.cycle_time_s, arch.clock_hz),
        )
        for memory, spec in memory_specs(arch).items()
    )
    return SramTable(backend.name, arch, entries, banking)
