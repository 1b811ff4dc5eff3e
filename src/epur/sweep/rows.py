"""One evaluated point of a sweep, as the results store holds it and the reports read it.

A point is one network on one ``Design`` (``epur.evaluation``). Its row holds every input
(the network, the design's identity and canonical JSON, the value of each swept axis by
its dotted name) and every output (latency, energy, area, real-time factor, and the
functional model's error when the sweep asks for accuracy), with the epur version that
computed it. ``point_id`` (network and design identity) is the row's key: a resumed
sweep skips the points whose row is in the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Constraint", "Objective", "RowStatus", "SweepRow", "point_id"]


class RowStatus(StrEnum):
    """``ok``: evaluated; ``error``: the point could not be evaluated (``message`` says why:
    a design that does not hold the network, ...); ``infeasible``: it was evaluated and
    fails a constraint of the spec."""

    OK = "ok"
    ERROR = "error"
    INFEASIBLE = "infeasible"


class Objective(StrEnum):
    """What a Pareto front minimises (every one of them: lower is better)."""

    LATENCY = "latency_s"
    ENERGY = "energy_j"
    AREA = "area_mm2"
    ERROR = "accuracy_error"


def point_id(network: str, design_identity: str) -> str:
    """The key of one point: its network and its design."""
    return hashlib.sha256(f"{network}\0{design_identity}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class SweepRow:
    """One point's inputs and outputs (module docstring). Units: seconds, joules (per
    sequence, the batch included), square millimetres; ``real_time_factor`` is processing
    time over the input's duration (below 1: faster than real time; ``None`` where the
    network has no frame rate); ``accuracy_error`` is the largest absolute error of the
    output against the float64 reference (``None`` unless the spec asks for accuracy)."""

    point_id: str
    network: str
    design_id: str
    design_json: str
    axes: dict[str, Any]  # dotted axis name -> value, as the spec named them
    status: RowStatus
    message: str = ""
    latency_s: float | None = None
    energy_j: float | None = None
    area_mm2: float | None = None
    real_time_factor: float | None = None
    accuracy_error: float | None = None
    epur_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # further outputs, by name

    def objective(self, which: Objective) -> float | None:
        """The value of one objective (``None`` where not evaluated)."""
        value = getattr(self, which.value)
        return None if value is None else float(value)


@dataclass(frozen=True)
class Constraint:
    """A bound on one output of a row: ``output`` is a ``SweepRow`` field
    (``latency_s``, ``energy_j``, ``area_mm2``, ``real_time_factor``,
    ``accuracy_error``) or a key of its ``extra``; ``min`` and ``max`` are inclusive
    bounds (either may be ``None``). ``real_time_factor`` at most 1 is "real time"."""

    output: str
    min: float | None = None
    max: float | None = None

    def value(self, row: SweepRow) -> float | None:
        if self.output in row.extra:
            raw = row.extra[self.output]
        else:
            raw = getattr(row, self.output, None)
        return None if raw is None else float(raw)

    def holds(self, row: SweepRow) -> bool:
        """Whether the row's output is known and within the bounds."""
        v = self.value(row)
        if v is None:
            return False
        return (self.min is None or v >= self.min) and (self.max is None or v <= self.max)

    def __str__(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= {self.output} <= {self.max:g}"
        if self.max is not None:
            return f"{self.output} <= {self.max:g}"
        return f"{self.output} >= {self.min:g}"
