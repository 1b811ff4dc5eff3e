"""The Tegra X1 as ``epur reproduce`` evaluates it: the one place the report imports the
baseline model from (``epur.baselines.tegra_cudnn``: cuDNN's structure, **modelled,
never measured**), so the model can change without the report changing.

Scenarios: ``floor`` (peak rates, no per-step cost: a lower bound), ``cudnn_measured``
(the default: efficiencies fitted to measured TX1 kernels, a small launch cost) and
``paper_calibrated`` (the smallest per-step cost with which the TX1 misses real time on
EESEN and RLDRADSPR, as the paper says it does). A result's latency is linear in the
per-step cost: ``latency(c) = latency(0) + c x fixed_steps``.
"""

from __future__ import annotations

from collections.abc import Mapping

from epur.baselines.tegra_cudnn import (
    DEFAULT_SCENARIO,
    PAPER_REAL_TIME_MISSES,
    SCENARIOS,
    TegraConfig,
    TegraResult,
    calibrate_step_fixed_s,
    evaluate_tegra,
    tegra_scenarios,
)
from epur.workload.network import Network

__all__ = [
    "DEFAULT_SCENARIO",
    "REAL_TIME_NETWORKS",
    "SCENARIOS",
    "TegraConfig",
    "TegraResult",
    "evaluate_tegra",
    "real_time_step_cost",
    "tegra_scenarios",
]

REAL_TIME_NETWORKS = PAPER_REAL_TIME_MISSES


def real_time_step_cost(config: TegraConfig, networks: Mapping[str, Network]) -> float:
    """The smallest per-step cost with which ``config`` misses real time on every network
    of ``REAL_TIME_NETWORKS`` (0 if it already does without one)."""
    return calibrate_step_fixed_s(config, {k: networks[k] for k in REAL_TIME_NETWORKS})
