"""The compiled fixed-point paths give the numpy datapath's bits: MWL's input phase
(``_integer.input_tile``, ``_fixed_input``) with one or several tiles, partial sums
narrower than the accumulator, 32-bit storage (float64 weights), storage of at most 16 bits
(``_fixed_simd``'s int16 codes), and the int32 sums only where they are exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_functional_recurrence import random_network, same

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional import _integer
from epur.functional.model import run_network
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import random_weights

SETS = [
    format_settings("q8.8"),
    format_settings("q6.10:rna:wrap"),
    ["formats.storage=q8.8:trunc:wrap", "formats.accumulator=q16.16:trunc:wrap",
     "formats.partial_sums=q8.8:rna"],  # partial sums narrower than the accumulator
    ["formats.storage=q26.6", "formats.accumulator=q26.12",
     "formats.partial_sums=q20.12:trunc"],  # 32-bit storage: float64 weights
    ["formats.storage=q4.4:rna", "formats.accumulator=q8.8:rna", "formats.partial_sums=q8.8"],
    ["formats.storage=q4.4", "formats.accumulator=q4.8:wrap",
     "formats.partial_sums=q8.8"],  # sums wrap in the accumulator before the partial sums
]  # fmt: skip


def _arch(sets: list[str], activation: str = "exact", lanes: int = 16) -> Any:
    return apply_overrides(paper_preset(), [*sets, f"mfu.activation={activation}",
                                            f"dpu.lanes={lanes}"])  # fmt: skip


def _compare(
    monkeypatch: pytest.MonkeyPatch,
    net: Network,
    weights: Any,
    x: dict[str, Any],
    a: Any,
    tile_rows: int | None = None,
    lens: Any = None,
) -> list[bool]:
    """Both dataflows, compiled against ``compiled=False`` with numpy's input phase;
    returns what the compiled input tiles answered."""
    answers: list[bool] = []
    original = _integer.input_tile

    def recorded(*args: Any) -> bool:
        answers.append(original(*args))
        return answers[-1]

    for dataflow in ("mwl", "baseline"):
        monkeypatch.setattr(_integer, "input_tile", recorded)
        fast = run_network(net, weights, x, a, dataflow, seq_lens=lens, keep_layers=True,
                           tile_rows=tile_rows)  # fmt: skip
        monkeypatch.setattr(_integer, "input_tile", lambda *args: False)
        slow = run_network(net, weights, x, a, dataflow, seq_lens=lens, keep_layers=True,
                           tile_rows=tile_rows, compiled=False)  # fmt: skip
        same(fast, slow)
    return answers


@pytest.mark.parametrize("seed", range(20))
def test_input_tiles_give_the_bits_of_the_numpy_datapath(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(500 + seed)
    net, t = random_network(rng)
    batch = int(rng.integers(1, 4))
    weights = random_weights(net, rng)
    x = {"main": rng.standard_normal((t, batch, net.stacks[0].layers[0].input_size)) * 2}
    lens = rng.integers(1, t + 1, size=batch) if rng.random() < 0.4 else None
    hidden = min(layer.hidden_size for _, layer in net.layers())
    tile_rows = None if seed % 2 else int(rng.integers(1, hidden + 1))  # several tiles
    a = _arch(SETS[seed % len(SETS)], ["exact", "pwl16", "lut64"][seed % 3], [16, 3, 8][seed % 3])
    answers = _compare(monkeypatch, net, weights, x, a, tile_rows, lens)
    assert any(answers)  # the compiled input phase ran


@pytest.mark.parametrize("sets", [SETS[0], SETS[2]])
def test_sums_beyond_float32_are_summed_in_float64(
    sets: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inputs near 100 and weights near +1/2 on the first half of the columns, near -1/2
    on the second: the partial sums of odd codes pass ``2**24`` units, which float32
    cannot hold (float32 sums would lose low bits), and come back near zero, where the
    activations see every bit; the float64 bound holds: the bits are still numpy's."""
    layers = (LSTMLayer(48, 8, peepholes=True), LSTMLayer(8, 6, projection_size=5))
    net = Network("n", (Stack("main", 6, layers),))
    rng = np.random.default_rng(3)
    weights = random_weights(net, rng)
    for w in weights.layers:
        for wd in w:  # type: ignore[union-attr]
            for m in (wd.w, wd.u):
                sign = np.where(np.arange(m.shape[1]) < m.shape[1] // 2, 1.0, -1.0)
                m[...] = sign * (129 + 2 * rng.integers(0, 8, size=m.shape)) / 256
    x = {"main": 100 + (2 * rng.integers(0, 50, size=(6, 2, 48)) + 1) / 256}
    answers = _compare(monkeypatch, net, weights, x, _arch(sets))
    assert answers[0]  # the first layer's input phase was compiled


@pytest.mark.parametrize("sets", [SETS[2], SETS[5]])
def test_overflowing_sums_are_rounded_to_the_accumulator_first(
    sets: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large weights and inputs: the input phase's sums overflow the accumulator (they
    wrap there), then round to the partial-sum format: numpy's bits."""
    layers = (LSTMLayer(24, 8, bidirectional=True), LSTMLayer(16, 6, peepholes=True))
    net = Network("n", (Stack("main", 5, layers),))
    rng = np.random.default_rng(11)
    weights = random_weights(net, rng)
    for w in weights.layers:
        for wd in w:  # type: ignore[union-attr]
            wd.w[...] *= 20
    x = {"main": rng.standard_normal((5, 2, 24)) * 30}
    assert any(_compare(monkeypatch, net, weights, x, _arch(sets), tile_rows=3))


def test_the_float32_sums_are_exact_where_they_are_used() -> None:
    """``dot32`` and ``products`` on sums just below ``2**24`` units: exact."""
    from epur.functional._fixed_input import products
    from epur.functional._fixed_math import dot32, dot64

    rng = np.random.default_rng(0)
    k, rows = 13, 37
    w = rng.integers(-255, 256, size=(k, rows)).astype(np.float32)
    v = rng.integers(-4000, 4001, size=(5, k)).astype(np.float32)
    exact = v.astype(np.int64) @ w.astype(np.int64)
    assert np.abs(w).max() * np.abs(v).max() * k < 2**24
    out = np.empty((5, rows), np.float32)
    products(v, w, out)
    assert np.array_equal(out.astype(np.int64), exact)
    for n in range(5):
        acc32 = np.zeros(rows, np.float32)
        dot32(w, v[n], acc32)
        acc64 = np.full(rows, 0.5)
        dot64(w, v[n].astype(np.float64), acc64)
        assert np.array_equal(acc32.astype(np.int64), exact[n])
        assert np.array_equal(acc64, exact[n] + 0.5)


@pytest.mark.parametrize("inputs", [1, 3])
@pytest.mark.parametrize("activation", ["exact", "lut64"])
def test_int16_codes_at_both_ends(
    inputs: int, activation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """q1.15 storage, weights and inputs saturated at -1 and 1 - 2**-15 (the codes -2**15
    and 2**15 - 1): with one input, the first layer's sums are single products up to
    ``2**30`` units, which int32 holds; with three, ``3 * 2**30`` of the same sign, which
    it cannot (past the int16 path's bound: summed in float64). Odd row and column
    counts (the int16 packing's padding), several tiles."""
    layers = (LSTMLayer(inputs, 9, peepholes=True, bidirectional=True), LSTMLayer(18, 5))
    net = Network("n", (Stack("main", 7, layers),))
    rng = np.random.default_rng(5)
    weights = random_weights(net, rng)
    for w in weights.layers:
        for wd in w:  # type: ignore[union-attr]
            wd.w[...] = np.where(rng.random(wd.w.shape) < 0.5, -3.0, 3.0)
    x = {"main": np.where(rng.random((7, 2, inputs)) < 0.5, -5.0, 5.0)}
    x["main"][:3] = -5.0  # every product of the codes -2**15: 2**30
    weights.layers[0][0].w[:3] = -3.0  # type: ignore[index]
    sets = ["formats.storage=q1.15:rna", "formats.accumulator=q2.30",
            "formats.partial_sums=q8.24"]  # fmt: skip
    answers = _compare(monkeypatch, net, weights, x, _arch(sets, activation), tile_rows=4)
    assert answers[0]
