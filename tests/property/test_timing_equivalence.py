"""The closed-form timing model equals the step-by-step reference, and both obey the bounds.

Random small networks (1-2 stacks of 1-3 LSTM/FC layers, sizes 1-24, 1-6 steps,
batch 1-3) on random small architectures (1-8 lanes, weight buffers from a few
rows to roomy, intermediate memories from empty to roomy, odd port widths, every
storage format, memories of 1-3 cycles per access, every design option) under both
dataflows.
Architectures are drawn *for* the network (the weight buffer holds at least one MWL
row, the input buffer one step's working set) so that almost every case schedules;
the rest are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from epur.arch import ArchConfig
from epur.errors import ScheduleError
from epur.schedule import ArrayKind, Dataflow, Order, PhaseKind, Schedule, build_schedule
from epur.timing import AccessCycles
from epur.timing.model import simulate
from epur.timing.reference import simulate_reference
from epur.workload import Activation, FCLayer, Layer, LSTMLayer, Network, Stack

STORAGE_BITS = {"fp16": 16, "fp32": 32, "int8": 8, "q8.8": 16}
MIB = 1 << 20

sizes = st.integers(1, 24)

# ---- networks --------------------------------------------------------------------------------


@st.composite
def lstm_layers(draw: st.DrawFn, input_size: int, shortcut: int, autoregressive: bool) -> Layer:
    """An LSTM layer with random flags; residual only where the sizes allow it."""
    bidirectional = not autoregressive and draw(st.booleans())
    dirs = 2 if bidirectional else 1
    projection = draw(st.none() | sizes)
    hidden = draw(sizes)
    residual = draw(st.booleans()) and shortcut % dirs == 0 and shortcut // dirs <= 24
    if residual and projection is not None:
        projection = shortcut // dirs
    elif residual:
        hidden = shortcut // dirs
    return LSTMLayer(
        input_size=input_size,
        hidden_size=hidden,
        bidirectional=bidirectional,
        peepholes=draw(st.booleans()),
        projection_size=projection,
        residual=residual,
    )


@st.composite
def stacks(draw: st.DrawFn, name: str) -> Stack:
    autoregressive = draw(st.integers(0, 3)) == 0
    seq_len = draw(st.integers(1, 6))
    layers: list[Layer] = []
    for k in range(draw(st.integers(1, 3))):
        below = layers[-1].output_size if layers else 0
        extra = draw(sizes) if k == 0 else draw(st.just(0) | st.integers(1, 6))
        input_size = below + extra
        shortcut = below if k > 0 else input_size  # what a residual shortcut adds
        if draw(st.integers(0, 2)) == 0:
            activation = draw(st.sampled_from(Activation))
            layers.append(FCLayer(input_size, draw(sizes), activation))
        else:
            layers.append(draw(lstm_layers(input_size, shortcut, autoregressive)))
    return Stack(name, seq_len, tuple(layers), autoregressive)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    n = draw(st.integers(1, 2))
    return Network(
        name="random",
        stacks=tuple(draw(stacks(f"s{i}")) for i in range(n)),
        batch=draw(st.integers(1, 3)),
    )


# ---- architectures ---------------------------------------------------------------------------


def _mwl_row_bytes(network: Network, bits: int) -> int:
    """The largest W row (with its bias) of any layer: the least an MWL weight buffer holds."""
    return max((layer.input_size + 1) * bits // 8 for _, layer in network.layers())


def _input_buffer_need(network: Network, bits: int) -> int:
    """Bytes per input buffer of the largest one-step working set, ``I + R`` elements."""
    most = 0
    for _, layer in network.layers():
        recurrent = layer.recurrent_size if isinstance(layer, LSTMLayer) else 0
        most = max(most, layer.input_size + recurrent)
    return -(-most * bits * network.batch // 8)


def _port(draw: st.DrawFn, chunk_bits: int) -> int | None:
    """No port width (auto), or a multiple of the chunk width."""
    return draw(st.none() | st.integers(1, 4).map(lambda k: k * chunk_bits))


@st.composite
def arch_trees(
    draw: st.DrawFn, network: Network, mwl_safe: bool, auto_ports: bool
) -> dict[str, Any]:
    """An architecture for ``network``, as the mapping ``ArchConfig`` validates."""
    storage = draw(st.sampled_from(sorted(STORAGE_BITS)))
    bits, lanes = STORAGE_BITS[storage], draw(st.integers(1, 8))
    row = _mwl_row_bytes(network, bits)
    low = row if mwl_safe else 0
    wb_capacity = draw(st.integers(low, 3 * row) | st.integers(low, 40 * row) | st.just(MIB))
    ib_capacity = _input_buffer_need(network, bits) + draw(st.just(0) | st.integers(0, 2048))
    im_capacity = draw(st.just(0) | st.integers(0, 4096) | st.just(MIB))
    chunk = lanes * bits
    return {
        "clock_hz": draw(st.integers(10**8, 10**9)),
        "dpu": {"lanes": lanes, "latency_cycles": draw(st.integers(0, 6))},
        "mfu": {"latency_cycles": draw(st.integers(0, 6))},
        "weight_buffer": {
            "capacity_bytes": wb_capacity,
            "port_bits": None if auto_ports else _port(draw, chunk),
        },
        "input_buffer": {
            "capacity_bytes": ib_capacity,
            "port_bits": None if auto_ports else _port(draw, chunk),
        },
        "intermediate_memory": {
            "capacity_bytes": im_capacity,
            "port_bits": draw(st.none() | st.integers(8, 512)),
        },
        "dram": {
            "bandwidth_bytes_per_s": draw(st.integers(10**8, 10**11)),
            "latency_ns": draw(st.just(0.0) | st.floats(0, 200, allow_nan=False)),
        },
        "formats": {
            "storage": storage,
            "partial_sums": draw(st.sampled_from(["fp16", "fp32"])),
        },
        "options": draw(design_options()),
    }


@st.composite
def design_options(draw: st.DrawFn) -> dict[str, Any]:
    """Every design option, each on about half the time (k from 1 to 9, or 64)."""
    return {
        "constants_in_mfu": draw(st.booleans()),
        "double_buffered_weights": draw(st.booleans()),
        "prefetch_next_layer": draw(st.booleans()),
        "input_steps_per_weight_read": draw(st.just(1) | st.integers(2, 9) | st.just(64)),
    }


@dataclass(frozen=True)
class Case:
    """A network, an architecture (as a mapping) and how to schedule it."""

    network: Network
    tree: dict[str, Any] = field(hash=False)
    dataflow: Dataflow
    tile_rows: int | None
    access: AccessCycles = field(default_factory=AccessCycles)

    def arch(self, options: dict[str, Any] | None = None, **dpu: int) -> ArchConfig:
        """The architecture, with ``dpu`` fields and design ``options`` replaced."""
        tree = {**self.tree, "dpu": {**self.tree["dpu"], **dpu}}
        tree["options"] = {**self.tree["options"], **(options or {})}
        return ArchConfig.model_validate(tree)

    def schedule(self, arch: ArchConfig, dataflow: Dataflow | None = None) -> Schedule:
        try:
            return build_schedule(self.network, arch, dataflow or self.dataflow, self.tile_rows)
        except ScheduleError:
            reject()


@st.composite
def cases(
    draw: st.DrawFn, dataflows: tuple[Dataflow, ...] = tuple(Dataflow), auto_ports: bool = False
) -> Case:
    network = draw(networks())
    dataflow = draw(st.sampled_from(dataflows))
    tree = draw(arch_trees(network, Dataflow.MWL in dataflows, auto_ports))
    bits = STORAGE_BITS[tree["formats"]["storage"]]
    fit = tree["weight_buffer"]["capacity_bytes"] // _mwl_row_bytes(network, bits)
    tile_rows = draw(st.none() | st.integers(1, max(1, min(8, fit))))
    cycles = st.integers(1, 3)
    access = draw(st.just(AccessCycles()) | st.builds(AccessCycles, cycles, cycles, cycles))
    return Case(network, tree, dataflow, tile_rows, access)


def _record_coverage(schedule: Schedule) -> None:
    """Hypothesis events (``--hypothesis-show-statistics``): what the cases exercise."""
    event(f"dataflow {schedule.dataflow}")
    works = [(phase, work) for phase in schedule.phases for work in phase.works]
    if any(max(work.weights.overflow) > 0 for _, work in works):
        event("weights overflow the weight buffer")
    if any(phase.order == Order.WORK_MAJOR and len(phase.works) > 1 for phase, _ in works):
        event("several work-major tiles")
    if any(phase.reverse for phase, _ in works):
        event("backward direction")
    if any(len(phase.works) > 1 and phase.order == Order.STEP_MAJOR for phase, _ in works):
        event("autoregressive stack")
    resident = [a for a in schedule.arrays if a.kind != ArrayKind.EXTERNAL]
    if any(a.resident_rows < a.rows for a in resident):
        event("an array spills to main memory")
    if any(a.resident_rows > 0 for a in resident):
        event("an array lives in the intermediate memory")


# ---- properties ------------------------------------------------------------------------------

SLOW = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def examples(n: int) -> settings:
    """Deterministic, no deadline (the reference is slow), ``n`` examples."""
    return settings(SLOW, max_examples=n)


@examples(400)
@given(cases())
def test_closed_form_equals_reference(case: Case) -> None:
    arch = case.arch()
    schedule = case.schedule(arch)
    _record_coverage(schedule)
    closed = simulate(schedule, arch, case.access)
    if closed.total.port_stall_cycles:
        event("a memory port stalls the DPUs")
    for option, value in arch.options:
        if value not in (False, 1):
            event(f"option {option}")
    assert closed == simulate_reference(schedule, arch, case.access)


@examples(100)
@given(cases())
def test_roofline_bounds(case: Case) -> None:
    arch = case.arch()
    schedule = case.schedule(arch)
    for result in (
        simulate(schedule, arch, case.access),
        simulate_reference(schedule, arch, case.access),
    ):
        total = result.total
        assert total.cycles * arch.compute_units * arch.dpu.lanes >= total.macs
        seconds = Fraction(total.cycles, arch.clock_hz)
        assert seconds >= Fraction(total.dram_bytes, arch.dram.bandwidth_bytes_per_s)
        # No memory port is ever asked for more accesses than it can serve.
        a, cus = case.access, arch.compute_units
        wb = total.weight_buffer_reads + total.weight_buffer_writes
        ib = total.input_buffer_reads + total.input_buffer_writes
        im = total.intermediate_memory_reads + total.intermediate_memory_writes
        if arch.options.double_buffered_weights:  # reads and fills on two banks' ports
            assert total.cycles * cus >= total.weight_buffer_reads * a.weight_buffer
            assert total.cycles * cus >= total.weight_buffer_writes * a.weight_buffer
        else:
            assert total.cycles * cus >= wb * a.weight_buffer
        assert total.cycles * cus >= ib * a.input_buffer
        assert total.cycles >= im * a.intermediate_memory


@examples(150)
@given(
    cases(auto_ports=True),
    st.integers(1, 8),
    st.sampled_from(tuple(Dataflow)),
)
def test_more_lanes_never_cost_more_cycles(case: Case, more: int, dataflow: Dataflow) -> None:
    """Every option but prefetching as drawn: faster phases leave less idle time for a
    prefetch, so wider DPUs can lose one (all or nothing) and pay more cycles for it."""
    lanes = case.tree["dpu"]["lanes"]
    no_prefetch = {"prefetch_next_layer": False}
    narrow = case.arch(no_prefetch, lanes=lanes)
    slow = simulate(case.schedule(narrow, dataflow), narrow, case.access)
    for wider in (lanes + more, 2 * lanes):
        wide = case.arch(no_prefetch, lanes=wider)
        fast = simulate(case.schedule(wide, dataflow), wide, case.access)
        assert fast.total.cycles <= slow.total.cycles
        assert fast.total.dpu_chunks <= slow.total.dpu_chunks


@examples(150)
@given(cases(dataflows=(Dataflow.MWL,)))
def test_mwl_never_fetches_more_weights_than_baseline(case: Case) -> None:
    arch = case.arch()
    mwl = simulate(case.schedule(arch, Dataflow.MWL), arch)
    baseline = simulate(case.schedule(arch, Dataflow.BASELINE), arch)
    assert mwl.total.dram_weight_bytes <= baseline.total.dram_weight_bytes
    for m, b in zip(mwl.layers, baseline.layers, strict=True):
        assert m.counts.dram_weight_bytes <= b.counts.dram_weight_bytes


# ---- design options (docs/model.md, "Design options") ----------------------------------------

OFF: dict[str, Any] = {
    "constants_in_mfu": False,
    "double_buffered_weights": False,
    "prefetch_next_layer": False,
    "input_steps_per_weight_read": 1,
}
ON: dict[str, Any] = {
    "constants_in_mfu": True,
    "double_buffered_weights": True,
    "prefetch_next_layer": True,
}


@examples(200)
@given(cases(), st.sampled_from(sorted(ON)), st.integers(2, 9))
def test_each_design_option_never_costs_cycles(case: Case, option: str, k: int) -> None:
    """Turning one option on (or ``k`` up from 1) never adds cycles, the others as drawn.
    With prefetching on, another option's saving can shorten the idle time a prefetch
    needs, so the others are checked with prefetching off; prefetching itself is checked
    whatever the others."""
    no_prefetch = {"prefetch_next_layer": False}
    flips = [
        (option, ON[option], {} if option == "prefetch_next_layer" else no_prefetch),
        ("input_steps_per_weight_read", k, no_prefetch),
    ]
    for name, on, others in flips:
        off_arch = case.arch({**others, name: OFF[name]})
        on_arch = case.arch({**others, name: on})
        schedule = case.schedule(off_arch)
        assert schedule == case.schedule(on_arch)  # an option changes costs, not the schedule
        off = simulate(schedule, off_arch, case.access).total
        with_option = simulate(schedule, on_arch, case.access).total
        assert with_option.cycles <= off.cycles
        # what no option changes: the work done and the bytes moved
        assert with_option.macs == off.macs
        assert with_option.dram_bytes == off.dram_bytes
        assert with_option.weight_buffer_reads <= off.weight_buffer_reads


@examples(150)
@given(cases(dataflows=(Dataflow.MWL,)), st.integers(1, 9))
def test_input_steps_per_weight_read_divides_input_phase_reads(case: Case, k: int) -> None:
    """In each MWL input phase alone, one weight-buffer read per ``k`` steps: the phase's
    reads are its one-step reads times ``ceil(T / k)`` instead of ``T``; other phases are
    untouched, and so are the input buffer's reads and the MACs."""
    one = case.arch({"input_steps_per_weight_read": 1, "prefetch_next_layer": False})
    many = case.arch({"input_steps_per_weight_read": k, "prefetch_next_layer": False})
    schedule = case.schedule(one)
    for phase in schedule.phases:
        alone = replace(schedule, phases=(phase,))
        base = simulate(alone, one, case.access).total
        cut = simulate(alone, many, case.access).total
        assert cut == simulate_reference(alone, many, case.access).total
        assert cut.input_buffer_reads == base.input_buffer_reads
        assert cut.macs == base.macs
        if phase.kind != PhaseKind.INPUT:
            assert cut == base
            continue
        event("an input phase")
        t = phase.steps
        assert base.weight_buffer_reads % t == 0
        assert cut.weight_buffer_reads == base.weight_buffer_reads // t * -(-t // k)
