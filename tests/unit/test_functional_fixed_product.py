"""A fixed-point product of two accumulator values is rounded from its exact value
(``_fixed_math.rnd_mul``, ``Datapath.mul``): q8.24's products have 48 fraction bits and
need up to 64 bits, beyond float64's 53, where ``rnd(a * b)`` rounded twice."""

from __future__ import annotations

import numpy as np
import pytest

from epur.functional.datapath import Datapath
from epur.numerics import parse_activation, parse_format


def exact(ca: int, cb: int, fmt_name: str) -> int:
    """The code of ``rnd(a * b)`` from the codes, in integers (``rtl/rounding.py``'s rules)."""
    fmt = parse_format(fmt_name)
    n, bits = fmt.frac_bits, fmt.bits
    q, r = divmod(ca * cb, 1 << n)  # floor, and the dropped bits
    half = 1 << (n - 1)
    rounding = fmt.rounding.value
    if rounding == "rne":
        q += r > half or (r == half and q % 2 == 1)
    elif rounding == "rna":
        q += r > half or (r == half and ca * cb >= 0)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if fmt.overflow.value == "sat":
        return min(max(q, lo), hi)
    return (q - lo) % (1 << bits) + lo


@pytest.mark.parametrize(
    "fmt_name", ["q8.24", "q8.24:trunc", "q8.24:rna", "q8.24:wrap", "q16.16", "q2.30:trunc:wrap"]
)
def test_products_round_from_their_exact_value(fmt_name: str) -> None:
    fmt = parse_format(fmt_name)
    dp = Datapath(fmt, fmt, fmt, 16, parse_activation("pwl16"))
    rng = np.random.default_rng(4)
    top = 1 << (fmt.bits - 1)
    ca = [int(v) for v in rng.integers(-top, top, 4000)]
    cb = [int(v) for v in rng.integers(-(1 << fmt.frac_bits), 1 << fmt.frac_bits, 4000)]
    # products whose float64 value is a tie (or a grid point) that the exact one is not:
    # (1 + 100 * 2**24) * (2**24 - 1) = 100 * 2**48 - 99 * 2**24 - 1 rounds up onto the grid
    ca += [1677860267, -1677860267, 1677721601, -1677721601, (1 << (fmt.bits - 2)) + 1, 3]
    cb += [16771590, 16771590, 16777215, 16777215, (1 << (fmt.frac_bits - 1)) + 1,
           1 << (fmt.frac_bits - 1)]  # fmt: skip
    unit = 2.0**-fmt.frac_bits
    got = dp.mul(np.array(ca) * unit, np.array(cb) * unit)
    want = [exact(a, b, fmt_name) for a, b in zip(ca, cb, strict=True)]
    assert [int(v) for v in np.rint(got / unit)] == want
