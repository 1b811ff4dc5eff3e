"""The closed-form timing and memory model (docs/model.md).

``simulate(schedule, arch, access_cycles)`` costs every segment class of a schedule in O(1):
a work's steps differ only in whether they are the work's first step (full weight
fetch, unless prefetched), in which of its arrays' rows are spilled and, in an MWL
input phase with ``options.input_steps_per_weight_read = k``, in whether their position
is a multiple of ``k`` (they read the weight buffer); all are known in closed form.
Whether a phase's first weights are prefetched depends on the idle time of the phase
before, summed over its segment classes as they are costed. The cost of simulating a
network therefore grows with its number of layers, never with its MACs or its sequence
length. ``epur.timing.reference`` walks every
chunk instead; the property tests prove the two equal.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, replace

from epur.arch import ArchConfig
from epur.schedule.ir import (
    Access,
    ArrayKind,
    Order,
    Phase,
    PhaseKind,
    Schedule,
    Work,
    live_ranges,
)
from epur.timing.result import AccessCycles, Counts, LayerResult, Peaks, TimingResult
from epur.units import ceil_div

__all__ = ["simulate"]


def simulate(
    schedule: Schedule, arch: ArchConfig, access_cycles: AccessCycles | None = None
) -> TimingResult:
    """Cycles, event counts and peak buffer occupancy of ``schedule`` on ``arch``.

    ``access_cycles``: how long one access holds each memory's port (default: one
    cycle, memories that keep up with the clock).
    """
    access_cycles = access_cycles or AccessCycles()
    per_layer: dict[int, Counts] = defaultdict(Counts)
    ports = _Ports.of(arch, access_cycles)
    memo: dict[tuple[int, bool, bool, PhaseKind, Work, bool], _Cost] = {}  # equal tiles
    previous: tuple[Phase, _Cost] | None = None  # the last phase and its idle time
    prefetched: set[int] = set()  # phases whose first weights were fetched in advance
    for index, phase in enumerate(schedule.phases):
        early = previous is not None and _prefetches(previous, phase, arch, ports)
        if early:
            prefetched.add(index)
        phase_cost = _Cost.zero(arch.compute_units)
        for k, work in enumerate(phase.works):
            pre = early and k == 0
            key = (phase.steps, phase.reverse, phase.drain_each_step, phase.kind, work, pre)
            if key not in memo:
                memo[key] = _work_counts(phase, work, schedule.batch, arch, ports, pre)
            per_layer[work.layer] += memo[key].counts
            phase_cost += memo[key]
        if not phase.drain_each_step:
            drain = phase.works[-1].groups[-1].drain_cycles
            per_layer[phase.works[-1].layer] += Counts(cycles=drain, drain_cycles=drain)
            phase_cost += _Cost.idle(drain, arch.compute_units)
        previous = (phase, phase_cost)
    peaks = _layer_peaks(schedule, arch, prefetched)
    layers = tuple(
        LayerResult(info, per_layer[info.index], peaks[info.index]) for info in schedule.layers
    )
    total = sum((lr.counts for lr in layers), Counts())
    return TimingResult.build(schedule, arch, access_cycles, layers, total)


@dataclass(frozen=True, slots=True)
class _Ports:
    lanes: int
    w: int  # storage bits
    wb: int
    ib: int
    im: int
    access: AccessCycles
    constants_in_wb: bool  # not options.constants_in_mfu
    double_buffered: bool  # options.double_buffered_weights: fills use the spare bank's port
    steps_per_read: int  # options.input_steps_per_weight_read

    @classmethod
    def of(cls, arch: ArchConfig, access: AccessCycles) -> _Ports:
        options = arch.options
        return cls(
            arch.dpu.lanes,
            arch.storage_bits,
            arch.port_bits(arch.weight_buffer),
            arch.port_bits(arch.input_buffer),
            arch.port_bits(arch.intermediate_memory),
            access,
            not options.constants_in_mfu,
            options.double_buffered_weights,
            options.input_steps_per_weight_read,
        )

    def fill_words(self, nbytes: int) -> int:
        """Weight-buffer writes to store ``nbytes`` fetched from main memory."""
        return ceil_div(nbytes * 8, self.wb)

    def chunk_words(self, length: int, port: int) -> int:
        """Port words to read one dot product's operand, chunk by chunk."""
        full, rest = divmod(length, self.lanes)
        return full * ceil_div(self.lanes * self.w, port) + ceil_div(rest * self.w, port)


@dataclass(frozen=True, slots=True)
class _Step:
    """What a step of a work costs whatever its index: its counts, and the accesses
    of each CU's weight and input buffer port (reads and writes)."""

    counts: Counts
    wb_per_cu: tuple[int, ...]
    ib_per_cu: tuple[int, ...]

    def without_weight_reads(self) -> _Step:
        """The same step served by weights read at an earlier step (input registers)."""
        counts = replace(self.counts, weight_buffer_reads=0)
        return _Step(counts, (0,) * len(self.wb_per_cu), self.ib_per_cu)


@dataclass(frozen=True, slots=True)
class _Cost:
    """Counts of some segments, and how long main memory and, per CU, the weight-buffer
    port that takes fills sat idle during them (what a prefetch into the next phase may
    use; with double buffering, the spare bank's port)."""

    counts: Counts
    dram_idle: int
    wb_idle: tuple[int, ...]

    @classmethod
    def zero(cls, cus: int) -> _Cost:
        return cls(Counts(), 0, (0,) * cus)

    @classmethod
    def idle(cls, cycles: int, cus: int) -> _Cost:
        """``cycles`` in which nothing holds main memory or a port (a drain)."""
        return cls(Counts(), cycles, (cycles,) * cus)

    def __add__(self, other: _Cost) -> _Cost:
        wb = tuple(a + b for a, b in zip(self.wb_idle, other.wb_idle, strict=True))
        return _Cost(self.counts + other.counts, self.dram_idle + other.dram_idle, wb)

    def scaled(self, factor: int) -> _Cost:
        wb = tuple(n * factor for n in self.wb_idle)
        return _Cost(self.counts.scaled(factor), self.dram_idle * factor, wb)


def _step_counts(work: Work, batch: int, p: _Ports) -> _Step:
    """Everything a step of ``work`` costs that does not depend on the step index."""
    cus = len(work.weights.footprint)
    macs = chunks = issue = 0
    wb = [0] * cus
    ib = [0] * cus
    for g in work.groups:
        n_chunks = ceil_div(g.length, p.lanes)
        macs += sum(g.rows) * g.length
        chunks += sum(g.rows) * n_chunks
        issue += max(g.rows) * n_chunks
        for c, (rows, consts) in enumerate(zip(g.rows, g.consts, strict=True)):
            const_words = ceil_div(consts * p.w, p.wb) if p.constants_in_wb else 0
            wb[c] += rows * (p.chunk_words(g.length, p.wb) + const_words)
            ib[c] += batch * rows * p.chunk_words(g.length, p.ib)
    ib[0] += batch * sum(ceil_div(v * p.w, p.ib) for v in work.mfu_ib_reads)  # one CU's copy
    ib_reads = sum(ib)
    writes_per_cu = batch * sum(ceil_div(v * p.w, p.ib) for v in work.ib_writes)
    counts = Counts(
        compute_cycles=batch * issue,
        macs=batch * macs,
        dpu_chunks=batch * chunks,
        adder_tree_adds=batch * chunks * (p.lanes - 1),
        accumulator_adds=batch * chunks,
        mfu=work.mfu.scaled(batch),
        weight_buffer_reads=sum(wb),
        input_buffer_reads=ib_reads,
        input_buffer_writes=cus * writes_per_cu,
    )
    return _Step(counts, tuple(wb), tuple(n + writes_per_cu for n in ib))


def _access_words(access: Access, port: int) -> int:
    return sum(ceil_div(v * access.array.bits, port) for v in access.vectors)


def _access_bytes(access: Access) -> int:
    return access.elements * access.array.bits // 8


def _spill_breaks(work: Work, steps: int) -> list[int]:
    """Step indices where some access of ``work`` switches between IM and DRAM."""
    breaks = {0, steps}
    for access in (*work.reads, *work.writes):
        array = access.array
        if array.rows == steps:
            breaks.add(min(steps, array.resident_rows))
        elif array.rows != 1:
            raise ValueError(f"array {array.name} has {array.rows} rows in a {steps}-step phase")
    return sorted(breaks)


def _activation_traffic(work: Work, step: int, batch: int, im_port: int) -> Counts:
    """IM words and DRAM bytes of the work's accesses at ``step``."""
    im_r = im_w = dram_r = dram_w = 0
    for access in work.reads:
        if access.array.resident(step):
            im_r += _access_words(access, im_port)
        else:
            dram_r += _access_bytes(access)
    for access in work.writes:
        if access.array.resident(step):
            im_w += _access_words(access, im_port)
        else:
            dram_w += _access_bytes(access)
    return Counts(
        intermediate_memory_reads=batch * im_r,
        intermediate_memory_writes=batch * im_w,
        dram_activation_read_bytes=batch * dram_r,
        dram_activation_write_bytes=batch * dram_w,
    )


def _segment(
    step: _Step, traffic: Counts, fetched: tuple[int, ...], drain: int, arch: ArchConfig, p: _Ports
) -> _Cost:
    """One segment: ``step``'s compute, ``traffic`` activations, ``fetched`` weight bytes per
    CU. It lasts as long as its busiest resource (DPUs, main memory or a memory port),
    then drains."""
    base = step.counts
    weight_bytes = sum(fetched)
    fills = [p.fill_words(f) for f in fetched]
    a_wb = p.access.weight_buffer
    if p.double_buffered:  # the DPU reads one bank while the fill writes the other
        wb_busy = [a_wb * max(r, f) for r, f in zip(step.wb_per_cu, fills, strict=True)]
        fill_busy = [a_wb * f for f in fills]
    else:
        wb_busy = [a_wb * (r + f) for r, f in zip(step.wb_per_cu, fills, strict=True)]
        fill_busy = wb_busy
    issue = base.compute_cycles
    dram = arch.dram_cycles(weight_bytes + traffic.dram_activation_bytes)
    port = max(
        max(wb_busy),
        p.access.input_buffer * max(step.ib_per_cu),
        p.access.intermediate_memory
        * (traffic.intermediate_memory_reads + traffic.intermediate_memory_writes),
    )
    stall = max(0, dram - issue)
    port_stall = max(0, port - issue - stall)
    cycles = issue + stall + port_stall + drain
    counts = (
        base
        + traffic
        + Counts(
            cycles=cycles,
            stall_cycles=stall,
            port_stall_cycles=port_stall,
            drain_cycles=drain,
            weight_buffer_writes=sum(fills),
            dram_weight_bytes=weight_bytes,
        )
    )
    return _Cost(counts, cycles - dram, tuple(cycles - busy for busy in fill_busy))


def _reading_steps(phase: Phase, lo: int, hi: int, k: int) -> int:
    """Steps ``t`` in ``lo..hi-1`` that read the weight buffer when one read serves ``k``
    steps: those at a position ``0, k, 2k, ...`` of the phase's step order."""
    if phase.reverse:  # position T-1-t: positions T-hi .. T-1-lo
        lo, hi = phase.steps - hi, phase.steps - lo
    return ceil_div(hi, k) - ceil_div(lo, k)


def _work_counts(
    phase: Phase, work: Work, batch: int, arch: ArchConfig, p: _Ports, prefetched: bool
) -> _Cost:
    """All segments of ``work`` in ``phase``: steady steps per spill interval, then step one.

    ``prefetched``: the resident weights were fetched during the previous phase, so the
    first step fetches only the overflow, like a later one (docs/model.md, design options).
    """
    step = _step_counts(work, batch, p)
    k = p.steps_per_read if phase.kind == PhaseKind.INPUT else 1
    idle = step.without_weight_reads()
    drain = sum(g.drain_cycles for g in work.groups) if phase.drain_each_step else 0
    first = phase.step_order()[0]
    weights = work.weights
    total = _Cost.zero(len(weights.footprint))
    if prefetched:
        early = Counts(
            dram_weight_bytes=sum(weights.resident),
            weight_buffer_writes=sum(p.fill_words(r) for r in weights.resident),
        )
        total = _Cost(early, 0, total.wb_idle)
    first_fetch = weights.overflow if prefetched else weights.footprint
    breaks = _spill_breaks(work, phase.steps)
    for lo, hi in itertools.pairwise(breaks):
        if lo == hi:
            continue
        traffic = _activation_traffic(work, lo, batch, p.im)
        count, reading = hi - lo, _reading_steps(phase, lo, hi, k)
        if lo <= first < hi:  # the first step is at position 0: it reads
            count, reading = count - 1, reading - 1
            total += _segment(step, traffic, first_fetch, drain, arch, p)
        for kind, n in ((step, reading), (idle, count - reading)):
            if n:
                total += _segment(kind, traffic, weights.overflow, drain, arch, p).scaled(n)
    return total


def _held(phase: Phase) -> list[int]:
    """Weight-buffer bytes per CU the phase occupies (docs/model.md section 4)."""
    columns = zip(*(w.weights.resident for w in phase.works), strict=True)
    return [sum(c) if phase.order == Order.STEP_MAJOR else max(c) for c in columns]


def _prefetches(previous: tuple[Phase, _Cost], phase: Phase, arch: ArchConfig, p: _Ports) -> bool:
    """Whether ``phase``'s first work's resident weights are fetched during ``previous``:
    the option is on, they fit beside the previous phase's weights, and main memory and
    each CU's fill port sat idle long enough in it."""
    if not arch.options.prefetch_next_layer:
        return False
    before, cost = previous
    resident = phase.works[0].weights.resident
    if sum(resident) == 0:
        return False
    cap = arch.weight_buffer.capacity_bytes
    if any(h + r > cap for h, r in zip(_held(before), resident, strict=True)):
        return False
    if arch.dram_cycles(sum(resident)) > cost.dram_idle:
        return False
    return all(
        p.access.weight_buffer * p.fill_words(r) <= idle
        for r, idle in zip(resident, cost.wb_idle, strict=True)
    )


def _layer_peaks(schedule: Schedule, arch: ArchConfig, prefetched: set[int]) -> dict[int, Peaks]:
    """Peak occupancy per layer: phase-level for the shared memories, per work for the IB."""
    im = _im_per_phase(schedule)
    wb: dict[int, int] = defaultdict(int)
    ib: dict[int, int] = defaultdict(int)
    im_of: dict[int, int] = defaultdict(int)
    phases = schedule.phases
    for index, phase in enumerate(phases):
        per_cu = _held(phase)
        if index + 1 in prefetched:  # the next phase's first weights arrive during this one
            ahead = phases[index + 1].works[0].weights.resident
            per_cu = [h + r for h, r in zip(per_cu, ahead, strict=True)]
        for work in phase.works:
            need = ceil_div(work.ib_footprint * arch.storage_bits * schedule.batch, 8)
            wb[work.layer] = max(wb[work.layer], *per_cu)
            ib[work.layer] = max(ib[work.layer], need)
            im_of[work.layer] = max(im_of[work.layer], im[index])
    return {i.index: Peaks(wb[i.index], ib[i.index], im_of[i.index]) for i in schedule.layers}


def _im_per_phase(schedule: Schedule) -> list[int]:
    """Total resident bytes of the arrays live in each phase.

    Each array adds its bytes where its live range starts and removes them after it
    ends; a running sum gives every phase's total: O(phases + arrays), not their product.
    """
    ranges = live_ranges(schedule.phases)
    arrays = {
        id(access.array): access.array
        for phase in schedule.phases
        for work in phase.works
        for access in (*work.reads, *work.writes)
        if access.array.kind != ArrayKind.EXTERNAL
    }
    change = [0] * (len(schedule.phases) + 1)
    for key, a in arrays.items():
        first, last = ranges[key]
        change[first] += a.resident_bytes * schedule.batch
        change[last + 1] -= a.resident_bytes * schedule.batch
    return list(itertools.accumulate(change[:-1]))
