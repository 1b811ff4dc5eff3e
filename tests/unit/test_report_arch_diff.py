"""``epur.arch.arch_changes``: the fields an architecture changes from the paper preset."""

from __future__ import annotations

from pathlib import Path

from epur.arch import ArchChange, apply_overrides, arch_changes, load_arch, paper_preset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_paper_preset_changes_nothing() -> None:
    assert arch_changes(paper_preset()) == ()
    assert arch_changes(load_arch()) == ()


def test_set_overrides_are_listed_with_both_values() -> None:
    arch = apply_overrides(paper_preset(), ["dpu.lanes=32", "clock_hz=1e9"])
    assert arch_changes(arch) == (
        ArchChange("clock_hz", 500_000_000, 1_000_000_000),
        ArchChange("dpu.lanes", 16, 32),
    )


def test_an_arch_file_lists_every_field_it_changes() -> None:
    # examples/edge_arch.yaml: 8 lanes, latency 5, 512 KiB WB, 1 MiB IM, 12.8 GB/s
    changes = {
        c.key: (c.preset, c.value) for c in arch_changes(load_arch(EXAMPLES / "edge_arch.yaml"))
    }
    assert changes == {
        "dpu.lanes": (16, 8),
        "dpu.latency_cycles": (6, 5),
        "weight_buffer.capacity_bytes": (2 * 2**20, 512 * 2**10),
        "intermediate_memory.capacity_bytes": (6 * 2**20, 2**20),
        "dram.bandwidth_bytes_per_s": (25_600_000_000, 12_800_000_000),
    }


def test_a_label_is_not_a_change_and_a_base_can_be_given() -> None:
    renamed = paper_preset().model_copy(update={"name": "mine"})
    assert arch_changes(renamed) == ()
    wide = apply_overrides(paper_preset(), ["dpu.lanes=32"])
    assert arch_changes(wide, base=wide) == ()
    assert arch_changes(paper_preset(), base=wide) == (ArchChange("dpu.lanes", 32, 16),)
