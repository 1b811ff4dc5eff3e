"""Weights prepared once (functional/prepared.py) give every run the bits of the raw
weights, and are refused for another network or datapath."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.errors import ConfigError
from epur.functional.model import prepare_weights, run_network
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import random_weights


def arch(fmt: str, activation: str = "exact") -> Any:
    return apply_overrides(paper_preset(), [*format_settings(fmt), f"mfu.activation={activation}"])


def network() -> Network:
    return Network("n", (Stack("main", 5, (
        LSTMLayer(20, 24, bidirectional=True, peepholes=True),
        LSTMLayer(48, 18, projection_size=9, peepholes=True),
    )),))  # fmt: skip


def bits(result: Any) -> list[np.ndarray]:
    return [a.view(np.uint64) for a in [*result.layer_outputs, *result.h_n, *result.c_n]]


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16", "q8.8", "int8"])
@pytest.mark.parametrize("dataflow", ["mwl", "baseline"])
def test_prepared_weights_give_the_bits_of_the_raw_weights_run_after_run(
    fmt: str, dataflow: str
) -> None:
    net = network()
    rng = np.random.default_rng(11)
    weights = random_weights(net, rng)
    a = arch(fmt, "pwl16" if fmt == "bf16" else "exact")
    prepared = prepare_weights(net, weights, a)
    for seed in (1, 2):  # the second run starts from the layouts the first one kept
        x = {"main": np.random.default_rng(seed).standard_normal((5, 2, 20))}
        raw = run_network(net, weights, x, a, dataflow, keep_layers=True)
        ready = run_network(net, prepared, x, a, dataflow, keep_layers=True)
        for p, q in zip(bits(raw), bits(ready), strict=True):
            assert np.array_equal(p, q)


def test_prepared_weights_are_refused_for_another_datapath_or_network() -> None:
    net = network()
    weights = random_weights(net, np.random.default_rng(0))
    prepared = prepare_weights(net, weights, arch("fp16"))
    x = {"main": np.zeros((5, 1, 20))}
    with pytest.raises(ConfigError, match="prepared for another network or another datapath"):
        run_network(net, prepared, x, arch("fp32"), "mwl")
    other = Network("n", (Stack("main", 5, (LSTMLayer(20, 24, bidirectional=True),)),))
    with pytest.raises(ConfigError, match="prepare_weights"):
        run_network(other, prepared, x, arch("fp16"), "mwl")


@pytest.mark.parametrize("fmt", ["fp16", "int8"])  # int8 checks W and U by their peaks
@pytest.mark.parametrize(("name", "bad"), [("u", np.nan), ("w", -np.inf), ("b", np.inf)])
def test_preparing_checks_the_weights(fmt: str, name: str, bad: float) -> None:
    net = network()
    weights = random_weights(net, np.random.default_rng(0))
    getattr(weights.layers[1][0], name).flat[3] = bad
    with pytest.raises(ConfigError, match=rf"weights {name} \(direction 0\) hold NaN or Inf"):
        prepare_weights(net, weights, arch(fmt))
