"""The comparison's text, JSON and explanation, on a comparison built without SCALE-Sim
(every GEMM from the closed form), with hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from epur.arch import paper_preset
from epur.evaluation import evaluate
from epur.peers.compare import GemmResult, ScaleSimComparison, Source
from epur.peers.gemms import GemmKind, network_gemms
from epur.peers.report import comparison_json, comparison_text, epur_figures, explanation
from epur.peers.systolic import Array, SystolicDataflow, closed_form_cycles
from epur.workload import load_network

SMALL = Path(__file__).resolve().parents[2] / "examples" / "small_lstm.yaml"


@pytest.fixture(scope="module")
def closed() -> ScaleSimComparison:
    ev = evaluate(load_network(SMALL), paper_preset())
    array, df = Array(16, 4), SystolicDataflow.WS
    gemms = tuple(
        GemmResult(g, Source.CLOSED_FORM, None, None, c, c, None)
        for g in network_gemms(ev.schedule)
        for c in [closed_form_cycles(g.shape, array, df)]
    )
    return ScaleSimComparison(ev, array, True, df, 100, "3.0.0", gemms, 0, 0.0)


def test_totals_by_hand(closed: ScaleSimComparison) -> None:
    # per run on 16x4 WS: folds x (34 + M) - 1
    recurrent = 8 * 128 * 35 - 1  # (1 x 128) . (128 x 512), 200 runs
    inputs = 3 * 128 * 134 - 1 + 8 * 128 * 134 - 1  # (100 x 40), (100 x 128) . (. x 512)
    fc = 8 * 3 * 134 - 1  # (100 x 128) . (128 x 12)
    assert closed.cycles == 200 * recurrent + inputs + fc == 7_359_685
    assert closed.macs == 21_862_400
    assert closed.utilization() == pytest.approx(21_862_400 / (7_359_685 * 64))
    assert closed.utilization(GemmKind.RECURRENT) == pytest.approx(128 * 512 / (recurrent * 64))
    assert closed.cycles_of(GemmKind.RECURRENT) == 200 * recurrent
    assert not closed.complete and closed.word_bytes == 2 and closed.fill_cycles == 34


def test_epur_figures(closed: ScaleSimComparison) -> None:
    c, f = closed.epur.timing.total, epur_figures(closed.epur)
    port = 16 * 2  # bytes: 16 lanes x 16-bit words, the paper preset's ports
    reads = c.weight_buffer_reads + c.input_buffer_reads + c.intermediate_memory_reads
    assert f["sram_read_bytes"] == port * reads
    assert f["sram_read_bytes"] >= 2 * 2 * c.macs  # a weight and an input per MAC
    assert (f["cycles"], f["macs"]) == (c.cycles, c.macs)
    assert f["dram_weight_read_bytes"] == c.dram_weight_bytes


def test_text_and_explanation(closed: ScaleSimComparison) -> None:
    text = comparison_text(closed)
    assert "closed form" in text and "--sample-cycles) count no SRAM or DRAM accesses" in text
    why = explanation(closed)
    ratio = 7_359_685 / closed.epur.timing.total.cycles
    assert why.startswith(f"SCALE-Sim needs {ratio:,.1f}x E-PUR's cycles for the same 21,862,400")
    # the recurrent GEMV: 8 x 128 folds, each 1 of 4 columns... of 16 rows x 4 columns
    assert "as 1,024 folds, each holding work for 100% of its multipliers" in why
    assert "paying 34 cycles of systolic fill and drain for 1 cycles of streaming" in why
    assert "which fetches each weight once per sequence" in why


def test_json(closed: ScaleSimComparison) -> None:
    data = comparison_json(closed)
    assert data["schema"] == "epur-compare-scalesim/1"
    assert data["scalesim"]["complete"] is False
    assert data["scalesim"]["totals"]["cycles"] == 7_359_685
    assert [g["source"] for g in data["scalesim"]["gemms"]] == ["closed form"] * 4
    assert all(g["accesses"] is None and g["sample"] is None for g in data["scalesim"]["gemms"])
    assert data["epur"]["dataflow"] == "mwl" and data["epur"]["arch_changes"] == []
