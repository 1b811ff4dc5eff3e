"""The network's GEMMs read from the MWL schedule: shapes, runs, and every MAC once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from epur.arch import apply_overrides, paper_preset
from epur.peers.gemms import GemmKind, network_gemms
from epur.peers.systolic import GemmShape
from epur.schedule import build_schedule
from epur.timing import simulate
from epur.workload import ZOO_NAMES, load_network, zoo_network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_eesen_is_three_gemms() -> None:
    gemms = network_gemms(build_schedule(zoo_network("eesen"), paper_preset(), "mwl"))
    found = [(g.kind, g.shape, g.count, len(g.users)) for g in gemms]
    assert found == [
        (GemmKind.INPUT, GemmShape(800, 120, 1280), 2, 2),  # L1 fw and bw: 800 steps at once
        (GemmKind.RECURRENT, GemmShape(1, 320, 1280), 800 * 10, 10),  # 5 layers x 2 directions
        (GemmKind.INPUT, GemmShape(800, 640, 1280), 8, 8),  # L2-L5, both directions
    ]
    assert gemms[0].users == ("L1 (fw) input", "L1 (bw) input")
    assert gemms[1].label == "L1 (fw) gates +9 more"


def test_tiles_merge_into_one_gemm() -> None:
    """GMAT's input phases are tiled (1023 + 1 rows per CU): one GEMM of 4H rows."""
    gemms = network_gemms(build_schedule(zoo_network("gmat"), paper_preset(), "mwl"))
    inputs = [g for g in gemms if g.kind is GemmKind.INPUT]
    assert {g.shape for g in inputs} == {GemmShape(27, 1024, 4096), GemmShape(27, 2048, 4096)}
    decoder = [g for g in gemms if g.users[0].startswith("dec")]
    assert [(g.shape, g.count) for g in decoder] == [(GemmShape(1, 3072, 4096), 8 * 28)]


def test_projection_and_fully_connected_layers() -> None:
    gemms = network_gemms(build_schedule(zoo_network("rldradspr"), paper_preset(), "mwl"))
    assert (GemmKind.RECURRENT, GemmShape(1, 1024, 512)) in {(g.kind, g.shape) for g in gemms}
    small = network_gemms(
        build_schedule(load_network(EXAMPLES / "small_lstm.yaml"), paper_preset(), "mwl")
    )
    assert [(g.kind, g.shape, g.count) for g in small] == [
        (GemmKind.INPUT, GemmShape(100, 40, 512), 1),
        (GemmKind.RECURRENT, GemmShape(1, 128, 512), 200),  # both layers: one shape
        (GemmKind.INPUT, GemmShape(100, 128, 512), 1),
        (GemmKind.FEEDFORWARD, GemmShape(100, 128, 12), 1),
    ]


def test_the_batch_is_the_rows() -> None:
    net = replace(load_network(EXAMPLES / "small_lstm.yaml"), batch=3)
    gemms = network_gemms(build_schedule(net, paper_preset(), "mwl"))
    assert gemms[0].shape == GemmShape(300, 40, 512)
    assert gemms[1].shape == GemmShape(3, 128, 512)


@pytest.mark.parametrize("name", ZOO_NAMES)
@pytest.mark.parametrize("settings", [[], ["weight_buffer.capacity_bytes=64KiB"]])
def test_every_mac_once(name: str, settings: list[str]) -> None:
    """The GEMMs hold exactly the MACs the timing model counts (tiles, overflow and all)."""
    arch = apply_overrides(paper_preset(), settings)
    schedule = build_schedule(zoo_network(name), arch, "mwl")
    gemms = network_gemms(schedule)
    assert sum(g.macs for g in gemms) == simulate(schedule, arch).total.macs
    assert sum(g.macs for g in gemms) == zoo_network(name).macs_per_sequence()
