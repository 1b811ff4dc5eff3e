"""Shared fixtures: small architectures whose costs are easy to work out by hand."""

from __future__ import annotations

import pytest

from epur.arch import ArchConfig, apply_overrides, paper_preset


def tiny_arch(**overrides: object) -> ArchConfig:
    """2 lanes, fp16, 1 byte per cycle of DRAM (no refresh) and no DRAM latency: costs by hand."""
    settings = {
        "dpu.lanes": 2,
        "dpu.latency_cycles": 1,
        "mfu.latency_cycles": 2,
        "clock_hz": 1_000_000_000,
        "dram.bandwidth_bytes_per_s": 1_000_000_000,
        "dram.latency_ns": 0,
        "dram.refresh_ns": 0,  # no refresh stealing bandwidth: 1 byte per cycle exactly
        "weight_buffer.capacity_bytes": "1MiB",
        "input_buffer.capacity_bytes": "1MiB",
        "intermediate_memory.capacity_bytes": "1MiB",
    }
    settings.update(overrides)
    return apply_overrides(paper_preset(), [f"{k}={v}" for k, v in settings.items()])


@pytest.fixture
def paper() -> ArchConfig:
    return paper_preset()
