"""A logic area given from outside the published per-operation tables.

``energy_table(arch, srams, logic_area=LogicArea(...))`` takes the DPU's and the MFU's
area per computation unit from ``logic_area`` (times ``arch.compute_units``) instead of
``op_area_m2``'s per-operation figures; energies are unchanged. The energy package
does not synthesise anything: ``epur simulate --logic-area rtl`` gets the figures from
the RTL's synthesis (``epur.cli._rtl_area``) and passes them in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LogicArea"]


@dataclass(frozen=True, slots=True)
class LogicArea:
    """The DPU's and the MFU's area (mm^2) of one computation unit, and where they come
    from (``source``: e.g. ``rtl``, shown in reports)."""

    dpu_mm2: float
    mfu_mm2: float
    source: str

    def __post_init__(self) -> None:
        for name in ("dpu_mm2", "mfu_mm2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number of mm^2, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and zero or positive, not {value!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError("source must name where the area comes from")
