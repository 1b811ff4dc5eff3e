"""Energy counters: RAPL through powercap sysfs on CPUs, NVML's total energy on NVIDIA GPUs.

A counter is read before and after the timed repeats; the difference is the energy of
the whole device (package or board) over that window, other processes included. Where
a counter cannot be read the reader says why (``EnergyCounter.reason``), and the
measurement reports ``energy_j: null`` with that reason: energy is never estimated.

RAPL: every top-level package domain ``intel-rapl:N`` (not its ``intel-rapl:N:M``
sub-domains, which the package already counts) of ``/sys/class/powercap``; ``energy_uj``
in microjoules wraps at ``max_energy_range_uj``. NVML: ``nvmlDeviceGetTotalEnergyConsumption``
in millijoules since the driver loaded (Volta and later); ``pynvml`` (``nvidia-ml-py``,
``pip install 'epur[gpu]'``) is imported only when a GPU is measured.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "POWERCAP",
    "EnergyCounter",
    "RaplDomain",
    "nvml_counter",
    "rapl_counter",
    "rapl_delta_uj",
    "rapl_domains",
]

POWERCAP = Path("/sys/class/powercap")
_PACKAGE = re.compile(r"^intel-rapl:\d+$")


@dataclass(frozen=True, slots=True)
class EnergyCounter:
    """A cumulative energy counter, or why there is none (``read`` is ``None``).

    ``read()`` returns the counter's raw values; ``joules(before, after)`` turns two
    reads into the energy between them, wrap-around handled.
    """

    source: Literal["rapl", "nvml"]
    read: Callable[[], tuple[int, ...]] | None
    joules: Callable[[tuple[int, ...], tuple[int, ...]], float] | None
    reason: str | None  # why ``read`` is None
    handle: Any = None  # NVML's device handle (clocks, bus width), when there is one


@dataclass(frozen=True, slots=True)
class RaplDomain:
    """One RAPL package domain: its counter file and the value at which it wraps."""

    energy_file: Path
    max_range_uj: int


def rapl_domains(root: Path = POWERCAP) -> tuple[tuple[RaplDomain, ...], str | None]:
    """The readable package domains under ``root``, or none and why."""
    if not root.is_dir():
        return (), f"no powercap interface ({root} does not exist)"
    found = sorted(p for p in root.iterdir() if _PACKAGE.match(p.name))
    if not found:
        return (), f"no RAPL package domain (intel-rapl:N) under {root}"
    domains = []
    for path in found:
        try:
            int((path / "energy_uj").read_text())
            top = int((path / "max_energy_range_uj").read_text())
        except PermissionError:
            return (), f"permission denied reading {path / 'energy_uj'} (root only on this kernel)"
        except (OSError, ValueError) as exc:
            return (), f"cannot read {path}: {exc}"
        domains.append(RaplDomain(path / "energy_uj", top))
    return tuple(domains), None


def rapl_delta_uj(before: int, after: int, max_range_uj: int) -> int:
    """Microjoules between two reads of one counter that wraps to 0 at ``max_range_uj``
    (at most one wrap between the reads: the counters wrap after minutes at full power)."""
    return after - before if after >= before else after + max_range_uj + 1 - before


def rapl_counter(root: Path = POWERCAP) -> EnergyCounter:
    """The sum of the package domains under ``root`` (all sockets)."""
    domains, reason = rapl_domains(root)
    if not domains:
        return EnergyCounter("rapl", None, None, reason)

    def read() -> tuple[int, ...]:
        return tuple(int(d.energy_file.read_text()) for d in domains)

    def joules(before: tuple[int, ...], after: tuple[int, ...]) -> float:
        parts = zip(before, after, domains, strict=True)
        return sum(rapl_delta_uj(b, a, d.max_range_uj) for b, a, d in parts) * 1e-6

    return EnergyCounter("rapl", read, joules, None)


def _pynvml() -> Any:
    return importlib.import_module("pynvml")


def _handle(lib: Any, index: int, uuid: str | None) -> Any:
    """The device by UUID, or by index when there is none or NVML does not know it."""
    if uuid is not None:
        try:
            return lib.nvmlDeviceGetHandleByUUID(uuid)
        except Exception:  # pynvml.NVMLError_NotFound: a UUID spelled otherwise
            pass
    return lib.nvmlDeviceGetHandleByIndex(index)


def nvml_counter(
    index: int, nvml: Callable[[], Any] = _pynvml, uuid: str | None = None
) -> EnergyCounter:
    """NVML's total-energy counter (millijoules) of the GPU with ``uuid`` (``GPU-...``,
    as CUDA reports it: NVML numbers all GPUs, CUDA only the visible ones), else of NVML's
    GPU ``index``."""
    try:
        lib = nvml()
    except ImportError:
        return EnergyCounter(
            "nvml", None, None, "nvidia-ml-py is not installed (pip install 'epur[gpu]')"
        )
    try:
        lib.nvmlInit()
        handle = _handle(lib, index, uuid)
        lib.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as exc:  # pynvml.NVMLError and its many subclasses
        return EnergyCounter("nvml", None, None, f"NVML total energy unavailable: {exc}")

    def read() -> tuple[int, ...]:
        return (int(lib.nvmlDeviceGetTotalEnergyConsumption(handle)),)

    def joules(before: tuple[int, ...], after: tuple[int, ...]) -> float:
        return (after[0] - before[0]) * 1e-3

    return EnergyCounter("nvml", read, joules, None, handle)
