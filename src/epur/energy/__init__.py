"""Energy and area: SRAMs through CACTI 7, logic from published tables, the model."""

from epur.energy.backend import (
    BACKENDS,
    NO_BACKEND_NOTE,
    SramBackend,
    memory_specs,
    sram_backend,
)
from epur.energy.banking import Banking, bank_for_clock, bank_memory
from epur.energy.cacti import (
    CactiInstall,
    CactiRejectedError,
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
    "NO_BACKEND_NOTE",
    "Banking",
    "CactiInstall",
    "CactiRejectedError",
    "EnergyResult",
    "EnergyTable",
    "Memory",
    "MemoryTiming",
    "SramBackend",
    "SramResult",
    "SramSpec",
    "access_cycles",
    "bank_for_clock",
    "bank_memory",
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
