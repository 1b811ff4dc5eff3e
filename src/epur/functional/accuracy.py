"""Error of a run against the float64 reference: max absolute, RMS and relative, per layer.

``relative`` is norm-wise: ``||y - y_ref||_2 / ||y_ref||_2`` over the whole output
sequence (elementwise relative errors are meaningless near zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ErrorStats", "error_stats"]


@dataclass(frozen=True, slots=True)
class ErrorStats:
    layer: str
    max_abs: float
    rms: float
    relative: float


def error_stats(layer: str, y: NDArray[np.float64], ref: NDArray[np.float64]) -> ErrorStats:
    diff = np.asarray(y, dtype=np.float64) - ref
    norm = float(np.linalg.norm(ref))
    err = float(np.linalg.norm(diff))
    return ErrorStats(
        layer=layer,
        max_abs=float(np.abs(diff).max(initial=0.0)),
        rms=float(np.sqrt(np.mean(diff**2))) if diff.size else 0.0,
        relative=err / norm if norm > 0 else (0.0 if err == 0 else float("inf")),
    )
