"""Record CACTI results for the table backend (``epur/energy/data/cacti_table.json``).

``Recorder`` is a CACTI backend that remembers every SRAM a run asks for; ``record``
writes their results, sorted, so that a re-run with the same binary reproduces the
file byte for byte. ``python -m epur.report.record_cacti`` records what ``epur
reproduce`` needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from epur.energy.backend import CactiBackend, spec_key
from epur.energy.cacti import SramResult, SramSpec, cacti_config, find_cacti, run_cacti

__all__ = ["TABLE", "Recorder", "record"]

TABLE = Path(__file__).parent / "data" / "cacti_table.json"


class Recorder:
    """A CACTI backend that remembers every SRAM it was asked for."""

    name = "cacti"

    def __init__(self) -> None:
        self._cacti = CactiBackend()
        self.specs: dict[str, SramSpec] = {}

    def sram(self, spec: SramSpec) -> SramResult:
        self.specs[spec_key(spec)] = spec
        return self._cacti.sram(spec)

    def config_text(self, spec: SramSpec) -> str | None:
        return self._cacti.config_text(spec)


def record(specs: Iterable[SramSpec], path: Path = TABLE) -> int:
    """Write the CACTI results of ``specs`` to ``path``; returns how many."""
    install = find_cacti()
    entries = {
        spec_key(spec): {
            "result": asdict(run_cacti(spec, install)),
            "config": cacti_config(spec, install),
        }
        for spec in specs
    }
    rows = [{"spec": key, **entries[key]} for key in sorted(entries)]
    path.write_text(json.dumps(rows, indent=1) + "\n")
    return len(rows)
