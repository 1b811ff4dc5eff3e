"""``python -m epur.report.record_cacti``: record the CACTI results ``epur reproduce`` needs.

Runs the evaluation on the paper preset with the CACTI binary and writes every SRAM
it asked for (including the bank counts tried while banking the baseline design's
weight buffer for the clock) to the table backend's file.
"""

from __future__ import annotations

import sys

from epur.arch import paper_preset
from epur.energy.cacti import SramSpec
from epur.energy.record import TABLE, Recorder, record
from epur.report.reproduce import reproduce

__all__ = ["reproduction_specs"]


def reproduction_specs() -> list[SramSpec]:
    """Every SRAM that ``epur reproduce`` on the paper preset asks for."""
    recorder = Recorder()
    reproduce(paper_preset(), recorder)
    return list(recorder.specs.values())


if __name__ == "__main__":
    count = record(reproduction_specs())
    print(f"recorded {count} memories in {TABLE}", file=sys.stderr)
