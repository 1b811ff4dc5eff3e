"""Energy and area: SRAMs through CACTI 7, logic from published tables, the model."""

from epur.energy.backend import BACKENDS, SramBackend, memory_specs, sram_backend
from epur.energy.banking import bank_for_clock
from epur.energy.cacti import (
    CactiInstall,
    SramResult,
    SramSpec,
    cacti_config,
    find_cacti,
    run_cacti,
)
from epur.energy.model import (
    EnergyResult,
    EnergyTable,
    Memory,
    MemoryTiming,
    access_cycles,
    cycles_per_access,
    energy,
    energy_table,
    memory_timing,
)

__all__ = [
    "BACKENDS",
    "CactiInstall",
    "EnergyResult",
    "EnergyTable",
    "Memory",
    "MemoryTiming",
    "SramBackend",
    "SramResult",
    "SramSpec",
    "access_cycles",
    "bank_for_clock",
    "cacti_config",
    "cycles_per_access",
    "energy",
    "energy_table",
    "find_cacti",
    "memory_specs",
    "memory_timing",
    "run_cacti",
    "sram_backend",
]
