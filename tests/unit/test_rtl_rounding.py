"""The RTL's conversion to a fixed-point format (rtl/rounding.py) gives the codes of
``round_to_format`` for every rounding and overflow mode, on exact inputs."""

from __future__ import annotations

import numpy as np
import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth.hdl import Module, Signal, signed  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402

from epur.numerics import parse_format, round_to_format  # noqa: E402
from epur.rtl.rounding import rounded  # noqa: E402

pytestmark = pytest.mark.rtl


def simulate(fmt_name: str, frac: int, width: int, xs: list[int]) -> list[int]:
    fmt = parse_format(fmt_name)
    m = Module()
    x = Signal(signed(width))
    y = Signal(signed(fmt.bits))
    m.d.comb += y.eq(rounded(x, frac, fmt))
    got: list[int] = []

    async def bench(ctx: object) -> None:
        for v in xs:
            ctx.set(x, v)  # type: ignore[attr-defined]
            got.append(ctx.get(y))  # type: ignore[attr-defined]

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize(
    "fmt_name",
    ["q8.8", "q8.8:trunc", "q8.8:rna", "q8.8:wrap", "q4.12", "q4.12:rna:wrap", "q2.6:trunc:wrap"],
)
@pytest.mark.parametrize("frac", [3, 8, 16, 24])
def test_rounded_codes_are_round_to_format(fmt_name: str, frac: int) -> None:
    fmt = parse_format(fmt_name)
    width = fmt.bits + max(frac - fmt.frac_bits, 0) + 4  # beyond the range too
    rng = np.random.default_rng(frac)
    top = 1 << (width - 1)
    xs = [int(v) for v in rng.integers(-top, top, 300)]
    scale = 1 << max(frac - fmt.frac_bits, 0)
    ties = [k * scale + scale // 2 for k in range(-6, 6)] if frac > fmt.frac_bits else []
    xs += [*ties, -top, top - 1, 0, -1, 1]
    got = simulate(fmt_name, frac, width, xs)
    want = round_to_format(np.array(xs, dtype=np.float64) * 2.0**-frac, fmt)
    assert got == [int(v) for v in np.rint(want * 2.0**fmt.frac_bits)]
