"""Energy and area: SRAMs through CACTI 7 (more to come: logic, DRAM, the model)."""

from epur.energy.cacti import (
    CactiInstall,
    SramResult,
    SramSpec,
    cacti_config,
    find_cacti,
    run_cacti,
)

__all__ = ["CactiInstall", "SramResult", "SramSpec", "cacti_config", "find_cacti", "run_cacti"]
