"""The SRAM characterisation step (``epur.energy.characterise_srams``) and the memory enum.

The expected figures are literals: what the energy model charged and the timing model
was given before the characterisation became its own step (banking for the clock,
then CACTI's figures per memory, then ``ceil(cycle time x clock)``), for the paper
preset and a few ``--set`` variants. A change to the step (a figure read from the wrong
field, leakage without gate leakage, another instance count, another rounding of the
cycles per access, banking skipped) fails here.
"""

from __future__ import annotations

import json

import pytest

from epur.arch import Memory, apply_overrides, paper_preset
from epur.energy import (
    SramTable,
    characterise_srams,
    cycles_per_access,
    energy_table,
    memory_specs,
    sram_backend,
)
from epur.evaluation import Design, evaluate
from epur.timing import AccessCycles, Counts, Peaks
from epur.workload import zoo_network

# variant -> (--set assignments, bank for the clock, backend)
VARIANTS = {
    "paper": ([], True, "table"),
    "paper_unbanked_1ghz": (["clock_hz=1000000000"], False, "table"),
    "lanes32": (["dpu.lanes=32"], True, "cacti"),
    "lstp_2ghz": (["technology.sram_cell=itrs-lstp", "clock_hz=2000000000"], True, "cacti"),
    "int8_im_banks2": (["formats.storage=int8", "intermediate_memory.banks=2"], False, "cacti"),
}
WB, IB, IM = Memory.WEIGHT_BUFFER, Memory.INPUT_BUFFER, Memory.INTERMEDIATE_MEMORY
# memory: (instances, banks, read J, write J, leakage W (subthreshold + gate) and area mm2
# per instance, cycles per access)
EXPECTED = {
    "paper": {
        WB: (4, 16, 1.4640700000000001e-10, 1.5507600000000001e-10, 0.00072388695, 2.55954, 1),
        IB: (4, 1, 4.7174e-12, 1.0602800000000002e-11, 3.5456810000000003e-06, 0.0119124, 1),
        IM: (1, 64, 2.61532e-10, 2.6798300000000007e-10, 0.00216967449, 7.57797, 1),
    },
    "paper_unbanked_1ghz": {
        WB: (4, 16, 1.4640700000000001e-10, 1.5507600000000001e-10, 0.00072388695, 2.55954, 2),
        IB: (4, 1, 4.7174e-12, 1.0602800000000002e-11, 3.5456810000000003e-06, 0.0119124, 1),
        IM: (1, 16, 2.7730900000000004e-10, 2.68458e-10, 0.0020163054, 8.06761, 3),
    },
    "lanes32": {
        WB: (4, 16, 2.82817e-10, 3.20529e-10, 0.0007325696500000001, 3.009, 1),
        IB: (
            4,
            1,
            1.2892900000000002e-11,
            1.8642300000000003e-11,
            3.4131700000000002e-06,
            0.0190522,
            1,
        ),
        IM: (1, 64, 5.24994e-10, 5.532e-10, 0.00219206967, 8.75945, 1),
    },
    "lstp_2ghz": {
        WB: (4, 1024, 2.4624700000000003e-10, 2.47271e-10, 0.0010160618799999997, 5.87476, 1),
        IB: (4, 4, 1.42326e-11, 1.52563e-11, 4.363701e-06, 0.0412251, 1),
        IM: (1, 2048, 3.36536e-10, 3.38312e-10, 0.0029035941399999997, 13.8042, 1),
    },
    "int8_im_banks2": {
        WB: (4, 16, 8.36315e-11, 8.063190000000001e-11, 0.0007103763000000001, 2.70811, 1),
        IB: (4, 1, 3.29122e-12, 5.58875e-12, 3.5184870000000006e-06, 0.0107112, 1),
        IM: (1, 2, 1.5169e-10, 1.41584e-10, 0.00202866278, 7.77766, 2),
    },
}
LEAKAGE_W = {
    "paper": 0.0050794050139999995,
    "paper_unbanked_1ghz": 0.004926035924,
    "lanes32": 0.0051360009500000005,
    "lstp_2ghz": 0.006985296463999998,
    "int8_im_banks2": 0.004884241928000001,
}


def _table(variant: str) -> SramTable:
    settings, bank, backend = VARIANTS[variant]
    arch = apply_overrides(paper_preset(), settings)
    return characterise_srams(arch, sram_backend(backend), bank_for_clock=bank)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_sram_table_holds_what_the_energy_model_charged(variant: str) -> None:
    table = _table(variant)
    assert [e.memory for e in table] == list(Memory)
    for memory, expected in EXPECTED[variant].items():
        e = table[memory]
        got = (e.instances, e.spec.banks, e.read_energy_j, e.write_energy_j, e.leakage_w,
               e.area_mm2, e.cycles_per_access)  # fmt: skip
        assert got == expected, memory
        assert e.spec.banks == memory.config(table.arch).banks
        assert e.spec == memory_specs(table.arch)[memory]
    assert table.leakage_w == LEAKAGE_W[variant]
    assert table.access_cycles() == AccessCycles(*(EXPECTED[variant][m][-1] for m in Memory))


@pytest.mark.parametrize("variant", ["paper", "paper_unbanked_1ghz", "int8_im_banks2"])
def test_timing_and_energy_consume_the_table(variant: str) -> None:
    """``evaluate`` charges the table's cycles per access and its energies: one source."""
    settings, bank, backend = VARIANTS[variant]
    design = Design.paper(settings, sram=backend, bank_for_clock=bank)
    ev = evaluate(zoo_network("bysdne"), design)
    table = _table(variant)
    assert ev.srams == table
    assert ev.timing.access_cycles == table.access_cycles()
    assert ev.energy_table is not None and ev.energy_table.srams == table
    assert ev.energy_table == energy_table(table.arch, table)
    assert ev.energy is not None
    counts = ev.timing.total
    for e in table:
        charged = ev.energy.dynamic_j[e.memory.value]
        assert (
            charged
            == counts.reads(e.memory) * e.read_energy_j + counts.writes(e.memory) * e.write_energy_j
        )
    assert ev.energy.leakage_j == table.leakage_w * ev.timing.latency_s()


def test_banking_is_part_of_the_step() -> None:
    banked, given = _table("paper"), characterise_srams(paper_preset(), sram_backend("table"),
                                                        bank_for_clock=False)  # fmt: skip
    assert given.banking == () and given.arch == paper_preset()
    assert [b.memory for b in banked.banking] == list(Memory)
    assert banked.arch.intermediate_memory.banks == 64 != paper_preset().intermediate_memory.banks
    assert given[IM].cycles_per_access == cycles_per_access(
        given[IM].cycle_time_s, paper_preset().clock_hz
    )


def test_an_energy_table_refuses_another_architecture_s_srams() -> None:
    with pytest.raises(ValueError, match="another architecture"):
        energy_table(apply_overrides(paper_preset(), ["clock_hz=1000000000"]), _table("paper"))


def test_memory_enum_round_trips() -> None:
    arch = paper_preset()
    for memory in Memory:
        assert Memory(memory.value) is memory is Memory(str(memory))
        assert json.loads(json.dumps(memory)) == memory.value == f"{memory}"
        assert memory.config(arch) is getattr(arch, memory.value)
        assert memory.instances(arch) == (1 if memory is IM else 4)
        assert memory.with_banks(arch, memory.config(arch).banks) is arch
        assert memory.config(memory.with_banks(arch, 128)).banks == 128
    assert [m.value for m in Memory] == ["weight_buffer", "input_buffer", "intermediate_memory"]
    counts = Counts(weight_buffer_reads=3, weight_buffer_writes=4, intermediate_memory_writes=5)
    assert [counts.accesses(m) for m in Memory] == [7, 0, 5]
    assert [Peaks(1, 2, 3).of(m) for m in Memory] == [1, 2, 3]
    assert [AccessCycles.from_memories({IB: 2}).of(m) for m in Memory] == [1, 2, 1]
    with pytest.raises(ValueError):
        Memory("dram")
