"""Banking a memory until its SRAM cycle time fits the clock."""

from __future__ import annotations

from dataclasses import replace

from epur.arch import apply_overrides, paper_preset
from epur.energy import bank_for_clock, memory_specs, sram_backend
from epur.energy.cacti import SramResult, SramSpec
from epur.energy.model import cycles_per_access

TABLE = sram_backend("table")
_ANY = SramResult(
    read_energy_j=1e-12, write_energy_j=1e-12, leakage_w=1e-3, gate_leakage_w=0.0,
    area_mm2=1.0, access_time_s=1e-9, cycle_time_s=1e-9,
)  # fmt: skip


class SlowerWhenBigger:
    """A fake SRAM model: cycle time 8 ns / banks (the paper clock's period is 2 ns)."""

    name = "fake"

    def __init__(self) -> None:
        self.asked: list[int] = []

    def sram(self, spec: SramSpec) -> SramResult:
        self.asked.append(spec.banks)
        return replace(_ANY, cycle_time_s=8e-9 / spec.banks)

    def config_text(self, spec: SramSpec) -> str | None:
        return None


def test_banks_double_until_the_cycle_time_fits_the_clock() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.banks=1"])
    fake = SlowerWhenBigger()
    banked = bank_for_clock(arch, "weight_buffer", fake)
    assert fake.asked == [1, 2, 4]  # 8, 4, then 2 ns: one 2 ns clock period
    assert banked.weight_buffer.banks == 4
    assert banked.weight_buffer.capacity_bytes == arch.weight_buffer.capacity_bytes
    assert banked.input_buffer == arch.input_buffer


def test_a_memory_that_fits_is_left_alone() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.banks=8"])
    assert bank_for_clock(arch, "weight_buffer", SlowerWhenBigger()) is arch


def test_a_memory_no_bank_count_can_speed_up_stays_as_it_was() -> None:
    arch = apply_overrides(paper_preset(), ["clock_hz=2e9", "weight_buffer.banks=1"])
    fake = SlowerWhenBigger()  # a 0.5 ns period needs 16 banks; at most 8 are allowed
    assert bank_for_clock(arch, "weight_buffer", fake, max_banks=8) is arch
    assert fake.asked == [1, 2, 4, 8]


def test_the_baseline_design_of_the_paper_is_banked_for_the_clock() -> None:
    """A 6 MB weight buffer in 16 banks cannot cycle at 500 MHz (recorded CACTI)."""
    arch = apply_overrides(paper_preset(), ["weight_buffer.capacity_bytes=6293504"])
    slow = TABLE.sram(memory_specs(arch)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(slow, arch.clock_hz) > 1
    banked = bank_for_clock(arch, "weight_buffer", TABLE)
    banks = banked.weight_buffer.banks
    assert banks > 16
    fits = TABLE.sram(memory_specs(banked)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(fits, arch.clock_hz) == 1
    half = apply_overrides(arch, [f"weight_buffer.banks={banks // 2}"])
    slower = TABLE.sram(memory_specs(half)["weight_buffer"]).cycle_time_s
    assert cycles_per_access(slower, arch.clock_hz) > 1  # the fewest banks that fit
