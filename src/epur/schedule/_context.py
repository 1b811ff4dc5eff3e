"""What a dataflow needs to schedule one layer of a layer-by-layer stack."""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig
from epur.schedule._parts import LayerIO
from epur.schedule.ir import SeqArray
from epur.workload.network import Layer

__all__ = ["LayerContext"]


@dataclass(frozen=True, slots=True)
class LayerContext:
    arch: ArchConfig
    index: int
    name: str
    layer: Layer
    steps: int
    batch: int
    ios: tuple[LayerIO, ...]  # one per direction
    psums: tuple[SeqArray, ...]  # MWL partial sums, one per direction (empty otherwise)
    tile_rows: int | None  # MWL tile size requested by the user (rows of W per CU)
