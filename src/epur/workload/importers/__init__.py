"""Importers: PyTorch ``nn.LSTM`` and ONNX ``LSTM`` graphs as epur networks and weights.

Loaded on first use: importing this package imports neither ONNX nor PyTorch.
``from_onnx`` imports ``onnx`` when it is called (so that
``from epur.workload.importers import from_onnx, from_torch`` followed by
``from_torch`` never loads it), ``from_torch`` imports ``torch`` when it is called,
and the other names load their module when first used. Type checkers see the real
definitions.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnx

    from epur.workload.importers.onnx import FCFn, LSTMFn, OnnxModel
    from epur.workload.importers.torch import TorchModel, from_torch

__all__ = ["FCFn", "LSTMFn", "OnnxModel", "TorchModel", "from_onnx", "from_torch"]

_WHERE = {
    "FCFn": "epur.workload.importers.onnx",
    "LSTMFn": "epur.workload.importers.onnx",
    "OnnxModel": "epur.workload.importers.onnx",
    "TorchModel": "epur.workload.importers.torch",
    "from_torch": "epur.workload.importers.torch",
}


def from_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto, *, name: str | None = None
) -> OnnxModel:
    """Import the LSTM nodes (and fully-connected heads) of an ONNX model.

    See ``epur.workload.importers.onnx.from_onnx``; ``onnx`` is imported here, on use.
    """
    from epur.workload.importers.onnx import from_onnx as load

    return load(source, name=name)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
