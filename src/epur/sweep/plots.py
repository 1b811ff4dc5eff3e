"""Figures of a sweep (matplotlib, imported lazily), as PNG and SVG bytes.

Per network one figure: every evaluated point on each pair of outputs (latency, energy,
area, and the accuracy error when the sweep measured it), the Pareto front (over the
sweep's objectives) highlighted, points that fail a constraint in grey, and the paper's
design marked. An axis is logarithmic where its values span a decade or more. Nothing
is written here: ``front_figure`` returns ``{"name.png": bytes, "name.svg": bytes}``.
SVG text stays text; above ``RASTER_ABOVE`` points the cloud of points is embedded as
an image inside the SVG so that the file stays small.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from typing import Any

from epur.report.plots import figure, render
from epur.sweep.frontier import Front
from epur.sweep.paper import PaperPoint
from epur.sweep.rows import Objective, RowStatus, SweepRow

__all__ = ["AXIS_LABELS", "RASTER_ABOVE", "front_figure", "plot_name", "plotted_outputs"]

RASTER_ABOVE = 2000
# output -> (axis label, factor from the row's SI value to the axis unit)
AXIS_LABELS: dict[Objective, tuple[str, float]] = {
    Objective.LATENCY: ("latency per sequence (ms)", 1e3),
    Objective.ENERGY: ("energy per sequence (mJ)", 1e3),
    Objective.AREA: ("area (mm²)", 1.0),
    Objective.ERROR: ("accuracy error (largest absolute error)", 1.0),
}
_CLOUD, _INFEASIBLE, _FRONT, _PAPER = "#6baed6", "#b0b0b0", "#e6550d", "#000000"


def plot_name(network: str) -> str:
    """The file stem of a network's figure: ``front_<network>``, the name made safe for
    a file name (with a digest of the original when anything was replaced)."""
    safe = re.sub(r"[^a-z0-9_-]+", "_", network.lower()).strip("_")[:40] or "network"
    if safe != network:
        safe += f"_{zlib.crc32(network.encode()):08x}"
    return f"front_{safe}"


def plotted_outputs(rows: Sequence[SweepRow]) -> list[Objective]:
    """The outputs some evaluated row knows, in ``Objective`` order."""
    return [o for o in Objective if any(r.objective(o) is not None for r in rows)]


def _points(rows: Sequence[SweepRow], x: Objective, y: Objective) -> tuple[list[float], ...]:
    fx, fy = AXIS_LABELS[x][1], AXIS_LABELS[y][1]
    xs, ys = [], []
    for row in rows:
        vx, vy = row.objective(x), row.objective(y)
        if vx is not None and vy is not None:
            xs.append(vx * fx)
            ys.append(vy * fy)
    return xs, ys


def _scale(ax: Any, axis: str, values: Sequence[float]) -> None:
    """Logarithmic when every value is positive and they span a decade or more."""
    if values and min(values) > 0 and max(values) >= 10 * min(values):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _mark_paper(
    ax: Any, paper: PaperPoint | None, x: Objective, y: Objective, gid: str
) -> tuple[float, float] | None:
    """The paper's design as a hollow star (front points stay visible under it)."""
    px, py = (None, None) if paper is None else (paper.values.get(x), paper.values.get(y))
    if paper is None or px is None or py is None:
        return None
    at = (px * AXIS_LABELS[x][1], py * AXIS_LABELS[y][1])
    ax.scatter([at[0]], [at[1]], marker="*", s=220, facecolors="none", edgecolors=_PAPER,
               linewidths=1.3, zorder=3, gid=gid,
               label=f"the paper's design ({paper.source})")  # fmt: skip
    return at


def front_figure(
    network: str, rows: Sequence[SweepRow], front: Front, paper: PaperPoint | None
) -> dict[str, bytes]:
    """The figure of one network's points (module docstring); ``{}`` when fewer than two
    outputs are known."""
    evaluated = [r for r in rows if r.status in (RowStatus.OK, RowStatus.INFEASIBLE)]
    outputs = plotted_outputs(evaluated)
    pairs = list(itertools.combinations(outputs, 2))
    if not pairs:
        return {}
    on_front = set(front.point_ids)
    groups = (
        ("fails a constraint", [r for r in evaluated if r.status is RowStatus.INFEASIBLE]),
        ("meets the constraints", [r for r in evaluated
                                   if r.status is RowStatus.OK and r.point_id not in on_front]),
        ("Pareto front (" + ", ".join(o.value for o in front.objectives) + ")",
         list(front.points)),
    )  # fmt: skip
    styles = (
        {"color": _INFEASIBLE, "marker": "x", "s": 10, "linewidths": 0.6},
        {"color": _CLOUD, "marker": "o", "s": 10, "alpha": 0.6, "linewidths": 0},
        {"color": _FRONT, "marker": "o", "s": 22, "edgecolors": "black", "linewidths": 0.5},
    )
    ncols = min(3, len(pairs))
    nrows = -(-len(pairs) // ncols)
    name = plot_name(network)
    with figure(4.2 * ncols, 3.8 * nrows, ncols, nrows, squeeze=False) as (fig, axes):
        for k, (x, y) in enumerate(pairs):
            ax = axes[k // ncols][k % ncols]
            every: tuple[list[float], list[float]] = ([], [])
            for (label, group), style in zip(groups, styles, strict=True):
                xs, ys = _points(group, x, y)
                every[0].extend(xs)
                every[1].extend(ys)
                if xs:
                    big = len(xs) > RASTER_ABOVE
                    ax.scatter(xs, ys, label=label, rasterized=big, zorder=2, **style)
            marked = _mark_paper(ax, paper, x, y, f"{name}-paper-{k}")
            if marked is not None:
                every[0].append(marked[0])
                every[1].append(marked[1])
            _scale(ax, "x", every[0])
            _scale(ax, "y", every[1])
            ax.set_xlabel(AXIS_LABELS[x][0], gid=f"{name}-xlabel-{k}")
            ax.set_ylabel(AXIS_LABELS[y][0], gid=f"{name}-ylabel-{k}")
            ax.grid(True, which="major", color="#e5e5e5", linewidth=0.6, zorder=0)
        for k in range(len(pairs), nrows * ncols):
            axes[k // ncols][k % ncols].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=8, loc="outside lower center",
                   ncol=len(handles), frameon=False)  # fmt: skip
        fig.suptitle(f"{network}: {len(evaluated)} evaluated points, {len(front.points)} on "
                     "the Pareto front (all minimised)")  # fmt: skip
        return render(fig, name, dpi=110)
