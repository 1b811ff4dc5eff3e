"""epur: simulator and reference implementation of E-PUR (Silfa et al., PACT 2018).

The public API, loaded on first use (so that ``epur simulate`` does not import
ONNX or PyTorch):

* ``epur.from_torch(module_or_file)`` and ``epur.from_onnx(path)``: import a model;
* ``epur.run(model, inputs, fmt=..., activation=..., dataflow=...)``: execute it in
  E-PUR's datapath and report the error against the float64 reference;
* ``epur.evaluate(network, arch, dataflow)``: schedule and timing;
* ``epur.load_network``, ``epur.zoo_network``, ``epur.load_arch``, ``epur.paper_preset``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "evaluate",
    "from_onnx",
    "from_torch",
    "load_arch",
    "load_network",
    "paper_preset",
    "run",
    "zoo_network",
]

_WHERE = {
    "evaluate": "epur.evaluate",
    "from_onnx": "epur.workload.importers",
    "from_torch": "epur.workload.importers",
    "load_arch": "epur.arch",
    "load_network": "epur.workload",
    "paper_preset": "epur.arch",
    "run": "epur.api",
    "zoo_network": "epur.workload",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'epur' has no attribute {name!r}")
