"""Other platforms running the same networks, for comparison (modelled, never measured).

``evaluate_tegra(network, config)`` with a scenario of ``tegra_scenarios()`` is the Tegra X1
as cuDNN runs an LSTM (``tegra_cudnn``); ``roofline`` is the earlier model (every step
re-reads ``[W U]``), kept until its callers move.
"""

from epur.baselines.tegra_cudnn import (
    DEFAULT_SCENARIO,
    PAPER_REAL_TIME_MISSES,
    SCENARIOS,
    LayerCost,
    Source,
    TegraConfig,
    TegraResult,
    calibrate_step_fixed_s,
    evaluate_tegra,
    tegra_scenarios,
)
from epur.baselines.tegra_x1 import TEGRA_X1, PlatformResult, RooflinePlatform, roofline

__all__ = [
    "DEFAULT_SCENARIO",
    "PAPER_REAL_TIME_MISSES",
    "SCENARIOS",
    "TEGRA_X1",
    "LayerCost",
    "PlatformResult",
    "RooflinePlatform",
    "Source",
    "TegraConfig",
    "TegraResult",
    "calibrate_step_fixed_s",
    "evaluate_tegra",
    "roofline",
    "tegra_scenarios",
]
