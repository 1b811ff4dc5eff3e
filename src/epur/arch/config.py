"""The architecture configuration of an E-PUR instance (Silfa et al., PACT 2018).

Typed, frozen and validated once at the edge: every field is checked by pydantic,
unknown keys are rejected, sizes accept ``"2MiB"``-style strings, number formats
accept the grammar of ``epur.numerics.formats``. Units are in the field names.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from epur.numerics import NumberFormat, parse_activation, parse_format
from epur.units import parse_bytes

__all__ = [
    "DERIVED",
    "ArchConfig",
    "DPUConfig",
    "DRAMConfig",
    "FormatsConfig",
    "LogicConfig",
    "MFUConfig",
    "MemoryConfig",
    "TechnologyConfig",
    "dpu_latency_cycles",
]

DERIVED = {"dpu.latency_cycles": "dpu.lanes"}  # field -> its source, when not given

_STRICT = ConfigDict(frozen=True, extra="forbid")


def _to_int(value: Any) -> Any:
    """Accept integral floats and numeric strings (``25.6e9``) where an int is wanted."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_bytes(value: Any) -> Any:
    """Accept ``"2MiB"``-style sizes, then whatever ``_to_int`` accepts (``4e6``)."""
    if isinstance(value, str):
        try:
            return parse_bytes(value)
        except ValueError:
            pass
    return _to_int(value)


Count = Annotated[int, BeforeValidator(_to_int), Field(ge=1, strict=True)]
Cycles = Annotated[int, BeforeValidator(_to_int), Field(ge=0, strict=True)]
Bytes = Annotated[int, BeforeValidator(_to_bytes), Field(ge=0, strict=True)]


def dpu_latency_cycles(lanes: int) -> int:
    """The DPU pipeline of ``lanes`` lanes: 1 multiplier stage + ``ceil(log2(lanes))``
    adder-tree levels + 1 accumulator stage, one cycle each [assumed: E-PUR's pipeline
    depth is not published; 6 cycles for 16 lanes]."""
    return 1 + (lanes - 1).bit_length() + 1


class DPUConfig(BaseModel):
    """Dot-product unit of one CU: ``lanes`` multipliers, an adder tree, an accumulator.

    One chunk of ``lanes`` products enters per cycle; ``latency_cycles`` is the
    pipeline fill latency from a chunk entering to the accumulated sum leaving
    (multiplier, adder-tree levels and accumulator stages together). Left out (or
    ``null``), it is derived from ``lanes`` (``dpu_latency_cycles``) and follows them
    through overrides; given, it is kept.
    """

    model_config = _STRICT
    lanes: Count = 16
    latency_cycles: Cycles = 0  # replaced by the derived value when not given

    @model_validator(mode="before")
    @classmethod
    def _null_latency_is_derived(cls, data: Any) -> Any:
        if isinstance(data, dict) and "latency_cycles" in data and data["latency_cycles"] is None:
            return {k: v for k, v in data.items() if k != "latency_cycles"}
        return data

    @model_validator(mode="after")
    def _derive_latency(self) -> DPUConfig:
        if self.latency_is_derived:  # frozen: set once, here, before anyone sees it
            object.__setattr__(self, "latency_cycles", dpu_latency_cycles(self.lanes))
        return self

    @property
    def latency_is_derived(self) -> bool:
        """Whether ``latency_cycles`` was derived from ``lanes`` rather than given."""
        return "latency_cycles" not in self.model_fields_set


class MFUConfig(BaseModel):
    """Multi-functional unit: activations and element-wise operations, pipelined.

    ``activation`` selects how sigmoid and tanh are computed: ``exact``, ``pwlN``
    (piecewise linear, N segments) or ``lutN`` (a lookup table of N entries); see
    ``epur.numerics.activations`` for the exact definitions.
    """

    model_config = _STRICT
    latency_cycles: Cycles = 8
    activation: str = "exact"

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: str) -> str:
        return parse_activation(value).name


class MemoryConfig(BaseModel):
    """An on-chip SRAM: capacity, port width and banks.

    ``port_bits = None`` sizes the port to the DPU: ``lanes x storage bits``, so
    that one access delivers one chunk.
    """

    model_config = _STRICT
    capacity_bytes: Bytes
    port_bits: Count | None = None
    banks: Count = 1


class DRAMConfig(BaseModel):
    """Main memory (LPDDR4): sustained bandwidth, access latency, energy per bit moved."""

    model_config = _STRICT
    bandwidth_bytes_per_s: Count = 25_600_000_000
    latency_ns: Annotated[float, Field(ge=0)] = 100.0
    energy_per_bit_j: Annotated[float, Field(ge=0)] = 10e-12


_PJ = Annotated[float, Field(ge=0)]
_UM2 = Annotated[float, Field(ge=0)]


class LogicConfig(BaseModel):
    """Energy (pJ) and area (um^2) per arithmetic unit at 45 nm, before scaling to
    ``technology.node_nm`` (sources and scaling: ``epur.energy.logic``)."""

    model_config = _STRICT
    add_int8_pj: _PJ = 0.03
    add_int16_pj: _PJ = 0.05
    add_int32_pj: _PJ = 0.1
    mul_int8_pj: _PJ = 0.2
    mul_int16_pj: _PJ = 1.0
    mul_int32_pj: _PJ = 3.1
    add_fp16_pj: _PJ = 0.4
    mul_fp16_pj: _PJ = 1.1
    add_fp32_pj: _PJ = 0.9
    mul_fp32_pj: _PJ = 3.7
    add_int8_um2: _UM2 = 36.0
    add_int16_um2: _UM2 = 67.0
    add_int32_um2: _UM2 = 137.0
    mul_int8_um2: _UM2 = 282.0
    mul_int16_um2: _UM2 = 993.0
    mul_int32_um2: _UM2 = 3495.0
    add_fp16_um2: _UM2 = 1360.0
    mul_fp16_um2: _UM2 = 1640.0
    add_fp32_um2: _UM2 = 4184.0
    mul_fp32_um2: _UM2 = 7700.0


class TechnologyConfig(BaseModel):
    """The process the energy and area models assume: node, SRAM cells, temperature."""

    model_config = _STRICT
    node_nm: Annotated[int, Field(strict=True)] = 28
    sram_cell: Literal["itrs-hp", "itrs-lstp", "itrs-lop"] = "itrs-lstp"
    sram_periphery: Literal["itrs-hp", "itrs-lstp", "itrs-lop"] = "itrs-lstp"
    temperature_k: Annotated[int, Field(ge=300, le=400, strict=True)] = 360

    @field_validator("node_nm")
    @classmethod
    def _tabulated_node(cls, value: int) -> int:
        if value not in (22, 28, 32, 45):
            raise ValueError("must be 22, 28, 32 or 45 (the nodes the logic tables are scaled to)")
        return value


class FormatsConfig(BaseModel):
    """Number formats: ``storage`` (weights and activations in every buffer),
    ``accumulator`` (the DPU adder tree and accumulator) and ``partial_sums``
    (MWL's input-phase results kept in the intermediate memory)."""

    model_config = _STRICT
    storage: str = "fp16"
    accumulator: str = "fp32"
    partial_sums: str = "fp32"

    @field_validator("storage", "accumulator", "partial_sums")
    @classmethod
    def _known_format(cls, value: str) -> str:
        return parse_format(value).name

    @field_validator("storage", "partial_sums")
    @classmethod
    def _byte_multiple(cls, value: str) -> str:
        bits = parse_format(value).bits
        if bits not in (8, 16, 32):
            raise ValueError(f"stored formats must be 8, 16 or 32 bits wide ({value} is {bits})")
        return value

    @property
    def storage_format(self) -> NumberFormat:
        return parse_format(self.storage)

    @property
    def accumulator_format(self) -> NumberFormat:
        return parse_format(self.accumulator)

    @property
    def partial_sums_format(self) -> NumberFormat:
        return parse_format(self.partial_sums)


class ArchConfig(BaseModel):
    """One E-PUR instance. The ``paper`` preset (``epur.arch.presets``) fills every field."""

    model_config = _STRICT
    schema_version: Literal[1] = 1
    name: str = "custom"
    compute_units: Count = 4
    clock_hz: Count
    dpu: DPUConfig = DPUConfig()
    mfu: MFUConfig = MFUConfig()
    weight_buffer: MemoryConfig
    input_buffer: MemoryConfig
    intermediate_memory: MemoryConfig
    dram: DRAMConfig = DRAMConfig()
    formats: FormatsConfig = FormatsConfig()
    technology: TechnologyConfig = TechnologyConfig()
    logic: LogicConfig = LogicConfig()

    @field_validator("compute_units")
    @classmethod
    def _one_cu_per_gate(cls, value: int) -> int:
        if value != 4:
            raise ValueError("must be 4 (one compute unit per LSTM gate)")
        return value

    @model_validator(mode="after")
    def _ports_feed_the_dpu(self) -> ArchConfig:
        chunk_bits = self.dpu.lanes * self.storage_bits
        for key in ("weight_buffer", "input_buffer"):
            port = getattr(self, key).port_bits
            if port is not None and port < chunk_bits:
                raise ValueError(
                    f"{key}.port_bits must be at least dpu.lanes x storage bits "
                    f"({chunk_bits}) to feed one chunk per cycle, not {port}"
                )
        return self

    def settings(self) -> dict[str, Any]:
        """The configuration as a nested mapping to override and validate again: fields
        derived from others (``DERIVED``) are left out unless they were given, so that
        they follow their source."""
        tree = self.model_dump()
        for key in DERIVED:
            section, field = key.split(".")
            if field not in getattr(self, section).model_fields_set:
                del tree[section][field]
        return tree

    # ---- derived quantities, in the units the models use -------------------------------
    @property
    def storage_bits(self) -> int:
        return self.formats.storage_format.bits

    @property
    def partial_sum_bits(self) -> int:
        return self.formats.partial_sums_format.bits

    def port_bits(self, memory: MemoryConfig) -> int:
        """The port width of ``memory`` in bits (``lanes x storage bits`` when unset)."""
        return (
            memory.port_bits if memory.port_bits is not None else self.dpu.lanes * self.storage_bits
        )

    @property
    def drain_cycles(self) -> int:
        """Cycles from the last chunk of a dot product entering the DPU to its MFU result."""
        return self.dpu.latency_cycles + self.mfu.latency_cycles

    @property
    def dram_latency_cycles(self) -> int:
        exact = Fraction(repr(self.dram.latency_ns)) * self.clock_hz / 10**9
        return math.ceil(exact)

    def dram_cycles(self, nbytes: int) -> int:
        """Cycles to move ``nbytes`` over main memory: latency plus transfer (0 for 0 bytes)."""
        if nbytes == 0:
            return 0
        transfer = -(-nbytes * self.clock_hz // self.dram.bandwidth_bytes_per_s)
        return self.dram_latency_cycles + transfer
