"""A computation unit's dot-product path: the weight and input buffers (``buffers.SyncSRAM``)
streaming one neuron's weight row and the input vector, chunk by chunk, into the ``DPU``.

Cycle count (the timing model's, ``epur.timing``): a dot product of ``K`` elements on
``L`` lanes issues ``n = ceil(K / L)`` chunks, one per cycle, then drains for the DPU's
``latency``: ``n + latency`` cycles. Here a chunk is issued in the cycle its address goes
to the buffers (the first one in the cycle the start is accepted), enters the DPU in the
next one, and the result is on ``done`` ``latency`` cycles after the last chunk entered:
``n + latency`` cycles after the start handshake. Starts are accepted back to back (the
next neuron's first chunk is issued right after this one's last): ``R`` dot products take
``R * n + latency`` cycles, as the timing model's ``rows * ceil(K / L)`` issue cycles plus
one drain.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from epur.numerics import NumberFormat
from epur.rtl.buffers import SyncSRAM
from epur.rtl.dpu import DPU, _check_lanes

__all__ = ["CU"]


class CU(wiring.Component):  # type: ignore[misc]
    """``CU(lanes, storage, acc, psum, k_max, latency=None, w_depth=None, x_depth=None,
    w_init=(), x_init=(), x_single_port=False)``.

    ``lanes``, ``storage``, ``acc``, ``psum``, ``latency``: as the ``DPU``'s; ``k_max``: the
    longest dot product (elements); ``w_depth``, ``x_depth``: the weight and input buffers'
    words (default: one row of ``k_max``, ``ceil(k_max / L)`` words); ``w_init``,
    ``x_init``: their first words, for tests; ``x_single_port``: the input buffer has one
    port (``SyncSRAM``): it reads only in the cycles a chunk is issued, and a write must
    not come in one of them. A buffer word is one chunk:
    ``L`` codes of ``B = storage.bits`` bits, lane ``i`` in bits ``[i*B, (i+1)*B)`` (the
    architecture's default port, ``lanes x storage bits``).

    Ports:

    * ``start`` (in, a stream: ``valid``, ``ready``, ``payload``): one dot product of
      ``payload.k`` elements (``1 <= k <= k_max``) between the weight row at word
      ``payload.w_addr`` and the input vector at word ``payload.x_addr`` (``ceil(k / L)``
      consecutive words each; lanes of the last word at and beyond ``k mod L`` are read
      as zero whatever the buffer holds: the zero padding), the accumulator starting from
      ``payload.init``, a partial-sum code if ``payload.init_psum`` else a bias (an
      accumulator-format code). ``ready`` is high while no chunk of an earlier dot
      product remains to be issued (and ``done`` is not stalled);
    * ``done`` (out, a stream of signed ``acc.bits``): the results in the order of the
      starts. While a result waits (``valid`` without ``ready``) the whole CU stalls;
    * ``wb_w_en``, ``wb_w_addr``, ``wb_w_data``; ``ib_w_en``, ``ib_w_addr``, ``ib_w_data``
      (in): the buffers' write ports, for loading.
    """

    def __init__(
        self,
        lanes: int,
        storage: NumberFormat,
        acc: NumberFormat,
        psum: NumberFormat,
        k_max: int,
        latency: int | None = None,
        w_depth: int | None = None,
        x_depth: int | None = None,
        w_init: Sequence[int] = (),
        x_init: Sequence[int] = (),
        x_single_port: bool = False,
    ) -> None:
        try:
            self.log2_lanes = _check_lanes(lanes)
        except ValueError:
            self._MustUse__silence = True
            raise
        if k_max < 1:
            self._MustUse__silence = True  # refused: no warning that it was never elaborated
            raise ValueError(f"k_max must be at least 1, not {k_max}")
        self.lanes, self.k_max = lanes, k_max
        chunks = -(-k_max // lanes)
        self.dpu = DPU(lanes, storage, acc, psum, latency, max_chunks=chunks)
        self.latency = self.dpu.latency
        width = lanes * storage.bits
        self.wb = SyncSRAM(width, w_depth or chunks, w_init)
        self.ib = SyncSRAM(width, x_depth or chunks, x_init, single_port=x_single_port)
        self.start_layout = data.StructLayout(
            {
                "w_addr": len(self.wb.r_addr),
                "x_addr": len(self.ib.r_addr),
                "k": range(k_max + 1),
                "init": signed(max(acc.bits, psum.bits)),
                "init_psum": 1,
            }
        )
        super().__init__(
            {
                "start": In(stream.Signature(self.start_layout)),
                "done": Out(stream.Signature(signed(acc.bits))),
                "wb_w_en": In(1),
                "wb_w_addr": In(len(self.wb.w_addr)),
                "wb_w_data": In(width),
                "ib_w_en": In(1),
                "ib_w_addr": In(len(self.ib.w_addr)),
                "ib_w_data": In(width),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.dpu = dpu = self.dpu
        m.submodules.wb = wb = self.wb
        m.submodules.ib = ib = self.ib
        lanes, b = self.lanes, self.dpu.storage.bits
        m.d.comb += [
            wb.w_en.eq(self.wb_w_en),
            wb.w_addr.eq(self.wb_w_addr),
            wb.w_data.eq(self.wb_w_data),
            ib.w_en.eq(self.ib_w_en),
            ib.w_addr.eq(self.ib_w_addr),
            ib.w_data.eq(self.ib_w_data),
        ]

        # the whole CU advances unless a result waits on done
        advance = Signal()
        m.d.comb += advance.eq(~dpu.result_valid | self.done.ready)

        # the issuer: the current dot product's next chunk, and how many remain
        remaining = Signal(range(self.dpu.max_chunks + 1))  # chunks left to issue
        w_addr = Signal.like(wb.r_addr)
        x_addr = Signal.like(ib.r_addr)
        tail = Signal(range(lanes + 1))  # valid lanes of the last chunk
        init = Signal.like(dpu.init)
        init_psum = Signal()
        payload = self.start.payload
        k = payload.k
        n = (k + (lanes - 1)) >> self.log2_lanes  # ceil(k / L)
        k_tail = ((k - 1) & (lanes - 1)) + 1  # lanes of the last chunk

        issuing = remaining != 0
        accept = Signal()
        m.d.comb += [
            self.start.ready.eq(~issuing & advance),
            accept.eq(self.start.valid & self.start.ready),
        ]
        # this cycle's chunk: address to the buffers, its control bits one cycle later
        issue = Signal()
        c_first, c_last = Signal(), Signal()
        c_lanes = Signal(range(lanes + 1))
        c_init = Signal.like(dpu.init)
        c_psum = Signal()
        with m.If(accept):
            m.d.comb += [
                wb.r_addr.eq(payload.w_addr),
                ib.r_addr.eq(payload.x_addr),
                issue.eq(1),
                c_first.eq(1),
                c_last.eq(n == 1),
                c_lanes.eq(Mux(n == 1, k_tail, lanes)),
                c_init.eq(payload.init),
                c_psum.eq(payload.init_psum),
            ]
            m.d.sync += [
                remaining.eq(n - 1),
                w_addr.eq(payload.w_addr + 1),
                x_addr.eq(payload.x_addr + 1),
                tail.eq(k_tail),
                init.eq(payload.init),
                init_psum.eq(payload.init_psum),
            ]
        with m.Elif(issuing & advance):
            m.d.comb += [
                wb.r_addr.eq(w_addr),
                ib.r_addr.eq(x_addr),
                issue.eq(1),
                c_last.eq(remaining == 1),
                c_lanes.eq(Mux(remaining == 1, tail, lanes)),
                c_init.eq(init),
                c_psum.eq(init_psum),
            ]
            m.d.sync += [remaining.eq(remaining - 1), w_addr.eq(w_addr + 1), x_addr.eq(x_addr + 1)]
        x_read = advance & issue if ib.single_port else advance  # one port: read only to issue
        m.d.comb += [wb.r_en.eq(advance), ib.r_en.eq(x_read)]

        # the chunk's control bits, aligned with the buffers' data (one cycle later)
        valid, first, last = Signal(), Signal(), Signal()
        n_lanes = Signal.like(c_lanes)
        r_init = Signal.like(dpu.init)
        r_psum = Signal()
        with m.If(advance):
            m.d.sync += [
                valid.eq(issue),
                first.eq(c_first),
                last.eq(c_last),
                n_lanes.eq(c_lanes),
                r_init.eq(c_init),
                r_psum.eq(c_psum),
            ]
        # the zero padding: lanes at and beyond the last chunk's length read as zero
        zero = Const(0, b)
        w_lanes = [Mux(i < n_lanes, wb.r_data[i * b : (i + 1) * b], zero) for i in range(lanes)]
        x_lanes = [Mux(i < n_lanes, ib.r_data[i * b : (i + 1) * b], zero) for i in range(lanes)]
        m.d.comb += [
            dpu.en.eq(advance),
            dpu.valid.eq(valid),
            dpu.first.eq(first),
            dpu.last.eq(last),
            dpu.w.eq(Cat(*w_lanes)),
            dpu.x.eq(Cat(*x_lanes)),
            dpu.init.eq(r_init),
            dpu.init_psum.eq(r_psum),
            self.done.valid.eq(dpu.result_valid),
            self.done.payload.eq(dpu.result),
        ]
        return m
