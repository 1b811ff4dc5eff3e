"""The parts of a sweep spec that name outputs: constraints and objectives (with the
outputs a row has), and the small checks every part of the spec uses, each error naming
its field (``epur.sweep.spec``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from epur._validation import shown
from epur.errors import ConfigError
from epur.evaluation import SramSource
from epur.sweep.rows import Constraint, Objective

__all__ = ["EXTRA_OUTPUTS", "OUTPUTS", "RATE_OUTPUTS", "TEGRA_OUTPUTS", "tegra_outputs"]

OUTPUTS = ("latency_s", "energy_j", "area_mm2", "real_time_factor", "accuracy_error")
EXTRA_OUTPUTS = ("cycles", "power_w", "dram_bytes", "dpu_utilization")  # every ok row's extra
TEGRA_OUTPUTS = ("speedup_vs_tegra", "energy_reduction_vs_tegra", "tegra_real_time_factor")
RATE_OUTPUTS = ("real_time_factor", "tegra_real_time_factor")


def _fail(field: str, problem: str) -> ConfigError:
    return ConfigError(f"{field}: {problem}")


def _mapping(data: object, field: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(field, f"must be a mapping, not {shown(data)}")
    return data


def _known(data: Mapping[str, Any], keys: tuple[str, ...], field: str) -> None:
    for key in data:
        if key not in keys:
            where = f"{field}.{key}" if field else str(key)
            raise _fail(where, f"unknown field (the fields are {', '.join(keys)})")


def _integer(data: object, field: str, low: int, high: int) -> int:
    if type(data) is not int or not low <= data <= high:
        raise _fail(field, f"must be an integer from {low:,} to {high:,}, not {shown(data)}")
    return data


def _number(data: object, field: str) -> float:
    if type(data) not in (int, float) or not math.isfinite(data):  # type: ignore[arg-type]
        raise _fail(field, f"must be a finite number, not {shown(data)}")
    return float(data)  # type: ignore[arg-type]


def _constraints(
    data: object,
    sram: SramSource,
    accuracy: object | None,
    tegra: tuple[str, ...],
    networks: tuple[Any, ...],
) -> tuple[Constraint, ...]:
    tree = _mapping(data, "constraints")
    outputs = OUTPUTS + EXTRA_OUTPUTS + (tegra_outputs(tegra) if tegra else ())
    bounds: dict[str, tuple[float | None, float | None]] = {}
    for key, value in tree.items():
        field = f"constraints.{key}"
        if key == "real_time":
            if type(value) is not bool:
                raise _fail(field, f"must be true or false, not {shown(value)}")
            if value:
                bounds.setdefault("real_time_factor", (None, None))
                low, high = bounds["real_time_factor"]
                bounds["real_time_factor"] = (low, 1.0 if high is None else min(high, 1.0))
            continue
        if key not in outputs:
            raise _fail(field, f"unknown output (the outputs are real_time, {', '.join(outputs)})")
        bound = _mapping(value, field)
        _known(bound, ("min", "max"), field)
        if not bound:
            raise _fail(field, "give min, max or both")
        low = _number(bound["min"], f"{field}.min") if "min" in bound else None
        high = _number(bound["max"], f"{field}.max") if "max" in bound else None
        old_low, old_high = bounds.get(key, (None, None))
        low = low if old_low is None else old_low if low is None else max(low, old_low)
        high = high if old_high is None else old_high if high is None else min(high, old_high)
        bounds[key] = (low, high)
    out = []
    for key, (low, high) in bounds.items():
        field = "constraints.real_time" if key == "real_time_factor" else f"constraints.{key}"
        if low is not None and high is not None and low > high:
            raise _fail(field, f"contradictory: {key} >= {low:g} and {key} <= {high:g}")
        if high is not None and high < 0 and key in (*OUTPUTS, "cycles", "power_w", "dram_bytes"):
            raise _fail(
                field, f"contradictory: {key} is never negative, so <= {high:g} never holds"
            )
        if key in ("energy_j", "area_mm2", "power_w") and sram is SramSource.NONE:
            raise _fail(field, f"sram: none gives no {key}: the constraint could never hold")
        if key == "accuracy_error" and accuracy is None:
            raise _fail(field, "needs accuracy: add an accuracy section to compute it")
        if key.startswith(RATE_OUTPUTS) and all(
            n.load().sequence_duration_s is None for n in networks
        ):
            raise _fail(field, "no network of the sweep has a frame rate: real time is unknown")
        out.append(Constraint(key, low, high))
    return tuple(out)


def tegra_outputs(scenarios: tuple[str, ...]) -> tuple[str, ...]:
    """The extra outputs ``compare_tegra`` adds: each name against the first scenario,
    and ``name.scenario`` against every one."""
    return TEGRA_OUTPUTS + tuple(f"{n}.{s}" for s in scenarios for n in TEGRA_OUTPUTS)


def _objectives(data: object, sram: SramSource, accuracy: object | None) -> tuple[Objective, ...]:
    if data is None:
        if sram is SramSource.NONE:
            default = [Objective.LATENCY]
        else:
            default = [Objective.LATENCY, Objective.ENERGY, Objective.AREA]
        return tuple(default + ([Objective.ERROR] if accuracy is not None else []))
    if not isinstance(data, list) or not data:
        raise _fail("objectives", f"must be a non-empty list, not {shown(data)}")
    out: list[Objective] = []
    for k, item in enumerate(data):
        field = f"objectives[{k}]"
        try:
            objective = Objective(item)
        except ValueError:
            choices = ", ".join(o.value for o in Objective)
            raise _fail(field, f"must be one of {choices}, not {shown(item)}") from None
        if objective in out:
            raise _fail(field, f"{objective.value} is listed twice")
        if objective in (Objective.ENERGY, Objective.AREA) and sram is SramSource.NONE:
            raise _fail(field, f"sram: none gives no {objective.value}")
        if objective is Objective.ERROR and accuracy is None:
            raise _fail(field, "accuracy_error needs an accuracy section")
        out.append(objective)
    return tuple(out)
