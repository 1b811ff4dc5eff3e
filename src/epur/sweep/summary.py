"""A sweep's summary: per network the Pareto front, the best design under each
constraint and for each objective, the counts by status and the paper's design; the
paper-consistency verdicts when the rows carry figures against the Tegra X1.

``summary_data`` computes it (JSON-ready), ``summary_markdown`` writes it as tables, and
``write_summary`` (what ``epur sweep`` calls) writes ``summary.json``, ``summary.md`` and
one figure per network (PNG and SVG) into the sweep's folder, each file all or nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from epur._files import write_bytes, write_text
from epur.errors import EpurError
from epur.evaluation import Design, SramSource
from epur.report._format import sig
from epur.sweep.frontier import (
    Front,
    best_row,
    by_network,
    dominates,
    front_by_network,
    objective_vector,
)
from epur.sweep.paper import PaperPoint, paper_consistency, paper_point
from epur.sweep.plots import AXIS_LABELS, front_figure
from epur.sweep.rows import Constraint, Objective, RowStatus, SweepRow

__all__ = [
    "ALL_CONSTRAINTS",
    "NO_CONSTRAINT",
    "SCHEMA_VERSION",
    "SUMMARY_JSON",
    "SUMMARY_MD",
    "SpecSettings",
    "display_order",
    "shown_outputs",
    "spec_settings",
    "summary_data",
    "summary_markdown",
    "write_summary",
]

SCHEMA_VERSION = 1
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
NO_CONSTRAINT = "no constraint"
ALL_CONSTRAINTS = "all constraints"
_FLAG = "--out"


@dataclass(frozen=True, slots=True)
class SpecSettings:
    """What the summary takes from ``DIR/spec.json``: the sweep's name, SRAM source and
    the order of its networks."""

    name: str
    sram: SramSource | None
    networks: tuple[str, ...] = ()


def spec_settings(out_dir: Path, rows: Sequence[SweepRow]) -> SpecSettings:
    """The sweep's name, SRAM source and networks: from ``out_dir/spec.json`` where it
    has them, else the folder's name, the rows' designs' SRAM source and no order."""
    name, sram = out_dir.name, None
    networks: tuple[str, ...] = ()
    try:
        spec = json.loads((out_dir / "spec.json").read_text("utf-8"))
    except (OSError, ValueError):
        spec = None
    if isinstance(spec, dict):
        name = str(spec.get("name") or name)
        if spec.get("sram") in {s.value for s in SramSource}:
            sram = SramSource(spec["sram"])
        listed = spec.get("networks")
        if isinstance(listed, list):
            networks = tuple(str(n.get("name") if isinstance(n, dict) else n) for n in listed)
    if sram is None:
        for row in rows:
            try:
                sram = Design.from_json(row.design_json).sram
                break
            except (ValueError, TypeError, KeyError, EpurError):
                continue
    return SpecSettings(name, sram, networks)


def _point(row: SweepRow) -> dict[str, Any]:
    return {
        "point_id": row.point_id,
        "design_id": row.design_id,
        "status": row.status.value,
        "axes": row.axes,
        **{o.value: row.objective(o) for o in Objective},
        "real_time_factor": row.real_time_factor,
    }


def _conditions(constraints: Sequence[Constraint]) -> list[tuple[str, tuple[Constraint, ...]]]:
    out: list[tuple[str, tuple[Constraint, ...]]] = [(NO_CONSTRAINT, ())]
    out += [(str(c), (c,)) for c in constraints]
    if len(constraints) > 1:
        out.append((ALL_CONSTRAINTS, tuple(constraints)))
    return out


def _paper_json(paper: PaperPoint | None, front: Front) -> dict[str, Any] | None:
    if paper is None:
        return None
    vector = tuple(paper.values.get(o) for o in front.objectives)
    known = all(v is not None for v in vector)
    dominated_by = None
    if known:
        mine = [float(v or 0.0) for v in vector]
        vectors = (objective_vector(r, front.objectives) for r in front.points)
        dominated_by = sum(1 for v in vectors if v is not None and dominates(v, mine))
    return {
        "source": paper.source,
        "point_id": paper.point_id,
        **{o.value: paper.values.get(o) for o in Objective},
        "on_front": paper.point_id in front.point_ids,
        "dominated_by_front_points": dominated_by,
    }


def summary_data(
    name: str,
    rows: Sequence[SweepRow],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    papers: dict[str, PaperPoint | None],
    created: datetime,
) -> dict[str, Any]:
    """The summary (module docstring) as JSON-ready data; ``papers``: each network's paper
    point (``paper.paper_point``)."""
    fronts = front_by_network(rows, objectives)
    networks: dict[str, Any] = {}
    for network, group in by_network(rows).items():
        front = fronts[network]
        best = []
        for label, bounds in _conditions(constraints):
            for which in objectives:
                row = best_row(group, which, bounds, [o for o in objectives if o != which])
                best.append({"condition": label, "objective": which.value,
                             "point": None if row is None else _point(row)})  # fmt: skip
        networks[network] = {
            "points": len(group),
            "counts": {s.value: sum(r.status is s for r in group) for s in RowStatus},
            "front_candidates": front.candidates,
            "front": [_point(r) for r in front.points],
            "best": best,
            "paper_design": _paper_json(papers.get(network), front),
            "figures": [],
        }
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": created.isoformat(timespec="seconds"),
        # the version(s) that computed the rows (each row records its own)
        "epur_version": ", ".join(sorted({r.epur_version for r in rows if r.epur_version}))
        or "unknown",
        "objectives": [o.value for o in objectives],
        "constraints": [str(c) for c in constraints],
        "points": len(rows),
        "counts": {s.value: sum(r.status is s for r in rows) for s in RowStatus},
        "networks": networks,
    }
    consistency = paper_consistency(rows)
    if consistency is not None:
        data["paper_consistency"] = consistency.json()
    return data


# --- Markdown ---------------------------------------------------------------------------


def _value(point: dict[str, Any], which: Objective) -> str:
    raw = point.get(which.value)
    return "" if raw is None else sig(raw * AXIS_LABELS[which][1], 4)


def _design(point: dict[str, Any]) -> str:
    axes = point.get("axes") or {}
    text = ", ".join(f"{k}={v}" for k, v in axes.items()) or "(no swept axis)"
    return f"{text} [{point['design_id'][:10]}]"


_UNITS = {Objective.LATENCY: "latency ms", Objective.ENERGY: "energy mJ",
          Objective.AREA: "area mm²", Objective.ERROR: "accuracy error"}  # fmt: skip


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    cells = [[c.replace("|", "\\|") for c in row] for row in rows]
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in cells)]  # fmt: skip


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def _paper_line(paper: dict[str, Any], shown: list[Objective]) -> str:
    if paper["on_front"]:
        where = "on the front"
    else:
        where = f"dominated by {paper['dominated_by_front_points']} front point(s)"
    values = ", ".join(
        f"{_UNITS[o]} {_value(paper, o)}" for o in shown if paper.get(o.value) is not None
    )
    return f"The paper's design ({paper['source']}): {values}; {where}."


def _network_markdown(network: str, net: dict[str, Any], shown: list[Objective]) -> list[str]:
    lines = ["", f"## {network}", "", f"{net['points']} points ({_counts(net['counts'])})."]
    lines += ["", "### Best design under each constraint", ""]
    rows = []
    for b in net["best"]:
        point = b["point"]
        design = "none meets it" if point is None else _design(point)
        values = [("" if point is None else _value(point, o)) for o in shown]
        rows.append([b["condition"], b["objective"], design, *values])
    headers = ["condition", "minimising", "design", *(_UNITS[o] for o in shown)]
    lines += _md_table(headers, rows)
    lines += ["", f"### Pareto front ({len(net['front'])} of {net['front_candidates']} "
              "points that meet the constraints)", ""]  # fmt: skip
    rows = [[_design(p), *(_value(p, o) for o in shown)] for p in display_order(net["front"])]
    lines += _md_table(["design", *(_UNITS[o] for o in shown)], rows)
    if net["paper_design"] is not None:
        lines += ["", _paper_line(net["paper_design"], shown)]
    return lines


def display_order(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Front points as the tables list them: by latency, then energy, area, point id."""

    def key(p: dict[str, Any]) -> tuple[float, float, float, str]:
        lat, energy, area = (p.get(o.value) for o in (Objective.LATENCY, Objective.ENERGY,
                                                       Objective.AREA))  # fmt: skip

        def known(x: Any) -> float:
            return math.inf if x is None else float(x)

        return (known(lat), known(energy), known(area), str(p["point_id"]))

    return sorted(points, key=key)


def shown_outputs(data: dict[str, Any]) -> list[Objective]:
    """The outputs a summary's tables show: latency, energy and area, and the accuracy
    error when it is an objective."""
    return [o for o in Objective if o is not Objective.ERROR or o.value in data["objectives"]]


def summary_markdown(data: dict[str, Any]) -> str:
    """The summary as Markdown tables."""
    shown = shown_outputs(data)
    constraints = ", ".join(data["constraints"]) or "none"
    lines = [
        f"# Sweep {data['name']}",
        "",
        f"{data['points']} points ({_counts(data['counts'])}). Objectives (minimised): "
        f"{', '.join(data['objectives'])}. Constraints: {constraints}. "
        f"epur {data['epur_version']}, {data['created']}.",
    ]
    for network, net in data["networks"].items():
        lines += _network_markdown(network, net, shown)
    lines += _consistency_markdown(data.get("paper_consistency"))
    return "\n".join(lines) + "\n"


def _x(value: float | None) -> str:
    return "" if value is None else f"{sig(value, 3)}x"


def _consistency_markdown(cons: dict[str, Any] | None) -> list[str]:
    if cons is None:
        return []
    lines = ["", "## Can the paper's three statements hold together?", ""]
    lines += [f"- {text}" for text in cons["statements"].values()]
    lines += ["", f"{cons['holding']} of {cons['decided']} decided design and Tegra scenario "
              f"pairs ({cons['designs']} in all) meet all three.", ""]  # fmt: skip
    rows = [[str(s), str(e["decided"]), str(e["holding"]), _x(e["best_energy_reduction_avg"]),
             _x(e["best_speedup_avg"])] for s, e in cons["by_tegra_scenario"].items()]  # fmt: skip
    lines += _md_table(["Tegra scenario", "designs decided", "holding",
                        "best energy reduction (avg)", "best speedup (avg)"], rows)  # fmt: skip
    return lines


# --- writing ----------------------------------------------------------------------------


def write_summary(
    out_dir: Path,
    rows: Sequence[SweepRow],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
) -> list[Path]:
    """Write the summary of ``rows`` into ``out_dir``: ``summary.json``, ``summary.md`` and
    each network's figure (``front_<network>.png`` and ``.svg``); the paths written. The
    paper's design is looked up in ``rows``, or evaluated with the sweep's SRAM source."""
    out_dir = Path(out_dir)
    spec = spec_settings(out_dir, rows)
    order = {n: k for k, n in enumerate(spec.networks)}
    rows = sorted(rows, key=lambda r: (order.get(r.network, len(order)), r.network))
    groups = by_network(rows)
    papers = {n: paper_point(n, g, spec.sram) for n, g in groups.items()}
    data = summary_data(spec.name, rows, objectives, constraints, papers, datetime.now(UTC))
    fronts = front_by_network(rows, objectives)
    figures: dict[str, bytes] = {}
    for network, group in groups.items():
        drawn = front_figure(network, group, fronts[network], papers[network])
        data["networks"][network]["figures"] = sorted(drawn)
        figures |= drawn
    written = []
    for file, content in sorted(figures.items()):
        write_bytes(out_dir / file, content, _FLAG)
        written.append(out_dir / file)
    write_text(out_dir / SUMMARY_MD, summary_markdown(data), _FLAG)
    write_text(out_dir / SUMMARY_JSON, json.dumps(data, indent=2, default=str) + "\n", _FLAG)
    return [*written, out_dir / SUMMARY_MD, out_dir / SUMMARY_JSON]
