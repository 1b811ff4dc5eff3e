"""How the functional model groups the schedule's phases (``_phases.co_executed``)."""

from __future__ import annotations

import pytest

from epur.arch import paper_preset
from epur.functional._phases import co_executed
from epur.schedule import PhaseKind, build_schedule
from epur.workload import zoo_network


@pytest.mark.parametrize(("dataflow", "groups"), [("baseline", 5), ("mwl", 10)])
def test_a_bidirectional_layers_two_directions_run_together(dataflow: str, groups: int) -> None:
    """EESEN: 5 bidirectional layers. The baseline pairs each layer's two recurrences;
    MWL pairs its two input phases, then its two recurrences."""
    schedule = build_schedule(zoo_network("eesen"), paper_preset(), dataflow)
    grouped = co_executed(schedule.phases)
    assert len(grouped) == groups
    for group in grouped:
        assert len(group) == 2
        (a,), (b,) = group[0].works, group[1].works
        assert a.layer == b.layer and a.direction != b.direction
        assert group[0].kind == group[1].kind
    kinds = [g[0].kind for g in grouped]
    if dataflow == "mwl":
        assert kinds == [PhaseKind.INPUT, PhaseKind.RECURRENT] * 5


def test_unidirectional_layers_run_one_phase_at_a_time() -> None:
    schedule = build_schedule(zoo_network("gmat"), paper_preset(), "baseline")
    for group in co_executed(schedule.phases):
        if len(group) == 2:
            assert group[0].works[0].direction != group[1].works[0].direction
