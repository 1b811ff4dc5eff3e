"""One direction of one LSTM layer in hardware: four CUs in lockstep (one per gate i, f,
g, o, each computing one neuron's gate pre-activation per dot product), the MFU, a
partial-sum buffer (MWL) and a sequencer that walks the layer's schedule
(``rtl/sequencer.py``: ``plan_of`` and the buffer ``Layout``).

Operation. Weights, biases, peepholes and the inputs are written into the buffers through
the load ports before ``start``; ``h`` and ``c`` start at zero (``h_{-1}``: the zero ``h``
lanes of the input-buffer image, ``Layout.ib_image``; ``c``: the MFU's ``c_prev`` is zero
at the first step). A ``start`` handshake runs the layer; each neuron's cell update leaves
on ``out`` as ``(t, n, h, c)`` (``h`` a storage code, ``c`` an accumulator code), in the
order the MFU produces them; ``busy`` is high from the start until the last one is taken.

* MWL, phase A: for each tile, step position and row, the four CUs start
  ``W_g[n] . x_t`` from the bias ``b_g[n]``; each result is rounded to the partial-sum
  format into the partial-sum buffer. Phase B starts in the cycle the last partial sum
  arrives (the timing model's end-of-phase drain: the DPU's latency): for each step and
  neuron, ``U_g[n] . h_{t-1}`` from the partial sum, then the MFU.
* Baseline: for each step and neuron, ``[W_g U_g][n] . [x_t h_{t-1}]`` from the bias,
  then the MFU.
* Every ``h`` goes back into the input buffers (all four) as the MFU produces it, into
  the region the next step reads (a word is written when its last lane is produced); the
  next step's first dot product is issued in the cycle the step's last ``h`` leaves the
  MFU (the drain the timing model counts at every step: DPU latency + MFU latency). The
  input buffers return a word written in the same cycle (``CU(x_write_first=True)``),
  which matters only when a row is one chunk (its last ``h`` word is read at once).

Cycles, with ``n_x = ceil(I/L)``, ``n_h = ceil(H/L)``, ``n_xh = ceil((I+H)/L)``, ``D`` the
DPU's latency and ``M`` the MFU's, from the first dot product's issue: the baseline's step
takes ``H n_xh + D + M`` cycles; MWL's phase A ``T H n_x + D`` and each recurrent step
``H n_h + D + M``: the timing model's compute plus drain cycles (``epur.timing``) with the
buffers preloaded. The first dot product is issued the cycle after the ``start``
handshake; an ``(t, n, h, c)`` reaches ``out`` two cycles after it leaves the MFU (the
output FIFO).

Backpressure: ``out`` has a FIFO of ``FIFO_DEPTH`` entries; when it and the MFU hold that
many cell updates, the CUs hold their results (``done.ready`` low) and stop issuing.

The per-row constants (bias, peepholes) sit in a constant store beside the weight
buffers, read in the cycle they are needed (the timing model counts them as weight-buffer
words, at no cycle cost).
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
    * input buffers: ``ib_w_en``, ``ib_w_addr``, ``ib_w_data`` (in): one word into all
      four (``Layout.ib_image``); ignored while ``busy``;
    * constants: ``k_w_en``, ``k_w_sel`` (``CONSTANTS``' index), ``k_w_addr`` (the neuron),
      ``k_w_data`` (a storage code).

    ``cus``, ``mfu``: the units, for test benches.
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
            CU(
                self.lanes,
                self.storage,
                self.acc,
                self.psum,
                k_max,
                arch.dpu.latency_cycles,
                lay.wb_words,
                lay.ib_words,
                x_write_first=True,  # an h written this cycle is read this cycle
            )
            for _ in range(GATES)
        ]
        self.mfu = MFU(self.acc, self.storage, arch.mfu.activation, peepholes=plan.peepholes)
        if arch.mfu.latency_cycles != self.mfu.latency:
            self.mfu._MustUse__silence = True
            for cu in self.cus:
                cu._MustUse__silence = True
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
                "ib_w_en": In(1),
                "ib_w_addr": In(len(self.cus[0].ib.w_addr)),
                "ib_w_data": In(width),
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
        big_t, big_h, big_i = plan.steps, plan.hidden, plan.inputs
        shift = a.frac_bits - s.frac_bits  # a storage code as an accumulator code
        cus, mfu = self.cus, self.mfu
        for g, cu in enumerate(cus):
            m.submodules[f"cu_{'ifgo'[g]}"] = cu
        m.submodules.mfu = mfu

        def to_acc(code: Value) -> Value:
            return code.as_signed() << shift

        # ---- state ---------------------------------------------------------------------
        idle, inp, rec = 0, 1, 2
        phase = Signal(range(3))  # what the issuer does
        res_rec = Signal()  # the results are the recurrence's (else phase A's)
        m.d.comb += [self.busy.eq(phase != idle), self.start.ready.eq(phase == idle)]
        begin = self.start.valid & self.start.ready

        # ---- load ports ----------------------------------------------------------------
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
        # the x lanes of the word [x h] regions share (the baseline, I not a multiple of L)
        straddle = not self.mwl and big_i % lanes != 0
        tails = [Signal(lanes * b, name=f"tail_{r}") for r in range(big_t + 1)]
        if straddle:
            for r, tail in enumerate(tails):
                here = r * lay.region_words + big_i // lanes
                with m.If(self.ib_w_en & ~self.busy & (self.ib_w_addr == here)):
                    m.d.sync += tail.eq(self.ib_w_data)
        h_w_en, h_w_addr = Signal(), Signal.like(self.ib_w_addr)
        h_w_data = Signal.like(self.ib_w_data)
        for cu in cus:
            m.d.comb += [
                cu.ib_w_en.eq(Mux(self.busy, h_w_en, self.ib_w_en)),
                cu.ib_w_addr.eq(Mux(self.busy, h_w_addr, self.ib_w_addr)),
                cu.ib_w_data.eq(Mux(self.busy, h_w_data, self.ib_w_data)),
            ]

        # ---- the partial-sum buffer (MWL) ------------------------------------------------
        pbits = self.psum.bits
        psum = Memory(shape=GATES * pbits, depth=max(2, big_t * big_h), init=[])
        m.submodules.psum = psum
        ps_w = psum.write_port()
        ps_r = psum.read_port(domain="comb")
        ps_value = Mux(ps_w.en & (ps_w.addr == ps_r.addr), ps_w.data, ps_r.data)  # write-first

        # ---- the issuer -------------------------------------------------------------------
        ip = Signal(range(big_t + 1))  # step position
        i_n = Signal(range(big_h + 1))  # neuron
        tile = Signal(range(max(2, len(plan.tiles) + 1)))
        issued_all = Signal()  # the current phase has issued its last dot product
        valid = Signal()
        w_addr, x_addr = (
            Signal.like(cus[0].start.payload.w_addr),
            Signal.like(cus[0].start.payload.x_addr),
        )
        k = Signal.like(cus[0].start.payload.k)
        inits = [Signal.like(cus[0].start.payload.init, name=f"init_{g}") for g in range(GATES)]
        init_psum = Signal()
        fire = Signal()
        m.d.comb += fire.eq(valid & Cat(*(cu.start.ready for cu in cus)).all())
        for g, cu in enumerate(cus):
            m.d.comb += [
                cu.start.valid.eq(valid),
                cu.start.payload.w_addr.eq(w_addr),
                cu.start.payload.x_addr.eq(x_addr),
                cu.start.payload.k.eq(k),
                cu.start.payload.init.eq(inits[g]),
                cu.start.payload.init_psum.eq(init_psum),
            ]
        bias_r = [consts[g].read_port(domain="comb") for g in range(GATES)]
        for port in bias_r:
            m.d.comb += port.addr.eq(i_n)

        # the MFU's output side (below) tells the issuer when a step is complete
        o_p = Signal(range(big_t + 1))  # steps complete
        o_n = Signal(range(big_h + 1))
        last_h = Signal()  # the step's last h leaves the MFU this cycle

        # phase A's results (below) tell the issuer when the recurrence may start
        inputs_in = Signal()  # every partial sum is in the buffer
        last_psum = Signal()  # the last one arrives this cycle

        step_ready = (i_n != 0) | (ip == 0) | (o_p == ip) | ((o_p + 1 == ip) & last_h)
        rec_issue = Signal()
        m.d.comb += rec_issue.eq(
            ((phase == rec) | ((phase == inp) & issued_all & (inputs_in | last_psum)))
            & ~((phase == rec) & issued_all)
            & step_ready
        )

        with m.If(begin):
            m.d.sync += [ip.eq(0), i_n.eq(0), tile.eq(0), issued_all.eq(0)]
            m.d.sync += phase.eq(inp if self.mwl else rec)
        with m.Elif((phase == inp) & ~issued_all):  # MWL phase A
            starts = Array(Const(t0, range(big_h + 1)) for t0, _ in plan.tiles)
            ends = Array(Const(t0 + r - 1, range(big_h + 1)) for t0, r in plan.tiles)
            m.d.comb += [
                valid.eq(1),
                w_addr.eq(i_n * lay.row_words),
                x_addr.eq(ip * lay.region_words),
                k.eq(big_i),
                init_psum.eq(0),
                *(inits[g].eq(to_acc(bias_r[g].data)) for g in range(GATES)),
            ]
            with m.If(fire):
                _next_input_row(m, (i_n, ip, tile), starts, ends, big_t, [issued_all.eq(1)])
        with m.Elif(rec_issue):
            if self.mwl:
                m.d.comb += [
                    ps_r.addr.eq(ip * big_h + i_n),
                    w_addr.eq(lay.u_base + i_n * lay.u_words),
                    x_addr.eq(lay.h_base + ip[0] * lay.u_words),
                    k.eq(big_h),
                    init_psum.eq(1),
                    *(
                        inits[g].eq(ps_value[g * pbits : (g + 1) * pbits].as_signed())
                        for g in range(GATES)
                    ),
                ]
            else:
                m.d.comb += [
                    w_addr.eq(i_n * lay.row_words),
                    x_addr.eq(ip * lay.region_words),
                    k.eq(big_i + big_h),
                    init_psum.eq(0),
                    *(inits[g].eq(to_acc(bias_r[g].data)) for g in range(GATES)),
                ]
            m.d.comb += valid.eq(1)
            with m.If(fire):
                m.d.sync += phase.eq(rec)
                with m.If(phase == inp):
                    m.d.sync += issued_all.eq(0)
                with m.If(i_n != big_h - 1):
                    m.d.sync += i_n.eq(i_n + 1)
                with m.Elif(ip != big_t - 1):
                    m.d.sync += [i_n.eq(0), ip.eq(ip + 1)]
                with m.Else():
                    m.d.sync += issued_all.eq(1)

        # ---- the results ------------------------------------------------------------------
        fifo = SyncFIFOBuffered(width=self.out_layout.size, depth=FIFO_DEPTH)
        m.submodules.fifo = fifo
        in_mfu = Signal(range(mfu.latency + 2))
        credit = Signal()
        m.d.comb += credit.eq(fifo.level + in_mfu < FIFO_DEPTH)
        res_valid = Cat(*(cu.done.valid for cu in cus)).all()
        for cu in cus:
            m.d.comb += cu.done.ready.eq(~res_rec | credit)
        res_fire = res_valid & (~res_rec | credit)

        # phase A: partial sums, in the issuer's order
        r_p = Signal(range(big_t + 1))
        r_n = Signal(range(big_h + 1))
        r_tile = Signal.like(tile)
        if self.mwl:
            starts = Array(Const(t0, range(big_h + 1)) for t0, _ in plan.tiles)
            ends = Array(Const(t0 + r - 1, range(big_h + 1)) for t0, r in plan.tiles)
            m.d.comb += [
                ps_w.addr.eq(r_p * big_h + r_n),
                ps_w.data.eq(
                    Cat(*(rounded(cu.done.payload, a.frac_bits, self.psum) for cu in cus))
                ),
                ps_w.en.eq(res_fire & ~res_rec),
                last_psum.eq(
                    res_fire & ~res_rec & (r_tile == len(plan.tiles) - 1)
                    & (r_p == big_t - 1) & (r_n == ends[r_tile])
                ),
            ]  # fmt: skip
            with m.If(res_fire & ~res_rec):
                _next_input_row(m, (r_n, r_p, r_tile), starts, ends, big_t,
                                [res_rec.eq(1), inputs_in.eq(1)])  # fmt: skip

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

        # the MFU's output: c back, h into the next step's input region, (t, n, h, c) out
        m.d.comb += [
            last_h.eq(mfu.out_valid & (o_n == big_h - 1)),
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
        lane, word = element[:log2] if log2 else Const(0, 1), element >> log2
        hword = Signal(lanes * b)
        first = Array(tails)[o_p + 1] if straddle else Const(0, lanes * b)
        current = Mux(o_n == 0, first, hword)
        merged = Cat(
            *(
                Mux(lane == j, mfu.h.as_unsigned(), current[j * b : (j + 1) * b])
                for j in range(lanes)
            )
        )
        complete = (lane == lanes - 1) | (o_n == big_h - 1)
        if self.mwl:
            region = lay.h_base + (o_p + 1)[0] * lay.u_words
        else:
            region = (o_p + 1) * lay.region_words
        m.d.comb += [
            h_w_en.eq(mfu.out_valid & complete),
            h_w_addr.eq(region + word),
            h_w_data.eq(merged),
        ]
        with m.If(mfu.out_valid):
            m.d.sync += hword.eq(Mux(complete, 0, merged))
            with m.If(o_n != big_h - 1):
                m.d.sync += o_n.eq(o_n + 1)
            with m.Else():
                m.d.sync += [o_n.eq(0), o_p.eq(o_p + 1)]

        # ---- start and end ---------------------------------------------------------------
        with m.If(begin):
            m.d.sync += [
                r_p.eq(0), r_n.eq(0), r_tile.eq(0), res_rec.eq(not self.mwl),
                inputs_in.eq(0), o_p.eq(0), o_n.eq(0),
            ]  # fmt: skip
            if self.mwl:
                m.d.sync += [i_n.eq(plan.tiles[0][0])]
        with m.If((phase == rec) & (o_p == big_t) & (fifo.level == 0)):
            m.d.sync += phase.eq(idle)
        return m


def _next_input_row(
    m: Module,
    position: tuple[Value, Value, Value],
    starts: Array,
    ends: Array,
    steps: int,
    done: list[Any],
) -> None:
    """Advance MWL's input-phase position ``(n, t, tile)`` (a neuron row, a step, a tile;
    ``starts``/``ends``: each tile's first and last row) by one row in the schedule's
    order: the tile's rows, then its next step, then the next tile; after the last row of
    the last tile, back to ``(0, 0, tile)`` with ``done`` (statements) taking effect."""
    n, t, tile = position
    with m.If(n != ends[tile]):
        m.d.sync += n.eq(n + 1)
    with m.Elif(t != steps - 1):
        m.d.sync += [n.eq(starts[tile]), t.eq(t + 1)]
    with m.Elif(tile != len(starts) - 1):
        m.d.sync += [n.eq(starts[tile + 1]), t.eq(0), tile.eq(tile + 1)]
    with m.Else():
        m.d.sync += [*done, n.eq(0), t.eq(0)]
