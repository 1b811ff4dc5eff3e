"""epur: simulator and reference implementation of E-PUR (Silfa et al., PACT 2018).

The public API, loaded on first use (so that ``epur --help`` and ``epur simulate``
import neither ONNX nor PyTorch):

* ``epur.from_torch(module_or_file)`` and ``epur.from_onnx(path)``: import a model;
* ``epur.run(model, inputs, fmt=..., activation=..., dataflow=...)``: execute it in
  E-PUR's datapath and report the error against the float64 reference;
* ``epur.evaluate(network, arch, dataflow)``: schedule, timing and (with an SRAM
  backend) energy and area;
* ``epur.load_network``, ``epur.zoo_network``, ``epur.load_arch``, ``epur.paper_preset``,
  ``epur.apply_overrides``, ``epur.required_sizes``.

Type checkers see the real functions (the imports below under ``TYPE_CHECKING``);
at run time each name is imported from its module when first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from epur.api import run
    from epur.arch import apply_overrides, load_arch, paper_preset
    from epur.assess import evaluate
    from epur.timing import required_sizes
    from epur.workload import load_network, zoo_network
    from epur.workload.importers import from_onnx, from_torch

__all__ = [
    "__version__",
    "apply_overrides",
    "evaluate",
    "from_onnx",
    "from_torch",
    "load_arch",
    "load_network",
    "paper_preset",
    "required_sizes",
    "run",
    "zoo_network",
]

_WHERE = {
    "apply_overrides": "epur.arch",
    "evaluate": "epur.assess",
    "from_onnx": "epur.workload.importers",
    "from_torch": "epur.workload.importers",
    "load_arch": "epur.arch",
    "load_network": "epur.workload",
    "paper_preset": "epur.arch",
    "required_sizes": "epur.timing",
    "run": "epur.api",
    "zoo_network": "epur.workload",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'epur' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
