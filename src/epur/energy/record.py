"""Record CACTI results for the table backend: ``python -m epur.energy.record``.

Runs the CACTI binary for the SRAMs of the given architectures (default: the paper
preset) and writes ``data/cacti_table.json`` beside this module, sorted, so that a
re-run with the same binary reproduces the file byte for byte.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from epur.arch import ArchConfig, paper_preset
from epur.energy.backend import memory_specs, spec_key
from epur.energy.cacti import cacti_config, find_cacti, run_cacti
from epur.timing import weight_buffer_design
from epur.workload.zoo import ZOO_NAMES, zoo_network

__all__ = ["record", "reproduction_archs"]

TABLE = Path(__file__).parent / "data" / "cacti_table.json"


def record(archs: list[ArchConfig], path: Path = TABLE) -> int:
    """Write the CACTI results of every SRAM of ``archs`` to ``path``; returns how many."""
    install = find_cacti()
    entries: dict[str, dict[str, object]] = {}
    for arch in archs:
        for spec in memory_specs(arch).values():
            entries[spec_key(spec)] = {
                "result": asdict(run_cacti(spec, install)),
                "config": cacti_config(spec, install),
            }
    rows = [{"spec": key, **entries[key]} for key in sorted(entries)]
    path.write_text(json.dumps(rows, indent=1) + "\n")
    return len(rows)


def reproduction_archs() -> list[ArchConfig]:
    """The designs ``epur reproduce`` compares: the paper preset (MWL-sized weight
    buffers) and weight buffers sized for the baseline dataflow."""
    networks = [zoo_network(name).with_known_inputs() for name in ZOO_NAMES]
    return [paper_preset(), weight_buffer_design(paper_preset(), networks, "baseline")]


if __name__ == "__main__":
    count = record(reproduction_archs())
    print(f"recorded {count} memories in {TABLE}", file=sys.stderr)
