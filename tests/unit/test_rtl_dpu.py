"""The RTL DPU (rtl/dpu.py) co-simulated against the functional model: every dot product
bit for bit ``Datapath.dot`` (bias or MWL partial sum as the start value, K from 1 to 48,
the last chunk short), its result ``dpu.latency_cycles`` (the timing model's) after the last
chunk, and the adder tree pairing lane 2k with lane 2k+1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from epur.api import format_settings  # noqa: E402
from epur.arch import ArchConfig, apply_overrides, paper_preset  # noqa: E402
from epur.functional.datapath import Operand  # noqa: E402
from epur.functional.prepared import datapath_of  # noqa: E402
from epur.numerics import NumberFormat  # noqa: E402
from epur.rtl.dpu import DPU  # noqa: E402

pytestmark = pytest.mark.rtl

CASES = 110
K_MAX = 48
# (storage, extra overrides): the formats format_settings gives, and a short accumulator
# (products rounded to it) with a finer partial-sum format
FORMATS = {
    "q8.8": (),
    "q4.12": (),
    "q8.8/acc q16.12": ("formats.accumulator=q16.12:rna", "formats.partial_sums=q12.20"),
}


def arch_of(lanes: int, fmt: str) -> ArchConfig:
    storage = fmt.split("/")[0]
    extra = [*format_settings(storage), f"dpu.lanes={lanes}", *FORMATS[fmt]]
    return apply_overrides(paper_preset(), extra)


@dataclass
class Case:
    w: list[int]  # storage codes
    x: list[int]
    init: int  # a code of the accumulator format (bias) or of the partial-sum format
    psum: bool


def codes(rng: np.random.Generator, fmt: NumberFormat, n: int, big: bool = False) -> list[int]:
    """``n`` codes of ``fmt``: of its whole range if ``big``, else of a random magnitude."""
    top = 1 << (fmt.bits - 1 if big else int(rng.integers(1, fmt.bits)))
    return [int(v) for v in rng.integers(-top, top, n)]


def random_cases(arch: ArchConfig, seed: int) -> list[Case]:
    f = arch.formats
    lanes = arch.dpu.lanes
    rng = np.random.default_rng(seed)
    ks = [1, K_MAX, lanes, lanes + 1, 2 * lanes - 1]
    ks += [int(k) for k in rng.integers(1, K_MAX + 1, CASES - len(ks))]
    cases = []
    for i, k in enumerate(ks):
        psum = bool(i % 2)
        init_fmt = f.partial_sums_format if psum else f.accumulator_format
        init = codes(rng, init_fmt, 1)[0] >> int(rng.integers(0, 8))
        big = rng.random() < 0.25  # most of these sums saturate
        w, x = codes(rng, f.storage_format, k, big), codes(rng, f.storage_format, k, big)
        cases.append(Case(w, x, init, psum))
    return cases


def expected(arch: ArchConfig, cases: list[Case]) -> list[int]:
    """The functional model's results, as accumulator-format codes."""
    f = arch.formats
    dp = datapath_of(arch)
    s, a, p = f.storage_format, f.accumulator_format, f.partial_sums_format
    out = []
    for c in cases:
        w = Operand(np.array([c.w], dtype=np.float64) * 2.0**-s.frac_bits)
        v = np.array([c.x], dtype=np.float64) * 2.0**-s.frac_bits
        if c.psum:
            z = dp.dot(w, v, psum=np.array([[c.init * 2.0**-p.frac_bits]]))
        else:
            z = dp.dot(w, v, bias=np.array([c.init * 2.0**-a.frac_bits]))
        code = float(z.ravel()[0]) * 2.0**a.frac_bits
        assert code == int(code)
        out.append(int(code))
    return out


def pack(values: list[int], bits: int) -> int:
    mask = (1 << bits) - 1
    return sum((v & mask) << (i * bits) for i, v in enumerate(values))


def chunks_of(case: Case, lanes: int) -> list[tuple[list[int], list[int]]]:
    k = len(case.w)
    n = -(-k // lanes)
    pad = [0] * (n * lanes - k)
    w, x = case.w + pad, case.x + pad
    return [(w[i * lanes : (i + 1) * lanes], x[i * lanes : (i + 1) * lanes]) for i in range(n)]


def simulate(dpu: DPU, cases: list[Case], gaps: list[int], peek_tree: bool) -> dict[str, list[Any]]:
    """Feed the cases' chunks back to back (``gaps[i]`` idle cycles before case ``i``); the
    results, their cycles, the cycles of each last chunk, and (``peek_tree``) the tree's
    sums in every cycle."""
    bits = dpu.storage.bits
    lanes = dpu.lanes
    got: dict[str, list[Any]] = {"results": [], "result_cycles": [], "last_cycles": [], "tree": []}
    schedule: list[tuple[int, int, int, int, int, int, int] | None] = []
    for case, gap in zip(cases, gaps, strict=True):
        schedule += [None] * gap
        chunks = chunks_of(case, lanes)
        for i, (w, x) in enumerate(chunks):
            first, last = int(i == 0), int(i == len(chunks) - 1)
            schedule.append(
                (pack(w, bits), pack(x, bits), first, last, case.init, int(case.psum), 1)
            )
    schedule += [None] * (dpu.latency + 2)
    sim = Simulator(dpu)  # elaborates the DPU: its tree_sums exist from here on
    tree = dpu.tree_sums

    async def bench(c: Any) -> None:
        for cycle, item in enumerate(schedule):
            if item is None:
                c.set(dpu.valid, 0)
            else:
                w, x, first, last, init, psum, _ = item
                ports = (dpu.w, dpu.x, dpu.first, dpu.last, dpu.init, dpu.init_psum, dpu.valid)
                for sig, val in zip(ports, (w, x, first, last, init, psum, 1), strict=True):
                    c.set(sig, val)
                if last:
                    got["last_cycles"].append(cycle)
            if c.get(dpu.result_valid):
                got["results"].append(c.get(dpu.result))
                got["result_cycles"].append(cycle)
            if peek_tree:
                got["tree"].append([[c.get(s) for s in level] for level in tree])
            await c.tick()

    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    got["schedule"] = schedule
    return got


CONFIGS = [(4, "q8.8"), (16, "q8.8"), (4, "q4.12"), (16, "q4.12"), (4, "q8.8/acc q16.12")]


@pytest.mark.parametrize(("lanes", "fmt"), CONFIGS)
def test_dpu_is_the_functional_model_bit_for_bit_with_the_timing_models_latency(
    lanes: int, fmt: str
) -> None:
    arch = arch_of(lanes, fmt)
    f = arch.formats
    cases = random_cases(arch, seed=lanes * 7 + len(fmt))
    rng = np.random.default_rng(3)
    gaps = [int(g) if rng.random() < 0.2 else 0 for g in rng.integers(1, 4, len(cases))]
    dpu = DPU(lanes, f.storage_format, f.accumulator_format, f.partial_sums_format)
    assert dpu.latency == arch.dpu.latency_cycles
    got = simulate(dpu, cases, gaps, peek_tree=lanes == 16 and fmt == "q8.8")
    assert got["results"] == expected(arch, cases)
    delays = {r - t for r, t in zip(got["result_cycles"], got["last_cycles"], strict=True)}
    assert delays == {arch.dpu.latency_cycles}
    if got["tree"]:
        check_tree(got, lanes)


def check_tree(got: dict[str, list[Any]], lanes: int) -> None:
    """Level ``j`` node ``k`` of the tree, ``j + 1`` cycles after a chunk entered, is the
    sum of lanes ``2k`` and ``2k+1`` of level ``j - 1``: its products, paired in order."""
    checked = 0
    for cycle, item in enumerate(got["schedule"]):
        if item is None:
            continue
        w, x = unpack(item[0], lanes, 16), unpack(item[1], lanes, 16)
        level = [a * b for a, b in zip(w, x, strict=True)]
        for j, seen in enumerate(got["tree"][cycle + 1 : cycle + 1 + lanes.bit_length()]):
            if j:
                level = [level[2 * k] + level[2 * k + 1] for k in range(len(level) // 2)]
            assert seen[j] == level, (cycle, j)
            checked += 1
    assert checked > 100


def unpack(word: int, lanes: int, bits: int) -> list[int]:
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


def test_latency_other_than_the_pipeline_depth() -> None:
    arch = arch_of(4, "q8.8")
    f = arch.formats
    cases = random_cases(arch, seed=5)[:30]
    for latency in (1, 2, 9):
        dpu = DPU(4, f.storage_format, f.accumulator_format, f.partial_sums_format, latency)
        got = simulate(dpu, cases, [0] * len(cases), peek_tree=False)
        assert got["results"] == expected(arch, cases)
        delays = {r - t for r, t in zip(got["result_cycles"], got["last_cycles"], strict=True)}
        assert delays == {latency}


def test_unsupported_lanes_and_formats_are_refused() -> None:
    f = arch_of(4, "q8.8").formats
    s, a, p = f.storage_format, f.accumulator_format, f.partial_sums_format
    for lanes in (0, 3, 12):
        with pytest.raises(ValueError, match="power-of-two"):
            DPU(lanes, s, a, p)
    fp = paper_preset().formats.storage_format
    with pytest.raises(ValueError, match="fixed-point"):
        DPU(4, fp, a, p)
    with pytest.raises(ValueError, match="latency"):
        DPU(4, s, a, p, latency=0)
