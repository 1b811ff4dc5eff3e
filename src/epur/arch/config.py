"""The architecture configuration of an E-PUR instance (Silfa et al., PACT 2018).

Typed, frozen and validated once at the edge: every field is checked by pydantic,
unknown keys are rejected, sizes accept ``"2MiB"``-style strings, number formats
accept the grammar of ``epur.numerics.formats``. Units are in the field names.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from epur._validation import schema_is_one
from epur.arch._fields import (
    BandwidthBytesPerS,
    Banks,
    Bytes,
    CycleCount,
    Hertz,
    JoulesPerBit,
    Kelvin,
    Lanes,
    Multiplier,
    Nanoseconds,
    PicoJoules,
    PortBits,
    SquareMicrons,
    Watts,
    WholeNumber,
)
from epur.arch.options import DesignOptions
from epur.numerics import FormatKind, NumberFormat, parse_activation, parse_format
from epur.numerics.formats import holds_every_value

__all__ = [
    "DERIVED",
    "PARTIAL_SUM_BITS",
    "STORAGE_BITS",
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
STORAGE_BITS = (8, 16, 32)  # whole bytes, and the widths the energy tables cover
PARTIAL_SUM_BITS = (8, 16, 32, 64)  # also the q(2M).(2N) accumulator of a 32-bit qM.N

_STRICT = ConfigDict(frozen=True, extra="forbid")


def dpu_latency_cycles(lanes: int) -> int:
    """The DPU pipeline of ``lanes`` lanes: 1 multiplier stage + ``ceil(log2(lanes))``
    adder-tree levels + 1 accumulator stage, one cycle each [assumed: E-PUR's pipeline
    depth is not published; 6 cycles for 16 lanes]."""
    return 1 + (lanes - 1).bit_length() + 1


def _width(value: str, allowed: tuple[int, ...]) -> str:
    bits = parse_format(value).bits
    if bits not in allowed:
        widths = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}"
        raise ValueError(f"must be {widths} bits wide ({value} is {bits})")
    return value


def _check_holds(acc: NumberFormat, storage: NumberFormat) -> None:
    """Refuse an accumulator narrower than the storage format (``FormatsConfig``)."""
    if storage.kind is FormatKind.INT or (
        storage.kind is FormatKind.FLOAT and acc.kind is FormatKind.FIXED
    ):
        if acc.bits < storage.bits:
            raise ValueError(
                f"must be at least as wide as the storage format {storage.name} "
                f"({storage.bits} bits; {acc.name} has {acc.bits})"
            )
    elif not holds_every_value(acc, storage):
        raise ValueError(
            f"must hold every value of the storage format {storage.name} "
            "(at least its exponent and fraction bits, or integer and fraction bits)"
        )


class DPUConfig(BaseModel):
    """Dot-product unit of one CU: ``lanes`` multipliers, an adder tree, an accumulator.

    One chunk of ``lanes`` products enters per cycle; ``latency_cycles`` is the
    pipeline fill latency from a chunk entering to the accumulated sum leaving
    (multiplier, adder-tree levels and accumulator stages together). Left out (or
    ``null``), it is derived from ``lanes`` (``dpu_latency_cycles``) and follows them
    through overrides; given, it is kept.
    """

    model_config = _STRICT
    lanes: Lanes = Field(16, description="multipliers per DPU, 1 to 4096")
    latency_cycles: CycleCount = Field(  # replaced by the derived value when not given
        0, description="pipeline fill latency, 0 to 1000 cycles; derived from lanes if left out"
    )

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
    latency_cycles: CycleCount = Field(8, description="MFU pipeline latency, 0 to 1000 cycles")
    activation: str = Field("exact", description="exact, pwlN or lutN")

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: str) -> str:
        return parse_activation(value).name


class MemoryConfig(BaseModel):
    """An on-chip SRAM: capacity, port width and banks.

    ``capacity_bytes`` is 0 to 1 TiB: 0 (or anything too small for the work) is
    allowed, the timing model then re-fetches weights and spills sequences to DRAM;
    CACTI needs at least 64 bytes to model the array. ``port_bits`` is 1 to 131072
    bits, or ``None``, which sizes the port to the DPU: ``lanes x storage bits``, so
    that one access delivers one chunk. ``banks`` is 1 to 4096 (CACTI needs a power
    of two; the timing model does not).
    """

    model_config = _STRICT
    capacity_bytes: Bytes = Field(description="bytes, 0 to 1 TiB; '2MiB' accepted")
    port_bits: PortBits | None = Field(None, description="bits, 1 to 131072; None: one chunk")
    banks: Banks = Field(1, description="1 to 4096")


class DRAMConfig(BaseModel):
    """Main memory (LPDDR4): sustained bandwidth (1 MB/s to 10 TB/s), access latency
    (0 to 10 us), energy per bit moved (0 to 1 nJ), and the power it draws whatever it
    moves (0 to 100 W each; ``epur.energy.model``, "DRAM background").

    Background power by state: ``background_active_standby_w`` while it transfers;
    while idle the state of ``idle_policy``: active standby, power-down
    (``background_power_down_w``) or self-refresh (``background_self_refresh_w``,
    which refreshes itself: no ``refresh_w`` on top). ``refresh_w`` is the average
    extra power of all-bank refresh outside self-refresh. Refresh also takes
    ``refresh_ns`` (tRFCab) of every ``refresh_interval_ns`` (tREFI), both 0 to 10 us,
    the interval above ``refresh_ns``: the bandwidth a stream gets is
    ``effective_bandwidth_bytes_per_s``, which the timing model uses.
    """

    model_config = _STRICT
    bandwidth_bytes_per_s: BandwidthBytesPerS = Field(
        25_600_000_000, description="bytes per second, 1e6 to 1e13"
    )
    latency_ns: Nanoseconds = Field(100.0, description="ns, 0 to 10000")
    energy_per_bit_j: JoulesPerBit = Field(10e-12, description="J per bit, 0 to 1e-9")
    background_active_standby_w: Watts = Field(
        0.1516, description="W while transferring (and idle in active standby), 0 to 100"
    )
    background_power_down_w: Watts = Field(0.0252, description="W idle in power-down, 0 to 100")
    background_self_refresh_w: Watts = Field(
        0.0048, description="W idle in self-refresh, refresh included, 0 to 100"
    )
    refresh_w: Watts = Field(0.0188, description="W of refresh outside self-refresh, 0 to 100")
    idle_policy: Literal["active_standby", "power_down", "self_refresh"] = Field(
        "power_down", description="the state while not transferring"
    )
    refresh_ns: Nanoseconds = Field(280.0, description="tRFCab, ns, 0 to 10000")
    refresh_interval_ns: Nanoseconds = Field(3903.75, description="tREFI, ns, 0 to 10000")

    @field_validator("refresh_interval_ns")
    @classmethod
    def _refresh_leaves_time(cls, value: float, info: ValidationInfo) -> float:
        refresh = info.data.get("refresh_ns")
        if refresh is not None and value <= refresh:  # None: refresh_ns was refused
            raise ValueError(
                f"must be above refresh_ns ({refresh:g}), or refresh leaves no time to transfer"
            )
        return value

    @property
    def refresh_fraction(self) -> Fraction:
        """The share of time refresh takes: tRFC / tREFI, exactly."""
        return Fraction(repr(self.refresh_ns)) / Fraction(repr(self.refresh_interval_ns))

    @property
    def effective_bandwidth_bytes_per_s(self) -> Fraction:
        """The bandwidth a stream gets: the sustained bandwidth less refresh's share."""
        return self.bandwidth_bytes_per_s * (1 - self.refresh_fraction)

    @property
    def idle_w(self) -> float:
        """Power while not transferring: the ``idle_policy`` state, plus refresh unless
        the device refreshes itself."""
        state: float = getattr(self, f"background_{self.idle_policy}_w")
        return state + (0.0 if self.idle_policy == "self_refresh" else self.refresh_w)

    @property
    def transfer_w(self) -> float:
        """Power while transferring (beyond the energy per bit): active standby and refresh."""
        return self.background_active_standby_w + self.refresh_w


_PJ = PicoJoules
_UM2 = SquareMicrons


class LogicConfig(BaseModel):
    """Energy (pJ) and area (um^2) per arithmetic unit at 45 nm, before scaling to
    ``technology.node_nm`` (sources and scaling: ``epur.energy.logic``).

    Every energy is 0 to 100 pJ and every area 0 to 10^6 um^2 (1 mm^2), finite: 0
    leaves an operation out of the totals; the largest tabulated values are 3.7 pJ and
    7700 um^2 (the fp32 multiplier).

    ``overhead_factor`` (1 to 10) multiplies the logic energy (DPUs and MFUs) for what
    the operator figures leave out: control, interconnect, clock tree. 1.0 adds
    nothing [assumed]; 1.2 to 2 is plausible for a datapath this regular.
    """

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
    overhead_factor: Multiplier = Field(
        1.0, description="x logic energy for control, wiring, clock tree; 1 to 10"
    )


class TechnologyConfig(BaseModel):
    """The process the energy and area models assume: node (22, 28, 32 or 45 nm, the
    nodes the logic tables are scaled to), SRAM cells and periphery, and temperature
    (300 to 400 K, CACTI's range)."""

    model_config = _STRICT
    node_nm: WholeNumber = Field(28, description="nm: 22, 28, 32 or 45")
    sram_cell: Literal["itrs-hp", "itrs-lstp", "itrs-lop"] = "itrs-lstp"
    sram_periphery: Literal["itrs-hp", "itrs-lstp", "itrs-lop"] = "itrs-lstp"
    temperature_k: Kelvin = Field(360, description="K, 300 to 400")

    @field_validator("node_nm")
    @classmethod
    def _tabulated_node(cls, value: int) -> int:
        if value not in (22, 28, 32, 45):
            raise ValueError("must be 22, 28, 32 or 45 (the nodes the logic tables are scaled to)")
        return value


class FormatsConfig(BaseModel):
    """Number formats: ``storage`` (weights and activations in every buffer),
    ``accumulator`` (the DPU adder tree and accumulator) and ``partial_sums``
    (MWL's input-phase results kept in the intermediate memory).

    What the datapath can do, checked here: ``storage`` is 8, 16 or 32 bits wide and
    ``partial_sums`` 8, 16, 32 or 64 (whole bytes in memory); the ``accumulator`` and
    ``partial_sums`` are float or fixed point (int8 has a per-tensor scale, so it
    cannot hold a sum); the ``accumulator`` holds every storage value exactly (as
    many exponent and fraction bits as a float storage format, as many integer and
    fraction bits as a fixed one, enough significand bits for a fixed one in a float
    accumulator; ``epur.numerics.formats.holds_every_value``), or, for float storage
    in a fixed-point accumulator (which holds every float only when very wide: q17.24
    for fp16), is at least as wide; with int8 storage it has at least 8 bits.
    Partial sums may be narrower than the accumulator (MWL then rounds ``W x + b``).
    """

    model_config = _STRICT
    storage: str = Field("fp16", description="8, 16 or 32 bits: fp32, fp16, bf16, int8, qM.N")
    accumulator: str = Field("fp32", description="float or qM.N holding every storage value")
    partial_sums: str = Field("fp32", description="float or qM.N, 8, 16, 32 or 64 bits")

    @field_validator("storage", "accumulator", "partial_sums")
    @classmethod
    def _known_format(cls, value: str) -> str:
        return parse_format(value).name

    @field_validator("storage")
    @classmethod
    def _storage_width(cls, value: str) -> str:
        return _width(value, STORAGE_BITS)

    @field_validator("accumulator", "partial_sums")
    @classmethod
    def _holds_sums(cls, value: str) -> str:
        if parse_format(value).kind is FormatKind.INT:
            raise ValueError(
                f"{value} has a per-tensor scale and cannot hold the DPU's sums: give a "
                "float or fixed-point format (int8 storage sums integer codes and rounds "
                "them once into the accumulator)"
            )
        return value

    @field_validator("accumulator")
    @classmethod
    def _holds_storage(cls, value: str, info: ValidationInfo) -> str:
        if "storage" in info.data:  # else storage was refused already
            _check_holds(parse_format(value), parse_format(info.data["storage"]))
        return value

    @field_validator("partial_sums")
    @classmethod
    def _partial_sums_width(cls, value: str) -> str:
        return _width(value, PARTIAL_SUM_BITS)

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
    compute_units: WholeNumber = Field(4, description="must be 4: one per LSTM gate")
    clock_hz: Hertz = Field(description="Hz, 1 MHz to 100 GHz")
    dpu: DPUConfig = DPUConfig()
    mfu: MFUConfig = MFUConfig()
    weight_buffer: MemoryConfig
    input_buffer: MemoryConfig
    intermediate_memory: MemoryConfig
    dram: DRAMConfig = DRAMConfig()
    formats: FormatsConfig = FormatsConfig()
    technology: TechnologyConfig = TechnologyConfig()
    logic: LogicConfig = LogicConfig()
    options: DesignOptions = DesignOptions()

    _schema_is_an_int = field_validator("schema_version", mode="before")(schema_is_one)

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
        """Cycles to move ``nbytes`` over main memory: latency plus transfer at the effective
        bandwidth (refresh's share taken; 0 for 0 bytes)."""
        if nbytes == 0:
            return 0
        transfer = math.ceil(nbytes * self.clock_hz / self.dram.effective_bandwidth_bytes_per_s)
        return self.dram_latency_cycles + transfer
