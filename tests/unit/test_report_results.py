"""``epur reproduce``'s typed results: built once from the ``Reproduction``, frozen,
the source of ``results.json`` and of every table (with and without an energy model)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from epur.arch import paper_preset
from epur.energy import sram_backend
from epur.report.paper_claims import CLAIM_HEADERS
from epur.report.reproduce import DESIGNS, reproduce, reproduction_json
from epur.report.reproduction_results import ReproductionResults, reproduction_results
from epur.report.results import RESULT_HEADERS, reproduction_text, result_rows
from epur.report.tegra import DEFAULT_SCENARIO


@pytest.fixture(scope="module")
def results() -> ReproductionResults:
    return reproduction_results(reproduce(paper_preset(), sram_backend("table")))


@pytest.fixture(scope="module")
def timing_only() -> ReproductionResults:
    return reproduction_results(reproduce(paper_preset(), None))


def test_results_are_frozen(results: ReproductionResults) -> None:
    case = results.cases[0]
    for obj in (results, results.summary, case, case.designs["mwl"], case.tegra_x1,
                results.claims[0], results.scenarios[0]):  # fmt: skip
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, dataclasses.fields(obj)[0].name, "changed")


def test_json_is_what_reproduction_json_writes(results: ReproductionResults) -> None:
    rep = reproduce(paper_preset(), sram_backend("table"))
    assert json.dumps(results.json()) == json.dumps(reproduction_json(rep))
    data = results.json()
    assert list(data["networks"]) == [c.key for c in results.networks]
    assert list(data["known_inputs"]) == ["gmat"]
    assert data["summary"]["tegra_scenario"] == DEFAULT_SCENARIO
    assert all(list(row) == CLAIM_HEADERS for row in data["paper_vs_epur"])
    energy = results.networks[0].designs["mwl"].energy
    assert energy is not None
    red = data["networks"]["eesen"]["mwl"]["energy_reduction_vs_tegra_x1"]
    assert red == energy.energy_reduction_vs_tegra_x1


def test_rows_follow_the_cases(results: ReproductionResults) -> None:
    rows = result_rows(results)
    assert all(len(row) == len(RESULT_HEADERS) for row in rows)
    names = list(dict.fromkeys(row[0] for row in rows))
    assert names == ["EESEN", "GMAT", "GMAT (known inputs)", "BYSDNE", "RLDRADSPR"]
    assert [row[1] for row in rows[: len(DESIGNS) + 1]] == [*DESIGNS, "tegra_x1 (modelled)"]


def test_without_an_energy_model_the_energy_cells_are_blank(
    timing_only: ReproductionResults,
) -> None:
    assert timing_only.summary.energy_reduction_avg is None
    assert timing_only.summary.bands is None and timing_only.sensitivity is None
    data = timing_only.json()
    assert "energy_j" not in data["networks"]["eesen"]["mwl"]
    assert "speedup_vs_tegra_x1_range" not in data["summary"]
    design_rows = [row for row in result_rows(timing_only) if row[1] in DESIGNS]
    assert all(row[4:8] == ["", "", "", ""] and row[10] == "" for row in design_rows)
    claims = [c.claim for c in timing_only.claims]
    assert "chip area" not in claims and "all three statements at once" not in claims
    assert "consistency check" not in reproduction_text(timing_only, timing_only.changes)
