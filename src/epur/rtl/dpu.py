"""E-PUR's dot-product unit (DPU) for fixed-point formats, bit-exact with
``epur.functional.datapath.Datapath.dot`` and with the pipeline latency of the timing model.

Arithmetic (README, "The datapath, exactly"): per chunk, ``L`` products of storage codes
(exact: ``2N`` fraction bits; rounded to the accumulator format with ``rounded`` only when
the accumulator has fewer than ``2N`` fraction bits, as the functional model rounds them);
a pairwise adder tree (lane ``2k`` + lane ``2k+1``, then pairs of those sums, ...); an
accumulator initialised at the first chunk with the start value (the bias, a code of the
accumulator format, or MWL's partial sum, a code of the partial-sum format), adding the
chunk sums in order. Every sum is exact (guard bits); the value is converted to the
accumulator format (its rounding and overflow mode) once, when it leaves the DPU.

Pipeline: ``1`` multiplier stage, ``log2(L)`` adder-tree levels and ``1`` accumulator stage,
one register each: ``dpu_latency_cycles(L)`` registers. A chunk presented on the inputs
in cycle ``t`` (``valid`` high) is in the accumulator in cycle ``t + latency``; the result of
a dot product whose ``last`` chunk enters in cycle ``t`` is on ``result`` with
``result_valid`` high in cycle ``t + latency``, for that one cycle (while ``en`` is high).
Another ``latency`` than the natural depth ``D = 2 + log2(L)``: a longer one delays the
result by ``latency - D`` more registers; a shorter one (at least 1) leaves adder-tree levels,
then the multiplier stage, without their register.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epur.arch.config import dpu_latency_cycles
from epur.numerics import FormatKind, NumberFormat
from epur.rtl.rounding import rounded

__all__ = ["DPU"]


def _check_lanes(lanes: int) -> int:
    """``log2(lanes)``; a ValueError unless ``lanes`` is a power of two."""
    if not isinstance(lanes, int) or lanes < 1 or lanes & (lanes - 1):
        raise ValueError(
            f"the RTL supports a power-of-two number of lanes (1, 2, 4, 8, 16, ...), not {lanes!r}"
        )
    return lanes.bit_length() - 1


def _check_fixed(*formats: NumberFormat) -> None:
    for fmt in formats:
        if fmt.kind != FormatKind.FIXED:
            raise ValueError(f"the RTL supports fixed-point formats (qM.N) only, not {fmt.name}")


class DPU(wiring.Component):  # type: ignore[misc]
    """The DPU: ``DPU(lanes, storage, acc, psum, latency=None, max_chunks=65536)``.

    ``lanes``: ``L``, a power of two; ``storage``, ``acc``, ``psum``: the fixed-point
    storage, accumulator and partial-sum formats (``NumberFormat``); ``latency``: the
    pipeline latency in cycles (default ``dpu_latency_cycles(L)``, the timing model's);
    ``max_chunks``: the longest dot product in chunks for which the accumulator's guard
    bits keep every sum exact.

    Ports (codes are two's complement; lane ``i`` of a packed chunk is bits
    ``[i*B, (i+1)*B)``, ``B = storage.bits``):

    * ``en`` (in, 1, default 1): the pipeline advances; low, every register holds (a stall);
    * ``valid`` (in, 1): a chunk is on ``w``/``x`` this cycle;
    * ``first``, ``last`` (in, 1): it is the first / the last chunk of a dot product (both
      for a one-chunk dot product);
    * ``w``, ``x`` (in, ``L*B``): the chunk's weight and input codes, packed;
    * ``init`` (in, signed ``max(acc.bits, psum.bits)``): the start value, read with the
      first chunk; ``init_psum`` (in, 1): it is a partial-sum code (MWL's recurrent dot
      product), else an accumulator-format code (the bias);
    * ``result`` (out, signed ``acc.bits``): the dot product, an accumulator-format code;
      ``result_valid`` (out, 1): ``result`` holds one, ``latency`` cycles after its last
      chunk was presented.

    ``tree_sums[j][k]`` (signals, for tests): level ``j`` of the adder tree (``j = 0``: the
    products), node ``k``, exact, ``2N`` fraction bits (or the accumulator's when products
    are rounded).
    """

    def __init__(
        self,
        lanes: int,
        storage: NumberFormat,
        acc: NumberFormat,
        psum: NumberFormat,
        latency: int | None = None,
        max_chunks: int = 1 << 16,
    ) -> None:
        try:
            self.levels = _check_lanes(lanes)
            _check_fixed(storage, acc, psum)
            self.latency = dpu_latency_cycles(lanes) if latency is None else latency
            if not isinstance(self.latency, int) or self.latency < 1:
                raise ValueError(f"the DPU's latency must be at least 1 cycle, not {latency!r}")
            if max_chunks < 1:
                raise ValueError(f"max_chunks must be at least 1, not {max_chunks}")
        except ValueError:
            self._MustUse__silence = True  # refused: no warning that it was never elaborated
            raise
        self.lanes = lanes
        self.storage, self.acc, self.psum = storage, acc, psum
        self.depth = 2 + self.levels  # registers of the natural pipeline
        self.max_chunks = max_chunks
        self.exact_products = acc.frac_bits >= 2 * storage.frac_bits
        self.product_frac = 2 * storage.frac_bits if self.exact_products else acc.frac_bits
        self.frac = max(self.product_frac, acc.frac_bits, psum.frac_bits)  # of the accumulator
        product_bits = 2 * storage.bits if self.exact_products else acc.bits
        sum_bits = product_bits + self.levels + (self.frac - self.product_frac)
        init_bits = max(
            acc.bits + self.frac - acc.frac_bits, psum.bits + self.frac - psum.frac_bits
        )
        self.acc_bits = max(sum_bits + (max_chunks - 1).bit_length(), init_bits) + 2
        bits = storage.bits * lanes
        super().__init__(
            {
                "en": In(1, init=1),
                "valid": In(1),
                "first": In(1),
                "last": In(1),
                "w": In(bits),
                "x": In(bits),
                "init": In(signed(max(acc.bits, psum.bits))),
                "init_psum": In(1),
                "result": Out(signed(acc.bits)),
                "result_valid": Out(1),
            }
        )
        self.tree_sums: list[list[Signal]] = []

    def _registered(self) -> list[bool]:
        """Whether the multiplier stage and each tree level end in a register."""
        stages = 1 + self.levels
        keep = max(0, min(stages, self.latency - 1))  # the accumulator's register is always there
        return [True] * keep + [False] * (stages - keep)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        b = self.storage.bits

        def stage(values: Sequence[Value], registered: bool, name: str) -> list[Signal]:
            out = []
            for i, v in enumerate(values):
                s = Signal(v.shape(), name=f"{name}_{i}")
                if registered:
                    with m.If(self.en):
                        m.d.sync += s.eq(v)
                else:
                    m.d.comb += s.eq(v)
                out.append(s)
            return out

        # start value, aligned to the accumulator's fraction bits, with the control bits
        init_acc = self.init[: self.acc.bits].as_signed() << (self.frac - self.acc.frac_bits)
        init_ps = self.init[: self.psum.bits].as_signed() << (self.frac - self.psum.frac_bits)
        ctl: list[Value] = [
            self.valid,
            self.first,
            self.last,
            Mux(self.init_psum, init_ps, init_acc),
        ]

        registered = self._registered()
        # multiplier stage: exact products (rounded to the accumulator format if it is short)
        prods: list[Value] = []
        for i in range(self.lanes):
            p = self.w[i * b : (i + 1) * b].as_signed() * self.x[i * b : (i + 1) * b].as_signed()
            prods.append(
                p if self.exact_products else rounded(p, 2 * self.storage.frac_bits, self.acc)
            )
        level = stage(prods, registered[0], "prod")
        ctl = stage(ctl, registered[0], "ctl_m")
        self.tree_sums = [level]
        # the pairwise adder tree: lane 2k + lane 2k+1, then pairs of those sums
        for j in range(1, self.levels + 1):
            sums = [level[2 * k] + level[2 * k + 1] for k in range(len(level) // 2)]
            level = stage(sums, registered[j], f"tree{j}")
            ctl = stage(ctl, registered[j], f"ctl_t{j}")
            self.tree_sums.append(level)
        valid, first, last, init = ctl
        chunk = level[0] << (self.frac - self.product_frac)

        # the accumulator: the start value plus the chunk sums in order, exact
        accum = Signal(signed(self.acc_bits))
        done = Signal()
        with m.If(self.en):
            m.d.sync += done.eq(valid & last)
            with m.If(valid):
                m.d.sync += accum.eq(Mux(first, init, accum) + chunk)
        result: Value = rounded(accum, self.frac, self.acc)  # leaving the DPU
        result_valid: Value = done
        for d in range(self.latency - self.depth):  # a longer latency: more registers
            result, result_valid = stage([result, result_valid], True, f"delay{d}")
        m.d.comb += [self.result.eq(result), self.result_valid.eq(result_valid)]
        return m
