"""Schedules: structure of the baseline and MWL orders, tiles, spills and errors."""

from __future__ import annotations

import pytest

from epur.errors import ScheduleError
from epur.schedule import ArrayKind, Dataflow, Order, PhaseKind, build_schedule
from epur.schedule._parts import resident_prefix, split_rows
from epur.workload import FCLayer, LSTMLayer, Network, Stack
from tests.conftest import tiny_arch


def net(*layers, t: int = 4, autoregressive: bool = False, batch: int = 1) -> Network:
    return Network("n", (Stack("main", t, tuple(layers), autoregressive),), batch=batch)


def test_split_rows_deals_round_robin() -> None:
    assert split_rows(10) == (3, 3, 2, 2)
    assert split_rows(3) == (1, 1, 1, 0)
    assert sum(split_rows(1023)) == 1023


def test_resident_prefix_fills_in_order() -> None:
    w = resident_prefix([(5, 5, 5, 5), (5, 5, 5, 5), (5, 5, 5, 5)], capacity=12)
    assert [x.resident for x in w] == [(5,) * 4, (5,) * 4, (2,) * 4]
    assert w[2].overflow == (3,) * 4


def test_baseline_has_one_recurrent_phase_per_direction() -> None:
    s = build_schedule(net(LSTMLayer(3, 2, bidirectional=True)), tiny_arch(), "baseline")
    assert [(p.kind, p.reverse) for p in s.phases] == [
        (PhaseKind.RECURRENT, False),
        (PhaseKind.RECURRENT, True),
    ]
    (gates,) = s.phases[0].works[0].groups
    assert gates.rows == (2, 2, 2, 2) and gates.length == 3 + 2


def test_mwl_splits_input_and_recurrence() -> None:
    layer = LSTMLayer(6, 4, peepholes=True, projection_size=3)
    s = build_schedule(net(layer), tiny_arch(), Dataflow.MWL)
    a, b = s.phases
    assert (a.kind, a.order, a.drain_each_step) == (PhaseKind.INPUT, Order.WORK_MAJOR, False)
    assert (b.kind, b.order, b.drain_each_step) == (PhaseKind.RECURRENT, Order.STEP_MAJOR, True)
    (tile,) = a.works
    assert tile.groups[0].length == 6 and tile.groups[0].consts == (1, 1, 1, 1)
    gates, projection = b.works[0].groups
    assert gates.length == 3 and gates.consts == (1, 1, 0, 1)  # peepholes on i, f, o
    assert projection.rows == (1, 1, 1, 0) and projection.length == 4


def test_mwl_tiles_fill_the_weight_buffer() -> None:
    # W row with bias: (10 + 1) x 2 B = 22 B; 50 B hold 2 rows; 5 rows -> tiles 2, 2, 1
    arch = tiny_arch(**{"weight_buffer.capacity_bytes": 50})
    s = build_schedule(net(LSTMLayer(10, 5)), arch, "mwl")
    assert [w.groups[0].rows[0] for w in s.phases[0].works] == [2, 2, 1]
    s = build_schedule(net(LSTMLayer(10, 5)), arch, "mwl", tile_rows=1)
    assert len(s.phases[0].works) == 5


def test_tile_larger_than_the_buffer_is_an_error() -> None:
    arch = tiny_arch(**{"weight_buffer.capacity_bytes": 50})
    with pytest.raises(
        ScheduleError, match=r"^tile of 3 rows needs 66 bytes per CU .* \(2 rows fit\)$"
    ):
        build_schedule(net(LSTMLayer(10, 5)), arch, "mwl", tile_rows=3)


def test_a_row_that_does_not_fit_is_an_error() -> None:
    arch = tiny_arch(**{"weight_buffer.capacity_bytes": 20})
    with pytest.raises(
        ScheduleError, match=r"one row of W with its bias \(22 bytes\).* 2 bytes short"
    ):
        build_schedule(net(LSTMLayer(10, 5)), arch, "mwl")


def test_input_buffer_too_small_names_layer_and_shortfall() -> None:
    arch = tiny_arch(**{"input_buffer.capacity_bytes": 10})
    layer = LSTMLayer(8, 4, name="enc")
    with pytest.raises(
        ScheduleError,
        match=r"^layer enc \(fw\): one step needs 24 bytes .* is 10: 14 bytes short$",
    ):
        build_schedule(net(layer), arch, "baseline")


def test_intermediate_sequences_spill_when_memory_is_full() -> None:
    arch = tiny_arch(**{"intermediate_memory.capacity_bytes": 8})
    s = build_schedule(net(LSTMLayer(3, 2), LSTMLayer(2, 2), t=4), arch, "baseline")
    inner = next(a for a in s.arrays if a.kind == ArrayKind.SEQUENCE)
    assert (inner.rows, inner.resident_rows, inner.row_bytes) == (4, 2, 4)
    assert any("spill" in note for note in s.notes)


def test_autoregressive_stack_runs_step_major_with_state() -> None:
    layers = (LSTMLayer(4, 3), LSTMLayer(3, 3), FCLayer(3, 5))
    for flow in ("baseline", "mwl"):
        s = build_schedule(net(*layers, autoregressive=True), tiny_arch(), flow)
        (phase,) = s.phases
        assert phase.order == Order.STEP_MAJOR and len(phase.works) == 3
        states = [a for a in s.arrays if a.kind == ArrayKind.STATE]
        assert [(a.rows, a.elements) for a in states] == [(1, 6), (1, 6)]


def test_autoregressive_stack_rejects_bidirectional_layers() -> None:
    with pytest.raises(ScheduleError, match="cannot hold a layer that runs backward in time"):
        build_schedule(
            net(LSTMLayer(4, 3, bidirectional=True), autoregressive=True), tiny_arch(), "mwl"
        )


def test_external_features_come_from_main_memory() -> None:
    # layer 2 takes 3 from below + 5 external features per step
    s = build_schedule(net(LSTMLayer(4, 3), LSTMLayer(8, 3)), tiny_arch(), "baseline")
    ext = [a for a in s.arrays if a.name.endswith("external_in")]
    assert [(a.kind, a.elements) for a in ext] == [(ArrayKind.EXTERNAL, 5)]


def test_unknown_dataflow_and_bad_tile() -> None:
    with pytest.raises(ScheduleError, match=r"^dataflow must be baseline or mwl, not 'fast'$"):
        build_schedule(net(LSTMLayer(4, 3)), tiny_arch(), "fast")
    with pytest.raises(ScheduleError, match=r"^tile_rows must be a positive integer, not 0$"):
        build_schedule(net(LSTMLayer(4, 3)), tiny_arch(), "mwl", tile_rows=0)


def test_reverse_layer_runs_backward_in_both_dataflows() -> None:
    for flow in ("baseline", "mwl"):
        s = build_schedule(net(LSTMLayer(3, 2, reverse=True)), tiny_arch(), flow)
        assert all(p.reverse for p in s.phases)
        assert {w.direction.value for p in s.phases for w in p.works} == {"bw"}
