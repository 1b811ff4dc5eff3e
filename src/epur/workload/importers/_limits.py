"""What the importers refuse to convert: weights of absurd declared size.

A tensor's declared shape can promise far more than its file holds (an expanded
PyTorch tensor with zero strides, an ONNX initializer whose ``dims`` do not match its
data), and converting it to float64 would then allocate terabytes. Both importers
add up the declared elements of every weight before converting any of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from epur.errors import ConfigError

__all__ = ["MAX_ELEMENTS", "check_elements"]

MAX_ELEMENTS = 2**31
"""The most weight elements a model may declare, all tensors together: 2**31 (16 GiB in
float64, the importers' format), about ten times GNMT's 8 + 8 layers (2**28)."""


def check_elements(tensors: Iterable[tuple[str, Sequence[int]]], what: str) -> None:
    """A ConfigError naming the largest tensor when the declared shapes of ``tensors``
    (name, shape) hold more than ``MAX_ELEMENTS`` elements in all."""
    total, largest, largest_name = 0, -1, ""
    largest_shape: tuple[int, ...] = ()
    for name, shape in tensors:
        if any(int(d) < 0 for d in shape):
            raise ConfigError(f"{what} {name} declares a negative dimension: {list(shape)}")
        n = math.prod(int(d) for d in shape)
        total += n
        if n > largest:
            largest, largest_name, largest_shape = n, name, tuple(shape)
    if total > MAX_ELEMENTS:
        raise ConfigError(
            f"{what} {largest_name} declares shape {list(largest_shape)} ({largest:,} "
            f"elements); its weights declare {total:,} elements in all, more than the "
            f"{MAX_ELEMENTS:,} (2**31, 16 GiB in float64) epur converts"
        )
