"""Runs SCALE-Sim 3.0.0 in its own process: ``python _scalesim_driver.py CFG TOPO LAYOUT OUT``.

``epur.peers.scalesim`` starts this file as a script (it imports nothing from epur), so
that SCALE-Sim's prints, its ``exit()`` calls and its memory stay out of epur's process.
It runs SCALE-Sim's Python API with traces kept in memory only (``save_disk_space``),
which writes ``OUT/<run_name>/{COMPUTE,BANDWIDTH,DETAILED_ACCESS}_REPORT.csv``.

NumPy 2.4 made the conversion of a one-element array to ``int`` an error (deprecated
since 1.25). SCALE-Sim 3.0.0 does that once per layer, at the end of
``double_buffered_scratchpad.service_memory_requests``:
``self.total_cycles = int(max(ofmap_serviced_cycles))``, after the traces are built.
The wrapper below computes the same number, the largest serviced cycle, from the ofmap
trace the method has just built (its first column), so SCALE-Sim runs unchanged on any
NumPy; the tests compare its reports with SCALE-Sim's own under NumPy < 2.4.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Any

SCRATCHPAD = "scalesim.memory.double_buffered_scratchpad_mem"


def _patch_numpy_scalar() -> None:
    """Make ``service_memory_requests`` survive NumPy >= 2.4 (module docstring)."""
    cls = importlib.import_module(SCRATCHPAD).double_buffered_scratchpad
    original = cls.service_memory_requests

    def service_memory_requests(self: Any, *args: Any) -> None:
        try:
            original(self, *args)
        except (TypeError, DeprecationWarning) as exc:
            if "dimensional" not in str(exc) and "ndim" not in str(exc):
                raise
            self.total_cycles = int(self.ofmap_trace_matrix[:, 0].max())
            self.traces_valid = True

    cls.service_memory_requests = service_memory_requests


def main(argv: list[str]) -> int:
    config, topology, layout, out = argv
    warnings.simplefilter("ignore")  # SCALE-Sim's warnings are not ours to fail on
    _patch_numpy_scalar()
    scalesim = importlib.import_module("scalesim.scale_sim").scalesim
    sim = scalesim(
        save_disk_space=True,
        verbose=False,
        config=config,
        topology=topology,
        layout=layout,
        input_type_gemm=True,
    )
    sim.run_scale(top_path=out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
