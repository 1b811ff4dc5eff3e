"""``epur reproduce``: the paper's four networks on one architecture, both dataflows.

GMAT runs twice: faithfully (its decoder is autoregressive, so MWL cannot batch the
decoder's input phase) and with known inputs (teacher forcing), the setting in
which MWL applies to every layer, for comparison with the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epur.arch import PROVENANCE, ArchConfig
from epur.evaluate import Evaluation, evaluate
from epur.report.tables import format_table
from epur.schedule import Dataflow
from epur.workload.zoo import ZOO_NAMES, zoo_network

__all__ = ["Reproduction", "reproduce", "reproduction_json", "reproduction_table"]


@dataclass(frozen=True, slots=True)
class Run:
    key: str  # zoo name
    known_inputs: bool
    dataflow: Dataflow
    evaluation: Evaluation


@dataclass(frozen=True, slots=True)
class Reproduction:
    arch: ArchConfig
    runs: tuple[Run, ...]

    def pairs(self) -> list[tuple[str, bool, Run, Run]]:
        """(network, known_inputs, baseline run, MWL run) in table order."""
        by = {(r.key, r.known_inputs, r.dataflow): r for r in self.runs}
        keys = dict.fromkeys((r.key, r.known_inputs) for r in self.runs)
        return [(k, ki, by[k, ki, Dataflow.BASELINE], by[k, ki, Dataflow.MWL]) for k, ki in keys]


def reproduce(arch: ArchConfig) -> Reproduction:
    """Every zoo network with both dataflows (GMAT also with known inputs)."""
    runs = []
    for key in ZOO_NAMES:
        network = zoo_network(key)
        modes = [False, True] if network.is_autoregressive else [False]
        for known in modes:
            net = network.with_known_inputs() if known else network
            for flow in (Dataflow.BASELINE, Dataflow.MWL):
                runs.append(Run(key, known, flow, evaluate(net, arch, flow)))
    return Reproduction(arch, tuple(runs))


def _run_json(run: Run) -> dict[str, Any]:
    ev, t = run.evaluation, run.evaluation.timing
    return t.summary() | {
        "real_time_factor": ev.real_time_factor,
        "sequence_duration_s": ev.sequence_duration_s,
        "dram_activation_bytes": t.total.dram_activation_bytes,
        "stall_cycles": t.total.stall_cycles,
        "weight_bytes": ev.network.parameter_count() * ev.arch.storage_bits // 8,
        "peak_weight_buffer_bytes_per_cu": t.peaks.weight_buffer_bytes,
        "peak_intermediate_memory_bytes": t.peaks.intermediate_memory_bytes,
        "notes": list(t.notes),
    }


def reproduction_json(rep: Reproduction) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": 1,
        "arch": rep.arch.model_dump(mode="json"),
        "arch_provenance": {
            k: {"status": v.status, "source": v.source} for k, v in PROVENANCE.items()
        },
        "networks": {},
        "known_inputs": {},
    }
    for key, known, base, mwl in rep.pairs():
        entry = {
            "baseline": _run_json(base),
            "mwl": _run_json(mwl),
            "mwl_weight_traffic_ratio": _ratio(mwl, base),
            "mwl_speedup": base.evaluation.timing.total.cycles / mwl.evaluation.timing.total.cycles,
        }
        out["known_inputs" if known else "networks"][key] = entry
    return out


def _ratio(mwl: Run, base: Run) -> float:
    return (
        mwl.evaluation.timing.total.dram_weight_bytes
        / base.evaluation.timing.total.dram_weight_bytes
    )


def reproduction_table(rep: Reproduction) -> str:
    headers = ["network", "dataflow", "latency ms", "RTF", "DPU util", "weight DRAM MB",
               "MWL/base W", "peak WB B/CU", "peak IM B"]  # fmt: skip
    rows = []
    for key, known, base, mwl in rep.pairs():
        name = zoo_network(key).name + (" (known inputs)" if known else "")
        for run in (base, mwl):
            ev, t = run.evaluation, run.evaluation.timing
            rtf = ev.real_time_factor
            rows.append(
                [
                    name,
                    str(run.dataflow),
                    f"{t.latency_s() * 1e3:.2f}",
                    "n/a" if rtf is None else f"{rtf:.4f}",
                    f"{t.dpu_utilization():.3f}",
                    f"{t.total.dram_weight_bytes / 1e6:.2f}",
                    f"{_ratio(mwl, base):.3f}" if run is mwl else "",
                    f"{t.peaks.weight_buffer_bytes:,}",
                    f"{t.peaks.intermediate_memory_bytes:,}",
                ]
            )
    return format_table(headers, rows, right=set(range(2, len(headers))))
