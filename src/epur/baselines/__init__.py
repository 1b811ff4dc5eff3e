"""Other platforms running the same networks, for comparison (modelled, never measured).

``evaluate_tegra(network, config)`` with a scenario of ``tegra_scenarios()`` is the Tegra X1
as cuDNN runs an LSTM (``tegra_cudnn``): an input GEMM per layer over the sequence,
then per step a recurrent GEMV, a point-wise kernel and a fixed cost.
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

__all__ = [
    "DEFAULT_SCENARIO",
    "PAPER_REAL_TIME_MISSES",
    "SCENARIOS",
    "LayerCost",
    "Source",
    "TegraConfig",
    "TegraResult",
    "calibrate_step_fixed_s",
    "evaluate_tegra",
    "tegra_scenarios",
]
