"""Banking a memory until it keeps up with the clock (the "or banks" remedy).

A memory whose SRAM cycle time exceeds the clock period either costs cycles (the
timing model charges ``AccessCycles``) or is split into more banks, which CACTI
models as smaller, faster subarrays behind one port. ``bank_for_clock`` takes the
second way for a memory a design is free to organise: it doubles the bank count
until the cycle time fits, and otherwise leaves the memory as it was, charged.
"""

from __future__ import annotations

from typing import Literal

from epur.arch import ArchConfig
from epur.energy.backend import SramBackend, memory_specs
from epur.energy.model import cycles_per_access

__all__ = ["MAX_BANKS", "bank_for_clock"]

MAX_BANKS = 256
MemoryName = Literal["weight_buffer", "input_buffer", "intermediate_memory"]


def bank_for_clock(
    arch: ArchConfig, memory: MemoryName, backend: SramBackend, max_banks: int = MAX_BANKS
) -> ArchConfig:
    """``arch`` with ``memory`` in the fewest banks (doubling from its own count, at most
    ``max_banks``) whose cycle time fits one clock period; ``arch`` itself if it already
    fits or if no bank count up to ``max_banks`` does."""
    banks = getattr(arch, memory).banks
    while banks <= max_banks:
        candidate = _with_banks(arch, memory, banks)
        cycle = backend.sram(memory_specs(candidate)[memory]).cycle_time_s
        if cycles_per_access(cycle, arch.clock_hz) == 1:
            return candidate
        banks *= 2
    return arch


def _with_banks(arch: ArchConfig, memory: MemoryName, banks: int) -> ArchConfig:
    current = getattr(arch, memory)
    if current.banks == banks:
        return arch
    return arch.model_copy(update={memory: current.model_copy(update={"banks": banks})})
