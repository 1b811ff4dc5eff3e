"""Banking memories until their SRAM cycle time fits the clock, alone and in ``evaluate``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from epur.arch import apply_overrides, paper_preset
from epur.energy import bank_for_clock, bank_memory, memory_specs, sram_backend
from epur.energy.cacti import CactiRejectedError, SramResult, SramSpec
from epur.energy.model import cycles_per_access
from epur.errors import BackendError
from epur.evaluation import evaluate
from epur.workload import zoo_network

TABLE = sram_backend("table")
_ANY = SramResult(
    read_energy_j=1e-12, write_energy_j=1e-12, leakage_w=1e-3, gate_leakage_w=0.0,
    area_mm2=1.0, access_time_s=1e-9, cycle_time_s=1e-9,
)  # fmt: skip


class SlowerWhenBigger:
    """A fake SRAM model: cycle time ``ns`` / banks (the paper clock's period is 2 ns); a
    bank count from ``refuse`` on raises ``error`` (CACTI refusing it, or another failure)."""

    name = "fake"

    def __init__(
        self, ns: float = 8.0, refuse: int | None = None, error: type[BackendError] | None = None
    ) -> None:
        self.ns, self.refuse, self.error = ns, refuse, error or CactiRejectedError
        self.asked: list[tuple[int, int]] = []  # (capacity, banks)

    def sram(self, spec: SramSpec) -> SramResult:
        self.asked.append((spec.capacity_bytes, spec.banks))
        if self.refuse is not None and spec.banks >= self.refuse:
            raise self.error(f"no valid organisation in {spec.banks} banks")
        return replace(_ANY, cycle_time_s=self.ns * 1e-9 / spec.banks)

    def config_text(self, spec: SramSpec) -> str | None:
        return None

    def banks_asked(self, capacity: int) -> list[int]:
        return [banks for cap, banks in self.asked if cap == capacity]


class Constant(SlowerWhenBigger):
    """A fake SRAM model whose cycle time does not depend on the banks."""

    def __init__(self, cycle_s: float) -> None:
        super().__init__()
        self.cycle_s = cycle_s

    def sram(self, spec: SramSpec) -> SramResult:
        return replace(_ANY, cycle_time_s=self.cycle_s)


WB = paper_preset().weight_buffer.capacity_bytes


def test_banks_double_until_the_cycle_time_fits_the_clock() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.banks=1"])
    fake = SlowerWhenBigger()
    banked, banking = bank_memory(arch, "weight_buffer", fake)
    assert fake.banks_asked(WB) == [1, 2, 4]  # 8, 4, then 2 ns: one 2 ns clock period
    assert banked.weight_buffer.banks == 4
    assert banked.weight_buffer.capacity_bytes == arch.weight_buffer.capacity_bytes
    assert banked.input_buffer == arch.input_buffer
    assert (banking.given_banks, banking.banks, banking.cycles_per_access) == (1, 4, 1)
    assert banking.note(arch.clock_hz) == (
        "weight_buffer: banked 1 -> 4 so that its cycle time (2.00 ns) fits the 2.00 ns clock "
        "(--no-bank-for-clock keeps 1)"
    )


def test_a_memory_that_fits_is_left_alone() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.banks=8"])
    banked, banking = bank_memory(arch, "weight_buffer", SlowerWhenBigger())
    assert banked is arch and banking.note(arch.clock_hz) is None


def test_a_memory_that_never_fits_keeps_its_fastest_bank_count() -> None:
    """A 0.5 ns period needs 16 banks of the fake; at most 8 are tried: 8 banks (1 ns) take
    2 cycles per access instead of 16, and the timing model charges those."""
    arch = apply_overrides(paper_preset(), ["clock_hz=2e9", "weight_buffer.banks=1"])
    fake = SlowerWhenBigger()
    banked, banking = bank_memory(arch, "weight_buffer", fake, max_banks=8)
    assert fake.banks_asked(WB) == [1, 2, 4, 8]
    assert banked.weight_buffer.banks == 8
    assert banking.cycles_per_access == 2 and not banking.fits_clock
    assert banking.note(arch.clock_hz) == (
        "weight_buffer: no bank count cycles within the 0.50 ns clock (8 banks is the most "
        "tried); kept 8 banks (1.00 ns): each access holds its port 2 cycles, charged as "
        "port stalls"
    )
    # where more banks are no faster, the fewest of the fastest are kept
    flat, _ = bank_memory(arch, "weight_buffer", Constant(3e-9), max_banks=8)
    assert flat is arch


def test_banking_stops_where_cacti_refuses_more_banks() -> None:
    """CACTI cannot organise 4 banks of this memory: 2 banks (4 ns, 2 cycles) are kept."""
    arch = apply_overrides(paper_preset(), ["weight_buffer.banks=1"])
    fake = SlowerWhenBigger(refuse=4)
    banked, banking = bank_memory(arch, "weight_buffer", fake)
    assert fake.banks_asked(WB) == [1, 2, 4]
    assert banked.weight_buffer.banks == 2 and banking.cycles_per_access == 2
    assert "(CACTI cannot organise it in 4 banks)" in (banking.note(arch.clock_hz) or "")
    # any other failure (no CACTI, no recorded result) is an error, not a limit
    with pytest.raises(BackendError, match="no valid organisation in 4 banks"):
        bank_memory(arch, "weight_buffer", SlowerWhenBigger(refuse=4, error=BackendError))


def test_every_memory_is_banked_and_those_that_fit_are_not_touched() -> None:
    """8 ns / banks: the 2 MiB weight buffer and 6 MiB intermediate memory in 16 banks
    (0.5 ns) fit the 2 ns clock; the 8 KiB input buffer in one bank (8 ns) needs 4."""
    arch = paper_preset()
    fake = SlowerWhenBigger()
    banked, banking = bank_for_clock(arch, fake)
    assert [b.memory for b in banking] == ["weight_buffer", "input_buffer", "intermediate_memory"]
    assert fake.banks_asked(WB) == [16]  # asked once, at its own count, and left alone
    assert banked.weight_buffer == arch.weight_buffer
    assert banked.intermediate_memory == arch.intermediate_memory
    assert fake.banks_asked(8 * 1024) == [1, 2, 4]
    assert banked.input_buffer.banks == 4
    fits = apply_overrides(arch, ["input_buffer.banks=4"])
    assert bank_for_clock(fits, SlowerWhenBigger())[0] is fits


def test_the_baseline_design_of_the_paper_is_banked_for_the_clock() -> None:
    """A 6 MB weight buffer in 16 banks cannot cycle at 500 MHz (recorded CACTI)."""
    arch = apply_overrides(paper_preset(), ["weight_buffer.capacity_bytes=6293504"])
    slow = TABLE.sram(memory_specs(arch)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(slow, arch.clock_hz) > 1
    banked, _ = bank_memory(arch, "weight_buffer", TABLE)
    banks = banked.weight_buffer.banks
    assert banks > 16
    fits = TABLE.sram(memory_specs(banked)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(fits, arch.clock_hz) == 1
    half = apply_overrides(arch, [f"weight_buffer.banks={banks // 2}"])
    slower = TABLE.sram(memory_specs(half)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(slower, arch.clock_hz) > 1  # the fewest banks that fit


def test_evaluate_banks_every_sram_for_the_clock_and_records_the_design() -> None:
    """The paper's 6 MiB intermediate memory in 16 banks cycles in 2.84 ns (recorded CACTI):
    ceil(2.84 ns x 500 MHz) = 2 cycles per access. ``evaluate`` banks it until it takes
    one, and the evaluation records the design it evaluated; ``bank_for_clock=False``
    keeps the given one."""
    net, arch = zoo_network("bysdne"), paper_preset()
    ev = evaluate(net, arch, "mwl", energy_backend=TABLE)
    assert ev.energy_table is not None and ev.energy_backend == "table"
    banks = ev.arch.intermediate_memory.banks
    assert banks > 16
    assert {m.name: m.spec.banks for m in ev.energy_table.memories}["intermediate_memory"] == banks
    assert ev.timing.access_cycles.intermediate_memory == 1
    assert ev.arch.weight_buffer == arch.weight_buffer  # 1.93 ns: fits, left alone
    assert ev.arch.input_buffer == arch.input_buffer
    assert [n.split(":")[0] for n in ev.banking_notes()] == ["intermediate_memory"]
    kept = evaluate(net, arch, "mwl", energy_backend=TABLE, bank_for_clock=False)
    assert kept.arch is arch and kept.banking == ()
    assert kept.timing.access_cycles.intermediate_memory == 2
    # without an SRAM model there is no cycle time to bank for
    plain = evaluate(net, arch, "mwl")
    assert plain.arch is arch and plain.energy_backend == "none" and plain.banking == ()
