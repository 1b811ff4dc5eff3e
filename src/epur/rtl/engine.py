"""One direction of one LSTM layer in hardware: four CUs in lockstep (one per gate i, f,
g, o, each computing one neuron's gate pre-activation per dot product), the MFU, a
partial-sum buffer (MWL) and a sequencer that walks the layer's schedule
(``rtl/sequencer.py``: ``plan_of`` and the buffer ``Layout``).

Operation. Weights, biases, peepholes and the inputs are written in through the load
ports before ``start``: the weights into the CUs' weight buffers, the constants into a
constant store beside them, every step's ``x`` into the input store (the part of the
intermediate memory the engine models, ``Layout.store_image``). ``h`` and ``c`` start at
zero. A ``start`` handshake runs the layer; each neuron's cell update leaves on ``out`` as
``(t, n, h, c)`` (``h`` a storage code, ``c`` an accumulator code), in the order the MFU
produces them; ``busy`` is high from the start until the last one is taken.

The control is ``rtl/issuer.py``'s: each step first writes its operand into the input
buffers, one word per cycle through their single port (a read and a write in one cycle
is an assertion failure in simulation), then issues its dot products back to back:

* MWL, phase A: for each tile and step position, ``x`` from the input store, then the
  four CUs compute ``W_g[n] . x_t`` from the bias ``b_g[n]`` for the tile's rows; each
  result is rounded to the partial-sum format into the partial-sum buffer. Phase B, for
  each step: ``h_{t-1}``, then ``U_g[n] . h_{t-1}`` from the partial sum, then the MFU.
* Baseline: for each step, ``[x_t h_{t-1}]`` (``x`` from the input store, ``h`` from the
  ``h`` buffer, merged in the word they share), then ``[W_g U_g][n] . [x_t h_{t-1}]``
  from the bias, then the MFU.
* Every ``h`` goes into the ``h`` buffer as the MFU produces it, at its place in the
  next step's operand (a word is complete when its last lane is produced); the next
  step's writes start in the cycle the step's last ``h`` leaves the MFU (read through:
  a word completed in that cycle is copied with it).

Cycles, with ``n_x = ceil(I/L)``, ``n_h = ceil(H/L)``, ``n_xh = ceil((I+H)/L)``, ``D`` the
DPU's latency and ``M`` the MFU's, from the cycle after the start handshake: the
baseline's step takes ``n_xh + H n_xh + D + M`` cycles; MWL's phase A
``tiles T (n_x + rows n_x) + D`` and each recurrent step ``n_h + H n_h + D + M``: the
timing model's compute, input-buffer port stall and drain cycles (``epur.timing``) when
nothing else holds the layer back (constants in the MFU, weights preloaded: see
``docs/rtl.md``). An ``(t, n, h, c)`` reaches ``out`` two cycles after it leaves the MFU
(the output FIFO).

Backpressure: ``out`` has a FIFO of ``FIFO_DEPTH`` entries; when it and the MFU hold that
many cell updates, the CUs hold their results (``done.ready`` low) and stop issuing.

The per-row constants (bias, peepholes) are read from the constant store in the cycle
they are needed, as ``options.constants_in_mfu`` has them (not through the weight
buffers' port).
"""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from epur.arch import ArchConfig
from epur.rtl.cu import CU
from epur.rtl.issuer import IDLE, Issuer, next_input_row
from epur.rtl.mfu import MFU
from epur.rtl.rounding import rounded
from epur.rtl.sequencer import Layout, Plan
from epur.schedule.ir import Dataflow

__all__ = ["CONSTANTS", "FIFO_DEPTH", "Engine"]

FIFO_DEPTH = 16
GATES = 4
CONSTANTS = ("b_i", "b_f", "b_g", "b_o", "p_i", "p_f", "p_o")  # k_w_sel: 0 .. 6


class Engine(wiring.Component):  # type: ignore[misc]
    """``Engine(arch, plan)``: the layer engine of the module docstring for ``plan``
    (``sequencer.plan_of``) in ``arch``'s fixed-point formats, lanes, DPU latency and
    activation (``arch.mfu.activation``: pwlN or lutN; ``arch.mfu.latency_cycles`` must
    be the MFU's 8).

    Ports:

    * ``start`` (in, a stream without payload): run the layer (ready while idle);
    * ``out`` (out, a stream of ``{t, n, h, c}``): each neuron's cell update;
    * ``busy`` (out, 1);
    * weight buffers: ``wb_w_en``, ``wb_w_addr``, ``wb_w_data`` (in, an array of 4 words,
      one per gate's CU): the words of ``Layout.wb_image``;
    * the input store: ``x_w_en``, ``x_w_addr``, ``x_w_data`` (in): the words of
      ``Layout.store_image``;
    * constants: ``k_w_en``, ``k_w_sel`` (``CONSTANTS``' index), ``k_w_addr`` (the neuron),
      ``k_w_data`` (a storage code).

    ``cus``, ``mfu``, ``issuer``: the units, for test benches.
    """

    def __init__(self, arch: ArchConfig, plan: Plan) -> None:
        f = arch.formats
        self.storage, self.acc, self.psum = (
            f.storage_format, f.accumulator_format, f.partial_sums_format
        )  # fmt: skip
        self.plan, self.lanes = plan, arch.dpu.lanes
        self.layout = lay = Layout(plan, self.lanes)
        self.mwl = plan.dataflow == Dataflow.MWL
        i, h = plan.inputs, plan.hidden
        if min(h, i, plan.steps) < 1:
            raise ValueError(f"the engine needs I, H, T >= 1, not {i}, {h}, {plan.steps}")
        k_max = max(i, h) if self.mwl else i + h
        self.cus = [
            CU(self.lanes, self.storage, self.acc, self.psum, k_max, arch.dpu.latency_cycles,
               lay.wb_words, lay.ib_words, x_single_port=True)
            for _ in range(GATES)
        ]  # fmt: skip
        self.mfu = MFU(self.acc, self.storage, arch.mfu.activation, peepholes=plan.peepholes)
        self.issuer = Issuer(lay)
        if arch.mfu.latency_cycles != self.mfu.latency:
            units: list[Any] = [self.mfu, self.issuer, *self.cus]
            for unit in units:
                unit._MustUse__silence = True
            raise ValueError(
                f"the RTL MFU's latency is {self.mfu.latency} cycles, "
                f"not mfu.latency_cycles = {arch.mfu.latency_cycles}"
            )
        self.latency = self.cus[0].latency
        width = self.lanes * self.storage.bits
        self.out_layout = data.StructLayout(
            {
                "t": range(max(2, plan.steps)),
                "n": range(max(2, h)),
                "h": signed(self.storage.bits),
                "c": signed(self.acc.bits),
            }
        )
        super().__init__(
            {
                "start": In(stream.Signature(0)),
                "out": Out(stream.Signature(self.out_layout)),
                "busy": Out(1),
                "wb_w_en": In(1),
                "wb_w_addr": In(len(self.cus[0].wb.w_addr)),
                "wb_w_data": In(data.ArrayLayout(width, GATES)),
                "x_w_en": In(1),
                "x_w_addr": In(range(max(2, lay.store_words))),
                "x_w_data": In(width),
                "k_w_en": In(1),
                "k_w_sel": In(range(len(CONSTANTS))),
                "k_w_addr": In(range(max(2, h))),
                "k_w_data": In(signed(self.storage.bits)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        plan, lay, lanes = self.plan, self.layout, self.lanes
        s, a = self.storage, self.acc
        b = s.bits
        big_t, big_h = plan.steps, plan.hidden
        shift = a.frac_bits - s.frac_bits  # a storage code as an accumulator code
        cus, mfu, ctl = self.cus, self.mfu, self.issuer
        for g, cu in enumerate(cus):
            m.submodules[f"cu_{'ifgo'[g]}"] = cu
        m.submodules.mfu = mfu
        m.submodules.issuer = ctl

        def to_acc(code: Value) -> Value:
            return code.as_signed() << shift

        m.d.comb += [self.busy.eq(ctl.phase != IDLE), self.start.ready.eq(ctl.phase == IDLE)]
        m.d.comb += [
            ctl.begin.eq(self.start.valid & self.start.ready),
            ctl.cu_ready.eq(Cat(*(cu.start.ready for cu in cus)).all()),
        ]

        # ---- the stores loaded before the start: weights, constants, inputs -----------------
        for g, cu in enumerate(cus):
            m.d.comb += [
                cu.wb_w_en.eq(self.wb_w_en),
                cu.wb_w_addr.eq(self.wb_w_addr),
                cu.wb_w_data.eq(self.wb_w_data[g]),
            ]
        consts = []
        for k, name in enumerate(CONSTANTS):
            mem = Memory(shape=signed(b), depth=max(2, big_h), init=[])
            m.submodules[f"k_{name}"] = mem
            wr = mem.write_port()
            m.d.comb += [
                wr.en.eq(self.k_w_en & (self.k_w_sel == k)),
                wr.addr.eq(self.k_w_addr),
                wr.data.eq(self.k_w_data),
            ]
            consts.append(mem)
        store = Memory(shape=lanes * b, depth=max(2, lay.store_words), init=[])
        m.submodules.store = store
        st_w = store.write_port()
        st_r = store.read_port(domain="comb")
        m.d.comb += [st_w.en.eq(self.x_w_en & ~self.busy), st_w.addr.eq(self.x_w_addr),
                     st_w.data.eq(self.x_w_data)]  # fmt: skip

        # ---- the h buffer: the next step's h at its place in the operand ----------------
        hbuf = Memory(shape=lanes * b, depth=max(2, lay.operand_words), init=[])
        m.submodules.hbuf = hbuf
        hb_w = hbuf.write_port()
        hb_r = hbuf.read_port(domain="comb")
        hb_value = Mux(hb_w.en & (hb_w.addr == hb_r.addr), hb_w.data, hb_r.data)  # read through

        # ---- the operand writes into the input buffers --------------------------------------
        word, pos = ctl.w_word, ctl.p
        from_store = Mux(word < lay.x_words, st_r.data, 0)
        from_h = Mux(pos == 0, 0, hb_value)  # h_{-1} = 0
        m.d.comb += [st_r.addr.eq(pos * lay.x_words + word), hb_r.addr.eq(word)]
        operand = Mux(ctl.w_rec, from_h if self.mwl else from_store | from_h, from_store)
        for cu in cus:
            m.d.comb += [
                cu.ib_w_en.eq(ctl.w_en),
                cu.ib_w_addr.eq(word),
                cu.ib_w_data.eq(operand),
            ]

        # ---- the dot products -------------------------------------------------------------
        pbits = self.psum.bits
        psum = Memory(shape=GATES * pbits, depth=max(2, big_t * big_h), init=[])
        m.submodules.psum = psum
        ps_w = psum.write_port()
        ps_r = psum.read_port(domain="comb")
        ps_value = Mux(ps_w.en & (ps_w.addr == ps_r.addr), ps_w.data, ps_r.data)  # read through
        bias_r = [consts[g].read_port(domain="comb") for g in range(GATES)]
        for port in bias_r:
            m.d.comb += port.addr.eq(ctl.n)
        m.d.comb += ps_r.addr.eq(pos * big_h + ctl.n)
        from_psum = Signal()
        m.d.comb += from_psum.eq(ctl.rec & self.mwl)
        if self.mwl:  # the row: W's in phase A, U's in the recurrence
            w_addr = Mux(ctl.rec, lay.u_base + ctl.n * lay.u_words, ctl.n * lay.row_words)
            k = Mux(ctl.rec, big_h, plan.inputs)
        else:
            w_addr, k = ctl.n * lay.row_words, Const(plan.inputs + big_h)
        for g, cu in enumerate(cus):
            init_g = Mux(from_psum, ps_value[g * pbits : (g + 1) * pbits].as_signed(),
                         to_acc(bias_r[g].data))  # fmt: skip
            m.d.comb += [
                cu.start.valid.eq(ctl.valid),
                cu.start.payload.w_addr.eq(w_addr),
                cu.start.payload.x_addr.eq(0),
                cu.start.payload.k.eq(k),
                cu.start.payload.init.eq(init_g),
                cu.start.payload.init_psum.eq(from_psum),
            ]

        # ---- the results ------------------------------------------------------------------
        fifo = SyncFIFOBuffered(width=self.out_layout.size, depth=FIFO_DEPTH)
        m.submodules.fifo = fifo
        in_mfu = Signal(range(mfu.latency + 2))
        credit = Signal()
        m.d.comb += credit.eq(fifo.level + in_mfu < FIFO_DEPTH)
        res_rec = Signal()  # the results are the recurrence's (else phase A's)
        res_valid = Cat(*(cu.done.valid for cu in cus)).all()
        for cu in cus:
            m.d.comb += cu.done.ready.eq(~res_rec | credit)
        res_fire = res_valid & (~res_rec | credit)

        # phase A: partial sums, in the issuer's order
        r_p = Signal(range(big_t + 1))
        r_n = Signal(range(big_h + 1))
        r_tile = Signal(range(max(2, len(plan.tiles) + 1)))
        psums_in = Signal()  # every partial sum is in the buffer
        if self.mwl:
            starts = [Const(t0, range(big_h + 1)) for t0, _ in plan.tiles]
            ends = [Const(t0 + r - 1, range(big_h + 1)) for t0, r in plan.tiles]
            m.d.comb += [
                ps_w.addr.eq(r_p * big_h + r_n),
                ps_w.data.eq(
                    Cat(*(rounded(cu.done.payload, a.frac_bits, self.psum) for cu in cus))
                ),
                ps_w.en.eq(res_fire & ~res_rec),
                ctl.psums_in.eq(psums_in),
                ctl.last_psum.eq(
                    res_fire & ~res_rec & (r_tile == len(plan.tiles) - 1)
                    & (r_p == big_t - 1) & (r_n == ends[-1])
                ),
            ]  # fmt: skip
            with m.If(res_fire & ~res_rec):
                next_input_row(m, (r_n, r_p, r_tile), Array(starts), Array(ends), big_t,
                               [res_rec.eq(1), psums_in.eq(1)])  # fmt: skip

        # the recurrence: the MFU, with c_prev and the peepholes of the result's neuron
        c_mem = Memory(shape=signed(a.bits), depth=max(2, big_h), init=[])
        m.submodules.c_mem = c_mem
        c_w = c_mem.write_port()
        c_r = c_mem.read_port(domain="comb")
        m.d.comb += [
            c_r.addr.eq(r_n),
            mfu.valid.eq(res_fire & res_rec),
            mfu.z_i.eq(cus[0].done.payload),
            mfu.z_f.eq(cus[1].done.payload),
            mfu.z_g.eq(cus[2].done.payload),
            mfu.z_o.eq(cus[3].done.payload),
            mfu.c_prev.eq(Mux(r_p == 0, 0, c_r.data)),
        ]
        if plan.peepholes:
            for j, port in enumerate((mfu.p_i, mfu.p_f, mfu.p_o)):
                rd = consts[GATES + j].read_port(domain="comb")
                m.d.comb += [rd.addr.eq(r_n), port.eq(to_acc(rd.data))]
        with m.If(res_fire & res_rec):
            with m.If(r_n != big_h - 1):
                m.d.sync += r_n.eq(r_n + 1)
            with m.Else():
                m.d.sync += [r_n.eq(0), r_p.eq(r_p + 1)]
        m.d.sync += in_mfu.eq(in_mfu + mfu.valid - mfu.out_valid)

        # the MFU's output: c back, h into the h buffer, (t, n, h, c) out
        o_p = Signal(range(big_t + 1))  # steps complete
        o_n = Signal(range(big_h + 1))
        m.d.comb += [
            ctl.h_steps.eq(o_p),
            ctl.last_h.eq(mfu.out_valid & (o_n == big_h - 1)),
            ctl.drained.eq(fifo.level == 0),
            c_w.en.eq(mfu.out_valid),
            c_w.addr.eq(o_n),
            c_w.data.eq(mfu.c_new),
        ]
        t_out = (big_t - 1 - o_p) if plan.reverse else o_p
        record = Signal(self.out_layout)
        m.d.comb += [
            record.t.eq(t_out),
            record.n.eq(o_n),
            record.h.eq(mfu.h),
            record.c.eq(mfu.c_new),
            fifo.w_en.eq(mfu.out_valid),
            fifo.w_data.eq(record.as_value()),
            self.out.valid.eq(fifo.r_rdy),
            self.out.payload.eq(fifo.r_data),
            fifo.r_en.eq(self.out.ready),
        ]
        element = lay.h_offset + o_n
        log2 = lanes.bit_length() - 1
        lane, hw_word = element[:log2] if log2 else Const(0, 1), element >> log2
        hword = Signal(lanes * b)  # the word being assembled (its earlier lanes)
        merged = Cat(
            *(Mux(lane == j, mfu.h.as_unsigned(), hword[j * b : (j + 1) * b]) for j in range(lanes))
        )
        complete = (lane == lanes - 1) | (o_n == big_h - 1)
        m.d.comb += [
            hb_w.en.eq(mfu.out_valid & complete),
            hb_w.addr.eq(hw_word),
            hb_w.data.eq(merged),
        ]
        with m.If(mfu.out_valid):
            m.d.sync += hword.eq(Mux(complete, 0, merged))
            with m.If(o_n != big_h - 1):
                m.d.sync += o_n.eq(o_n + 1)
            with m.Else():
                m.d.sync += [o_n.eq(0), o_p.eq(o_p + 1)]

        # ---- start ------------------------------------------------------------------------
        with m.If(ctl.begin):
            m.d.sync += [
                r_p.eq(0), r_n.eq(0), r_tile.eq(0), res_rec.eq(not self.mwl),
                psums_in.eq(0), o_p.eq(0), o_n.eq(0),
            ]  # fmt: skip
            if self.mwl:
                m.d.sync += r_n.eq(plan.tiles[0][0])
        return m
