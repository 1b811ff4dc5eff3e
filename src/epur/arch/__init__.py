"""Architecture configuration: the typed config, the paper preset, overrides."""

from epur.arch.config import (
    ArchConfig,
    DPUConfig,
    DRAMConfig,
    FormatsConfig,
    LogicConfig,
    MemoryConfig,
    MFUConfig,
    TechnologyConfig,
)
from epur.arch.overrides import apply_overrides, load_arch
from epur.arch.presets import PROVENANCE, Provenance, paper_preset

__all__ = [
    "PROVENANCE",
    "ArchConfig",
    "DPUConfig",
    "DRAMConfig",
    "FormatsConfig",
    "LogicConfig",
    "MFUConfig",
    "MemoryConfig",
    "Provenance",
    "TechnologyConfig",
    "apply_overrides",
    "load_arch",
    "paper_preset",
]
