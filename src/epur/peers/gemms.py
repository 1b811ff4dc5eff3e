"""A network's work as GEMMs, read from E-PUR's schedule (MWL by default).

A GEMM tool sees no recurrence, so the schedule's phases become independent GEMMs:

* an MWL input phase (``W x_t`` for every step, each weight fetched once) is one GEMM
  ``(T*B x I) . (I x 4H)`` over the whole sequence; its tiles (weight rows that fit the
  weight buffer) are E-PUR's buffer detail and are merged back into one GEMM;
* a recurrent phase is, at every step, a GEMV ``(B x H) . (H x 4H)`` (plus the
  projection's, for LSTMP), run ``T`` times: step ``t`` needs ``h_{t-1}``;
* a fully-connected layer is one GEMM over its steps (MWL) or a GEMV per step.

Each distinct shape is listed once with the layer directions that run it and how often.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from epur.peers.systolic import GemmShape
from epur.schedule import Order, PhaseKind, Schedule

__all__ = ["Gemm", "GemmKind", "network_gemms"]


class GemmKind(StrEnum):
    """Where a GEMM comes from in the schedule."""

    INPUT = "input"  # MWL phase A: the input connections of every step at once
    RECURRENT = "recurrent"  # one step of the recurrence (a GEMV at batch 1)
    FEEDFORWARD = "feedforward"  # a fully-connected layer


@dataclass(frozen=True, slots=True)
class Gemm:
    """One GEMM shape of the network, run ``count`` times in one inference.

    ``users`` names the layer directions (and dot-product group) that run it; each
    runs it ``count / len(users)`` times.
    """

    kind: GemmKind
    shape: GemmShape
    count: int
    users: tuple[str, ...]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` runs."""
        return self.shape.macs * self.count

    @property
    def label(self) -> str:
        """The users, shortened: ``L1 (fw) gates`` or ``L2 (fw) input +7 more``."""
        first = self.users[0]
        return first if len(self.users) == 1 else f"{first} +{len(self.users) - 1} more"


_KINDS = {
    PhaseKind.INPUT: GemmKind.INPUT,
    PhaseKind.RECURRENT: GemmKind.RECURRENT,
    PhaseKind.FEEDFORWARD: GemmKind.FEEDFORWARD,
}


def _phase_gemms(schedule: Schedule) -> list[tuple[GemmKind, GemmShape, int, str]]:
    """(kind, shape, runs, user) for every dot-product group of every phase; the tiles
    of a work-major phase merged into one GEMM per user."""
    found: list[tuple[GemmKind, GemmShape, int, str]] = []
    b = schedule.batch
    for phase in schedule.phases:
        kind = _KINDS[phase.kind]
        if phase.order is Order.WORK_MAJOR:  # every step at once: one GEMM per user
            rows: dict[tuple[str, int], int] = defaultdict(int)
            for work in phase.works:
                for group in work.groups:
                    rows[(f"{work.label} {group.label}", group.length)] += sum(group.rows)
            found += [
                (kind, GemmShape(phase.steps * b, k, n), 1, user) for (user, k), n in rows.items()
            ]
        else:  # one GEMV (B rows) per step
            found += [
                (kind, GemmShape(b, g.length, sum(g.rows)), phase.steps, f"{w.label} {g.label}")
                for w in phase.works
                for g in w.groups
            ]
    return found


def network_gemms(schedule: Schedule) -> tuple[Gemm, ...]:
    """The distinct GEMMs of ``schedule``, in the order they first run."""
    counts: dict[tuple[GemmKind, GemmShape], int] = defaultdict(int)
    users: dict[tuple[GemmKind, GemmShape], list[str]] = defaultdict(list)
    for kind, shape, runs, user in _phase_gemms(schedule):
        counts[(kind, shape)] += runs
        users[(kind, shape)].append(user)
    return tuple(
        Gemm(kind, shape, counts[(kind, shape)], tuple(users[(kind, shape)]))
        for kind, shape in counts
    )
