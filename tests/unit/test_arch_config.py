"""Unit tests for ``epur.arch.config``: the typed architecture model and its derived quantities.

These tests build ``ArchConfig`` from their own mappings (not from the paper preset), so they
check the model on its own; the preset is covered in ``test_arch_presets.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from epur.arch.config import ArchConfig, DPUConfig, FormatsConfig, MemoryConfig


def arch(**over: Any) -> ArchConfig:
    """A small valid architecture, with top-level keys replaced by ``over``."""
    data: dict[str, Any] = {
        "clock_hz": 1_000_000_000,
        "dpu": {"lanes": 8, "latency_cycles": 3},
        "mfu": {"latency_cycles": 5},
        "weight_buffer": {"capacity_bytes": 1024},
        "input_buffer": {"capacity_bytes": 256},
        "intermediate_memory": {"capacity_bytes": 4096},
        "dram": {"bandwidth_bytes_per_s": 1_000_000_000, "latency_ns": 20.0},
    }
    data.update(over)
    return ArchConfig.model_validate(data)


def test_defaults() -> None:
    a = arch()
    assert a.compute_units == 4
    assert a.name == "custom"
    assert a.schema_version == 1
    assert a.formats == FormatsConfig(storage="fp16", accumulator="fp32", partial_sums="fp32")
    assert a.weight_buffer.port_bits is None and a.weight_buffer.banks == 1


@pytest.mark.parametrize(
    ("lanes", "storage", "bits"),
    [(16, "fp16", 16), (8, "int8", 8), (32, "fp32", 32), (4, "bf16", 16), (16, "q4.4", 8)],
)
def test_port_bits_default_is_lanes_times_storage_bits(lanes: int, storage: str, bits: int) -> None:
    a = arch(dpu={"lanes": lanes}, formats={"storage": storage})
    assert a.storage_bits == bits
    for memory in (a.weight_buffer, a.input_buffer, a.intermediate_memory):
        assert a.port_bits(memory) == lanes * bits


def test_explicit_port_bits_is_kept() -> None:
    a = arch(weight_buffer={"capacity_bytes": 1024, "port_bits": 8 * 16 * 4})
    assert a.port_bits(a.weight_buffer) == 512
    assert a.port_bits(a.input_buffer) == 8 * 16


def test_port_equal_to_a_chunk_is_allowed() -> None:
    a = arch(input_buffer={"capacity_bytes": 256, "port_bits": 8 * 16})
    assert a.port_bits(a.input_buffer) == 128


@pytest.mark.parametrize("key", ["weight_buffer", "input_buffer"])
def test_port_narrower_than_a_chunk(key: str) -> None:
    chunk = 8 * 16  # lanes x fp16
    with pytest.raises(
        ValidationError,
        match=rf"{key}\.port_bits must be at least dpu\.lanes x storage bits \({chunk}\) "
        rf"to feed one chunk per cycle, not {chunk - 1}",
    ):
        arch(**{key: {"capacity_bytes": 256, "port_bits": chunk - 1}})


def test_derived_widths_and_drain() -> None:
    a = arch(formats={"storage": "int8", "partial_sums": "fp16"})
    assert a.storage_bits == 8
    assert a.partial_sum_bits == 16
    assert a.drain_cycles == a.dpu.latency_cycles + a.mfu.latency_cycles == 3 + 5


@pytest.mark.parametrize(
    ("lanes", "levels"), [(1, 0), (2, 1), (8, 3), (16, 4), (17, 5), (32, 5), (64, 6)]
)
def test_the_dpu_latency_is_derived_from_the_lanes(lanes: int, levels: int) -> None:
    """Left out, it is 1 multiplier stage + ceil(log2(lanes)) adder-tree levels + 1
    accumulator stage; given, it is kept; the drain follows."""
    derived = DPUConfig(lanes=lanes)
    assert derived.latency_cycles == 1 + levels + 1 and derived.latency_is_derived
    assert DPUConfig(lanes=lanes, latency_cycles=9).latency_cycles == 9
    assert arch(dpu={"lanes": lanes}).drain_cycles == 1 + levels + 1 + 5


def expected_dram_cycles(
    nbytes: int, clock_hz: int, bandwidth: int, latency_ns: str, refresh: Fraction
) -> int:
    """``latency + ceil(bytes * clock / (bandwidth x (1 - tRFC/tREFI)))``, latency =
    ``ceil(latency_ns * clock / 1e9)``: refresh takes its share of the bandwidth."""
    latency = math.ceil(Fraction(latency_ns) * clock_hz / 10**9)
    return latency + math.ceil(Fraction(nbytes * clock_hz) / (bandwidth * (1 - refresh)))


@pytest.mark.parametrize(
    ("clock_hz", "bandwidth", "latency_ns"),
    [
        (500_000_000, 25_600_000_000, "100"),  # the paper's numbers: 50 cycles of latency
        (1_000_000_000, 1_000_000_000, "20"),  # one byte per cycle
        (333_000_000, 12_800_000_000, "90.5"),  # latency not a whole number of cycles
        (700_000_000, 3_000_000_000, "0"),
    ],
)
@pytest.mark.parametrize(
    ("refresh_ns", "interval_ns", "refresh"),
    [
        ("280", "3903.75", Fraction(448, 6246)),
        ("0", "3903.75", Fraction(0)),
        ("1", "4", Fraction(1, 4)),
    ],
)
@pytest.mark.parametrize("nbytes", [1, 2, 511, 512, 513, 4096, 1_000_003, 2 * 1024**2])
def test_dram_cycles_formula(
    nbytes: int,
    clock_hz: int,
    bandwidth: int,
    latency_ns: str,
    refresh_ns: str,
    interval_ns: str,
    refresh: Fraction,
) -> None:
    a = arch(
        clock_hz=clock_hz,
        dram={
            "bandwidth_bytes_per_s": bandwidth,
            "latency_ns": float(latency_ns),
            "refresh_ns": float(refresh_ns),
            "refresh_interval_ns": float(interval_ns),
        },
    )
    assert a.dram.refresh_fraction == refresh
    expected = expected_dram_cycles(nbytes, clock_hz, bandwidth, latency_ns, refresh)
    assert a.dram_cycles(nbytes) == expected


def test_dram_cycles_hand_values() -> None:
    a = arch(
        clock_hz=500_000_000, dram={"bandwidth_bytes_per_s": 25_600_000_000, "latency_ns": 100.0}
    )
    # 100 ns at 500 MHz = 50 cycles; 51.2 bytes per cycle at the peak, but refresh takes
    # 280 ns of every 3903.75 ns (Micron's tRFCab / tREFI = 448 / 6246): 51.2 x 5798/6246
    # = 47.527 bytes per cycle, so 475 bytes take 10 cycles (9.994) and 476 take 11
    assert a.dram_latency_cycles == 50
    assert a.dram.effective_bandwidth_bytes_per_s == Fraction(25_600_000_000 * 5798, 6246)
    assert a.dram_cycles(475) == 50 + 10
    assert a.dram_cycles(476) == 50 + 11
    assert a.dram_cycles(512) == 50 + 11  # 10.77; 10 at the peak bandwidth
    assert a.dram_cycles(1) == 50 + 1
    no_refresh = arch(clock_hz=500_000_000, dram={"refresh_ns": 0.0})
    assert no_refresh.dram_cycles(512) == 50 + 10
    assert no_refresh.dram_cycles(513) == 50 + 11


@pytest.mark.parametrize(
    ("refresh_ns", "interval_ns"), [(3903.75, 3903.75), (5000.0, 3903.75), (1.0, 0.0)]
)
def test_refresh_must_leave_time_to_transfer(refresh_ns: float, interval_ns: float) -> None:
    with pytest.raises(ValidationError, match=r"refresh_interval_ns\n.*must be above refresh_ns"):
        arch(dram={"refresh_ns": refresh_ns, "refresh_interval_ns": interval_ns})


@pytest.mark.parametrize(
    ("policy", "idle_w"),
    [
        ("active_standby", 0.1516 + 0.0188),
        ("power_down", 0.0252 + 0.0188),
        ("self_refresh", 0.0048),  # refreshes itself: no refresh power on top
    ],
)
def test_dram_background_power_by_state(policy: str, idle_w: float) -> None:
    dram = arch(dram={"idle_policy": policy}).dram
    assert dram.idle_w == pytest.approx(idle_w, rel=1e-12)
    assert dram.transfer_w == pytest.approx(0.1516 + 0.0188, rel=1e-12)


def test_unknown_idle_policy_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"dram\.idle_policy"):
        arch(dram={"idle_policy": "deep_sleep"})


@pytest.mark.parametrize("factor", [0.5, 10.5, float("nan")])
def test_logic_overhead_is_one_to_ten(factor: float) -> None:
    with pytest.raises(ValidationError, match=r"logic\.overhead_factor"):
        arch(logic={"overhead_factor": factor})


@pytest.mark.parametrize("latency_ns", [0.0, 100.0])
def test_dram_cycles_of_nothing_is_zero(latency_ns: float) -> None:
    assert arch(dram={"latency_ns": latency_ns}).dram_cycles(0) == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("2MiB", 2 * 1024**2), ("8 KiB", 8 * 1024), (4096, 4096), (0, 0)]
)
def test_memory_capacity_accepts_sizes(value: Any, expected: int) -> None:
    assert MemoryConfig(capacity_bytes=value).capacity_bytes == expected


@pytest.mark.parametrize("value", [-1, "lots", "1.5B", True, 1.5])
def test_memory_capacity_rejects(value: Any) -> None:
    with pytest.raises(ValidationError):
        MemoryConfig(capacity_bytes=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5e8", 500_000_000), (5e8, 500_000_000), ("500000000", 500_000_000), (1.0e9, 10**9)],
)
def test_counts_accept_integral_floats_and_numeric_strings(value: Any, expected: int) -> None:
    assert arch(clock_hz=value).clock_hz == expected


@pytest.mark.parametrize("value", [0, -1, 5.5, "fast", True, None])
def test_counts_reject(value: Any) -> None:
    with pytest.raises(ValidationError, match=r"clock_hz"):
        arch(clock_hz=value)


@pytest.mark.parametrize("units", [1, 2, 3, 5, 8])
def test_compute_units_must_be_four(units: int) -> None:
    with pytest.raises(ValidationError, match=r"must be 4 \(one compute unit per LSTM gate\)"):
        arch(compute_units=units)


def test_formats_are_canonicalised() -> None:
    formats = FormatsConfig(storage="FP16", accumulator=" Q8.24 ", partial_sums="BF16")
    assert (formats.storage, formats.accumulator, formats.partial_sums) == ("fp16", "q8.24", "bf16")
    assert formats.storage_format.bits == 16
    assert formats.accumulator_format.bits == 32
    assert formats.partial_sums_format.bits == 16


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("storage", "q4.3"),
        ("storage", "q32.32"),
        ("partial_sums", "q4.3"),
        ("partial_sums", "q12.12"),
    ],
)
def test_stored_formats_must_be_whole_bytes(field: str, text: str) -> None:
    with pytest.raises(ValidationError, match=r"must be (8, 16 or 32|8, 16, 32 or 64) bits wide"):
        FormatsConfig(**{field: text})


def test_accumulator_may_have_any_width() -> None:
    formats = FormatsConfig(storage="q2.6", accumulator="q4.7", partial_sums="fp32")
    assert formats.accumulator_format.bits == 11


def test_partial_sums_may_be_64_bits_wide() -> None:
    """The q(2M).(2N) accumulator of a 32-bit qM.N, which ``--format q16.16`` keeps."""
    formats = FormatsConfig(storage="q16.16", accumulator="q32.32", partial_sums="q32.32")
    assert formats.partial_sums_format.bits == 64


@pytest.mark.parametrize("field", ["accumulator", "partial_sums"])
def test_sums_cannot_be_int8(field: str) -> None:
    """int8 values are codes times a per-tensor scale: no sum can be rounded to them (the
    datapath raised a ValueError from its rounding, mid-run)."""
    with pytest.raises(ValidationError, match=rf"{field}\n.*int8 has a per-tensor scale"):
        FormatsConfig(storage="int8", **{field: "int8"})


NARROW = [  # (storage, accumulator): the accumulator cannot hold the storage values
    ("fp16", "bf16"),  # 7 < 10 fraction bits
    ("bf16", "fp16"),  # 5 < 8 exponent bits
    ("fp32", "fp16"),
    ("q8.8", "q4.12"),  # 4 < 8 integer bits
    ("q8.8", "q16.4"),  # 4 < 8 fraction bits
    ("q8.8", "fp16"),  # 16-bit codes in an 11-bit significand
    ("q8.8", "bf16"),
    ("q16.16", "fp32"),  # 32-bit codes in a 24-bit significand
    ("fp16", "q4.4"),  # a fixed accumulator narrower than the float it adds
    ("fp32", "q8.8"),
    ("int8", "q4.3"),
]
WIDE_ENOUGH = [
    ("fp16", "fp32"),
    ("bf16", "fp32"),
    ("fp16", "fp16"),
    ("q8.8", "fp32"),
    ("q4.4", "fp16"),
    ("q8.8", "q16.16"),
    ("q8.8:trunc", "q8.8:wrap"),  # the modes do not matter, the values do
    ("q16.16", "q32.32"),
    ("int8", "fp32"),  # the default of --format int8: integer sums, dequantised once
    ("int8", "q8.8"),
    ("fp16", "q16.16"),
]


@pytest.mark.parametrize(
    ("storage", "accumulator", "holds"),
    [(s, a, False) for s, a in NARROW] + [(s, a, True) for s, a in WIDE_ENOUGH],
)
def test_the_accumulator_must_hold_the_storage(storage: str, accumulator: str, holds: bool) -> None:
    """An accumulator narrower than the storage format is refused, naming both; one that
    holds it is accepted (the old model took any accumulator)."""
    if holds:
        assert FormatsConfig(storage=storage, accumulator=accumulator).accumulator_format.bits
        return
    with pytest.raises(ValidationError, match=rf"accumulator\n.*storage format {storage}"):
        FormatsConfig(storage=storage, accumulator=accumulator)


# ---- every number has a range ----------------------------------------------------------------

ENUMERATED = {"schema_version", "compute_units", "technology.node_nm"}  # checked by value


def _numeric_fields(model: type[BaseModel], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every numeric leaf of ``model`` -> its JSON schema (``anyOf`` branches merged)."""
    out: dict[str, dict[str, Any]] = {}
    schema = model.model_json_schema()
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= _numeric_fields(kind, f"{prefix}{name}.")
            continue
        prop = schema["properties"][name]
        branches = prop.get("anyOf", [prop])
        numbers = [b for b in branches if b.get("type") in ("integer", "number")]
        if numbers:
            out[f"{prefix}{name}"] = {k: v for b in numbers for k, v in b.items()}
    return out


NUMERIC = _numeric_fields(ArchConfig)
assert len(NUMERIC) >= 40 and {"clock_hz", "dpu.lanes", "logic.add_fp32_um2"} <= set(NUMERIC)


@pytest.mark.parametrize("key", sorted(set(NUMERIC) - ENUMERATED))
def test_every_numeric_field_has_a_lower_and_an_upper_bound(key: str) -> None:
    schema = NUMERIC[key]
    assert {"ge", "gt", "minimum", "exclusiveMinimum"} & set(schema), schema
    assert {"le", "lt", "maximum", "exclusiveMaximum"} & set(schema), schema


@pytest.mark.parametrize("key", sorted(NUMERIC))
def test_every_numeric_field_refuses_infinity_nan_and_booleans(key: str) -> None:
    section, _, field = key.rpartition(".")
    model: type[BaseModel] = ArchConfig
    for part in filter(None, section.split(".")):
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    for bad in (math.inf, -math.inf, math.nan, True, False):
        with pytest.raises(ValidationError, match=rf"(?m)^{field}$"):
            model.model_validate({**_required(model), field: bad})


def _required(model: type[BaseModel]) -> dict[str, Any]:
    """Values for the fields ``model`` needs (valid ones: the small architecture's)."""
    if model is ArchConfig:
        return {
            "clock_hz": 10**9,
            **{m: {"capacity_bytes": 1024} for m in ("weight_buffer", "input_buffer")},
            "intermediate_memory": {"capacity_bytes": 1024},
        }
    return {"capacity_bytes": 1024} if model is MemoryConfig else {}
