"""Error of a run against the float64 reference: max absolute, RMS and relative, per layer.

``relative`` is norm-wise: ``||y - y_ref||_2 / ||y_ref||_2`` over the whole output
sequence (elementwise relative errors are meaningless near zero).
"""

from __future__ import annotations

from collections.abc import Callable
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
    """The error of ``y`` against ``ref``, whatever their magnitude.

    Equal values (infinities of the same sign, and NaN against NaN, included) differ by
    0; an infinity or NaN on one side only gives an infinite or NaN error. Norms are
    scaled by the largest magnitude when squaring could leave float64's range, so values
    up to 1.8e308 never overflow them.
    """
    y = np.asarray(y, dtype=np.float64)
    same = (y == ref) | (np.isnan(y) & np.isnan(ref))
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: equal, so 0 below
        diff = np.where(same, 0.0, y - ref)
    norm, err = _scaled(ref, _norm), _scaled(diff, _norm)
    relative = err if np.isnan(err) or err == 0 else err / norm if norm > 0 else float("inf")
    return ErrorStats(
        layer=layer,
        max_abs=float(np.abs(diff).max(initial=0.0)),
        rms=_scaled(diff, lambda a: float(np.sqrt(np.mean(a**2)))) if diff.size else 0.0,
        relative=relative,
    )


_SAFE = (1e-150, 1e150)  # squares of magnitudes in this range neither overflow nor underflow


def _norm(a: NDArray[np.float64]) -> float:
    return float(np.linalg.norm(a))


def _scaled(a: NDArray[np.float64], measure: Callable[[NDArray[np.float64]], float]) -> float:
    """``measure(a)`` (a norm, positively homogeneous): as is when squaring ``a`` is safe,
    else ``max|a| * measure(a / max|a|)``; inf, NaN or 0 when ``max|a|`` is."""
    peak = float(np.abs(a).max(initial=0.0))
    if not np.isfinite(peak) or peak == 0.0:
        return peak
    if _SAFE[0] <= peak <= _SAFE[1]:
        return measure(a)
    return peak * measure(a / peak)
