"""The closed-form timing model on cases worked out by hand from docs/model.md."""

from __future__ import annotations

import pytest

from epur.arch import ArchConfig
from epur.evaluation import evaluate
from epur.schedule import MfuOps, build_schedule
from epur.timing import AccessCycles, Counts, Peaks, simulate
from epur.workload import LSTMLayer, Network, Stack, zoo_network
from epur.workload.zoo import ZOO_NAMES
from tests.conftest import tiny_arch as _tiny_arch


def tiny_arch(**overrides: object) -> ArchConfig:
    """The conftest's tiny architecture with DRAM refresh off: exactly 1 byte per cycle,
    as the cases below are worked (refresh takes 280 ns of every 3.9 us by default)."""
    return _tiny_arch(**{"dram.refresh_ns": 0, **overrides})


def one_layer(t: int = 2) -> Network:
    return Network("tiny", (Stack("main", t, (LSTMLayer(3, 2),)),))


def test_baseline_by_hand() -> None:
    """I=3, H=2, T=2, lanes 2, fp16, 32-bit ports, 1 B/cycle DRAM, no latency.

    One work per step: gates rows (2,2,2,2), length I+R=5 -> 3 chunks per row.
    issue = 2 rows x 3 chunks = 6 cycles; drain = dpu 1 + mfu 2 = 3.
    DRAM per step: x_t 3 x 2 B read, y_t 2 x 2 B written = 10 B.
    Step 0 also fetches the weights: per CU 2 rows x (5 + 1 bias) x 2 B = 24 B, x4 = 96 B.
    Step 0: dram 106 cycles -> stall 100 -> 6 + 100 + 3 = 109. Step 1: 6 + 4 + 3 = 13.
    """
    arch = tiny_arch()
    r = simulate(build_schedule(one_layer(), arch, "baseline"), arch)
    per_step_mfu = MfuOps(sigmoid=3 * 2, tanh=2 * 2, mul=3 * 2, add=1 * 2)
    expected = Counts(
        cycles=109 + 13,
        compute_cycles=2 * 6,
        stall_cycles=100 + 4,
        drain_cycles=2 * 3,
        macs=2 * 4 * 2 * 5,
        dpu_chunks=2 * 4 * 2 * 3,
        adder_tree_adds=2 * 4 * 2 * 3 * (2 - 1),
        accumulator_adds=2 * 4 * 2 * 3,
        mfu=per_step_mfu.scaled(2),
        # per row: 3 chunk words + 1 bias word; 8 rows; 2 steps
        weight_buffer_reads=2 * 8 * (3 + 1),
        # the 24 B fetched per CU pass through the buffer: 24*8/32 = 6 words, x4 CUs
        weight_buffer_writes=4 * 6,
        input_buffer_reads=2 * 8 * 3,
        # [x_t h]: 5 fp16 packed = ceil(5*16/32) = 3 words, into each of 4 buffers, 2 steps
        input_buffer_writes=2 * 4 * 3,
        dram_weight_bytes=96,
        dram_activation_read_bytes=2 * 6,
        dram_activation_write_bytes=2 * 4,
    )
    assert r.total == expected
    assert r.layers[0].counts == expected
    assert r.peaks == Peaks(
        weight_buffer_bytes=24, input_buffer_bytes=10, intermediate_memory_bytes=0
    )


def test_baseline_writes_its_operand_packed() -> None:
    """The baseline's [x_t h_{t-1}] is one operand, packed as the DPU reads it: I=3, H=3
    on 2 lanes (32-bit ports) is ceil(6/2) = 3 words a step, not ceil(3/2) + ceil(3/2) =
    4 (the word x's tail and h's head share is written once); T=2, 4 buffers. On
    ports that take it all in one word, 1 a step, not 2."""
    arch = tiny_arch()
    net = Network("tiny", (Stack("main", 2, (LSTMLayer(3, 3),)),))
    r = simulate(build_schedule(net, arch, "baseline"), arch)
    assert r.total.input_buffer_writes == 2 * 4 * 3
    wide = tiny_arch(**{"input_buffer.port_bits": 128})
    r = simulate(build_schedule(net, wide, "baseline"), wide)
    assert r.total.input_buffer_writes == 2 * 4 * 1


def test_mwl_by_hand() -> None:
    """Same layer, MWL: phase A (W x_t + b, one tile of 2 rows), then phase B (U h).

    A: issue 2 rows x ceil(3/2) = 4 per step, no drain per step; psums are fp32 in the
       IM (4 vectors of 2 x 32 bits over the 32-bit port = 8 words). Step 0 fetches
       2 x (3+1) x 2 B = 16 B per CU (64 B) + 6 B of x: 70 cycles. Step 1: DRAM 6, but
       the IM port writes 8 words: max(4, 6, 8) = 8, a port stall of 2.
       End drain: dpu 1. A = 79.
    B: issue 2 x ceil(2/2) = 2, drain 3; reads the psums from the IM (8 words), writes y
       (4 B) to DRAM. Step 0 fetches U: 2 x 2 x 2 B = 8 B per CU (32 B) + 4 B: 2 + 34 + 3
       = 39. Step 1: the IM's 8 words outlast DRAM's 4 cycles: 2 + 2 + 4 + 3 = 11. B = 50.
    """
    arch = tiny_arch()
    r = simulate(build_schedule(one_layer(), arch, "mwl"), arch)
    t = r.total
    assert t.cycles == 79 + 50
    assert t.port_stall_cycles == 2 + 4
    assert t.stall_cycles == (70 - 4) + (6 - 4) + (36 - 2) + (4 - 2)
    assert t.drain_cycles == 1 + 2 * 3
    assert t.compute_cycles == 2 * 4 + 2 * 2
    assert t.dram_weight_bytes == 64 + 32
    assert t.intermediate_memory_writes == 2 * 4 * 2
    assert t.intermediate_memory_reads == 2 * 4 * 2
    assert t.macs == 2 * 4 * 2 * 3 + 2 * 4 * 2 * 2
    # W (+bias) tile, then U: the buffer never holds more than the tile of 16 B
    assert r.peaks.weight_buffer_bytes == 16
    # psums: 2 steps x 8 values x 4 B
    assert r.peaks.intermediate_memory_bytes == 2 * 8 * 4


def test_slow_memories_hold_their_port_for_several_cycles() -> None:
    """The baseline case above with a weight buffer that needs 2 cycles per access.

    Per CU and step the WB is read 2 rows x (3 chunk words + 1 bias word) = 8 times;
    step 0 also writes the 6 fetched words. Step 0: 2 x 14 = 28 port cycles, under
    DRAM's 106: unchanged (109). Step 1: 2 x 8 = 16 port cycles against max(issue 6,
    DRAM 10): a port stall of 6, 6 + 4 + 6 + 3 = 19.
    """
    arch = tiny_arch()
    schedule = build_schedule(one_layer(), arch, "baseline")
    slow = simulate(schedule, arch, AccessCycles(weight_buffer=2)).total
    assert slow.cycles == 109 + 19
    assert slow.port_stall_cycles == 6
    assert slow.stall_cycles == 100 + 4
    fast = simulate(schedule, arch).total
    assert slow.weight_buffer_reads == fast.weight_buffer_reads  # same events, more time
    assert slow.macs == fast.macs


def test_the_intermediate_memory_port_can_be_the_bottleneck() -> None:
    """The MWL case above with a 3-cycle IM: its 8 words per step hold the port 24 cycles.

    A0: max(4, 70, 24) = 70. A1: max(4, 6, 24) = 24 (port stall 18). End drain 1.
    B0: max(2, 36, 24) = 36, + 3. B1: max(2, 4, 24) = 24 (port stall 20), + 3.
    """
    arch = tiny_arch()
    schedule = build_schedule(one_layer(), arch, "mwl")
    t = simulate(schedule, arch, AccessCycles(intermediate_memory=3)).total
    assert t.cycles == (70 + 24 + 1) + (36 + 3) + (24 + 3)
    assert t.port_stall_cycles == 18 + 20


@pytest.mark.parametrize("bad", [0, -1])
def test_access_cycles_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="input_buffer cycles per access must be an integer >= 1"):
        AccessCycles(input_buffer=bad)


def test_weights_that_overflow_are_refetched_every_step() -> None:
    """A 20 B weight buffer holds 20 of the 24 B per CU: 4 B per CU re-fetched at each step."""
    arch = tiny_arch(**{"weight_buffer.capacity_bytes": 20})
    r = simulate(build_schedule(one_layer(t=5), arch, "baseline"), arch)
    assert r.total.dram_weight_bytes == 96 + 4 * 4 * 4
    assert any("re-fetched" in note for note in r.notes)


def test_spilled_rows_go_to_dram() -> None:
    """Two layers; the IM holds 3 of the 5 rows of the inner sequence (4 B each)."""
    net = Network("two", (Stack("main", 5, (LSTMLayer(3, 2), LSTMLayer(2, 2))),))
    arch = tiny_arch(**{"intermediate_memory.capacity_bytes": 12})
    r = simulate(build_schedule(net, arch, "baseline"), arch)
    layer0, layer1 = (lr.counts for lr in r.layers)
    # layer 0 writes 2 spilled rows of 4 B (+ nothing else: its input is external)
    assert layer0.dram_activation_write_bytes == 2 * 4
    assert layer1.dram_activation_read_bytes == 2 * 4
    assert r.peaks.intermediate_memory_bytes == 12


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_mwl_never_fetches_more_weights_than_baseline(name: str, paper: ArchConfig) -> None:
    for net in {zoo_network(name), zoo_network(name).with_known_inputs()}:
        base = evaluate(net, paper, "baseline").timing.total
        mwl = evaluate(net, paper, "mwl").timing.total
        assert mwl.dram_weight_bytes <= base.dram_weight_bytes
        assert mwl.macs == base.macs == net.macs_per_sequence()


def test_gmat_known_inputs_mwl_fetches_each_weight_once(paper: ArchConfig) -> None:
    net = zoo_network("gmat").with_known_inputs()
    weight_bytes = net.parameter_count() * paper.storage_bits // 8
    mwl = evaluate(net, paper, "mwl").timing.total.dram_weight_bytes
    base = evaluate(net, paper, "baseline").timing.total.dram_weight_bytes
    assert mwl == weight_bytes
    assert mwl < 0.1 * base  # GMAT's per-gate W and U exceed a 2 MiB buffer


def test_autoregressive_decoder_refetches_its_weights_every_step(paper: ArchConfig) -> None:
    net = zoo_network("gmat")
    r = evaluate(net, paper, "mwl").timing
    decoder = [lr.counts for lr in r.layers if lr.info.stack == "decoder"]
    dec_weights = sum(layer.parameter_count() for layer in net.stacks[1].layers) * 2
    assert sum(c.dram_weight_bytes for c in decoder) > 20 * dec_weights
    assert any("autoregressive" in note for note in r.notes)


def test_roofline_on_the_zoo(paper: ArchConfig) -> None:
    for name in ZOO_NAMES:
        for flow in ("baseline", "mwl"):
            t = evaluate(zoo_network(name), paper, flow).timing
            assert t.total.cycles * 4 * paper.dpu.lanes >= t.total.macs
            bw = paper.dram.bandwidth_bytes_per_s
            assert t.total.cycles * bw >= t.total.dram_bytes * paper.clock_hz


def test_peaks_per_layer() -> None:
    """Layer by layer, each layer's weight-buffer peak is its own footprint per CU.

    L1: 2 rows x (3 + 2 + 1 bias) x 2 B = 24 B; L2: 3 rows x (2 + 3 + 1) x 2 B = 36 B.
    Input buffers: (3 + 2) and (2 + 3) elements x 2 B = 10 B. The inner sequence
    (T=2 rows x 2 x 2 B = 8 B) is live in both layers' phases.
    """
    net = Network("two", (Stack("main", 2, (LSTMLayer(3, 2), LSTMLayer(2, 3))),))
    arch = tiny_arch()
    r = simulate(build_schedule(net, arch, "baseline"), arch)
    assert [lr.peaks for lr in r.layers] == [Peaks(24, 10, 8), Peaks(36, 10, 8)]
    assert r.peaks == Peaks(36, 10, 8)
