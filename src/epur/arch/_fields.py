"""The number types of the architecture configuration: each with its unit and its range.

Every numeric field of ``ArchConfig`` has one of these types, so that every number
is checked once, at the edge, the same way whether it comes from Python, a file or
``--set``:

* it must be finite (``inf``, ``nan``, ``.inf`` in YAML and ``1e999``, which reads as
  an infinity, are refused);
* it must lie in a physical range, stated here and in each field's description (a
  1 THz clock or a 10^30-byte buffer is a typo, not a design);
* booleans are not numbers (``true`` is refused where a number belongs), and integer
  fields take whole numbers only (``25.6e9`` is fine, ``16.5`` is not);
* numeric strings are read as numbers (PyYAML reads ``25.6e9`` and ``1e-11``, which
  have no sign in their exponent or no dot, as strings), and sizes accept ``"2MiB"``.

The ranges are generous bounds on what an E-PUR-like accelerator could be, not
recommendations; each is the constant named beside the type.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from epur.units import parse_bytes

__all__ = [
    "MAX_BANKS",
    "MAX_BYTES",
    "MAX_CYCLES",
    "MAX_LANES",
    "MAX_PORT_BITS",
    "BandwidthBytesPerS",
    "Banks",
    "Bytes",
    "CycleCount",
    "Hertz",
    "JoulesPerBit",
    "Kelvin",
    "Lanes",
    "Multiplier",
    "Nanoseconds",
    "PicoJoules",
    "PortBits",
    "SquareMicrons",
    "Watts",
    "WholeNumber",
]

MAX_LANES = 4096  # a DPU 256 times as wide as the paper's 16 lanes
MAX_PORT_BITS = MAX_LANES * 32  # one chunk of the widest DPU in the widest storage format
MAX_BANKS = 4096  # the most banks ``epur.energy.bank_for_clock`` tries
MAX_BYTES = 2**40  # 1 TiB of on-chip memory
MAX_CYCLES = 1000  # a pipeline 1000 stages deep


def _to_float(value: Any) -> Any:
    """Numeric strings (``"1e-11"``) as floats; anything else unchanged.

    Raises ``ValueError`` for a non-finite number (``inf``, ``nan``, ``1e999``), so
    that it is called what it is rather than out of range.
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _to_int(value: Any) -> Any:
    """Integral floats and numeric strings (``25.6e9``) where an int is wanted; booleans,
    fractions and other strings pass through for the strict int check to refuse."""
    value = _to_float(value)
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
        try:
            float(value)
        except ValueError:
            raise ValueError("must be a byte count such as 8192, '8KiB' or '2MiB'") from None
    return _to_int(value)


# Integers ------------------------------------------------------------------------------------
Hertz = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=10**6, le=10**11)]
"""A clock frequency: 1 MHz to 100 GHz, in Hz."""
Lanes = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=1, le=MAX_LANES)]
"""Multipliers of one DPU: 1 to 4096 (any count: the adder tree pads to a power of two)."""
CycleCount = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=0, le=MAX_CYCLES)]
"""A pipeline latency: 0 to 1000 cycles."""
Bytes = Annotated[int, BeforeValidator(_to_bytes), Field(strict=True, ge=0, le=MAX_BYTES)]
"""An SRAM capacity: 0 to 1 TiB, in bytes (0 is no memory: everything goes to DRAM)."""
PortBits = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=1, le=MAX_PORT_BITS)]
"""An SRAM port width: 1 to 131072 bits (4096 lanes x 32 bits)."""
Banks = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=1, le=MAX_BANKS)]
"""SRAM banks: 1 to 4096."""
BandwidthBytesPerS = Annotated[
    int, BeforeValidator(_to_int), Field(strict=True, ge=10**6, le=10**13)
]
"""A sustained DRAM bandwidth: 1 MB/s to 10 TB/s, in bytes per second."""
WholeNumber = Annotated[int, BeforeValidator(_to_int), Field(strict=True)]
"""A whole number with no range of its own (the field checks the values it allows)."""
Kelvin = Annotated[int, BeforeValidator(_to_int), Field(strict=True, ge=300, le=400)]
"""A junction temperature: 300 to 400 K (CACTI's range)."""

# Floats --------------------------------------------------------------------------------------
Nanoseconds = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=0, le=1e4)
]
"""A DRAM access latency: 0 to 10,000 ns (10 us)."""
JoulesPerBit = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=0, le=1e-9)
]
"""DRAM energy per bit moved: 0 to 1 nJ/bit (LPDDR4 is 4-14 pJ/bit)."""
PicoJoules = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=0, le=100)
]
"""Energy of one arithmetic operation at 45 nm: 0 to 100 pJ (an fp32 multiply is 3.7)."""
SquareMicrons = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=0, le=1e6)
]
"""Area of one arithmetic unit at 45 nm: 0 to 10^6 um^2 (1 mm^2; an fp32 multiplier is
7700)."""
Watts = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=0, le=100)
]
"""A DRAM background or refresh power: 0 to 100 W (a 4-channel LPDDR4 idles at 0.15 W)."""
Multiplier = Annotated[
    float, BeforeValidator(_to_float), Field(strict=True, allow_inf_nan=False, ge=1, le=10)
]
"""A factor on top of a modelled energy: 1 (nothing added) to 10."""
