"""The functional model: semantics against the float64 reference, dataflows, formats."""

from __future__ import annotations

import numpy as np
import pytest

from epur.api import format_settings
from epur.arch import apply_overrides, paper_preset
from epur.functional.model import run_network
from epur.functional.reference import reference_run
from epur.workload import Activation, FCLayer, LSTMLayer, Network, Stack
from epur.workload.weights import NetworkWeights, random_weights


def arch(fmt: str = "fp32", activation: str = "exact", lanes: int = 4) -> object:
    sets = [*format_settings(fmt), f"mfu.activation={activation}", f"dpu.lanes={lanes}"]
    return apply_overrides(paper_preset(), sets)


RICH = Network(
    "rich",
    (
        Stack(
            "main",
            6,
            (
                LSTMLayer(5, 4, bidirectional=True, peepholes=True),
                LSTMLayer(8, 6, projection_size=4, peepholes=True),
                LSTMLayer(4, 3, projection_size=4, residual=True),
                LSTMLayer(4, 5, reverse=True),
                FCLayer(5, 3, Activation.TANH),
            ),
        ),
        Stack("decoder", 4, (LSTMLayer(3, 3), LSTMLayer(7, 3, residual=True)), True),
    ),
)


def feeds(net: Network, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {
        s.name: rng.standard_normal((s.seq_len, batch, s.layers[0].input_size)) for s in net.stacks
    }
    out["L7.external_in"] = rng.standard_normal((4, batch, 4))
    return out


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_fp32_matches_the_float64_reference_on_every_variant(dataflow: str) -> None:
    weights = random_weights(RICH, np.random.default_rng(1))
    x = feeds(RICH)
    ours = run_network(RICH, weights, x, arch(), dataflow, keep_layers=True)
    ref = reference_run(RICH, weights, x)
    for k, layer_ref in enumerate(ref):
        scale = max(float(np.abs(layer_ref.y).max()), 1e-3)
        assert np.abs(ours.layer_outputs[k] - layer_ref.y).max() <= 1e-5 * scale, k


@pytest.mark.parametrize("fmt", ["q8.8", "q6.10", "int8"])
def test_exact_formats_give_the_same_bits_in_both_dataflows(fmt: str) -> None:
    """Sums are exact (guard bits, fixed scales): MWL's split changes nothing."""
    net = Network("n", (Stack("main", 7, (LSTMLayer(9, 6, peepholes=True), LSTMLayer(6, 5))),))
    weights = random_weights(net, np.random.default_rng(2))
    x = {"main": np.random.default_rng(3).standard_normal((7, 2, 9))}
    a = run_network(net, weights, x, arch(fmt), "baseline", keep_layers=True)
    b = run_network(net, weights, x, arch(fmt), "mwl", keep_layers=True)
    for ya, yb in zip(a.layer_outputs, b.layer_outputs, strict=True):
        assert np.array_equal(ya, yb)


def test_float_formats_can_differ_between_dataflows_but_stay_close() -> None:
    """Baseline chunks straddle [x, h]; MWL rounds W x + b to the partial-sum format."""
    net = Network("n", (Stack("main", 12, (LSTMLayer(13, 8),)),))
    weights = random_weights(net, np.random.default_rng(4))
    x = {"main": np.random.default_rng(5).standard_normal((12, 3, 13))}
    a = run_network(net, weights, x, arch("fp16"), "baseline")
    b = run_network(net, weights, x, arch("fp16"), "mwl")
    assert not np.array_equal(a.c_n[0], b.c_n[0])
    assert np.abs(a.y - b.y).max() < 1e-2


def test_mwl_tile_size_never_changes_the_bits() -> None:
    net = Network("n", (Stack("main", 5, (LSTMLayer(7, 10), FCLayer(10, 9, Activation.RELU))),))
    weights = random_weights(net, np.random.default_rng(6))
    x = {"main": np.random.default_rng(7).standard_normal((5, 2, 7))}
    runs = [run_network(net, weights, x, arch("bf16"), "mwl", tile_rows=t) for t in (None, 1, 3)]
    for other in runs[1:]:
        assert np.array_equal(runs[0].y, other.y)


def test_sequence_lengths_and_initial_states_follow_the_reference() -> None:
    from epur.functional.reference import lstm_layer

    layer = LSTMLayer(4, 3, bidirectional=True, peepholes=True)
    net = Network("n", (Stack("main", 6, (layer,)),))
    weights = random_weights(net, np.random.default_rng(8))
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 3, 4))
    h0, c0 = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))
    lens = np.array([6, 2, 4])
    ours = run_network(net, weights, {"main": x}, arch(), seq_lens=lens, initial={0: (h0, c0)})
    ref = lstm_layer(layer, weights.layers[0], x, 4, h0, c0, lens)  # type: ignore[arg-type]
    assert np.abs(ours.y - ref.y).max() < 1e-5
    assert np.abs(ours.h_n[0] - np.stack([d.h for d in ref.directions])).max() < 1e-5
    assert np.all(ours.y[2:, 1] == 0) and np.all(ours.y[4:, 2] == 0)


def test_approximate_activations_cost_accuracy() -> None:
    net = Network("n", (Stack("main", 10, (LSTMLayer(6, 8),)),))
    weights = random_weights(net, np.random.default_rng(10))
    x = {"main": np.random.default_rng(11).standard_normal((10, 2, 6))}
    ref = reference_run(net, weights, x)[0].y
    err = {
        act: np.abs(run_network(net, weights, x, arch("fp32", act)).y - ref).max()
        for act in ("exact", "lut1024", "lut64", "pwl64", "pwl8")
    }
    assert err["exact"] < 1e-6
    assert err["exact"] < err["lut1024"] < err["lut64"]
    assert err["exact"] < err["pwl64"] < err["pwl8"]


def test_missing_external_input_is_named() -> None:
    from epur.errors import ConfigError

    weights = random_weights(RICH, np.random.default_rng(1))
    x = feeds(RICH)
    del x["L7.external_in"]
    with pytest.raises(ConfigError, match=r"inputs must hold L7\.external_in for layer L7"):
        run_network(RICH, weights, x, arch())


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "q8.8"])  # int8: one scale per layer
@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_a_bidirectional_layer_is_its_two_directions(fmt: str, dataflow: str) -> None:
    """The two directions run together; each must give exactly the bits it gives alone."""
    layer = LSTMLayer(6, 5, bidirectional=True, peepholes=True, projection_size=3)
    net = Network("bi", (Stack("main", 7, (layer,)),))
    weights = random_weights(net, np.random.default_rng(12))
    x = {"main": np.random.default_rng(13).standard_normal((7, 2, 6))}
    both = run_network(net, weights, x, arch(fmt), dataflow)
    for d, reverse in enumerate((False, True)):
        alone = LSTMLayer(6, 5, peepholes=True, projection_size=3, reverse=reverse)
        one = Network("one", (Stack("main", 7, (alone,)),))
        wd = weights.layers[0]
        assert isinstance(wd, tuple)
        single = run_network(one, NetworkWeights(((wd[d],),)), x, arch(fmt), dataflow)
        assert np.array_equal(single.y, both.y[..., 3 * d : 3 * (d + 1)])
        assert np.array_equal(single.h_n[0][0], both.h_n[0][d])


# ---- extreme values (issue 9): defined results, no numpy warning (pytest makes them errors)


def one_cell(
    w: float, u: float = 0.0, b: float = 0.0, peephole: float | None = None
) -> tuple[Network, NetworkWeights]:
    """One LSTM neuron (I = H = 1) with every gate's weights equal."""
    from epur.workload.weights import LSTMWeights

    layer = LSTMLayer(1, 1, peepholes=peephole is not None)
    cell = LSTMWeights(
        w=np.full((4, 1), w),
        u=np.full((4, 1), u),
        b=np.full(4, b),
        peepholes=None if peephole is None else np.full((3, 1), peephole),
    )
    return Network("cell", (Stack("main", 3, (layer,)),)), NetworkWeights(((cell,),))


def test_the_reference_saturates_as_ieee_754_does() -> None:
    # w x = 10 * 1e308 overflows to +inf: every gate saturates (i = f = o = 1, g = 1), so
    # c_t = c_(t-1) + 1 and h_t = tanh(t + 1)
    net, weights = one_cell(10.0)
    y = reference_run(net, weights, {"main": np.full((3, 1, 1), 1e308)})[0].y
    assert y[:, 0, 0].tolist() == np.tanh([1.0, 2.0, 3.0]).tolist()


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_fp16_weights_that_overflow_follow_ieee_754(dataflow: str) -> None:
    # a peephole of 1e30 is +inf in fp16: at the first step p_i * c_0 = inf * 0 = NaN, so
    # i, c and every h after it are NaN
    net, weights = one_cell(0.5, 0.5, 0.0, peephole=1e30)
    out = run_network(net, weights, {"main": np.ones((3, 1, 1))}, arch("fp16"), dataflow)
    assert np.isnan(out.y).all()


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_int8_activations_too_small_for_a_scale_get_scale_one(dataflow: str) -> None:
    # max|x| / 127 = 1e-322 / 127 underflows to 0: the scale is 1, x quantises to 0, and
    # with zero weights every gate is sigmoid(0) or tanh(0), so h = 0.5 * tanh(0) = 0
    net, weights = one_cell(0.0)
    out = run_network(net, weights, {"main": np.full((3, 1, 1), 1e-322)}, arch("int8"), dataflow)
    assert out.y.tolist() == np.zeros((3, 1, 1)).tolist()


def test_weights_holding_nan_are_refused_by_name() -> None:
    from epur.errors import ConfigError

    net, weights = one_cell(0.5)
    weights.layers[0][0].u[2, 0] = np.nan  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"layer L1 weights u \(direction 0\) hold NaN or Inf"):
        run_network(net, weights, {"main": np.ones((3, 1, 1))}, arch("q8.8"))
