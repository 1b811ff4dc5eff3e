"""Peer simulators beside epur: the network's work in their terms, their figures beside ours.

SCALE-Sim 3.0.0 (systolic arrays, GEMM by GEMM, no recurrence) is the first: the optional
extra ``epur[peers]`` installs it; ``epur compare scalesim`` runs it (docs/peers.md).
"""

from epur.peers.compare import (
    DEFAULT_SAMPLE_CYCLES,
    GemmResult,
    ScaleSimComparison,
    Source,
    compare_scalesim,
    default_array,
)
from epur.peers.gemms import Gemm, GemmKind, network_gemms
from epur.peers.systolic import Array, GemmShape, Sample, SystolicDataflow, closed_form_cycles

__all__ = [
    "DEFAULT_SAMPLE_CYCLES",
    "Array",
    "Gemm",
    "GemmKind",
    "GemmResult",
    "GemmShape",
    "Sample",
    "ScaleSimComparison",
    "Source",
    "SystolicDataflow",
    "closed_form_cycles",
    "compare_scalesim",
    "default_array",
    "network_gemms",
]
