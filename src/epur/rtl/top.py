"""The RTL units of one request: which combinations the RTL supports, and the units built.

``build(lanes, fmt, activation)`` checks the request and returns the Amaranth units of
E-PUR's computation unit for it, by name: ``dpu`` (``rtl/dpu.py``), ``cu``
(``rtl/cu.py``) and ``mfu`` (``rtl/mfu.py``). Formats: the storage format ``fmt``
(``qM.N``, 8, 16 or 32 bits) accumulates in ``q(2M).(2N)`` (which holds every product
exactly, with the same rounding and overflow suffixes), the partial sums in the
accumulator's format, as ``epur.api.format_settings`` sets them for ``--format`` (a test
checks they agree). The longest dot product the units are built for, ``k_max`` elements,
is by default what the paper preset's input buffer holds (8 KiB: 4096 q8.8 words); the
CU's buffers hold one such row (``rtl/cu.py``), and synthesis keeps them as memories
(SRAM macros), not gates (``rtl/synth.py``).

Anything else (a float or int8 format, lanes that are not a power of two from 1 to
256, the ``exact`` activation, which has no hardware) is one ``ConfigError`` that says
what is supported (``SUPPORTED``) and names the value given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from epur.arch import apply_overrides, paper_preset
from epur.arch.config import STORAGE_BITS
from epur.errors import ConfigError
from epur.numerics import (
    ActivationKind,
    ActivationSpec,
    FormatKind,
    NumberFormat,
    parse_activation,
    parse_format,
)

__all__ = ["MAX_LANES", "SUPPORTED", "UNITS", "RtlRequest", "build", "check"]

MAX_LANES = 256
UNITS = ("dpu", "cu", "mfu")
SUPPORTED = (
    f"RTL supports fixed-point formats qM.N of {', '.join(map(str, STORAGE_BITS[:-1]))} or "
    f"{STORAGE_BITS[-1]} bits, lanes a power of two from 1 to {MAX_LANES}, and pwlN or lutN "
    "activations"
)


@dataclass(frozen=True)
class RtlRequest:
    """A checked request: lanes, the three formats, the activation, ``k_max`` elements."""

    lanes: int
    storage: NumberFormat
    accumulator: NumberFormat
    partial_sums: NumberFormat
    activation: ActivationSpec
    k_max: int

    def describe(self) -> dict[str, Any]:
        """The request as JSON-ready data."""
        return {
            "lanes": self.lanes,
            "storage": self.storage.name,
            "accumulator": self.accumulator.name,
            "partial_sums": self.partial_sums.name,
            "activation": self.activation.name,
            "k_max": self.k_max,
        }


def _unsupported(what: str) -> ConfigError:
    return ConfigError(f"{SUPPORTED}; not {what}")


def check(
    lanes: int, fmt: str | NumberFormat, activation: str | ActivationSpec = "pwl16",
    k_max: int | None = None,
) -> RtlRequest:  # fmt: skip
    """The request ``build`` would build, or the ``ConfigError`` of the module docstring."""
    if isinstance(lanes, bool) or not isinstance(lanes, int):
        raise _unsupported(f"lanes {lanes!r}")
    if not 1 <= lanes <= MAX_LANES or lanes & (lanes - 1):
        raise _unsupported(f"lanes {lanes}")
    try:
        storage = parse_format(fmt) if isinstance(fmt, str) else fmt
    except ValueError:
        raise _unsupported(f"format {fmt!r}") from None
    if storage.kind != FormatKind.FIXED:
        raise _unsupported(f"format {storage.name}")
    if storage.bits not in STORAGE_BITS:
        raise _unsupported(f"format {storage.name} ({storage.bits} bits)")
    try:
        spec = parse_activation(activation) if isinstance(activation, str) else activation
    except ValueError:
        raise _unsupported(f"activation {activation!r}") from None
    if spec.kind not in (ActivationKind.PWL, ActivationKind.LUT):
        raise _unsupported(f"activation {spec.name}")
    plain = f"q{storage.int_bits}.{storage.frac_bits}"
    acc = f"q{2 * storage.int_bits}.{2 * storage.frac_bits}{storage.name[len(plain) :]}"
    arch = apply_overrides(
        paper_preset(),
        [
            f"formats.storage={storage.name}",
            f"formats.accumulator={acc}",
            f"formats.partial_sums={acc}",
            f"dpu.lanes={lanes}",
        ],
    )
    formats = arch.formats
    if k_max is None:
        k_max = max(1, arch.input_buffer.capacity_bytes * 8 // storage.bits)
    elif isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < 1:
        raise ConfigError(f"k_max must be a whole number of elements, at least 1, not {k_max!r}")
    return RtlRequest(
        lanes=lanes,
        storage=formats.storage_format,
        accumulator=formats.accumulator_format,
        partial_sums=formats.partial_sums_format,
        activation=spec,
        k_max=k_max,
    )


def build(
    lanes: int, fmt: str | NumberFormat, activation: str | ActivationSpec = "pwl16",
    k_max: int | None = None, units: Sequence[str] = UNITS,
) -> dict[str, Any]:  # fmt: skip
    """The units (``dpu``, ``cu``, ``mfu``: Amaranth components) for the request, or those
    of them named in ``units`` (only those are built: Amaranth warns of a unit built and
    never elaborated).

    Raises
    ------
    ConfigError
        If the combination is not one the RTL supports (the module docstring).
    """
    req = check(lanes, fmt, activation, k_max)
    from epur.rtl.cu import CU
    from epur.rtl.dpu import DPU
    from epur.rtl.mfu import MFU

    unknown = [u for u in units if u not in UNITS]
    if unknown:
        raise ConfigError(f"units must be among {', '.join(UNITS)}, not {', '.join(unknown)}")
    s, a, p = req.storage, req.accumulator, req.partial_sums
    makers: dict[str, Callable[[], Any]] = {
        "dpu": lambda: DPU(req.lanes, s, a, p, max_chunks=-(-req.k_max // req.lanes)),
        "cu": lambda: CU(req.lanes, s, a, p, req.k_max),
        "mfu": lambda: MFU(a, s, req.activation),
    }
    return {name: makers[name]() for name in UNITS if name in units}
