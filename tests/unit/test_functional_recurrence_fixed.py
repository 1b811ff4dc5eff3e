"""The compiled fixed-point recurrence (functional/_recurrence_fixed.py) gives the bits of
the numpy datapath (``_steps.lstm_steps``, ``Datapath``) on many random networks, in every
rounding and overflow mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numba import njit
from test_functional_recurrence import arch, compiled_equals_numpy, random_network, same

from epur.functional import _steps
from epur.functional._fixed_math import fmt_tuple, rnd
from epur.functional.model import run_network
from epur.numerics import parse_format, round_to_format
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import random_weights

FORMATS = ["q8.8", "q4.12", "q6.10:trunc", "q6.10:rna", "q8.8:wrap", "q4.12:trunc:wrap",
           "q6.10:rna:wrap", "q4.4"]  # fmt: skip


@pytest.mark.parametrize("seed", range(48))
def test_random_networks_give_the_bits_of_the_numpy_datapath(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    net, t = random_network(rng)
    fmt = FORMATS[seed % len(FORMATS)]
    act = ["exact", "pwl16", "lut64", "exact", "lut256", "pwl8"][seed % 6]
    lanes = [16, 4, 3, 1, 5, 8, 32][seed % 7]
    compiled_equals_numpy(rng, net, t, fmt, act, lanes)


@pytest.mark.parametrize(("fmt", "fallback"), [("q8.8", False), ("q6.10:trunc:wrap", True)])
def test_large_values_and_the_fallback_steps(
    fmt: str, fallback: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large weights and inputs: values saturate or wrap, and the steps whose sum bound
    fails (or whose exact activation is unsure) are numpy's; the bits stay numpy's."""
    calls: list[int] = []
    original = _steps.lstm_steps

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        original(*args, **kwargs)

    layers = (LSTMLayer(8, 12, bidirectional=True, peepholes=True),
              LSTMLayer(24, 10, projection_size=6))  # fmt: skip
    net = Network("n", (Stack("main", 30, layers),))
    rng = np.random.default_rng(7)
    weights = random_weights(net, rng)
    for w in weights.layers:
        for wd in w:  # type: ignore[union-attr]
            wd.u[...] *= 60
            wd.w[...] *= 60
    x = {"main": rng.standard_normal((30, 2, 8)) * 40}
    monkeypatch.setattr(_steps, "lstm_steps", counted)
    for dataflow in ("mwl", "baseline"):
        fast = run_network(net, weights, x, arch(fmt, "exact", 16), dataflow, keep_layers=True)
        slow = run_network(net, weights, x, arch(fmt, "exact", 16), dataflow, keep_layers=True,
                           compiled=False)  # fmt: skip
        same(fast, slow)
    assert bool(calls) == fallback  # the numpy steps ran


@njit
def _rnd_all(x: Any, f: Any) -> Any:  # pragma: no cover - compiled
    out = np.empty_like(x)
    for j in range(x.shape[0]):
        out[j] = rnd(x[j], f)
    return out


ROUNDINGS = ["q4.12", "q4.12:rna", "q4.12:trunc", "q4.12:wrap", "q4.12:rna:wrap",
             "q4.12:trunc:wrap", "q16.16:trunc:wrap"]  # fmt: skip


@pytest.mark.parametrize("fmt", ROUNDINGS)
def test_the_rounding_is_round_to_format(fmt: str) -> None:
    f = parse_format(fmt)
    rng = np.random.default_rng(0)
    ulp = 2.0**-f.frac_bits
    edges = [-0.0, 0.0, 7.99, 8.0, -8.0, 1e9, -1e9]
    x = np.concatenate([rng.standard_normal(2000) * 20, (np.arange(-600, 600) / 2) * ulp,
                        np.arange(-40, 40) / 2 + 0.0, edges])  # fmt: skip
    want = round_to_format(x, f)
    got = _rnd_all(x, fmt_tuple(f))
    assert np.array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
