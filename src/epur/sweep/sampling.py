"""Axes of a sweep and how points are drawn from them: a grid, seeded random points or
a seeded Latin hypercube.

An axis is a list of values, or a numeric range ``{min, max, steps[, scale: log]}``.
A range with ``steps`` has that many levels (evenly spaced, or geometrically with
``scale: log``; integers when both bounds are integers); random and Latin-hypercube
sampling draw among the levels. Without ``steps`` (random and lhs only) a range is
continuous. Draws use numpy's PCG64 seeded with the spec's seed: the same spec gives
the same points on every machine.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from epur._validation import shown
from epur.errors import ConfigError

__all__ = [
    "MAX_POINTS",
    "SPECIAL_AXES",
    "Axis",
    "Range",
    "SamplingMethod",
    "Scale",
    "parse_axis",
    "sample",
    "sample_count",
]

MAX_POINTS = 10_000_000
SPECIAL_AXES = ("dataflow", "format", "activation", "tile_rows", "bank_for_clock")
DESIGN_AXES = ("dataflow", "tile_rows", "bank_for_clock")  # Design fields, not arch keys
_MAX_LEVELS = 100_000

Value = str | int | float | bool | None


class SamplingMethod(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    LHS = "lhs"


class Scale(StrEnum):
    LINEAR = "linear"
    LOG = "log"


@dataclass(frozen=True)
class Range:
    """A numeric range: ``steps`` levels, or continuous (``steps`` None)."""

    min: float
    max: float
    steps: int | None
    scale: Scale
    integer: bool

    def levels(self) -> tuple[float | int, ...]:
        n = self.steps or 2  # a continuous range's bounds, to validate
        if n == 1:
            return (self._cast(self.min),)
        if self.scale is Scale.LOG:
            lo, hi = math.log(self.min), math.log(self.max)
            raw = [math.exp(lo + (hi - lo) * k / (n - 1)) for k in range(n)]
        else:
            raw = [self.min + (self.max - self.min) * k / (n - 1) for k in range(n)]
        raw[0], raw[-1] = self.min, self.max  # exactly, whatever the rounding
        return tuple(dict.fromkeys(self._cast(v) for v in raw))

    def at(self, u: float) -> float | int:
        """The continuous range's value at ``u`` in [0, 1)."""
        if self.scale is Scale.LOG:
            lo, hi = math.log(self.min), math.log(self.max)
            return self._cast(min(self.max, math.exp(lo + (hi - lo) * u)))
        return self._cast(min(self.max, self.min + (self.max - self.min) * u))

    def _cast(self, v: float) -> float | int:
        return round(v) if self.integer else float(v)


@dataclass(frozen=True)
class Axis:
    """One swept field: ``values`` (a list) or ``range``."""

    name: str
    values: tuple[Value, ...] = ()
    range: Range | None = None

    @property
    def discrete(self) -> bool:
        return self.range is None or self.range.steps is not None

    def levels(self) -> tuple[Value, ...]:
        return self.values if self.range is None else self.range.levels()

    def settings(self, value: Value) -> list[str]:
        """The ``--set`` assignments of one value (none for dataflow, tile_rows and
        bank_for_clock, which are fields of the ``Design``)."""
        if self.name in DESIGN_AXES:
            return []
        if self.name == "format":
            from epur.api import format_settings

            return format_settings(str(value))
        if self.name == "activation":
            return [f"mfu.activation={value}"]
        text = value if isinstance(value, str) else json.dumps(value)
        return [f"{self.name}={text}"]

    def to_json(self) -> Any:
        if self.range is None:
            return list(self.values)
        r = self.range
        return {"min": r.min, "max": r.max, "steps": r.steps, "scale": r.scale.value}


def _fail(field: str, problem: str) -> ConfigError:
    return ConfigError(f"{field}: {problem}")


def _is_number(v: object) -> bool:
    return type(v) in (int, float) and math.isfinite(v)  # type: ignore[arg-type]


def parse_axis(name: str, data: object, field: str) -> Axis:
    """One axis of the spec, its values checked for their kind (their range is checked
    against the architecture by the spec)."""
    if isinstance(data, Mapping):
        axis = Axis(name, range=_range(data, field, name))
    elif isinstance(data, list):
        if not data:
            raise _fail(field, "empty axis: give at least one value")
        for v in data:
            if not isinstance(v, str | int | float | bool) and v is not None:
                raise _fail(field, f"values must be numbers, strings or booleans, not {shown(v)}")
        keys = [json.dumps(v) for v in data]
        for k, key in enumerate(keys):
            if key in keys[:k]:
                raise _fail(field, f"value {shown(data[k])} is given twice")
        axis = Axis(name, values=tuple(data))
    else:
        raise _fail(field, f"must be a list of values or {{min, max, steps}}, not {shown(data)}")
    for value in axis.levels():
        _check_special(name, value, field)
    return axis


def _check_special(name: str, value: Value, field: str) -> None:
    from epur.schedule import Dataflow

    if name == "dataflow":
        if value not in [d.value for d in Dataflow]:
            choices = ", ".join(d.value for d in Dataflow)
            raise _fail(field, f"must be one of {choices}, not {shown(value)}")
    elif name in ("format", "activation"):
        if not isinstance(value, str):
            raise _fail(field, f"values must be strings, not {shown(value)}")
    elif name == "tile_rows":
        if type(value) is not int or not 1 <= value <= 2**24:
            raise _fail(field, f"must be an integer from 1 to 16,777,216, not {shown(value)}")
    elif name == "bank_for_clock" and type(value) is not bool:
        raise _fail(field, f"must be true or false, not {shown(value)}")


def _range(data: Mapping[str, Any], field: str, name: str) -> Range:
    for key in data:
        if key not in ("min", "max", "steps", "scale"):
            raise _fail(f"{field}.{key}", "unknown field (a range has min, max, steps, scale)")
    if name in ("dataflow", "format", "activation", "bank_for_clock"):
        raise _fail(field, "is not numeric: give a list of values")
    for key in ("min", "max"):
        if key not in data:
            raise _fail(f"{field}.{key}", "required in a range")
        if not _is_number(data[key]):
            raise _fail(f"{field}.{key}", f"must be a finite number, not {shown(data[key])}")
    low, high = data["min"], data["max"]
    if low > high:
        raise _fail(field, f"min {low!r} is above max {high!r}")
    steps = data.get("steps")
    if steps is not None and (type(steps) is not int or not 1 <= steps <= _MAX_LEVELS):
        raise _fail(
            f"{field}.steps", f"must be an integer from 1 to {_MAX_LEVELS:,}, not {shown(steps)}"
        )
    if steps == 1 and low != high:
        raise _fail(f"{field}.steps", "1 step needs min == max (or give a list)")
    try:
        scale = Scale(data.get("scale", "linear"))
    except ValueError:
        raise _fail(
            f"{field}.scale", f"must be linear or log, not {shown(data['scale'])}"
        ) from None
    if scale is Scale.LOG and low <= 0:
        raise _fail(f"{field}.min", f"a log scale needs min > 0, not {low!r}")
    integer = type(low) is int and type(high) is int
    return Range(
        float(low) if not integer else low,
        float(high) if not integer else high,
        steps,
        scale,
        integer,
    )


def sample_count(axes: tuple[Axis, ...], method: SamplingMethod, points: int | None) -> int:
    """How many axis points ``sample`` draws."""
    if method is SamplingMethod.GRID:
        for axis in axes:
            if not axis.discrete:
                raise _fail(f"axes.{axis.name}.steps", "required with grid sampling")
        return math.prod(len(a.levels()) for a in axes)
    return points or 0


def sample(
    axes: tuple[Axis, ...], method: SamplingMethod, points: int | None, seed: int
) -> list[dict[str, Value]]:
    """The axis points, each a mapping from axis name to value, in the spec's axis order."""
    names = [a.name for a in axes]
    if method is SamplingMethod.GRID:
        grids = [a.levels() for a in axes]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]
    n = points or 0
    rng = np.random.Generator(np.random.PCG64(seed))
    columns: list[list[Value]] = []
    for axis in axes:
        if method is SamplingMethod.LHS:
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        columns.append([_pick(axis, float(x)) for x in u])
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _pick(axis: Axis, u: float) -> Value:
    """The axis value at ``u`` in [0, 1): a level (each an equal share) or a number."""
    if axis.range is not None and axis.range.steps is None:
        return axis.range.at(u)
    levels = axis.levels()
    return levels[min(len(levels) - 1, int(u * len(levels)))]
