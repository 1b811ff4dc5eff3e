"""Banking memories until they keep up with the clock (the "or banks" remedy).

A memory whose SRAM cycle time exceeds the clock period either costs cycles (the
timing model charges ``AccessCycles``) or is split into more banks, which CACTI
models as smaller, faster subarrays behind one port. ``bank_memory`` takes the
second way: it doubles the memory's bank count until the cycle time fits one clock
period. It stops at the first count that fits, when CACTI cannot organise the
next count (the banks become too small), or at ``MAX_BANKS``; a memory that never
fits keeps the count with the fewest cycles per access (the fewest banks among
equals) and the timing model charges the rest as port stalls.

``bank_for_clock`` does that to every SRAM of a design: ``evaluate`` calls it, for
``epur simulate`` and ``epur reproduce`` alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from epur.arch import ArchConfig, Memory
from epur.energy.backend import SramBackend, memory_specs
from epur.energy.cacti import CactiRejectedError

__all__ = [
    "MAX_BANKS",
    "MEMORIES",
    "Banking",
    "bank_for_clock",
    "bank_memory",
    "cycles_per_access",
]

MAX_BANKS = 4096  # a bound on the search [assumed]; CACTI refuses smaller banks first
MEMORIES: tuple[Memory, ...] = tuple(Memory)


def cycles_per_access(cycle_time_s: float, clock_hz: int) -> int:
    """Clock cycles an access of an SRAM with this random cycle time holds its port."""
    # The tolerance keeps a cycle time printed as exactly the period at one cycle.
    return max(1, math.ceil(cycle_time_s * clock_hz - 1e-9))


@dataclass(frozen=True, slots=True)
class Banking:
    """What banking for the clock did to one memory."""

    memory: Memory
    given_banks: int  # the design's own count
    banks: int  # the count chosen
    cycle_time_s: float  # CACTI's, at ``banks``
    cycles_per_access: int  # at ``banks`` and the design's clock
    stopped: str  # why no more banks were tried, when the memory does not fit

    @property
    def fits_clock(self) -> bool:
        return self.cycles_per_access == 1

    def note(self, clock_hz: int) -> str | None:
        """What the user should know: banks added, or a memory that cannot keep up."""
        period = f"{1e9 / clock_hz:.2f} ns clock"
        cycle = f"{self.cycle_time_s * 1e9:.2f} ns"
        if not self.fits_clock:
            return (
                f"{self.memory}: no bank count cycles within the {period} ({self.stopped}); "
                f"kept {self.banks} banks ({cycle}): each access holds its port "
                f"{self.cycles_per_access} cycles, charged as port stalls"
            )
        if self.banks != self.given_banks:
            return (
                f"{self.memory}: banked {self.given_banks} -> {self.banks} so that its cycle "
                f"time ({cycle}) fits the {period} (--no-bank-for-clock keeps "
                f"{self.given_banks})"
            )
        return None


def bank_memory(
    arch: ArchConfig, memory: Memory | str, backend: SramBackend, max_banks: int = MAX_BANKS
) -> tuple[ArchConfig, Banking]:
    """``arch`` with ``memory`` in the fewest banks (doubling from its own count, at most
    ``max_banks``, while CACTI can organise them) whose cycle time fits one clock period;
    if none fits, in the count with the fewest cycles per access. ``arch`` itself when
    the memory keeps its own count. Errors other than CACTI refusing a larger count
    (no CACTI, no recorded result, the design's own count refused) propagate."""
    memory = Memory(memory)
    given = memory.config(arch).banks
    banks, stopped = given, ""
    cycle = backend.sram(memory_specs(arch)[memory]).cycle_time_s
    best = (cycles_per_access(cycle, arch.clock_hz), given, cycle)
    while best[0] > 1:
        if banks * 2 > max_banks:
            stopped = f"{max_banks} banks is the most tried"
            break
        banks *= 2
        try:
            cycle = backend.sram(memory_specs(memory.with_banks(arch, banks))[memory]).cycle_time_s
        except CactiRejectedError:
            stopped = f"CACTI cannot organise it in {banks} banks"
            break
        cpa = cycles_per_access(cycle, arch.clock_hz)
        if cpa < best[0]:
            best = (cpa, banks, cycle)
    cpa, chosen, cycle = best
    return memory.with_banks(arch, chosen), Banking(memory, given, chosen, cycle, cpa, stopped)


def bank_for_clock(
    arch: ArchConfig, backend: SramBackend, max_banks: int = MAX_BANKS
) -> tuple[ArchConfig, tuple[Banking, ...]]:
    """``arch`` with every SRAM banked for the clock (``bank_memory``), and what was done."""
    done = []
    for memory in MEMORIES:
        arch, banking = bank_memory(arch, memory, backend, max_banks)
        done.append(banking)
    return arch, tuple(done)
