"""The RTL LSTM layer engine (rtl/engine.py, rtl/issuer.py, rtl/sequencer.py)
co-simulated against the functional and timing models, on random small layers (L = 4
and 16, both dataflows, with and without peepholes, q8.8 and q4.12, pwl16 and lut256,
MWL with one and several tiles, forward and reverse):

* bits: every ``h`` of every step is ``run_network``'s output ``y`` and every ``c`` its
  final cell state of the sequence cut after that step (``c_n`` of a run of ``t + 1``
  steps), code for code;
* cycles, against the timing model on the architecture the engine builds
  (``Case.rtl_arch``: constants beside the MFU, weight fills into a spare bank, main
  memory never in the way; ``simulate(build_schedule(...))``): each dot product takes
  its ``ceil(K/L)`` issue cycles plus the DPU's latency (``test_rtl_cu``); each cell
  update the MFU's latency; the input buffers' writes per CU are the model's; each
  recurrent step, MWL's input phase and the whole layer take the model's cycles, which
  there are its compute, its input-buffer port stalls (the operand writes on the
  buffers' single port) and its drains, with no main-memory stall. The single port is
  checked too: a read and a write in one cycle fail the simulation (``SyncSRAM``).

``EPUR_RTL_FULL=1`` runs 100 random vectors per configuration instead of two (about
21 minutes on one core: 1400 vectors, 1283 s measured). The configurations and the
random layers come from ``tests/layer_cases.py``, which the functional model
(``test_functional_layer_cases``) and the timing model (``test_timing_layer_cases``) are
checked on too: one vector set for all three.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np
import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from epur.arch import ArchConfig  # noqa: E402
from epur.functional.model import run_network  # noqa: E402
from epur.functional.prepared import datapath_of  # noqa: E402
from epur.rtl.engine import CONSTANTS, Engine  # noqa: E402
from epur.rtl.sequencer import Layout, plan_of  # noqa: E402
from epur.schedule import Dataflow, build_schedule  # noqa: E402
from epur.schedule.ir import PhaseKind  # noqa: E402
from epur.timing.model import simulate as timing  # noqa: E402
from epur.workload.weights import LSTMWeights, NetworkWeights  # noqa: E402
from tests.layer_cases import CASES, Case, ident, random_layer  # noqa: E402

pytestmark = pytest.mark.rtl

VECTORS = 100 if os.environ.get("EPUR_RTL_FULL") == "1" else 2


def model_codes(
    case: Case, arch: ArchConfig, w: LSTMWeights, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``h[t, n]`` (storage codes) and ``c[t, n]`` (accumulator codes) of the functional
    model: ``y`` of the whole sequence and ``c_n`` of each sequence cut after step ``t``
    (reverse: started at step ``t``)."""
    f = arch.formats
    s, a = 2.0**f.storage_format.frac_bits, 2.0**f.accumulator_format.frac_bits
    weights = NetworkWeights(((w,),))
    run = run_network(case.network(), weights, {"main": x}, arch, case.dataflow,
                      keep_layers=True, tile_rows=case.tile_rows)  # fmt: skip
    h = np.rint(run.y[:, 0, :] * s).astype(np.int64)
    c = np.zeros((case.t, case.h), dtype=np.int64)
    for t in range(case.t):
        part = x[t:] if case.reverse else x[: t + 1]
        cut = run_network(case.network(len(part)), weights, {"main": part}, arch,
                          case.dataflow, tile_rows=case.tile_rows)  # fmt: skip
        c[t] = np.rint(cut.c_n[0][0, 0] * a)
    assert np.array_equal(np.rint(run.c_n[0][0, 0] * a), c[0 if case.reverse else -1])
    return h, c


def storage_codes(arch: ArchConfig, v: np.ndarray) -> list[Any]:
    dp = datapath_of(arch)
    codes = np.rint(dp.store(v) * 2.0**dp.storage.frac_bits).astype(np.int64)
    return codes.tolist()  # type: ignore[no-any-return]


# ---- the bench ----------------------------------------------------------------------------


class Bench:
    """One engine, loaded and run once per vector in one simulation."""

    def __init__(self, case: Case) -> None:
        self.case, self.arch = case, case.rtl_arch()
        self.schedule = build_schedule(case.network(), self.arch, case.dataflow, case.tile_rows)
        self.plan = plan_of(self.schedule, case.peep)
        self.engine = Engine(self.arch, self.plan)
        self.layout: Layout = self.engine.layout

    def loads(self, w: LSTMWeights, x: np.ndarray) -> dict[str, Any]:
        c, arch, bits = self.case, self.arch, self.engine.storage.bits
        wc, uc = storage_codes(arch, w.w), storage_codes(arch, w.u)
        wb = [
            self.layout.wb_image(wc[g * c.h : (g + 1) * c.h], uc[g * c.h : (g + 1) * c.h], bits)
            for g in range(4)
        ]
        store = self.layout.store_image(storage_codes(arch, x[:, 0, :]), bits)
        consts = [storage_codes(arch, w.b[g * c.h : (g + 1) * c.h]) for g in range(4)]
        if c.peep:
            assert w.peepholes is not None
            consts += storage_codes(arch, w.peepholes)
        return {"wb": wb, "store": store, "consts": consts}

    def run(self, vectors: list[dict[str, Any]], stall: float = 0.0) -> list[dict[str, Any]]:
        """Load and run each vector; per vector, the outputs and the cycles of the events
        the checks need (cycle numbers from the start handshake)."""
        e = self.engine
        cu, ctl, results = e.cus[0], e.issuer, []
        rng = np.random.default_rng(5)

        async def bench(ctx: Any) -> None:
            for v in vectors:
                for addr in range(self.layout.wb_words):
                    ctx.set(e.wb_w_en, 1)
                    ctx.set(e.wb_w_addr, addr)
                    ctx.set(e.wb_w_data, [img[addr] for img in v["wb"]])
                    await ctx.tick()
                ctx.set(e.wb_w_en, 0)
                for addr, word in enumerate(v["store"]):
                    ctx.set(e.x_w_en, 1)
                    ctx.set(e.x_w_addr, addr)
                    ctx.set(e.x_w_data, word)
                    await ctx.tick()
                ctx.set(e.x_w_en, 0)
                for sel, codes in enumerate(v["consts"]):
                    for n, code in enumerate(codes):
                        ctx.set(e.k_w_en, 1)
                        ctx.set(e.k_w_sel, sel)
                        ctx.set(e.k_w_addr, n)
                        ctx.set(e.k_w_data, code)
                        await ctx.tick()
                ctx.set(e.k_w_en, 0)
                got: dict[str, Any] = {"out": [], "starts": [], "dones": [], "z": [], "mfu_in": [],
                                       "mfu_out": [], "out_cycles": [], "writes": []}  # fmt: skip
                ctx.set(e.start.valid, 1)
                cycle = 0
                while not ctx.get(e.start.ready):
                    await ctx.tick()
                await ctx.tick()  # the start handshake: cycle 0
                ctx.set(e.start.valid, 0)
                cycle = 1
                while True:
                    ready = int(rng.random() >= stall)
                    ctx.set(e.out.ready, ready)
                    if ctx.get(cu.start.valid) and ctx.get(cu.start.ready):
                        got["starts"].append(cycle)
                    if ctx.get(cu.done.valid) and ctx.get(cu.done.ready):
                        got["dones"].append(cycle)
                        got["z"].append([ctx.get(u.done.payload) for u in e.cus])
                    if ctx.get(ctl.w_en):
                        got["writes"].append((cycle, ctx.get(ctl.w_rec), ctx.get(ctl.w_word)))
                    if ctx.get(e.mfu.valid):
                        got["mfu_in"].append(cycle)
                    if ctx.get(e.mfu.out_valid):
                        got["mfu_out"].append(cycle)
                    if ready and ctx.get(e.out.valid):
                        p = ctx.get(e.out.payload)
                        got["out"].append((p["t"], p["n"], p["h"], p["c"]))
                        got["out_cycles"].append(cycle)
                    if not ctx.get(e.busy):
                        break
                    await ctx.tick()
                    cycle += 1
                    assert cycle < 200_000
                results.append(got)

        sim = Simulator(e)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()
        return results


# ---- the checks -------------------------------------------------------------------------


def check_bits(case: Case, got: dict[str, Any], h: np.ndarray, c: np.ndarray) -> None:
    seen_h = np.full((case.t, case.h), -(1 << 60))
    seen_c = np.full((case.t, case.h), -(1 << 60))
    for t, n, hv, cv in got["out"]:
        seen_h[t, n], seen_c[t, n] = hv, cv
    assert len(got["out"]) == case.t * case.h
    assert np.array_equal(seen_h, h), f"h differs at {np.argwhere(seen_h != h)[:5].tolist()}"
    assert np.array_equal(seen_c, c), f"c differs at {np.argwhere(seen_c != c)[:5].tolist()}"


def model_cycles(bench: Bench) -> dict[str, Any]:
    """The timing model's counts for the layer and for each of its phases alone."""
    arch, sched = bench.arch, bench.schedule
    (layer,) = timing(sched, arch).layers
    per_phase = {}
    for phase in sched.phases:
        one = type(sched)(sched.network, sched.dataflow, sched.batch, sched.layers,
                          sched.arrays, (phase,), sched.notes)  # fmt: skip
        (counts,) = timing(one, arch).layers
        per_phase[phase.kind] = counts.counts
    return {"layer": layer.counts, "phase": per_phase}


def check_cycles(bench: Bench, got: dict[str, Any]) -> None:
    case = bench.case
    d = bench.engine.latency
    mfu = bench.engine.mfu.latency
    model = model_cycles(bench)
    # each dot product: its chunks plus the DPU latency (test_rtl_cu)
    mwl = case.dataflow == "mwl"
    n_in = -(-case.i // case.lanes)
    n_rec = -(-case.h // case.lanes) if mwl else -(-(case.i + case.h) // case.lanes)
    chunks = ([n_in] * (case.t * case.h) if mwl else []) + [n_rec] * (case.t * case.h)
    starts, dones = got["starts"], got["dones"]
    assert [dn - st for st, dn in zip(starts, dones, strict=True)] == [n + d for n in chunks]
    # each cell update: the MFU's latency
    assert [o - i for i, o in zip(got["mfu_in"], got["mfu_out"], strict=True)] == [mfu] * len(
        got["mfu_in"]
    )
    layer = model["layer"]
    # the operand writes: as many per CU as the model counts in each buffer
    writes = got["writes"]
    assert 4 * len(writes) == layer.input_buffer_writes
    first = writes[0][0]
    assert first == 1  # the cycle after the start handshake
    # each recurrent step: from its first write to the next step's (the last: to its last h)
    rec_first = [cyc for cyc, rec, word in writes if rec and word == 0]
    assert len(rec_first) == case.t
    ends = [*rec_first[1:], got["mfu_out"][-1]]
    steps = [end - s for s, end in zip(rec_first, ends, strict=True)]
    rec = model["phase"][PhaseKind.RECURRENT]
    assert rec.stall_cycles == 0
    assert steps == [rec.cycles // case.t] * case.t
    if mwl:  # phase A: its writes, issue cycles and one drain; phase B starts when it ends
        a = model["phase"][PhaseKind.INPUT]
        assert a.stall_cycles == 0
        assert rec_first[0] - first == a.cycles
    # the whole layer: the model's cycles, which are its compute, its input-buffer port
    # stalls (the writes on the single port) and its drains
    total = got["mfu_out"][-1] - first
    assert total == layer.cycles
    assert layer.stall_cycles == 0
    assert layer.port_stall_cycles == len(writes)
    assert total == layer.compute_cycles + layer.port_stall_cycles + layer.drain_cycles
    assert got["out_cycles"][-1] - got["mfu_out"][-1] == 2  # the FIFO, without stalls


@pytest.mark.parametrize("case", CASES, ids=ident)
def test_engine_is_the_functional_and_timing_models(case: Case) -> None:
    bench = Bench(case)
    rng = np.random.default_rng(zlib.crc32(ident(case).encode()))
    layers = [random_layer(case, rng, wide=v % 2 == 1) for v in range(VECTORS)]
    results = bench.run([bench.loads(w, x) for w, x in layers])
    arch = bench.arch
    for (w, x), got in zip(layers, results, strict=True):
        h, c = model_codes(case, arch, w, x)
        check_bits(case, got, h, c)
        check_cycles(bench, got)


def test_engine_stalled_output_gives_the_same_bits() -> None:
    case = Case(4, "q8.8", "pwl16", "mwl", True, 6, 10, 3)
    bench = Bench(case)
    rng = np.random.default_rng(3)
    w, x = random_layer(case, rng)
    (got,) = bench.run([bench.loads(w, x)], stall=0.7)
    h, c = model_codes(case, bench.arch, w, x)
    check_bits(case, got, h, c)


def test_plan_follows_the_schedule() -> None:
    case = Case(4, "q8.8", "pwl16", "mwl", True, 13, 10, 3, tile_rows=4)
    plan = plan_of(build_schedule(case.network(), case.arch(), "mwl", 4), True)
    assert plan.tiles == ((0, 4), (4, 4), (8, 2))
    assert plan.dataflow == Dataflow.MWL and (plan.inputs, plan.hidden) == (13, 10)
    base = plan_of(build_schedule(case.network(), case.arch(), "baseline"), False)
    assert base.dataflow == Dataflow.BASELINE and base.tiles == ()
    assert len(CONSTANTS) == 7
