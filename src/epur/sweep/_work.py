"""What a worker runs: one chunk of points, or one SRAM configuration.

Workers take everything they need in their task (picklable, for a process pool or a
Dask cluster): the networks, the designs and the SRAM figures the parent resolved
(``ResolvedSram``), so that every worker computes the same numbers and no worker runs
CACTI while evaluating points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from epur.energy import CactiRejectedError, SramResult, SramSpec, sram_backend
from epur.errors import BackendError, EpurError
from epur.evaluation import Design, evaluate
from epur.sweep._accuracy import accuracy_error
from epur.sweep.rows import RowStatus, SweepRow
from epur.workload.network import Network

__all__ = [
    "Chunk",
    "PointTask",
    "ResolvedSram",
    "SramAnswer",
    "compute_sram",
    "evaluate_chunk",
    "failed_design_id",
]


@dataclass(frozen=True)
class PointTask:
    """One point: a network on a design (``design`` None: it could not be built, ``error``
    says why)."""

    point_id: str
    network: str
    axes: dict[str, object]
    design_id: str
    design_json: str
    design: Design | None
    error: str = ""


@dataclass(frozen=True)
class SramAnswer:
    """CACTI's (or the table's) answer for one SRAM: figures, or the error it gave."""

    result: SramResult | None
    error: str = ""
    rejected: bool = False  # CACTI cannot organise it so (banking stops there)

    def get(self) -> SramResult:
        if self.result is not None:
            return self.result
        raise (CactiRejectedError if self.rejected else BackendError)(self.error)


@dataclass  # not frozen: ``SramBackend`` declares a settable ``name``
class ResolvedSram:
    """An SRAM backend answering from figures computed beforehand (``SramBackend``)."""

    name: str
    answers: Mapping[SramSpec, SramAnswer]

    def sram(self, spec: SramSpec) -> SramResult:
        answer = self.answers.get(spec)
        if answer is None:  # the parent resolves every SRAM a design asks for
            raise RuntimeError(f"SRAM {spec} was not resolved before the sweep")
        return answer.get()

    def config_text(self, spec: SramSpec) -> str | None:
        return None


@dataclass(frozen=True)
class Chunk:
    tasks: tuple[PointTask, ...]
    networks: dict[str, Network]
    sram: ResolvedSram | None
    version: str
    accuracy: tuple[int, int] | None = None  # (steps, seed): run the functional model


def compute_sram(job: tuple[str, SramSpec]) -> tuple[SramSpec, SramAnswer]:
    """One SRAM from the backend called ``job[0]`` (CACTI through its cache)."""
    name, spec = job
    backend = sram_backend(name)
    assert backend is not None
    try:
        return spec, SramAnswer(backend.sram(spec))
    except CactiRejectedError as exc:
        return spec, SramAnswer(None, str(exc), rejected=True)
    except EpurError as exc:
        return spec, SramAnswer(None, str(exc))


def evaluate_chunk(chunk: Chunk) -> list[SweepRow]:
    """The rows of a chunk's points (errors included, as rows)."""
    return [_row(task, chunk) for task in chunk.tasks]


def _row(task: PointTask, chunk: Chunk) -> SweepRow:
    def make(status: RowStatus, message: str = "", **outputs: Any) -> SweepRow:
        return SweepRow(
            task.point_id,
            task.network,
            task.design_id,
            task.design_json,
            task.axes,
            status,
            message,
            epur_version=chunk.version,
            **outputs,
        )

    if task.design is None:
        return make(RowStatus.ERROR, task.error)
    design = task.design
    try:  # the SRAM figures the parent resolved stand for the design's SRAM source
        ev = evaluate(chunk.networks[task.network], design, energy_backend=chunk.sram)
    except EpurError as exc:
        return make(RowStatus.ERROR, " ".join(str(exc).split()))
    except (ValueError, ArithmeticError) as exc:
        return make(RowStatus.ERROR, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    latency = ev.timing.latency_s()
    total = ev.timing.total
    extra: dict[str, float] = {
        "cycles": float(total.cycles),
        "dram_bytes": float(
            total.dram_weight_bytes
            + total.dram_activation_read_bytes
            + total.dram_activation_write_bytes
        ),
        "dpu_utilization": ev.timing.dpu_utilization(),
    }
    energy = area = None
    if ev.energy is not None and ev.energy_table is not None:
        energy = ev.energy.total_j
        area = ev.energy_table.chip_area_mm2
        extra["power_w"] = energy / latency if latency else 0.0
    error = None
    if chunk.accuracy is not None:
        try:
            error = accuracy_error(chunk.networks[task.network], design, *chunk.accuracy)
        except EpurError as exc:
            return make(RowStatus.ERROR, "accuracy: " + " ".join(str(exc).split()))
    return make(
        RowStatus.OK,
        latency_s=latency,
        energy_j=energy,
        area_mm2=area,
        real_time_factor=ev.real_time_factor,
        accuracy_error=error,
        extra=extra,
    )


def failed_design_id(settings: list[str]) -> str:
    """A stable identity for a design that could not be built from ``settings``."""
    import hashlib

    text = json.dumps(settings)
    return "invalid-" + hashlib.sha256(text.encode()).hexdigest()[:12]
