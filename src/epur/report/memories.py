"""What CACTI says of each design's SRAMs: energy per access, leakage, cycle time, area.

One row per distinct memory: designs whose memory is the same SRAM (same capacity,
port, banks and technology) share a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from epur.arch import Memory
from epur.evaluation import Evaluation
from epur.report._format import sig

__all__ = ["MEMORY_HEADERS", "SramFigures", "memory_figures"]


@dataclass(frozen=True, slots=True)
class SramFigures:
    """CACTI's figures for one SRAM instance (SI units) and the designs that use it."""

    designs: tuple[str, ...]
    memory: Memory
    instances: int
    capacity_bytes: int
    port_bits: int
    banks: int
    cell: str
    node_nm: int
    read_energy_j: float
    write_energy_j: float
    leakage_w: float  # subthreshold + gate, per instance
    cycle_time_s: float
    cycles_per_access: int  # at the design's clock
    area_mm2: float  # per instance
    backend: str

    def json(self) -> dict[str, Any]:
        return {
            "designs": list(self.designs),
            "memory": self.memory.value,
            "instances": self.instances,
            "capacity_bytes": self.capacity_bytes,
            "port_bits": self.port_bits,
            "banks": self.banks,
            "cell_type": self.cell,
            "node_nm": self.node_nm,
            "read_energy_j": self.read_energy_j,
            "write_energy_j": self.write_energy_j,
            "leakage_w": self.leakage_w,
            "cycle_time_s": self.cycle_time_s,
            "cycles_per_access": self.cycles_per_access,
            "area_mm2": self.area_mm2,
            "backend": self.backend,
        }

    def cells(self) -> list[str]:
        return [
            ", ".join(self.designs),
            self.memory.value,
            str(self.instances),
            f"{self.capacity_bytes:,}",
            str(self.port_bits),
            str(self.banks),
            sig(self.read_energy_j * 1e12, 4),
            sig(self.write_energy_j * 1e12, 4),
            sig(self.leakage_w * 1e3, 3),
            sig(self.cycle_time_s * 1e9, 3),
            str(self.cycles_per_access),
            sig(self.area_mm2, 3),
        ]


MEMORY_HEADERS = ["designs", "memory", "instances", "capacity B", "port bits", "banks",
                  "read pJ/access", "write pJ/access", "leakage mW", "cycle ns",
                  "cycles per access", "area mm² each"]  # fmt: skip


def memory_figures(designs: Mapping[str, Evaluation]) -> tuple[SramFigures, ...]:
    """Every SRAM of the ``designs`` (name -> an evaluation of that design), by memory
    then design; an SRAM several designs share appears once."""
    rows: dict[tuple[Memory, object, int], SramFigures] = {}
    for design, ev in designs.items():
        table = ev.srams
        if table is None:
            continue
        for m in table:
            key = (m.memory, m.spec, ev.arch.clock_hz)
            if key in rows:
                rows[key] = replace(rows[key], designs=(*rows[key].designs, design))
                continue
            r = m.result
            rows[key] = SramFigures(
                designs=(design,),
                memory=m.memory,
                instances=m.instances,
                capacity_bytes=m.spec.capacity_bytes,
                port_bits=m.spec.port_bits,
                banks=m.spec.banks,
                cell=m.spec.cell_type,
                node_nm=m.spec.node_nm,
                read_energy_j=r.read_energy_j,
                write_energy_j=r.write_energy_j,
                leakage_w=r.leakage_w + r.gate_leakage_w,
                cycle_time_s=r.cycle_time_s,
                cycles_per_access=m.cycles_per_access,
                area_mm2=r.area_mm2,
                backend=table.backend,
            )
    order = list(Memory)
    return tuple(sorted(rows.values(), key=lambda s: order.index(s.memory)))
