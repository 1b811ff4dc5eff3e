"""``epur.arch.arch_changes``: the fields an architecture changes from the paper preset."""

from __future__ import annotations

from pathlib import Path

from epur.arch import ArchChange, apply_overrides, arch_changes, load_arch, paper_preset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_paper_preset_changes_nothing() -> None:
    assert arch_changes(paper_preset()) == ()
    assert arch_changes(load_arch()) == ()


def test_set_overrides_are_listed_with_both_values() -> None:
    arch = apply_overrides(paper_preset(), ["clock_hz=1e9", "mfu.latency_cycles=10"])
    assert arch_changes(arch) == (
        ArchChange("clock_hz", 500_000_000, 1_000_000_000),
        ArchChange("mfu.latency_cycles", 8, 10),
    )
    assert {c.provenance for c in arch_changes(arch)} == {"user"}


def test_a_field_that_follows_another_is_marked_derived() -> None:
    # 32 lanes: 1 multiplier + log2(32) = 5 tree levels + 1 accumulator = 7 cycles
    (lanes, latency) = arch_changes(apply_overrides(paper_preset(), ["dpu.lanes=32"]))
    assert (lanes, lanes.provenance) == (ArchChange("dpu.lanes", 16, 32), "user")
    assert latency == ArchChange("dpu.latency_cycles", 6, 7, derived_from="dpu.lanes")
    assert latency.provenance == "derived from dpu.lanes"
    given = apply_overrides(paper_preset(), ["dpu.lanes=32", "dpu.latency_cycles=9"])
    assert arch_changes(given)[1] == ArchChange("dpu.latency_cycles", 6, 9)


def test_an_arch_file_lists_every_field_it_changes() -> None:
    # examples/edge_arch.yaml: 8 lanes (whose latency follows: 1 + log2(8) + 1 = 5 cycles),
    # 512 KiB weight buffers, 1 MiB intermediate memory, 12.8 GB/s
    edge = load_arch(EXAMPLES / "edge_arch.yaml")
    changes = {c.key: (c.preset, c.value, c.provenance) for c in arch_changes(edge)}
    assert changes == {
        "dpu.lanes": (16, 8, "user"),
        "dpu.latency_cycles": (6, 5, "derived from dpu.lanes"),
        "weight_buffer.capacity_bytes": (2 * 2**20, 512 * 2**10, "user"),
        "intermediate_memory.capacity_bytes": (6 * 2**20, 2**20, "user"),
        "dram.bandwidth_bytes_per_s": (25_600_000_000, 12_800_000_000, "user"),
    }


def test_a_label_is_not_a_change_and_a_base_can_be_given() -> None:
    renamed = paper_preset().model_copy(update={"name": "mine"})
    assert arch_changes(renamed) == ()
    fast = apply_overrides(paper_preset(), ["clock_hz=1e9"])
    assert arch_changes(fast, base=fast) == ()
    assert arch_changes(paper_preset(), base=fast) == (
        ArchChange("clock_hz", 1_000_000_000, 500_000_000),
    )
