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
from epur.arch.diff import ArchChange, arch_changes
from epur.arch.memory import Memory
from epur.arch.overrides import apply_overrides, load_arch
from epur.arch.presets import PROVENANCE, Provenance, paper_preset

__all__ = [
    "PROVENANCE",
    "ArchChange",
    "ArchConfig",
    "DPUConfig",
    "DRAMConfig",
    "FormatsConfig",
    "LogicConfig",
    "MFUConfig",
    "Memory",
    "MemoryConfig",
    "Provenance",
    "TechnologyConfig",
    "apply_overrides",
    "arch_changes",
    "load_arch",
    "paper_preset",
]
