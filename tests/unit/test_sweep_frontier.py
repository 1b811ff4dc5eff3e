"""Pareto fronts and the best point under constraints: fronts computed by hand, a brute
force reference on random sets, ties, and which rows are candidates."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from epur.sweep.frontier import best_row, dominates, front_by_network, pareto_front
from epur.sweep.rows import Constraint, Objective, RowStatus, SweepRow

LAT, EN, AREA = Objective.LATENCY, Objective.ENERGY, Objective.AREA


def row(pid: str, lat: float | None, en: float | None, area: float | None = 1.0,
        status: RowStatus = RowStatus.OK, network: str = "eesen") -> SweepRow:  # fmt: skip
    return SweepRow(pid, network, f"d-{pid}", "{}", {"k": pid}, status,
                    latency_s=lat, energy_j=en, area_mm2=area)  # fmt: skip


def ids(rows: list[SweepRow]) -> list[str]:
    return [r.point_id for r in rows]


def test_a_front_computed_by_hand() -> None:
    # (latency, energy): a, c, e are the front; b is dominated by a, d by c
    rows = [row("a", 1, 5), row("b", 2, 6), row("c", 3, 2), row("d", 3, 3), row("e", 6, 1)]
    assert ids(pareto_front(rows, (LAT, EN))) == ["a", "c", "e"]
    # with area: d's smaller area puts it on the front too
    rows[3] = row("d", 3, 3, area=0.5)
    assert ids(pareto_front(rows, (LAT, EN, AREA))) == ["a", "c", "d", "e"]


def test_one_objective_keeps_only_the_least() -> None:
    rows = [row("x", 2, 0), row("y", 1, 9), row("z", 3, 0)]
    assert ids(pareto_front(rows, (LAT,))) == ["y"]


def test_ties_are_kept_and_ordered_by_point_id() -> None:
    rows = [row("q", 1, 1), row("p", 1, 1), row("r", 1, 2), row("s", 0.5, 3)]
    # p and q are equal: neither dominates the other; r is equal in latency, worse in energy
    assert ids(pareto_front(rows, (LAT, EN))) == ["p", "q", "s"]


def test_only_ok_rows_with_every_objective_known_are_candidates() -> None:
    rows = [
        row("ok", 2, 2),
        row("infeasible", 1, 1, status=RowStatus.INFEASIBLE),
        row("error", None, None, status=RowStatus.ERROR),
        row("no-energy", 1, None),
        row("nan", float("nan"), 0.1),
    ]
    assert ids(pareto_front(rows, (LAT, EN))) == ["ok"]
    front = front_by_network(rows, (LAT, EN))["eesen"]
    assert front.candidates == 1 and front.point_ids == ("ok",)


def test_fronts_are_per_network() -> None:
    rows = [row("a", 1, 1, network="eesen"), row("b", 2, 2, network="gmat"),
            row("c", 3, 3, network="gmat")]  # fmt: skip
    fronts = front_by_network(rows, (LAT, EN))
    assert {n: f.point_ids for n, f in fronts.items()} == {"eesen": ("a",), "gmat": ("b",)}


def test_dominance() -> None:
    assert dominates((1, 1), (1, 2)) and dominates((0, 2), (1, 2))
    assert not dominates((1, 2), (1, 2))  # equal: no
    assert not dominates((0, 3), (1, 2))  # better in one, worse in the other: no


def _brute_force(rows: list[SweepRow], objectives: tuple[Objective, ...]) -> list[str]:
    vec = {r.point_id: tuple(r.objective(o) or 0.0 for o in objectives) for r in rows}
    return sorted(p for p in vec if not any(dominates(vec[q], vec[p]) for q in vec))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*(st.integers(0, 6),) * 3), min_size=1, max_size=40))
def test_matches_a_brute_force_reference(vectors: list[tuple[int, int, int]]) -> None:
    """Small integers force many ties; no dominated point is ever on the front."""
    rows = [row(f"p{k:03d}", a, b, c) for k, (a, b, c) in enumerate(vectors)]
    for objectives in ((LAT, EN, AREA), (EN, AREA), (AREA,)):
        front = pareto_front(rows, objectives)
        assert ids(front) == _brute_force(rows, objectives)
        for a, b in itertools.product(front, rows):
            va = [a.objective(o) or 0.0 for o in objectives]
            vb = [b.objective(o) or 0.0 for o in objectives]
            assert not dominates(vb, va)


def test_best_row_under_constraints_with_ties() -> None:
    rows = [
        row("a", 1.0, 9.0, area=30.0),  # fastest, too large
        row("b", 2.0, 5.0, area=10.0),
        row("c", 2.0, 4.0, area=10.0),  # same latency as b, less energy
        row("d", 5.0, 1.0, area=12.0, status=RowStatus.INFEASIBLE),  # evaluated: counts
        row("e", None, None, status=RowStatus.ERROR),
    ]
    small = (Constraint("area_mm2", max=20.0),)
    assert best_row(rows, LAT).point_id == "a"
    assert best_row(rows, LAT, small, (EN,)).point_id == "c"
    assert best_row(rows, LAT, small).point_id == "b"  # no tie-break: by point id
    assert best_row(rows, EN, small).point_id == "d"
    assert best_row(rows, LAT, (Constraint("area_mm2", max=1.0),)) is None
