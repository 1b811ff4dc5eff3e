"""Pareto fronts of a sweep's results, and the best point under a set of constraints.

Every objective is minimised. A point *dominates* another when it is no worse in every
objective and better in at least one; the front is the set of points no other point
dominates. Only rows that were evaluated, meet every constraint of the spec (status
``ok``) and know every objective (finite values) are candidates. The front is exact (no
tolerance: equal values are equal, ``1e-300`` less is better) and deterministic: points
with equal objective vectors dominate none of each other and are all kept, and a front
lists its points by ``point_id``.

The front is found by sorting the candidates lexicographically on the objectives: a
point can only be dominated by one sorted before it, and (dominance being transitive)
by one already on the front, so each candidate is compared with the front so far, in
one numpy comparison: O(n log n + n x front) for n candidates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from epur.sweep.rows import Constraint, Objective, RowStatus, SweepRow

__all__ = [
    "EVALUATED",
    "Front",
    "best_row",
    "by_network",
    "dominates",
    "front_by_network",
    "objective_vector",
    "pareto_front",
]

EVALUATED = frozenset({RowStatus.OK, RowStatus.INFEASIBLE})
"""The statuses of rows whose outputs are known (an ``infeasible`` row was evaluated and
fails a constraint of the spec)."""


@dataclass(frozen=True, slots=True)
class Front:
    """The Pareto front of one network: ``points`` ordered by ``point_id``;
    ``candidates`` is how many rows were compared (status ``ok``, every objective known)."""

    network: str
    objectives: tuple[Objective, ...]
    points: tuple[SweepRow, ...]
    candidates: int

    @property
    def point_ids(self) -> tuple[str, ...]:
        return tuple(row.point_id for row in self.points)


def objective_vector(row: SweepRow, objectives: Sequence[Objective]) -> tuple[float, ...] | None:
    """The row's objective values in order, or ``None`` when one is unknown or not finite."""
    values = []
    for which in objectives:
        value = row.objective(which)
        if value is None or not math.isfinite(value):
            return None
        values.append(value)
    return tuple(values)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether objective vector ``a`` dominates ``b`` (all minimised): no worse in every
    objective and better in one."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def pareto_front(rows: Iterable[SweepRow], objectives: Sequence[Objective]) -> list[SweepRow]:
    """The rows of ``rows`` on the Pareto front over ``objectives`` (module docstring),
    ordered by ``point_id``. ``rows`` should hold one network's points."""
    import numpy as np

    if not objectives:
        raise ValueError("a Pareto front needs at least one objective")
    candidates = []
    for row in rows:
        vector = objective_vector(row, objectives)
        if row.status is RowStatus.OK and vector is not None:
            candidates.append((vector, row.point_id, row))
    candidates.sort(key=lambda c: (c[0], c[1]))
    kept: list[SweepRow] = []
    front = np.empty((len(candidates), len(objectives)))
    size = 0
    for vector, _, row in candidates:
        point = np.asarray(vector)
        ahead = front[:size]
        no_worse = np.all(ahead <= point, axis=1)
        better = np.any(ahead < point, axis=1)
        if not np.any(no_worse & better):
            front[size] = point
            size += 1
            kept.append(row)
    return sorted(kept, key=lambda r: r.point_id)


def by_network(rows: Iterable[SweepRow]) -> dict[str, list[SweepRow]]:
    """The rows grouped by network, networks in order of first appearance."""
    groups: dict[str, list[SweepRow]] = {}
    for row in rows:
        groups.setdefault(row.network, []).append(row)
    return groups


def front_by_network(rows: Iterable[SweepRow], objectives: Sequence[Objective]) -> dict[str, Front]:
    """One Pareto front per network (``pareto_front``)."""
    fronts = {}
    for network, group in by_network(rows).items():
        candidates = sum(
            r.status is RowStatus.OK and objective_vector(r, objectives) is not None for r in group
        )
        fronts[network] = Front(
            network, tuple(objectives), tuple(pareto_front(group, objectives)), candidates
        )
    return fronts


def best_row(
    rows: Iterable[SweepRow],
    objective: Objective,
    constraints: Sequence[Constraint] = (),
    tie_break: Sequence[Objective] = (),
) -> SweepRow | None:
    """The evaluated row (status ``ok`` or ``infeasible``) that meets every constraint of
    ``constraints`` and has the least ``objective``; ties go to the least ``tie_break``
    objectives in order (unknown ones last), then the least ``point_id``. ``None`` when no
    row qualifies."""

    def key(row: SweepRow) -> tuple[float, tuple[float, ...], str]:
        others = tuple(
            v if (v := row.objective(o)) is not None and math.isfinite(v) else math.inf
            for o in tie_break
        )
        return (row.objective(objective) or 0.0, others, row.point_id)

    qualified = [
        row
        for row in rows
        if row.status in EVALUATED
        and objective_vector(row, (objective,)) is not None
        and all(c.holds(row) for c in constraints)
    ]
    return min(qualified, key=key, default=None)
