"""The error report (functional/accuracy.py) at the ends of float64's range (issue 9)."""

from __future__ import annotations

import math

import numpy as np

from epur.functional.accuracy import error_stats


def test_huge_values_do_not_overflow_the_norms() -> None:
    ref = np.array([1e200, -3e200, 2e200])  # squares are beyond float64
    e = error_stats("L1", 2 * ref, ref)  # y - ref = ref
    assert e.relative == 1.0
    assert e.max_abs == 3e200
    assert math.isclose(e.rms, math.sqrt(14 / 3) * 1e200, rel_tol=1e-15)


def test_tiny_values_do_not_underflow_the_norms() -> None:
    ref = np.array([3e-200, 4e-200])  # squares underflow to 0 in float64
    e = error_stats("L1", np.zeros(2), ref)
    assert e.relative == 1.0  # all of ref is missing, not "no error"
    assert math.isclose(e.rms, math.sqrt(12.5) * 1e-200, rel_tol=1e-15)


def test_equal_infinities_are_no_error_and_one_sided_ones_are_infinite() -> None:
    same = error_stats("L1", np.array([np.inf, 1.0]), np.array([np.inf, 1.0]))
    assert (same.max_abs, same.rms, same.relative) == (0.0, 0.0, 0.0)
    one = error_stats("L1", np.array([np.inf, 1.0]), np.array([2.0, 1.0]))
    assert one.max_abs == one.rms == one.relative == np.inf
