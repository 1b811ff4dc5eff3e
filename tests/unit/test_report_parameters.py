"""The report's parameter table: each value in the unit the models use it in."""

from __future__ import annotations

from epur.arch import paper_preset
from epur.report.parameters import parameter_rows


def _rows() -> dict[str, tuple[str, str]]:
    rows = parameter_rows({"mwl": paper_preset()}, ())
    return {r.key: (r.unit, r.values[0][1]) for r in rows}


def test_the_logic_overhead_is_a_plain_multiplier_not_a_scaled_area() -> None:
    unit, value = _rows()["logic.overhead_factor"]
    assert unit == "" and value == "1"


def test_node_scaled_logic_figures_say_their_node() -> None:
    unit, value = _rows()["logic.mul_fp16_pj"]
    assert unit == "pJ at 28 nm" and float(value) < 1.1  # 1.1 pJ at 45 nm, scaled down


def test_dram_powers_and_times_have_units() -> None:
    rows = _rows()
    assert rows["dram.refresh_w"] == ("mW", "18.8")
    assert rows["dram.refresh_ns"][0] == "ns"
