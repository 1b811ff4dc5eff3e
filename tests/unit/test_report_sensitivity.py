"""The sensitivity of ``epur reproduce``'s headline averages, its Tegra scenarios and the
consistency check of the paper's three statements."""

from __future__ import annotations

from typing import Any

import pytest

from epur.arch import ArchConfig, paper_preset
from epur.energy import sram_backend
from epur.report.consistency import THESIS_SPEEDUP, consistency
from epur.report.reproduce import Reproduction, reproduce, reproduction_json, reproduction_results
from epur.report.sensitivity import EPUR_ASSUMPTIONS, EpurFigures, sensitivity
from epur.report.tegra import DEFAULT_SCENARIO, SCENARIOS


@pytest.fixture(scope="module")
def rep() -> Reproduction:
    return reproduce(paper_preset(), sram_backend("table"))


@pytest.fixture(scope="module")
def data(rep: Reproduction) -> dict[str, Any]:
    return reproduction_json(rep)


def _inputs(rep: Reproduction) -> tuple[dict[str, Any], dict[str, EpurFigures], dict[str, Any]]:
    cases = rep.faithful()
    nets = {c.key: c.network for c in cases}
    epur = {
        c.key: EpurFigures(c.designs["mwl"].timing.latency_s(), c.designs["mwl"].energy.total_j)
        for c in cases
        if c.designs["mwl"].energy is not None
    }
    return nets, epur, {c.key: c.tegra for c in cases}


def test_results_json_has_every_scenario_and_the_band(data: dict[str, Any]) -> None:
    assert set(data["scenarios"]) == set(SCENARIOS)
    for s in data["scenarios"].values():
        assert {"energy_reduction_avg", "speedup_avg", "step_overhead_s", "power_w"} <= s.keys()
        assert set(s["networks"]) == set(data["networks"])
    default = data["scenarios"][DEFAULT_SCENARIO]
    summary = data["summary"]
    assert summary["speedup_vs_tegra_x1_avg"] == default["speedup_avg"]
    lo, hi = summary["speedup_vs_tegra_x1_range"]
    ends = [v for r in data["sensitivity"] if r["speedup_avg"] for v in r["speedup_avg"]]
    assert (lo, hi) == (min(ends), max(ends))
    assert lo <= summary["speedup_vs_tegra_x1_avg"] <= hi
    lo, hi = summary["energy_reduction_vs_tegra_x1_range"]
    assert lo < summary["energy_reduction_vs_tegra_x1_avg"] < hi
    for row in data["sensitivity"]:
        assert {"assumption", "low", "high", "reason", "energy_reduction_avg", "speedup_avg"} <= (
            row.keys()
        )


def test_power_scales_only_the_energy_reduction(data: dict[str, Any]) -> None:
    row = next(r for r in data["sensitivity"] if r["assumption"] == "tegra.power_w")
    default = data["scenarios"][DEFAULT_SCENARIO]
    ratio = default["energy_reduction_avg"] / default["power_w"]
    assert row["energy_reduction_avg"] == pytest.approx([4 * ratio, 10 * ratio], rel=1e-12)
    assert row["speedup_avg"] == [default["speedup_avg"]] * 2


def test_tegra_assumptions_never_rerun_epur_and_epur_ones_change_one_field(
    rep: Reproduction,
) -> None:
    nets, epur, tegra = _inputs(rep)
    runs: list[ArchConfig] = []

    def run(arch: ArchConfig) -> dict[str, EpurFigures]:
        runs.append(arch)
        return epur

    sens = sensitivity(rep.arch, nets, epur, tegra, rep.tegras[DEFAULT_SCENARIO], rep.tegras,
                       None, run)  # fmt: skip
    preset = rep.arch.model_dump()
    changed = []
    for arch in runs:
        diff = [
            f"{group}.{k}" for group, fields in arch.model_dump().items()
            if isinstance(fields, dict) for k, v in fields.items() if preset[group][k] != v
        ]  # fmt: skip
        assert len(diff) == 1
        changed += diff
    wired = {a.key for a in EPUR_ASSUMPTIONS} - set(sens.not_wired)
    assert set(changed) == wired  # every E-PUR assumption runs E-PUR; no Tegra one does
    tegra_rows = [r for r in sens.rows if r.assumption.startswith("tegra.")]
    assert len(tegra_rows) >= 4


def test_the_paper_statements_do_not_hold_and_the_needed_latency_makes_them(
    rep: Reproduction, data: dict[str, Any]
) -> None:
    nets, epur, _ = _inputs(rep)
    cons = consistency(nets, epur, rep.tegras[DEFAULT_SCENARIO])
    assert data["consistency"]["holds"] is cons.holds is False
    assert cons.latency_scale > 1
    # E-PUR at the latency the check says it would need: the 6.8x then fits
    slower = {k: EpurFigures(cons.required_latency_s[k], e.energy_j) for k, e in epur.items()}
    again = consistency(nets, slower, rep.tegras[DEFAULT_SCENARIO])
    least = min(f.speedup_at_real_time_bound for f in again.fits)
    assert least == pytest.approx(THESIS_SPEEDUP, rel=1e-9)
    # and with energies that make the needed power 7 W, all three hold
    best = min(again.fits, key=lambda f: f.speedup_at_real_time_bound)
    assert best.power_w_for_energy is not None
    scaled = {
        k: EpurFigures(e.latency_s, (e.energy_j or 0.0) * 7.0 / best.power_w_for_energy)
        for k, e in slower.items()
    }
    assert consistency(nets, scaled, rep.tegras[DEFAULT_SCENARIO]).holds
    assert "No." in cons.explanation and f"{cons.latency_scale:.3g}x" in cons.explanation


def test_report_says_whether_the_statements_hold(rep: Reproduction) -> None:
    from epur.report.html import report_html

    page = report_html(reproduction_results(rep), {})
    assert "Can the paper's statements hold together?" in page
    assert "<b>No.</b>" in page and "Tegra X1 scenarios" in page
    for name in SCENARIOS:
        assert f'<td class="l n">{name}</td>' in page
