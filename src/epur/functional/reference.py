"""A float64 numpy LSTM: the accuracy reference for every number format.

Plain IEEE float64 arithmetic, no schedule, no hardware formats: the function of
E-PUR's LSTM (Silfa et al., PACT 2018), with the variants the importers bring in (ONNX semantics for
``sequence_lens`` and initial states). The functional model's error report is
measured against it, and the importers' tests check it against PyTorch and ONNX
Runtime.

Beyond float64's range the reference behaves as IEEE 754 arithmetic does (overflow to
infinities, NaN for ``inf - inf``), without warnings: the error report then shows it.

Shapes: ``x`` is ``[T, B, I]``; a direction returns ``y [T, B, R]`` (zero after a
sequence's end), and the final ``h [B, R]`` and ``c [B, H]`` of each sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from epur.workload.network import FCLayer, LSTMLayer, Network
from epur.workload.weights import FCWeights, LSTMWeights, NetworkWeights

__all__ = [
    "DirectionResult",
    "LayerResult",
    "fc_layer",
    "lstm_direction",
    "lstm_layer",
    "reference_run",
]

F64 = NDArray[np.float64]


def sigmoid(x: F64) -> F64:
    """Logistic sigmoid, stable for large ``|x|``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass(frozen=True, eq=False)
class DirectionResult:
    y: F64  # [T, B, R]
    h: F64  # [B, R]
    c: F64  # [B, H]


def lstm_direction(
    x: F64,
    w: LSTMWeights,
    reverse: bool = False,
    h0: F64 | None = None,
    c0: F64 | None = None,
    seq_lens: NDArray[np.int64] | None = None,
) -> DirectionResult:
    """One LSTM direction over ``x`` (ONNX semantics for ``seq_lens``)."""
    with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
        return _lstm_direction(x, w, reverse, h0, c0, seq_lens)


def _lstm_direction(
    x: F64,
    w: LSTMWeights,
    reverse: bool,
    h0: F64 | None,
    c0: F64 | None,
    seq_lens: NDArray[np.int64] | None,
) -> DirectionResult:
    t_len, batch, _ = x.shape
    h_size = w.u.shape[0] // 4
    r_size = w.u.shape[1]
    lens = np.full(batch, t_len) if seq_lens is None else np.asarray(seq_lens)
    h = np.zeros((batch, r_size)) if h0 is None else np.array(h0, dtype=np.float64)
    c = np.zeros((batch, h_size)) if c0 is None else np.array(c0, dtype=np.float64)
    y = np.zeros((t_len, batch, r_size))
    zx = x @ w.w.T + w.b  # the input half for every step at once: [T, B, 4H]
    p = w.peepholes if w.peepholes is not None else np.zeros((3, h_size))
    for t in range(t_len - 1, -1, -1) if reverse else range(t_len):
        z = zx[t] + h @ w.u.T
        zi, zf, zg, zo = (z[:, k * h_size : (k + 1) * h_size] for k in range(4))
        i = sigmoid(zi + p[0] * c)
        f = sigmoid(zf + p[1] * c)
        c_new = f * c + i * np.tanh(zg)
        o = sigmoid(zo + p[2] * c_new)
        h_new = o * np.tanh(c_new)
        if w.projection is not None:
            h_new = h_new @ w.projection.T
        live = (t < lens)[:, None]  # steps past a sequence's end change nothing
        h = np.where(live, h_new, h)
        c = np.where(live, c_new, c)
        y[t] = np.where(live, h_new, 0.0)
    return DirectionResult(y, h, c)


@dataclass(frozen=True, eq=False)
class LayerResult:
    """A layer's output sequence ``[T, B, out]`` and, for LSTMs, each direction's state."""

    y: F64
    directions: tuple[DirectionResult, ...] = ()


def lstm_layer(
    layer: LSTMLayer,
    weights: tuple[LSTMWeights, ...],
    x: F64,
    below: int,
    h0: F64 | None = None,
    c0: F64 | None = None,
    seq_lens: NDArray[np.int64] | None = None,
) -> LayerResult:
    """All directions of ``layer``; ``h0 [dirs, B, R]``, ``c0 [dirs, B, H]``.

    ``below`` is how many leading input features come from the layer below (the
    residual shortcut); the rest are external features.
    """
    reverses = [False, True] if layer.bidirectional else [layer.reverse]
    results = tuple(
        lstm_direction(
            x,
            wd,
            rev,
            None if h0 is None else h0[d],
            None if c0 is None else c0[d],
            seq_lens,
        )
        for d, (wd, rev) in enumerate(zip(weights, reverses, strict=True))
    )
    y = np.concatenate([r.y for r in results], axis=-1)
    if layer.residual:
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
            y = y + x[..., :below]
    return LayerResult(y, results)


def fc_layer(layer: FCLayer, weights: FCWeights, x: F64) -> LayerResult:
    with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
        z = x @ weights.w.T + weights.b
        kind = layer.activation.value
        if kind == "relu":
            z = np.maximum(z, 0.0)
        elif kind == "sigmoid":
            z = sigmoid(z)
        elif kind == "tanh":
            z = np.tanh(z)
    return LayerResult(z)


def reference_run(
    network: Network,
    weights: NetworkWeights,
    inputs: Mapping[str, F64],
) -> list[LayerResult]:
    """Every layer of ``network`` in float64, in ``Network.layers()`` order.

    ``inputs`` maps each stack's name to its input ``[T, B, I]`` and, for layers whose
    input is wider than the layer below's output, ``"<layer name>.external_in"`` to
    those extra features ``[T, B, extra]`` (see ``external_inputs``).
    """
    out: list[LayerResult] = []
    k = 0
    for stack in network.stacks:
        x = np.asarray(inputs[stack.name], dtype=np.float64)
        for layer in stack.layers:
            below = x.shape[-1]
            if layer.input_size > below:
                x = np.concatenate([x, inputs[f"{layer_name(layer, k)}.external_in"]], axis=-1)
            if isinstance(layer, FCLayer):
                result = fc_layer(layer, _fc(weights.layers[k]), x)
            else:
                result = lstm_layer(layer, _lstm(weights.layers[k]), x, below)
            out.append(result)
            x = result.y
            k += 1
    return out


def layer_name(layer: LSTMLayer | FCLayer, index: int) -> str:
    """The name the schedule gives a layer (its own, else ``L<index+1>``)."""
    return layer.name or f"L{index + 1}"


def _fc(w: object) -> FCWeights:
    assert isinstance(w, FCWeights)
    return w


def _lstm(w: object) -> tuple[LSTMWeights, ...]:
    assert isinstance(w, tuple)
    return w
