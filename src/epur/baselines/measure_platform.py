"""A measured device as a platform of the Tegra-style model (``epur baseline --platform-out``).

The file (JSON, schema ``epur-platform/1``) holds the parameters ``TegraConfig`` takes,
each with its source, as measured by ``epur baseline`` on one device for one network:
the probed peaks, the fractions of peak that the network's GEMVs and input GEMMs reach
when timed alone, the per-step fixed cost, the last-level cache as on-chip storage, and
the measured average power, or ``null`` with the reason when no energy counter could be
read. ``load_platform`` turns it into a ``TegraConfig`` for ``evaluate_tegra``; a file
without a power needs ``assume_power_w`` (an energy is then the caller's assumption,
recorded as such in the sources), as epur never invents one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from epur._validation import load_json_model
from epur.baselines.tegra_cudnn import PlatformRates, Source, TegraConfig, evaluate_tegra
from epur.errors import ConfigError
from epur.workload.network import Network

__all__ = ["PLATFORM_SCHEMA", "PlatformFile", "fit_fixed_cost", "load_platform"]

PLATFORM_SCHEMA: Literal["epur-platform/1"] = "epur-platform/1"


class PlatformFile(PlatformRates):
    """The ``epur-platform/1`` file: a ``TegraConfig`` whose power may be unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    schema_: Literal["epur-platform/1"] = Field(default=PLATFORM_SCHEMA, alias="schema")
    platform: str = Field(min_length=1, description="the device, as epur baseline named it")
    date: str = Field(min_length=10)
    network: str = Field(min_length=1, description="the network the fractions were measured on")
    batch: int = Field(ge=1)
    dtype: Literal["fp32", "fp16", "bf16"]
    power_w: float | None = Field(gt=0.0, allow_inf_nan=False)
    power_reason: str | None = None  # why power_w is null
    sources: dict[str, Source]

    def config(self, assume_power_w: float | None = None) -> TegraConfig:
        """The ``TegraConfig`` (scenario ``measured``); ``assume_power_w`` stands in for an
        unknown power (and is refused when the file has a measured one)."""
        sources = dict(self.sources)
        power = self.power_w
        if power is None:
            if assume_power_w is None:
                raise ConfigError(
                    f"power_w is null ({self.power_reason or 'not measured'}): energy cannot "
                    "be modelled without assume_power_w"
                )
            power = assume_power_w
            sources["power_w"] = Source(
                status="assumed", source=f"given to load_platform: {self.power_reason}"
            )
        elif assume_power_w is not None:
            raise ConfigError(
                f"assume_power_w applies to files without a measured power; this one has "
                f"{self.power_w:.4g} W"
            )
        fields = self.model_dump(exclude={"schema_", "date", "network", "batch", "dtype",
                                          "power_reason", "sources", "power_w"})  # fmt: skip
        try:
            return TegraConfig(scenario="measured", power_w=power, sources=sources, **fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "(config)"
            raise ConfigError(f"{where}: {first['msg']}") from None


def load_platform(path: str | Path, assume_power_w: float | None = None) -> TegraConfig:
    """Read a platform file written by ``epur baseline --platform-out``: a ``ConfigError``
    naming the file and the field for anything that is not a valid one."""
    p = Path(path)
    hint = f"an {PLATFORM_SCHEMA} file written by `epur baseline --platform-out`"
    data = load_json_model(p, PlatformFile, "platform file", hint)
    try:
        return data.config(assume_power_w)
    except ConfigError as exc:
        raise ConfigError(f"platform file {p}: {exc}") from None


def fit_fixed_cost(platform: PlatformFile, network: Network, steps_s: float) -> tuple[
    PlatformFile, float
]:  # fmt: skip
    """``platform`` with the fixed cost that makes the model's per-step time of ``network``
    (its batch) equal ``steps_s``, the measured time of all the steps of one pass (the
    two-length slope x steps), and that cost.

    The model's per-step kernels at ``platform``'s fractions (GEMVs and point-wise, no
    fixed cost) take ``K``; the fixed cost per kernel pair is ``(steps_s - K) /
    kernel_pairs``. When ``K`` exceeds ``steps_s`` (a framework's fused step beats its
    kernels timed alone), the fixed cost is 0 and the GEMV fractions rise by ``K /
    steps_s`` (at most to 1) instead.
    """
    base = platform.model_copy(update={"step_fixed_s": 0.0})
    result = evaluate_tegra(network, base.config(None if base.power_w else 1.0))
    kernels = sum(c.steps_s for c in result.layers)
    if result.fixed_steps == 0 or steps_s <= 0:
        return base, 0.0
    if steps_s >= kernels:
        fixed = min((steps_s - kernels) / result.fixed_steps, 1.0)
        return base.model_copy(update={"step_fixed_s": fixed}), fixed
    k = kernels / steps_s
    faster = {
        "gemv_flops_fraction": min(base.gemv_flops_fraction * k, 1.0),
        "gemv_bandwidth_fraction": min(base.gemv_bandwidth_fraction * k, 1.0),
    }
    return base.model_copy(update=faster), 0.0
