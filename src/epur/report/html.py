"""One self-contained HTML page with the paper's evaluation: the fields changed from
the paper preset (if any), the designs, the workloads, the results, the figures
(inline SVG), each design's SRAMs as CACTI gives them, and every architecture value
used, with its unit and provenance. Wide tables scroll; figures shrink to the page.

Sources are named by short reference (``Horowitz, ISSCC 2014``); their full
references are in ``docs/sources.md`` of the epur repository.
"""

from __future__ import annotations

import html
import re
from functools import partial

from epur.arch import ArchChange
from epur.report.designs import DESIGN_TEXT
from epur.report.measured import MEASURED_HEADERS, measured_notes, measured_rows
from epur.report.memories import MEMORY_HEADERS
from epur.report.paper_claims import CLAIM_HEADERS
from epur.report.parameters import (
    CHANGES_HEADERS,
    PARAMETER_HEADERS,
    changes_rows,
    parameter_rows,
)
from epur.report.per_sequence import ENERGY_DEFINITIONS
from epur.report.reproduce import Reproduction
from epur.report.reproduction_results import ReproductionResults
from epur.report.results import RESULT_HEADERS, result_rows
from epur.report.workloads import WORKLOAD_HEADERS

__all__ = ["report_files", "report_html"]

_escape = partial(html.escape, quote=False)  # text, never an attribute

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}
.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
td.l,th.l{text-align:left} td.n{white-space:nowrap} div.w{min-width:12em}
th{background:#f3f3f3} .note{color:#555;font-size:13px}
figure{margin:1.5em 0} figure svg{max-width:100%;height:auto}
figcaption{font-size:13px;color:#555}"""

_SOURCES = (
    "Silfa, Dot, Arnau, Gonzalez, PACT 2018 (the paper; arXiv 1711.07480)",
    "Silfa, PhD thesis, UPC 2021 (the 6.8x speedup)",
    "Balasubramonian et al., CACTI 7, ACM TACO 2017 (SRAMs; the binary of zigzag-dse 3.9.1)",
    "Horowitz, ISSCC 2014 (arithmetic energy at 45 nm)",
    "Stillmaker & Baas, Integration 2017 (scaling 45 nm to the node)",
    "NVIDIA Tegra X1 whitepaper, 2015 (the Tegra X1's peak throughput, bandwidth, power)",
)


def _table(
    headers: list[str],
    rows: list[list[str]],
    left: frozenset[int] = frozenset(),
    wrap: frozenset[int] = frozenset(),
) -> str:
    """An HTML table in a horizontally scrolling box. Numbers right-aligned; the first
    column and ``left`` ones left-aligned; only ``wrap`` columns (prose) wrap, and they
    keep a readable width: a narrow window scrolls the table rather than squeeze them."""
    left = left | {0}

    def css(i: int) -> str:
        return " ".join(c for c, on in (("l", i in left), ("n", i not in wrap), ("w", i in wrap))
                        if on)  # fmt: skip

    head = "".join(f'<th class="{css(i)}">{_escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{css(i)}">{_cell(c, i in wrap)}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


_CAPTIONS = {
    "energy_breakdown": "Where the energy of a sequence goes, by component, for every network "
    "and design (shares; the energy per sequence in mJ above each bar).",
    "vs_tegra_x1": "Energy reduction and speedup of each design against the modelled Tegra X1; "
    "dashed: the paper's 92x energy reduction and the thesis's 6.8x speedup (averages).",
    "area_breakdown": "Chip area of each design by component (total in mm² above each bar).",
    "tornado_energy_reduction": "Average energy reduction of mwl vs the Tegra X1 with each "
    "assumption at its low and its high value, the others at their default (line).",
    "tornado_speedup": "Average speedup of mwl vs the Tegra X1 with each assumption at its "
    "low and its high value, the others at their default (line).",
}


_MEASURED = ("E-PUR's speedup and energy ratio (the platform's latency and energy per "
             "sequence over E-PUR's, log scale) against each measured baseline and the "
             "modelled Tegra X1; n/a: energy not measured.")  # fmt: skip


def _cell(text: str, wrap: bool) -> str:
    """A cell's text; prose in a block that keeps a readable width (a table cell's own
    min-width is not honoured by browsers)."""
    if wrap:
        return f'<div class="w">{_escape(text)}</div>'
    return re.sub(r"\.(?=[a-z])", ".<wbr>", _escape(text))  # dotted keys may break


def _figures(figures: dict[str, bytes]) -> str:
    """The SVG figures inline, in the order of ``_CAPTIONS``, each with its caption."""
    out = []
    for name, caption in _CAPTIONS.items():
        svg = figures.get(f"{name}.svg")
        if svg is not None:
            body = svg.decode("utf-8").split("?>", 1)[-1]
            out.append(f"<figure>{body}<figcaption>{_escape(caption)}</figcaption></figure>")
    return "".join(out)


def _changes(changes: tuple[ArchChange, ...]) -> str:
    if not changes:
        return ""
    return (
        "<h2>Changed from the paper preset</h2>"
        '<p class="note">This is not the paper\'s design: these fields were set by '
        "<code>--arch</code> or <code>--set</code> (provenance <b>user</b>), or follow a "
        "field that was (<b>derived from</b> it). The paper's claims below are for its "
        "own design.</p>" + _table(CHANGES_HEADERS, changes_rows(changes), frozenset({1, 4}))
    )


def _designs(results: ReproductionResults) -> str:
    rows = [
        [name, DESIGN_TEXT[name], f"{d.weight_buffer_capacity_bytes:,}",
         str(d.weight_buffer_banks), d.cycles_text()]
        for name, d in results.designs.items()
    ]  # fmt: skip
    headers = ["design", "what it is", "weight buffer B/CU", "banks",
               "cycles per access (WB, IB, IM)"]  # fmt: skip
    return _table(headers, rows, frozenset({1}), frozenset({1}))


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}x"


def _pair(pair: tuple[float, float] | None) -> str:
    return " / ".join(_x(v) for v in pair or [None])


def _uncertainty(results: ReproductionResults) -> str:
    """The Tegra scenarios, the sensitivity table and the consistency check."""
    sens, cons, bands = results.sensitivity, results.consistency, results.summary.bands
    if sens is None or not sens.rows or cons is None or bands is None:
        return ""
    nets = [c.key for c in results.networks]
    scen_rows = [
        [s.name, s.precision, f"{s.step_overhead_s * 1e6:.3g}", f"{s.power_w:g}",
         _x(s.energy_reduction_avg), _x(s.speedup_avg)]
        + [f"{e.latency_s * 1e3:.4g}" + ("" if e.real_time_factor is None
           else f" (RTF {e.real_time_factor:.3g})") for e in s.networks.values()]
        for s in results.scenarios
    ]  # fmt: skip
    scen_headers = ["scenario", "precision", "us per step", "power W", "energy red. (avg)",
                    "speedup (avg)", *(f"{k.upper()} ms" for k in nets)]  # fmt: skip
    sens_rows = [
        [r.assumption, r.default, r.low, r.high, _pair(r.energy_reduction_avg),
         _pair(r.speedup_avg), r.note or r.reason]
        for r in sens.rows
    ]  # fmt: skip
    sens_headers = ["assumption", "default", "low", "high", "energy red. low / high",
                    "speedup low / high", "why these values"]  # fmt: skip
    summary = results.summary
    band = (f"energy reduction {_x(summary.energy_reduction_avg)} "
            f"(range {' to '.join(_x(v) for v in bands.energy_reduction or ())})"
            f"; speedup {_x(summary.speedup_avg)} (range "
            f"{' to '.join(_x(v) for v in bands.speedup)})")  # fmt: skip
    return f"""<h2>Tegra X1 scenarios</h2>{_table(scen_headers, scen_rows)}
<p class="note">The default scenario, in every other table and figure, is
<b>{_escape(summary.tegra_scenario)}</b>. All modelled, never measured.</p>
<h2>Sensitivity</h2><p>Headline averages (mwl): {_escape(band)}.</p>
{_table(sens_headers, sens_rows, frozenset({1, 2, 3, 6}), frozenset({6}))}
<h2>Can the paper's statements hold together?</h2>
<p><b>{"Yes" if cons.holds else "No"}.</b> {_escape(cons.explanation)}</p>"""


def _measured(results: ReproductionResults, figures: dict[str, bytes]) -> str:
    """The measured baselines (``--baseline-json``) beside E-PUR and the modelled Tegra X1,
    with their figure (``vs_measured.svg`` of ``figures``, inline only); nothing without
    them."""
    if not results.measured:
        return ""
    rows = measured_rows(results.measured)
    notes = "".join(f"<li>{_escape(n)}</li>" for n in measured_notes(results.measured))
    svg = figures.get("vs_measured.svg")
    figure = "" if svg is None else (
        f"<figure>{svg.decode('utf-8').split('?>', 1)[-1]}<figcaption>{_escape(_MEASURED)}"
        "</figcaption></figure>"
    )  # fmt: skip
    return (
        "\n<h2>Measured baselines</h2>"
        "<p>Devices the networks ran on with PyTorch (<code>epur baseline</code>): "
        "<b>measured</b>, on the device and at the date shown, beside E-PUR and the "
        "Tegra X1 (both <b>modelled</b>).</p>"
        + _table(MEASURED_HEADERS, rows, frozenset({1, 2, 3, 10}), frozenset({1}))
        + f'<ul class="note">{notes}</ul>'
        + figure
    )


def report_html(results: ReproductionResults, figures: dict[str, bytes]) -> str:
    """The report page of a reproduction's results and its figures."""
    backend = results.summary.energy_backend
    sram = ("CACTI 7 (zigzag-dse 3.9.1)" if backend == "cacti"
            else "CACTI results recorded in the repository (CACTI was not run)")  # fmt: skip
    averaged = ", ".join(c.name for c in results.networks)
    claims = _table(CLAIM_HEADERS, [c.cells() for c in results.claims], frozenset({1, 2, 3}),
                    frozenset({0, 1, 2, 3}))  # fmt: skip
    table = _table(RESULT_HEADERS, result_rows(results), frozenset({1}))
    workloads = _table(WORKLOAD_HEADERS, [w.cells() for _, w in results.workloads],
                       frozenset({1, 3}), frozenset({1, 3}))  # fmt: skip
    params = _table(
        PARAMETER_HEADERS,
        [row.cells() for row in parameter_rows(results.design_archs, results.changes)],
        frozenset({1, 2, 3, 4}),
        frozenset({2, 4}),
    )
    memories = _table(
        MEMORY_HEADERS,
        [m.cells() for m in results.memories],
        frozenset({0, 1}),
        frozenset({0}),
    )
    definitions = "; ".join(f"<b>{k}</b>: {_escape(v)}" for k, v in ENERGY_DEFINITIONS.items())
    sources = "".join(f"<li>{_escape(s)}</li>" for s in _SOURCES)
    title = _escape(results.title)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{_STYLE}</style></head><body>
<h1>{title}</h1>
<p>Silfa et al., "E-PUR: An Energy-Efficient Processing Unit for Recurrent Neural
Networks", PACT 2018. Every number on this page is computed by epur; none is typed in.
SRAM figures: {_escape(sram)}. The Tegra X1 is modelled as cuDNN runs an LSTM (an
input GEMM per layer over the sequence; per step a recurrent GEMV re-reading U beyond the
256 KiB L2, a point-wise kernel and a fixed cost), with efficiencies fitted to measured
TX1 kernels and 5.7 W under load: <b>modelled, never measured</b>; three scenarios
below.</p>
{_changes(results.changes)}
<h2>Paper vs epur</h2>{claims}
<p class="note">Averages over {averaged} with the mwl design
(GMAT faithful: autoregressive decoder).</p>
<h2>Designs</h2>{_designs(results)}
<p class="note">An SRAM whose cycle time exceeds the clock holds its single port for
several cycles per access; the timing model charges those cycles, and any conflict
between reads and fills on one port, as port stalls.</p>
<h2>Workloads</h2>{workloads}
<p class="note">GMAT also runs with known inputs (teacher forcing: the decoder's inputs
given), as the paper's MWL result on it needs. MACs are for one sequence.</p>
<h2>Results</h2>{table}
<p class="note">Energy per sequence and per step as epur defines them: {definitions}.
Batch 1 throughout.</p>{_measured(results, figures)}
<h2>Figures</h2>{_figures(figures)}
{_uncertainty(results)}
<h2>SRAMs (CACTI)</h2>{memories}
<p class="note">Per instance: energy per access of the full port, leakage (subthreshold
and gate) and area of one SRAM; the design has <i>instances</i> of it. Cycles per access
at the design's clock.</p>
<h2>Architecture parameters: published, assumed or set by the user</h2>{params}
<p class="note">Values as the models use them: logic energies and areas scaled to the
node, automatic port widths resolved; where designs differ, each design's value.</p>
<h2>Sources</h2><ul>{sources}</ul>
<p class="note">Full references: <code>docs/sources.md</code> in the epur repository.</p>
</body></html>
"""


def report_files(rep: Reproduction, results: ReproductionResults, text: str) -> dict[str, bytes]:
    """Every file of ``epur reproduce --out``, rendered (nothing written): the figures (PNG
    and SVG, of ``rep``) and ``report.html`` when energy was modelled, ``results.json``
    (``results.json()``), ``results.md`` (``text``)."""
    import json

    from epur.report.plots import (
        area_breakdown,
        energy_breakdown,
        tornado,
        versus_measured,
        versus_tegra,
    )

    files: dict[str, bytes] = {}
    if results.summary.energy_reduction_avg is not None:
        files |= energy_breakdown(rep) | versus_tegra(rep) | area_breakdown(rep) | tornado(rep)
        inline = versus_measured(results.measured) if results.measured else {}
        files["report.html"] = report_html(results, files | inline).encode("utf-8")
    files["results.json"] = (json.dumps(results.json(), indent=2) + "\n").encode("utf-8")
    files["results.md"] = (text + "\n").encode("utf-8")
    return files
