"""Unit tests for ``epur.arch.presets``: the paper preset and its provenance record."""

from __future__ import annotations

import dataclasses
import math

import pytest

from epur.arch import PROVENANCE, ArchConfig, Provenance, paper_preset
from epur.arch.overrides import leaf_keys
from epur.arch.presets import PRESETS

KIB = 1024
MIB = 1024 * KIB


def test_paper_values() -> None:
    arch = paper_preset()
    assert isinstance(arch, ArchConfig)
    assert arch.name == "paper"
    assert arch.compute_units == 4  # one CU per LSTM gate
    assert arch.dpu.lanes == 16
    assert arch.weight_buffer.capacity_bytes == 2 * MIB
    assert arch.input_buffer.capacity_bytes == 8 * KIB
    assert arch.intermediate_memory.capacity_bytes == 6 * MIB
    assert arch.clock_hz == 500 * 10**6
    assert arch.dram.bandwidth_bytes_per_s == 256 * 10**8  # 25.6 GB/s
    assert arch.dram.latency_ns == 100.0
    assert arch.formats.storage == "fp16"
    assert arch.storage_bits == 16
    assert arch.formats.accumulator == "fp32"
    assert arch.formats.partial_sums == "fp32"


def test_paper_latencies_follow_their_provenance() -> None:
    arch = paper_preset()
    # 1 multiplier + log2(lanes) adder-tree levels + 1 accumulator stage
    assert arch.dpu.latency_cycles == 1 + int(math.log2(arch.dpu.lanes)) + 1
    # activation (2) + peephole/cell multiply-adds (4) + output multiply (2)
    assert arch.mfu.latency_cycles == 2 + 4 + 2
    # 100 ns at 500 MHz
    assert arch.dram_latency_cycles == 100 * 500 // 1000


def test_the_paper_dpu_latency_is_derived_and_unchanged() -> None:
    """6 cycles for 16 lanes as before, but derived: ``--set dpu.lanes`` moves it."""
    arch = paper_preset()
    assert arch.dpu.latency_cycles == 6
    assert arch.dpu.latency_is_derived
    assert "derived from dpu.lanes" in PROVENANCE["dpu.latency_cycles"].source


def test_paper_ports_feed_one_chunk() -> None:
    arch = paper_preset()
    for memory in (arch.weight_buffer, arch.input_buffer, arch.intermediate_memory):
        assert memory.port_bits is None
        assert arch.port_bits(memory) == 16 * 16  # lanes x fp16


def test_paper_banks() -> None:
    arch = paper_preset()
    assert arch.weight_buffer.banks == 16
    assert arch.input_buffer.banks == 1
    assert arch.intermediate_memory.banks == 16


def test_preset_is_a_fresh_equal_value() -> None:
    assert paper_preset() == paper_preset()
    assert PRESETS["paper"]() == paper_preset()
    assert list(PRESETS) == ["paper"]


PRESET_KEYS = [
    key for key in leaf_keys(paper_preset().model_dump()) if key not in {"schema_version", "name"}
]


def test_provenance_covers_every_leaf_key_and_no_more() -> None:
    assert set(PROVENANCE) == set(PRESET_KEYS)
    assert len(PRESET_KEYS) == len(set(PRESET_KEYS))


@pytest.mark.parametrize("key", PRESET_KEYS)
def test_provenance_entry(key: str) -> None:
    entry = PROVENANCE[key]
    assert isinstance(entry, Provenance)
    assert entry.status in {"published", "assumed"}
    assert entry.source.strip()


def test_compute_units_are_published() -> None:
    assert PROVENANCE["compute_units"].status == "published"


def test_provenance_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROVENANCE["clock_hz"].status = "published"  # type: ignore[misc]
