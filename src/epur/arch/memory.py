"""The on-chip memories of E-PUR, as a closed set (``Memory``): the weight and input
buffers of each compute unit and the shared intermediate memory.

Every part that names a memory (the SRAM characterisation, timing, energy, reports)
names it by this enum; its value is the ``ArchConfig`` field and the key the JSON
outputs use.
"""

from __future__ import annotations

from enum import StrEnum

from epur.arch.config import ArchConfig, MemoryConfig

__all__ = ["Memory"]


class Memory(StrEnum):
    """One on-chip memory; its value is its ``ArchConfig`` field (``weight_buffer``)."""

    WEIGHT_BUFFER = "weight_buffer"
    INPUT_BUFFER = "input_buffer"
    INTERMEDIATE_MEMORY = "intermediate_memory"

    @property
    def per_compute_unit(self) -> bool:
        """Whether each compute unit has its own (the weight and input buffers)."""
        return self is not Memory.INTERMEDIATE_MEMORY

    def instances(self, arch: ArchConfig) -> int:
        """How many of this memory ``arch`` has: one per compute unit, or one."""
        return arch.compute_units if self.per_compute_unit else 1

    def config(self, arch: ArchConfig) -> MemoryConfig:
        """This memory's configuration in ``arch``."""
        memory: MemoryConfig = getattr(arch, self.value)
        return memory

    def with_banks(self, arch: ArchConfig, banks: int) -> ArchConfig:
        """``arch`` with this memory in ``banks`` banks (``arch`` itself if it has them)."""
        current = self.config(arch)
        if current.banks == banks:
            return arch
        return arch.model_copy(update={self.value: current.model_copy(update={"banks": banks})})
