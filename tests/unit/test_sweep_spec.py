"""The sweep spec: every mistake refused with one line naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from epur.errors import ConfigError
from epur.sweep.sampling import SamplingMethod, sample
from epur.sweep.spec import parse_sweep_spec

BASE: dict[str, Any] = {
    "networks": ["eesen"],
    "sram": "none",
    "axes": {"dpu.lanes": [8, 16], "dataflow": ["mwl", "baseline"]},
}


def spec(**over: Any) -> Any:
    return parse_sweep_spec({**BASE, **over}, "t", Path("."))


def test_a_good_spec_and_its_grid() -> None:
    s = spec(
        axes={
            "dpu.lanes": [8, 16],
            "weight_buffer.capacity_bytes": {
                "min": 1048576,
                "max": 8388608,
                "steps": 4,
                "scale": "log",
            },
        }
    )
    assert s.point_count() == 8
    caps = next(a for a in s.axes if a.name == "weight_buffer.capacity_bytes").levels()
    assert caps == (1048576, 2097152, 4194304, 8388608)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"axes": {"dpu.lanse": [8]}}, r"^axes\.dpu\.lanse: unknown field"),
        ({"axes": {"dpu.lanes": []}}, r"^axes\.dpu\.lanes: empty axis"),
        ({"axes": {"dpu.lanes": [0]}}, r"^axes\.dpu\.lanes: value 0"),
        ({"axes": {"format": ["fp9"]}}, r"^axes\.format: value 'fp9'"),
        ({"axes": {"dataflow": ["fast"]}}, r"^axes\.dataflow: must be one of"),
        ({"networks": ["nope"]}, r"^networks\[0\]: unknown network 'nope'"),
        ({"constraints": {"latency_s": {"min": 2, "max": 1}}}, r"contradictory"),
        ({"constraints": {"area_mm2": {"max": 5}}}, r"^constraints\.area_mm2: sram: none"),
        ({"constraints": {"speed": {"max": 5}}}, r"^constraints\.speed: unknown output"),
        ({"sampling": {"method": "lhs"}}, r"^sampling\.points: required"),
        ({"sampling": {"method": "grid", "points": 3}}, r"^sampling\.points"),
        ({"objectives": ["accuracy_error"]}, r"^objectives\[0\]: accuracy_error needs"),
        ({"bogus": 1}, r"^bogus: unknown field"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec(**over)


def test_real_time_and_its_contradiction() -> None:
    s = spec(constraints={"real_time": True})
    assert [(c.output, c.max) for c in s.constraints] == [("real_time_factor", 1.0)]
    with pytest.raises(ConfigError, match="contradictory"):
        spec(constraints={"real_time": True, "real_time_factor": {"min": 2}})


@pytest.mark.parametrize("method", [SamplingMethod.RANDOM, SamplingMethod.LHS])
def test_seeded_sampling_is_reproducible(method: SamplingMethod) -> None:
    s = spec(
        sampling={"method": method.value, "points": 6, "seed": 3},
        axes={"dpu.lanes": [4, 8, 16, 32], "clock_hz": {"min": 1e8, "max": 1e9}},
    )
    a = sample(s.axes, method, 6, 3)
    assert a == sample(s.axes, method, 6, 3) and len(a) == 6
    assert all(1e8 <= p["clock_hz"] <= 1e9 for p in a)  # type: ignore[operator]
    if method is SamplingMethod.LHS:  # one draw per stratum
        assert sorted(int((p["clock_hz"] - 1e8) / 1.5e8) for p in a) == list(range(6))  # type: ignore[operator]


def test_a_range_over_an_integer_field_samples_integers() -> None:
    """``clock_hz`` is a whole number of hertz: a continuous range written with float
    bounds (``1e8`` is a float) gives integers, which the architecture accepts."""
    s = spec(sampling={"method": "random", "points": 5, "seed": 1},
             axes={"clock_hz": {"min": 1.5e8, "max": 1e9}, "dpu.lanes": [8]})  # fmt: skip
    points = sample(s.axes, SamplingMethod.RANDOM, 5, 1)
    assert all(type(p["clock_hz"]) is int for p in points), points
    assert all(150_000_000 <= p["clock_hz"] <= 1_000_000_000 for p in points)  # type: ignore[operator]
