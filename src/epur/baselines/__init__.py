"""Other platforms running the same networks, for comparison: modelled and measured.

Modelled: ``evaluate_tegra(network, config)`` with a scenario of ``tegra_scenarios()`` is
the Tegra X1 as cuDNN runs an LSTM (``tegra_cudnn``): an input GEMM per layer over the
sequence, then per step a recurrent GEMV, a point-wise kernel and a fixed cost.

Measured: ``measure_baseline`` (``epur baseline``) runs a network with PyTorch on this
CPU or a CUDA GPU and returns a ``MeasuredBaseline`` (the ``epur-baseline/1`` file that
``epur reproduce --baseline-json`` reads, ``load_measured_baseline``) and a
``PlatformFile``: the device as the Tegra-style model's parameters (``load_platform``),
so that a measured device becomes a modelled one (docs/baselines.md). PyTorch is
imported only when a measurement runs.
"""

from epur.baselines.measure import measure_baseline
from epur.baselines.measure_platform import PlatformFile, load_platform
from epur.baselines.measured import MeasuredBaseline, load_measured_baseline
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
    "MeasuredBaseline",
    "PlatformFile",
    "Source",
    "TegraConfig",
    "TegraResult",
    "calibrate_step_fixed_s",
    "evaluate_tegra",
    "load_measured_baseline",
    "load_platform",
    "measure_baseline",
    "tegra_scenarios",
]
