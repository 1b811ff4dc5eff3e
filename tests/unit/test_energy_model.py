"""The energy and area model: sums, monotonicity, MWL's saving, CACTI figures in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from epur.arch import apply_overrides, paper_preset
from epur.cli import main
from epur.energy import energy, energy_table, memory_specs, sram_backend
from epur.energy.logic import op_energy_j
from epur.errors import BackendError
from epur.evaluation import evaluate
from epur.numerics import parse_format
from epur.timing import AccessCycles
from epur.workload import zoo_network
from epur.workload.zoo import ZOO_NAMES

TABLE = sram_backend("table")


def test_logic_energies_are_horowitz_scaled_by_stillmaker_and_baas() -> None:
    logic = paper_preset().logic
    # Horowitz 2014 at 45 nm: fp16 multiply 1.1 pJ; Stillmaker & Baas 28 nm factor 0.42
    assert op_energy_j("mul", parse_format("fp16"), logic, 28) == pytest.approx(1.1e-12 * 0.42)
    assert op_energy_j("add", parse_format("fp32"), logic, 45) == pytest.approx(0.9e-12)
    assert op_energy_j("mul", parse_format("q8.8"), logic, 32) == pytest.approx(1.0e-12 * 0.531)


def test_logic_constants_can_be_overridden() -> None:
    arch = apply_overrides(paper_preset(), ["logic.mul_fp16_pj=2.2", "logic.mul_fp16_um2=3280"])
    base, doubled = energy_table(paper_preset(), TABLE), energy_table(arch, TABLE)
    assert doubled.mul_j == pytest.approx(2 * base.mul_j)
    assert doubled.area_mm2["dpu"] > base.area_mm2["dpu"]


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_breakdowns_sum_to_totals(name: str) -> None:
    ev = evaluate(zoo_network(name), paper_preset(), "mwl", energy_backend=TABLE)
    assert ev.energy is not None and ev.energy_table is not None
    assert sum(ev.energy.breakdown_j().values()) == pytest.approx(ev.energy.total_j, rel=1e-12)
    dynamic = sum(sum(le.dynamic_j.values()) for le in ev.layer_energy)
    assert dynamic == pytest.approx(sum(ev.energy.dynamic_j.values()), rel=1e-9)
    assert ev.energy.power_w == pytest.approx(ev.energy.total_j / ev.timing.latency_s())
    assert set(ev.energy_table.area_mm2) >= {"weight_buffer", "input_buffer", "intermediate_memory"}


def test_energy_grows_with_sequence_length() -> None:
    net = zoo_network("eesen")
    energies = [
        evaluate(net.with_seq_len(t), paper_preset(), "mwl", energy_backend=TABLE).energy
        for t in (10, 100, 800)
    ]
    totals = [e.total_j for e in energies if e is not None]
    assert totals[0] < totals[1] < totals[2]


def test_mwl_spends_less_dram_energy_when_weights_do_not_fit() -> None:
    for net in (zoo_network("rldradspr"), zoo_network("gmat").with_known_inputs()):
        base = evaluate(net, paper_preset(), "baseline", energy_backend=TABLE).energy
        mwl = evaluate(net, paper_preset(), "mwl", energy_backend=TABLE).energy
        assert base is not None and mwl is not None
        assert mwl.dynamic_j["dram"] < base.dynamic_j["dram"]


def test_energy_is_count_times_energy_per_event() -> None:
    table = energy_table(paper_preset(), TABLE)
    ev = evaluate(zoo_network("bysdne"), paper_preset(), "baseline")
    e = energy(ev.timing.total, 1.0, table)
    assert e.dynamic_j["dram"] == pytest.approx(ev.timing.total.dram_bytes * 8 * 10e-12)
    assert e.leakage_j == pytest.approx(table.leakage_w)


def test_unrecorded_memories_and_unknown_backends_are_errors() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.capacity_bytes=3MiB"])
    with pytest.raises(
        BackendError, match=r"^no recorded CACTI result for SramSpec\(capacity_bytes=3145728"
    ):
        energy_table(arch, TABLE)
    with pytest.raises(
        BackendError, match=r"^energy backend must be one of auto, cacti, table, none, not 'spice'"
    ):
        sram_backend("spice")


def test_no_backend_is_timing_alone() -> None:
    """``none``: no SRAM model, so no energy, no area, and every access takes one cycle."""
    assert sram_backend("none") is None
    ev = evaluate(zoo_network("bysdne"), paper_preset(), "mwl", energy_backend=None)
    assert ev.energy is None and ev.energy_table is None and ev.energy_backend == "none"
    assert ev.timing.access_cycles == AccessCycles(1, 1, 1)


def test_recorded_table_equals_the_binary(tmp_path: Path) -> None:
    from epur.energy.backend import _recorded
    from epur.energy.cacti import SramSpec, run_cacti

    specs = [SramSpec(**json.loads(key)) for key in _recorded()]
    assert set(memory_specs(paper_preset()).values()) <= set(specs)
    for spec in specs:
        assert TABLE.sram(spec) == run_cacti(spec, cache_dir=tmp_path)


def test_json_sram_figures_are_what_cacti_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from epur.energy.cacti import _execute as execute
    from epur.energy.cacti import find_cacti, parse_cacti

    out = tmp_path / "o.json"
    argv = ["simulate", "--network", "bysdne", "--energy-backend", "cacti", "--json", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    for memory in data["memories"]:
        text = execute(find_cacti(), data["cacti_config"][memory["name"]], 120)
        direct = parse_cacti(text, memory["banks"])
        for key in ("read_energy_j", "write_energy_j", "leakage_w", "area_mm2", "cycle_time_s"):
            assert memory[key] == getattr(direct, key)
    assert data["total"]["energy_j"] == pytest.approx(
        sum(data["total"]["energy_breakdown_j"].values())
    )


def test_memory_timing_reports_cycle_time_and_access_rate() -> None:
    from epur.energy import memory_timing

    ev = evaluate(
        zoo_network("eesen"), paper_preset(), "mwl", energy_backend=TABLE, bank_for_clock=False
    )
    assert ev.energy_table is not None
    timing = {m.name: m for m in memory_timing(ev.timing.total, ev.energy_table, 500_000_000)}
    im = ev.energy_table.memories[2].result
    assert timing["intermediate_memory"].cycles_per_access == -(-im.cycle_time_s * 5e8 // 1)
    assert timing["intermediate_memory"].cycles_per_access == 2  # 2.84 ns at a 2 ns clock
    assert not timing["intermediate_memory"].fits_clock
    assert "charged" in (timing["intermediate_memory"].note or "")
    total = ev.timing.total
    wb_rate = (total.weight_buffer_reads + total.weight_buffer_writes) / 4 / total.cycles
    assert timing["weight_buffer"].accesses_per_cycle == pytest.approx(wb_rate)
    # The timing model charges every port conflict, so no port is ever oversubscribed.
    for m in timing.values():
        assert m.accesses_per_cycle <= 1 / m.cycles_per_access


def test_evaluate_charges_the_sram_cycle_times_to_the_timing_model() -> None:
    from epur.energy import access_cycles

    ev = evaluate(
        zoo_network("eesen"), paper_preset(), "mwl", energy_backend=TABLE, bank_for_clock=False
    )
    assert ev.energy_table is not None
    assert ev.timing.access_cycles == access_cycles(ev.energy_table, 500_000_000)
    assert ev.timing.access_cycles.intermediate_memory == 2
    # EESEN's weight buffer is read once per chunk plus once per bias and peephole word:
    # one port cannot keep up with the DPU, and the model charges the difference.
    assert ev.timing.total.port_stall_cycles > 0


def test_the_sram_corner_is_in_the_summary_and_the_json() -> None:
    from epur.report.tables import evaluation_json, summary_text
    from tests.unit.test_energy_by_hand import FixedBackend

    arch = apply_overrides(paper_preset(), ["technology.temperature_k=300"])
    ev = evaluate(zoo_network("eesen"), arch, "mwl", energy_backend=FixedBackend())
    corner = {"cell_type": "itrs-lstp", "periphery_type": "itrs-lstp", "temperature_k": 300}
    assert evaluation_json(ev)["sram_corner"] == corner
    line = next(ln for ln in summary_text(ev).splitlines() if "SRAM figures" in ln)
    assert line.endswith("(fixed SRAM figures) at itrs-lstp cells, itrs-lstp periphery, 300 K")
