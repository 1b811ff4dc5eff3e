"""Schedules: the one representation of the order of work (baseline and MWL)."""

from epur.schedule.build import build_schedule
from epur.schedule.ir import (
    Access,
    ArrayKind,
    Dataflow,
    Direction,
    DotGroup,
    LayerInfo,
    MfuOps,
    Order,
    Phase,
    PhaseKind,
    Schedule,
    SeqArray,
    Weights,
    Work,
    live_ranges,
)

__all__ = [
    "Access",
    "ArrayKind",
    "Dataflow",
    "Direction",
    "DotGroup",
    "LayerInfo",
    "MfuOps",
    "Order",
    "Phase",
    "PhaseKind",
    "Schedule",
    "SeqArray",
    "Weights",
    "Work",
    "build_schedule",
    "live_ranges",
]
