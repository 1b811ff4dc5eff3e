"""The design options (docs/model.md, "Design options") on cases worked out by hand.

The tiny architecture of ``tests.conftest`` (2 lanes, fp16, 32-bit ports, no DRAM
latency) with refresh off, so that main memory moves exactly 1 byte per cycle (10 with
``FAST``). Every case is checked against the step-by-step reference too.
"""

from __future__ import annotations

from typing import Any

from epur.arch import ArchConfig
from epur.schedule import build_schedule
from epur.timing import AccessCycles, TimingResult
from epur.timing.model import simulate
from epur.timing.reference import simulate_reference
from epur.workload import LSTMLayer, Network, Stack
from tests.conftest import tiny_arch

FAST = {"dram.bandwidth_bytes_per_s": 10**10}  # 10 bytes per cycle


def arch(**settings: Any) -> ArchConfig:
    return tiny_arch(**{"dram.refresh_ns": 0, **settings})


def net(steps: int, *layers: LSTMLayer) -> Network:
    return Network("tiny", (Stack("main", steps, layers),))


def run(
    network: Network, arch: ArchConfig, dataflow: str, access: AccessCycles | None = None
) -> TimingResult:
    schedule = build_schedule(network, arch, dataflow)
    closed = simulate(schedule, arch, access)
    assert closed == simulate_reference(schedule, arch, access)
    return closed


def test_constants_in_mfu_read_no_bias_words() -> None:
    """I=3, H=2, T=2, baseline, a weight buffer of 2 cycles per access.

    Per CU and step: 2 rows x (3 chunk words + 1 bias word) = 8 reads, 16 port cycles
    against max(issue 6, DRAM 10) at step 1: a port stall of 6 (test_timing_model). With
    the bias in the MFU's register file: 2 x 3 = 6 reads, 12 cycles, a port stall of 2:
    4 cycles fewer. Step 0 (DRAM 106 cycles) is unchanged. Reads: 2 x 8 x 4 -> 2 x 8 x 3.
    """
    access = AccessCycles(weight_buffer=2)
    one = net(2, LSTMLayer(3, 2))
    off = run(one, arch(), "baseline", access).total
    on = run(one, arch(**{"options.constants_in_mfu": True}), "baseline", access).total
    assert (off.cycles, off.port_stall_cycles) == (109 + 19, 6)
    assert (on.cycles, on.port_stall_cycles) == (109 + 15, 2)
    assert (off.weight_buffer_reads, on.weight_buffer_reads) == (2 * 8 * 4, 2 * 8 * 3)
    # the constants still come from main memory with the weights, through the fill
    assert (on.dram_weight_bytes, on.weight_buffer_writes) == (96, 24)


def test_constants_in_mfu_also_spare_peepholes() -> None:
    """With peepholes the i, f and o rows hold 2 constants (bias, peephole): 32 bits, one
    word of the 32-bit port, as the g rows' bias alone: 8 rows x (3 + 1) = 32 reads per
    step; with the option 8 x 3 = 24. At 1 lane (16-bit port) the pair is 2 words:
    8 rows x 5 chunks + 2 x (2 + 2 + 1 + 2) = 54 reads, with the option 40."""
    one = net(1, LSTMLayer(3, 2, peepholes=True))
    on = {"options.constants_in_mfu": True}
    assert run(one, arch(), "baseline").total.weight_buffer_reads == 32
    assert run(one, arch(**on), "baseline").total.weight_buffer_reads == 24
    narrow = {"dpu.lanes": 1}
    assert run(one, arch(**narrow), "baseline").total.weight_buffer_reads == 54
    assert run(one, arch(**narrow, **on), "baseline").total.weight_buffer_reads == 40


def test_double_buffered_fills_leave_the_read_port_alone() -> None:
    """A 20 B weight buffer holds 20 of the 24 B per CU; DRAM at 10 B/cycle, a weight
    buffer of 2 cycles per access; drain 3 per step.

    Single port: step 0 reads 8 and writes the 6 fetched words per CU: 28 port cycles
    against DRAM ceil(106/10) = 11: 28 + 3 = 31. Step 1 re-fetches 4 B per CU (1 word):
    2 x 9 = 18 against DRAM ceil(26/10) = 3: 18 + 3 = 21. Total 52.
    Double-buffered: the port is held max(reads, fills): step 0 2 x max(8, 6) = 16, step 1
    2 x max(8, 1) = 16: 19 + 19 = 38. Same reads, writes and bytes.
    """
    settings = {"weight_buffer.capacity_bytes": 20, **FAST}
    one = net(2, LSTMLayer(3, 2))
    access = AccessCycles(weight_buffer=2)
    off = run(one, arch(**settings), "baseline", access).total
    double = arch(**settings, **{"options.double_buffered_weights": True})
    on = run(one, double, "baseline", access).total
    assert (off.cycles, off.port_stall_cycles, off.stall_cycles) == (31 + 21, 17 + 12, 5)
    assert (on.cycles, on.port_stall_cycles, on.stall_cycles) == (19 + 19, 5 + 10, 5)
    for field in ("weight_buffer_reads", "weight_buffer_writes", "dram_weight_bytes"):
        assert getattr(on, field) == getattr(off, field)


def two_layers() -> Network:
    return net(20, LSTMLayer(3, 2), LSTMLayer(2, 2))


def test_prefetch_fetches_the_next_layer_during_idle_time() -> None:
    """Baseline, two layers (I=3 then 2, H=2), T=20, DRAM at 10 B/cycle.

    L1 holds 24 B per CU. Its 20 steps leave main memory idle (each step: 8 WB reads hold
    the port 8 cycles + drain 3 = 11, DRAM ceil(6/10) = 1: 10 idle; step 0: 14 port
    cycles + 3 = 17, DRAM 11: 6 idle) and its WB ports 3 cycles per step. L2's 20 B per
    CU (80 B: DRAM 8 cycles, 5 fill words per CU) fit beside L1's 24 B: prefetched.
    L2's step 0 then fetches nothing of its weights: cold, DRAM ceil(84/10) = 9 and the
    WB port 6 reads + 5 fills = 11: 11 + 3 = 14; prefetched, max(4, 1, 6) + 3 = 9.
    The bytes and fill words are still L2's; L1's phase holds 24 + 20 = 44 B.
    """
    cold = run(two_layers(), arch(**FAST), "baseline")
    settings = {**FAST, "options.prefetch_next_layer": True}
    warm = run(two_layers(), arch(**settings), "baseline")
    assert [lr.counts.cycles for lr in cold.layers] == [245, 185]
    assert [lr.counts.cycles for lr in warm.layers] == [245, 180]
    assert warm.total.stall_cycles == cold.total.stall_cycles - 5
    for a, b in zip(warm.layers, cold.layers, strict=True):
        assert a.counts.dram_weight_bytes == b.counts.dram_weight_bytes
        assert a.counts.weight_buffer_writes == b.counts.weight_buffer_writes
    assert [lr.peaks.weight_buffer_bytes for lr in warm.layers] == [44, 20]
    assert [lr.peaks.weight_buffer_bytes for lr in cold.layers] == [24, 20]


def test_prefetch_needs_room_beside_the_current_weights() -> None:
    """A 40 B buffer cannot hold L1's 24 B and L2's 20 B: L2 starts cold."""
    settings = {**FAST, "weight_buffer.capacity_bytes": 40}
    cold = run(two_layers(), arch(**settings), "baseline")
    warm = run(two_layers(), arch(**settings, **{"options.prefetch_next_layer": True}), "baseline")
    assert warm == cold


def test_prefetch_needs_idle_main_memory() -> None:
    """At 1 B/cycle with T=2, L1 leaves main memory idle 3 cycles per step (DRAM 106 of
    109, then 10 of 13): 6 cycles, not the 80 L2's weights need. L2 starts cold."""
    network = net(2, LSTMLayer(3, 2), LSTMLayer(2, 2))
    cold = run(network, arch(), "baseline")
    warm = run(network, arch(**{"options.prefetch_next_layer": True}), "baseline")
    assert warm == cold


def test_one_weight_read_serves_k_input_steps() -> None:
    """MWL, I=3, H=2, T=5, a weight buffer of 2 cycles per access.

    The input phase reads 2 rows x (2 chunk words + 1 bias) = 6 words per CU and step:
    24 per step, 120 over 5 steps; with k=2 only steps 0, 2, 4 read: 72 (ceil(5/2) = 3).
    From step 1 on, a reading step holds the WB port 12 cycles; the others are held by
    the IM's 8 partial-sum words: 12 -> 8 at steps 1 and 3, 8 cycles fewer.
    The input buffer's reads and the MACs do not change.
    """
    one = net(5, LSTMLayer(3, 2))
    access = AccessCycles(weight_buffer=2)
    base = run(one, arch(), "mwl", access).total
    cut = run(one, arch(**{"options.input_steps_per_weight_read": 2}), "mwl", access).total
    assert base.weight_buffer_reads - cut.weight_buffer_reads == 120 - 72
    assert (base.cycles, cut.cycles) == (202, 202 - 8)
    assert cut.input_buffer_reads == base.input_buffer_reads
    assert cut.macs == base.macs
    many = arch(**{"options.input_steps_per_weight_read": 64})
    assert base.weight_buffer_reads - run(one, many, "mwl", access).total.weight_buffer_reads == 96


def test_k_counts_positions_in_the_backward_order() -> None:
    """A backward layer runs t = 4 .. 0: reads at positions 0, 2, 4 (t = 4, 2, 0) with
    k = 2, and at position 0 only (t = 4) with k = 5: the same counts as forward."""
    fw = net(5, LSTMLayer(3, 2))
    bw = net(5, LSTMLayer(3, 2, reverse=True))
    for k in (2, 3, 5):
        settings = arch(**{"options.input_steps_per_weight_read": k})
        forward = run(fw, settings, "mwl").total.weight_buffer_reads
        assert run(bw, settings, "mwl").total.weight_buffer_reads == forward


def test_defaults_change_nothing() -> None:
    """Every option off is today's model: the same result as without the field set."""
    plain = arch()
    explicit = arch(
        **{
            "options.constants_in_mfu": False,
            "options.double_buffered_weights": False,
            "options.prefetch_next_layer": False,
            "options.input_steps_per_weight_read": 1,
        }
    )
    assert plain == explicit
    for flow in ("baseline", "mwl"):
        assert run(two_layers(), plain, flow) == run(two_layers(), explicit, flow)
