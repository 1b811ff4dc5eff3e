"""The points of a sweep: every axis point on every network, each a ``Design``.

Built in the parent, before any work: the axis points are sampled once and applied to
the base architecture (each distinct assignment list validated once), derived buffers
are sized for each network and dataflow (``epur.timing.required_sizes``, once per
distinct architecture, network and dataflow), and points that come out as the same
design on the same network (an axis a derived field overrides, ``tile_rows`` on the
baseline dataflow, duplicate random draws) are merged, the first kept.
"""

from __future__ import annotations

from epur.arch import ArchConfig, apply_overrides
from epur.errors import EpurError
from epur.evaluation import Design
from epur.schedule import Dataflow
from epur.sweep._work import PointTask, failed_design_id
from epur.sweep.rows import point_id
from epur.sweep.sampling import sample
from epur.sweep.spec import SweepSpec
from epur.timing import required_sizes
from epur.workload.network import Network

__all__ = ["build_tasks"]

_SIZE_FIELD = {
    "weight_buffer": "weight_buffer_bytes",
    "input_buffer": "input_buffer_bytes",
    "intermediate_memory": "intermediate_memory_bytes",
}


def _message(exc: EpurError) -> str:
    return " ".join(str(exc).split())


def build_tasks(spec: SweepSpec, networks: dict[str, Network]) -> list[PointTask]:
    """Every point of ``spec`` on ``networks`` (by name), in spec order, merged by id."""
    base = spec.base_arch()
    archs: dict[tuple[str, ...], ArchConfig | EpurError] = {}
    sized: dict[tuple[str, str, Dataflow], ArchConfig | EpurError] = {}
    tasks: dict[str, PointTask] = {}
    method, count, seed = spec.sampling.method, spec.sampling.points, spec.sampling.seed
    for values in sample(spec.axes, method, count, seed):
        settings = tuple(s for a in spec.axes for s in a.settings(values[a.name]))
        if settings not in archs:
            try:
                archs[settings] = apply_overrides(base, settings)
            except EpurError as exc:
                archs[settings] = exc
        arch = archs[settings]
        dataflow = Dataflow(str(values.get("dataflow", Dataflow.MWL.value)))
        tile_rows = values.get("tile_rows") if dataflow is Dataflow.MWL else None
        bank = values.get("bank_for_clock", True)
        for ref in spec.networks:
            design: Design | None = None
            error = ""
            if isinstance(arch, EpurError):
                error = _message(arch)
            else:
                derived = _derive(spec, arch, networks[ref.name], dataflow, sized)
                if isinstance(derived, EpurError):
                    error = _message(derived)
                else:
                    try:
                        design = Design(
                            arch=derived,
                            dataflow=dataflow,
                            tile_rows=tile_rows,
                            sram=spec.sram,
                            bank_for_clock=bank,
                        )
                    except (EpurError, ValueError) as exc:
                        error = " ".join(str(exc).split())
            if design is not None:
                design_id, design_json = design.identity, design.canonical_json()
            else:
                design_id, design_json = failed_design_id(list(settings)), ""
            pid = point_id(ref.name, design_id)
            if pid not in tasks:
                tasks[pid] = PointTask(
                    pid, ref.name, dict(values), design_id, design_json, design, error
                )
    return list(tasks.values())


def _derive(
    spec: SweepSpec,
    arch: ArchConfig,
    network: Network,
    dataflow: Dataflow,
    memo: dict[tuple[str, str, Dataflow], ArchConfig | EpurError],
) -> ArchConfig | EpurError:
    """``arch`` with the spec's derived memories sized for ``network`` and ``dataflow``."""
    if not spec.derived:
        return arch
    key = (network.name, arch.model_dump_json(), dataflow)
    if key not in memo:
        try:
            sizes = required_sizes(network, arch, dataflow)
            sets = [
                f"{m}.capacity_bytes={max(1, getattr(sizes, _SIZE_FIELD[m]))}" for m in spec.derived
            ]
            memo[key] = apply_overrides(arch, sets)
        except EpurError as exc:
            memo[key] = exc
    return memo[key]
