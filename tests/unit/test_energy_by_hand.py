"""Every energy component and area worked out by hand from the published figures.

The per-event figures here are literals (Horowitz's operation energies, the Han and
Dally areas, Stillmaker and Baas's node factors, Micron's LPDDR4 IDD figures,
docs/sources.md), never read back from the model or the architecture defaults, and
the SRAM figures come from a fixed table of explicit numbers. So changing any energy,
area or leakage constant of the model, or the way a component is summed, fails here.
The event counts are the timing model's (checked by hand in tests/unit/test_timing_model.py).
"""

from __future__ import annotations

import pytest

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.energy import SramResult, SramSpec, energy, energy_table
from epur.evaluation import evaluate
from epur.timing import Counts
from epur.workload import Activation, FCLayer, LSTMLayer, Network, Stack

# Fixed SRAM figures, different for every memory and every figure, so that a read
# charged as a write or one memory's figures used for another fail.
FIXED = {
    # capacity: (read J, write J, subthreshold W, gate W, area mm2)
    2 * 2**20: (11e-12, 13e-12, 1.7e-4, 1.9e-5, 2.3),  # weight buffer, 4 instances
    8 * 2**10: (2e-12, 3e-12, 5e-6, 7e-7, 0.11),  # input buffer, 4 instances
    6 * 2**20: (17e-12, 19e-12, 2.9e-4, 3.1e-5, 6.7),  # intermediate memory, 1 instance
}


class FixedBackend:
    name = "fixed"

    def sram(self, spec: SramSpec) -> SramResult:
        read, write, leak, gate, area = FIXED[spec.capacity_bytes]
        return SramResult(read, write, leak, gate, area, 1e-10, 1e-10)

    def config_text(self, spec: SramSpec) -> str | None:
        return None


WB, IB, IM = FIXED[2 * 2**20], FIXED[8 * 2**10], FIXED[6 * 2**20]
LEAKAGE_W = 4 * (WB[2] + WB[3]) + 4 * (IB[2] + IB[3]) + 1 * (IM[2] + IM[3])

# The paper preset's logic at 28 nm (fp16 storage, fp32 accumulator): Horowitz 45 nm
# energies x Stillmaker & Baas's 0.42
MUL_FP16_J = 1.1e-12 * 0.42
ADD_FP32_J = 0.9e-12 * 0.42
MUL_FP32_J = 3.7e-12 * 0.42

# Micron LPDDR4 IDD figures, x4 channels; tRFCab / tREFI = 448 / 6246
ACTIVE_W, POWER_DOWN_W, SELF_REFRESH_W, REFRESH_W = 0.1516, 0.0252, 0.0048, 0.0188
EFFECTIVE_BYTES_PER_S = 25.6e9 * (1 - 448 / 6246)


def tiny() -> Network:
    """One LSTM layer (40 inputs, 24 cells) and a ReLU FC layer (10 outputs), 5 steps."""
    layers = (LSTMLayer(40, 24), FCLayer(24, 10, Activation.RELU))
    return Network("tiny", (Stack("main", 5, layers),))


def exactly(joules: float) -> object:
    """Equal to 12 digits. (pytest.approx also allows 1e-12 absolute by default, which
    would pass any per-event energy, all below a picojoule: ``abs=0``.)"""
    return pytest.approx(joules, rel=1e-12, abs=0)


def run(arch: ArchConfig, dataflow: str = "mwl") -> tuple[Counts, float, dict[str, float]]:
    ev = evaluate(tiny(), arch, dataflow, energy_backend=FixedBackend(), bank_for_clock=False)
    assert ev.energy is not None
    return ev.timing.total, ev.timing.latency_s(), ev.energy.breakdown_j()


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_every_component_by_hand(dataflow: str) -> None:
    c, time_s, got = run(paper_preset(), dataflow)
    m = c.mfu
    assert c.macs > 0 and c.dram_bytes > 0 and m.sigmoid > 0 and m.tanh > 0 and m.relu > 0
    assert c.weight_buffer_reads > 0 and c.input_buffer_reads > 0
    assert c.input_buffer_writes > 0
    assert c.intermediate_memory_writes > 0 or dataflow == "baseline"
    transfer_s = c.dram_bytes / EFFECTIVE_BYTES_PER_S
    expected = {
        "dpu_multipliers": c.macs * MUL_FP16_J,
        "dpu_adder_trees": c.adder_tree_adds * ADD_FP32_J,
        "dpu_accumulators": c.accumulator_adds * ADD_FP32_J,
        # a sigmoid or tanh is one multiply and one add (one PWL segment), a ReLU one add
        "mfu": (m.mul + m.sigmoid + m.tanh) * MUL_FP32_J
        + (m.add + m.sigmoid + m.tanh + m.relu) * ADD_FP32_J,
        "weight_buffer": c.weight_buffer_reads * WB[0] + c.weight_buffer_writes * WB[1],
        "input_buffer": c.input_buffer_reads * IB[0] + c.input_buffer_writes * IB[1],
        "intermediate_memory": c.intermediate_memory_reads * IM[0]
        + c.intermediate_memory_writes * IM[1],
        "dram": c.dram_bytes * 8 * 10e-12,
        "leakage": LEAKAGE_W * time_s,
        # active standby + refresh while transferring, power-down + refresh while idle
        "dram_background": transfer_s * (ACTIVE_W + REFRESH_W)
        + (time_s - transfer_s) * (POWER_DOWN_W + REFRESH_W),
    }
    assert set(got) == set(expected)
    for name, joules in expected.items():
        assert got[name] == exactly(joules), name


@pytest.mark.parametrize(
    ("policy", "idle_w"),
    [
        ("active_standby", ACTIVE_W + REFRESH_W),
        ("power_down", POWER_DOWN_W + REFRESH_W),
        ("self_refresh", SELF_REFRESH_W),  # refreshes itself
    ],
)
def test_dram_background_by_idle_policy(policy: str, idle_w: float) -> None:
    arch = apply_overrides(paper_preset(), [f"dram.idle_policy={policy}"])
    c, time_s, got = run(arch)
    transfer_s = c.dram_bytes / EFFECTIVE_BYTES_PER_S
    assert 0 < transfer_s < time_s
    expected = transfer_s * (ACTIVE_W + REFRESH_W) + (time_s - transfer_s) * idle_w
    assert got["dram_background"] == exactly(expected)


def test_dram_background_over_a_given_time() -> None:
    """3 ms, of which 1 MB at the effective bandwidth is transferring."""
    table = energy_table(paper_preset(), FixedBackend())
    e = energy(Counts(dram_weight_bytes=10**6), 3e-3, table)
    transfer_s = 10**6 / (25.6e9 * 5798 / 6246)  # 42.08 us
    expected = transfer_s * 0.1704 + (3e-3 - transfer_s) * 0.044
    assert e.breakdown_j()["dram_background"] == exactly(expected)
    assert e.breakdown_j()["dram"] == exactly(8e6 * 10e-12)
    assert e.leakage_j == exactly(LEAKAGE_W * 3e-3)
    assert e.total_j == exactly(sum(e.breakdown_j().values()))


def test_logic_overhead_multiplies_the_logic_alone() -> None:
    _, _, base = run(paper_preset())
    _, _, more = run(apply_overrides(paper_preset(), ["logic.overhead_factor=1.5"]))
    for name in base:
        factor = 1.5 if name.startswith(("dpu_", "mfu")) else 1.0
        assert more[name] == exactly(base[name] * factor), name


def test_areas_by_hand() -> None:
    """Per CU: 16 fp16 multipliers and 16 fp32 adders (15 tree + 1 accumulator); an MFU
    of 11 fp32 multipliers and 9 fp32 adders; Han & Dally's 45 nm areas x 0.37 at 28 nm."""
    area = energy_table(paper_preset(), FixedBackend()).area_mm2
    um2 = 1e-6 * 0.37
    assert area["dpu"] == exactly(4 * (16 * 1640 + 16 * 4184) * um2)
    assert area["mfu"] == exactly(4 * (11 * 7700 + 9 * 4184) * um2)
    assert area["weight_buffer"] == exactly(4 * WB[4])
    assert area["input_buffer"] == exactly(4 * IB[4])
    assert area["intermediate_memory"] == exactly(1 * IM[4])


# (storage, accumulator): per-event J of DPU multiply, DPU add, MFU multiply, MFU add
# at 45 nm, then the areas in um^2 of the same four units (Horowitz; Han & Dally;
# int16 multiply 1.0 pJ and 993 um^2 assumed). Every logic constant appears once at least.
FORMATS = [
    ("fp16", "fp32", (1.1, 0.9, 3.7, 0.9), (1640, 4184, 7700, 4184)),
    ("fp16", "fp16", (1.1, 0.4, 1.1, 0.4), (1640, 1360, 1640, 1360)),
    ("bf16", "fp32", (1.1, 0.9, 3.7, 0.9), (1640, 4184, 7700, 4184)),  # bf16 costs fp16's
    ("fp32", "fp32", (3.7, 0.9, 3.7, 0.9), (7700, 4184, 7700, 4184)),
    ("int8", "q4.4", (0.2, 0.1, 0.2, 0.03), (282, 137, 282, 36)),  # int8 sums in int32
    ("q8.8", "q8.8", (1.0, 0.05, 1.0, 0.05), (993, 67, 993, 67)),
    ("q16.16", "q16.16", (3.1, 0.1, 3.1, 0.1), (3495, 137, 3495, 137)),
]
NODES = {45: (1.0, 1.0), 32: (0.531, 0.45), 28: (0.42, 0.37), 22: (0.28, 0.25)}


@pytest.mark.parametrize("node", sorted(NODES))
@pytest.mark.parametrize(("storage", "acc", "pj", "um2"), FORMATS)
def test_every_logic_figure_by_hand(
    storage: str,
    acc: str,
    pj: tuple[float, float, float, float],
    um2: tuple[float, float, float, float],
    node: int,
) -> None:
    arch = apply_overrides(
        paper_preset(),
        [f"formats.storage={storage}", f"formats.accumulator={acc}", f"technology.node_nm={node}"],
    )
    table = energy_table(arch, FixedBackend())
    e_scale, a_scale = NODES[node]
    got = (table.mul_j, table.dpu_add_j, table.mfu_mul_j, table.mfu_add_j)
    for value, figure in zip(got, pj, strict=True):
        assert value == exactly(figure * 1e-12 * e_scale)
    mul, add, mfu_mul, mfu_add = (a * 1e-6 * a_scale for a in um2)
    assert table.area_mm2["dpu"] == exactly(4 * 16 * (mul + add))
    assert table.area_mm2["mfu"] == exactly(4 * (11 * mfu_mul + 9 * mfu_add))
