"""Design changes from the command line: CACTI installed with epur, banking for the clock,
timing without an SRAM model, derived parameters following their source."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from epur.cli import main
from epur.energy import sram_backend

ROOT = Path(__file__).resolve().parents[2]
README_EXAMPLE = [
    "simulate", "--network", str(ROOT / "examples" / "small_lstm.yaml"),
    "--set", "dpu.lanes=32", "--set", "clock_hz=1e9",
]  # fmt: skip


def simulate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str
) -> tuple[dict[str, Any], str]:
    out = tmp_path / "out.json"
    code = main([*argv, "--json", str(out)])
    text, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.read_text()), text


def port_stall_share(data: dict[str, Any]) -> float:
    return float(data["total"]["port_stall_cycles"] / data["total"]["cycles"])


def test_cacti_is_installed_with_epur() -> None:
    """The SRAM model is not optional: ``pip install -e .`` must bring the CACTI binary,
    which ``auto`` then finds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "zigzag-dse==3.9.1" in project["dependencies"]
    assert sram_backend("auto").name == "cacti"


def test_the_readme_example_is_banked_for_its_clock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """32 lanes at 1 GHz: the paper's 2 MiB weight buffer and 6 MiB intermediate memory in
    16 banks cannot cycle in 1 ns; banked they can, and port stalls no longer dominate."""
    banked, text = simulate(capsys, tmp_path, *README_EXAMPLE)
    assert port_stall_share(banked) < 0.5
    memories = {m["name"]: m for m in banked["memories"]}
    for name in ("weight_buffer", "intermediate_memory"):
        assert memories[name]["banks"] > 16 and memories[name]["fits_clock"]
        assert banked["arch"][name]["banks"] == memories[name]["banks"]  # the design evaluated
        assert f"note: {name}: banked 16 -> {memories[name]['banks']}" in text
    unbanked, text = simulate(capsys, tmp_path, *README_EXAMPLE, "--no-bank-for-clock")
    assert port_stall_share(unbanked) > 0.5
    assert {m["name"]: m["banks"] for m in unbanked["memories"]}["weight_buffer"] == 16
    assert "banked" not in text


def test_timing_without_an_sram_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, text = simulate(
        capsys, tmp_path, "simulate", "--network", "bysdne", "--energy-backend", "none"
    )
    assumption = "every SRAM access takes one clock cycle; no energy, no area"
    assert assumption in text and "energy per sequence" not in text
    assert data["energy_backend"] == "none"
    assert any(assumption in note for note in data["notes"])
    assert "energy_j" not in data["total"] and "memories" not in data
    assert data["access_cycles"] == {
        "weight_buffer": 1, "input_buffer": 1, "intermediate_memory": 1,
    }  # fmt: skip
    main(["simulate", "--network", "bysdne", "--energy-backend", "none", "--no-bank-for-clock"])
    assert "--no-bank-for-clock has no effect" in capsys.readouterr().err


def test_more_lanes_deepen_the_dpu_pipeline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """32 lanes: 1 multiplier + log2(32) = 5 tree levels + 1 accumulator stage = 7 cycles;
    each recurrent step of EESEN's layers drains DPU + MFU = 7 + 8 cycles."""
    argv = ["simulate", "--network", "eesen", "--dataflow", "mwl"]
    wide, _ = simulate(capsys, tmp_path, *argv, "--set", "dpu.lanes=32")
    assert wide["arch"]["dpu"]["latency_cycles"] == 7
    given, _ = simulate(
        capsys, tmp_path, *argv, "--set", "dpu.lanes=32", "--set", "dpu.latency_cycles=6"
    )
    assert given["arch"]["dpu"]["latency_cycles"] == 6
    # one more cycle of DPU latency per drain: one more drain cycle per recurrent step
    # (EESEN: 5 bidirectional layers of 800 steps) and per input phase (5 x 2 directions)
    extra = wide["total"]["drain_cycles"] - given["total"]["drain_cycles"]
    assert extra == 5 * 2 * 800 + 5 * 2


def test_a_missing_cacti_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import epur.energy.cacti as cacti

    monkeypatch.setattr(cacti, "find_spec", lambda name: None)
    assert main(["simulate", "--network", "bysdne", "--energy-backend", "cacti"]) == 2
    err = capsys.readouterr().err
    assert "CACTI is not installed" in err and "zigzag-dse==3.9.1" in err
    assert "pip install -e ." in err and "--energy-backend table" in err
    # auto falls back to the recorded table, which cannot know a design change
    assert main(["simulate", "--network", "bysdne", "--set", "dpu.lanes=32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no recorded CACTI result" in err
    assert "--energy-backend cacti" in err and "--energy-backend none" in err
    assert "epur[cacti]" not in err


def test_reproduce_banks_every_design_for_the_clock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every design's memories are banked the same way as in simulate: the paper's 6 MiB
    intermediate memory (2.84 ns in 16 banks, recorded CACTI) too, not only the baseline
    design's weight buffers."""
    out = tmp_path / "results"
    code = main(["reproduce", "--energy-backend", "table", "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    designs = json.loads((out / "results.json").read_text())["designs"]
    for design in designs.values():
        assert design["intermediate_memory_banks"] > 16
        assert set(design["access_cycles"].values()) == {1}
    assert designs["baseline"]["weight_buffer_banks"] > designs["mwl"]["weight_buffer_banks"]
