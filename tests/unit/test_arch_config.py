"""Unit tests for ``epur.arch.config``: the typed architecture model and its derived quantities.

These tests build ``ArchConfig`` from their own mappings (not from the paper preset), so they
check the model on its own; the preset is covered in ``test_arch_presets.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

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


def expected_dram_cycles(nbytes: int, clock_hz: int, bandwidth: int, latency_ns: str) -> int:
    """``latency + ceil(bytes * clock / bandwidth)``, latency = ceil(latency_ns * clock / 1e9)."""
    latency = math.ceil(Fraction(latency_ns) * clock_hz / 10**9)
    return latency + math.ceil(Fraction(nbytes * clock_hz, bandwidth))


@pytest.mark.parametrize(
    ("clock_hz", "bandwidth", "latency_ns"),
    [
        (500_000_000, 25_600_000_000, "100"),  # the paper's numbers: 50 cycles of latency
        (1_000_000_000, 1_000_000_000, "20"),  # one byte per cycle
        (333_000_000, 12_800_000_000, "90.5"),  # latency not a whole number of cycles
        (700_000_000, 3_000_000_000, "0"),
    ],
)
@pytest.mark.parametrize("nbytes", [1, 2, 511, 512, 513, 4096, 1_000_003, 2 * 1024**2])
def test_dram_cycles_formula(nbytes: int, clock_hz: int, bandwidth: int, latency_ns: str) -> None:
    a = arch(
        clock_hz=clock_hz,
        dram={"bandwidth_bytes_per_s": bandwidth, "latency_ns": float(latency_ns)},
    )
    assert a.dram_cycles(nbytes) == expected_dram_cycles(nbytes, clock_hz, bandwidth, latency_ns)


def test_dram_cycles_hand_values() -> None:
    a = arch(
        clock_hz=500_000_000, dram={"bandwidth_bytes_per_s": 25_600_000_000, "latency_ns": 100.0}
    )
    # 100 ns at 500 MHz = 50 cycles; 51.2 bytes per cycle
    assert a.dram_latency_cycles == 50
    assert a.dram_cycles(512) == 50 + 10
    assert a.dram_cycles(513) == 50 + 11
    assert a.dram_cycles(1) == 50 + 1


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


@pytest.mark.parametrize("field", ["storage", "partial_sums"])
def test_stored_formats_must_be_whole_bytes(field: str) -> None:
    with pytest.raises(ValidationError, match=r"stored formats must be 8, 16 or 32 bits wide"):
        FormatsConfig(**{field: "q4.3"})


def test_accumulator_may_have_any_width() -> None:
    assert FormatsConfig(accumulator="q4.3").accumulator_format.bits == 7


@pytest.mark.parametrize("field", ["storage", "accumulator", "partial_sums"])
def test_unknown_format(field: str) -> None:
    with pytest.raises(ValidationError, match=r"number format must be .*, not 'fp8'"):
        FormatsConfig(**{field: "fp8"})


def test_missing_required_fields() -> None:
    with pytest.raises(ValidationError, match=r"clock_hz"):
        ArchConfig.model_validate({})


@pytest.mark.parametrize(
    "data",
    [{"turbo": True}, {"dpu": {"lanes": 8, "width": 3}}, {"dram": {"latency_cycles": 3}}],
)
def test_unknown_keys_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"Extra inputs are not permitted"):
        arch(**data)


def test_config_is_frozen() -> None:
    a = arch()
    with pytest.raises(ValidationError):
        a.clock_hz = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        a.dpu.lanes = 1  # type: ignore[misc]
