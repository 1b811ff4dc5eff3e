"""Where SRAM figures come from: CACTI itself, or CACTI results recorded in the repository.

``auto`` uses CACTI when it is installed (it is a dependency of epur) and the recorded
table otherwise; every result says which backend produced it. The table
(``data/cacti_table.json``) is written by ``python -m epur.report.record_cacti`` with
the CACTI binary, for every memory ``epur reproduce`` asks for on the paper preset.
``none`` is no SRAM model at all: timing only, every SRAM access taking one clock
cycle, no energy and no area (``sram_backend("none")`` is ``None``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from importlib import resources
from typing import Literal, Protocol, overload

from epur.arch import ArchConfig, Memory, MemoryConfig
from epur.energy.cacti import (
    SramResult,
    SramSpec,
    SramSpecError,
    cacti_config,
    find_cacti,
    run_cacti,
)
from epur.errors import BackendError

__all__ = [
    "BACKENDS",
    "NO_BACKEND_NOTE",
    "CactiBackend",
    "SramBackend",
    "TableBackend",
    "memory_specs",
    "sram_backend",
]

BACKENDS = ("auto", "cacti", "table", "none")
NO_BACKEND_NOTE = (
    "no SRAM model (--energy-backend none): every SRAM access takes one clock cycle; "
    "no energy, no area"
)


class SramBackend(Protocol):
    name: str

    def sram(self, spec: SramSpec) -> SramResult: ...

    def config_text(self, spec: SramSpec) -> str | None: ...


class CactiBackend:
    """Runs the CACTI 7 binary (cached by configuration)."""

    name = "cacti"

    def __init__(self) -> None:
        self.install = find_cacti()

    def sram(self, spec: SramSpec) -> SramResult:
        return run_cacti(spec, self.install)

    def config_text(self, spec: SramSpec) -> str | None:
        return cacti_config(spec, self.install)


def spec_key(spec: SramSpec) -> str:
    return json.dumps(asdict(spec), sort_keys=True)


@cache
def _recorded() -> dict[str, tuple[SramResult, str]]:
    text = resources.files("epur.energy").joinpath("data/cacti_table.json").read_text("utf-8")
    return {e["spec"]: (SramResult(**e["result"]), e["config"]) for e in json.loads(text)}


class TableBackend:
    """CACTI results recorded in the repository (for machines without CACTI)."""

    name = "table"

    def sram(self, spec: SramSpec) -> SramResult:
        table = _recorded()
        if spec_key(spec) not in table:
            raise BackendError(
                f"no recorded CACTI result for {spec}; the table holds "
                f"{len(table)} memories (see epur/energy/data/cacti_table.json): use "
                "--energy-backend cacti (CACTI ships with zigzag-dse==3.9.1, a dependency of "
                "epur) for other memories, or --energy-backend none for timing alone"
            )
        return table[spec_key(spec)][0]

    def config_text(self, spec: SramSpec) -> str | None:
        """The configuration the recorded result came from (to re-run it anywhere)."""
        return _recorded()[spec_key(spec)][1]


@overload
def sram_backend(name: Literal["auto", "cacti", "table"] = "auto") -> SramBackend: ...
@overload
def sram_backend(name: str) -> SramBackend | None: ...
def sram_backend(name: str = "auto") -> SramBackend | None:
    """The SRAM backend called ``name`` (one of ``BACKENDS``); ``None`` for ``"none"``."""
    if name not in BACKENDS:
        raise BackendError(f"energy backend must be one of {', '.join(BACKENDS)}, not {name!r}")
    if name == "none":
        return None
    if name == "table":
        return TableBackend()
    try:
        return CactiBackend()
    except BackendError:
        if name == "cacti":
            raise
        return TableBackend()


def memory_specs(arch: ArchConfig) -> dict[Memory, SramSpec]:
    """The SRAMs of ``arch`` as CACTI sees them (per instance), in ``Memory`` order."""
    tech = arch.technology

    def spec(memory: MemoryConfig) -> SramSpec:
        return SramSpec(
            capacity_bytes=memory.capacity_bytes,
            port_bits=arch.port_bits(memory),
            banks=memory.banks,
            node_nm=tech.node_nm,
            cell_type=tech.sram_cell,
            periphery_type=tech.sram_periphery,
            temperature_k=tech.temperature_k,
        )

    specs = {}
    for memory in Memory:
        try:
            specs[memory] = spec(memory.config(arch))
        except SramSpecError as exc:  # name the architecture field CACTI cannot model
            field = _ARCH_FIELD.get(exc.field, f"{memory}.{exc.field}")
            raise BackendError(f"{field} {exc.problem}") from None
    return specs


_ARCH_FIELD = {
    "node_nm": "technology.node_nm",
    "cell_type": "technology.sram_cell",
    "periphery_type": "technology.sram_periphery",
    "temperature_k": "technology.temperature_k",
}
