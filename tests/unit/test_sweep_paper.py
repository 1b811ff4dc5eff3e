"""The paper-consistency decision on constructed rows: a design that meets all three
statements, designs that each miss one, an undecided one, scenarios apart; and the
paper's design point found in a sweep or evaluated."""

from __future__ import annotations

from epur.evaluation import Design, SramSource, evaluate
from epur.report.consistency import PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP
from epur.report.tegra import REAL_TIME_NETWORKS
from epur.sweep.paper import Statement, has_tegra_extras, paper_consistency, paper_point
from epur.sweep.rows import Objective, RowStatus, SweepRow, point_id
from epur.workload.zoo import ZOO_NAMES, zoo_network

E, S = PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP


def rows_for(design: str, energy: list[float], speed: list[float], rtf: dict[str, float],
             scenario: str = "cudnn_measured", networks: tuple[str, ...] = ZOO_NAMES,
             status: RowStatus = RowStatus.OK) -> list[SweepRow]:  # fmt: skip
    """One row per network; ``energy``/``speed`` per network in ZOO_NAMES order; the Tegra's
    real-time factor 2 unless ``rtf`` says otherwise."""
    out = []
    for k, net in enumerate(ZOO_NAMES):
        if net not in networks:
            continue
        extra = {"energy_reduction_vs_tegra": energy[k], "speedup_vs_tegra": speed[k],
                 "tegra_real_time_factor": rtf.get(net, 2.0)}  # fmt: skip
        out.append(SweepRow(point_id(net, design + scenario), net, design, "{}",
                            {"dpu.lanes": design, "tegra_scenario": scenario}, status,
                            latency_s=1.0, energy_j=1.0, area_mm2=1.0, extra=extra))  # fmt: skip
    return out


def verdicts(rows: list[SweepRow]) -> dict[tuple[str, str | None], object]:
    cons = paper_consistency(rows)
    assert cons is not None
    return {(v.design_id, v.tegra_scenario): v for v in cons.verdicts}


def test_averages_over_the_four_networks_decide() -> None:
    # averages exactly at the bounds hold (">="); per-network values may fall below
    passes = rows_for("pass", [E - 10, E + 10, E, E], [S + 1, S - 1, S, S], {})
    low_energy = rows_for("energy", [E - 1, E, E, E], [S] * 4, {})
    low_speed = rows_for("speed", [E] * 4, [S, S, S, S - 0.01], {})
    real_time = rows_for("realtime", [E] * 4, [S] * 4, {REAL_TIME_NETWORKS[0]: 0.999})
    v = verdicts(passes + low_energy + low_speed + real_time)
    key = "cudnn_measured"
    assert v[("pass", key)].holds
    assert v[("energy", key)].met == (Statement.SPEEDUP, Statement.NOT_REAL_TIME)
    assert v[("speed", key)].met == (Statement.ENERGY, Statement.NOT_REAL_TIME)
    assert v[("realtime", key)].met == (Statement.ENERGY, Statement.SPEEDUP)
    cons = paper_consistency(passes + low_energy + low_speed + real_time)
    assert cons is not None and [x.design_id for x in cons.holding] == ["pass"]
    assert cons.verdicts[0].design_id == "pass"  # holding first
    data = cons.json()
    assert data["holding"] == 1 and data["decided"] == 4
    assert data["energy_reduction_required"] == E and data["speedup_required"] == S


def test_a_tegra_at_the_real_time_bound_misses_real_time() -> None:
    """A real-time factor of exactly 1 is not real time, as epur.report.consistency
    counts it (its paper-calibrated Tegra sits there on EESEN)."""
    at_bound = rows_for("bound", [E] * 4, [S] * 4, {REAL_TIME_NETWORKS[0]: 1.0})
    (v,) = verdicts(at_bound).values()
    assert Statement.NOT_REAL_TIME in v.met and v.holds


def test_a_missing_network_leaves_a_design_undecided() -> None:
    rows = rows_for("partial", [E * 2] * 4, [S * 2] * 4, {}, networks=ZOO_NAMES[:3])
    (v,) = verdicts(rows).values()
    assert not v.decided and not v.holds and v.missing == ZOO_NAMES[3:]


def test_error_rows_do_not_count_and_infeasible_ones_do() -> None:
    good = rows_for("d", [E] * 4, [S] * 4, {}, status=RowStatus.INFEASIBLE)
    (v,) = verdicts(good).values()
    assert v.holds and not v.feasible
    broken = rows_for("d", [E] * 4, [S] * 4, {}, status=RowStatus.ERROR)
    (v,) = verdicts(broken).values()
    assert not v.decided


def test_tegra_scenarios_are_judged_apart() -> None:
    rows = rows_for("d", [E] * 4, [S] * 4, {}, scenario="floor")
    rows += rows_for("d", [E] * 4, [S] * 4, {REAL_TIME_NETWORKS[1]: 0.5}, scenario="measured")
    v = verdicts(rows)
    assert v[("d", "floor")].holds and not v[("d", "measured")].holds


def test_no_tegra_figures_no_section() -> None:
    plain = [SweepRow("p", "eesen", "d", "{}", {}, RowStatus.OK, latency_s=1.0)]
    assert not has_tegra_extras(plain) and paper_consistency(plain) is None


def _row(net: str, design: Design, status: RowStatus, latency: float) -> SweepRow:
    return SweepRow(point_id(net, design.identity), net, design.identity, design.canonical_json(),
                    {}, status, latency_s=latency, energy_j=2.0, area_mm2=3.0)  # fmt: skip


def test_the_paper_point_is_the_sweeps_row_when_there_is_one() -> None:
    paper = Design.paper(sram=SramSource.TABLE)
    other = Design.paper(["dpu.lanes=8"], sram=SramSource.TABLE)
    rows = [_row("eesen", other, RowStatus.OK, 9.0), _row("eesen", paper, RowStatus.OK, 1.5)]
    found = paper_point("eesen", rows, SramSource.TABLE)
    assert found is not None and found.source == "sweep"
    assert found.values[Objective.LATENCY] == 1.5 and found.point_id == rows[1].point_id
    baseline = Design.paper(sram=SramSource.TABLE, dataflow="baseline")  # not the paper's point
    assert paper_point("eesen", [_row("eesen", baseline, RowStatus.OK, 1.0)], None) is None


def test_the_paper_point_is_evaluated_when_the_sweep_lacks_it() -> None:
    found = paper_point("eesen", [], SramSource.TABLE)
    ev = evaluate(zoo_network("eesen"), Design.paper(sram=SramSource.TABLE))
    assert found is not None and found.source == "evaluated"
    assert found.values[Objective.LATENCY] == ev.timing.latency_s()
    assert ev.energy is not None and found.values[Objective.ENERGY] == ev.energy.total_j
    assert paper_point("my_network.yaml", [], SramSource.TABLE) is None  # not a zoo network


def test_an_error_row_of_the_paper_design_falls_back_to_evaluating() -> None:
    rows = [_row("eesen", Design.paper(sram=SramSource.TABLE), RowStatus.ERROR, 1.0)]
    found = paper_point("eesen", rows, SramSource.TABLE)
    assert found is not None and found.source == "evaluated"


def test_each_compare_tegra_scenario_is_judged_from_its_named_figures() -> None:
    """The engine writes NAME.SCENARIO for every scenario of compare_tegra (and NAME
    against the first); a scenario that misses real time on one network fails there."""
    rows = []
    for net in ZOO_NAMES:
        extra: dict[str, float] = {}
        for scenario, rtf in (("floor", 0.5), ("paper_calibrated", 1.5)):
            extra |= {f"energy_reduction_vs_tegra.{scenario}": E,
                      f"speedup_vs_tegra.{scenario}": S,
                      f"tegra_real_time_factor.{scenario}": rtf}  # fmt: skip
        extra |= {"energy_reduction_vs_tegra": E, "speedup_vs_tegra": S,
                  "tegra_real_time_factor": 0.5}  # fmt: skip
        rows.append(SweepRow(point_id(net, "d"), net, "d", "{}", {}, RowStatus.OK, extra=extra))
    v = verdicts(rows)
    assert set(v) == {("d", "floor"), ("d", "paper_calibrated")}
    assert v[("d", "paper_calibrated")].holds
    assert v[("d", "floor")].met == (Statement.ENERGY, Statement.SPEEDUP)


def test_networks_without_a_frame_rate_need_no_tegra_real_time_factor() -> None:
    """GMAT and BYSDNE have no frame rate: the engine gives them no real-time factor."""
    rows = rows_for("d", [E] * 4, [S] * 4, {})
    for k, r in enumerate(rows):
        if r.network not in REAL_TIME_NETWORKS:
            extra = {**r.extra, "tegra_real_time_factor": None}
            rows[k] = SweepRow(r.point_id, r.network, r.design_id, "{}", r.axes, r.status,
                               extra=extra)  # fmt: skip
    (v,) = verdicts(rows).values()
    assert v.holds
    rows[0] = SweepRow(rows[0].point_id, "eesen", "d", "{}", rows[0].axes, RowStatus.OK,
                       extra={**rows[0].extra, "tegra_real_time_factor": None})  # fmt: skip
    (v,) = verdicts(rows).values()
    assert v.missing == ("eesen",)  # the real-time statement needs it on EESEN
