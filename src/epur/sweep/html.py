"""A sweep's report: one self-contained HTML page (figures inline as SVG) rendered from
the files ``write_summary`` wrote (``summary.json`` and the figures), never from the
results store: the spec's name, the date and epur version, per network the figure, the
best design under each constraint and the Pareto front, and the paper-consistency
verdicts when the sweep compared with the Tegra X1."""

from __future__ import annotations

import html
import json
from functools import partial
from pathlib import Path
from typing import Any

from epur._files import shown as shown_path
from epur._files import write_text
from epur.errors import EpurError
from epur.report._format import sig
from epur.sweep.plots import AXIS_LABELS
from epur.sweep.rows import Objective
from epur.sweep.summary import SUMMARY_JSON, display_order, shown_outputs

__all__ = ["REPORT_HTML", "render_report", "report_page"]

REPORT_HTML = "report.html"
MAX_SHOWN_VERDICTS = 30
_FLAG = "--report"
_escape = partial(html.escape, quote=False)  # text, never an attribute
_STYLE = """body{font-family:system-ui,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}
.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
td.l,th.l{text-align:left} th{background:#f3f3f3} .note{color:#555;font-size:13px}
.yes{color:#1a7f37;font-weight:bold} .no{color:#b42318}
figure{margin:1.5em 0} figure svg{max-width:100%;height:auto}
figcaption{font-size:13px;color:#555}"""
_UNITS = {Objective.LATENCY: "latency (ms)", Objective.ENERGY: "energy (mJ)",
          Objective.AREA: "area (mm²)", Objective.ERROR: "accuracy error"}  # fmt: skip


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A scrolling table; the first ``left`` columns left-aligned. Cells are HTML."""

    def css(i: int) -> str:
        return ' class="l"' if i < left else ""

    head = "".join(f"<th{css(i)}>{_escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{css(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _value(point: dict[str, Any], which: Objective) -> str:
    raw = point.get(which.value)
    return "" if raw is None else sig(raw * AXIS_LABELS[which][1], 4)


def _design(point: dict[str, Any] | None) -> str:
    if point is None:
        return "<i>none meets it</i>"
    axes = point.get("axes") or {}
    text = ", ".join(f"{k}={v}" for k, v in axes.items()) or "(no swept axis)"
    return f"{_escape(text)} <code>{_escape(point['design_id'][:10])}</code>"


def _figure(out_dir: Path, names: list[str], network: str) -> str:
    svg = next((n for n in names if n.endswith(".svg")), None)
    if svg is None:
        return ""
    try:
        body = (out_dir / Path(svg).name).read_text("utf-8").split("?>", 1)[-1]
    except OSError:
        return f'<p class="note">(figure {_escape(svg)} missing)</p>'
    caption = (f"{network}: every evaluated point on each pair of outputs; orange: the Pareto "
               "front over the sweep's objectives; grey crosses: points failing a constraint; "
               "hollow star: the paper's design.")  # fmt: skip
    return f"<figure>{body}<figcaption>{_escape(caption)}</figcaption></figure>"


def _network(out_dir: Path, network: str, net: dict[str, Any], shown: list[Objective]) -> str:
    counts = ", ".join(f"{k}: {v}" for k, v in net["counts"].items())
    best = [[_escape(b["condition"]), _escape(b["objective"]), _design(b["point"]),
             *("" if b["point"] is None else _value(b["point"], o) for o in shown)]
            for b in net["best"]]  # fmt: skip
    front = [[_design(p), *(_value(p, o) for o in shown)] for p in display_order(net["front"])]
    paper = net.get("paper_design")
    paper_text = ""
    if paper is not None:
        where = ("on the front" if paper["on_front"] else
                 f"dominated by {paper['dominated_by_front_points']} front point(s)")  # fmt: skip
        values = ", ".join(f"{_UNITS[o]} {_value(paper, o)}" for o in shown if paper.get(o.value)
                           is not None)  # fmt: skip
        paper_text = (f"<p>The paper's design ({_escape(paper['source'])}): {_escape(values)}; "
                      f"{_escape(where)}.</p>")  # fmt: skip
    return f"""<h2>{_escape(network)}</h2><p>{net["points"]} points ({_escape(counts)}).</p>
{_figure(out_dir, net.get("figures", []), network)}{paper_text}
<h3>Best design under each constraint</h3>
{_table(["condition", "minimising", "design", *(_UNITS[o] for o in shown)], best, 3)}
<h3>Pareto front ({len(net["front"])} of {net["front_candidates"]} points that meet the
constraints)</h3>{_table(["design", *(_UNITS[o] for o in shown)], front)}"""


def _x(value: float | None) -> str:
    return "" if value is None else f"{sig(value, 3)}x"


def _consistency(cons: dict[str, Any] | None) -> str:
    if cons is None:
        return ""
    statements = "".join(f"<li>{_escape(t)}</li>" for t in cons["statements"].values())
    scenarios = [[_escape(s), str(e["decided"]), str(e["holding"]),
                  _x(e["best_energy_reduction_avg"]), _x(e["best_speedup_avg"])]
                 for s, e in cons["by_tegra_scenario"].items()]  # fmt: skip
    verdicts = []
    for v in cons["verdicts"][:MAX_SHOWN_VERDICTS]:
        mark = '<span class="yes">yes</span>' if v["holds"] else '<span class="no">no</span>'
        rtf = ", ".join(f"{k} {sig(r, 3)}" for k, r in v["tegra_real_time_factor"].items())
        met = ", ".join(v["met"]) or "none"
        if v["missing_networks"]:
            met = "undecided: no figures on " + ", ".join(v["missing_networks"])
        verdicts.append([mark, _design(v), _escape(str(v["tegra_scenario"])), _escape(met),
                         _x(v["energy_reduction_avg"]), _x(v["speedup_avg"]), _escape(rtf),
                         "yes" if v["feasible"] else "no"])  # fmt: skip
    more = len(cons["verdicts"]) - len(verdicts)
    rest = f'<p class="note">{more} more in summary.json.</p>' if more > 0 else ""
    answer = "Yes" if cons["holding"] else "No"
    return f"""<h2>Can the paper's three statements hold together?</h2><ul>{statements}</ul>
<p><b>{answer}:</b> {cons["holding"]} of {cons["decided"]} decided (design, Tegra scenario)
pairs meet all three ({cons["designs"]} in all; a pair is decided when it has figures on
all of {_escape(", ".join(cons["networks"]))}). The Tegra X1 is modelled, never measured.</p>
{_table(["Tegra scenario", "decided", "holding", "best energy red. (avg)",
         "best speedup (avg)"], scenarios)}
<h3>Designs, those holding first, then by statements met</h3>
{_table(["holds", "design", "Tegra scenario", "statements met", "energy red. (avg)",
         "speedup (avg)", "Tegra RTF", "meets constraints"], verdicts, 4)}{rest}"""  # fmt: skip


def report_page(out_dir: Path, data: dict[str, Any]) -> str:
    """The report page of a sweep's ``summary.json`` data (figures read from ``out_dir``)."""
    shown = shown_outputs(data)
    title = f"epur sweep {data['name']}"
    constraints = ", ".join(data["constraints"]) or "none"
    counts = ", ".join(f"{k}: {v}" for k, v in data["counts"].items())
    networks = "".join(_network(out_dir, n, net, shown) for n, net in data["networks"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_escape(title)}</title><style>{_STYLE}</style></head><body>
<h1>{_escape(title)}</h1>
<p>Design-space exploration of E-PUR (Silfa et al., PACT 2018) with epur
{_escape(data["epur_version"])}; summary written {_escape(data["created"])}.
{data["points"]} points ({_escape(counts)}). Objectives, all minimised:
{_escape(", ".join(data["objectives"]))}. Constraints: {_escape(constraints)}.</p>
<p class="note">A design is named by the values of the swept axes, then the start of its
identity. Latency and energy are per sequence. The best design under a constraint is the
evaluated point that meets it with the least value of the objective.</p>
{networks}{_consistency(data.get("paper_consistency"))}
</body></html>
"""


def render_report(out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` from ``out_dir/summary.json`` and the figures beside
    it; its path."""
    out_dir = Path(out_dir)
    path = out_dir / SUMMARY_JSON
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        missing = f"no {SUMMARY_JSON} (run the sweep first)"
        raise EpurError(f"cannot read {_FLAG} {shown_path(out_dir)}: {missing}") from None
    except (OSError, ValueError) as exc:
        raise EpurError(f"cannot read {_FLAG} {shown_path(path)}: {exc}") from None
    if not isinstance(data, dict) or "networks" not in data:
        raise EpurError(f"cannot read {_FLAG} {shown_path(path)}: not a sweep summary")
    target = out_dir / REPORT_HTML
    write_text(target, report_page(out_dir, data), _FLAG)
    return target
