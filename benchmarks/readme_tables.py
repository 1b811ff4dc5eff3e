"""The README's result tables, in Markdown, computed by epur (none typed in).

Run: ``python benchmarks/readme_tables.py`` (SRAM figures from CACTI when installed).

1. Timing and weight traffic on the paper preset: ``epur simulate`` for every zoo
   network (GMAT also with known inputs) under both dataflows.
2. The paper's evaluation: what ``epur reproduce`` writes to ``results.json``, as
   the results table and the paper-vs-epur table.
"""

from __future__ import annotations

from epur.arch import paper_preset
from epur.energy import sram_backend
from epur.evaluation import evaluate
from epur.report.reproduce import RESULT_HEADERS, reproduce, reproduction_results, result_rows
from epur.schedule import Dataflow
from epur.workload.zoo import ZOO_NAMES, zoo_network


def markdown(headers: list[str], rows: list[list[str]], left: int = 2) -> str:
    align = ["---"] * left + ["---:"] * (len(headers) - left)
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def timing_table() -> str:
    backend, arch = sram_backend(), paper_preset()
    rows = []
    for key in ZOO_NAMES:
        network = zoo_network(key)
        variants = [(network, "")]
        if network.is_autoregressive:
            variants.append((network.with_known_inputs(), " (known inputs)"))
        for net, label in variants:
            traffic = {}
            for dataflow in Dataflow:
                ev = evaluate(net, arch, dataflow, energy_backend=backend)
                t, c = ev.timing, ev.timing.total
                traffic[dataflow] = c.dram_weight_bytes
                rtf = ev.real_time_factor
                ratio = c.dram_weight_bytes / traffic[Dataflow.BASELINE]
                rows.append([
                    f"{net.name}{label}", str(dataflow), f"{t.latency_s() * 1e3:.2f}",
                    "n/a" if rtf is None else f"{rtf:.4f}", f"{t.dpu_utilization():.3f}",
                    f"{100 * c.port_stall_cycles / c.cycles:.1f}",
                    f"{c.dram_weight_bytes / 1e6:.2f}",
                    f"{ratio:.3f}" if dataflow == Dataflow.MWL else "",
                ])  # fmt: skip
    headers = ["network", "dataflow", "latency ms", "real-time factor", "DPU util",
               "port stall %", "weight DRAM MB", "MWL / baseline weight traffic"]  # fmt: skip
    return markdown(headers, rows)


def evaluation_tables() -> str:
    results = reproduction_results(reproduce(paper_preset(), sram_backend()))
    claims = [c.cells() for c in results.claims]
    designs = [
        [name, f"{d.weight_buffer_capacity_bytes:,}", str(d.weight_buffer_banks), d.cycles_text()]
        for name, d in results.designs.items()
    ]
    return "\n\n".join([
        markdown(["design", "weight buffer B/CU", "banks", "cycles per access (WB, IB, IM)"],
                 designs, left=1),
        markdown(RESULT_HEADERS, result_rows(results)),
        markdown(["claim", "paper", "epur", "gap"], claims, left=4),
        f"SRAM figures: {results.summary.energy_backend}",
    ])  # fmt: skip


if __name__ == "__main__":
    print(timing_table(), end="\n\n")
    print(evaluation_tables())
