"""The inputs of a run: checked and laid out ``[T, B, I]`` first, converted to float64 last.

``stack_inputs`` validates what the caller gave (real numbers, 2-D or 3-D, the features
each stack and each layer with external features needs) and returns views of it, so
that ``epur.run`` can size the run and check its memory before anything is copied;
``as_float64`` then converts each one, refusing NaN, infinities and values beyond
float64's range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.errors import ConfigError
from epur.functional.reference import layer_name
from epur.workload.network import Network

__all__ = ["Feed", "as_float64", "needed_inputs", "real_array", "stack_inputs"]

F64 = NDArray[np.float64]
Feed = tuple[str, NDArray[Any]]  # (what error messages call it, the array [T, B, I])


def real_array(name: str, value: Any, ndims: tuple[int, ...] = (2, 3)) -> NDArray[Any]:
    """``value`` as an array of real numbers with an allowed number of dimensions (not
    copied when it is one), or a ConfigError."""
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" or a.dtype.kind == "b":
        raise ConfigError(f"{name} must hold real numbers, not dtype {a.dtype}")
    if a.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise ConfigError(f"{name} must be {want}, not of shape {list(a.shape)}")
    return a


def as_float64(name: str, a: NDArray[Any]) -> F64:
    """``a`` in float64, or a ConfigError if it holds NaN, infinities, or values float64
    cannot hold (a ``longdouble`` beyond 1.8e308)."""
    with np.errstate(over="ignore"):  # beyond float64: inf, refused below
        out = np.array(a, dtype=np.float64, order="K")  # a copy, in the caller's layout
    finite = np.isfinite(out)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        raise ConfigError(
            f"{name} holds NaN or Inf values, or values beyond float64's range "
            f"({bad} of them); inputs must be finite"
        )
    return out


def needed_inputs(network: Network) -> dict[str, tuple[str, int]]:
    """Every input a network needs: stack name or ``"<layer>.external_in"`` -> (its stack,
    features per step)."""
    need: dict[str, tuple[str, int]] = {}
    k = 0
    for stack in network.stacks:
        need[stack.name] = (stack.name, stack.layers[0].input_size)
        for j, layer in enumerate(stack.layers):
            below = stack.layers[j - 1].output_size if j else layer.input_size
            if layer.input_size > below:
                need[f"{layer_name(layer, k)}.external_in"] = (stack.name, layer.input_size - below)
            k += 1
    return need


def stack_inputs(network: Network, inputs: Any, batch_first: bool) -> dict[str, Feed]:
    """The functional model's inputs ``[T, B, I]`` by stack name (and external features),
    as views of ``inputs`` (nothing converted yet)."""
    need = needed_inputs(network)
    if not isinstance(inputs, Mapping):
        if len(need) != 1:
            raise ConfigError(
                f"network {network.name} needs {len(need)} inputs, so inputs must be a "
                f"mapping with an array for each of {list(need)}"
            )
        inputs = {next(iter(need)): inputs}
        label = {next(iter(need)): "input"}
    else:
        missing = [key for key in need if key not in inputs]
        unknown = sorted(str(key) for key in inputs if key not in need)
        if missing or unknown:
            raise ConfigError(
                f"inputs of network {network.name} must be exactly {list(need)} (one per "
                f"stack and per layer with external features); missing {missing}, "
                f"unknown {unknown}"
            )
        label = {key: f"input {key!r}" for key in need}
    feeds: dict[str, Feed] = {}
    for key, (stack, width) in need.items():
        x = real_array(label[key], inputs[key])
        x = x[:, None, :] if x.ndim == 2 else (x.transpose(1, 0, 2) if batch_first else x)
        if x.shape[-1] != width:
            raise ConfigError(
                f"{label[key]} must have {width} features per step, not {x.shape[-1]} "
                f"(shape {list(x.shape)})"
            )
        if key != stack and x.shape[:2] != feeds[stack][1].shape[:2]:
            t, b = feeds[stack][1].shape[:2]
            raise ConfigError(
                f"{label[key]} must have the steps and batch of stack {stack!r} ({t} steps, "
                f"batch {b}), not shape {list(x.shape)}{' (batch first)' * batch_first}"
            )
        feeds[key] = (label[key], x)
    return feeds
