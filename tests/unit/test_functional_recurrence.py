"""The compiled recurrence (functional/_recurrence.py) gives the bits of the numpy
datapath (``_steps.lstm_steps``, ``Datapath``) step by step, on many random networks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional import _steps
from epur.functional._recurrence_kernel import _tables
from epur.functional._vmath import sigmoid64
from epur.functional._vmath import unsure as _unsure
from epur.functional.model import run_network
from epur.numerics import ActivationFunction, ActivationKind, parse_activation, parse_format
from epur.numerics.activations import activation, activation_table
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import random_weights


def arch(fmt: str, activation: str, lanes: int) -> Any:
    sets = [*format_settings(fmt), f"mfu.activation={activation}", f"dpu.lanes={lanes}"]
    return apply_overrides(paper_preset(), sets)


def same(a: Any, b: Any) -> None:
    for p, q in zip(
        [*a.layer_outputs, *a.h_n, *a.c_n], [*b.layer_outputs, *b.h_n, *b.c_n], strict=True
    ):
        bits = p.view(np.uint64) == q.view(np.uint64)  # the sign of zero too
        assert np.all(bits | (np.isnan(p) & np.isnan(q)))


def random_network(rng: np.random.Generator) -> tuple[Network, int]:
    t = int(rng.integers(1, 12))
    size = int(rng.integers(1, 20))
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        hidden = int(rng.integers(1, 24))
        proj = int(rng.integers(1, hidden)) if hidden > 1 and rng.random() < 0.3 else None
        out = proj or hidden
        bi = bool(rng.random() < 0.5)
        residual = not bi and out == size and rng.random() < 0.5
        layers.append(
            LSTMLayer(
                size,
                hidden,
                bidirectional=bi,
                peepholes=bool(rng.random() < 0.6),
                projection_size=proj,
                residual=residual,
                reverse=not bi and rng.random() < 0.3,
            )
        )
        size = out * (2 if bi else 1)
    return Network("n", (Stack("main", t, tuple(layers)),)), t


@pytest.mark.parametrize("seed", range(40))
def test_random_networks_give_the_bits_of_the_numpy_datapath(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net, t = random_network(rng)
    fmt = ["fp32", "fp16", "bf16", "int8"][seed % 4]
    act = ["exact", "pwl16", "lut64", "pwl8", "lut1000"][seed % 5]
    lanes = [16, 4, 3, 1, 5, 8, 32, 12, 16][seed % 9]  # 9: every format meets 16 lanes
    compiled_equals_numpy(rng, net, t, fmt, act, lanes)


def compiled_equals_numpy(
    rng: np.random.Generator, net: Network, t: int, fmt: str, act: str, lanes: int
) -> None:
    """Random weights, batch, inputs and sequence lengths: the compiled recurrences give
    the bits of ``run_network(..., compiled=False)`` in both dataflows."""
    batch = int(rng.integers(1, 4))
    weights = random_weights(net, rng)
    x = {"main": rng.standard_normal((t, batch, net.stacks[0].layers[0].input_size)) * 2}
    lens = rng.integers(1, t + 1, size=batch) if rng.random() < 0.4 else None
    for dataflow in ("mwl", "baseline"):
        a = arch(fmt, act, lanes)
        fast = run_network(net, weights, x, a, dataflow, seq_lens=lens, keep_layers=True)
        slow = run_network(net, weights, x, a, dataflow, seq_lens=lens, keep_layers=True,
                           compiled=False)  # fmt: skip
        same(fast, slow)


# a float32 input whose float64 sigmoid, 0x1.b08feafffffeap-1, lies 22 float64 units in the
# last place below the midpoint 0x1.b08febp-1 of two fp32 values (found by scanning the
# float32 inputs from 1.0 upward with the kernel's own check; asserted in the test)
X_NEAR = float.fromhex("0x1.b1db3cp+0")


def test_activations_near_an_fp32_rounding_boundary_are_computed_by_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """C's exp/tanh may differ from numpy's in the last float64 bits: the kernel leaves
    the steps where that could change an fp32 value to ``lstm_steps`` (here every step:
    one input gate's argument is a constant whose sigmoid is next to an fp32 rounding
    boundary), and the bits stay those of numpy."""
    calls = []
    original = _steps.lstm_steps

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(args[2])
        original(*args, **kwargs)

    net = Network("n", (Stack("main", 6, (LSTMLayer(16, 64, bidirectional=True,
                                                    peepholes=True),)),))  # fmt: skip
    rng = np.random.default_rng(3)
    weights = random_weights(net, rng)
    assert _unsure(sigmoid64(X_NEAR))
    x_near = X_NEAR
    for wd in weights.layers[0]:
        wd.w[0], wd.u[0], wd.b[0] = 0.0, 0.0, x_near  # input gate of cell 0: sigmoid(x_near)
        wd.peepholes[0, 0] = 0.0
    x = {"main": rng.standard_normal((6, 1, 16))}
    monkeypatch.setattr(_steps, "lstm_steps", counted)
    fast = run_network(net, weights, x, arch("fp32", "exact", 16), "mwl", keep_layers=True)
    assert len(calls) >= 6  # the fallback ran (every step of both directions)
    slow = run_network(net, weights, x, arch("fp32", "exact", 16), "mwl", keep_layers=True,
                       compiled=False)  # fmt: skip
    same(fast, slow)


def test_the_boundary_check() -> None:
    one, above = 1.0, float(np.nextafter(np.float32(1.0), np.float32(2.0)))
    mid = (one + above) / 2
    assert _unsure(mid) and _unsure(float(np.nextafter(mid, 0.0)))
    assert not _unsure(one) and not _unsure(above) and not _unsure(float("nan"))
    assert not _unsure(one + (above - one) / 4)


def test_int8_sums_beyond_float32_integers_run_in_numpy() -> None:
    """int8 with more than 1040 products per sum: float32 cannot hold every code sum, so
    those layers run step by step in numpy, with the same bits."""
    rng = np.random.default_rng(7)
    net = Network("n", (Stack("main", 3, (LSTMLayer(1100, 4, peepholes=True),)),))
    compiled_equals_numpy(rng, net, 3, "int8", "exact", 16)


@pytest.mark.parametrize("spec", ["lut1000", "lut98", "lut256", "lut3", "pwl16", "pwl64"])
@pytest.mark.parametrize("function", [ActivationFunction.SIGMOID, ActivationFunction.TANH])
def test_table_segments_at_every_breakpoint(spec: str, function: ActivationFunction) -> None:
    """The compiled LUT/PWL guesses a segment from the spacing and corrects it by one
    breakpoint: at each breakpoint (rounded to fp32) and one fp32 step either side,
    where the guess is off when the spacing is no power of two, its values are
    ``activations.activation``'s."""
    act = parse_activation(spec)
    fp32 = parse_format("fp32")
    table = activation_table(function, act, fp32)
    points = table.breakpoints.astype(np.float32)
    x = np.concatenate([points, np.nextafter(points, np.float32(-np.inf)),
                        np.nextafter(points, np.float32(np.inf)),
                        np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32)])  # fmt: skip
    slopes = table.slopes if table.slopes.size else np.zeros(1)
    got = np.empty(x.size)
    _tables(x, 0, x.size, act.kind == ActivationKind.LUT, table.breakpoints, table.values,
            slopes, got, np.empty(x.size, dtype=np.int64))  # fmt: skip
    want = activation(function, x.astype(np.float64), act, fp32)
    assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("fmt", ["fp16", "q8.8", "int8"])
def test_steps_are_reported_within_a_long_recurrence_with_the_same_bits(fmt: str) -> None:
    """``on_steps`` hears of every recurrent step, a few hundred at a time within one
    compiled recurrence (the kernel is called in pieces), and the bits do not change."""
    t = 600
    net = Network("n", (Stack("main", t, (LSTMLayer(5, 6, bidirectional=True,
                                                    peepholes=True),)),))  # fmt: skip
    rng = np.random.default_rng(5)
    weights = random_weights(net, rng)
    x = {"main": rng.standard_normal((t, 1, 5))}
    a = arch(fmt, "exact", 16)
    for dataflow in ("mwl", "baseline"):
        seen: list[int] = []
        reported = run_network(net, weights, x, a, dataflow, keep_layers=True,
                               on_steps=seen.append)  # fmt: skip
        assert sum(seen) == 2 * t and max(seen) <= 256 and len(seen) >= 6
        same(reported, run_network(net, weights, x, a, dataflow, keep_layers=True))


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "int8"])
def test_mwl_input_phase_in_several_tiles(fmt: str) -> None:
    """MWL's input phase in tiles of rows (each written into its rows of the partial
    sums) gives the bits of the numpy datapath."""
    net = Network("n", (Stack("main", 7, (LSTMLayer(20, 10, bidirectional=True,
                                                    peepholes=True),)),))  # fmt: skip
    rng = np.random.default_rng(9)
    weights = random_weights(net, rng)
    x = {"main": rng.standard_normal((7, 2, 20))}
    a = arch(fmt, "exact", 16)
    for tile in (3, 4, 10):
        fast = run_network(net, weights, x, a, "mwl", keep_layers=True, tile_rows=tile)
        slow = run_network(net, weights, x, a, "mwl", keep_layers=True, tile_rows=tile,
                           compiled=False)  # fmt: skip
        same(fast, slow)
