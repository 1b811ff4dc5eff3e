"""E-PUR's multifunctional unit (MFU) in Amaranth: the cell update of one neuron per
cycle, bit-exact with the functional model's fixed-point MFU (``Datapath``'s MFU
methods as ``lstm_steps`` uses them; README, "The datapath, exactly").

Every value is a code of the accumulator format ``acc`` (``qM.N``, worth ``code *
2**-N``), every operation rounded to it (``rnd``: ``rounding.rounded``), sigmoid and tanh
by a LUT or PWL table (``tables.Activation``)::

    i = sigmoid(rnd(z_i + rnd(p_i * c_prev)))     # without peepholes: sigmoid(z_i)
    f = sigmoid(rnd(z_f + rnd(p_f * c_prev)))
    g = tanh(z_g)
    c_new = rnd(rnd(f * c_prev) + rnd(i * g))
    o = sigmoid(rnd(z_o + rnd(p_o * c_new)))       # the new cell state
    h = store(rnd(o * tanh(c_new)))                # store: to the storage format

The pipeline (``MFU.latency`` = 8 cycles, with or without peepholes; one neuron enters
and one leaves per cycle, no stalls), a register after each stage:

0. peepholes of i and f (a multiply and an add);
1. segments of i, f and g, ROM reads;
2. the three PWL/LUT values;
3. ``c_new``;
4. the peephole of o;
5. segments of o and ``tanh(c_new)``, ROM reads;
6. the two values;
7. ``h``.

Inputs presented with ``valid`` in cycle ``t`` give ``c_new`` and ``h`` with
``out_valid`` in cycle ``t + latency``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epur.numerics import (
    ActivationFunction,
    ActivationKind,
    ActivationSpec,
    FormatKind,
    NumberFormat,
    parse_activation,
    parse_format,
)
from epur.rtl.rounding import rounded
from epur.rtl.tables import Activation

__all__ = ["MFU"]


class MFU(wiring.Component):  # type: ignore[misc]
    """The MFU of the module docstring.

    Parameters
    ----------
    acc : NumberFormat or str
        The accumulator format (fixed point ``qM.N``): every input, ``c_new`` and every
        intermediate value.
    storage : NumberFormat or str
        The storage format (fixed point) of ``h``.
    activation : ActivationSpec or str
        ``pwlN`` or ``lutN`` (``exact`` has no hardware: ValueError).
    peepholes : bool
        Whether the cell has peepholes (then the ports ``p_i``, ``p_f``, ``p_o``).

    Ports
    -----
    valid : In(1)
        The inputs of this cycle are a neuron's.
    z_i, z_f, z_g, z_o : In(signed(acc.bits))
        The gate pre-activations.
    c_prev : In(signed(acc.bits))
        The neuron's cell state.
    p_i, p_f, p_o : In(signed(acc.bits))
        Its peephole weights as the accumulator holds them (only with ``peepholes``).
    out_valid : Out(1)
        ``c_new`` and ``h`` are those of the inputs ``latency`` cycles ago.
    c_new : Out(signed(acc.bits))
        The new cell state.
    h : Out(signed(storage.bits))
        The output, in the storage format.
    """

    def __init__(
        self,
        acc: NumberFormat | str,
        storage: NumberFormat | str,
        activation: ActivationSpec | str,
        peepholes: bool = True,
    ) -> None:
        self.acc = parse_format(acc) if isinstance(acc, str) else acc
        self.storage = parse_format(storage) if isinstance(storage, str) else storage
        spec = parse_activation(activation) if isinstance(activation, str) else activation
        for fmt in (self.acc, self.storage):
            if fmt.kind != FormatKind.FIXED:
                raise ValueError(f"the RTL works in fixed-point formats only, not {fmt.name}")
        if spec.kind not in (ActivationKind.PWL, ActivationKind.LUT):
            raise ValueError(
                f"the MFU's hardware supports PWL and LUT activations (pwlN, lutN), not {spec.name}"
            )
        self.activation = spec
        self.peepholes = bool(peepholes)
        word = signed(self.acc.bits)
        ports = {"valid": In(1)}
        ports |= {name: In(word) for name in ("z_i", "z_f", "z_g", "z_o", "c_prev")}
        if self.peepholes:
            ports |= {name: In(word) for name in ("p_i", "p_f", "p_o")}
        ports |= {
            "out_valid": Out(1),
            "c_new": Out(word),
            "h": Out(signed(self.storage.bits)),
        }
        super().__init__(ports)

    @property
    def latency(self) -> int:
        """Cycles from a neuron's inputs to its ``c_new`` and ``h``."""
        return 8

    def _mul(self, a: Value, b: Value) -> Value:
        return rounded(a * b, 2 * self.acc.frac_bits, self.acc)

    def _add(self, a: Value, b: Value) -> Value:
        return rounded(a + b, self.acc.frac_bits, self.acc)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        acc, word = self.acc, signed(self.acc.bits)
        sig, tanh = ActivationFunction.SIGMOID, ActivationFunction.TANH
        units = {
            name: Activation(function, self.activation, acc)
            for name, function in (("i", sig), ("f", sig), ("g", tanh), ("o", sig), ("c", tanh))
        }
        for name, unit in units.items():
            m.submodules[f"act_{name}"] = unit

        def reg(stage: int, name: str, value: Value, shape: object = word) -> Signal:
            r = Signal(shape, name=f"s{stage}_{name}")
            m.d.sync += r.eq(value)
            return r

        valid = [Signal(name="s0_valid")]
        m.d.comb += valid[0].eq(self.valid)
        for stage in range(1, self.latency):
            valid.append(reg(stage, "valid", valid[-1], 1))
        m.d.sync += self.out_valid.eq(valid[-1])

        # 0: peepholes of i and f
        c = self.c_prev
        if self.peepholes:
            xi = self._add(self.z_i, self._mul(self.p_i, c))
            xf = self._add(self.z_f, self._mul(self.p_f, c))
        else:
            xi, xf = self.z_i, self.z_f
        xi1, xf1, zg1 = reg(1, "xi", xi), reg(1, "xf", xf), reg(1, "zg", self.z_g)
        zo1, c1 = reg(1, "zo", self.z_o), reg(1, "c", c)
        po1 = reg(1, "po", self.p_o) if self.peepholes else None
        # 1: segments, ROM reads
        m.d.comb += [units["i"].x.eq(xi1), units["f"].x.eq(xf1), units["g"].x.eq(zg1)]
        zo2, c2 = reg(2, "zo", zo1), reg(2, "c", c1)
        po2 = reg(2, "po", po1) if po1 is not None else None
        # 2: i, f, g
        i3, f3, g3 = reg(3, "i", units["i"].y), reg(3, "f", units["f"].y), reg(3, "g", units["g"].y)
        zo3, c3 = reg(3, "zo", zo2), reg(3, "c", c2)
        po3 = reg(3, "po", po2) if po2 is not None else None
        # 3: the new cell state
        cn4 = reg(4, "cn", self._add(self._mul(f3, c3), self._mul(i3, g3)))
        zo4 = reg(4, "zo", zo3)
        po4 = reg(4, "po", po3) if po3 is not None else None
        # 4: the peephole of o
        xo = self._add(zo4, self._mul(po4, cn4)) if po4 is not None else zo4
        xo5, cn5 = reg(5, "xo", xo), reg(5, "cn", cn4)
        # 5: segments, ROM reads
        m.d.comb += [units["o"].x.eq(xo5), units["c"].x.eq(cn5)]
        cn6 = reg(6, "cn", cn5)
        # 6: o, tanh(c_new)
        o7, t7, cn7 = reg(7, "o", units["o"].y), reg(7, "tc", units["c"].y), reg(7, "cn", cn6)
        # 7: h
        h = rounded(self._mul(o7, t7), acc.frac_bits, self.storage)
        m.d.sync += [self.c_new.eq(cn7), self.h.eq(h)]
        return m
