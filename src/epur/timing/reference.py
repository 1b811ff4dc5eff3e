"""The step-by-step reference timing model: ``docs/model.md`` executed literally.

Single responsibility: be an independent, obviously-correct restatement of the
timing and memory model, against which the closed form (``epur.timing.model``) is
checked in the tests. It walks every phase, step, work, group, CU, row, DPU
chunk, batch element, MFU operation and transfer of a ``Schedule`` and counts them
one at a time, and it tracks the contents of the buffers and of the intermediate
memory as the schedule runs to find their peak occupancy. It is slow on purpose:
nothing here is a formula that the closed form could share by mistake, and it
never imports the closed form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from itertools import groupby

from epur.arch import ArchConfig
from epur.schedule.ir import (
    ArrayKind,
    DotGroup,
    MfuOps,
    Order,
    Phase,
    Schedule,
    SeqArray,
    Work,
)
from epur.timing.result import AccessCycles, Counts, LayerResult, Peaks, TimingResult
from epur.units import ceil_div

__all__ = ["simulate_reference"]


def _words(elements: int, bits: int, port_bits: int) -> int:
    """``words(n, bits, port)``: port accesses that move ``elements`` numbers of ``bits``."""
    return ceil_div(elements * bits, port_bits)


def _chunks(length: int, lanes: int) -> Iterator[int]:
    """The element count of each DPU chunk of a dot product of ``length`` elements."""
    for start in range(0, length, lanes):
        yield min(lanes, length - start)


@dataclass(frozen=True, slots=True)
class _Hardware:
    """What the model needs of the architecture and of the schedule, in model units."""

    arch: ArchConfig
    batch: int
    lanes: int
    storage_bits: int
    wb_port: int
    ib_port: int
    im_port: int
    access: AccessCycles

    @classmethod
    def of(cls, arch: ArchConfig, batch: int, access: AccessCycles) -> _Hardware:
        return cls(
            arch=arch,
            batch=batch,
            lanes=arch.dpu.lanes,
            storage_bits=arch.storage_bits,
            wb_port=arch.port_bits(arch.weight_buffer),
            ib_port=arch.port_bits(arch.input_buffer),
            im_port=arch.port_bits(arch.intermediate_memory),
            access=access,
        )


@dataclass(slots=True)
class _PortUse:
    """Accesses to each memory instance's single port during one segment."""

    weight_buffer: list[int]  # per CU
    input_buffer: list[int]  # per CU
    intermediate_memory: int = 0

    def busy_cycles(self, access: AccessCycles) -> int:
        """The cycles the busiest port is held: accesses x cycles per access."""
        busiest = 0
        for n in self.weight_buffer:
            busiest = max(busiest, n * access.weight_buffer)
        for n in self.input_buffer:
            busiest = max(busiest, n * access.input_buffer)
        return max(busiest, self.intermediate_memory * access.intermediate_memory)


@dataclass(slots=True)
class _Tally:
    """Mutable counters with the fields of ``Counts``, incremented one event at a time."""

    cycles: int = 0
    compute_cycles: int = 0
    stall_cycles: int = 0
    port_stall_cycles: int = 0
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

    def dram_bytes(self) -> int:
        return (
            self.dram_weight_bytes
            + self.dram_activation_read_bytes
            + self.dram_activation_write_bytes
        )

    def freeze(self) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) for f in fields(Counts)})


# ---- the walk over the schedule ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segment:
    """One ``run(work, t)``: the ``position``-th segment of the whole schedule."""

    position: int
    phase_index: int
    phase: Phase
    work_index: int
    work: Work
    step: int


def _segments(schedule: Schedule) -> Iterator[_Segment]:
    """Every segment of the schedule, in execution order (docs/model.md section 2)."""
    position = 0
    for p, phase in enumerate(schedule.phases):
        if phase.order == Order.STEP_MAJOR:
            pairs = [(t, k) for t in phase.step_order() for k in range(len(phase.works))]
        else:
            pairs = [(t, k) for k in range(len(phase.works)) for t in phase.step_order()]
        for t, k in pairs:
            yield _Segment(position, p, phase, k, phase.works[k], t)
            position += 1


def _touched(work: Work) -> list[SeqArray]:
    """The arrays a work reads or writes."""
    return [access.array for access in (*work.reads, *work.writes)]


def _last_touches(schedule: Schedule) -> dict[SeqArray, int]:
    """Pre-pass: when each array dies, as the position of the last segment of the last
    phase that touches it (liveness is per phase, the unit of IM placement)."""
    phase_end: dict[int, int] = {}
    touched_in: dict[SeqArray, int] = {}
    for segment in _segments(schedule):
        phase_end[segment.phase_index] = segment.position
        for array in _touched(segment.work):
            touched_in[array] = segment.phase_index
    return {array: phase_end[phase] for array, phase in touched_in.items()}


# ---- one segment -----------------------------------------------------------------------------


def _run_group(group: DotGroup, hw: _Hardware, tally: _Tally, ports: _PortUse) -> int:
    """Issue the group's dot products on the CUs; return its (lockstep) issue cycles.

    Per row, each chunk's weights are read from the weight buffer once and stay in
    the DPU while the batch elements stream through it.
    """
    w = hw.storage_bits
    issued_per_cu: list[int] = []
    for c, rows in enumerate(group.rows):
        issued = 0
        for _row in range(rows):
            words = _words(group.consts[c], w, hw.wb_port)
            tally.weight_buffer_reads += words
            ports.weight_buffer[c] += words
            for elements in _chunks(group.length, hw.lanes):
                words = _words(elements, w, hw.wb_port)
                tally.weight_buffer_reads += words
                ports.weight_buffer[c] += words
                for _b in range(hw.batch):
                    tally.macs += elements
                    tally.dpu_chunks += 1
                    tally.adder_tree_adds += hw.lanes - 1  # a short chunk still uses the tree
                    tally.accumulator_adds += 1
                    words = _words(elements, w, hw.ib_port)
                    tally.input_buffer_reads += words
                    ports.input_buffer[c] += words
                    issued += 1
        issued_per_cu.append(issued)
    return max(issued_per_cu)  # the CUs run in lockstep: one chunk per cycle each


def _run_mfu_and_input_buffer(work: Work, hw: _Hardware, tally: _Tally, ports: _PortUse) -> None:
    """Per batch element: the MFU operations, its input-buffer reads (from the first CU's
    buffer), the IB writes."""
    w = hw.storage_bits
    for _b in range(hw.batch):
        tally.mfu = tally.mfu + work.mfu
        for vector in work.mfu_ib_reads:
            words = _words(vector, w, hw.ib_port)
            tally.input_buffer_reads += words
            ports.input_buffer[0] += words
        for cu in range(hw.arch.compute_units):  # every CU's input buffer gets a copy
            for vector in work.ib_writes:
                words = _words(vector, w, hw.ib_port)
                tally.input_buffer_writes += words
                ports.input_buffer[cu] += words


def _run_transfers(work: Work, step: int, hw: _Hardware, tally: _Tally, ports: _PortUse) -> None:
    """Sequence reads and writes: to the IM if the step's row is resident, else DRAM."""
    for is_write, accesses in ((False, work.reads), (True, work.writes)):
        for access in accesses:
            array = access.array
            in_im = array.resident(step)
            for _b in range(hw.batch):
                for vector in access.vectors:
                    if in_im and is_write:
                        words = _words(vector, array.bits, hw.im_port)
                        tally.intermediate_memory_writes += words
                        ports.intermediate_memory += words
                    elif in_im:
                        words = _words(vector, array.bits, hw.im_port)
                        tally.intermediate_memory_reads += words
                        ports.intermediate_memory += words
                    elif is_write:
                        tally.dram_activation_write_bytes += vector * array.bits // 8
                    else:
                        tally.dram_activation_read_bytes += vector * array.bits // 8


def _fetch_weights(work: Work, first: bool, hw: _Hardware, tally: _Tally, ports: _PortUse) -> None:
    """The whole footprint on the work's first step, the overflow on every later one."""
    for c in range(len(work.weights.footprint)):
        footprint, resident = work.weights.footprint[c], work.weights.resident[c]
        fetched = footprint if first else footprint - resident
        tally.dram_weight_bytes += fetched
        words = _words(fetched * 8, 1, hw.wb_port)
        tally.weight_buffer_writes += words
        ports.weight_buffer[c] += words


def _run_segment(segment: _Segment, first: bool, hw: _Hardware) -> Counts:
    """Counts and cycles of one ``run(work, t)`` (docs/model.md section 3)."""
    work, tally = segment.work, _Tally()
    cus = hw.arch.compute_units
    ports = _PortUse([0] * cus, [0] * cus)
    issue = 0
    for group in work.groups:
        issue += _run_group(group, hw, tally, ports)
    _run_mfu_and_input_buffer(work, hw, tally, ports)
    _run_transfers(work, segment.step, hw, tally, ports)
    _fetch_weights(work, first, hw, tally, ports)
    dram = hw.arch.dram_cycles(tally.dram_bytes())
    # The segment lasts as long as its busiest resource: the DPUs, main memory, a port.
    busiest = max(issue, dram, ports.busy_cycles(hw.access))
    drain = 0
    if segment.phase.drain_each_step:
        for group in work.groups:
            drain += group.drain_cycles
    tally.compute_cycles = issue
    tally.stall_cycles = max(0, dram - issue)
    tally.port_stall_cycles = busiest - max(issue, dram)
    tally.drain_cycles = drain
    tally.cycles = busiest + drain
    return tally.freeze()


def _end_of_phase_drain(phase: Phase) -> Counts:
    """A phase without a drain per step drains once, by its last group, at its end."""
    if phase.drain_each_step:
        return Counts()
    drain = phase.works[-1].groups[-1].drain_cycles
    return Counts(cycles=drain, drain_cycles=drain)


# ---- peak occupancy --------------------------------------------------------------------------


@dataclass(slots=True)
class _Occupancy:
    """The contents of the on-chip memories as the schedule runs (docs/model.md section 4)."""

    hw: _Hardware
    last_touch: dict[SeqArray, int]
    weight_buffer: list[int] = field(default_factory=list)  # bytes per CU, current phase
    live: set[SeqArray] = field(default_factory=set)
    phase_wb: int = 0  # peaks of the current phase
    phase_im: int = 0
    layers: dict[int, list[int]] = field(default_factory=dict)  # layer -> [wb, ib, im]

    def start_phase(self, cus: int) -> None:
        self.weight_buffer = [0] * cus
        self.phase_wb = self.phase_im = 0

    def end_phase(self, phase: Phase) -> None:
        """The shared memories' peaks of the phase go to every layer that ran in it."""
        for work in phase.works:
            peaks = self.layers.setdefault(work.layer, [0, 0, 0])
            peaks[0] = max(peaks[0], self.phase_wb)
            peaks[2] = max(peaks[2], self.phase_im)

    def load_weights(self, phase: Phase, work: Work) -> None:
        """A work's first step: its resident weights enter the weight buffer."""
        for c, resident in enumerate(work.weights.resident):
            if phase.order == Order.STEP_MAJOR:
                self.weight_buffer[c] += resident  # the phase's works coexist
            else:
                self.weight_buffer[c] = resident  # a tile replaces the previous one
        self.phase_wb = max(self.phase_wb, *self.weight_buffer)

    def run(self, segment: _Segment) -> None:
        """The input buffer's working set and the live arrays during one segment."""
        hw = self.hw
        need = ceil_div(segment.work.ib_footprint * hw.storage_bits * hw.batch, 8)
        peaks = self.layers.setdefault(segment.work.layer, [0, 0, 0])
        peaks[1] = max(peaks[1], need)
        for array in _touched(segment.work):
            if array.kind != ArrayKind.EXTERNAL:
                self.live.add(array)  # live from its first touch
        in_im = 0
        for array in self.live:
            in_im += array.resident_rows * array.row_bytes * hw.batch
        self.phase_im = max(self.phase_im, in_im)
        for array in list(self.live):
            if self.last_touch[array] == segment.position:
                self.live.remove(array)  # dead after the last phase touching it

    def layer_peaks(self, layer: int) -> Peaks:
        return Peaks(*self.layers.get(layer, [0, 0, 0]))


# ---- the whole schedule ----------------------------------------------------------------------


@dataclass(slots=True)
class _Ledger:
    """Counts per layer (by ``LayerInfo.index``) and in total."""

    per_layer: dict[int, Counts]
    total: Counts = field(default_factory=Counts)

    def charge(self, layer: int, counts: Counts) -> None:
        self.per_layer[layer] += counts
        self.total += counts


def _run_phase(segments: Iterator[_Segment], occupancy: _Occupancy, ledger: _Ledger) -> None:
    """The segments of one phase, in order, then its end-of-phase drain."""
    hw = occupancy.hw
    occupancy.start_phase(hw.arch.compute_units)
    has_run: set[int] = set()  # works of this phase that have run a step
    phase: Phase | None = None
    for segment in segments:
        phase, work = segment.phase, segment.work
        first = segment.work_index not in has_run
        if first:
            has_run.add(segment.work_index)
            occupancy.load_weights(phase, work)
        occupancy.run(segment)
        ledger.charge(work.layer, _run_segment(segment, first, hw))
    if phase is not None:  # charged to the layer of the phase's last work
        ledger.charge(phase.works[-1].layer, _end_of_phase_drain(phase))
        occupancy.end_phase(phase)


def simulate_reference(
    schedule: Schedule, arch: ArchConfig, access_cycles: AccessCycles | None = None
) -> TimingResult:
    """Run ``schedule`` on ``arch`` segment by segment and count every event."""
    access_cycles = access_cycles or AccessCycles()
    hw = _Hardware.of(arch, schedule.batch, access_cycles)
    ledger = _Ledger({info.index: Counts() for info in schedule.layers})
    occupancy = _Occupancy(hw, _last_touches(schedule))
    for _p, segments in groupby(_segments(schedule), key=lambda s: s.phase_index):
        _run_phase(segments, occupancy, ledger)
    layers = tuple(
        LayerResult(info, ledger.per_layer[info.index], occupancy.layer_peaks(info.index))
        for info in schedule.layers
    )
    return TimingResult.build(schedule, arch, access_cycles, layers, ledger.total)
