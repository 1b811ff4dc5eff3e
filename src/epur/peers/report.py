"""A ``ScaleSimComparison`` rendered: the text ``epur compare scalesim`` prints, its JSON,
and the paragraph that explains the difference from the numbers compared.

SCALE-Sim counts one-byte words, i.e. elements; they are shown as bytes at E-PUR's
stored word (2 bytes for fp16) so that both columns count the same data.
"""

from __future__ import annotations

import textwrap
from dataclasses import fields
from typing import Any

from epur.arch import Memory
from epur.evaluation import Evaluation
from epur.peers.compare import GemmResult, ScaleSimComparison
from epur.peers.gemms import GemmKind
from epur.peers.scalesim import SRAM_KB, Accesses
from epur.peers.systolic import folds, occupancy, streamed
from epur.report.parameters import changes_json, changes_summary, user_changes

__all__ = ["SCHEMA", "comparison_json", "comparison_text", "epur_figures", "explanation"]

SCHEMA = "epur-compare-scalesim/1"
MB = 1e6


def epur_figures(ev: Evaluation) -> dict[str, float]:
    """E-PUR's totals in the comparison's terms: cycles, MACs, utilisation, bytes."""
    c, arch = ev.timing.total, ev.arch

    def sram_bytes(kind: str) -> int:
        return sum(
            getattr(c, f"{m.value}_{kind}") * arch.port_bits(getattr(arch, m.value)) // 8
            for m in Memory
        )

    return {
        "cycles": c.cycles,
        "latency_s": ev.timing.latency_s(),
        "macs": c.macs,
        "mac_utilization": ev.timing.dpu_utilization(),
        "sram_read_bytes": sram_bytes("reads"),
        "sram_write_bytes": sram_bytes("writes"),
        "dram_weight_read_bytes": c.dram_weight_bytes,
        "dram_input_read_bytes": c.dram_activation_read_bytes,
        "dram_write_bytes": c.dram_activation_write_bytes,
        "stall_cycles": c.stall_cycles + c.port_stall_cycles,
        "drain_cycles": c.drain_cycles,
    }


def scalesim_figures(cmp: ScaleSimComparison) -> dict[str, float]:
    """SCALE-Sim's totals in the same terms (bytes at E-PUR's word)."""
    a, w = cmp.accesses, cmp.word_bytes
    return {
        "cycles": cmp.cycles,
        "latency_s": cmp.cycles / cmp.epur.arch.clock_hz,
        "macs": cmp.macs,
        "mac_utilization": cmp.utilization(),
        "sram_read_bytes": a.sram_reads * w,
        "sram_write_bytes": a.sram_ofmap_writes * w,
        "dram_weight_read_bytes": a.dram_filter_reads * w,
        "dram_input_read_bytes": a.dram_ifmap_reads * w,
        "dram_write_bytes": a.dram_ofmap_writes * w,
    }


def _wrapped(head: str, text: str) -> list[str]:
    """``text`` after ``head`` (14 characters), wrapped at 100 columns."""
    return textwrap.wrap(
        text,
        100,
        break_on_hyphens=False,
        initial_indent=f"  {head:<14}",
        subsequent_indent=" " * 16,
    )


def _how(cmp: ScaleSimComparison) -> list[str]:
    arch, a = cmp.epur.arch, cmp.array
    chosen = "the default: lanes x CUs, " if cmp.array_is_default else ""
    rec = [g for g in cmp.gemms if g.gemm.kind is GemmKind.RECURRENT]
    runs = sum(g.gemm.count for g in rec)
    steps = (
        f"one step of each recurrent GEMV is simulated and counted {runs:,} times (steps x "
        "directions x layers); "
        if rec
        else ""
    )
    return [
        f"SCALE-Sim {cmp.scalesim_version} beside E-PUR: {cmp.epur.network.name}, "
        f"batch {cmp.epur.network.batch}",
        *_wrapped(
            "E-PUR",
            f"{changes_summary(user_changes(cmp.epur))}, MWL dataflow: {arch.compute_units} "
            f"CUs x {arch.dpu.lanes} lanes = {arch.compute_units * arch.dpu.lanes} MACs at "
            f"{arch.clock_hz / 1e6:g} MHz",
        ),
        *_wrapped(
            "SCALE-Sim",
            f"{a} array ({chosen}{a.macs} MACs, as many as E-PUR's), "
            f"{cmp.dataflow.long_name}, {SRAM_KB} KB SRAM per operand, CALC bandwidth "
            "(never stalls on DRAM)",
        ),
        *_wrapped(
            "sampled",
            f"{steps}MWL's input GEMMs keep all their steps; each distinct GEMM is simulated "
            f"on whole folds (at most {cmp.sample_cycles:,} simulated cycles: 'sample' below) "
            f"and scaled by its fold ratio ('scale'); {cmp.simulated_cycles:,} cycles "
            f"simulated in {cmp.wall_s:.1f} s",
        ),
    ]


def _row(g: GemmResult, array_macs: int) -> str:
    if g.sample is None:
        part, scale = "closed form", "-"
    else:
        part = "whole" if g.sample.is_whole else str(g.sample.shape)
        scale = f"x{g.sample.fold_ratio:,.1f}"
    util = g.gemm.shape.macs / ((g.cycles or 1) * array_macs)
    return (
        f"{g.gemm.label:<26} {g.gemm.kind.value:<9} {g.gemm.shape!s:>14} {g.gemm.count:>6,} "
        f"{part:>13} {scale:>7} {g.cycles:>12,} {g.closed_form_cycles:>12,} {util:>5.3f}"
    )


def _gemm_table(cmp: ScaleSimComparison) -> list[str]:
    head = (
        f"{'GEMM (cycles per run)':<26} {'kind':<9} {'M x K x N':>14} {'runs':>6} "
        f"{'sample':>13} {'scale':>7} {'SCALE-Sim':>12} {'closed form':>12} {'util':>5}"
    )
    return [head, "-" * len(head), *(_row(g, cmp.array.macs) for g in cmp.gemms)]


def _number(key: str, value: float) -> str:
    if key == "latency_s":
        return f"{value * 1e3:,.3f} ms"
    if key == "mac_utilization":
        return f"{value:.3f}"
    if key.endswith("_bytes"):
        return f"{value / MB:,.2f} MB"
    return f"{value:,.0f}"


ROWS = {
    "cycles": "cycles",
    "latency_s": "latency at E-PUR's clock",
    "macs": "MACs",
    "mac_utilization": "MAC utilisation",
    "sram_read_bytes": "SRAM reads",
    "sram_write_bytes": "SRAM writes",
    "dram_weight_read_bytes": "DRAM weight reads",
    "dram_input_read_bytes": "DRAM input reads",
    "dram_write_bytes": "DRAM writes",
}


def _totals(cmp: ScaleSimComparison) -> list[str]:
    ss, ep = scalesim_figures(cmp), epur_figures(cmp.epur)
    title = f"SCALE-Sim {cmp.array} {cmp.dataflow.value}"
    lines = [f"{'network totals':<26} {title:>20} {'E-PUR (MWL)':>16} {'ratio':>8}"]
    for key, name in ROWS.items():
        ratio = f"{ss[key] / ep[key]:,.2f}" if ep[key] else "-"
        lines.append(
            f"  {name:<24} {_number(key, ss[key]):>20} {_number(key, ep[key]):>16} {ratio:>8}"
        )
    return lines


def explanation(cmp: ScaleSimComparison) -> str:
    """One paragraph: why SCALE-Sim's figures differ from E-PUR's, from the numbers."""
    ss, ep = scalesim_figures(cmp), epur_figures(cmp.epur)
    rec = [g for g in cmp.gemms if g.gemm.kind is GemmKind.RECURRENT]
    rec_share = cmp.cycles_of(GemmKind.RECURRENT) / cmp.cycles if cmp.cycles else 0.0
    text = (
        f"SCALE-Sim needs {ss['cycles'] / ep['cycles']:,.1f}x E-PUR's cycles for the same "
        f"{cmp.macs:,} MACs on as many multipliers ({ss['mac_utilization']:.3f} against "
        f"{ep['mac_utilization']:.3f} of the MACs busy)."
    )
    if rec:
        g = max(rec, key=lambda r: r.total_cycles)
        fr, fc = folds(g.gemm.shape, cmp.array, cmp.dataflow)
        name, length = streamed(g.gemm.shape, cmp.dataflow)
        text += (
            f" {rec_share:.0%} of its cycles are the recurrent steps: the array runs each "
            f"step's GEMV ({g.gemm.shape}) as {fr * fc:,} folds, each holding work for "
            f"{occupancy(g.gemm.shape, cmp.array, cmp.dataflow):.0%} of its multipliers and "
            f"paying {cmp.fill_cycles} cycles of systolic fill and drain for {length} cycles of "
            f"streaming (the {cmp.dataflow.value} dataflow streams {name}), so it keeps "
            f"{cmp.utilization(GemmKind.RECURRENT):.3f} of its MACs busy there, while E-PUR's "
            f"adder-tree DPUs take a {cmp.epur.arch.dpu.lanes}-element chunk per CU every "
            f"cycle and pay their {cmp.epur.arch.drain_cycles}-cycle pipeline (DPU and MFU) "
            "once per step."
        )
    if any(g.gemm.kind is GemmKind.INPUT for g in cmp.gemms):
        text += (
            f" MWL's input GEMMs stream every step through each fold, so there SCALE-Sim "
            f"keeps {cmp.utilization(GemmKind.INPUT):.3f} of its MACs busy."
        )
    text += (
        f" E-PUR reads {_number('sram_read_bytes', ep['sram_read_bytes'])} from its SRAMs "
        f"against SCALE-Sim's {_number('sram_read_bytes', ss['sram_read_bytes'])}: its DPUs "
        "read a weight and an input at every use, where the systolic array holds one operand "
        "in its processing elements for a fold and passes the others between neighbours."
    )
    text += (
        f" SCALE-Sim has no recurrence: every step is an independent GEMM, so it reads "
        f"{_number('dram_weight_read_bytes', ss['dram_weight_read_bytes'])} of weights from "
        f"DRAM against E-PUR's {_number('dram_weight_read_bytes', ep['dram_weight_read_bytes'])}"
        f"{_epur_weights(cmp, ep['dram_weight_read_bytes'])}."
        f" It does not model the MFU (sigmoid, tanh, the cell update) nor main-memory stalls "
        f"(CALC mode), which are in E-PUR's cycles ({ep['stall_cycles']:,.0f} stall and "
        f"{ep['drain_cycles']:,.0f} drain cycles)."
    )
    return text


def _epur_weights(cmp: ScaleSimComparison, fetched: float) -> str:
    """How E-PUR's weight traffic compares with the network's weights (read once)."""
    weights = cmp.epur.network.parameter_count() * cmp.word_bytes
    if fetched <= 1.05 * weights:
        return (
            ", which fetches each weight once per sequence: MWL reads W for all steps at "
            "once and U stays in the weight buffers"
        )
    return (
        f", {fetched / weights:.1f}x the network's {weights / MB:,.2f} MB of weights: MWL "
        "reads W once, but the part of U that does not fit the weight buffers is "
        "re-fetched at every step"
    )


def comparison_text(cmp: ScaleSimComparison) -> str:
    """What ``epur compare scalesim`` prints."""
    lines = [*_how(cmp), "", *_gemm_table(cmp), "", *_totals(cmp), ""]
    lines += textwrap.wrap(f"why they differ: {explanation(cmp)}", 100, break_on_hyphens=False)
    notes = [
        f"SCALE-Sim counts one-byte words: its counts are shown at E-PUR's "
        f"{cmp.word_bytes}-byte stored word",
        "SCALE-Sim's cycles leave out its initial prefetch ('Total Cycles')",
    ]
    if not cmp.complete:
        notes.append(
            "GEMMs given by the closed form only (one fold over the sampling budget: raise "
            "--sample-cycles) count no SRAM or DRAM accesses in the totals"
        )
    for n in notes:
        lines += textwrap.wrap(
            f"note: {n}", 100, break_on_hyphens=False, initial_indent="  ", subsequent_indent="    "
        )
    return "\n".join(lines)


def _gemm_json(g: GemmResult) -> dict[str, Any]:
    s = g.gemm.shape
    sample = None
    if g.sample is not None and g.simulated is not None:
        p = g.sample.shape
        sample = {
            "m": p.m, "k": p.k, "n": p.n, "folds": g.sample.sample_folds,
            "fold_ratio": g.sample.fold_ratio, "cycles": g.simulated.cycles,
            "stall_cycles": g.simulated.stall_cycles, "accesses": _accesses(g.simulated.accesses),
        }  # fmt: skip
    return {
        "kind": g.gemm.kind.value,
        "users": list(g.gemm.users),
        "m": s.m,
        "k": s.k,
        "n": s.n,
        "runs": g.gemm.count,
        "source": g.source.value,
        "folds": g.sample.folds if g.sample is not None else None,
        "cycles": g.cycles,
        "closed_form_cycles": g.closed_form_cycles,
        "accesses": _accesses(g.accesses) if g.accesses is not None else None,
        "sample": sample,
    }


def _accesses(a: Accesses) -> dict[str, int]:
    return {f.name: getattr(a, f.name) for f in fields(a)}


def comparison_json(cmp: ScaleSimComparison) -> dict[str, Any]:
    """The comparison as JSON: settings, every GEMM, both sides' totals (SI units, bytes)."""
    ev = cmp.epur
    return {
        "schema": SCHEMA,
        "network": ev.network.name,
        "batch": ev.network.batch,
        "scalesim": {
            "version": cmp.scalesim_version,
            "array": {
                "rows": cmp.array.rows,
                "cols": cmp.array.cols,
                "default": cmp.array_is_default,
            },
            "dataflow": cmp.dataflow.value,
            "sram_kb_per_operand": SRAM_KB,
            "bandwidth_mode": "CALC",
            "sample_cycles": cmp.sample_cycles,
            "simulated_cycles": cmp.simulated_cycles,
            "wall_s": cmp.wall_s,
            "word_bytes": cmp.word_bytes,
            "complete": cmp.complete,
            "closed_form_cycles": cmp.closed_form_cycles,
            "totals": scalesim_figures(cmp),
            "gemms": [_gemm_json(g) for g in cmp.gemms],
        },
        "epur": {
            "dataflow": ev.timing.dataflow.value,
            "arch_changes": changes_json(user_changes(ev)),
            "clock_hz": ev.arch.clock_hz,
            "energy_backend": ev.energy_backend,
            "totals": epur_figures(ev),
        },
        "explanation": explanation(cmp),
    }
