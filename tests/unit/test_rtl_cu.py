"""The RTL computation unit (rtl/cu.py: buffers -> DPU) co-simulated against the functional
and timing models: each dot product bit for bit ``Datapath.dot`` (the padding lanes of the
buffers hold junk, which the zero padding must hide), each one's cycles from its start to
its result the timing model's issue plus drain cycles, back to back as the timing model
counts a group of rows, and the same bits when the result's consumer stalls the CU."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth.hdl import Module  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402

from epur.api import format_settings  # noqa: E402
from epur.arch import ArchConfig, apply_overrides, paper_preset  # noqa: E402
from epur.functional.datapath import Operand  # noqa: E402
from epur.functional.prepared import datapath_of  # noqa: E402
from epur.numerics import NumberFormat  # noqa: E402
from epur.rtl.buffers import SyncSRAM, input_buffer, weight_buffer  # noqa: E402
from epur.rtl.cu import CU  # noqa: E402
from epur.schedule.ir import DotGroup  # noqa: E402
from epur.timing.reference import _Hardware, _PortUse, _run_group, _Tally  # noqa: E402
from epur.timing.result import AccessCycles  # noqa: E402

pytestmark = pytest.mark.rtl

CASES = 110
K_MAX = 48
GROUP, GROUP_K = 8, 37  # the last cases: a group of rows of one length


def arch_of(lanes: int, storage: str) -> ArchConfig:
    return apply_overrides(paper_preset(), [*format_settings(storage), f"dpu.lanes={lanes}"])


def timing_cycles(arch: ArchConfig, k: int, rows: int = 1) -> int:
    """The timing model's cycles for ``rows`` dot products of ``k`` elements issued back
    to back on each CU: the reference model's issue cycles of the group, plus its drain
    (the DPU's latency, as MWL's input phase builds its group: schedule/mwl.py)."""
    cus = arch.compute_units
    group = DotGroup("input", (rows,) * cus, k, (0,) * cus, arch.dpu.latency_cycles)
    hw = _Hardware.of(arch, 1, AccessCycles())
    issue = _run_group(group, True, hw, _Tally(), _PortUse([0] * cus, [0] * cus, [0] * cus))
    return issue + group.drain_cycles


def codes(rng: np.random.Generator, fmt: NumberFormat, n: int, big: bool) -> list[int]:
    top = 1 << (fmt.bits - 1 if big else int(rng.integers(1, fmt.bits)))
    return [int(v) for v in rng.integers(-top, top, n)]


def pack(values: list[int], bits: int) -> int:
    mask = (1 << bits) - 1
    return sum((v & mask) << (i * bits) for i, v in enumerate(values))


class Bench:
    """Random dot products laid out in a weight and an input buffer (row ``i`` at words
    ``addr[i]`` to ``addr[i] + n_i - 1`` of both; the lanes past ``k_i`` hold random junk)."""

    def __init__(self, arch: ArchConfig, seed: int) -> None:
        f = arch.formats
        self.arch, self.lanes = arch, arch.dpu.lanes
        self.s, self.a, self.p = f.storage_format, f.accumulator_format, f.partial_sums_format
        rng = np.random.default_rng(seed)
        lanes, bits = self.lanes, self.s.bits
        ks = [1, K_MAX, lanes, lanes + 1, 2 * lanes - 1]
        ks += [int(k) for k in rng.integers(1, K_MAX + 1, CASES - len(ks) - GROUP)]
        self.ks = ks + [GROUP_K] * GROUP
        self.w: list[list[int]] = []
        self.x: list[list[int]] = []
        self.inits: list[int] = []
        self.psums: list[bool] = []
        self.addr: list[int] = []
        self.w_words: list[int] = []
        self.x_words: list[int] = []
        for i, k in enumerate(self.ks):
            big = rng.random() < 0.25
            n = -(-k // lanes)
            w, x = codes(rng, self.s, k, big), codes(rng, self.s, k, big)
            junk_w, junk_x = (
                codes(rng, self.s, n * lanes - k, True),
                codes(rng, self.s, n * lanes - k, True),
            )
            self.addr.append(len(self.w_words))
            wp, xp = w + junk_w, x + junk_x
            self.w_words += [pack(wp[j * lanes : (j + 1) * lanes], bits) for j in range(n)]
            self.x_words += [pack(xp[j * lanes : (j + 1) * lanes], bits) for j in range(n)]
            self.w.append(w)
            self.x.append(x)
            psum = bool(i % 2)
            init_fmt = self.p if psum else self.a
            self.inits.append(codes(rng, init_fmt, 1, False)[0])
            self.psums.append(psum)

    def expected(self) -> list[int]:
        dp = datapath_of(self.arch)
        s, a, p = self.s, self.a, self.p
        out = []
        for w, x, init, psum in zip(self.w, self.x, self.inits, self.psums, strict=True):
            op = Operand(np.array([w], dtype=np.float64) * 2.0**-s.frac_bits)
            v = np.array([x], dtype=np.float64) * 2.0**-s.frac_bits
            if psum:
                z = dp.dot(op, v, psum=np.array([[init * 2.0**-p.frac_bits]]))
            else:
                z = dp.dot(op, v, bias=np.array([init * 2.0**-a.frac_bits]))
            out.append(int(float(z.ravel()[0]) * 2.0**a.frac_bits))
        return out

    def cu(self) -> CU:
        depth = len(self.w_words)
        return CU(self.lanes, self.s, self.a, self.p, K_MAX, None, depth, depth,
                  self.w_words, self.x_words)  # fmt: skip

    def run(self, cu: CU, stall: float = 0.0, seed: int = 0) -> dict[str, list[int]]:
        """Start every dot product as soon as the CU takes it; ``done.ready`` low in a
        fraction ``stall`` of the cycles. The results, and the cycles of each start's
        handshake and of each result's."""
        rng = np.random.default_rng(seed)
        got: dict[str, list[int]] = {"results": [], "starts": [], "dones": []}
        n = len(self.ks)

        async def bench(c: Any) -> None:
            i = cycle = 0
            while len(got["results"]) < n:
                if i < n:
                    c.set(cu.start.valid, 1)
                    c.set(cu.start.payload, {"w_addr": self.addr[i], "x_addr": self.addr[i],
                                             "k": self.ks[i], "init": self.inits[i],
                                             "init_psum": int(self.psums[i])})  # fmt: skip
                else:
                    c.set(cu.start.valid, 0)
                ready = int(rng.random() >= stall)
                c.set(cu.done.ready, ready)
                if i < n and c.get(cu.start.ready):
                    got["starts"].append(cycle)
                    i += 1
                if ready and c.get(cu.done.valid):
                    got["results"].append(c.get(cu.done.payload))
                    got["dones"].append(cycle)
                await c.tick()
                cycle += 1
                assert cycle < 100_000

        sim = Simulator(cu)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()
        return got


@pytest.mark.parametrize("storage", ["q8.8", "q4.12"])
@pytest.mark.parametrize("lanes", [4, 16])
def test_cu_results_and_cycles_are_the_models(lanes: int, storage: str) -> None:
    arch = arch_of(lanes, storage)
    bench = Bench(arch, seed=lanes + len(storage))
    cu = bench.cu()
    assert cu.latency == arch.dpu.latency_cycles
    got = bench.run(cu)
    assert got["results"] == bench.expected()
    # each dot product: start handshake to result, the timing model's cycles
    spans = [d - s for s, d in zip(got["starts"], got["dones"], strict=True)]
    assert spans == [timing_cycles(arch, k) for k in bench.ks]
    # back to back, as the timing model issues a group of rows and drains once
    drain = arch.dpu.latency_cycles
    issue = [timing_cycles(arch, k) - drain for k in bench.ks]
    assert got["dones"][-1] - got["starts"][0] == sum(issue) + drain
    # the last GROUP dot products, of one length: the timing model's group of GROUP rows
    assert got["dones"][-1] - got["starts"][-GROUP] == timing_cycles(arch, GROUP_K, GROUP)


def test_cu_stalled_by_its_consumer_gives_the_same_bits() -> None:
    arch = arch_of(4, "q8.8")
    bench = Bench(arch, seed=11)
    got = bench.run(bench.cu(), stall=0.4, seed=1)
    assert got["results"] == bench.expected()


def test_buffers_read_one_cycle_after_the_address_and_load_through_the_write_port() -> None:
    arch = arch_of(16, "q8.8")
    wb = weight_buffer(arch, depth=8, init=[5, 6])
    assert wb.width == arch.port_bits(arch.weight_buffer) == 16 * 16
    ib = input_buffer(arch, depth=4)
    assert ib.width == arch.port_bits(arch.input_buffer)
    seen: list[int] = []

    async def bench(c: Any) -> None:
        c.set(wb.r_addr, 1)
        assert c.get(wb.r_data) == 0  # nothing read yet
        await c.tick()
        seen.append(c.get(wb.r_data))  # word 1, one cycle after its address
        c.set(wb.w_en, 1)
        c.set(wb.w_addr, 1)
        c.set(wb.w_data, (1 << 255) | 9)
        await c.tick()
        seen.append(c.get(wb.r_data))  # read in the write's cycle: the old word
        c.set(wb.w_en, 0)
        await c.tick()
        seen.append(c.get(wb.r_data))  # the new word
        c.set(wb.r_en, 0)
        c.set(wb.r_addr, 0)
        await c.tick()
        seen.append(c.get(wb.r_data))  # r_en low: held

    m = Module()
    m.submodules.wb, m.submodules.ib = wb, ib
    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [6, 6, (1 << 255) | 9, (1 << 255) | 9]
    with pytest.raises(ValueError, match="do not fit"):
        SyncSRAM(8, 2, [1, 2, 3])
