"""Results of the timing and memory model: event counts per layer and in total.

Event counts are the only input of the energy model (``epur.energy.model``); they are
plain integers so that the closed-form and reference models can be compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from epur.arch import ArchConfig, Memory
from epur.schedule.ir import Dataflow, LayerInfo, MfuOps, Schedule

__all__ = ["AccessCycles", "Counts", "LayerResult", "Peaks", "TimingResult"]


@dataclass(frozen=True, slots=True)
class AccessCycles:
    """Clock cycles one access holds each on-chip memory's port (docs/model.md s3).

    The default, one cycle, is a memory that cycles at the clock. ``evaluate`` derives
    the values from the SRAM model (CACTI's cycle time); the timing model alone does
    not know it.
    """

    weight_buffer: int = 1
    input_buffer: int = 1
    intermediate_memory: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{f.name} cycles per access must be an integer >= 1, not {value!r}"
                )

    def of(self, memory: Memory) -> int:
        """The cycles one access holds ``memory``'s port."""
        cycles: int = getattr(self, memory.value)
        return cycles

    @classmethod
    def from_memories(cls, cycles: dict[Memory, int]) -> AccessCycles:
        """Cycles per access given by memory (a memory not given: one cycle)."""
        return cls(**{m.value: c for m, c in cycles.items()})


@dataclass(frozen=True, slots=True)
class Counts:
    """Cycles and events of a part of the schedule (one layer, or the whole network).

    Buffer reads and writes are in words of that buffer's port width, summed over
    the four CUs; DRAM traffic is in bytes.
    """

    cycles: int = 0
    compute_cycles: int = 0
    stall_cycles: int = 0  # waiting for main memory
    port_stall_cycles: int = 0  # waiting for an on-chip memory port
    drain_cycles: int = 0
    macs: int = 0
    dpu_chunks: int = 0
    adder_tree_adds: int = 0
    accumulator_adds: int = 0
    mfu: MfuOps = field(default_factory=MfuOps)
    weight_buffer_reads: int = 0
    weight_buffer_writes: int = 0
    input_buffer_reads: int = 0
    input_buffer_writes: int = 0
    intermediate_memory_reads: int = 0
    intermediate_memory_writes: int = 0
    dram_weight_bytes: int = 0
    dram_activation_read_bytes: int = 0
    dram_activation_write_bytes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)))

    def scaled(self, factor: int) -> Counts:
        """Every count multiplied by ``factor`` (``factor`` identical segments)."""
        return Counts(*(getattr(self, f.name) * factor for f in fields(Counts)))

    def reads(self, memory: Memory) -> int:
        """Reads of ``memory`` in words of its port width (all its instances)."""
        reads: int = getattr(self, f"{memory.value}_reads")
        return reads

    def writes(self, memory: Memory) -> int:
        """Writes of ``memory`` in words of its port width (all its instances)."""
        writes: int = getattr(self, f"{memory.value}_writes")
        return writes

    def accesses(self, memory: Memory) -> int:
        """Reads and writes of ``memory``."""
        return self.reads(memory) + self.writes(memory)

    @property
    def dram_activation_bytes(self) -> int:
        return self.dram_activation_read_bytes + self.dram_activation_write_bytes

    @property
    def dram_bytes(self) -> int:
        return self.dram_weight_bytes + self.dram_activation_bytes


@dataclass(frozen=True, slots=True)
class Peaks:
    """Peak occupancy of each on-chip memory, in bytes (weight and input buffers: per CU)."""

    weight_buffer_bytes: int
    input_buffer_bytes: int
    intermediate_memory_bytes: int

    def of(self, memory: Memory) -> int:
        """The peak occupancy of ``memory`` in bytes (per CU for the buffers)."""
        peak: int = getattr(self, f"{memory.value}_bytes")
        return peak

    @staticmethod
    def envelope(peaks: Iterable[Peaks]) -> Peaks:
        """The largest occupancy of each memory over ``peaks`` (e.g. over the layers)."""
        items = list(peaks)
        return Peaks(
            max(p.weight_buffer_bytes for p in items),
            max(p.input_buffer_bytes for p in items),
            max(p.intermediate_memory_bytes for p in items),
        )


@dataclass(frozen=True, slots=True)
class LayerResult:
    """One layer's counts and the peak occupancy of each memory while it runs.

    Weight-buffer and intermediate-memory peaks are those of the phases the layer
    runs in (an autoregressive stack's layers share one phase and its buffers); the
    input-buffer peak is the layer's own working set.
    """

    info: LayerInfo
    counts: Counts
    peaks: Peaks


@dataclass(frozen=True, slots=True)
class TimingResult:
    """What the timing model returns for one inference (one batch of sequences)."""

    network: str
    dataflow: Dataflow
    clock_hz: int
    lanes: int
    compute_units: int
    layers: tuple[LayerResult, ...]
    total: Counts
    peaks: Peaks
    notes: tuple[str, ...]
    access_cycles: AccessCycles

    @classmethod
    def build(
        cls,
        schedule: Schedule,
        arch: ArchConfig,
        access_cycles: AccessCycles,
        layers: tuple[LayerResult, ...],
        total: Counts,
    ) -> TimingResult:
        """The result of running ``schedule`` on ``arch``; peaks are the layers' envelope."""
        return cls(
            network=schedule.network,
            dataflow=schedule.dataflow,
            clock_hz=arch.clock_hz,
            lanes=arch.dpu.lanes,
            compute_units=arch.compute_units,
            layers=layers,
            total=total,
            peaks=Peaks.envelope(lr.peaks for lr in layers),
            notes=schedule.notes,
            access_cycles=access_cycles,
        )

    def latency_s(self, counts: Counts | None = None) -> float:
        return (counts or self.total).cycles / self.clock_hz

    def dpu_utilization(self, counts: Counts | None = None) -> float:
        c = counts or self.total
        peak = c.cycles * self.compute_units * self.lanes
        return c.macs / peak if peak else 0.0

    def summary(self, counts: Counts | None = None) -> dict[str, Any]:
        """The headline fields of ``counts`` (default: the total), SI units."""
        c = counts or self.total
        return {
            "cycles": c.cycles,
            "latency_s": self.latency_s(c),
            "macs": c.macs,
            "dpu_utilization": self.dpu_utilization(c),
            "dram_weight_bytes": c.dram_weight_bytes,
            "dram_bytes": c.dram_bytes,
        }
