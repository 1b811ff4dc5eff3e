"""What each design option (docs/model.md section 7) does to the four zoo networks.

Run: ``python benchmarks/design_options.py`` (SRAM figures from CACTI; the table is the
README's). For every network (GMAT as it runs, autoregressive decoder included), both
dataflows on the paper preset, and each option alone (``input_steps_per_weight_read``
at 8) then all together: cycles, port-stall share, weight-buffer reads and energy per
inference, and each relative to the preset. Energy is what ``epur.energy.model`` counts:
a register file for ``constants_in_mfu`` is not costed.
"""

from __future__ import annotations

import argparse
from typing import Any

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.energy.backend import sram_backend
from epur.evaluation import evaluate
from epur.schedule import Dataflow
from epur.workload.zoo import ZOO_NAMES, zoo_network

VARIANTS: dict[str, list[str]] = {
    "preset": [],
    "constants_in_mfu": ["options.constants_in_mfu=true"],
    "double_buffered_weights": ["options.double_buffered_weights=true"],
    "prefetch_next_layer": ["options.prefetch_next_layer=true"],
    "input_steps_per_weight_read=8": ["options.input_steps_per_weight_read=8"],
    "all": [
        "options.constants_in_mfu=true",
        "options.double_buffered_weights=true",
        "options.prefetch_next_layer=true",
        "options.input_steps_per_weight_read=8",
    ],
}
HEADERS = [
    "network", "dataflow", "option", "Mcycles", "x cycles", "port stall %",
    "WB reads M", "x WB reads", "energy mJ", "x energy",
]  # fmt: skip


def rows(backend_name: str) -> list[list[str]]:
    backend = sram_backend(backend_name)
    out: list[list[str]] = []
    for key in ZOO_NAMES:
        network = zoo_network(key)
        for dataflow in Dataflow:
            base: dict[str, Any] = {}
            for label, settings in VARIANTS.items():
                arch: ArchConfig = apply_overrides(paper_preset(), settings)
                ev = evaluate(network, arch, dataflow, energy_backend=backend)
                c = ev.timing.total
                joules = ev.energy.total_j if ev.energy is not None else float("nan")
                now = {"cycles": c.cycles, "reads": c.weight_buffer_reads, "j": joules}
                base = base or now
                out.append([
                    network.name, str(dataflow), label, f"{c.cycles / 1e6:.3f}",
                    f"{now['cycles'] / base['cycles']:.4f}",
                    f"{100 * c.port_stall_cycles / c.cycles:.2f}",
                    f"{c.weight_buffer_reads / 1e6:.2f}",
                    f"{now['reads'] / base['reads']:.3f}",
                    f"{joules * 1e3:.3f}", f"{now['j'] / base['j']:.4f}",
                ])  # fmt: skip
    return out


def markdown(headers: list[str], body: list[list[str]], left: int = 3) -> str:
    align = ["---"] * left + ["---:"] * (len(headers) - left)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [headers, align, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energy-backend", default="cacti", choices=["cacti", "table", "auto"])
    args = parser.parse_args()
    print(markdown(HEADERS, rows(args.energy_backend)))


if __name__ == "__main__":
    main()
