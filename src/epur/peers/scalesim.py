"""The SCALE-Sim 3.0.0 adapter: its input files, one run in its own process, its reports.

Only this module touches SCALE-Sim (the optional extra ``epur[peers]``). Pitfalls of
3.0.0 it handles (docs/peers.md): GEMM topology rows need a trailing comma (else an
``AssertionError``); a layout file must be given; a missing input file makes it print
and exit with status 0, so the reports are checked to exist and to hold one row per
GEMM; word size is one byte (counts are elements); ``CALC`` bandwidth mode never stalls
on main memory, it reports the bandwidth it would need.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import metadata
from pathlib import Path

from epur.errors import BackendError
from epur.peers.systolic import Array, GemmShape, SystolicDataflow

__all__ = [
    "CONFIG",
    "INSTALL",
    "LAYOUT",
    "REPORTS",
    "RUN_NAME",
    "SRAM_KB",
    "TOPOLOGY",
    "VERSION",
    "Accesses",
    "ScaleSimLayer",
    "config_text",
    "installed_version",
    "layout_text",
    "parse_reports",
    "run_scalesim",
    "topology_text",
]

VERSION = "3.0.0"
INSTALL = (
    f"SCALE-Sim {VERSION} is not installed: pip install 'epur[peers]' "
    "(in a source checkout: pip install -e '.[peers]')"
)
RUN_NAME = "epur_compare"
CONFIG, TOPOLOGY, LAYOUT = "scalesim.cfg", "topology.csv", "layout.csv"
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")
SRAM_KB = 64  # each of the ifmap, filter and ofmap SRAMs (the peer survey's setting)
DRIVER = Path(__file__).with_name("_scalesim_driver.py")


def installed_version() -> str:
    """SCALE-Sim's version; ``BackendError`` (with the install command) when it is missing
    or is not the version this adapter was checked against."""
    try:
        version = metadata.version("scalesim")
    except metadata.PackageNotFoundError:
        raise BackendError(INSTALL) from None
    if version != VERSION:
        raise BackendError(
            f"SCALE-Sim must be version {VERSION} (the one epur's adapter is checked against), "
            f"not {version}: pip install 'epur[peers]'"
        )
    return version


def topology_text(shapes: Sequence[GemmShape]) -> str:
    """A GEMM topology: ``Layer,M,N,K,`` and one row per shape, every row ending in a comma."""
    rows = ["Layer,M,N,K,", *(f"gemm{i},{s.m},{s.n},{s.k}," for i, s in enumerate(shapes))]
    return "\n".join(rows) + "\n"


def layout_text() -> str:
    """The layout file the API insists on; no custom layout is used (header only)."""
    return "Layer name,\n"


def config_text(array: Array, dataflow: SystolicDataflow) -> str:
    """The INI configuration: every section 3.0.0 reads, ``CALC`` bandwidth, no sparsity,
    no Ramulator, 64 KB per operand SRAM."""
    return f"""[general]
run_name = {RUN_NAME}

[architecture_presets]
ArrayHeight: {array.rows}
ArrayWidth: {array.cols}
IfmapSramSzkB: {SRAM_KB}
FilterSramSzkB: {SRAM_KB}
OfmapSramSzkB: {SRAM_KB}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: {dataflow.value}
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


@dataclass(frozen=True, slots=True)
class Accesses:
    """SRAM and main-memory accesses, in elements (SCALE-Sim's one-byte words)."""

    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int

    @property
    def sram_reads(self) -> int:
        return self.sram_ifmap_reads + self.sram_filter_reads

    @property
    def dram_reads(self) -> int:
        return self.dram_ifmap_reads + self.dram_filter_reads

    def __add__(self, other: Accesses) -> Accesses:
        return Accesses(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def times(self, factor: int) -> Accesses:
        return Accesses(*(getattr(self, f.name) * factor for f in fields(self)))


@dataclass(frozen=True, slots=True)
class ScaleSimLayer:
    """What SCALE-Sim reports for one topology row: its cycles (``Total Cycles``, without
    the initial prefetch), stall cycles and accesses."""

    cycles: int
    stall_cycles: int
    accesses: Accesses


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle)]
    return [row for row in rows[1:] if any(row)]


def parse_reports(folder: Path, layers: int) -> tuple[ScaleSimLayer, ...]:
    """SCALE-Sim's COMPUTE and DETAILED_ACCESS reports in ``folder``, one entry per row."""
    paths = [folder / name for name in REPORTS]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise BackendError(f"SCALE-Sim wrote no {', '.join(missing)} in {folder}")
    compute, detail = _rows(paths[0]), _rows(paths[2])
    if len(compute) != layers or len(detail) != layers:
        raise BackendError(
            f"SCALE-Sim reported {len(compute)} layers for the {layers} of the topology"
        )
    out = []
    for c, d in zip(compute, detail, strict=True):
        # compute: id, total incl. prefetch, total, stalls, ...; detail: id, then per
        # stream (start, stop, count) for SRAM ifmap/filter/ofmap, DRAM ifmap/filter/ofmap
        counts = [round(float(d[1 + 3 * i + 2])) for i in range(6)]
        out.append(ScaleSimLayer(round(float(c[2])), round(float(c[3])), Accesses(*counts)))
    return tuple(out)


def run_scalesim(
    shapes: Sequence[GemmShape],
    array: Array,
    dataflow: SystolicDataflow,
    workdir: Path,
    timeout_s: float,
) -> tuple[ScaleSimLayer, ...]:
    """Write the inputs for ``shapes`` into ``workdir``, run SCALE-Sim there (its own
    process, at most ``timeout_s``) and parse its reports: one entry per shape."""
    installed_version()
    (workdir / CONFIG).write_text(config_text(array, dataflow))
    (workdir / TOPOLOGY).write_text(topology_text(shapes))
    (workdir / LAYOUT).write_text(layout_text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    # -P: not the driver's folder on sys.path (this module would shadow the package)
    command = [sys.executable, "-P", str(DRIVER), CONFIG, TOPOLOGY, LAYOUT, "out"]
    try:
        done = subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise BackendError(f"SCALE-Sim did not finish in {timeout_s:.0f} s") from None
    (workdir / "scalesim.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackendError(f"SCALE-Sim failed (exit {done.returncode}): {tail}")
    return parse_reports(workdir / "out" / RUN_NAME, len(shapes))
