"""``energy_table(..., logic_area=LogicArea(...))``: a given per-CU logic area (the RTL's)
replaces exactly the DPU's and the MFU's areas, times the CUs; the chip area follows and
every energy, leakage and SRAM figure is what the published tables give."""

from __future__ import annotations

import dataclasses

import pytest

from epur.arch import paper_preset
from epur.energy import energy, energy_table, sram_backend
from epur.energy.logic_area import LogicArea
from epur.evaluation import evaluate
from epur.workload import zoo_network

TABLE = sram_backend("table")
GIVEN = LogicArea(dpu_mm2=0.0125, mfu_mm2=0.0375, source="rtl")


def test_a_given_logic_area_replaces_the_dpu_and_mfu_areas_times_the_cus() -> None:
    arch = paper_preset()
    assert arch.compute_units == 4
    base, given = energy_table(arch, TABLE), energy_table(arch, TABLE, logic_area=GIVEN)
    assert given.area_mm2["dpu"] == pytest.approx(4 * 0.0125, rel=1e-15)
    assert given.area_mm2["mfu"] == pytest.approx(4 * 0.0375, rel=1e-15)
    assert given.area_mm2["dpu"] != pytest.approx(base.area_mm2["dpu"])
    assert given.area_mm2["mfu"] != pytest.approx(base.area_mm2["mfu"])
    # every other component untouched, in the same order
    assert list(given.area_mm2) == list(base.area_mm2)
    others = {k: v for k, v in base.area_mm2.items() if k not in ("dpu", "mfu")}
    assert others and {k: given.area_mm2[k] for k in others} == others
    # the chip area follows: the SRAMs' plus the given logic
    assert given.chip_area_mm2 == pytest.approx(sum(others.values()) + 4 * (0.0125 + 0.0375))
    assert given.chip_area_mm2 - base.chip_area_mm2 == pytest.approx(
        4 * (0.0125 + 0.0375) - base.area_mm2["dpu"] - base.area_mm2["mfu"]
    )


def test_energies_leakage_and_srams_are_unchanged() -> None:
    arch = paper_preset()
    base, given = energy_table(arch, TABLE), energy_table(arch, TABLE, logic_area=GIVEN)
    for f in dataclasses.fields(base):
        if f.name != "area_mm2":
            assert getattr(given, f.name) == getattr(base, f.name), f.name
    ev = evaluate(zoo_network("eesen").with_seq_len(10), arch, "mwl", energy_backend=TABLE)
    assert ev.energy is not None and ev.energy_table is not None
    again = energy(
        ev.timing.total, ev.timing.latency_s(), energy_table(ev.arch, ev.energy_table.srams, GIVEN)
    )
    assert again == ev.energy


def test_no_logic_area_is_the_published_tables() -> None:
    arch = paper_preset()
    assert energy_table(arch, TABLE, logic_area=None) == energy_table(arch, TABLE)


@pytest.mark.parametrize(
    ("dpu", "mfu", "error"),
    [(-1.0, 0.1, ValueError), (0.1, float("nan"), ValueError), (0.1, float("inf"), ValueError),
     (True, 0.1, TypeError), ("0.1", 0.1, TypeError)],
)  # fmt: skip
def test_a_logic_area_is_a_finite_non_negative_number(
    dpu: object, mfu: object, error: type
) -> None:
    with pytest.raises(error):
        LogicArea(dpu, mfu, "rtl")  # type: ignore[arg-type]


def test_a_logic_area_names_its_source() -> None:
    with pytest.raises(ValueError, match="source"):
        LogicArea(0.1, 0.1, "")
