"""epur.baselines.measure_*: the work counts (hand-counted), the statistics and the step fit,
the RAPL and NVML readers (a fake sysfs, a fake NVML), the platform file, and the PyTorch
network against the float64 reference."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from epur.baselines.measure_energy import nvml_counter, rapl_counter, rapl_delta_uj
from epur.baselines.measure_platform import PlatformFile, fit_fixed_cost, load_platform
from epur.baselines.measure_probe import last_level_cache_bytes
from epur.baselines.measure_work import (
    GemvShape,
    StepFit,
    fit_steps,
    gemv_shapes,
    layer_flops_per_step,
    layer_weight_values,
    network_work,
    shortened,
    time_stats,
)
from epur.baselines.tegra_cudnn import Source, TegraConfig, evaluate_tegra, tegra_scenarios
from epur.errors import ConfigError
from epur.workload import Activation, FCLayer, LSTMLayer, Network, Stack, zoo_network

KWS = Network("kws", (Stack("main", 100, (
    LSTMLayer(40, 128, peepholes=True), LSTMLayer(128, 128, residual=True), FCLayer(128, 12),
)),))  # fmt: skip
SEQ2SEQ = Network("s2s", (
    Stack("encoder", 40, (LSTMLayer(256, 256, bidirectional=True), LSTMLayer(512, 256))),
    Stack("decoder", 30, (LSTMLayer(512, 256), LSTMLayer(512, 256), FCLayer(256, 100)),
          autoregressive=True),
))  # fmt: skip


# --- work counts, each against a hand count --------------------------------------------


def test_flops_per_step_hand_counted() -> None:
    eesen = zoo_network("eesen").stacks[0].layers[0]  # I 120, H 320, bidirectional
    assert layer_flops_per_step(eesen) == 2 * (2 * 4 * 320 * (120 + 320)) == 2_252_800
    rld = zoo_network("rldradspr").stacks[0].layers[0]  # I 80, H 1024, P 512
    assert layer_flops_per_step(rld) == 4_849_664 + 1_048_576  # 8H(I+P) + 2PH
    assert layer_flops_per_step(FCLayer(128, 12)) == 3_072


def test_weight_values_hand_counted() -> None:
    assert layer_weight_values(LSTMLayer(40, 128, peepholes=True)) == 86_016 + 512  # no peepholes
    assert layer_weight_values(LSTMLayer(80, 1024, projection_size=512)) == (
        4096 * 592 + 4096 + 512 * 1024
    )
    assert layer_weight_values(FCLayer(128, 12)) == 12 * 129


def test_network_work_hand_counted() -> None:
    w = network_work(KWS, "fp32")
    assert w.steps == 100
    assert w.flops == 100 * (172_032 + 262_144 + 3_072)
    assert w.weight_bytes_per_step == 4 * (86_528 + 131_584 + 1_548)
    assert w.kernel_steps == 200  # two LSTM directions per step; the FC is a GEMM
    assert network_work(KWS, "bf16").weight_bytes == w.weight_bytes // 2
    s = network_work(SEQ2SEQ, "fp16")
    assert s.steps == 70
    assert s.kernel_steps == 40 * 3 + 30 * 3  # the decoder's FC runs at every step
    with pytest.raises(ConfigError, match="dtype must be one of fp32, fp16, bf16, not 'int8'"):
        network_work(KWS, "int8")


def test_gemv_shapes() -> None:
    assert gemv_shapes(SEQ2SEQ) == (
        GemvShape(1024, 256, 2, 40), GemvShape(1024, 256, 1, 40),  # hoisted: U only
        GemvShape(1024, 768, 1, 30), GemvShape(1024, 768, 1, 30),  # decoder: [W U]
        GemvShape(100, 256, 1, 30),
    )  # fmt: skip
    proj = Network("p", (Stack("m", 5, (LSTMLayer(8, 16, projection_size=4),)),))
    assert gemv_shapes(proj) == (GemvShape(64, 4, 1, 5), GemvShape(4, 16, 1, 5))


def test_shortened_halves_every_stack_rounding_up() -> None:
    assert [s.seq_len for s in shortened(SEQ2SEQ).stacks] == [20, 15]
    one = Network("o", (Stack("m", 1, (LSTMLayer(2, 2),)),))
    assert shortened(one) == one


# --- statistics and the step fit -------------------------------------------------------


def test_time_stats() -> None:
    s = time_stats([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (s.median_s, s.iqr_s, s.min_s, s.max_s) == (3.0, 2.0, 1.0, 5.0)
    assert time_stats([0.5]).iqr_s == 0.0
    with pytest.raises(ValueError, match="at least one"):
        time_stats([])


def test_fit_and_fixed_cost() -> None:
    fit = fit_steps(100, 1.0, 50, 0.6)
    assert fit is not None
    assert fit.slope_s == pytest.approx(0.008)
    assert fit.intercept_s == pytest.approx(0.2)
    assert fit_steps(10, 1.0, 10, 2.0) is None
    assert fit_steps(100, 1.0, 50, 1.2) == StepFit(1.0, 0.0)  # noise: never negative


# --- energy counters ------------------------------------------------------------------


def _domain(root: Path, name: str, energy: int, top: int) -> Path:
    d = root / name
    d.mkdir()
    (d / "energy_uj").write_text(f"{energy}\n")
    (d / "max_energy_range_uj").write_text(f"{top}\n")
    return d


def test_rapl_wraps_and_sums_packages_only(tmp_path: Path) -> None:
    a = _domain(tmp_path, "intel-rapl:0", 999_000, 1_000_000)
    _domain(tmp_path, "intel-rapl:0:0", 5, 1_000_000)  # a sub-domain: inside the package
    b = _domain(tmp_path, "intel-rapl:1", 10, 2_000_000)
    counter = rapl_counter(tmp_path)
    assert counter.read is not None and counter.joules is not None and counter.reason is None
    before = counter.read()
    (a / "energy_uj").write_text("500\n")  # wrapped: 1000 + 1 + 500 uJ
    (b / "energy_uj").write_text("2010\n")  # 2000 uJ
    assert counter.joules(before, counter.read()) == pytest.approx(3501e-6)
    assert rapl_delta_uj(10, 30, 100) == 20
    assert rapl_delta_uj(90, 5, 99) == 15


def test_rapl_says_why_it_cannot_read(tmp_path: Path) -> None:
    assert "no powercap interface" in (rapl_counter(tmp_path / "absent").reason or "")
    assert "no RAPL package domain" in (rapl_counter(tmp_path).reason or "")
    d = _domain(tmp_path, "intel-rapl:0", 1, 10)
    (d / "max_energy_range_uj").write_text("lots")
    assert "cannot read" in (rapl_counter(tmp_path).reason or "")
    if os.geteuid() != 0:  # root reads anything
        (d / "max_energy_range_uj").write_text("10")
        (d / "energy_uj").chmod(0)
        assert "permission denied" in (rapl_counter(tmp_path).reason or "")


class _FakeNvml:
    """NVML as far as the reader uses it: a counter in millijoules."""

    def __init__(self, fail: bool = False) -> None:
        self.mj, self.fail = 1_000, fail

    def nvmlInit(self) -> None:
        if self.fail:
            raise RuntimeError("NVML Shared Library Not Found")

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        if not uuid.startswith("GPU-"):
            raise RuntimeError("Not Found")
        return uuid

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        return self.mj


def test_nvml_counter_reads_millijoules() -> None:
    fake = _FakeNvml()
    counter = nvml_counter(0, lambda: fake)
    assert counter.read is not None and counter.joules is not None
    before = counter.read()
    fake.mj += 2_500
    assert counter.joules(before, counter.read()) == pytest.approx(2.5)
    assert counter.handle == "gpu0"
    assert nvml_counter(0, lambda: fake, uuid="GPU-1234").handle == "GPU-1234"
    assert nvml_counter(3, lambda: fake, uuid="1234").handle == "gpu3"  # unknown: by index


def test_nvml_counter_says_why_it_cannot_read() -> None:
    def missing() -> Any:
        raise ImportError("no pynvml")

    assert "nvidia-ml-py is not installed" in (nvml_counter(0, missing).reason or "")
    failing = nvml_counter(0, lambda: _FakeNvml(fail=True))
    assert failing.read is None
    assert "Library Not Found" in (failing.reason or "")


def test_last_level_cache(tmp_path: Path) -> None:
    for k, (level, size) in enumerate([(1, "48K"), (2, "2048K"), (3, "32M")]):
        (tmp_path / f"index{k}").mkdir()
        (tmp_path / f"index{k}" / "level").write_text(f"{level}\n")
        (tmp_path / f"index{k}" / "size").write_text(f"{size}\n")
    assert last_level_cache_bytes(tmp_path) == 32 * 2**20
    assert last_level_cache_bytes(tmp_path / "absent") is None


# --- the platform file ----------------------------------------------------------------


def _platform(**changes: Any) -> PlatformFile:
    tx1 = tegra_scenarios()["cudnn_measured"]
    fields = tx1.model_dump(exclude={"scenario", "platform"})
    fields |= {"platform": "cpu: test", "date": "2026-12-01T00:00:00+00:00", "network": "kws",
               "batch": 1, "dtype": "fp32", "power_reason": None}  # fmt: skip
    return PlatformFile.model_validate(fields | changes)


def test_platform_file_is_a_tegra_config(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(_platform().model_dump_json(by_alias=True))
    cfg = load_platform(path)
    tx1 = tegra_scenarios()["cudnn_measured"]
    assert cfg.platform == "cpu: test" and cfg.scenario == "measured"
    r, ref = evaluate_tegra(KWS, cfg), evaluate_tegra(KWS, tx1)
    assert r.platform == "cpu: test" and ref.platform == "tegra_x1"
    assert r.latency_s == ref.latency_s  # the same parameters: the same model
    hot = _platform(power_w=120.0)  # no 15 W ceiling off the TX1
    assert hot.config().power_w == 120.0


def test_platform_without_power_needs_an_assumption(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(_platform(power_w=None, power_reason="no powercap").model_dump_json())
    with pytest.raises(ConfigError, match=r"p\.json: power_w is null \(no powercap\)"):
        load_platform(path)
    cfg = load_platform(path, assume_power_w=30.0)
    assert cfg.power_w == 30.0 and cfg.sources["power_w"].status == "assumed"
    with pytest.raises(ConfigError, match="applies to files without a measured power"):
        _platform().config(assume_power_w=3.0)


def test_platform_file_errors_name_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"platform file .*absent\.json: cannot read it"):
        load_platform(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(_platform().model_dump_json().replace('"batch":1', '"batch":0'))
    with pytest.raises(ConfigError, match=r"bad\.json: batch: must be greater than or equal to 1"):
        load_platform(bad)


def test_fixed_cost_makes_the_model_step_time_the_measured_one() -> None:
    p = _platform(step_fixed_s=0.0, gemv_flops_fraction=0.2, gemv_bandwidth_fraction=0.3)
    kernels = sum(c.steps_s for c in evaluate_tegra(KWS, p.config()).layers)
    slower, fixed = fit_fixed_cost(p, KWS, kernels + 0.002)
    assert fixed == pytest.approx(0.002 / 200)  # 200 kernel pairs: 2 layers x 100 steps
    r = evaluate_tegra(KWS, slower.config())
    assert sum(c.steps_s + c.fixed_s for c in r.layers) == pytest.approx(kernels + 0.002)
    faster, fixed = fit_fixed_cost(p, KWS, kernels / 2)  # a fused step beats the kernels
    assert fixed == 0.0
    assert faster.gemv_flops_fraction == pytest.approx(0.4)
    assert faster.gemv_bandwidth_fraction == pytest.approx(0.6)
    r = evaluate_tegra(KWS, faster.config())
    assert sum(c.steps_s for c in r.layers) == pytest.approx(kernels / 2)


def test_tx1_keeps_its_power_ceiling() -> None:
    tx1 = tegra_scenarios()["cudnn_measured"]
    with pytest.raises(ConfigError, match=r"(?s)Tegra X1 config: .*at most 15 W"):
        tx1.replace(power_w=20.0)
    other = tx1.replace(platform="cpu: x", power_w=20.0)
    assert isinstance(other, TegraConfig) and other.power_w == 20.0
    assert Source(status="measured", source="a probe").status == "measured"


# --- the network in PyTorch -----------------------------------------------------------


def test_torch_network_matches_the_float64_reference() -> None:
    torch = pytest.importorskip("torch")
    from epur.baselines.measure_torch import build
    from epur.functional.reference import reference_run
    from epur.workload.weights import random_weights

    net = Network("t", (Stack("main", 6, (
        LSTMLayer(5, 8, bidirectional=True), LSTMLayer(16, 6, projection_size=4, reverse=True),
        LSTMLayer(4, 7, projection_size=4, residual=True),
        FCLayer(4, 3, activation=Activation.TANH),
    )),), batch=2)  # fmt: skip
    weights = random_weights(net, np.random.default_rng(1))
    tn = build(torch, net, weights, torch.device("cpu"), "fp32", 0)
    y = tn.run().double().numpy()
    x = tn.inputs[0].double().numpy()
    ref = reference_run(net, weights, {"main": x})[-1].y
    np.testing.assert_allclose(y, ref, atol=2e-6)


def test_torch_autoregressive_stack_runs_step_by_step() -> None:
    torch = pytest.importorskip("torch")
    from epur.baselines.measure_torch import build

    tiny = Network("d", (Stack("dec", 4, (LSTMLayer(6, 3), LSTMLayer(5, 3)),
                                autoregressive=True),), batch=2)  # fmt: skip
    tn = build(torch, tiny, None, torch.device("cpu"), "fp32", 0)
    assert tn.inputs[0].shape == (1, 2, 3)  # 6 inputs: 3 fed back + 3 fixed features
    extra = tn.extras[0][1]
    assert extra is not None and extra.shape == (1, 2, 2)  # layer 1: 3 from below + 2 features
    assert tuple(tn.run().shape) == (1, 2, 3)


def test_device_and_dtype_errors() -> None:
    torch = pytest.importorskip("torch")
    from epur.baselines.measure_torch import torch_device

    assert torch_device(torch, "cpu", "fp32").type == "cpu"
    with pytest.raises(ConfigError, match="--dtype must be one of fp32, fp16, bf16, not 'fp8'"):
        torch_device(torch, "cpu", "fp8")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="--device cuda needs a CUDA GPU"):
            torch_device(torch, "cuda", "fp32")


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")
def test_cuda_device() -> None:
    import torch

    from epur.baselines.measure_torch import build, torch_device

    dev = torch_device(torch, "cuda", "fp16")
    tn = build(torch, KWS, None, dev, "fp16", 0)
    assert tn.run().device.type == "cuda"
