"""``Design``: one design point, its identity, and ``evaluate`` on it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from epur.arch import paper_preset
from epur.evaluation import Design, SramSource, evaluate
from epur.schedule import Dataflow
from epur.workload import zoo_network


def test_identity_is_the_canonical_json_and_survives_a_round_trip() -> None:
    a = Design.paper(["dpu.lanes=32"], dataflow="baseline")
    b = Design(arch=a.arch, dataflow=Dataflow.BASELINE)
    assert a == b and hash(a) == hash(b) and a.identity == b.identity
    assert Design.from_json(a.canonical_json()) == a
    assert Design.paper().identity != a.identity
    assert Design.paper(["dpu.lanes=16"]).identity == Design.paper().identity  # the default


def test_the_json_is_the_architectures_settings() -> None:
    """What ``ArchConfig.settings`` keeps (a derived field only where it was given) is
    what the identity covers, and what ``from_json`` validates again."""
    design = Design.paper(["dpu.lanes=32", "weight_buffer.banks=8"])
    again = Design.from_json(design.canonical_json())
    assert again.arch == design.arch and again.arch.settings() == design.arch.settings()


def test_bad_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="tile_rows"):
        Design.paper(dataflow="baseline", tile_rows=8)
    with pytest.raises(ValidationError):
        Design.paper(sram="spice")
    with pytest.raises(ValidationError):
        Design(arch=paper_preset(), colour="red")  # type: ignore[call-arg]


def test_evaluate_on_a_design_is_evaluate_on_its_fields() -> None:
    net = zoo_network("eesen")
    design = Design.paper(["dpu.lanes=32"], sram=SramSource.NONE, dataflow="baseline")
    got = evaluate(net, design)
    want = evaluate(net, design.arch, "baseline", None, None)
    assert got.timing.latency_s() == want.timing.latency_s() > 0
    assert got.energy is None and got.energy_backend == "none"
