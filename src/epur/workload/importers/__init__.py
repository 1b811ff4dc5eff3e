"""Importers: PyTorch ``nn.LSTM`` and ONNX ``LSTM`` graphs as epur networks and weights."""

from epur.workload.importers.onnx import LSTMFn, OnnxModel, from_onnx
from epur.workload.importers.torch import TorchModel, from_torch

__all__ = ["LSTMFn", "OnnxModel", "TorchModel", "from_onnx", "from_torch"]
