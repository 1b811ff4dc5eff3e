"""The step-by-step reference on tiny cases worked out by hand from docs/model.md.

Every expected number is derived in the comments from the rules of docs/model.md
(sections 3 and 4), never copied from an implementation's output. Common setting:
fp16 storage (w = 16), clock 500 MHz, 25.6 GB/s, 100 ns DRAM latency, so
``latency = ceil(100e-9 * 5e8) = 50`` cycles and moving ``n`` bytes takes
``ceil(n * 5e8 / 25.6e9) = ceil(n / 51.2)`` cycles; DPU latency 6, MFU latency 8.
"""

from __future__ import annotations

from typing import Any

from epur.arch import ArchConfig
from epur.schedule import Dataflow, MfuOps, build_schedule
from epur.timing.model import simulate
from epur.timing.reference import simulate_reference
from epur.timing.result import Counts, Peaks, TimingResult
from epur.workload import Activation, FCLayer, LSTMLayer, Network, Stack

MIB = 1 << 20


def _arch(lanes: int = 2, weight_buffer: int = MIB, intermediate: int = MIB) -> ArchConfig:
    tree: dict[str, Any] = {
        "clock_hz": 500_000_000,
        "dpu": {"lanes": lanes, "latency_cycles": 6},
        "mfu": {"latency_cycles": 8},
        "weight_buffer": {"capacity_bytes": weight_buffer},
        "input_buffer": {"capacity_bytes": MIB},
        "intermediate_memory": {"capacity_bytes": intermediate},
        "dram": {"bandwidth_bytes_per_s": 25_600_000_000, "latency_ns": 100.0},
        "formats": {"storage": "fp16", "partial_sums": "fp32"},
    }
    return ArchConfig.model_validate(tree)


def _run(
    network: Network, arch: ArchConfig, dataflow: Dataflow, tile: int | None = None
) -> TimingResult:
    return simulate_reference(build_schedule(network, arch, dataflow, tile), arch)


ONE_LSTM = Network("one", (Stack("s", 2, (LSTMLayer(input_size=3, hidden_size=2),)),))


def test_baseline_lstm_by_hand() -> None:
    """I=3, H=2, T=2, L=2, B=1: one gates group, rows (2,2,2,2), length I+H=5, bias only."""
    result = _run(ONE_LSTM, _arch(), Dataflow.BASELINE)
    chunks = 2 * (4 * 2 * 3)  # T * (4 CUs * 2 rows * ceil(5/2))
    # ports: L*w = 32 bits; a full chunk of 2 fp16 is 1 word, the last chunk of 1 is 1 word
    wb_reads = 2 * (4 * 2 * (2 * 1 + 1 + 1))  # T * rows * (chunk words 2+1, bias 1 word)
    ib_writes = 2 * 4 * 3  # T * CUs * ([x_t h]: 5 fp16 packed = 3 words)
    footprint = 2 * (5 + 1) * 2  # per CU: 2 rows of (5 weights + bias), 2 bytes each = 24
    # step 0: 4*24 weight bytes + 6 bytes of x_0 + 4 bytes of h_0 = 106 -> 50 + ceil(2.07) = 53
    # step 1: 6 + 4 = 10 bytes -> 50 + 1 = 51; issue is 2 rows * 3 chunks = 6 a step
    stall = (53 - 6) + (51 - 6)
    expected = Counts(
        cycles=12 + stall + 2 * 14,
        compute_cycles=2 * 6,
        stall_cycles=stall,
        drain_cycles=2 * (6 + 8),  # a recurrent phase drains DPU + MFU every step
        macs=2 * 4 * 2 * 5,
        dpu_chunks=chunks,
        adder_tree_adds=chunks * (2 - 1),
        accumulator_adds=chunks,
        # per step and neuron: 3 sigmoids, 2 tanh, 3 multiplies, 1 add
        mfu=MfuOps(sigmoid=2 * 3 * 2, tanh=2 * 2 * 2, mul=2 * 3 * 2, add=2 * 2),
        weight_buffer_reads=wb_reads,
        weight_buffer_writes=4 * (footprint * 8 // 32),  # first step only: no overflow
        input_buffer_reads=2 * (4 * 2 * 3),  # every chunk reads one IB word
        input_buffer_writes=ib_writes,
        dram_weight_bytes=4 * footprint,
        dram_activation_read_bytes=2 * 3 * 2,  # x_t from the external stack input
        dram_activation_write_bytes=2 * 2 * 2,  # h_t to the external stack output
    )
    assert result.total == expected
    assert result.layers[0].counts == expected
    # IB: one step's [x_t, h] = 5 fp16; nothing lives in the IM (input and output external)
    assert result.peaks == Peaks(24, (3 + 2) * 2, 0)


def test_mwl_lstm_one_row_tiles_by_hand() -> None:
    """The same layer under MWL with a weight buffer of one W row: 2 tiles of 1 row per CU."""
    arch = _arch(weight_buffer=(3 + 1) * 2)  # one W row and its bias, 8 bytes
    result = _run(ONE_LSTM, arch, Dataflow.MWL)
    t = result.total
    # input phase: 2 tiles x 2 steps; a segment is 4 CUs x 1 row x ceil(3/2) = 8 chunks,
    # issue 1 row x 2 chunks = 2; recurrent: 4 CUs x 2 rows x ceil(2/2) = 8 chunks, issue 2
    assert t.macs == 2 * 2 * (4 * 1 * 3) + 2 * (4 * 2 * 2)
    assert t.dpu_chunks == 4 * 8 + 2 * 8
    assert t.compute_cycles == 4 * 2 + 2 * 2
    # input: step 0 of a tile fetches 4 CUs x 8 bytes, plus 6 bytes of x -> 50 + 1 = 51;
    # other steps only x: 51; recurrent step 0: U (4 x 8 bytes) + h out (4 bytes): 51; step 1: 51
    assert t.stall_cycles == 4 * (51 - 2) + 2 * (51 - 2)
    # the input phase drains once by the DPU latency; the recurrent phase DPU+MFU every step
    assert t.drain_cycles == 6 + 2 * 14
    assert t.cycles == 12 + 6 * 49 + 34
    assert t.dram_weight_bytes == 2 * 4 * 8 + 4 * 8
    assert t.weight_buffer_writes == 3 * 4 * (8 * 8 // 32)
    assert t.dram_activation_read_bytes == 2 * 2 * 3 * 2  # every tile re-reads x_t
    assert t.dram_activation_write_bytes == 2 * 2 * 2
    # partial sums (fp32, 32-bit IM port): written as 4 vectors of 1, read as 4 vectors of 2
    assert t.intermediate_memory_writes == 4 * 4 * 1
    assert t.intermediate_memory_reads == 2 * 4 * 2
    assert t.weight_buffer_reads == 4 * 4 * (2 + 1) + 2 * 8 * 1  # rows * (chunks + bias)
    assert t.input_buffer_reads == 4 * 4 * 2 + 2 * 8 * 1
    assert t.input_buffer_writes == 4 * 4 * 2 + 2 * 4 * 1  # x_t: 2 words, h: 1 word, per CU
    # two rows of 4H = 8 fp32 partial sums stay in the IM; tiles replace each other (8 bytes)
    assert result.peaks == Peaks(8, 3 * 2, 2 * 8 * 4)


def test_spill_and_end_of_phase_drain_by_hand() -> None:
    """LSTM(3->2) then FC(2->5), batch 2, T=2; the IM holds one row of the LSTM's output."""
    network = Network(
        "two",
        (Stack("s", 2, (LSTMLayer(3, 2), FCLayer(2, 5, Activation.RELU))),),
        batch=2,
    )
    # a row of L1.output for the batch: 2 elements * 2 bytes * B = 8 bytes: 1 row resident
    result = _run(network, _arch(intermediate=8), Dataflow.BASELINE)
    lstm, fc = result.layers[0].counts, result.layers[1].counts
    assert lstm.intermediate_memory_writes == 2 * 1  # t=0: B * one 32-bit word
    assert lstm.dram_activation_write_bytes == 2 * 2 * 2  # t=1 spills: B * 2 fp16
    assert lstm.dram_activation_read_bytes == 2 * 2 * 3 * 2  # T * B * x_t (3 fp16)
    assert fc.intermediate_memory_reads == 2 * 1
    assert fc.dram_activation_read_bytes == 2 * 2 * 2
    assert fc.dram_activation_write_bytes == 2 * 2 * 5 * 2  # T * B * 5 fp16 outputs
    # FC rows (2,1,1,1), length 2: issue B * 2 rows * 1 chunk per step
    assert fc.compute_cycles == 2 * 2 * 2
    assert fc.macs == 2 * 2 * 5 * 2
    assert fc.mfu.relu == 2 * 2 * 5
    # a feed-forward phase drains once, at its end, by DPU + MFU latency
    assert fc.drain_cycles == 6 + 8
    assert result.total == lstm + fc
    assert result.peaks.intermediate_memory_bytes == 1 * 4 * 2  # 1 row * 4 bytes * B


def test_autoregressive_works_share_the_weight_buffer() -> None:
    """Step-major works coexist in the weight buffer; layer-by-layer phases do not."""
    layers = (LSTMLayer(3, 2), FCLayer(2, 3))
    # LSTM: 2 rows * (5 + 1) * 2 bytes = 24 per CU; FC rows (1,1,1,0): 1 * (2 + 1) * 2 = 6
    for autoregressive, peak in ((True, 24 + 6), (False, 24)):
        network = Network("ar", (Stack("s", 2, layers, autoregressive),))
        result = _run(network, _arch(), Dataflow.BASELINE)
        assert result.peaks.weight_buffer_bytes == peak


SINGLE_STEP_DECODER = Network(
    "decoder", (Stack("s", 1, (LSTMLayer(1, 1), LSTMLayer(1, 1)), autoregressive=True),)
)


def test_liveness_is_per_phase() -> None:
    """docs/model.md s4: an array is live from the first phase that touches it to the last.

    One step, two works in one phase: L1 touches L1.output (2 bytes) and L1.state
    ([h, c]: 4 bytes); L2 touches L1.output and L2.state (4 bytes). Phases are the unit
    of intermediate-memory placement, so all three are live together: 2 + 4 + 4 = 10.
    """
    result = _run(SINGLE_STEP_DECODER, _arch(), Dataflow.BASELINE)
    assert result.peaks.intermediate_memory_bytes == 2 + 4 + 4
    schedule = build_schedule(SINGLE_STEP_DECODER, _arch(), Dataflow.BASELINE)
    assert simulate(schedule, _arch()) == result
