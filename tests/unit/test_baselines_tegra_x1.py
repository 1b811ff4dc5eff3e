"""The Tegra X1 roofline: bounds, re-reads of weights that exceed the cache, energy."""

from __future__ import annotations

import pytest

from epur.baselines import TEGRA_X1, roofline
from epur.workload import LSTMLayer, Network, Stack, zoo_network


def test_a_layer_too_big_for_the_cache_rereads_its_weights_every_step() -> None:
    layer = LSTMLayer(512, 512)  # 4 x 512 x 1024 fp16 weights: 4 MiB > 256 KiB
    net = Network("n", (Stack("main", 10, (layer,)),))
    r = roofline(net)
    weights = layer.parameter_count() * 2
    io = (512 + 512) * 2
    assert r.dram_bytes == 10 * (weights + io)
    per_step = max(2 * layer.macs_per_step() / TEGRA_X1.peak_flops,
                   (weights + io) / TEGRA_X1.bandwidth_bytes_per_s)  # fmt: skip
    assert r.latency_s == pytest.approx(10 * per_step)
    assert r.energy_j == pytest.approx(r.latency_s * 10.0)


def test_a_small_layer_stays_in_the_cache() -> None:
    layer = LSTMLayer(16, 16)  # 4 x 16 x 32 fp16 weights: 4 KiB
    r = roofline(Network("n", (Stack("main", 100, (layer,)),)))
    assert r.dram_bytes == layer.parameter_count() * 2 + 100 * (16 + 16) * 2


@pytest.mark.parametrize("name", ["eesen", "gmat", "bysdne", "rldradspr"])
def test_roofline_bounds(name: str) -> None:
    net = zoo_network(name)
    r = roofline(net)
    assert r.latency_s >= 2 * net.macs_per_sequence() / TEGRA_X1.peak_flops
    assert r.latency_s >= r.dram_bytes / TEGRA_X1.bandwidth_bytes_per_s * (1 - 1e-12)
