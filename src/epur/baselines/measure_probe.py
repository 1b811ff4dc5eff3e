"""Timing, kernel probes and the device's description for ``epur baseline``.

* ``time_calls`` times a function: on CPUs with ``time.perf_counter``; on CUDA with CUDA
  events recorded around the call and ``torch.cuda.synchronize`` before reading them.
* ``kernel_s`` times one matrix product alone (``torch.mm``), the per-step GEMVs and the
  input GEMMs whose achieved rates become the platform file's fractions.
* ``probe_peaks``: the device's peaks. FLOPS: the best of a few large square matrix
  products in the measured dtype. Bandwidth: on NVIDIA GPUs NVML's memory clock x bus
  width x 2 (double data rate), else the best of a few sums over a buffer far larger
  than any cache. Each says where it came from (``peaks_source``).
* ``describe_device``: name, cores, memory, clocks (``/proc/cpuinfo`` MHz; NVML's SM and
  memory clocks), the last-level cache (sysfs; the GPU's L2) and library versions.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DeviceFacts",
    "Peaks",
    "describe_device",
    "kernel_s",
    "last_level_cache_bytes",
    "probe_peaks",
    "time_calls",
]

CPU_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")


def _sync(torch: Any, device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(
    torch: Any, device: Any, fn: Callable[[], object], repeats: int, warmup: int
) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    _sync(torch, device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end) * 1e-3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return times


def kernel_s(
    torch: Any, device: Any, dtype: Any, shape: tuple[int, int, int], calls: int = 10,
    repeats: int = 5, best: bool = False,
) -> float:  # fmt: skip
    """Seconds of one ``[rows, cols] x [cols, columns]`` product (``shape``), timed alone:
    the median (or with ``best`` the minimum) of ``repeats`` timings of ``calls``
    back-to-back products, over ``calls``."""
    rows, cols, columns = shape
    a = torch.randn(rows, cols, device=device).to(dtype)
    b = torch.randn(cols, columns, device=device).to(dtype)

    def run() -> None:
        with torch.inference_mode():
            for _ in range(calls):
                torch.mm(a, b)

    times = time_calls(torch, device, run, repeats, 1)
    return (min(times) if best else statistics.median(times)) / calls


@dataclass(frozen=True, slots=True)
class Peaks:
    """A device's peak FLOPS and memory bandwidth, and where they come from."""

    flops: float | None
    bandwidth_bytes_per_s: float | None
    source: str


def probe_peaks(torch: Any, device: Any, dtype: Any, nvml_handle: Any, nvml: Any) -> Peaks:
    """The peaks of ``device`` in ``dtype`` (see the module docstring)."""
    n = 4096 if device.type == "cuda" else 2048
    mm = kernel_s(torch, device, dtype, (n, n, n), calls=1, repeats=3, best=True)
    flops = 2 * n**3 / mm
    source = f"FLOPS probed: best of {n}x{n}x{n} {str(dtype).removeprefix('torch.')} matmuls"
    bw = _nvml_bandwidth(nvml, nvml_handle) if nvml_handle is not None else None
    if bw is not None:
        source += "; bandwidth: NVML max memory clock x bus width x 2"
    else:
        bw = _probed_bandwidth(torch, device)
        source += "; bandwidth probed: best of 5 sums over a 512 MiB fp32 buffer"
    return Peaks(flops, bw, source)


def _nvml_bandwidth(nvml: Any, handle: Any) -> float | None:
    try:
        clock_mhz = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
        bus_bits = nvml.nvmlDeviceGetMemoryBusWidth(handle)
    except Exception:  # pynvml.NVMLError: not supported on this device
        return None
    return float(clock_mhz) * 1e6 * 2 * float(bus_bits) / 8


def _probed_bandwidth(torch: Any, device: Any) -> float:
    x = torch.ones(2**27, device=device, dtype=torch.float32)  # 512 MiB

    def run() -> None:
        x.sum()

    best = min(time_calls(torch, device, run, 5, 1))
    return float(x.numel() * x.element_size()) / best


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What could be read about a device (``None`` where it could not)."""

    name: str
    cores: int | None
    threads: int | None
    memory_bytes: int | None
    clocks_mhz: dict[str, float] | None
    onchip_bytes: int | None  # last-level cache (CPU) or L2 (GPU)


def describe_device(torch: Any, device: Any, nvml_handle: Any, nvml: Any) -> DeviceFacts:
    """The device's description (see the module docstring)."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        l2 = getattr(props, "L2_cache_size", None)
        return DeviceFacts(props.name, props.multi_processor_count, None, props.total_memory,
                           _nvml_clocks(nvml, nvml_handle), l2 or None)  # fmt: skip
    info = _cpuinfo()
    mhz = [float(v) for k, v in info if k == "cpu MHz"]
    name = next((v for k, v in info if k == "model name"), platform.processor() or "cpu")
    clocks = {"cpu_mean": round(statistics.fmean(mhz), 1)} if mhz else None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return DeviceFacts(name, cores, torch.get_num_threads(), _meminfo_bytes(), clocks,
                       last_level_cache_bytes(CPU_CACHE))  # fmt: skip


def _cpuinfo() -> list[tuple[str, str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return [(k.strip(), v.strip()) for k, v in pairs]


def _meminfo_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def last_level_cache_bytes(root: Path) -> int | None:
    """The size of the highest-level cache under ``root`` (sysfs ``index*/level`` and
    ``size`` such as ``2048K`` or ``32M``), or ``None`` when unreadable."""
    best: tuple[int, int] | None = None
    try:
        for index in sorted(root.glob("index*")):
            level = int((index / "level").read_text())
            size = _size_bytes((index / "size").read_text().strip())
            if best is None or level > best[0]:
                best = (level, size)
    except (OSError, ValueError):
        return None
    return None if best is None else best[1]


def _size_bytes(text: str) -> int:
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text and text[-1].upper() in scale:
        return int(text[:-1]) * scale[text[-1].upper()]
    return int(text)


def _nvml_clocks(nvml: Any, handle: Any) -> dict[str, float] | None:
    if handle is None:
        return None
    out: dict[str, float] = {}
    for key, clock in (("sm", "NVML_CLOCK_SM"), ("memory", "NVML_CLOCK_MEM")):
        try:
            out[key] = float(nvml.nvmlDeviceGetClockInfo(handle, getattr(nvml, clock)))
            out[f"{key}_max"] = float(nvml.nvmlDeviceGetMaxClockInfo(handle, getattr(nvml, clock)))
        except Exception:  # pynvml.NVMLError: not supported
            continue
    return out or None
