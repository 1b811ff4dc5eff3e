"""Energy and area: the SRAM characterisation (CACTI 7, banked for the clock), logic from
published tables, the model."""

from epur.energy.backend import (
    BACKENDS,
    NO_BACKEND_NOTE,
    SramBackend,
    memory_specs,
    sram_backend,
)
from epur.energy.banking import Banking, bank_for_clock, bank_memory, cycles_per_access
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
    MemoryTiming,
    access_cycles,
    energy,
    energy_table,
    memory_timing,
)
from epur.energy.sram import SramEntry, SramTable, characterise_srams

__all__ = [
    "BACKENDS",
    "NO_BACKEND_NOTE",
    "Banking",
    "CactiInstall",
    "CactiRejectedError",
    "EnergyResult",
    "EnergyTable",
    "MemoryTiming",
    "SramBackend",
    "SramEntry",
    "SramResult",
    "SramSpec",
    "SramTable",
    "access_cycles",
    "bank_for_clock",
    "bank_memory",
    "cacti_config",
    "characterise_srams",
    "cycles_per_access",
    "energy",
    "energy_table",
    "find_cacti",
    "memory_specs",
    "memory_timing",
    "run_cacti",
    "sram_backend",
]
