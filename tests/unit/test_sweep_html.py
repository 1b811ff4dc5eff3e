"""The sweep's report page: rendered from summary.json and the figures alone,
self-contained, with the spec's name, date and version; a missing summary is an error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import epur
from epur.errors import EpurError
from epur.evaluation import Design, SramSource
from epur.report.consistency import PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP
from epur.sweep.html import render_report
from epur.sweep.rows import Constraint, Objective, RowStatus, SweepRow, point_id
from epur.sweep.summary import write_summary
from epur.workload.zoo import ZOO_NAMES


def _rows() -> list[SweepRow]:
    extra = {"energy_reduction_vs_tegra": PAPER_ENERGY_REDUCTION,
             "speedup_vs_tegra": THESIS_SPEEDUP / 2, "tegra_real_time_factor": 2.0}  # fmt: skip
    out = []
    for net in ZOO_NAMES[:2]:
        for lanes, (lat, en, area) in {8: (2e-3, 1e-3, 9.0), 16: (1e-3, 2e-3, 12.0),
                                       32: (0.5e-3, 3e-3, 25.0)}.items():  # fmt: skip
            d = Design.paper([f"dpu.lanes={lanes}"], sram=SramSource.TABLE)
            status = RowStatus.OK if area <= 20 else RowStatus.INFEASIBLE
            out.append(SweepRow(point_id(net, d.identity), net, d.identity, d.canonical_json(),
                                {"dpu.lanes": lanes, "tegra_scenario": "cudnn_measured"},
                                status, "", lat, en, area, 0.5, None, "0.1.0", extra))  # fmt: skip
    return out


def test_the_report_is_self_contained_and_names_the_sweep(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps({"name": "lanes <small>", "sram": "table"}))
    objectives = (Objective.LATENCY, Objective.ENERGY, Objective.AREA)
    write_summary(tmp_path, _rows(), objectives, (Constraint("area_mm2", max=20.0),))
    path = render_report(tmp_path)
    assert path == tmp_path / "report.html"
    page = path.read_text("utf-8")
    assert "epur sweep lanes &lt;small&gt;" in page  # escaped
    assert f"epur {epur.__version__}" in page.replace("\n", " ")
    assert re.search(r"summary written \d{4}-\d\d-\d\d", page)
    assert page.count("<svg") == 2  # one figure per network, inline
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", page)  # nothing fetched
    assert "Best design under each constraint" in page and "Pareto front" in page
    assert "Can the paper's three statements hold together?" in page
    assert "<b>No:</b> 0 of 0 decided" in page  # two networks only: undecided


def test_without_a_summary_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(EpurError, match=r"no summary.json \(run the sweep first\)"):
        render_report(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2]")
    with pytest.raises(EpurError, match="not a sweep summary"):
        render_report(tmp_path)
