"""Energy and area from event counts only (event counts x energy per event, as Accelergy).

``energy = sum(count x energy per event) + leakage power x time + DRAM background``.
Events are the timing model's ``Counts``; energies per event come from
``EnergyTable``: the SRAM characterisation (``epur.energy.sram``: CACTI, per access of
the port width), ``logic.py`` for
arithmetic, the architecture's LPDDR4 energy per bit for main memory. Leakage is the
SRAMs' (four weight and input buffers, one intermediate memory); logic leakage is not
modelled. ``logic.overhead_factor`` multiplies the logic energy (DPUs and MFUs) for
control, interconnect and clock tree.

DRAM background: the LPDDR4 draws power whatever it moves (``ArchConfig.dram``; figures
from Micron LPDDR4 IDD (DRAMPower), docs/sources.md). Over a run of ``time_s`` it
transfers for ``dram_bytes / effective bandwidth`` (at most ``time_s``) at
``dram.transfer_w`` (active standby + refresh) and idles the rest at ``dram.idle_w``
(the ``idle_policy`` state, + refresh unless in self-refresh): component
``dram_background``.

Arithmetic: a MAC's multiply is in the storage format; the adder tree and the
accumulator add in the accumulator format (int32 for int8 storage); MFU operations
in the accumulator format. Logic area: per CU ``L`` multipliers, ``L - 1`` tree adders
and one accumulator; per CU an MFU of 6 multipliers and 4 adders in the accumulator
format plus 5 activation units (a multiply and an add each) [assumed: enough for one
neuron per cycle].
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig, Memory
from epur.energy.backend import SramBackend
from epur.energy.banking import cycles_per_access
from epur.energy.logic import op_area_m2, op_energy_j
from epur.energy.logic_area import LogicArea
from epur.energy.sram import SramEntry, SramTable, characterise_srams
from epur.numerics import FormatKind, NumberFormat, parse_format
from epur.timing.result import AccessCycles, Counts

__all__ = [
    "EnergyResult",
    "EnergyTable",
    "MemoryTiming",
    "access_cycles",
    "cycles_per_access",
    "dram_background_j",
    "energy",
    "energy_table",
    "memory_timing",
]


@dataclass(frozen=True, slots=True)
class EnergyTable:
    """Energy per event (J), leakage (W) and area (mm^2) of one architecture; the SRAMs'
    figures are its SRAM characterisation's (``srams``)."""

    backend: str
    mul_j: float  # one DPU multiply
    dpu_add_j: float  # one adder-tree or accumulator add
    mfu_mul_j: float
    mfu_add_j: float
    dram_bit_j: float
    srams: SramTable
    area_mm2: dict[str, float]  # by component: each memory (all instances), dpu, mfu
    logic_overhead: float  # x every logic energy (arch.logic.overhead_factor)
    dram_transfer_w: float  # DRAM background while transferring (active standby + refresh)
    dram_idle_w: float  # DRAM background while idle (the idle policy's state)
    dram_bytes_per_s: float  # effective DRAM bandwidth (refresh's share taken)

    @property
    def memories(self) -> tuple[SramEntry, ...]:
        """The SRAMs, in ``Memory`` order."""
        return self.srams.entries

    @property
    def chip_area_mm2(self) -> float:
        """The chip's area: every component's (``area_mm2``) summed."""
        return sum(self.area_mm2.values())

    @property
    def leakage_w(self) -> float:
        return self.srams.leakage_w


def _dpu_add_format(arch: ArchConfig) -> NumberFormat:
    if arch.formats.storage_format.kind == FormatKind.INT:
        return parse_format("q32.0")  # int8 codes sum in an int32 accumulator
    return arch.formats.accumulator_format


def energy_table(
    arch: ArchConfig, srams: SramTable | SramBackend, logic_area: LogicArea | None = None
) -> EnergyTable:
    """The energy, leakage and area figures of ``arch`` with its SRAMs as characterised
    (``srams``; given a backend, characterised here as they are, without banking).

    ``logic_area`` (per computation unit, e.g. the RTL's synthesised area) replaces the
    per-operation tables' DPU and MFU areas, times ``arch.compute_units``; the energies
    are the same either way."""
    if not isinstance(srams, SramTable):
        srams = characterise_srams(arch, srams, bank_for_clock=False)
    if srams.arch != arch:
        raise ValueError("the SRAM table is of another architecture")
    node = arch.technology.node_nm
    storage, acc, dpu_add = (
        arch.formats.storage_format,
        arch.formats.accumulator_format,
        _dpu_add_format(arch),
    )
    lanes = arch.dpu.lanes
    cus = arch.compute_units
    dpu_m2 = cus * (
        lanes * op_area_m2("mul", storage, arch.logic, node)
        + lanes * op_area_m2("add", dpu_add, arch.logic, node)
    )
    mfu_m2 = cus * (
        11 * op_area_m2("mul", acc, arch.logic, node) + 9 * op_area_m2("add", acc, arch.logic, node)
    )
    area = {m.value: a for m, a in srams.area_mm2().items()}
    if logic_area is None:
        area.update(dpu=dpu_m2 * 1e6, mfu=mfu_m2 * 1e6)
    else:
        area.update(dpu=cus * logic_area.dpu_mm2, mfu=cus * logic_area.mfu_mm2)
    return EnergyTable(
        backend=srams.backend,
        mul_j=op_energy_j("mul", storage, arch.logic, node),
        dpu_add_j=op_energy_j("add", dpu_add, arch.logic, node),
        mfu_mul_j=op_energy_j("mul", acc, arch.logic, node),
        mfu_add_j=op_energy_j("add", acc, arch.logic, node),
        dram_bit_j=arch.dram.energy_per_bit_j,
        srams=srams,
        area_mm2=area,
        logic_overhead=arch.logic.overhead_factor,
        dram_transfer_w=arch.dram.transfer_w,
        dram_idle_w=arch.dram.idle_w,
        dram_bytes_per_s=float(arch.dram.effective_bandwidth_bytes_per_s),
    )


@dataclass(frozen=True, slots=True)
class EnergyResult:
    """Energy by component (J): dynamic per component, SRAM leakage and DRAM background
    over the run time."""

    dynamic_j: dict[str, float]
    leakage_j: float
    time_s: float
    dram_background_j: float = 0.0

    @property
    def total_j(self) -> float:
        return sum(self.dynamic_j.values()) + self.leakage_j + self.dram_background_j

    @property
    def power_w(self) -> float:
        return self.total_j / self.time_s if self.time_s else 0.0

    def breakdown_j(self) -> dict[str, float]:
        return {
            **self.dynamic_j,
            "leakage": self.leakage_j,
            "dram_background": self.dram_background_j,
        }


def energy(counts: Counts, time_s: float, table: EnergyTable) -> EnergyResult:
    """The energy of ``counts`` over ``time_s`` seconds."""
    m = counts.mfu
    logic = table.logic_overhead
    dynamic = {
        "dpu_multipliers": counts.macs * table.mul_j * logic,
        "dpu_adder_trees": counts.adder_tree_adds * table.dpu_add_j * logic,
        "dpu_accumulators": counts.accumulator_adds * table.dpu_add_j * logic,
        "mfu": (
            (m.mul + m.sigmoid + m.tanh) * table.mfu_mul_j
            + (m.add + m.sigmoid + m.tanh + m.relu) * table.mfu_add_j
        )
        * logic,
        **{
            s.name: counts.reads(s.memory) * s.read_energy_j
            + counts.writes(s.memory) * s.write_energy_j
            for s in table.srams
        },
        "dram": counts.dram_bytes * 8 * table.dram_bit_j,
    }
    return EnergyResult(
        dynamic, table.leakage_w * time_s, time_s, dram_background_j(counts, time_s, table)
    )


def dram_background_j(counts: Counts, time_s: float, table: EnergyTable) -> float:
    """DRAM background and refresh energy over ``time_s``: transfer power while moving
    ``counts.dram_bytes`` at the effective bandwidth, idle power the rest of the time."""
    transfer_s = min(time_s, counts.dram_bytes / table.dram_bytes_per_s)
    return transfer_s * table.dram_transfer_w + (time_s - transfer_s) * table.dram_idle_w


@dataclass(frozen=True, slots=True)
class MemoryTiming:
    """Whether a memory keeps up with the clock, and how busy its port is."""

    memory: Memory
    cycles_per_access: int  # ceil(CACTI cycle time x clock), charged by the timing model
    accesses_per_cycle: float  # per instance, averaged over the run
    note: str | None

    @property
    def name(self) -> str:
        return self.memory.value

    @property
    def fits_clock(self) -> bool:
        return self.cycles_per_access <= 1


def access_cycles(table: EnergyTable, clock_hz: int) -> AccessCycles:
    """The cycles one access holds each SRAM's port at ``clock_hz``, from its cycle time
    (at the characterised clock: ``table.srams.access_cycles()``)."""
    return AccessCycles.from_memories(
        {m.memory: cycles_per_access(m.cycle_time_s, clock_hz) for m in table.srams}
    )


def memory_timing(counts: Counts, table: EnergyTable, clock_hz: int) -> list[MemoryTiming]:
    """Each SRAM's cycle time against the clock and its average access rate. The timing
    model charges slow memories (``access_cycles``) and port conflicts as port stalls."""
    out = []
    for m in table.srams:
        cpa = cycles_per_access(m.cycle_time_s, clock_hz)
        rate = counts.accesses(m.memory) / m.instances / counts.cycles if counts.cycles else 0.0
        note = None
        if cpa > 1:
            note = (
                f"{m.name}: cycle time {m.result.cycle_time_s * 1e9:.2f} ns exceeds the "
                f"{1e9 / clock_hz:.2f} ns clock: each access holds its port {cpa} cycles "
                f"(charged); accessed {rate:.3f} times per cycle on average"
            )
        out.append(MemoryTiming(m.memory, cpa, rate, note))
    return out
