"""A measured baseline: one network run with PyTorch on a real CPU or GPU (``epur baseline``).

This is the JSON file ``epur baseline --json FILE`` writes and ``epur reproduce
--baseline-json FILE`` reads (schema ``epur-baseline/1``). Everything in it was measured
on the device named in ``device`` at ``date``; what could not be measured is ``null``
with the reason beside it (``energy_j`` and ``energy_reason``), never invented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from epur._validation import load_json_model

__all__ = ["SCHEMA", "DeviceInfo", "MeasuredBaseline", "load_measured_baseline"]

SCHEMA: Literal["epur-baseline/1"] = "epur-baseline/1"
_STRICT = ConfigDict(frozen=True, extra="forbid")
_Seconds = Field(gt=0.0, allow_inf_nan=False)


class DeviceInfo(BaseModel):
    """The device a baseline ran on, as far as it could be read."""

    model_config = _STRICT
    kind: Literal["cpu", "cuda"]
    name: str = Field(min_length=1)
    cores: int | None = Field(default=None, ge=1, description="CPU cores or GPU SMs")
    threads: int | None = Field(default=None, ge=1, description="torch threads (CPU)")
    memory_bytes: int | None = Field(default=None, ge=0)
    clocks_mhz: dict[str, float] | None = None  # e.g. {"sm": 1980, "memory": 3201}
    peak_flops: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    peak_bandwidth_bytes_per_s: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    peaks_source: str | None = None  # where the peaks come from (a spec sheet, a probe)


class MeasuredBaseline(BaseModel):
    """One ``epur baseline`` measurement (JSON schema ``epur-baseline/1``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    schema_: Literal["epur-baseline/1"] = Field(default=SCHEMA, alias="schema")
    measured: Literal[True] = True
    date: str = Field(min_length=10, description="ISO 8601 UTC time of the measurement")
    network: str = Field(min_length=1, description="the zoo name or the imported file's name")
    source: Literal["zoo", "onnx", "torch"]
    weights: Literal["model", "random"]
    device: DeviceInfo
    dtype: Literal["fp32", "fp16", "bf16"]
    batch: int = Field(ge=1)
    repeats: int = Field(ge=1)
    warmup: int = Field(ge=0)
    latency_s: float = _Seconds  # per sequence: the median pass time / batch
    latency_spread_s: float = Field(ge=0.0, allow_inf_nan=False)  # IQR of the repeats
    latency_min_s: float = _Seconds
    latency_max_s: float = _Seconds
    throughput_sequences_per_s: float = _Seconds
    energy_j: float | None = Field(ge=0.0, allow_inf_nan=False)  # per sequence
    energy_reason: str | None = None  # why energy_j is null; None when it was read
    energy_source: Literal["nvml", "rapl"] | None = None
    steps: int = Field(ge=1, description="time steps of one sequence, all layers in order")
    weight_bytes_per_step: int = Field(ge=0)
    flops_per_sequence: float = Field(ge=0.0, allow_inf_nan=False)
    achieved_weight_bandwidth_bytes_per_s: float = Field(ge=0.0, allow_inf_nan=False)
    achieved_flops: float = Field(ge=0.0, allow_inf_nan=False)
    step_fixed_s: float | None = Field(ge=0.0, allow_inf_nan=False)  # from two lengths
    versions: dict[str, str]


def load_measured_baseline(path: str | Path) -> MeasuredBaseline:
    """Read and validate one baseline file; a ``ConfigError`` naming the file and the
    field for anything that is not a valid ``epur-baseline/1`` measurement."""
    hint = f"an {SCHEMA} file written by `epur baseline --json`"
    return load_json_model(path, MeasuredBaseline, "baseline file", hint)
