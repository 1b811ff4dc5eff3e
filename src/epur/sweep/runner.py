"""Running a sweep: every point of a spec evaluated once, each row stored as it completes.

``run_sweep(spec, out_dir, executor)``: the points are built and the store opened
(``--resume`` skips the stored points), the SRAM figures resolved (CACTI once per
distinct configuration), then the points run on the executor in chunks, and each row,
finished here (Tegra comparisons, constraints), is written in its own transaction.
Rows depend only on the spec: not on the executor, the worker count or the order in
which chunks complete. After the points, ``epur.sweep.summary.write_summary`` writes the
Pareto fronts, plots and summary table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from epur._files import write_text
from epur.energy import sram_backend
from epur.evaluation import SramSource
from epur.sweep._points import build_tasks
from epur.sweep._progress import Progress
from epur.sweep._sram import SramPlan, resolve_sram
from epur.sweep._work import Chunk, PointTask, evaluate_chunk
from epur.sweep.executors import Executor
from epur.sweep.rows import RowStatus, SweepRow
from epur.sweep.spec import RATE_OUTPUTS, TEGRA_OUTPUTS, SweepSpec
from epur.sweep.store import SweepStore
from epur.workload.network import Network

__all__ = ["SPEC_FILE", "SweepOutcome", "run_sweep", "write_sweep_summary"]

SPEC_FILE = "spec.json"
_MAX_CHUNK = 32


@dataclass(frozen=True)
class SweepOutcome:
    rows: list[SweepRow]  # every row in the store, sorted by point_id
    points: int  # points of the spec (duplicates merged)
    skipped: int  # already in the store (--resume)
    evaluated: int


def run_sweep(
    spec: SweepSpec,
    out_dir: Path,
    executor: Executor,
    *,
    resume: bool = False,
    progress: TextIO | None = None,
    on_row: Callable[[SweepRow], None] | None = None,
) -> SweepOutcome:
    """Evaluate every point of ``spec`` not yet in ``out_dir``'s store (module docstring).
    ``on_row`` is called after each row is stored."""
    from epur import __version__

    networks = {ref.name: ref.load() for ref in spec.networks}
    tasks = build_tasks(spec, networks)
    out_dir = Path(out_dir)
    with SweepStore.open(out_dir, spec.to_json(), spec.axis_names, resume) as store:
        write_text(out_dir / SPEC_FILE, json.dumps(spec.to_json(), indent=2) + "\n", "--out")
        done = store.done_ids()
        pending = [t for t in tasks if t.point_id not in done]
        plan = _resolve(spec, pending, executor)
        tegra = _tegra(spec, networks)
        accuracy = None if spec.accuracy is None else (spec.accuracy.steps, spec.accuracy.seed)
        chunks = _chunks(pending, networks, plan, __version__, executor.workers, accuracy)
        bar = Progress(len(pending), progress)
        try:
            for rows in executor.map(evaluate_chunk, chunks):
                for row in rows:
                    row = finish_row(spec, row, tegra.get(row.network, {}))
                    store.write(row)
                    bar.add()
                    if on_row is not None:
                        on_row(row)
        finally:
            bar.close()
        rows = store.rows()
    return SweepOutcome(rows, len(tasks), len(tasks) - len(pending), len(pending))


def _resolve(spec: SweepSpec, pending: list[PointTask], executor: Executor) -> SramPlan | None:
    if spec.sram is SramSource.NONE or not pending:
        return None
    backend = sram_backend(spec.sram.value)
    assert backend is not None
    designs = [t.design for t in pending if t.design is not None]
    return resolve_sram(backend.name, designs, executor)


def _chunks(
    tasks: list[PointTask],
    networks: dict[str, Network],
    plan: SramPlan | None,
    version: str,
    workers: int,
    accuracy: tuple[int, int] | None = None,
) -> list[Chunk]:
    size = max(1, min(_MAX_CHUNK, len(tasks) // (4 * workers) or 1))
    chunks = []
    for start in range(0, len(tasks), size):
        part = tuple(tasks[start : start + size])
        nets = {t.network: networks[t.network] for t in part}
        designs = [t.design for t in part if t.design is not None]
        sram = plan.for_designs(designs) if plan is not None else None
        chunks.append(Chunk(part, nets, sram, version, accuracy))
    return chunks


def _tegra(spec: SweepSpec, networks: dict[str, Network]) -> dict[str, dict[str, Any]]:
    """Per network, the modelled Tegra X1's latency, energy and real-time factor in each
    scenario of ``compare_tegra``."""
    if not spec.compare_tegra:
        return {}
    from epur.report.tegra import evaluate_tegra, tegra_scenarios

    configs = tegra_scenarios()
    return {
        name: {s: evaluate_tegra(net, configs[s]) for s in spec.compare_tegra}
        for name, net in networks.items()
    }


def finish_row(spec: SweepSpec, row: SweepRow, tegra: dict[str, Any]) -> SweepRow:
    """``row`` with its Tegra comparisons, and marked infeasible if an evaluated row
    fails a constraint (a real-time bound does not apply where the network has no frame
    rate)."""
    if row.status is not RowStatus.OK:
        return row
    extra = dict(row.extra)
    for k, scenario in enumerate(spec.compare_tegra):
        t = tegra[scenario]
        values = {
            "speedup_vs_tegra": t.latency_s / row.latency_s if row.latency_s else None,
            "energy_reduction_vs_tegra": t.energy_j / row.energy_j if row.energy_j else None,
            "tegra_real_time_factor": t.real_time_factor,
        }
        for name in TEGRA_OUTPUTS:
            if values[name] is not None:
                extra[f"{name}.{scenario}"] = values[name]
                if k == 0:
                    extra[name] = values[name]
    row = replace(row, extra=extra)
    failed = [
        str(c)
        for c in spec.constraints
        if not c.holds(row) and not (c.output.startswith(RATE_OUTPUTS) and c.value(row) is None)
    ]
    if failed:
        return replace(row, status=RowStatus.INFEASIBLE, message="fails " + ", ".join(failed))
    return row


def write_sweep_summary(spec: SweepSpec, out_dir: Path, rows: list[SweepRow]) -> str | None:
    """Write the sweep's summary (``epur.sweep.summary``); a note if it is not available."""
    try:
        from epur.sweep.summary import write_summary
    except ImportError as exc:
        return f"no summary written: epur.sweep.summary is not available ({exc})"
    write_summary(out_dir, rows, list(spec.objectives), list(spec.constraints))
    return None
