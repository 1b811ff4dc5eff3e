"""The shared small layers (tests/layer_cases.py, which the RTL engine and the
functional model are checked on too): the closed-form timing model gives the
step-by-step reference's cycles and counts."""

from __future__ import annotations

import pytest

from epur.schedule import build_schedule
from epur.timing.model import simulate
from epur.timing.reference import simulate_reference
from tests.layer_cases import CASES, Case, ident


@pytest.mark.parametrize("case", CASES, ids=ident)
def test_closed_form_is_the_reference_on_the_shared_layers(case: Case) -> None:
    arch = case.arch()
    schedule = build_schedule(case.network(), arch, case.dataflow, case.tile_rows)
    assert simulate(schedule, arch) == simulate_reference(schedule, arch)
