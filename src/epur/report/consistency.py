"""Can the paper's three statements hold at once with epur's E-PUR?

The statements: 92x less energy than the Tegra X1 on average (PACT 2018), a 6.8x
speedup on average (the thesis), and the Tegra X1 not real time on EESEN and RLDRADSPR
(the paper). With E-PUR's latencies and energies fixed (epur's mwl design), a Tegra is
searched among the modelled ones: either precision, any per-step cost at least the one
that makes it miss real time, any board power in the sensitivity's range. Its latency
grows linearly with the per-step cost, so the average speedup does too: the least
average speedup of a Tegra that misses real time is at the real-time bound, the 6.8x is
met at one per-step cost above it, and the 92x then fixes the board power.

When no Tegra fits, the E-PUR latency that would make them fit is computed: every
network's latency scaled by the one factor that brings the least average speedup down
to 6.8x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epur.report.sensitivity import POWER_RANGE_W, EpurFigures
from epur.report.tegra import (
    REAL_TIME_NETWORKS,
    TegraConfig,
    evaluate_tegra,
    real_time_step_cost,
)
from epur.workload.network import Network

__all__ = [
    "PAPER_ENERGY_REDUCTION",
    "POWER_RANGE_W",
    "THESIS_SPEEDUP",
    "Consistency",
    "TegraFit",
    "consistency",
]

# Silfa et al., PACT 2018, abstract: 92x less energy than a Tegra X1, on average
PAPER_ENERGY_REDUCTION = 92.0
# F. Silfa, PhD thesis, UPC 2021, abstract: 6.8x speedup against the SoC (the Tegra X1)
THESIS_SPEEDUP = 6.8
_FRACTIONS = ("gemm_bandwidth_fraction", "gemm_flops_fraction", "gemv_bandwidth_fraction",
              "gemv_flops_fraction")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TegraFit:
    """The closest Tegra of one precision: at the real-time bound, its average speedup;
    at the per-step cost giving 6.8x (or the bound, if above), the power giving 92x."""

    precision: str
    efficiencies: str  # "as the default scenario" or "peak"
    real_time_step_overhead_s: float
    speedup_at_real_time_bound: float
    step_overhead_s: float
    power_w_for_energy: float | None  # None without E-PUR energies

    @property
    def speed_fits(self) -> bool:
        return self.speedup_at_real_time_bound <= THESIS_SPEEDUP * (1 + 1e-12)

    @property
    def energy_fits(self) -> bool:
        p = self.power_w_for_energy
        return p is not None and POWER_RANGE_W[0] <= p <= POWER_RANGE_W[1]

    def json(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "efficiencies": self.efficiencies,
            "real_time_step_overhead_s": self.real_time_step_overhead_s,
            "speedup_at_real_time_bound": self.speedup_at_real_time_bound,
            "step_overhead_s": self.step_overhead_s,
            "power_w_for_energy": self.power_w_for_energy,
            "speed_fits": self.speed_fits,
            "energy_fits": self.energy_fits,
        }


@dataclass(frozen=True, slots=True)
class Consistency:
    holds: bool
    explanation: str
    fits: tuple[TegraFit, ...]
    least_speedup: dict[str, float]  # per real-time network: duration / E-PUR latency
    latency_scale: float  # E-PUR latency x this makes the statements fit (1 if they do)
    required_latency_s: dict[str, float]

    def json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "explanation": self.explanation,
            "tegra_fits": [f.json() for f in self.fits],
            "least_speedup_for_tegra_not_real_time": self.least_speedup,
            "epur_latency_scale_needed": self.latency_scale,
            "epur_latency_needed_s": self.required_latency_s,
        }


def _fit(
    base: TegraConfig, efficiencies: str, networks: dict[str, Network],
    epur: dict[str, EpurFigures],
) -> TegraFit:  # fmt: skip
    bound = real_time_step_cost(base, networks)
    zero = {k: evaluate_tegra(networks[k], base.replace(step_fixed_s=0.0)) for k in epur}
    n = len(epur)

    def latency(k: str, s: float) -> float:  # linear in the per-step cost
        return zero[k].latency_s + zero[k].fixed_steps * s

    at_bound = sum(latency(k, bound) / epur[k].latency_s for k in epur) / n
    slope = sum(zero[k].fixed_steps / epur[k].latency_s for k in epur) / n
    step = bound + max(0.0, THESIS_SPEEDUP - at_bound) / slope
    power = None
    if all(e.energy_j is not None for e in epur.values()):
        per_watt = sum(latency(k, step) / (epur[k].energy_j or 1.0) for k in epur) / n
        power = PAPER_ENERGY_REDUCTION / per_watt
    return TegraFit(base.precision, efficiencies, bound, at_bound, step, power)


def _candidates(config: TegraConfig) -> list[tuple[TegraConfig, str]]:
    """Either precision, with the default's efficiencies or at peak."""
    out = []
    for precision in ("fp16", "fp32"):
        same = config.replace(precision=precision)
        out.append((same, "as the default scenario"))
        out.append((same.replace(**dict.fromkeys(_FRACTIONS, 1.0)), "peak"))
    return out


def consistency(
    networks: dict[str, Network], epur: dict[str, EpurFigures], config: TegraConfig
) -> Consistency:
    """Whether some modelled Tegra makes the paper's three statements hold with ``epur``
    (E-PUR's figures on the faithful networks), and if not, what E-PUR's latency would
    have to be."""
    fits = tuple(_fit(c, how, networks, epur) for c, how in _candidates(config))
    least = {}
    for k in REAL_TIME_NETWORKS:
        duration = networks[k].sequence_duration_s
        if duration is not None and k in epur:
            least[k] = duration / epur[k].latency_s
    holds = any(f.speed_fits and f.energy_fits for f in fits)
    best = min(fits, key=lambda f: f.speedup_at_real_time_bound)
    scale = 1.0 if best.speed_fits else best.speedup_at_real_time_bound / THESIS_SPEEDUP
    required = {k: scale * e.latency_s for k, e in epur.items()}
    text = _explain(holds, fits, best, least, scale, required, networks)
    return Consistency(holds, text, fits, least, scale, required)


def _explain(
    holds: bool, fits: tuple[TegraFit, ...], best: TegraFit, least: dict[str, float],
    scale: float, required: dict[str, float], networks: dict[str, Network],
) -> str:  # fmt: skip
    names = {k: networks[k].name for k in networks}
    bound = "; ".join(f"{names[k]} {v:.3g}x" for k, v in least.items())
    lo, hi = POWER_RANGE_W
    if holds:
        fit = next(f for f in fits if f.speed_fits and f.energy_fits)
        return (
            f"Yes: a {fit.precision} Tegra X1 ({fit.efficiencies} efficiencies) with "
            f"{fit.step_overhead_s * 1e6:.3g} us per step "
            f"of each layer direction and {fit.power_w_for_energy:.3g} W misses real time on "
            f"{' and '.join(names[k] for k in least)}, is 6.8x slower than epur's E-PUR on "
            "average and spends 92x its energy."
        )
    parts = [
        f"No. For the Tegra X1 not to be real time, it must take at least a sequence's "
        f"duration, which is this many times epur's E-PUR latency: {bound}. The least "
        f"average speedup of such a Tegra is {best.speedup_at_real_time_bound:.3g}x "
        f"({best.precision}, {best.efficiencies} efficiencies, "
        f"{best.real_time_step_overhead_s * 1e6:.3g} us per step), "
        f"not 6.8x."
    ]
    if not best.speed_fits:
        needed = "; ".join(
            f"{names[k]} {v * 1e3:.4g} ms"
            + (f" (RTF {v / d:.3g})" if (d := networks[k].sequence_duration_s) else "")
            for k, v in required.items()
        )
        parts.append(
            f"For all three to hold, E-PUR's latency would have to be {scale:.3g}x epur's: "
            f"{needed}."
        )
    p = best.power_w_for_energy
    if p is not None:
        where = "within" if lo <= p <= hi else "outside"
        parts.append(
            f"With {'that Tegra' if best.speed_fits else 'the Tegra at the real-time bound'}"
            f", 92x less energy than epur's E-PUR needs a board power of {p:.3g} W, {where} "
            f"the {lo:g}-{hi:g} W range."
        )
    return " ".join(parts)
