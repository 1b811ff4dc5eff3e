"""The ``paper`` preset: the E-PUR design of Silfa et al. (PACT 2018) as we believe it was.

The paper's parameter tables could not be read (full references: ``docs/sources.md``):
every value below is marked **published** (stated in a source we have
read) or **assumed** (recalled or chosen, with the reason). ``PROVENANCE`` is the
single record of that status; the reproduction report lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch.config import (
    ArchConfig,
    DPUConfig,
    DRAMConfig,
    FormatsConfig,
    MemoryConfig,
    MFUConfig,
    TechnologyConfig,
)
from epur.units import KIB, MIB

__all__ = ["PRESETS", "PROVENANCE", "Provenance", "paper_preset"]


@dataclass(frozen=True, slots=True)
class Provenance:
    status: str  # "published" or "assumed"
    source: str


_ASSUMED_CONFIG = (
    "recalled E-PUR configuration, not verified (Silfa et al., PACT 2018: tables not read)"
)

_MICRON = "Micron LPDDR4 IDD (DRAMPower), derived (docs/sources.md)"

PROVENANCE: dict[str, Provenance] = {
    "compute_units": Provenance(
        "published", "four CUs, one per LSTM gate (Silfa et al., PACT 2018)"
    ),
    "clock_hz": Provenance("assumed", "500 MHz at a 28 nm-class node; " + _ASSUMED_CONFIG),
    "dpu.lanes": Provenance("assumed", "16-lane DPU per CU; " + _ASSUMED_CONFIG),
    "dpu.latency_cycles": Provenance(
        "assumed",
        "derived from dpu.lanes unless set: 1 multiplier + ceil(log2(lanes)) adder-tree levels "
        "+ 1 accumulator stage, one cycle each (6 for 16 lanes)",
    ),
    "mfu.latency_cycles": Provenance(
        "assumed", "activation (2) + peephole/cell multiply-adds (4) + output multiply (2)"
    ),
    "mfu.activation": Provenance(
        "assumed", "exact sigmoid/tanh; the paper's MFU approximation is not known to us"
    ),
    "weight_buffer.capacity_bytes": Provenance("assumed", "2 MiB per CU; " + _ASSUMED_CONFIG),
    "weight_buffer.port_bits": Provenance("assumed", "one 16-lane chunk per access (auto)"),
    "weight_buffer.banks": Provenance(
        "assumed", "16 banks: a 2 MiB LSTP array cycles in 1.9 ns (CACTI 7, measured)"
    ),
    "input_buffer.capacity_bytes": Provenance("assumed", "8 KiB per CU; " + _ASSUMED_CONFIG),
    "input_buffer.port_bits": Provenance("assumed", "one 16-lane chunk per access (auto)"),
    "input_buffer.banks": Provenance("assumed", "a single bank suffices for 8 KiB"),
    "intermediate_memory.capacity_bytes": Provenance("assumed", "6 MiB; " + _ASSUMED_CONFIG),
    "intermediate_memory.port_bits": Provenance("assumed", "one 16-lane chunk per access (auto)"),
    "intermediate_memory.banks": Provenance("assumed", "16 banks, as the weight buffers"),
    "dram.bandwidth_bytes_per_s": Provenance(
        "assumed",
        "Tegra X1's LPDDR4-3200 x64, 25.6 GB/s (NVIDIA Tegra X1 whitepaper; JEDEC JESD209-4)",
    ),
    "dram.latency_ns": Provenance("assumed", "typical LPDDR4 random-access latency, ~100 ns"),
    "dram.energy_per_bit_j": Provenance(
        "assumed",
        "10 pJ/bit: middle of the 4-14 pJ/bit LPDDR4 figures (docs/sources.md, LPDDR4 energy)",
    ),
    "dram.background_active_standby_w": Provenance(
        "assumed",
        "37.9 mW per x16 channel x 4 (x64): "
        + _MICRON
        + "; that the Tegra X1's LPDDR4 draws it is assumed",
    ),
    "dram.background_power_down_w": Provenance(
        "assumed", "6.3 mW per x16 channel x 4: " + _MICRON + "; the device is assumed"
    ),
    "dram.background_self_refresh_w": Provenance(
        "assumed",
        "1.2 mW per x16 channel x 4, refresh included: " + _MICRON + "; the device is assumed",
    ),
    "dram.refresh_w": Provenance(
        "assumed",
        "4.7 mW per x16 channel x 4, all-bank refresh on average: "
        + _MICRON
        + "; the device is assumed",
    ),
    "dram.idle_policy": Provenance(
        "assumed",
        "power-down between transfers: what a memory controller does when idle; what "
        "E-PUR's LPDDR4 did is not published",
    ),
    "dram.refresh_ns": Provenance(
        "published", "tRFCab 448 clocks of 0.625 ns, Micron LPDDR4 IDD (DRAMPower)"
    ),
    "dram.refresh_interval_ns": Provenance(
        "published", "tREFI 6246 clocks of 0.625 ns (below 85 C), Micron LPDDR4 IDD (DRAMPower)"
    ),
    "technology.node_nm": Provenance("assumed", "28 nm: the paper synthesised at 28/32 nm"),
    "technology.sram_cell": Provenance(
        "assumed",
        "ITRS low-standby-power cells: HP leakage would swamp a mobile budget (CACTI 7, measured)",
    ),
    "technology.sram_periphery": Provenance("assumed", "LSTP periphery, as the cells"),
    "technology.temperature_k": Provenance("assumed", "360 K, CACTI's template default"),
    "logic.add_int8_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.add_int8_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.add_int16_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.add_int16_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.add_int32_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.add_int32_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.mul_int8_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.mul_int8_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.mul_int16_pj": Provenance(
        "assumed", "no published figure (Horowitz, ISSCC 2014): ~1 pJ is often assumed"
    ),
    "logic.mul_int16_um2": Provenance(
        "assumed", "geometric mean of the int8 and int32 multipliers"
    ),
    "logic.mul_int32_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.mul_int32_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.add_fp16_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.add_fp16_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.mul_fp16_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.mul_fp16_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.add_fp32_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.add_fp32_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.mul_fp32_pj": Provenance("published", "Horowitz, ISSCC 2014, 45 nm"),
    "logic.mul_fp32_um2": Provenance(
        "assumed",
        "Han & Dally's table of Horowitz's units, 45 nm [recalled, not verified]",
    ),
    "logic.overhead_factor": Provenance(
        "assumed",
        "1.0: no control, interconnect or clock-tree energy beyond the operators; 1.2 to 2 "
        "is plausible (not published for E-PUR)",
    ),
    "formats.storage": Provenance("assumed", "16-bit floating point weights and activations"),
    "formats.accumulator": Provenance("assumed", "fp32 accumulation in the DPU"),
    "formats.partial_sums": Provenance("assumed", "MWL partial sums kept in fp32"),
    "options.constants_in_mfu": Provenance(
        "assumed", "off: biases and peepholes are weight-buffer words, as modelled (docs/model.md)"
    ),
    "options.double_buffered_weights": Provenance(
        "assumed", "off: fills share the weight buffer's single port (docs/model.md)"
    ),
    "options.prefetch_next_layer": Provenance(
        "assumed", "off: each phase fetches its first weights cold (docs/model.md)"
    ),
    "options.input_steps_per_weight_read": Provenance(
        "assumed", "1: one weight-buffer read per chunk and step (docs/model.md)"
    ),
}


def paper_preset() -> ArchConfig:
    """The E-PUR configuration as we believe it was (see ``PROVENANCE``)."""
    return ArchConfig(
        name="paper",
        compute_units=4,
        clock_hz=500_000_000,
        dpu=DPUConfig(lanes=16),  # latency_cycles derived: 6 (see PROVENANCE)
        mfu=MFUConfig(latency_cycles=8, activation="exact"),
        weight_buffer=MemoryConfig(capacity_bytes=2 * MIB, port_bits=None, banks=16),
        input_buffer=MemoryConfig(capacity_bytes=8 * KIB, port_bits=None, banks=1),
        intermediate_memory=MemoryConfig(capacity_bytes=6 * MIB, port_bits=None, banks=16),
        formats=FormatsConfig(storage="fp16", accumulator="fp32", partial_sums="fp32"),
        dram=DRAMConfig(
            bandwidth_bytes_per_s=25_600_000_000, latency_ns=100.0, energy_per_bit_j=10e-12
        ),
        technology=TechnologyConfig(
            node_nm=28, sram_cell="itrs-lstp", sram_periphery="itrs-lstp", temperature_k=360
        ),
    )


PRESETS = {"paper": paper_preset}
