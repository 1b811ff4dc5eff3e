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
    PhaseKind,
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

    weight_buffer: list[int]  # per CU: the DPU's reads (and fills, single-buffered)
    input_buffer: list[int]  # per CU
    spare_bank: list[int]  # per CU: fills into the bank not being read (double-buffered)
    intermediate_memory: int = 0

    def busy_cycles(self, access: AccessCycles) -> int:
        """The cycles the busiest port is held: accesses x cycles per access."""
        busiest = 0
        for n in self.weight_buffer:
            busiest = max(busiest, n * access.weight_buffer)
        for n in self.spare_bank:
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


def _run_group(
    group: DotGroup, reads_weights: bool, hw: _Hardware, tally: _Tally, ports: _PortUse
) -> int:
    """Issue the group's dot products on the CUs; return its (lockstep) issue cycles.

    Per row, each chunk's weights are read from the weight buffer once and stay in
    the DPU while the batch elements stream through it. Unless ``reads_weights``, they
    are still in the lanes' registers from an earlier step: no weight-buffer reads.
    """
    w = hw.storage_bits
    options = hw.arch.options
    issued_per_cu: list[int] = []
    for c, rows in enumerate(group.rows):
        issued = 0
        for _row in range(rows):
            if reads_weights and not options.constants_in_mfu:  # bias, peephole words
                words = _words(group.consts[c], w, hw.wb_port)
                tally.weight_buffer_reads += words
                ports.weight_buffer[c] += words
            for elements in _chunks(group.length, hw.lanes):
                if reads_weights:
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
        if hw.arch.options.double_buffered_weights:  # written into the bank not being read
            ports.spare_bank[c] += words
        else:
            ports.weight_buffer[c] += words


def _prefetched_weights(work: Work, hw: _Hardware, tally: _Tally) -> None:
    """The resident weights, fetched during the previous phase: counted, no cycles here."""
    for resident in work.weights.resident:
        tally.dram_weight_bytes += resident
        tally.weight_buffer_writes += _words(resident * 8, 1, hw.wb_port)


@dataclass(slots=True)
class _Idle:
    """Cycles in which main memory, and each CU's weight-buffer port that takes fills (the
    spare bank's, double-buffered), did nothing."""

    dram: int
    weight_buffer: list[int]


def _run_segment(
    segment: _Segment, first: bool, prefetched: bool, reads_weights: bool, hw: _Hardware
) -> tuple[Counts, _Idle]:
    """Counts and cycles of one ``run(work, t)`` (docs/model.md section 3), and how long
    main memory and each weight-buffer port sat idle in it.

    ``prefetched``: the work's resident weights came during the previous phase, so its
    first step fetches only the overflow, as a later one does."""
    work, tally = segment.work, _Tally()
    cus = hw.arch.compute_units
    ports = _PortUse([0] * cus, [0] * cus, [0] * cus)
    issue = 0
    for group in work.groups:
        issue += _run_group(group, reads_weights, hw, tally, ports)
    _run_mfu_and_input_buffer(work, hw, tally, ports)
    _run_transfers(work, segment.step, hw, tally, ports)
    _fetch_weights(work, first and not prefetched, hw, tally, ports)
    dram = hw.arch.dram_cycles(tally.dram_bytes())
    if first and prefetched:
        _prefetched_weights(work, hw, tally)
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
    fill_port = ports.spare_bank if hw.arch.options.double_buffered_weights else ports.weight_buffer
    wb_idle = [tally.cycles - n * hw.access.weight_buffer for n in fill_port]
    return tally.freeze(), _Idle(tally.cycles - dram, wb_idle)


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
    phase_wb_per_cu: list[int] = field(default_factory=list)  # the phase's peak per CU
    phase_wb: int = 0  # peaks of the current phase
    phase_im: int = 0
    layers: dict[int, list[int]] = field(default_factory=dict)  # layer -> [wb, ib, im]

    def start_phase(self, cus: int) -> None:
        self.weight_buffer = [0] * cus
        self.phase_wb_per_cu = [0] * cus
        self.phase_wb = self.phase_im = 0

    def hold_ahead(self, resident: tuple[int, ...]) -> None:
        """The next phase's first weights, prefetched: they sit beside this phase's."""
        peak = 0
        for held, ahead in zip(self.phase_wb_per_cu, resident, strict=True):
            peak = max(peak, held + ahead)
        self.phase_wb = max(self.phase_wb, peak)

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
            self.phase_wb_per_cu[c] = max(self.phase_wb_per_cu[c], self.weight_buffer[c])
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


def _run_phase(
    phase: Phase, segments: list[_Segment], prefetched: bool, occupancy: _Occupancy, ledger: _Ledger
) -> _Idle:
    """The segments of one phase, in order, then its end-of-phase drain (the occupancy's
    phase is left open: the next phase may prefetch into it). Returns the phase's idle
    main-memory and weight-buffer port cycles."""
    hw = occupancy.hw
    cus = hw.arch.compute_units
    occupancy.start_phase(cus)
    idle = _Idle(0, [0] * cus)
    has_run: set[int] = set()  # works of this phase that have run a step
    steps_run: dict[int, int] = {}  # steps each work has run so far
    for segment in segments:
        work = segment.work
        first = segment.work_index not in has_run
        if first:
            has_run.add(segment.work_index)
            occupancy.load_weights(phase, work)
        position = steps_run.get(segment.work_index, 0)
        steps_run[segment.work_index] = position + 1
        reads_weights = True
        if phase.kind == PhaseKind.INPUT:  # one read serves k consecutive steps
            reads_weights = position % hw.arch.options.input_steps_per_weight_read == 0
        early = prefetched and segment.work_index == 0
        occupancy.run(segment)
        counts, seg_idle = _run_segment(segment, first, early, reads_weights, hw)
        ledger.charge(work.layer, counts)
        idle.dram += seg_idle.dram
        for c in range(cus):
            idle.weight_buffer[c] += seg_idle.weight_buffer[c]
    drain = _end_of_phase_drain(phase)  # charged to the layer of the phase's last work
    ledger.charge(phase.works[-1].layer, drain)
    idle.dram += drain.cycles
    for c in range(cus):
        idle.weight_buffer[c] += drain.cycles
    return idle


def _will_prefetch(next_phase: Phase, idle: _Idle, occupancy: _Occupancy) -> bool:
    """Whether ``next_phase``'s first work's resident weights are fetched during the phase
    that just ran (docs/model.md, design options): they fit beside its weights, and main
    memory and each CU's fill port sat idle long enough."""
    hw = occupancy.hw
    if not hw.arch.options.prefetch_next_layer:
        return False
    resident = next_phase.works[0].weights.resident
    if sum(resident) == 0:
        return False
    for held, ahead in zip(occupancy.phase_wb_per_cu, resident, strict=True):
        if held + ahead > hw.arch.weight_buffer.capacity_bytes:
            return False
    if hw.arch.dram_cycles(sum(resident)) > idle.dram:
        return False
    for ahead, free in zip(resident, idle.weight_buffer, strict=True):
        if _words(ahead * 8, 1, hw.wb_port) * hw.access.weight_buffer > free:
            return False
    return True


def simulate_reference(
    schedule: Schedule, arch: ArchConfig, access_cycles: AccessCycles | None = None
) -> TimingResult:
    """Run ``schedule`` on ``arch`` segment by segment and count every event."""
    access_cycles = access_cycles or AccessCycles()
    hw = _Hardware.of(arch, schedule.batch, access_cycles)
    ledger = _Ledger({info.index: Counts() for info in schedule.layers})
    occupancy = _Occupancy(hw, _last_touches(schedule))
    by_phase: dict[int, list[_Segment]] = {}
    for p, group in groupby(_segments(schedule), key=lambda s: s.phase_index):
        by_phase[p] = list(group)
    prefetched = False
    phases = schedule.phases
    for index, phase in enumerate(phases):
        idle = _run_phase(phase, by_phase.get(index, []), prefetched, occupancy, ledger)
        prefetched = False
        if index + 1 < len(phases):
            next_phase = phases[index + 1]
            prefetched = _will_prefetch(next_phase, idle, occupancy)
            if prefetched:
                occupancy.hold_ahead(next_phase.works[0].weights.resident)
        occupancy.end_phase(phase)
    layers = tuple(
        LayerResult(info, ledger.per_layer[info.index], occupancy.layer_peaks(info.index))
        for info in schedule.layers
    )
    return TimingResult.build(schedule, arch, access_cycles, layers, ledger.total)
