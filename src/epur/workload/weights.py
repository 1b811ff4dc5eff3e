"""Weights of a network: one container shared by the importers and the functional model.

Gate order is E-PUR's CU order, **i, f, g, o** (PyTorch's; ONNX's i, o, f, c is
converted by its importer). Arrays are float64 holding the source values exactly
(float32 weights from PyTorch or ONNX convert without loss).

For an LSTM direction with input ``I``, hidden ``H``, recurrent size ``R`` (``P``
with a projection, else ``H``):

* ``w``: ``[4H, I]`` input weights, rows ``g*H + n`` for gate ``g``, neuron ``n``
* ``u``: ``[4H, R]`` recurrent weights
* ``b``: ``[4H]`` one bias per row (PyTorch's ``b_ih + b_hh``, ONNX's ``Wb + Rb``)
* ``peepholes``: ``[3, H]`` for gates i, f, o, or ``None``
* ``projection``: ``[P, H]`` or ``None``
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from epur.errors import ConfigError
from epur.workload.network import FCLayer, Layer, Network

__all__ = ["FCWeights", "LSTMWeights", "LayerWeights", "NetworkWeights", "random_weights"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LSTMWeights:
    """One direction of one LSTM layer (see the module docstring for shapes)."""

    w: F64
    u: F64
    b: F64
    peepholes: F64 | None = None
    projection: F64 | None = None


@dataclass(frozen=True, eq=False)
class FCWeights:
    """A fully-connected layer: ``w`` ``[N, I]``, ``b`` ``[N]``."""

    w: F64
    b: F64


LayerWeights = tuple[LSTMWeights, ...] | FCWeights  # LSTM: one entry per direction


@dataclass(frozen=True, eq=False)
class NetworkWeights:
    """Weights of every layer of a network, in ``Network.layers()`` order."""

    layers: tuple[LayerWeights, ...]

    def check(self, network: Network) -> None:
        """Raise ``ConfigError`` naming the first array whose shape does not fit ``network``."""
        layers = [layer for _, layer in network.layers()]
        if len(layers) != len(self.layers):
            raise ConfigError(
                f"weights hold {len(self.layers)} layers, the network has {len(layers)}"
            )
        for k, (layer, weights) in enumerate(zip(layers, self.layers, strict=True)):
            for name, array, shape in _expected(layer, weights):
                if array is None or array.shape != shape:
                    got = None if array is None else array.shape
                    raise ConfigError(
                        f"layer {k} weights {name} must have shape {shape}, not {got}"
                    )


def _expected(layer: Layer, weights: LayerWeights) -> list[tuple[str, F64 | None, tuple[int, ...]]]:
    if isinstance(layer, FCLayer):
        if not isinstance(weights, FCWeights):
            return [("w", None, (layer.output_size, layer.input_size))]
        return [("w", weights.w, (layer.output_size, layer.input_size)),
                ("b", weights.b, (layer.output_size,))]  # fmt: skip
    if not isinstance(weights, tuple) or len(weights) != layer.directions:
        return [("directions", None, (layer.directions,))]
    h, r = layer.hidden_size, layer.recurrent_size
    out: list[tuple[str, F64 | None, tuple[int, ...]]] = []
    for d, wd in enumerate(weights):
        out += [
            (f"[{d}].w", wd.w, (4 * h, layer.input_size)),
            (f"[{d}].u", wd.u, (4 * h, r)),
            (f"[{d}].b", wd.b, (4 * h,)),
        ]
        if layer.peepholes:
            out.append((f"[{d}].peepholes", wd.peepholes, (3, h)))
        if layer.projection_size is not None:
            out.append((f"[{d}].projection", wd.projection, (layer.projection_size, h)))
    return out


def random_weights(network: Network, rng: np.random.Generator) -> NetworkWeights:
    """Weights drawn as PyTorch initialises ``nn.LSTM``/``nn.Linear``: U(-k, k), k = 1/sqrt(H).

    (``k = 1/sqrt(I)`` for fully-connected layers.) Values are rounded to float32, as
    trained weights would be stored.
    """

    def uniform(k: float, *shape: int) -> F64:
        return rng.uniform(-k, k, size=shape).astype(np.float32).astype(np.float64)

    layers: list[LayerWeights] = []
    for _, layer in network.layers():
        if isinstance(layer, FCLayer):
            k = 1 / np.sqrt(layer.input_size)
            layers.append(FCWeights(uniform(k, layer.output_size, layer.input_size),
                                    uniform(k, layer.output_size)))  # fmt: skip
            continue
        h, r, k = layer.hidden_size, layer.recurrent_size, 1 / np.sqrt(layer.hidden_size)
        layers.append(
            tuple(
                LSTMWeights(
                    w=uniform(k, 4 * h, layer.input_size),
                    u=uniform(k, 4 * h, r),
                    b=uniform(k, 4 * h) + uniform(k, 4 * h),
                    peepholes=uniform(k, 3, h) if layer.peepholes else None,
                    projection=(
                        uniform(k, layer.projection_size, h)
                        if layer.projection_size is not None
                        else None
                    ),
                )
                for _ in range(layer.directions)
            )
        )
    return NetworkWeights(tuple(layers))
