"""A sweep's summary on constructed rows: the best design under each constraint, the
front, counts, the paper's design, the consistency section, and the files written."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from epur.evaluation import Design, SramSource
from epur.report.consistency import PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP
from epur.sweep.paper import paper_point
from epur.sweep.rows import Constraint, Objective, RowStatus, SweepRow, point_id
from epur.sweep.summary import (
    ALL_CONSTRAINTS,
    NO_CONSTRAINT,
    SpecSettings,
    spec_settings,
    summary_data,
    summary_markdown,
    write_summary,
)
from epur.workload.zoo import ZOO_NAMES

LAT, EN, AREA = Objective.LATENCY, Objective.ENERGY, Objective.AREA
OBJECTIVES = (LAT, EN, AREA)
SMALL = Constraint("area_mm2", max=20.0)
REAL_TIME = Constraint("real_time_factor", max=1.0)


def make(net: str, lanes: int, lat: float | None, en: float | None, area: float | None,
         rtf: float | None = 0.5, status: RowStatus = RowStatus.OK,
         extra: dict[str, float] | None = None) -> SweepRow:  # fmt: skip
    design = Design.paper([f"dpu.lanes={lanes}"], sram=SramSource.TABLE)
    return SweepRow(point_id(net, design.identity), net, design.identity, design.canonical_json(),
                    {"dpu.lanes": lanes}, status, "", lat, en, area, rtf, None, "0.1.0",
                    extra or {})  # fmt: skip


@pytest.fixture
def rows() -> list[SweepRow]:
    return [
        make("eesen", 4, 4e-3, 1e-3, 10.0),  # least area
        make("eesen", 8, 2e-3, 2e-3, 15.0),
        make("eesen", 16, 1e-3, 3e-3, 18.0),  # the paper's design: least latency that fits
        make("eesen", 32, 0.5e-3, 4e-3, 30.0, status=RowStatus.INFEASIBLE),  # too large
        make("eesen", 64, None, None, None, None, status=RowStatus.ERROR),
        make("eesen", 2, 8e-3, 1.5e-3, 12.0, rtf=1.5, status=RowStatus.INFEASIBLE),
    ]


def _best(data: dict[str, Any], network: str) -> dict[tuple[str, str], int | None]:
    """(condition, objective) -> the lanes of the best design, or None."""
    best = data["networks"][network]["best"]
    return {
        (b["condition"], b["objective"]): (b["point"] or {"axes": {"dpu.lanes": None}})["axes"][
            "dpu.lanes"
        ]
        for b in best
    }


def test_best_design_under_each_constraint(rows: list[SweepRow]) -> None:
    data = summary_data("t", rows, OBJECTIVES, (SMALL, REAL_TIME), {}, datetime.now(UTC))
    best = _best(data, "eesen")
    assert best[(NO_CONSTRAINT, "latency_s")] == 32  # infeasible rows were evaluated
    assert best[(NO_CONSTRAINT, "energy_j")] == 4
    assert best[(str(SMALL), "latency_s")] == 16
    assert best[(str(SMALL), "area_mm2")] == 4
    assert best[(str(REAL_TIME), "latency_s")] == 32  # fits real time, too large
    assert best[(str(REAL_TIME), "area_mm2")] == 4
    assert best[(ALL_CONSTRAINTS, "latency_s")] == 16
    assert best[(ALL_CONSTRAINTS, "energy_j")] == 4
    assert len(best) == 4 * 3  # none, each constraint, all; x the objectives


def test_front_counts_and_markdown(rows: list[SweepRow]) -> None:
    data = summary_data("t", rows, OBJECTIVES, (SMALL,), {}, datetime.now(UTC))
    net = data["networks"]["eesen"]
    assert net["counts"] == {"ok": 3, "error": 1, "infeasible": 2}
    assert sorted(p["axes"]["dpu.lanes"] for p in net["front"]) == [4, 8, 16]
    assert ALL_CONSTRAINTS not in {b["condition"] for b in net["best"]}  # one constraint only
    text = summary_markdown(data)
    assert "### Best design under each constraint" in text
    assert "| area_mm2 <= 20 | latency_s | dpu.lanes=16 [" in text
    assert "### Pareto front (3 of 3 points that meet the constraints)" in text


def test_the_paper_design_on_the_front(rows: list[SweepRow]) -> None:
    papers = {"eesen": paper_point("eesen", rows, SramSource.TABLE)}
    data = summary_data("t", rows, OBJECTIVES, (SMALL,), papers, datetime.now(UTC))
    paper = data["networks"]["eesen"]["paper_design"]
    assert paper["source"] == "sweep" and paper["on_front"]
    assert paper["dominated_by_front_points"] == 0 and paper["latency_s"] == 1e-3


def test_consistency_section_only_with_tegra_figures(rows: list[SweepRow]) -> None:
    data = summary_data("t", rows, OBJECTIVES, (), {}, datetime.now(UTC))
    assert "paper_consistency" not in data
    extra = {"energy_reduction_vs_tegra": PAPER_ENERGY_REDUCTION,
             "speedup_vs_tegra": THESIS_SPEEDUP, "tegra_real_time_factor": 2.0}  # fmt: skip
    tegra = [make(n, 16, 1e-3, 1e-3, 10.0, extra=extra) for n in ZOO_NAMES]
    data = summary_data("t", tegra, OBJECTIVES, (), {}, datetime.now(UTC))
    assert data["paper_consistency"]["holding"] == 1
    assert "## Can the paper's three statements hold together?" in summary_markdown(data)


def test_write_summary_writes_json_markdown_and_figures(rows: list[SweepRow],
                                                        tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps({"name": "small", "sram": "table"}))
    written = write_summary(tmp_path, rows, OBJECTIVES, (SMALL,))
    names = sorted(p.name for p in written)
    assert names == ["front_eesen.png", "front_eesen.svg", "summary.json", "summary.md"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["name"] == "small" and data["networks"]["eesen"]["figures"] == [
        "front_eesen.png", "front_eesen.svg"]  # fmt: skip
    svg = ET.fromstring((tmp_path / "front_eesen.svg").read_bytes())
    texts = {"".join(t.itertext()).strip() for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"latency per sequence (ms)", "energy per sequence (mJ)", "area (mm²)"} <= texts
    assert any(re.search(r"paper's design", t) for t in texts)  # the legend names the star
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_spec_settings_fall_back_to_the_rows(rows: list[SweepRow], tmp_path: Path) -> None:
    assert spec_settings(tmp_path, rows) == SpecSettings(tmp_path.name, SramSource.TABLE)
    spec = {"name": "x", "sram": "none", "networks": [{"name": "gmat"}, {"name": "eesen"}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    assert spec_settings(tmp_path, rows) == SpecSettings("x", SramSource.NONE, ("gmat", "eesen"))


def test_networks_in_the_specs_order(tmp_path: Path) -> None:
    spec = {"name": "x", "networks": [{"name": "gmat"}, {"name": "eesen"}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    plain = [SweepRow(n, n, n, "{}", {}, RowStatus.OK, latency_s=1.0, energy_j=1.0,
                      area_mm2=1.0) for n in ("eesen", "gmat")]  # fmt: skip
    write_summary(tmp_path, plain, OBJECTIVES, ())  # no SRAM source known: nothing evaluated
    assert list(json.loads((tmp_path / "summary.json").read_text())["networks"]) == [
        "gmat",
        "eesen",
    ]
