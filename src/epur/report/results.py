"""The results table of ``epur reproduce`` and its text report (stdout and results.md).

Rows come from ``reproduction_json`` data, so the text, Markdown and HTML reports
show the same figures. Energies are per sequence and per step as
``epur.report.per_sequence`` defines them, to four significant figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from epur.arch import ArchChange
from epur.report._format import sig
from epur.report.designs import DESIGNS
from epur.report.parameters import CHANGES_HEADERS, changes_rows
from epur.report.tables import format_table

__all__ = ["RESULT_HEADERS", "reproduction_table", "reproduction_text", "result_rows"]

RESULT_HEADERS = ["network", "design", "latency ms", "RTF", "energy/seq mJ", "energy/step uJ",
                  "power mW", "area mm2", "weight DRAM MB", "speedup vs TX1",
                  "energy red. vs TX1"]  # fmt: skip


def _sig(value: float | None, scale: float = 1.0, digits: int = 4) -> str:
    return "" if value is None else sig(value * scale, digits)


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    """Rows of the results table, from ``reproduction_json`` data (every network, then
    its known-inputs variant if any; each E-PUR design, then the Tegra X1)."""
    groups: list[tuple[str, dict[str, Any]]] = []
    for key, entry in data["networks"].items():
        groups.append((key.upper(), entry))
        if key in data["known_inputs"]:
            groups.append((f"{key.upper()} (known inputs)", data["known_inputs"][key]))
    rows = []
    for name, entry in groups:
        for design in DESIGNS:
            e = entry[design]
            rtf = e["real_time_factor"]
            rows.append([
                name, design, sig(e["latency_s"] * 1e3), "n/a" if rtf is None else f"{rtf:.4f}",
                _sig(e.get("energy_per_sequence_j"), 1e3), _sig(e.get("energy_per_step_j"), 1e6),
                _sig(e.get("power_w"), 1e3, 3), _sig(e.get("area_mm2"), 1.0, 3),
                sig(e["dram_weight_bytes"] / 1e6), f"{e['speedup_vs_tegra_x1']:.2f}",
                _sig(e.get("energy_reduction_vs_tegra_x1"), 1.0, 3),
            ])  # fmt: skip
        t = entry["tegra_x1"]
        power = t["energy_j"] / t["latency_s"]
        t_rtf = t.get("real_time_factor")
        rows.append([name, "tegra_x1 (modelled)", sig(t["latency_s"] * 1e3),
                     "n/a" if t_rtf is None else f"{t_rtf:.4f}",
                     sig(t["energy_per_sequence_j"] * 1e3), sig(t["energy_per_step_j"] * 1e6),
                     sig(power * 1e3, 3), "", "", "1.00", "1.00"])  # fmt: skip
    return rows


def reproduction_table(data: dict[str, Any]) -> str:
    """The results table of ``reproduction_json`` data, as text."""
    return format_table(RESULT_HEADERS, result_rows(data), right=set(range(2, len(RESULT_HEADERS))))


def reproduction_text(data: dict[str, Any], changes: Sequence[ArchChange]) -> str:
    """The text report: title, the fields changed from the paper preset (if any), the
    results and the paper's claims beside epur's."""
    parts = [data["title"]]
    if changes:
        parts.append(
            "changed from the paper preset:\n"
            + format_table(CHANGES_HEADERS, changes_rows(changes), right={2, 3})
        )
    claims = format_table(
        ["claim", "paper", "epur", "gap"],
        [[row["claim"], row["paper"], row["epur"], row["gap"]] for row in data["paper_vs_epur"]],
        right=set(),
    )
    parts += [
        reproduction_table(data),
        "energy/seq: one inference of one sequence; energy/step: energy/seq over the "
        "sequence's time steps, all stacks (GMAT: encoder + decoder steps)",
        "paper vs epur:\n" + claims,
    ]
    if data.get("consistency") is not None:
        parts.append("consistency check: " + data["consistency"]["explanation"])
    return "\n\n".join(parts)
