"""Render evaluations as JSON-ready dicts and human-readable tables (SI in JSON)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from epur.energy import memory_timing
from epur.evaluation import Evaluation
from epur.report._format import sig
from epur.report.parameters import changes_json, changes_summary, user_changes
from epur.report.per_sequence import ENERGY_DEFINITIONS, energy_per
from epur.timing import BufferSizes, Counts, LayerResult, TimingResult

__all__ = [
    "evaluation_json",
    "format_table",
    "layer_table",
    "sizes_json",
    "sizes_table",
    "summary_text",
]


def _counts_json(timing: TimingResult, counts: Counts) -> dict[str, Any]:
    """The headline summary, then every count (MFU operations as ``mfu_ops``)."""
    out = timing.summary(counts)
    for f in fields(Counts):
        if f.name not in out:
            value = getattr(counts, f.name)
            out["mfu_ops" if f.name == "mfu" else f.name] = (
                asdict(value) if f.name == "mfu" else value
            )
    return out


def _layer_json(timing: TimingResult, layer: LayerResult) -> dict[str, Any]:
    info = layer.info
    head = {
        "index": info.index,
        "name": info.name,
        "kind": info.kind,
        "stack": info.stack,
        "directions": info.directions,
    }
    return head | _counts_json(timing, layer.counts) | {"peaks": asdict(layer.peaks)}


def evaluation_json(ev: Evaluation, known_inputs: bool = False) -> dict[str, Any]:
    """Everything ``epur simulate --json`` writes (schema_version 1).

    ``total`` and ``layers`` cost one run: the whole batch. ``total.energy_per_sequence_j``
    and ``total.energy_per_step_j`` follow ``epur.report.per_sequence`` (definitions in
    ``energy_definitions``). ``arch_changes`` lists the fields the user changed from the
    paper preset (provenance ``user``); empty on the paper preset."""
    t = ev.timing
    total = _counts_json(t, t.total)
    total.update(
        sequence_duration_s=ev.sequence_duration_s,
        real_time_factor=ev.real_time_factor,
    )
    layers = [_layer_json(t, layer) for layer in t.layers]
    per = energy_per(ev)
    if ev.energy is not None and per is not None:
        total.update(
            energy_j=ev.energy.total_j,
            energy_per_sequence_j=per.per_sequence_j,
            energy_per_step_j=per.per_step_j,
            steps_per_sequence=per.steps_per_sequence,
            power_w=ev.energy.power_w,
            energy_breakdown_j=ev.energy.breakdown_j(),
        )
        for entry, le in zip(layers, ev.layer_energy, strict=True):
            entry.update(energy_j=le.total_j, energy_breakdown_j=le.breakdown_j())
    return (
        {
            "schema_version": 1,
            "network": ev.network.name,
            "dataflow": str(t.dataflow),
            "known_inputs": known_inputs,
            "batch": ev.network.batch,
            "seq_len": {s.name: s.seq_len for s in ev.network.stacks},
            "arch": ev.arch.model_dump(mode="json"),
            "arch_changes": changes_json(user_changes(ev)),
            "total": total,
            "layers": layers,
            "peaks": asdict(t.peaks),
            "access_cycles": asdict(t.access_cycles),
            "buffer_needs": {
                "weight_buffer_bytes_per_cu": t.peaks.weight_buffer_bytes,
                "input_buffer_bytes_per_cu": t.peaks.input_buffer_bytes,
                "intermediate_memory_bytes": t.peaks.intermediate_memory_bytes,
            },
            "energy_backend": ev.energy_backend,
            "notes": [*t.notes, *ev.sram_notes()],
        }
        | _energy_json(ev)
        | ({"energy_definitions": ENERGY_DEFINITIONS} if per else {})
    )


def _energy_json(ev: Evaluation) -> dict[str, Any]:
    """Energy, power, area and the SRAMs with CACTI's inputs and outputs (if computed)."""
    if ev.energy is None or ev.energy_table is None:
        return {}
    table = ev.energy_table
    timing = {mt.memory: mt for mt in memory_timing(ev.timing.total, table, ev.arch.clock_hz)}
    memories = []
    for m in table.memories:
        memories.append(
            {
                "name": m.name,
                "instances": m.instances,
                "capacity_bytes": m.spec.capacity_bytes,
                "port_bits": m.spec.port_bits,
                "banks": m.spec.banks,
                "node_nm": m.spec.node_nm,
                "cell_type": m.spec.cell_type,
                "periphery_type": m.spec.periphery_type,
                "temperature_k": m.spec.temperature_k,
                "read_energy_j": m.result.read_energy_j,
                "write_energy_j": m.result.write_energy_j,
                "leakage_w": m.result.leakage_w,
                "gate_leakage_w": m.result.gate_leakage_w,
                "area_mm2": m.result.area_mm2,
                "access_time_s": m.result.access_time_s,
                "cycle_time_s": m.result.cycle_time_s,
                "cycles_per_access": timing[m.memory].cycles_per_access,
                "accesses_per_cycle": timing[m.memory].accesses_per_cycle,
                "fits_clock": timing[m.memory].fits_clock,
            }
        )
    return {
        "sram_corner": _corner(ev),
        "area_mm2": table.chip_area_mm2,
        "area_breakdown_mm2": dict(table.area_mm2),
        "memories": memories,
        "cacti_config": {m.name: m.config_text for m in table.memories if m.config_text},
    }


def _corner(ev: Evaluation) -> dict[str, Any]:
    """The SRAM corner every CACTI figure is for: cells, periphery, temperature."""
    tech = ev.arch.technology
    return {
        "cell_type": tech.sram_cell,
        "periphery_type": tech.sram_periphery,
        "temperature_k": tech.temperature_k,
    }


def _corner_text(ev: Evaluation) -> str:
    c = _corner(ev)
    return f"{c['cell_type']} cells, {c['periphery_type']} periphery, {c['temperature_k']} K"


def format_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain-text table; columns in ``right`` (default: all but the first) align right."""
    right = set(range(1, len(headers))) if right is None else right
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.2f}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"


def layer_table(ev: Evaluation) -> str:
    t = ev.timing
    headers = ["layer", "stack", "dirs", "cycles", "ms", "MMACs", "util", "DRAM stall%",
               "port stall%", "W DRAM MB", "act DRAM MB"]  # fmt: skip
    rows = []
    for lr in (*t.layers, None):
        c = lr.counts if lr else t.total
        name, stack, dirs = (
            (lr.info.name, lr.info.stack, str(lr.info.directions)) if lr else ("total", "", "")
        )
        rows.append(
            [
                name,
                stack,
                dirs,
                f"{c.cycles:,}",
                f"{t.latency_s(c) * 1e3:.3f}",
                f"{c.macs / 1e6:.2f}",
                f"{t.dpu_utilization(c):.3f}",
                _percent(c.stall_cycles, c.cycles),
                _percent(c.port_stall_cycles, c.cycles),
                _mb(c.dram_weight_bytes),
                _mb(c.dram_activation_bytes),
            ]
        )
    return format_table(headers, rows, right=set(range(2, len(headers))))


def summary_text(ev: Evaluation, known_inputs: bool = False) -> str:
    """The summary ``epur simulate`` prints. With ``--batch B`` > 1 a run is a batch, and
    its figures say so; energy per sequence and per step follow ``per_sequence``."""
    t, c, p = ev.timing, ev.timing.total, ev.timing.peaks
    mode = " (known inputs)" if known_inputs else ""
    batch = ev.network.batch
    changes = user_changes(ev)
    run = "sequence" if batch == 1 else "batch"
    of = "" if batch == 1 else f" for {batch} sequences"
    lines = [
        f"{ev.network.name}{mode} on {ev.arch.name}{' (modified)' if changes else ''}, "
        f"{t.dataflow} dataflow, batch {batch}",
        f"  architecture           {changes_summary(changes)}",
        f"  latency per {run:<11}{t.latency_s() * 1e3:.3f} ms{of} ({c.cycles:,} cycles at "
        f"{ev.arch.clock_hz / 1e6:g} MHz)",
        f"  cycles                 compute {c.compute_cycles:,}, main-memory stalls "
        f"{c.stall_cycles:,}, port stalls {c.port_stall_cycles:,}, pipeline drains "
        f"{c.drain_cycles:,}",
        f"  DPU utilisation        {t.dpu_utilization():.3f}",
    ]
    rtf = ev.real_time_factor
    if rtf is not None and ev.sequence_duration_s is not None:
        verdict = "real time" if rtf < 1 else "slower than real time"
        lines.append(
            f"  real-time factor       {rtf:.4f} for {ev.sequence_duration_s:g} s of input "
            f"({verdict})"
        )
    else:
        lines.append("  real-time factor       n/a (the network has no frame rate)")
    lines += [
        f"  weight traffic         {_mb(c.dram_weight_bytes)} MB per {run} from main memory "
        f"(weights: {_mb(ev.network.parameter_count() * ev.arch.storage_bits // 8)} MB)",
        f"  activation traffic     {_mb(c.dram_activation_read_bytes)} MB read, "
        f"{_mb(c.dram_activation_write_bytes)} MB written",
        f"  buffer needs (peak)    weight {p.weight_buffer_bytes:,} B/CU, input "
        f"{p.input_buffer_bytes:,} B/CU, intermediate {p.intermediate_memory_bytes:,} B",
    ]
    per = energy_per(ev)
    if ev.energy is not None and ev.energy_table is not None and per is not None:
        e, table = ev.energy, ev.energy_table
        if batch > 1:
            lines.append(f"  energy per batch       {sig(e.total_j * 1e3)} mJ{of}")
        lines += [
            f"  energy per sequence    {sig(per.per_sequence_j * 1e3)} mJ, "
            f"{sig(per.per_step_j * 1e6)} uJ per step (energy per sequence / {per.steps_text})",
            f"  average power          {sig(e.power_w * 1e3)} mW ({table.backend} SRAM figures) "
            f"at {_corner_text(ev)}",
            f"  area                   {table.chip_area_mm2:.2f} mm2 ("
            + ", ".join(f"{k} {v:.2f}" for k, v in table.area_mm2.items())
            + ")",
        ]
        notes = [mt.note for mt in memory_timing(t.total, table, ev.arch.clock_hz) if mt.note]
        lines += [f"  note: {n}" for n in notes]
    lines += [f"  note: {n}" for n in [*t.notes, *ev.sram_notes()]]
    return "\n".join(lines)


def sizes_json(sizes: list[BufferSizes]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "networks": [asdict(s) | {"dataflow": str(s.dataflow)} for s in sizes],
        "required": {
            "weight_buffer_bytes": max(s.weight_buffer_bytes for s in sizes),
            "input_buffer_bytes": max(s.input_buffer_bytes for s in sizes),
            "intermediate_memory_bytes": max(s.intermediate_memory_bytes for s in sizes),
        },
    }


def sizes_table(sizes: list[BufferSizes]) -> str:
    need = sizes_json(sizes)["required"]
    cells = [(s.network, str(s.dataflow), s.weight_buffer_bytes, s.input_buffer_bytes,
              s.intermediate_memory_bytes) for s in sizes]  # fmt: skip
    cells.append(("required", "", need["weight_buffer_bytes"], need["input_buffer_bytes"],
                  need["intermediate_memory_bytes"]))  # fmt: skip
    rows = [[name, flow, f"{wb:,}", f"{ib:,}", f"{im:,}"] for name, flow, wb, ib, im in cells]
    headers = ["network", "dataflow", "weight B/CU", "input B/CU", "intermediate B"]
    return format_table(headers, rows, right={2, 3, 4})
