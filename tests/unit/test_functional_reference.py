"""The float64 reference: a bidirectional layer's directions stepped together give the
values of each direction run alone, and the reference stays the textbook LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from epur.functional.reference import lstm_direction, lstm_directions, lstm_layer, sigmoid
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import LSTMWeights, random_weights


def _textbook(x: np.ndarray, w: LSTMWeights, reverse: bool) -> np.ndarray:
    """One direction, one step at a time, no seq_lens: the plain equations."""
    h_size = w.u.shape[0] // 4
    h = np.zeros((x.shape[1], w.u.shape[1]))
    c = np.zeros((x.shape[1], h_size))
    p = w.peepholes if w.peepholes is not None else np.zeros((3, h_size))
    y = np.zeros((x.shape[0], x.shape[1], w.u.shape[1]))
    for t in range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0]):
        z = x[t] @ w.w.T + w.b + h @ w.u.T
        zi, zf, zg, zo = np.split(z, 4, axis=-1)
        i = 1 / (1 + np.exp(-(zi + p[0] * c)))
        f = 1 / (1 + np.exp(-(zf + p[1] * c)))
        c = f * c + i * np.tanh(zg)
        o = 1 / (1 + np.exp(-(zo + p[2] * c)))
        h = o * np.tanh(c)
        if w.projection is not None:
            h = h @ w.projection.T
        y[t] = h
    return y


def _layer(**kwargs: object) -> tuple[LSTMLayer, tuple[LSTMWeights, ...]]:
    layer = LSTMLayer(5, 4, **kwargs)  # type: ignore[arg-type]
    net = Network("n", (Stack("main", 6, (layer,)),), batch=3)
    weights = random_weights(net, np.random.default_rng(2)).layers[0]
    assert isinstance(weights, tuple)
    return layer, weights


@pytest.mark.parametrize("peepholes", [False, True])
@pytest.mark.parametrize("projection", [None, 3])
def test_directions_stepped_together_equal_each_direction_alone(
    peepholes: bool, projection: int | None
) -> None:
    layer, w = _layer(bidirectional=True, peepholes=peepholes, projection_size=projection)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3, 5))
    r = projection or 4
    h0, c0 = rng.standard_normal((2, 3, r)), rng.standard_normal((2, 3, 4))
    lens = np.array([6, 2, 0])
    for seq_lens in (None, lens):
        both = lstm_layer(layer, w, x, 5, h0, c0, seq_lens)
        for d, rev in enumerate((False, True)):
            alone = lstm_direction(x, w[d], rev, h0[d], c0[d], seq_lens)
            assert np.array_equal(both.directions[d].y, alone.y)  # bit for bit
            assert np.array_equal(both.directions[d].h, alone.h)
            assert np.array_equal(both.directions[d].c, alone.c)


@pytest.mark.parametrize("peepholes", [False, True])
def test_the_reference_is_the_textbook_lstm(peepholes: bool) -> None:
    layer, w = _layer(bidirectional=True, peepholes=peepholes, projection_size=3)
    x = np.random.default_rng(4).standard_normal((6, 3, 5))
    y = lstm_layer(layer, w, x, 5).y
    expected = np.concatenate([_textbook(x, w[0], False), _textbook(x, w[1], True)], axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-14)


def test_sigmoid_is_stable_and_exact_at_the_extremes() -> None:
    x = np.array([-1e308, -800.0, -1.0, 0.0, 1.0, 800.0, 1e308, np.inf, -np.inf])
    s = sigmoid(x)
    assert np.array_equal(s[[0, 1, -1]], [0.0, 0.0, 0.0])
    assert np.array_equal(s[[3, 5, 6, 7]], [0.5, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(s[[2, 4]], 1 / (1 + np.exp(-x[[2, 4]])), rtol=1e-15)
    assert np.isnan(sigmoid(np.array([np.nan]))).all()


def test_lstm_directions_refuses_mismatched_arguments() -> None:
    _, w = _layer(bidirectional=True)
    x = np.zeros((2, 3, 5))
    with pytest.raises(ValueError, match="as many"):
        lstm_directions(x, w, [False], [None, None], [None, None])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("projection", [None, 3])
def test_seq_lens_end_each_sequence_as_if_it_were_alone(
    reverse: bool, projection: int | None
) -> None:
    """ONNX semantics, batch > 1: sequence ``b`` is the textbook LSTM over its first
    ``lens[b]`` steps (a reverse direction starts at its own last step); the steps
    after its end give zeros, and the final state is that of its last step."""
    layer, w = _layer(reverse=reverse, peepholes=True, projection_size=projection)
    x = np.random.default_rng(5).standard_normal((7, 3, 5))
    lens = np.array([7, 3, 0])
    result = lstm_layer(layer, w, x, 5, seq_lens=lens).directions[0]
    r = projection or 4
    for b, n in enumerate(lens):
        expected = _textbook(x[:n, b : b + 1], w[0], reverse)[:, 0]
        np.testing.assert_allclose(result.y[:n, b], expected, rtol=1e-12, atol=1e-14)
        assert not result.y[n:, b].any()
        last = expected[0 if reverse else n - 1] if n else np.zeros(r)
        np.testing.assert_allclose(result.h[b], last, rtol=1e-12, atol=1e-14)


def test_the_reference_overflows_as_ieee_arithmetic_does() -> None:
    """Beyond float64's range: infinities and NaN, no warnings (pytest makes them
    errors), in the compiled recurrence as in numpy."""
    layer, w = _layer(bidirectional=True)
    x = np.random.default_rng(6).standard_normal((4, 3, 5))
    x[1, 0] = 1e308
    x[2, 1] = np.nan
    y = lstm_layer(layer, w, x, 5).y
    assert np.isnan(y[:, 1]).any()
    assert np.isfinite(y[:, 2]).all()
