"""One design point: what ``evaluate`` evaluates and a sweep varies.

A ``Design`` is an E-PUR architecture (``ArchConfig``: DPU, MFU, memories, DRAM,
formats, technology and SRAM corner, design options) with the dataflow, MWL's tile size,
where the SRAM figures come from and whether SRAMs are banked for the clock. It is
frozen, validated, hashable and serialisable: ``canonical_json`` (sorted keys, derived
fields that follow their source left out) is its identity in a results store, and
``identity`` a short digest of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.schedule import Dataflow

__all__ = ["Design", "SramSource"]


class SramSource(StrEnum):
    """Where SRAM cycle times, energies and areas come from (``epur.energy.BACKENDS``):
    CACTI if installed else the recorded table (``auto``), CACTI, the recorded table,
    or no SRAM model (timing only: every access one cycle, no energy, no area)."""

    AUTO = "auto"
    CACTI = "cacti"
    TABLE = "table"
    NONE = "none"


class Design(BaseModel):
    """One design point (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    arch: ArchConfig
    dataflow: Dataflow = Dataflow.MWL
    tile_rows: int | None = Field(None, ge=1, le=2**24, description="MWL's tile rows")
    sram: SramSource = SramSource.AUTO
    bank_for_clock: bool = True

    @model_validator(mode="after")
    def _tiles_are_mwl(self) -> Design:
        if self.tile_rows is not None and self.dataflow is not Dataflow.MWL:
            raise ValueError("tile_rows is MWL's tile size: give it with dataflow mwl only")
        return self

    @classmethod
    def paper(cls, settings: Iterable[str] = (), **fields: Any) -> Design:
        """The paper preset with ``settings`` (``--set`` assignments, ``KEY=VALUE``)
        applied, and the other fields given by keyword."""
        return cls(arch=apply_overrides(paper_preset(), list(settings)), **fields)

    def with_settings(self, settings: Iterable[str]) -> Design:
        """This design with ``--set`` assignments applied to its architecture."""
        return self.model_copy(update={"arch": apply_overrides(self.arch, list(settings))})

    def canonical_json(self) -> str:
        """The design as JSON with sorted keys: equal designs give equal text."""
        tree = {
            "arch": self.arch.settings(),
            "dataflow": self.dataflow.value,
            "tile_rows": self.tile_rows,
            "sram": self.sram.value,
            "bank_for_clock": self.bank_for_clock,
        }
        return json.dumps(tree, sort_keys=True, separators=(",", ":"))

    @property
    def identity(self) -> str:
        """A digest of ``canonical_json``: the design's key in a results store."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:20]

    @classmethod
    def from_json(cls, text: str) -> Design:
        """The design ``canonical_json`` wrote."""
        tree = json.loads(text)
        return cls(arch=ArchConfig.model_validate(tree.pop("arch")), **tree)
