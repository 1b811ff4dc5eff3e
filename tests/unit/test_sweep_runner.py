"""The sweep runner: the same rows whatever the executor, interrupted and resumed, or
two sweeps sharing a cold CACTI cache."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from epur.sweep.executors import DaskExecutor, InlineExecutor, PoolExecutor
from epur.sweep.rows import RowStatus, SweepRow
from epur.sweep.runner import run_sweep
from epur.sweep.spec import parse_sweep_spec
from epur.sweep.store import read_rows

SPEC: dict[str, Any] = {
    "networks": ["eesen", "bysdne"],
    "sram": "table",
    "axes": {"dpu.lanes": [4, 8, 16], "dataflow": ["mwl", "baseline"]},
    "constraints": {"real_time": True},
    "compare_tegra": ["cudnn_measured"],
}


def spec(**over: Any) -> Any:
    return parse_sweep_spec({**SPEC, **over}, "t", Path("."))


def test_rows_hold_inputs_outputs_and_comparisons(tmp_path: Path) -> None:
    rows = run_sweep(spec(), tmp_path, InlineExecutor()).rows
    assert len(rows) == 12 and rows == read_rows(tmp_path)
    assert [r.point_id for r in rows] == sorted(r.point_id for r in rows)
    ok = [r for r in rows if r.status is RowStatus.OK]
    assert ok, [r.message for r in rows]
    assert all(r.latency_s and r.energy_j and r.area_mm2 for r in ok)
    assert all("speedup_vs_tegra" in r.extra and r.epur_version for r in ok)
    assert (tmp_path / "spec.json").is_file()


def test_an_interrupted_sweep_resumed_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = run_sweep(spec(), tmp_path / "a", InlineExecutor()).rows
    seen: list[SweepRow] = []

    def stop(row: SweepRow) -> None:
        seen.append(row)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec(), tmp_path / "b", InlineExecutor(), on_row=stop)
    assert len(read_rows(tmp_path / "b")) == 5
    outcome = run_sweep(spec(), tmp_path / "b", InlineExecutor(), resume=True)
    assert outcome.skipped == 5 and outcome.evaluated == 7
    assert outcome.rows == whole


def test_pool_and_dask_give_the_rows_of_one_process(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    inline = run_sweep(spec(), tmp_path / "inline", InlineExecutor()).rows
    with PoolExecutor(2) as pool:
        assert run_sweep(spec(), tmp_path / "pool", pool).rows == inline
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        DaskExecutor(cluster.scheduler_address) as dask,
    ):
        assert dask.workers == 2
        assert run_sweep(spec(), tmp_path / "dask", dask).rows == inline


def test_two_sweeps_on_a_cold_cacti_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from epur.energy import find_cacti
    from epur.errors import BackendError

    try:
        find_cacti()
    except BackendError:
        pytest.skip("CACTI does not run here")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    small = spec(
        networks=["bysdne"],
        sram="cacti",
        axes={"dpu.lanes": [8, 16]},
        constraints={},
        compare_tegra=[],
    )
    results: dict[str, list[SweepRow]] = {}

    def one(name: str) -> None:
        results[name] = run_sweep(small, tmp_path / name, InlineExecutor()).rows

    threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"] == results["b"] and len(results["a"]) == 2
    assert all(r.status is RowStatus.OK for r in results["a"]), results["a"]


def test_accuracy_runs_the_functional_model_on_each_design(tmp_path: Path) -> None:
    """``accuracy:`` fills each row's error against the float64 reference: fp32 far below
    q4.4, the same error for the same design on a second run (one random case per
    network, drawn from the seed)."""
    acc = spec(networks=["bysdne"], compare_tegra=[], constraints={},
               axes={"format": ["fp32", "q4.4"], "dataflow": ["mwl"]},
               accuracy={"steps": 6, "seed": 1}, sram="none")  # fmt: skip
    rows = run_sweep(acc, tmp_path / "a", InlineExecutor()).rows
    errors = {r.axes["format"]: r.accuracy_error for r in rows}
    assert all(r.status is RowStatus.OK for r in rows), [r.message for r in rows]
    assert errors["fp32"] is not None and errors["q4.4"] is not None
    assert 0 <= errors["fp32"] < 1e-4 < errors["q4.4"]
    again = run_sweep(acc, tmp_path / "b", InlineExecutor()).rows
    assert [r.accuracy_error for r in again] == [r.accuracy_error for r in rows]
