"""The Tegra X1 as cuDNN runs it: hand-worked latencies, hoisting, bounds, scenarios.

Expected numbers are written out from the model's formula (README of
``epur.baselines.tegra_cudnn``) with the published constants typed in here, never taken
from the implementation: 1 TFLOPS FP16, 0.5 TFLOPS FP32, 25.6 GB/s, 256 KiB L2, 5.7 W,
and the fitted fractions 0.75 / 0.387 (GEMM flops / bandwidth) and 0.734 / 0.408 (GEMV).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epur.baselines import (
    DEFAULT_SCENARIO,
    SCENARIOS,
    TegraConfig,
    calibrate_step_fixed_s,
    evaluate_tegra,
    tegra_scenarios,
)
from epur.errors import ConfigError
from epur.workload import FCLayer, LSTMLayer, Network, Stack, zoo_network

BW = 25.6e9
FP16, FP32 = 1.0e12, 0.5e12
GEMM_F, GEMM_B, GEMV_F, GEMV_B = 0.75, 0.387, 0.734, 0.408
WATTS = 5.7


def one_layer(layer: LSTMLayer | FCLayer, steps: int, autoregressive: bool = False) -> Network:
    return Network("n", (Stack("s", steps, (layer,), autoregressive),))


# Network A: LSTM I = H = 128 (G = 4H = 512), T = 1000. Its U (512 x 128) is 128 KiB in fp16
# and 256 KiB in fp32: on chip (<= 256 KiB) in both. Its input GEMM and steady steps are
# compute-bound. Network B: LSTM I = 8, H = 256 (G = 1024), T = 3; U (1024 x 256) never fits.
A = one_layer(LSTMLayer(128, 128), 1000)
B = one_layer(LSTMLayer(8, 256), 3)


def test_floor_by_hand() -> None:
    floor = tegra_scenarios()["floor"]  # fp16 (2 bytes), peak rates, no fixed cost
    # A: GEMM 2*G*I*T flops; bytes 2*(G*I + G + T*(I + G))
    gemm = max(2 * 512 * 128 * 1000 / FP16, 2 * (512 * 128 + 512 + 1000 * (128 + 512)) / BW)
    assert gemm == 2 * 512 * 128 * 1000 / FP16  # compute-bound
    first = max(2 * 512 * 128 / FP16, 2 * (512 * 128 + 128 + 512) / BW)  # reads U once
    rest = max(2 * 512 * 128 / FP16, 2 * (128 + 512) / BW)  # U on chip: compute-bound
    assert rest == 2 * 512 * 128 / FP16
    pointwise = 2 * (2 * 512 + 3 * 128) / BW  # both pre-activations, c, writes c and h
    expected = gemm + first + 999 * rest + 1000 * pointwise
    r = evaluate_tegra(A, floor)
    assert r.latency_s == pytest.approx(expected, rel=1e-12)
    assert r.energy_j == pytest.approx(WATTS * expected, rel=1e-12)
    assert r.real_time_factor is None
    # B: GEMM bandwidth-bound; every step re-reads U (512 KiB > 256 KiB)
    gemm = max(2 * 1024 * 8 * 3 / FP16, 2 * (1024 * 8 + 1024 + 3 * (8 + 1024)) / BW)
    step = max(2 * 1024 * 256 / FP16, 2 * (1024 * 256 + 256 + 1024) / BW)
    pointwise = 2 * (2 * 1024 + 3 * 256) / BW
    r = evaluate_tegra(B, floor)
    assert r.latency_s == pytest.approx(gemm + 3 * (step + pointwise), rel=1e-12)
    assert r.dram_bytes == 2 * (1024 * 8 + 1024 + 3 * (8 + 1024)) + 3 * 2 * (
        1024 * 256 + 256 + 1024 + 2 * 1024 + 3 * 256
    )


def _measured_by_hand(fixed: float) -> tuple[float, float]:
    """A and B in FP32 at the fitted fractions, ``fixed`` seconds per step."""
    gemm = max(2 * 512 * 128 * 1000 / (FP32 * GEMM_F),
               4 * (512 * 128 + 512 + 1000 * (128 + 512)) / (BW * GEMM_B))  # fmt: skip
    assert gemm == 2 * 512 * 128 * 1000 / (FP32 * GEMM_F)
    first = max(2 * 512 * 128 / (FP32 * GEMV_F), 4 * (512 * 128 + 128 + 512) / (BW * GEMV_B))
    rest = max(2 * 512 * 128 / (FP32 * GEMV_F), 4 * (128 + 512) / (BW * GEMV_B))
    assert rest == 2 * 512 * 128 / (FP32 * GEMV_F)
    pointwise = 4 * (2 * 512 + 3 * 128) / (BW * GEMV_B)
    a = gemm + first + 999 * rest + 1000 * (pointwise + fixed)
    gemm = max(2 * 1024 * 8 * 3 / (FP32 * GEMM_F),
               4 * (1024 * 8 + 1024 + 3 * (8 + 1024)) / (BW * GEMM_B))  # fmt: skip
    step = max(2 * 1024 * 256 / (FP32 * GEMV_F), 4 * (1024 * 256 + 256 + 1024) / (BW * GEMV_B))
    pointwise = 4 * (2 * 1024 + 3 * 256) / (BW * GEMV_B)
    b = gemm + 3 * (step + pointwise + fixed)
    return a, b


@pytest.mark.parametrize("scenario", ["cudnn_measured", "paper_calibrated"])
def test_measured_and_calibrated_by_hand(scenario: str) -> None:
    cfg = tegra_scenarios()[scenario]
    fixed = 10e-6 if scenario == "cudnn_measured" else cfg.step_fixed_s
    a, b = _measured_by_hand(fixed)
    assert evaluate_tegra(A, cfg).latency_s == pytest.approx(a, rel=1e-12)
    assert evaluate_tegra(B, cfg).latency_s == pytest.approx(b, rel=1e-12)
    assert evaluate_tegra(B, cfg).energy_j == pytest.approx(WATTS * b, rel=1e-12)


def test_an_fc_layer_is_one_gemm_over_the_sequence() -> None:
    floor = tegra_scenarios()["floor"]
    r = evaluate_tegra(one_layer(FCLayer(64, 10), 50), floor)
    expected = max(2 * 10 * 64 * 50 / FP16, 2 * (10 * 64 + 10 + 50 * (64 + 10)) / BW)
    assert r.latency_s == pytest.approx(expected, rel=1e-12)
    assert r.fixed_steps == 0


def test_an_autoregressive_stack_does_not_hoist_its_input_gemm() -> None:
    floor = tegra_scenarios()["floor"]
    # B autoregressive: every step a GEMV of [W U] and the bias, 1024 x (8 + 256) + 1024
    r = evaluate_tegra(one_layer(LSTMLayer(8, 256), 3, autoregressive=True), floor)
    assert r.layers[0].gemm_s == 0.0
    step = max(2 * 1024 * (8 + 256) / FP16, 2 * (1024 * 264 + 1024 + 8 + 256 + 1024) / BW)
    pointwise = 2 * (1024 + 3 * 256) / BW  # one pre-activation vector
    assert r.latency_s == pytest.approx(3 * (step + pointwise), rel=1e-12)
    hoisted = evaluate_tegra(B, floor)
    assert hoisted.layers[0].gemm_s > 0
    # each of two layers' U fits alone; [W U] of both does not: the stack re-reads every step
    layers = (LSTMLayer(128, 128), LSTMLayer(128, 128))
    ar = Network("n", (Stack("s", 10, layers, autoregressive=True),))
    weights = 2 * 2 * (512 * 256 + 512)
    assert evaluate_tegra(ar, floor).dram_bytes >= 10 * weights
    assert evaluate_tegra(ar.with_known_inputs(), floor).dram_bytes < 2 * weights


def test_gmat_decoder_steps_pay_the_fixed_cost() -> None:
    cfg = tegra_scenarios()["cudnn_measured"]
    gmat = zoo_network("gmat")
    r = evaluate_tegra(gmat, cfg)
    assert r.fixed_steps == sum(
        s.seq_len * sum(layer.directions for layer in s.layers if isinstance(layer, LSTMLayer))
        for s in gmat.stacks
    )
    assert r.latency_s > evaluate_tegra(gmat.with_known_inputs(), cfg).latency_s


def _layer(draw: st.DrawFn, below: int | None) -> LSTMLayer | FCLayer:
    size = st.integers(1, 300)
    extra = draw(st.integers(0, 40))
    inp = draw(size) if below is None else below + extra
    if draw(st.booleans()):
        return FCLayer(inp, draw(size))
    proj = draw(st.none() | size)
    return LSTMLayer(inp, draw(size), bidirectional=draw(st.booleans()),
                     peepholes=draw(st.booleans()), projection_size=proj)  # fmt: skip


@st.composite
def networks(draw: st.DrawFn) -> Network:
    stacks = []
    for s in range(draw(st.integers(1, 2))):
        layers: list[LSTMLayer | FCLayer] = []
        for _ in range(draw(st.integers(1, 3))):
            layers.append(_layer(draw, layers[-1].output_size if layers else None))
        stacks.append(Stack(f"s{s}", draw(st.integers(1, 40)), tuple(layers), draw(st.booleans())))
    period = draw(st.none() | st.just(0.01))
    return Network("h", tuple(stacks), batch=draw(st.integers(1, 4)), frame_period_s=period)


@settings(max_examples=150, deadline=None)
@given(networks())
def test_floor_is_never_below_its_own_bounds(net: Network) -> None:
    scenarios = tegra_scenarios()
    floor = evaluate_tegra(net, scenarios["floor"])
    assert floor.latency_s >= net_bytes_bound(floor.dram_bytes) * (1 - 1e-12)
    assert floor.latency_s >= floor.floor_s * (1 - 1e-12)
    for name in SCENARIOS:
        r = evaluate_tegra(net, scenarios[name])
        assert r.latency_s >= r.floor_s * (1 - 1e-12)
        assert r.latency_s >= floor.latency_s * (1 - 1e-12)  # the floor is the lowest
        assert r.energy_j == pytest.approx(WATTS * r.latency_s)


def net_bytes_bound(nbytes: int) -> float:
    return nbytes / BW


def test_paper_calibrated_misses_real_time_on_eesen_and_rldradspr() -> None:
    cfg = tegra_scenarios()["paper_calibrated"]
    nets = [zoo_network("eesen"), zoo_network("rldradspr")]
    rtfs = [evaluate_tegra(n, cfg).real_time_factor for n in nets]
    assert all(r is not None and r >= 1 for r in rtfs), rtfs
    # the smallest such cost: a little less meets real time on one of them
    less = cfg.replace(step_fixed_s=cfg.step_fixed_s * (1 - 1e-9))
    assert cfg.step_fixed_s > 0
    assert any((evaluate_tegra(n, less).real_time_factor or 0) < 1 for n in nets)
    # cuDNN's measured kernels with a launch-sized cost meet real time on EESEN
    assert (evaluate_tegra(nets[0], tegra_scenarios()["cudnn_measured"]).real_time_factor
            or 1) < 1  # fmt: skip


def test_calibration_is_the_closed_form() -> None:
    measured = tegra_scenarios()["cudnn_measured"]
    eesen = zoo_network("eesen")  # 800 frames of 10 ms: 8 s
    zero = evaluate_tegra(eesen, measured.replace(step_fixed_s=0.0))
    c = calibrate_step_fixed_s(measured, {"eesen": eesen})
    assert zero.fixed_steps == 5 * 2 * 800
    assert c == pytest.approx((8.0 - zero.latency_s) / 8000, rel=1e-12)
    with pytest.raises(ConfigError, match="no frame rate"):
        calibrate_step_fixed_s(measured, {"bysdne": zoo_network("bysdne")})


def test_scenarios_and_their_sources() -> None:
    s = tegra_scenarios()
    assert tuple(s) == SCENARIOS and DEFAULT_SCENARIO in s
    floor, measured, calibrated = s["floor"], s["cudnn_measured"], s["paper_calibrated"]
    assert (floor.precision, floor.step_fixed_s, floor.gemv_bandwidth_fraction) == ("fp16", 0, 1)
    assert (measured.precision, measured.step_fixed_s, measured.power_w) == ("fp32", 10e-6, 5.7)
    assert measured.dram_bandwidth_bytes_per_s == BW and measured.onchip_bytes == 256 * 1024
    assert (measured.peak_fp16_flops, measured.peak_fp32_flops) == (FP16, FP32)
    assert measured.sources["gemv_bandwidth_fraction"].status == "fitted"
    assert measured.sources["step_fixed_s"].status == "assumed"
    assert calibrated.sources["step_fixed_s"].status == "calibrated"
    assert floor.sources["peak_fp16_flops"].status == "published"


@pytest.mark.parametrize(
    "change",
    [
        {"gemm_flops_fraction": 0.0},
        {"gemv_bandwidth_fraction": 1.5},
        {"step_fixed_s": -1e-6},
        {"power_w": 20.0},
        {"precision": "int8"},
        {"dram_bandwidth_bytes_per_s": math.inf},
        {"sources": {}},
        {"colour": "green"},
    ],
)
def test_config_fields_are_validated(change: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="Tegra X1 config"):
        tegra_scenarios()["cudnn_measured"].replace(**change)


def test_configs_are_frozen() -> None:
    cfg = tegra_scenarios()["floor"]
    with pytest.raises(ValueError, match="frozen"):
        cfg.power_w = 1.0
    assert isinstance(cfg, TegraConfig)
