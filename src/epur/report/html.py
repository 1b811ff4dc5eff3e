"""One self-contained HTML page with the paper's evaluation: tables, figures (inline
SVG), the paper-vs-epur comparison and the provenance of every architecture value."""

from __future__ import annotations

import html
from typing import Any

from epur.report.reproduce import RESULT_HEADERS, result_rows

__all__ = ["report_html"]

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}
th{background:#f3f3f3} .note{color:#666;font-size:13px} figure{margin:1em 0}"""


def _table(headers: list[str], rows: list[list[str]], left: frozenset[int] = frozenset()) -> str:
    """An HTML table: numbers right-aligned; the first column and ``left`` ones left."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    cell = ('<td class="l">', "<td>")
    body = "".join(
        "<tr>"
        + "".join(f"{cell[i not in left]}{html.escape(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(data: dict[str, Any], figures: dict[str, bytes], backend: str) -> str:
    """The report page for ``reproduction_json`` data and the figures' SVG bytes."""
    svgs = "".join(
        f"<figure>{svg.decode('utf-8').split('?>', 1)[-1]}</figure>"
        for name, svg in sorted(figures.items())
        if name.endswith(".svg")
    )
    summary = data["summary"]
    claim_rows = [[r["claim"], r["paper"], r["epur"], r["gap"]] for r in data["paper_vs_epur"]]
    claims = _table(["claim", "paper", "epur", "gap"], claim_rows, frozenset({1, 2, 3}))
    results = _table(RESULT_HEADERS, result_rows(data))
    params = _table(["parameter", "value", "status", "source"], [
        [key, str(_lookup(data["arch"], key)), p["status"], p["source"]]
        for key, p in data["arch_provenance"].items()
    ], frozenset({2, 3}))  # fmt: skip
    designs = _table(
        ["design", "what it is", "weight buffer B/CU", "banks", "cycles per access (WB, IB, IM)"],
        [
            [name, d["description"], f"{d['weight_buffer_capacity_bytes']:,}",
             str(d["weight_buffer_banks"]), ", ".join(str(v) for v in d["access_cycles"].values())]
            for name, d in data["designs"].items()
        ],
        left=frozenset({1}),
    )  # fmt: skip
    sram = ("CACTI 7 (zigzag-dse 3.9.1)" if backend == "cacti"
            else "CACTI results recorded in the repository (CACTI was not run)")  # fmt: skip
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>E-PUR reproduction (epur)</title><style>{_STYLE}</style></head><body>
<h1>E-PUR: the paper's evaluation, reproduced by epur</h1>
<p>Silfa et al., "E-PUR: An Energy-Efficient Processing Unit for Recurrent Neural
Networks", PACT 2018. Every number on this page is computed by epur; none is typed in.
SRAM figures: {html.escape(sram)}. The Tegra X1 is a roofline model (published peak
throughput, bandwidth and board power): <b>modelled, never measured</b>.</p>
<h2>Paper vs epur</h2>{claims}
<p class="note">Averages over {", ".join(summary["averaged_over"])} with MWL (GMAT faithful,
autoregressive decoder).</p>
<h2>Designs</h2>{designs}
<p class="note">An SRAM whose cycle time exceeds the clock holds its single port for
several cycles per access; the timing model charges those cycles, and any conflict
between reads and fills on one port, as port stalls.</p>
<h2>Results</h2>{results}
<h2>Figures</h2>{svgs}
<h2>Architecture parameters: published or assumed</h2>{params}
</body></html>
"""


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node
