"""The MFU's sigmoid and tanh in hardware: segment logic and ROMs of
``epur.numerics.activation_table`` (its module docstring is the definition).

With ``qM.N`` the accumulator format, ``x`` an accumulator code (worth ``x * 2**-N``) and
``bp_0..bp_n`` the table's float64 breakpoints:

* **segment** ``k(x)``: the number of interior breakpoints ``bp_1..bp_{n-1}`` at most
  ``x * 2**-N``, which is the number of thresholds ``t_j = ceil(bp_j * 2**N)`` (exact
  integers) with ``t_j <= x``. Where the thresholds are evenly spaced by a power of two
  ``2**s`` (checked exactly: ``lut256`` and ``pwl16`` with the default ranges), ``k`` is
  ``clip(((x - t_1) >> s) + 1, 0, n - 1)``; otherwise (``lut98``) it is a count of
  ``n - 1`` comparisons with constants.
* **LUT**: ``y = table[k]``, a ROM of the ``n`` values' codes.
* **PWL**: ROMs of the breakpoints ``x_k``, values ``Y_k`` and slopes ``S_k`` (``k <
  n``), ``y = rnd(Y_k + rnd(S_k * rnd(x - x_k)))`` (``rnd``: ``rounding.rounded`` to the
  accumulator format), ``Y_0`` below ``bp_0`` and ``Y_n`` at or above ``bp_n``.

:class:`Activation` is one such unit: the segment and the ROM addresses from ``x`` in
its cycle, the ROMs read synchronously, ``y`` combinational from the registered ``x``
and the ROM words in the next cycle (latency 1).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from amaranth.hdl import Const, Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from epur.numerics import (
    ActivationFunction,
    ActivationKind,
    ActivationSpec,
    ActivationTable,
    FormatKind,
    NumberFormat,
    activation_table,
)
from epur.rtl.rounding import rounded

__all__ = ["Activation", "codes", "segment", "thresholds", "uniform_step"]


def codes(values: object, fmt: NumberFormat) -> list[int]:
    """The integer codes ``v * 2**N`` of values of the fixed-point ``fmt`` (exact)."""
    out = []
    for v in values:  # type: ignore[attr-defined]
        scaled = Fraction(float(v)) * (1 << fmt.frac_bits)
        if scaled.denominator != 1:
            raise ValueError(f"{float(v)!r} is not a value of {fmt.name}")
        out.append(int(scaled))
    return out


def thresholds(table: ActivationTable, fmt: NumberFormat) -> list[int]:
    """``ceil(bp_j * 2**N)`` of the interior breakpoints ``bp_1..bp_{n-1}``: a code ``x``
    is at or above ``bp_j`` exactly when ``x >= t_j``."""
    scale = 1 << fmt.frac_bits
    return [math.ceil(Fraction(float(b)) * scale) for b in table.breakpoints[1:-1]]


def uniform_step(ts: list[int]) -> int | None:
    """``s`` where the thresholds are ``t_1 + j * 2**s`` (``j = 0..n-2``), else None."""
    if len(ts) < 2:
        return 0 if ts else None
    step = ts[1] - ts[0]
    if step <= 0 or step & (step - 1) or any(b - a != step for a, b in itertools.pairwise(ts)):
        return None
    return step.bit_length() - 1


def segment(x: Value, ts: list[int]) -> Value:
    """The number of thresholds ``ts`` (increasing) at most ``x``: a shift where they are
    evenly spaced by a power of two, else a count of comparisons."""
    n1 = len(ts)  # n - 1
    width = Shape.cast(range(n1 + 1)).width
    s = uniform_step(ts)
    if s is not None:
        d = (x.as_signed() - Const(ts[0])) >> s
        return Mux(d < 0, 0, Mux(d >= n1 - 1, n1, d + 1))[:width]
    count: Value = Const(0, width)
    for t in ts:
        count = count + (x.as_signed() >= Const(t))
    return count[:width]


def _shape_of(values: list[int]) -> Shape:
    return Shape.cast(range(min(*values, -1), max(values) + 1))  # signed


class Activation(wiring.Component):  # type: ignore[misc]
    """Sigmoid or tanh of an accumulator code, as a LUT or PWL ``spec`` defines it.

    Ports: ``x`` (in, the accumulator code) and ``y`` (out, the accumulator code of the
    function of the ``x`` of the previous cycle). Latency 1 (``LATENCY``): ROM words are
    read synchronously in the ``sync`` domain.
    """

    LATENCY = 1

    def __init__(
        self, function: ActivationFunction, spec: ActivationSpec, acc: NumberFormat
    ) -> None:
        if acc.kind != FormatKind.FIXED:
            raise ValueError(f"the RTL works in fixed-point formats only, not {acc.name}")
        if spec.kind not in (ActivationKind.PWL, ActivationKind.LUT):
            raise ValueError(f"the RTL's activations are PWL and LUT (pwlN, lutN), not {spec.name}")
        self.function = ActivationFunction(function)
        self.spec = spec
        self.acc = acc
        self.table = activation_table(self.function, spec, acc)
        super().__init__({"x": In(signed(acc.bits)), "y": Out(signed(acc.bits))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        acc, table, n = self.acc, self.table, self.spec.n
        frac = acc.frac_bits
        k = segment(self.x, thresholds(table, acc))
        values = codes(table.values[:n], acc)  # PWL: Y_0..Y_{n-1}; Y_n is a constant
        m.submodules.values = rom_v = Memory(shape=_shape_of(values), depth=n, init=values)
        read_v = rom_v.read_port()
        m.d.comb += read_v.addr.eq(k)
        if self.spec.kind is ActivationKind.LUT:
            m.d.comb += self.y.eq(read_v.data)
            return m
        starts = codes(table.breakpoints[:-1], acc)
        slopes = codes(table.slopes, acc)
        m.submodules.starts = rom_x = Memory(shape=_shape_of(starts), depth=n, init=starts)
        m.submodules.slopes = rom_s = Memory(shape=_shape_of(slopes), depth=n, init=slopes)
        read_x, read_s = rom_x.read_port(), rom_s.read_port()
        m.d.comb += [read_x.addr.eq(k), read_s.addr.eq(k)]
        x = Signal.like(self.x)  # the x of the ROM words
        m.d.sync += x.eq(self.x)
        lo, hi = (math.ceil(Fraction(float(b)) * (1 << frac)) for b in table.breakpoints[[0, -1]])
        first, last = codes(table.values[[0, -1]], acc)
        offset = rounded(x - read_x.data, frac, acc)
        product = rounded(read_s.data * offset, 2 * frac, acc)
        inside = rounded(read_v.data + product, frac, acc)
        m.d.comb += self.y.eq(Mux(x < lo, first, Mux(x >= hi, last, inside)))
        return m
