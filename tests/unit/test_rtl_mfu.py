# amaranth: UnusedElaboratable=no
"""The RTL MFU (rtl/mfu.py, rtl/tables.py) co-simulated with Amaranth's simulator: every
``c_new`` and ``h`` is the functional model's, bit for bit (its compiled fixed-point MFU,
``_fixed_mfu.cell``, and ``Datapath``'s MFU methods as ``lstm_steps`` calls them), for
q8.8 and q4.12 with their accumulators, PWL and LUT (``lut98``: no power-of-two
spacing), with and without peepholes; inputs at, just below and just above every
breakpoint, random ones inside the tables' range and far outside it; and two other
rounding and overflow modes (q8.8:trunc:wrap, q4.12:rna).

Inputs are what the functional model gives the MFU: accumulator codes, and peephole
weights that are storage values (``_steps._const``); ``c_prev`` over the whole
accumulator range (its products with gate values need more than float64's 53 bits in
q8.24: both the hardware and the model round them from the exact product).
"""

from __future__ import annotations

import numpy as np
import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from epur.api import format_settings  # noqa: E402
from epur.arch import apply_overrides, paper_preset  # noqa: E402
from epur.functional._fixed_mfu import cell  # noqa: E402
from epur.functional._recurrence_fixed import consts  # noqa: E402
from epur.functional.datapath import Datapath  # noqa: E402
from epur.numerics import (  # noqa: E402
    ActivationFunction,
    activation,
    activation_table,
    parse_activation,
    parse_format,
)
from epur.rtl.mfu import MFU  # noqa: E402
from epur.rtl.tables import Activation, thresholds, uniform_step  # noqa: E402

pytestmark = pytest.mark.rtl

FORMATS = ["q8.8", "q4.12"]
ACTIVATIONS = ["pwl16", "lut256", "lut98"]
SIG, TANH = ActivationFunction.SIGMOID, ActivationFunction.TANH
RANDOM = 120  # random cases inside the tables' range, and as many far outside it


def datapath(storage: str, act: str) -> Datapath:
    arch = apply_overrides(paper_preset(), format_settings(storage))
    acc = arch.formats.accumulator_format
    return Datapath(parse_format(storage), acc, acc, 16, parse_activation(act))


def edges(function: ActivationFunction, dp: Datapath) -> list[int]:
    """Codes at, just below and just above every breakpoint of ``function``'s table."""
    table = activation_table(function, dp.activation, dp.acc)
    scale = 1 << dp.acc.frac_bits
    ends = [int(np.ceil(table.breakpoints[0] * scale)), int(np.ceil(table.breakpoints[-1] * scale))]
    return [t + d for t in [ends[0], *thresholds(table, dp.acc), ends[1]] for d in (-1, 0, 1)]


# ---- the reference ----------------------------------------------------------------------


def reference(
    dp: Datapath, inputs: dict[str, np.ndarray], peep: bool
) -> tuple[list[int], list[int]]:
    """``c_new`` and ``h`` codes of the functional model, from both of its MFUs (which must
    agree)."""
    a, s = 2.0**-dp.acc.frac_bits, 2.0**-dp.storage.frac_bits
    zi, zf, zg, zo, c = (
        inputs[k].astype(np.float64) * a for k in ("z_i", "z_f", "z_g", "z_o", "c_prev")
    )
    p = (
        np.stack([inputs[k].astype(np.float64) * a for k in ("p_i", "p_f", "p_o")])
        if peep
        else None
    )
    # compiled (the fixed-point recurrence kernel's MFU)
    k = consts(dp)
    n = c.shape[0]
    cn, out = np.empty(n), np.empty(n)
    z, scratch = np.concatenate([zi, zf, zg, zo]), (np.empty(5 * n), np.empty(5 * n))
    peeps = np.zeros((3, n)) if p is None else p
    bad = cell(z, c, cn, out, *scratch, peeps, peep, k.act, k.sig, k.tanh, k.acc, k.store)
    assert not bad
    # Datapath's methods, as lstm_steps calls them
    if p is None:
        i, f, o = dp.sigmoid(zi), dp.sigmoid(zf), dp.sigmoid(zo)
    else:
        i, f = dp.sigmoid(dp.add(zi, dp.mul(p[0], c))), dp.sigmoid(dp.add(zf, dp.mul(p[1], c)))
    c2 = dp.add(dp.mul(f, c), dp.mul(i, dp.tanh(zg)))
    if p is not None:
        o = dp.sigmoid(dp.add(zo, dp.mul(p[2], c2)))
    h2 = dp.store(dp.mul(o, dp.tanh(c2)))
    assert np.array_equal(cn, c2) and np.array_equal(out, h2)
    return [int(v) for v in np.rint(cn / a)], [int(v) for v in np.rint(out / s)]


# ---- the cases --------------------------------------------------------------------------


def cases(dp: Datapath, peep: bool, seed: int) -> dict[str, np.ndarray]:
    """Targeted cases (every breakpoint edge of sigmoid on i, f and o, of tanh on g), then
    random ones inside the tables' range, then random ones over the whole accumulator."""
    rng = np.random.default_rng(seed)
    fa, fs = dp.acc.frac_bits, dp.storage.frac_bits
    top = 1 << (dp.acc.bits - 1)
    sig, tnh = edges(SIG, dp), edges(TANH, dp)
    targeted = max(len(sig) // 3 + 1, len(tnh))
    n = targeted + 2 * RANDOM
    c_top = top  # the whole range: products beyond float64's 53 bits (module docstring)
    inside = 10 << fa  # beyond both ranges (8 and 4)

    def spread(lo: int, hi: int, count: int) -> np.ndarray:
        return rng.integers(lo, hi, count, dtype=np.int64)

    x = {}
    for name, fn_edges, shift in (("z_i", sig, 0), ("z_f", sig, len(sig) // 3),
                                  ("z_o", sig, 2 * len(sig) // 3), ("z_g", tnh, 0)):  # fmt: skip
        at = np.array([fn_edges[(j + shift) % len(fn_edges)] for j in range(targeted)])
        x[name] = np.concatenate([at, spread(-inside, inside, RANDOM), spread(-top, top, RANDOM)])
    x["c_prev"] = np.concatenate(
        [spread(-(4 << fa), 4 << fa, targeted + RANDOM), spread(-c_top, c_top, RANDOM)]
    )
    if peep:  # storage values, as the accumulator holds them
        stop = 1 << (dp.storage.bits - 1)
        for name in ("p_i", "p_f", "p_o"):
            x[name] = spread(-stop, stop, n) << (fa - fs)
        # the targets are the sigmoid's inputs: take the peephole terms off
        a = 2.0**-fa
        c = x["c_prev"] * a
        for z, p in (("z_i", "p_i"), ("z_f", "p_f")):
            term = np.rint(dp.mul(x[p] * a, c) / a).astype(np.int64)
            x[z][:targeted] = np.clip(x[z][:targeted] - term[:targeted], -top, top - 1)
        cn, _ = reference(dp, x, peep)
        term = np.rint(dp.mul(x["p_o"] * a, np.array(cn) * a) / a).astype(np.int64)
        x["z_o"][:targeted] = np.clip(x["z_o"][:targeted] - term[:targeted], -top, top - 1)
    return x


# ---- simulation -------------------------------------------------------------------------


def simulate(mfu: MFU, inputs: dict[str, np.ndarray]) -> tuple[list[int], list[int], list[int]]:
    """Feed one case per cycle (a bubble every 7th cycle); collect ``c_new``, ``h`` and the
    cycle distance between each case and its result."""
    n = len(inputs["c_prev"])
    rows = [{k: int(v[j]) for k, v in inputs.items()} for j in range(n)]
    got_c: list[int] = []
    got_h: list[int] = []
    lat: list[int] = []

    async def bench(ctx: object) -> None:
        sent: list[int] = []
        j = cycle = 0
        while len(got_c) < n:
            if j < n and cycle % 7 != 6:
                for k, v in rows[j].items():
                    ctx.set(getattr(mfu, k), v)  # type: ignore[attr-defined]
                ctx.set(mfu.valid, 1)  # type: ignore[attr-defined]
                sent.append(cycle)
                j += 1
            else:
                ctx.set(mfu.valid, 0)  # type: ignore[attr-defined]
            await ctx.tick()  # type: ignore[attr-defined]
            cycle += 1
            if ctx.get(mfu.out_valid):  # type: ignore[attr-defined]
                lat.append(cycle - sent[len(got_c)])
                got_c.append(ctx.get(mfu.c_new))  # type: ignore[attr-defined]
                got_h.append(ctx.get(mfu.h))  # type: ignore[attr-defined]
            assert cycle < 2 * n + 100

    sim = Simulator(mfu)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got_c, got_h, lat


@pytest.mark.parametrize("peep", [True, False], ids=["peepholes", "no-peepholes"])
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("storage", FORMATS)
def test_mfu_is_the_functional_model(storage: str, act: str, peep: bool) -> None:
    check_mfu(storage, act, peep)


@pytest.mark.parametrize(
    ("storage", "act", "peep"), [("q8.8:trunc:wrap", "pwl16", True), ("q4.12:rna", "lut98", False)]
)
def test_mfu_other_rounding_and_overflow_modes(storage: str, act: str, peep: bool) -> None:
    check_mfu(storage, act, peep)


def check_mfu(storage: str, act: str, peep: bool) -> None:
    dp = datapath(storage, act)
    inputs = cases(dp, peep, seed=len(act) + 3 * peep + 7 * len(storage))
    want_c, want_h = reference(dp, inputs, peep)
    mfu = MFU(dp.acc, dp.storage, dp.activation, peepholes=peep)
    got_c, got_h, lat = simulate(mfu, inputs)
    assert set(lat) == {mfu.latency}
    wrong = [j for j in range(len(want_c)) if (got_c[j], got_h[j]) != (want_c[j], want_h[j])]
    assert not wrong, f"{len(wrong)} cases differ, first {wrong[:5]}"


def run_unit(unit: Activation, xs: list[int]) -> list[int]:
    """``y`` of an activation unit for each ``x``, one per cycle."""
    got: list[int] = []

    async def bench(ctx: object) -> None:
        for v in xs:
            ctx.set(unit.x, v)  # type: ignore[attr-defined]
            await ctx.tick()  # type: ignore[attr-defined]
            got.append(ctx.get(unit.y))  # type: ignore[attr-defined]

    sim = Simulator(unit)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("storage", FORMATS)
def test_activation_units_at_every_breakpoint(storage: str, act: str) -> None:
    """Sigmoid and tanh alone: every edge of both tables (``tanh(c_new)`` in the MFU cannot
    be steered onto them), and the extremes of the accumulator."""
    dp = datapath(storage, act)
    top = 1 << (dp.acc.bits - 1)
    for function in (SIG, TANH):
        xs = sorted({*edges(SIG, dp), *edges(TANH, dp), -top, top - 1, 0})
        got = run_unit(Activation(function, dp.activation, dp.acc), xs)
        scale = 2.0**dp.acc.frac_bits
        want = activation(function, np.array(xs) / scale, dp.activation, dp.acc) * scale
        assert got == [int(v) for v in np.rint(want)], function


def test_segment_logic_kinds() -> None:
    """pwl16 and lut256 use the shift (power-of-two spacing), lut98 the comparisons."""
    acc = parse_format("q16.16")
    for act, shift in (("pwl16", True), ("lut256", True), ("lut98", False)):
        for function in (SIG, TANH):
            table = activation_table(function, parse_activation(act), acc)
            assert (uniform_step(thresholds(table, acc)) is not None) is shift


def test_exact_activation_is_refused() -> None:
    with pytest.raises(ValueError, match="PWL and LUT"):
        MFU("q16.16", "q8.8", "exact")
    with pytest.raises(ValueError, match="fixed-point"):
        MFU("fp32", "fp16", "pwl16")


def test_ports() -> None:
    with_p = MFU("q16.16", "q8.8", "pwl16")
    without = MFU("q16.16", "q8.8", "lut256", peepholes=False)
    assert {"p_i", "p_f", "p_o"} <= set(with_p.signature.members)
    assert not {"p_i", "p_f", "p_o"} & set(without.signature.members)
    assert with_p.h.shape().width == 16 and with_p.c_new.shape().width == 32
    assert with_p.latency == without.latency == 8


def test_products_are_exact_where_float64_is_not() -> None:
    """q8.24 accumulator: ``f * c_prev`` with ``f`` = sigmoid's top PWL value (code
    16771590) and ``c_prev`` ~ 100 needs 55 bits; the hardware's product is exact and
    rounds once (to nearest even), and so does the functional model (``rnd_mul``; a
    float64 product rounded first gave one unit less: 1677297620)."""
    dp = datapath("q4.12", "pwl16")
    frac = dp.acc.frac_bits
    f_code, c_code = 16771590, 1677860267
    assert activation_table(SIG, dp.activation, dp.acc).values[-1] * 2**frac == f_code
    inputs = {"z_i": 0, "z_f": 20 << frac, "z_g": 0, "z_o": 0, "c_prev": c_code}  # g = 0
    got_c, _, _ = simulate(
        MFU(dp.acc, dp.storage, dp.activation, peepholes=False),
        {k: np.array([v]) for k, v in inputs.items()},
    )
    q, r = divmod(f_code * c_code, 1 << frac)
    half = 1 << (frac - 1)
    assert got_c == [q + (r > half or (r == half and q % 2 == 1))] == [1677297621]
    model_c, _ = reference(dp, {k: np.array([v]) for k, v in inputs.items()}, False)
    assert list(model_c) == got_c
