"""The results table of ``epur reproduce`` and its text report (stdout and results.md).

Rows come from the typed ``ReproductionResults``, as ``results.json`` does, so the
text, Markdown and HTML reports show the same figures. Energies are per sequence and per step as
``epur.report.per_sequence`` defines them, to four significant figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from epur.arch import ArchChange
from epur.report._format import sig
from epur.report.case_results import CaseResults, DesignEnergy
from epur.report.designs import DESIGNS
from epur.report.measured import measured_text
from epur.report.paper_claims import CLAIM_HEADERS
from epur.report.parameters import CHANGES_HEADERS, changes_rows
from epur.report.reproduction_results import ReproductionResults
from epur.report.tables import format_table

__all__ = ["RESULT_HEADERS", "reproduction_table", "reproduction_text", "result_rows"]

RESULT_HEADERS = ["network", "design", "latency ms", "RTF", "energy/seq mJ", "energy/step uJ",
                  "power mW", "area mm2", "weight DRAM MB", "speedup vs TX1",
                  "energy red. vs TX1"]  # fmt: skip


def _energy_cells(e: DesignEnergy | None) -> list[str]:
    """Energy per sequence (mJ) and per step (uJ), power (mW), area (mm2) and energy
    reduction against the Tegra X1; blank without an energy model."""
    if e is None:
        return [""] * 5
    return [sig(e.energy_per_sequence_j * 1e3), sig(e.energy_per_step_j * 1e6),
            sig(e.power_w * 1e3, 3), sig(e.area_mm2, 3),
            sig(e.energy_reduction_vs_tegra_x1, 3)]  # fmt: skip


def result_rows(results: ReproductionResults) -> list[list[str]]:
    """Rows of the results table (every network, then its known-inputs variant if any;
    each E-PUR design, then the Tegra X1)."""
    known = {c.key: c for c in results.known_inputs}
    groups: list[CaseResults] = []
    for case in results.networks:
        groups.append(case)
        if case.key in known:
            groups.append(known[case.key])
    rows = []
    for case in groups:
        name = case.row_label
        for design in DESIGNS:
            r = case.designs[design]
            rtf = r.real_time_factor
            *energy, reduction = _energy_cells(r.energy)
            rows.append([
                name, design, sig(r.latency_s * 1e3), "n/a" if rtf is None else f"{rtf:.4f}",
                *energy, sig(r.dram_weight_bytes / 1e6), f"{r.speedup_vs_tegra_x1:.2f}", reduction,
            ])  # fmt: skip
        t = case.tegra_x1
        power = t.energy_j / t.latency_s
        t_rtf = t.real_time_factor
        rows.append([name, "tegra_x1 (modelled)", sig(t.latency_s * 1e3),
                     "n/a" if t_rtf is None else f"{t_rtf:.4f}",
                     sig(t.energy_per_sequence_j * 1e3), sig(t.energy_per_step_j * 1e6),
                     sig(power * 1e3, 3), "", "", "1.00", "1.00"])  # fmt: skip
    return rows


def reproduction_table(results: ReproductionResults) -> str:
    """The results table, as text."""
    return format_table(
        RESULT_HEADERS, result_rows(results), right=set(range(2, len(RESULT_HEADERS)))
    )


def reproduction_text(results: ReproductionResults, changes: Sequence[ArchChange]) -> str:
    """The text report: title, the fields changed from the paper preset (if any), the
    results, the measured baselines (if any) and the paper's claims beside epur's."""
    parts = [results.title]
    if changes:
        parts.append(
            "changed from the paper preset:\n"
            + format_table(CHANGES_HEADERS, changes_rows(changes), right={2, 3})
        )
    claims = format_table(CLAIM_HEADERS, [c.cells() for c in results.claims], right=set())
    parts += [
        reproduction_table(results),
        "energy/seq: one inference of one sequence; energy/step: energy/seq over the "
        "sequence's time steps, all stacks (GMAT: encoder + decoder steps)",
    ]
    if results.measured:
        parts.append(measured_text(results.measured))
    parts.append("paper vs epur:\n" + claims)
    if results.consistency is not None:
        parts.append("consistency check: " + results.consistency.explanation)
    return "\n\n".join(parts)
