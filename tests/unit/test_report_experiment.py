"""``epur reproduce`` is a fixed experiment: designs and networks, each point evaluated
by ``evaluate(network, design)``, the function a sweep runs."""

from __future__ import annotations

from epur.arch import paper_preset
from epur.energy import sram_backend
from epur.evaluation import Design, SramSource, evaluate
from epur.report.reproduce import (
    DESIGNS,
    reproduce,
    reproduction_designs,
    reproduction_points,
)
from epur.schedule import Dataflow
from epur.timing import weight_buffer_design
from epur.workload import ZOO_NAMES, zoo_network


def test_the_experiment_is_three_designs_on_every_network() -> None:
    designs = reproduction_designs(paper_preset(), "table")
    assert tuple(designs) == DESIGNS
    assert {d.sram for d in designs.values()} == {SramSource.TABLE}
    assert designs["mwl"] == Design.paper(sram="table")
    assert designs["baseline_on_mwl_buffers"] == Design.paper(sram="table", dataflow="baseline")
    sized = [zoo_network(k).with_known_inputs() for k in ZOO_NAMES]
    base = weight_buffer_design(paper_preset(), sized, Dataflow.BASELINE)
    assert designs["baseline"] == Design(arch=base, dataflow="baseline", sram="table")
    assert len({d.identity for d in designs.values()}) == 3
    points = reproduction_points(designs)
    cases = [(p.case, p.known_inputs) for p in points[:: len(DESIGNS)]]
    assert cases == [("eesen", False), ("gmat", False), ("gmat", True), ("bysdne", False),
                     ("rldradspr", False)]  # fmt: skip
    assert all(p.design is designs[p.design_key] for p in points)


def test_every_point_is_what_evaluate_gives_for_its_design() -> None:
    rep = reproduce(paper_preset(), sram_backend("table"))
    assert rep.designs == reproduction_designs(paper_preset(), "table")
    assert rep.baseline_arch == rep.designs["baseline"].arch
    by_case = {(c.key, c.known_inputs): c for c in rep.cases}
    for point in reproduction_points(rep.designs):
        got = by_case[point.case, point.known_inputs].designs[point.design_key]
        direct = evaluate(point.network, point.design)
        assert got.timing == direct.timing and got.energy == direct.energy
        assert got.arch == direct.arch and got.banking == direct.banking
