"""The schedule: one representation of the order of work, shared by every model.

A ``Schedule`` is produced once per (network, architecture, dataflow) by
``epur.schedule.build_schedule`` and executed by the timing models (closed form
and step-by-step reference), and later by the functional model and the RTL
test bench, so all of them run the same order of work (docs/model.md section 2).

It is compact: a tuple of ``Phase`` objects, each a loop nest over ``steps``
and ``works`` (never one object per MAC):

* ``Order.STEP_MAJOR``: ``for t in steps: for work in works: run(work, t)``.
  A recurrence (one work), or an autoregressive stack advancing one step at a
  time through all its layers (one work per layer).
* ``Order.WORK_MAJOR``: ``for work in works: for t in steps: run(work, t)``.
  MWL's input phase and fully-connected layers under MWL: one work per tile of
  weight rows, each tile reused over the whole sequence.

Steps run ``T-1 .. 0`` when ``Phase.reverse`` (backward direction). A *work* is
what one layer direction does at one step of one batch element: ``DotGroup``s
of dot products on the four CUs, MFU operations, and transfers of sequence
vectors (``Access``) between the intermediate memory, main memory and the input
buffers. ``docs/model.md`` gives the exact rules the timing models apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Access",
    "ArrayKind",
    "Dataflow",
    "Direction",
    "DotGroup",
    "LayerInfo",
    "MfuOps",
    "Order",
    "Phase",
    "PhaseKind",
    "Schedule",
    "SeqArray",
    "Weights",
    "Work",
    "live_ranges",
]


class Dataflow(StrEnum):
    """The order in which E-PUR processes a layer (docs/model.md section 2)."""

    BASELINE = "baseline"
    MWL = "mwl"


class Direction(StrEnum):
    FORWARD = "fw"
    BACKWARD = "bw"


class Order(StrEnum):
    STEP_MAJOR = "step-major"
    WORK_MAJOR = "work-major"


class PhaseKind(StrEnum):
    RECURRENT = "recurrent"  # the recurrence: h_{t-1} -> h_t, drains at every step
    INPUT = "input"  # MWL phase A: W x_t for all t, partial sums to memory
    FEEDFORWARD = "feedforward"  # a fully-connected layer


class ArrayKind(StrEnum):
    EXTERNAL = "external"  # lives in main memory: network inputs/outputs, attention context
    SEQUENCE = "sequence"  # a layer's output sequence, consumed by the next layer
    PARTIAL_SUMS = "partial_sums"  # MWL: W x_t + b for every step, 4 gates
    STATE = "state"  # h and c of a layer in an autoregressive stack (a ring of 1 row)


@dataclass(frozen=True, slots=True)
class SeqArray:
    """A ring of ``rows`` rows of ``elements`` numbers of ``bits`` bits (per batch element).

    Step ``t`` uses row ``t % rows``. Rows ``< resident_rows`` are in the
    intermediate memory; the others spill to main memory.
    """

    name: str
    kind: ArrayKind
    rows: int
    elements: int
    bits: int
    resident_rows: int

    @property
    def row_bytes(self) -> int:
        return self.elements * self.bits // 8

    @property
    def resident_bytes(self) -> int:
        return self.resident_rows * self.row_bytes

    @property
    def total_bytes(self) -> int:
        return self.rows * self.row_bytes

    def resident(self, step: int) -> bool:
        return step % self.rows < self.resident_rows


@dataclass(frozen=True, slots=True)
class Access:
    """Per step and batch element, ``vectors`` reads or writes of a ``SeqArray``.

    Each entry of ``vectors`` is one transfer of that many elements (e.g. one per
    CU for partial sums); each is rounded up to whole words of the memory port.
    """

    array: SeqArray
    vectors: tuple[int, ...]

    @property
    def elements(self) -> int:
        return sum(self.vectors)


@dataclass(frozen=True, slots=True)
class DotGroup:
    """Dot products issued back to back on the four CUs at one step.

    CU ``c`` computes ``rows[c]`` dot products of ``length`` elements, reading
    ``consts[c]`` per-row constants (bias, peephole) from its weight buffer. The
    CUs run in lockstep, so the group takes ``max(rows) * ceil(length / lanes)``
    issue cycles per batch element. ``drain_cycles`` is the pipeline latency
    from its last chunk to its last result.
    """

    label: str
    rows: tuple[int, ...]
    length: int
    consts: tuple[int, ...]
    drain_cycles: int


@dataclass(frozen=True, slots=True)
class MfuOps:
    """MFU operations by kind."""

    sigmoid: int = 0
    tanh: int = 0
    relu: int = 0
    mul: int = 0
    add: int = 0

    def __add__(self, other: MfuOps) -> MfuOps:
        return MfuOps(
            self.sigmoid + other.sigmoid,
            self.tanh + other.tanh,
            self.relu + other.relu,
            self.mul + other.mul,
            self.add + other.add,
        )

    def __mul__(self, factor: int) -> MfuOps:
        return self.scaled(factor)

    def scaled(self, factor: int) -> MfuOps:
        return MfuOps(
            self.sigmoid * factor,
            self.tanh * factor,
            self.relu * factor,
            self.mul * factor,
            self.add * factor,
        )

    @property
    def total(self) -> int:
        return self.sigmoid + self.tanh + self.relu + self.mul + self.add


@dataclass(frozen=True, slots=True)
class Weights:
    """A work's weights in each CU's weight buffer, in bytes.

    The first step the work runs fetches all of ``footprint``; ``resident`` stays
    in the buffer, and each later step re-fetches ``footprint - resident``.
    """

    footprint: tuple[int, ...]
    resident: tuple[int, ...]

    @property
    def overflow(self) -> tuple[int, ...]:
        return tuple(f - r for f, r in zip(self.footprint, self.resident, strict=True))


@dataclass(frozen=True, slots=True)
class Work:
    """What one layer direction does at one step, for one batch element.

    ``ib_writes``: vectors written into *each* CU's input buffer, each packed into port
    words as the DPU reads it (a dot product's operand, e.g. the baseline's ``[x_t,
    h_{t-1}]``, is one vector however many arrays it comes from); ``ib_footprint``:
    elements the input buffer must hold; ``mfu_ib_reads``: vectors the MFU reads
    from one input buffer (the residual shortcut).
    """

    layer: int
    direction: Direction
    label: str
    groups: tuple[DotGroup, ...]
    mfu: MfuOps
    reads: tuple[Access, ...]
    writes: tuple[Access, ...]
    ib_writes: tuple[int, ...]
    ib_footprint: int
    mfu_ib_reads: tuple[int, ...]
    weights: Weights


@dataclass(frozen=True, slots=True)
class Phase:
    kind: PhaseKind
    order: Order
    steps: int
    reverse: bool
    drain_each_step: bool
    works: tuple[Work, ...]

    def step_order(self) -> range:
        return range(self.steps - 1, -1, -1) if self.reverse else range(self.steps)


@dataclass(frozen=True, slots=True)
class LayerInfo:
    index: int
    name: str
    kind: str  # "lstm" or "fc"
    stack: str
    directions: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """The whole order of work of one inference (one batch of sequences)."""

    network: str
    dataflow: Dataflow
    batch: int
    layers: tuple[LayerInfo, ...]
    arrays: tuple[SeqArray, ...]
    phases: tuple[Phase, ...]
    notes: tuple[str, ...]


def live_ranges(phases: Sequence[Phase]) -> dict[int, tuple[int, int]]:
    """First and last phase index touching each array (keyed by ``id``)."""
    ranges: dict[int, tuple[int, int]] = {}
    for index, phase in enumerate(phases):
        for work in phase.works:
            for access in (*work.reads, *work.writes):
                first, _ = ranges.get(id(access.array), (index, index))
                ranges[id(access.array)] = (first, index)
    return ranges
