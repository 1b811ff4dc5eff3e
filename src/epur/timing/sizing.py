"""Buffer sizing: the capacities at which a dataflow re-fetches and spills nothing.

That is how E-PUR's buffers were sized: the baseline needs each CU's weight buffer
to hold a layer's W and U rows of its gate, MWL only U (its input phase streams W
once per sequence in tiles of any size, down to one row). The capacities come
from the schedule itself, built on unbounded memories, so they agree with the
simulator by construction; the tests simulate at the sized capacities (nothing
re-fetched or spilled) and one byte below (something is).
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig, Memory
from epur.schedule import Dataflow, Order, Schedule, build_schedule
from epur.timing.model import simulate
from epur.units import ceil_div
from epur.workload.network import Network

__all__ = ["BufferSizes", "required_sizes", "weight_buffer_design"]

_UNBOUNDED = 1 << 50


@dataclass(frozen=True, slots=True)
class BufferSizes:
    """Smallest capacities (bytes; weight and input buffers per CU) with nothing re-fetched."""

    network: str
    dataflow: Dataflow
    weight_buffer_bytes: int
    input_buffer_bytes: int
    intermediate_memory_bytes: int


def _weight_need(schedule: Schedule, bits: int) -> int:
    need = 0
    for phase in schedule.phases:
        if phase.order == Order.STEP_MAJOR:  # works coexist and are re-used every step
            columns = zip(*(w.weights.footprint for w in phase.works), strict=True)
            need = max(need, *(sum(col) for col in columns))
        else:  # tiles are fetched once each: one row of the widest group suffices
            for work in phase.works:
                for g in work.groups:
                    rows = [g.length + k for r, k in zip(g.rows, g.consts, strict=True) if r]
                    need = max(need, ceil_div(max(rows, default=0) * bits, 8))
    return need


def required_sizes(network: Network, arch: ArchConfig, dataflow: Dataflow | str) -> BufferSizes:
    """The buffer capacities at which ``network`` runs on ``arch`` without re-fetch or spill."""
    unbounded = arch.model_copy(
        update={
            m.value: m.config(arch).model_copy(update={"capacity_bytes": _UNBOUNDED})
            for m in Memory
        }
    )
    schedule = build_schedule(network, unbounded, dataflow)
    peaks = simulate(schedule, unbounded).peaks
    return BufferSizes(
        network=network.name,
        dataflow=schedule.dataflow,
        weight_buffer_bytes=_weight_need(schedule, arch.storage_bits),
        input_buffer_bytes=peaks.input_buffer_bytes,
        intermediate_memory_bytes=peaks.intermediate_memory_bytes,
    )


def weight_buffer_design(
    arch: ArchConfig, networks: list[Network], dataflow: Dataflow | str
) -> ArchConfig:
    """``arch`` with weight buffers just large enough for every network of ``networks``
    under ``dataflow`` (the baseline: each layer's W and U rows per gate; MWL: U)."""
    need = max(required_sizes(n, arch, dataflow).weight_buffer_bytes for n in networks)
    return arch.model_copy(
        update={
            "name": f"{arch.name}-{Dataflow(dataflow)}-sized",
            Memory.WEIGHT_BUFFER.value: arch.weight_buffer.model_copy(
                update={"capacity_bytes": need}
            ),
        }
    )
