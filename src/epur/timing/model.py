"""The closed-form timing and memory model (docs/model.md).

``simulate(schedule, arch, access_cycles)`` costs every segment class of a schedule in O(1):
a work's steps differ only in whether they are the work's first step (full weight
fetch) and in which of its arrays' rows are spilled, and both are known in closed
form. The cost of simulating a network therefore grows with its number of layers,
never with its MACs or its sequence length. ``epur.timing.reference`` walks every
chunk instead; the property tests prove the two equal.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from epur.arch import ArchConfig
from epur.schedule.ir import Access, ArrayKind, Order, Phase, Schedule, Work, live_ranges
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
    memo: dict[tuple[int, bool, bool, Work], Counts] = {}  # equal MWL tiles cost the same
    for phase in schedule.phases:
        for work in phase.works:
            key = (phase.steps, phase.reverse, phase.drain_each_step, work)
            if key not in memo:
                memo[key] = _work_counts(phase, work, schedule.batch, arch, ports)
            per_layer[work.layer] += memo[key]
        if not phase.drain_each_step:
            drain = phase.works[-1].groups[-1].drain_cycles
            per_layer[phase.works[-1].layer] += Counts(cycles=drain, drain_cycles=drain)
    peaks = _layer_peaks(schedule, arch)
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

    @classmethod
    def of(cls, arch: ArchConfig, access: AccessCycles) -> _Ports:
        return cls(
            arch.dpu.lanes,
            arch.storage_bits,
            arch.port_bits(arch.weight_buffer),
            arch.port_bits(arch.input_buffer),
            arch.port_bits(arch.intermediate_memory),
            access,
        )

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
            wb[c] += rows * (p.chunk_words(g.length, p.wb) + ceil_div(consts * p.w, p.wb))
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
) -> Counts:
    """One segment: ``step``'s compute, ``traffic`` activations, ``fetched`` weight bytes per
    CU. It lasts as long as its busiest resource (DPUs, main memory or a memory port),
    then drains."""
    base = step.counts
    weight_bytes = sum(fetched)
    fills = [ceil_div(f * 8, p.wb) for f in fetched]
    issue = base.compute_cycles
    dram = arch.dram_cycles(weight_bytes + traffic.dram_activation_bytes)
    port = max(
        p.access.weight_buffer * max(r + f for r, f in zip(step.wb_per_cu, fills, strict=True)),
        p.access.input_buffer * max(step.ib_per_cu),
        p.access.intermediate_memory
        * (traffic.intermediate_memory_reads + traffic.intermediate_memory_writes),
    )
    stall = max(0, dram - issue)
    port_stall = max(0, port - issue - stall)
    return (
        base
        + traffic
        + Counts(
            cycles=issue + stall + port_stall + drain,
            stall_cycles=stall,
            port_stall_cycles=port_stall,
            drain_cycles=drain,
            weight_buffer_writes=sum(fills),
            dram_weight_bytes=weight_bytes,
        )
    )


def _work_counts(phase: Phase, work: Work, batch: int, arch: ArchConfig, p: _Ports) -> Counts:
    """All segments of ``work`` in ``phase``: steady steps per spill interval, then step one."""
    step = _step_counts(work, batch, p)
    drain = sum(g.drain_cycles for g in work.groups) if phase.drain_each_step else 0
    first = phase.step_order()[0]
    total = Counts()
    breaks = _spill_breaks(work, phase.steps)
    for lo, hi in itertools.pairwise(breaks):
        if lo == hi:
            continue
        traffic = _activation_traffic(work, lo, batch, p.im)
        steady = _segment(step, traffic, work.weights.overflow, drain, arch, p)
        count = hi - lo
        if lo <= first < hi:
            count -= 1
            total += _segment(step, traffic, work.weights.footprint, drain, arch, p)
        total += steady.scaled(count)
    return total


def _layer_peaks(schedule: Schedule, arch: ArchConfig) -> dict[int, Peaks]:
    """Peak occupancy per layer: phase-level for the shared memories, per work for the IB."""
    im = _im_per_phase(schedule)
    wb: dict[int, int] = defaultdict(int)
    ib: dict[int, int] = defaultdict(int)
    im_of: dict[int, int] = defaultdict(int)
    for index, phase in enumerate(schedule.phases):
        residents = [w.weights.resident for w in phase.works]
        columns = zip(*residents, strict=True)
        per_cu = [sum(c) if phase.order == Order.STEP_MAJOR else max(c) for c in columns]
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
