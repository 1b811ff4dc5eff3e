"""Import a PyTorch ``nn.LSTM`` (and its ``nn.Linear`` head) as an epur network.

``from_torch`` accepts a live module, a file written by
``torch.save(module.state_dict(), path)`` or such a state_dict itself. Files are
read with ``torch.load(path, map_location="cpu", weights_only=True)``: nothing but
tensors and plain containers is ever unpickled.

**What is imported, and what is refused.** Nothing is dropped silently: every
parameter becomes part of the network, or the import fails with a ``ConfigError``
naming what it does not understand.

* A live module is either an ``nn.LSTM``, or a module with no parameters or buffers
  of its own whose children, in registration order and leaving out ``nn.Dropout``
  (the identity at inference), are exactly an ``nn.LSTM``, optionally followed by an
  ``nn.Linear`` whose ``in_features`` is the LSTM's output size. The Linear becomes
  an ``FCLayer`` applied to every step of the LSTM's output sequence (a model that
  applies it to the last step only finds that value at the last step of ``y``).
  Anything else (another layer, an activation, a second Linear, an LSTM nested
  deeper) is refused, naming the children. ``nn.GRU`` and ``nn.RNN`` are refused as
  such.
* A state_dict: the LSTM's parameters (``weight_ih_l{k}``, ``weight_hh_l{k}``,
  ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` and their ``_reverse``
  twins) give the topology (layers, directions, hidden, projection and input sizes,
  biases; missing biases become zeros). The only other tensors accepted are one
  ``<name>.weight [N, out]`` with an optional ``<name>.bias [N]``, stored after the
  LSTM's parameters, where ``out`` is the LSTM's output size: the ``nn.Linear`` head,
  an ``FCLayer`` named ``<name>``. Any other tensor is refused, naming the keys; a
  GRU's weights (``weight_hh_l0 [3H, H]``) are refused as a GRU's. Entries of a
  checkpoint that hold no tensor (an epoch counter) are ignored.

``batch_first`` is not in a state_dict: it is the LSTM's attribute when a module is
given, else ``False`` unless passed. ``epur.run`` honours it: inputs ``[B, T, I]``,
output ``y`` ``[B, T, out]`` (``h_n``/``c_n`` stay ``[layers*dirs, B, .]``).

PyTorch stores gates in the order i, f, g, o, which is epur's order; the bias is
``b_ih + b_hh`` added in float64. The network has one stack ``"main"`` with layers
``L1..Ln`` (and the head), batch 1 and a placeholder ``seq_len`` of 1
(``TorchModel.seq_len`` is ``None``: a PyTorch LSTM fixes no length;
``Network.with_seq_len`` sets one). PyTorch's ``h_n``/``c_n``
``[num_layers*dirs, B, .]`` list layer 0's directions first, then layer 1's, and so
on: the order of ``NetworkWeights.layers`` and of each layer's direction tuple.

PyTorch is an optional dependency (``INSTALL_TORCH`` says how to get it), imported only
when ``from_torch`` runs.
"""

from __future__ import annotations

import importlib
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epur._files import regular_file
from epur.errors import ConfigError
from epur.workload.importers._torch_state import layers_from_state
from epur.workload.network import FCLayer, Network, Stack
from epur.workload.weights import NetworkWeights

__all__ = ["TorchModel", "from_torch"]


@dataclass(frozen=True, eq=False)
class TorchModel:
    """An imported ``nn.LSTM`` (and head): its topology, float64 weights and ``batch_first``."""

    network: Network
    weights: NetworkWeights
    batch_first: bool

    @property
    def seq_len(self) -> int | None:
        """The sequence length the model fixes: never one for PyTorch (``None``)."""
        return None


INSTALL_TORCH = (
    "importing a PyTorch model needs PyTorch (torch>=2.1): in a source checkout "
    "pip install -e '.[torch]', otherwise pip install 'epur[torch]'; on a machine without "
    "an NVIDIA GPU install PyTorch's CPU-only build first (pytorch.org's install selector, "
    "compute platform CPU), as the default Linux wheels bring several GB of CUDA libraries"
)


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ConfigError(INSTALL_TORCH) from None


def from_torch(
    source: object, *, name: str = "torch", batch_first: bool | None = None
) -> TorchModel:
    """Import ``source`` (a module, a ``torch.save`` file path or a state_dict mapping)."""
    torch = _torch()
    if isinstance(source, torch.nn.Module):
        lstm = _module_lstm(torch, source)
        state: Mapping[str, Any] = source.state_dict()
        what = f"module {type(source).__name__}"
        if batch_first is None:
            batch_first = bool(lstm.batch_first)
    elif isinstance(source, str | os.PathLike):
        state = _load_file(torch, Path(source))
        what = f"PyTorch file {source}"
    elif isinstance(source, Mapping):
        state = source
        what = "state_dict"
    else:
        raise ConfigError(
            "from_torch source must be an nn.Module, a path to a torch.save file or a "
            f"state_dict mapping, not {type(source).__name__}"
        )
    layers, weights = layers_from_state(torch, _flatten(state), what)
    head = " + nn.Linear" if isinstance(layers[-1], FCLayer) else ""
    network = Network(
        name=name,
        stacks=(Stack("main", 1, tuple(layers)),),
        provenance=f"nn.LSTM{head} from {what}",
    )
    result = NetworkWeights(tuple(weights))
    result.check(network)
    return TorchModel(network, result, bool(batch_first))


def _module_lstm(torch: Any, module: Any) -> Any:
    """The module's ``nn.LSTM``, if the module is one epur imports (module docstring)."""
    nn = torch.nn
    others = [(n, m) for n, m in module.named_modules()
              if isinstance(m, nn.RNNBase) and not isinstance(m, nn.LSTM)]  # fmt: skip
    if others:
        n, m = others[0]
        kind = type(m).__name__
        raise ConfigError(
            f"{kind} is not supported: module {type(module).__name__} holds nn.{kind} "
            f"{n or '<root>'!r}; epur runs LSTM layers (nn.LSTM) only"
        )
    found = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.LSTM)]
    if len(found) != 1:
        names = ", ".join(repr(n or "<root>") for n, _ in found) or "none"
        raise ConfigError(
            f"module {type(module).__name__} must contain exactly one nn.LSTM, "
            f"found {len(found)} ({names})"
        )
    lstm = found[0][1]
    if module is lstm:
        return lstm
    dropout = nn.modules.dropout._DropoutNd
    children = [(n, m) for n, m in module.named_children() if not isinstance(m, dropout)]
    own = [n for n, _ in module.named_parameters(recurse=False)]
    own += [n for n, _ in module.named_buffers(recurse=False)]
    out_size = (lstm.proj_size or lstm.hidden_size) * (2 if lstm.bidirectional else 1)
    head_ok = len(children) == 2 and isinstance(children[1][1], nn.Linear)
    head_ok = head_ok and children[1][1].in_features == out_size
    if not own and children[0][1] is lstm and (len(children) == 1 or head_ok):
        return lstm
    shown = ", ".join(f"{n} ({type(m).__name__})" for n, m in module.named_children())
    mine = f" and parameters of its own ({', '.join(own)})" if own else ""
    raise ConfigError(
        f"module {type(module).__name__} has children {shown}{mine}; epur imports an "
        "nn.LSTM, or a module whose children are an nn.LSTM optionally followed by an "
        f"nn.Linear on its output (in_features {out_size}), nn.Dropout aside"
    )


def _load_file(torch: Any, path: Path) -> Mapping[str, Any]:
    if not path.exists():
        raise ConfigError(f"PyTorch file {path} does not exist")
    regular_file(path, "PyTorch file")  # not a folder, FIFO or device
    try:
        with warnings.catch_warnings():  # torch's remarks on a file's pickle protocol
            warnings.simplefilter("ignore")  # would be a second line; errors still raise
            data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise ConfigError(f"cannot read PyTorch file {path}: {exc.strerror}") from None
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        text = str(exc)
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if refused:
            raise ConfigError(
                f"PyTorch file {path} holds a pickled {refused[1]}, not only tensors and "
                "containers, and torch.load(weights_only=True) refuses it; save "
                "module.state_dict() instead"
            ) from None
        detail = _first_line(text.split("WeightsUnpickler error:", 1)[-1])
        raise ConfigError(
            f"PyTorch file {path} is not a readable torch.save file "
            f"({type(exc).__name__}: {detail})"
        ) from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"PyTorch file {path} must hold a state_dict (a mapping of names to tensors), "
            f"not {type(data).__name__}"
        )
    return data


def _first_line(text: str) -> str:
    line = next((s for s in text.splitlines() if s.strip()), "").strip()
    return line if len(line) <= 160 else line[:157] + "..."


def _flatten(state: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings (``{"model": state_dict, ...}`` checkpoints) become dotted keys."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{full}."))
        else:
            out[full] = value
    return out
