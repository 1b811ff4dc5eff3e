"""The paper's headline claims beside what epur gives (``paper_vs_epur`` of
``results.json``): the summary of ``epur reproduce`` with its sensitivity bands, and
one row per claim with the gap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from epur.report.case_results import CaseResults
from epur.report.consistency import PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP, Consistency
from epur.report.tegra import DEFAULT_SCENARIO

__all__ = ["CLAIM_HEADERS", "Bands", "Claim", "Summary", "paper_vs_epur"]

CLAIM_HEADERS = ["claim", "paper", "epur", "gap"]


@dataclass(frozen=True, slots=True)
class Bands:
    """The lowest and highest headline averages over the sensitivity's assumptions
    (``energy_reduction`` is None without an energy model)."""

    energy_reduction: tuple[float, float] | None
    speedup: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline averages of the mwl design against the Tegra X1 in the default
    scenario (``tegra_scenario``), over the faithful networks (``averaged_over``), and
    their sensitivity ``bands`` (None when no sensitivity was computed)."""

    energy_reduction_avg: float | None
    speedup_avg: float
    averaged_over: tuple[str, ...]
    energy_backend: str | None
    tegra_scenario: str
    bands: Bands | None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "energy_reduction_vs_tegra_x1_avg": self.energy_reduction_avg,
            "speedup_vs_tegra_x1_avg": self.speedup_avg,
            "averaged_over": list(self.averaged_over),
            "energy_backend": self.energy_backend,
            "tegra_scenario": self.tegra_scenario,
        }
        if self.bands is not None:
            red = self.bands.energy_reduction
            out["energy_reduction_vs_tegra_x1_range"] = None if red is None else list(red)
            out["speedup_vs_tegra_x1_range"] = list(self.bands.speedup)
        return out


@dataclass(frozen=True, slots=True)
class Claim:
    """One of the paper's claims, what epur gives and the gap between them."""

    claim: str
    paper: str
    epur: str
    gap: str

    def cells(self) -> list[str]:
        """The row under ``CLAIM_HEADERS``."""
        return [self.claim, self.paper, self.epur, self.gap]

    def json(self) -> dict[str, str]:
        return dict(zip(CLAIM_HEADERS, self.cells(), strict=True))


def _band(band: tuple[float, float] | None) -> str:
    return "" if band is None else f" (sensitivity: {band[0]:.3g}-{band[1]:.3g}x)"


def paper_vs_epur(
    summary: Summary,
    networks: Sequence[CaseResults],
    consistency: Consistency | None,
    area: tuple[float, int] | None,
) -> tuple[Claim, ...]:
    """The paper's headline claims beside what this model gives, with the gap:
    ``networks`` are the faithful cases, ``area`` the mwl design's chip area (mm2)
    and node (nm), None without an energy model."""
    rows: list[Claim] = []
    red, spd = summary.energy_reduction_avg, summary.speedup_avg
    bands = summary.bands
    if red is not None:
        rows.append(Claim(
            "energy reduction vs Tegra X1 (average)", "92x",
            f"{red:.1f}x" + _band(None if bands is None else bands.energy_reduction),
            f"{red / PAPER_ENERGY_REDUCTION:.2f} of it",
        ))  # fmt: skip
    rows.append(Claim(
        "speedup vs Tegra X1 (average; thesis)", "6.8x",
        f"{spd:.2f}x" + _band(None if bands is None else bands.speedup),
        f"{spd / THESIS_SPEEDUP:.2f} of it",
    ))  # fmt: skip
    realtime = [
        f"{c.name} {'yes' if (r := c.designs['mwl'].real_time_factor) < 1 else 'no'} (RTF {r:.3f})"
        for c in networks
        if c.designs["mwl"].real_time_factor is not None
    ]
    rows.append(Claim(
        "real time on all networks", "yes", "; ".join(realtime) + "; others have no frame rate",
        "not checkable for networks without a frame rate",
    ))  # fmt: skip
    tegra_rtf = [
        f"{c.name} RTF {t:.3g}" for c in networks
        if (t := c.tegra_x1.real_time_factor) is not None
    ]  # fmt: skip
    rows.append(Claim(
        "Tegra X1 not real time on EESEN and RLDRADSPR", "yes",
        f"{DEFAULT_SCENARIO}: " + "; ".join(tegra_rtf), "modelled Tegra (scenarios below)",
    ))  # fmt: skip
    if consistency is not None:
        rows.append(Claim(
            "all three statements at once", "yes", "yes" if consistency.holds else "no",
            "see the consistency check",
        ))  # fmt: skip
    if area is not None:
        mm2, node = area
        rows.append(Claim(
            "chip area", "'very small' (no figure in the abstract)",
            f"{mm2:.1f} mm2 at {node} nm", "no published figure",
        ))  # fmt: skip
    return tuple(rows)
