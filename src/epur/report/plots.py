"""Figures of the paper's evaluation (matplotlib, imported lazily), as PNG and SVG bytes.

Nothing is written here: each function returns ``{"name.png": bytes, "name.svg":
bytes}`` so the caller writes every file only once all of them rendered.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["area_breakdown", "energy_breakdown", "versus_tegra"]

DESIGN_LABELS = {
    "baseline": "baseline",
    "mwl": "MWL",
    "baseline_on_mwl_buffers": "baseline, MWL buffers",
}


def _render(fig: Any, name: str) -> dict[str, bytes]:
    import matplotlib.pyplot as plt

    out = {}
    for ext in ("png", "svg"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=120, bbox_inches="tight")
        out[f"{name}.{ext}"] = buffer.getvalue()
    plt.close(fig)
    return out


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height))


def energy_breakdown(data: dict[str, Any]) -> dict[str, bytes]:
    """Each component's share of the energy per sequence, for every network and design
    (linear shares, the total in mJ above each bar: stacked log axes distort)."""
    fig, ax = _figure(11, 4.8)
    bars = [(f"{n.upper()} {DESIGN_LABELS[d]}", e[d]["energy_breakdown_j"])
            for n, e in data["networks"].items() for d in DESIGN_LABELS]  # fmt: skip
    components = list(bars[0][1])
    totals = [sum(b[1].values()) for b in bars]
    bottoms = [0.0] * len(bars)
    for comp in components:
        shares = [100 * b[1][comp] / t for b, t in zip(bars, totals, strict=True)]
        ax.bar(range(len(bars)), shares, bottom=bottoms, label=comp)
        bottoms = [x + v for x, v in zip(bottoms, shares, strict=True)]
    for k, total in enumerate(totals):
        ax.text(k, 101, f"{total * 1e3:.0f} mJ", ha="center", fontsize=7)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7, rotation=35, ha="right")
    ax.set_ylabel("share of energy per sequence (%)")
    ax.set_ylim(0, 108)
    ax.set_title("E-PUR energy breakdown (total per sequence above each bar)")
    ax.legend(fontsize=7, ncol=5, loc="lower center", bbox_to_anchor=(0.5, -0.55))
    return _render(fig, "energy_breakdown")


def versus_tegra(data: dict[str, Any]) -> dict[str, bytes]:
    """Energy reduction and speedup of each E-PUR design against the modelled Tegra X1."""
    fig, (left, right) = _figure(11, 4, ncols=2)
    names = list(data["networks"])
    width = 0.8 / len(DESIGN_LABELS)
    for k, design in enumerate(DESIGN_LABELS):
        xs = [i + k * width for i in range(len(names))]
        entries = [data["networks"][n][design] for n in names]
        left.bar(
            xs,
            [e["energy_reduction_vs_tegra_x1"] for e in entries],
            width,
            label=DESIGN_LABELS[design],
        )
        right.bar(
            xs, [e["speedup_vs_tegra_x1"] for e in entries], width, label=DESIGN_LABELS[design]
        )
    for ax, title in (
        (left, "energy reduction vs Tegra X1 (x)"),
        (right, "speedup vs Tegra X1 (x)"),
    ):
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], [n.upper() for n in names])
        ax.set_title(title + "\n(Tegra X1 modelled, not measured)", fontsize=9)
        ax.legend(fontsize=7)
    left.axhline(92, color="grey", linestyle="--", linewidth=1)
    left.text(len(names) - 0.6, 93, "paper: 92x average", fontsize=7, color="grey")
    right.axhline(6.8, color="grey", linestyle="--", linewidth=1)
    right.text(len(names) - 0.6, 6.9, "thesis: 6.8x", fontsize=7, color="grey")
    return _render(fig, "vs_tegra_x1")


def area_breakdown(designs: dict[str, dict[str, float]]) -> dict[str, bytes]:
    """Stacked chip area per component for each design (mm^2)."""
    fig, ax = _figure(6, 4)
    labels = list(designs)
    components = list(next(iter(designs.values())))
    bottoms = [0.0] * len(labels)
    for comp in components:
        values = [designs[d][comp] for d in labels]
        ax.bar(labels, values, bottom=bottoms, label=comp)
        bottoms = [x + v for x, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel("area (mm²)")
    ax.set_title("E-PUR area breakdown")
    ax.legend(fontsize=7)
    return _render(fig, "area_breakdown")
