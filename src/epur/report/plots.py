"""Figures of the paper's evaluation (matplotlib, imported lazily), as PNG and SVG bytes.

Nothing is written here: each function returns ``{"name.png": bytes, "name.svg":
bytes}`` so the caller writes every file only once all of them rendered. Every axis
is labelled; every component has one colour in every figure (``COMPONENT_COLOURS``)
and every design one colour (``DESIGN_COLOURS``), named by its key in
``epur.report.reproduce.DESIGNS``; SVG text stays text (searchable, and readable
by tests). Each bar's SVG group is ``<figure>-bar-<series>-<k>``.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from epur.arch import Memory
from epur.report._format import sig

if TYPE_CHECKING:
    from collections.abc import Sequence

    from epur.report.measured import MeasuredComparison
    from epur.report.reproduce import Reproduction

__all__ = [
    "COMPONENT_COLOURS",
    "DESIGN_COLOURS",
    "area_breakdown",
    "colour",
    "energy_breakdown",
    "figure",
    "render",
    "tornado",
    "versus_measured",
    "versus_tegra",
]

# One colour per component of the energy and area breakdowns (the DPU's energy parts
# in shades of the DPU's area colour).
COMPONENT_COLOURS = {
    "dpu": "#1f77b4",
    "dpu_multipliers": "#1f77b4",
    "dpu_adder_trees": "#6baed6",
    "dpu_accumulators": "#c6dbef",
    "mfu": "#9467bd",
    Memory.WEIGHT_BUFFER.value: "#ff7f0e",
    Memory.INPUT_BUFFER.value: "#2ca02c",
    Memory.INTERMEDIATE_MEMORY.value: "#d62728",
    "dram": "#7f7f7f",
    "leakage": "#bcbd22",
}
DESIGN_COLOURS = {"baseline": "#264653", "mwl": "#e76f51", "baseline_on_mwl_buffers": "#2a9d8f"}
_SPARE = ("#8c564b", "#e377c2", "#17becf", "#393b79", "#637939", "#ad494a")


def colour(name: str) -> str:
    """The colour of a component or design, the same in every figure (names not in the
    maps get a fixed spare colour from their name)."""
    known = COMPONENT_COLOURS.get(name) or DESIGN_COLOURS.get(name)
    return known or _SPARE[zlib.crc32(name.encode()) % len(_SPARE)]


@contextmanager
def figure(
    width: float, height: float, ncols: int = 1, nrows: int = 1, squeeze: bool = True
) -> Iterator[tuple[Any, Any]]:
    """A matplotlib figure of ``nrows`` x ``ncols`` axes (inches), closed on exit: the
    one place every epur figure (the reproduction's, a sweep's) is set up."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window
    import matplotlib.pyplot as plt

    # SVG text stays text; fixed ids make the SVG reproducible
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "epur", "font.size": 9}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                                 squeeze=squeeze)  # fmt: skip
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def render(fig: Any, name: str, dpi: int = 120) -> dict[str, bytes]:
    """``{name.png: ..., name.svg: ...}`` of a figure (the SVG without a date)."""
    out = {}
    for ext in ("png", "svg"):
        buffer = io.BytesIO()
        meta = {"Date": None} if ext == "svg" else {}
        fig.savefig(buffer, format=ext, dpi=dpi, bbox_inches="tight", metadata=meta)
        out[f"{name}.{ext}"] = buffer.getvalue()
    return out


def _labels(ax: Any, figure: str, xlabel: str, ylabel: str) -> None:
    """Both axis labels, each an SVG group ``<figure>-xlabel-<n>`` / ``-ylabel-<n>``."""
    n = ax.get_subplotspec().num1
    ax.set_xlabel(xlabel, gid=f"{figure}-xlabel-{n}")
    ax.set_ylabel(ylabel, gid=f"{figure}-ylabel-{n}")


def _tag(bars: Any, figure: str, series: str) -> None:
    for k, patch in enumerate(bars.patches):
        patch.set_gid(f"{figure}-bar-{series}-{k}")


def energy_breakdown(rep: Reproduction) -> dict[str, bytes]:
    """Each component's share of the energy per sequence, for every network (GMAT also
    with known inputs) and design; the energy per sequence above each bar (linear
    shares: stacked log axes distort)."""
    from matplotlib.transforms import blended_transform_factory

    from epur.report.reproduce import DESIGNS

    bars: list[tuple[str, dict[str, float]]] = []
    xs: list[float] = []
    groups: list[tuple[float, str]] = []  # (centre, network) of each group of bars
    for g, case in enumerate(rep.cases):
        groups.append((g * (len(DESIGNS) + 1) + (len(DESIGNS) - 1) / 2, case.label))
        for k, design in enumerate(DESIGNS):
            energy = case.designs[design].energy
            if energy is not None:
                bars.append((design, energy.breakdown_j()))
                xs.append(g * (len(DESIGNS) + 1) + k)
    with figure(12, 5.4) as (fig, ax):
        components = list(dict.fromkeys(c for _, b in bars for c in b))
        totals = [sum(b.values()) for _, b in bars]
        bottoms = [0.0] * len(bars)
        for comp in components:
            shares = [100 * b.get(comp, 0.0) / t for (_, b), t in zip(bars, totals, strict=True)]
            drawn = ax.bar(xs, shares, 0.85, bottom=bottoms, label=comp, color=colour(comp))
            _tag(drawn, "energy_breakdown", comp)
            bottoms = [x + v for x, v in zip(bottoms, shares, strict=True)]
        for x, total in zip(xs, totals, strict=True):
            ax.text(x, 101, sig(total * 1e3, 3), ha="center", fontsize=7)
        above = blended_transform_factory(ax.transData, ax.transAxes)
        for x, label in groups:  # network names above their groups
            ax.text(x, 1.02, label, transform=above, ha="center", va="bottom", fontsize=9)
        for x, _ in groups[1:]:
            ax.axvline(x - (len(DESIGNS) + 1) / 2, color="#ccc", linewidth=0.8)
        ax.set_xticks(xs, [b[0] for b in bars], fontsize=7, rotation=90)
        ax.set_xlim(min(xs) - 1, max(xs) + 1)
        _labels(ax, "energy_breakdown", "design (grouped by network)",
                "share of the energy per sequence (%)")  # fmt: skip
        ax.set_ylim(0, 106)
        ax.set_title("E-PUR energy by component (energy per sequence in mJ above each bar)",
                     pad=22)  # fmt: skip
        handles, labels = ax.get_legend_handles_labels()  # top of the stack first:
        fig.legend(handles[::-1], labels[::-1], fontsize=8, loc="outside right center",
                   frameon=False)  # fmt: skip
        return render(fig, "energy_breakdown")


def versus_tegra(rep: Reproduction) -> dict[str, bytes]:
    """Energy reduction and speedup of each E-PUR design against the modelled Tegra X1,
    for every network (GMAT also with known inputs), with the paper's figures."""
    from epur.report.reproduce import DESIGNS, PAPER_ENERGY_REDUCTION, THESIS_SPEEDUP

    labels = [case.label for case in rep.cases]
    width = 0.8 / len(DESIGNS)
    with figure(12, 4.8, ncols=2) as (fig, (left, right)):
        peaks = {"left": 0.0, "right": 0.0}
        for k, design in enumerate(DESIGNS):
            xs = [i + (k - (len(DESIGNS) - 1) / 2) * width for i in range(len(labels))]
            evs = [(case.designs[design], case.tegra) for case in rep.cases]
            reductions = [t.energy_j / ev.energy.total_j for ev, t in evs if ev.energy is not None]
            speedups = [t.latency_s / ev.timing.latency_s() for ev, t in evs]
            if len(reductions) == len(xs):
                drawn = left.bar(xs, reductions, width, label=design, color=colour(design))
                _tag(drawn, "vs_tegra_x1_energy", design)
                peaks["left"] = max(peaks["left"], *reductions)
            drawn = right.bar(xs, speedups, width, label=design, color=colour(design))
            _tag(drawn, "vs_tegra_x1_speedup", design)
            peaks["right"] = max(peaks["right"], *speedups)
        references = []
        for ax, side, ref, what, source in (
            (left, "left", PAPER_ENERGY_REDUCTION, "energy reduction", "paper (PACT 2018)"),
            (right, "right", THESIS_SPEEDUP, "speedup", "thesis (UPC 2021)"),
        ):
            line = ax.axhline(ref, color="black", linestyle="--", linewidth=1,
                              label=f"{source}: {ref:g}x {what}, average")  # fmt: skip
            references.append(line)
            ax.set_ylim(0, 1.12 * max(peaks[side], ref))
            ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=20, ha="right")
            _labels(ax, "vs_tegra_x1", "network", f"{what} vs Tegra X1 (x)")
            ax.set_title(f"{what} vs Tegra X1 (modelled, not measured)", fontsize=9)
        bars = [h for h in right.get_legend_handles_labels()[0] if h not in references]
        handles = [*bars, *references]
        fig.legend(handles, [h.get_label() for h in handles], fontsize=8,
                   loc="outside lower center", ncol=len(handles), frameon=False)  # fmt: skip
        return render(fig, "vs_tegra_x1")


_KIND_COLOURS = {"cpu": "#4c78a8", "cuda": "#54a24b", "tegra_x1": "#7f7f7f"}


def versus_measured(measured: Sequence[MeasuredComparison]) -> dict[str, bytes]:
    """E-PUR's speedup and energy ratio (log axes, bars from 1x) against each measured
    baseline and, for reference, the modelled Tegra X1 on the same network; ``n/a`` where
    an energy is unknown. Not a file of ``--out``: the report page shows it inline."""
    import textwrap

    bars: list[tuple[str, str, float, float | None]] = []  # (label, kind, speedup, ratio)
    for k, c in enumerate(measured):
        m = c.measured
        device = textwrap.fill(c.device, 18)
        bars.append((f"{c.network_name}\n{device}\n{c.dtype}, batch {c.batch}",
                     c.device_kind, m.epur_speedup, m.epur_energy_ratio))  # fmt: skip
        if k + 1 == len(measured) or measured[k + 1].network != c.network:
            t = c.tegra_x1
            bars.append((f"{c.network_name}\nTegra X1\n(modelled)\n{c.tegra_precision}",
                         "tegra_x1", t.epur_speedup, t.epur_energy_ratio))  # fmt: skip
    xs = list(range(len(bars)))
    colours = [_KIND_COLOURS.get(kind, colour(kind)) for _, kind, _, _ in bars]
    speedups: list[float | None] = [b[2] for b in bars]
    ratios = [b[3] for b in bars]
    with figure(min(24.0, max(8.0, 2.6 * len(bars))), 5.0, ncols=2) as (fig, (left, right)):
        for ax, values, what in ((left, speedups, "speedup"), (right, ratios, "energy ratio")):
            known = [(x, v, c) for x, v, c in zip(xs, values, colours, strict=True)
                     if v is not None and v > 0]  # fmt: skip
            drawn = ax.bar([x for x, _, _ in known], [v - 1.0 for _, v, _ in known], 0.7,
                           bottom=1.0, color=[c for _, _, c in known])  # fmt: skip
            _tag(drawn, "vs_measured", what.replace(" ", "_"))
            ax.set_yscale("log")
            ax.axhline(1.0, color="black", linewidth=1)
            for x, height, _ in known:
                ax.text(x, height, f"{sig(height, 3)}x", ha="center",
                        va="bottom" if height >= 1 else "top", fontsize=7)  # fmt: skip
            for x, value in zip(xs, values, strict=True):
                if value is None or value <= 0:
                    ax.text(x, 1.0, "n/a", ha="center", va="bottom", fontsize=8)
            heights = [v for _, v, _ in known] + [1.0]
            ax.set_ylim(min(heights) / 3, max(heights) * 3)
            ax.set_xticks(xs, [b[0] for b in bars], fontsize=7)
            ax.set_xlim(-0.6, len(bars) - 0.4)
            _labels(ax, "vs_measured", "platform (measured; the Tegra X1 modelled)",
                    f"E-PUR {what}: platform / E-PUR (x)")  # fmt: skip
            ax.set_title(f"E-PUR {what} (mwl, modelled)", fontsize=9)
        return render(fig, "vs_measured")


def area_breakdown(rep: Reproduction) -> dict[str, bytes]:
    """Chip area per component for each design (mm², stacked)."""
    from epur.report.reproduce import DESIGNS

    areas = {}
    for design in DESIGNS:
        table = rep.cases[0].designs[design].energy_table
        if table is not None:
            areas[design] = dict(table.area_mm2)
    with figure(7, 4) as (fig, ax):
        labels = list(areas)
        components = list(dict.fromkeys(c for a in areas.values() for c in a))
        bottoms = [0.0] * len(labels)
        for comp in components:
            values = [areas[d].get(comp, 0.0) for d in labels]
            drawn = ax.bar(labels, values, bottom=bottoms, label=comp, color=colour(comp))
            _tag(drawn, "area_breakdown", comp)
            bottoms = [x + v for x, v in zip(bottoms, values, strict=True)]
        for k, total in enumerate(bottoms):
            ax.text(k, total * 1.01, sig(total, 3), ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, 1.1 * max(bottoms))
        _labels(ax, "area_breakdown", "design", "area (mm²)")
        ax.set_title("E-PUR area by component (total in mm² above each bar)")
        handles, names = ax.get_legend_handles_labels()  # top of the stack first:
        fig.legend(handles[::-1], names[::-1], fontsize=8, loc="outside right center",
                   frameon=False)  # fmt: skip
        return render(fig, "area_breakdown")


def tornado(rep: Reproduction) -> dict[str, bytes]:
    """One tornado per headline average (energy reduction, speedup of mwl vs the Tegra X1):
    for each assumption, a bar from the default to the average at its low value and one
    to its high value, the widest on top; the default as a line."""
    sens = rep.sensitivity
    out: dict[str, bytes] = {}
    if sens is None:
        return out
    headlines: list[tuple[str, str, float | None, str]] = [
        ("tornado_energy_reduction", "energy reduction", sens.default.energy_reduction,
         "energy_reduction_avg"),
        ("tornado_speedup", "speedup", sens.default.speedup, "speedup_avg"),
    ]  # fmt: skip
    for name, what, default, field in headlines:
        rows = [(r.assumption, r.low, r.high, p) for r in sens.rows
                if (p := getattr(r, field)) is not None]  # fmt: skip
        if default is None or not rows:
            continue
        rows.sort(key=lambda r: abs(r[3][1] - r[3][0]))  # barh draws bottom up: widest on top
        with figure(8, 0.35 * len(rows) + 1.6) as (fig, ax):
            ys = list(range(len(rows)))
            for k, (side, colour_) in enumerate((("low", "#4c78a8"), ("high", "#f58518"))):
                ends = [r[3][k] for r in rows]
                label = f"at the assumption's {side} value"
                drawn = ax.barh(ys, [e - default for e in ends], 0.6, left=default,
                                color=colour_, label=label)  # fmt: skip
                _tag(drawn, name, side)
            ax.axvline(default, color="black", linewidth=1,
                       label=f"default: {default:.3g}x")  # fmt: skip
            ax.set_yticks(ys, [f"{a} ({lo} / {hi})" for a, lo, hi, _ in rows], fontsize=7)
            _labels(ax, name, f"average {what} vs Tegra X1 (x)", "assumption (low / high)")
            ax.set_title(f"Sensitivity of the average {what} (mwl vs Tegra X1, modelled)")
            fig.legend(fontsize=8, loc="outside lower center", ncol=3, frameon=False)
            out |= render(fig, name)
    return out
