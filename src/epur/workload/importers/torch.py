"""Import a PyTorch ``nn.LSTM`` as an epur ``Network`` and ``NetworkWeights``.

``from_torch`` accepts a live ``nn.LSTM``, a module holding exactly one ``nn.LSTM``,
a file written by ``torch.save(module.state_dict(), path)`` or such a state_dict
itself. Files are read with ``torch.load(path, map_location="cpu",
weights_only=True)``: nothing but tensors and plain containers is ever unpickled.

The topology comes from the parameter names and shapes (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` and their
``_reverse`` twins): layers, directions, hidden, projection and input sizes, biases
(missing biases become zeros). ``batch_first`` is not in a state_dict: it is the
module's attribute when a module is given, else ``False`` unless passed.

PyTorch stores gates in the order i, f, g, o, which is epur's order; the bias is
``b_ih + b_hh`` added in float64. The network has one stack ``"main"`` with layers
``L1..Ln``, batch 1 and a placeholder ``seq_len`` of 1 (``Network.with_seq_len``
sets the real one). PyTorch's ``h_n``/``c_n`` ``[num_layers*dirs, B, .]`` list layer
0's directions first, then layer 1's, and so on: the order of
``NetworkWeights.layers`` and of each layer's direction tuple.

PyTorch is an optional dependency (``pip install 'epur[torch]'``), imported only
when ``from_torch`` runs.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.errors import ConfigError
from epur.workload.network import LSTMLayer, Network, Stack
from epur.workload.weights import LSTMWeights, NetworkWeights

__all__ = ["TorchModel", "from_torch"]

F64 = NDArray[np.float64]

_KEY = re.compile(
    r"^(?P<prefix>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"_l(?P<layer>\d+)(?P<rev>_reverse)?$"
)


@dataclass(frozen=True, eq=False)
class TorchModel:
    """An imported ``nn.LSTM``: its topology, float64 weights and ``batch_first``."""

    network: Network
    weights: NetworkWeights
    batch_first: bool


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ConfigError(
            "importing a PyTorch model needs PyTorch: pip install 'epur[torch]'"
        ) from None


def from_torch(
    source: object, *, name: str = "torch", batch_first: bool | None = None
) -> TorchModel:
    """Import ``source`` (a module, a ``torch.save`` file path or a state_dict mapping)."""
    torch = _torch()
    if isinstance(source, torch.nn.Module):
        lstm = _find_lstm(torch, source)
        state: Mapping[str, Any] = lstm.state_dict()
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
    layers, weights = _from_state(torch, _flatten(state), what)
    network = Network(
        name=name,
        stacks=(Stack("main", 1, tuple(layers)),),
        provenance=f"nn.LSTM from {what}",
    )
    result = NetworkWeights(tuple(weights))
    result.check(network)
    return TorchModel(network, result, bool(batch_first))


def _find_lstm(torch: Any, module: Any) -> Any:
    found = [(n, m) for n, m in module.named_modules() if isinstance(m, torch.nn.LSTM)]
    if len(found) != 1:
        names = ", ".join(repr(n or "<root>") for n, _ in found) or "none"
        raise ConfigError(
            f"module {type(module).__name__} must contain exactly one nn.LSTM, "
            f"found {len(found)} ({names})"
        )
    return found[0][1]


def _load_file(torch: Any, path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise ConfigError(f"PyTorch file {path} does not exist")
    try:
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


def _from_state(
    torch: Any, state: Mapping[str, Any], what: str
) -> tuple[list[LSTMLayer], list[tuple[LSTMWeights, ...]]]:
    groups: dict[str, dict[tuple[str, int, bool], Any]] = {}
    for key, value in state.items():
        match = _KEY.match(key)
        if match:
            slot = (match["kind"], int(match["layer"]), match["rev"] is not None)
            groups.setdefault(match["prefix"], {})[slot] = (key, value)
    if len(groups) != 1:
        if not groups:
            sample = ", ".join(list(state)[:5]) or "no keys"
            raise ConfigError(
                f"{what} holds no nn.LSTM parameters (keys like 'weight_ih_l0'); found {sample}"
            )
        prefixes = ", ".join(repr(p.rstrip(".") or "<root>") for p in sorted(groups))
        raise ConfigError(
            f"{what} holds the parameters of {len(groups)} nn.LSTMs ({prefixes}); "
            "import one at a time by passing that LSTM's state_dict"
        )
    return _build(torch, next(iter(groups.values())), what)


def _build(
    torch: Any, params: dict[tuple[str, int, bool], Any], what: str
) -> tuple[list[LSTMLayer], list[tuple[LSTMWeights, ...]]]:
    num_layers = 1 + max(layer for _, layer, _ in params)
    dirs = 2 if any(rev for _, _, rev in params) else 1
    has_bias = any(kind.startswith("bias") for kind, _, _ in params)
    has_proj = any(kind == "weight_hr" for kind, _, _ in params)
    kinds = ["weight_ih", "weight_hh"] + ["bias_ih", "bias_hh"] * has_bias
    kinds += ["weight_hr"] * has_proj
    expected = {(k, n, d == 1) for k in kinds for n in range(num_layers) for d in range(dirs)}
    missing = sorted(expected - params.keys())
    if missing:
        kind, layer, rev = missing[0]
        raise ConfigError(
            f"{what} is missing {kind}_l{layer}{'_reverse' * rev} "
            f"(an nn.LSTM with {num_layers} layers and {dirs} directions needs it)"
        )

    def array(kind: str, n: int, d: int, shape: tuple[int, ...]) -> F64:
        key, value = params[(kind, n, d == 1)]
        out = _to_f64(torch, value, f"{what} {key}")
        if out.shape != shape:
            raise ConfigError(f"{what} {key} must have shape {list(shape)}, not {list(out.shape)}")
        return out

    hh_key, hh = params[("weight_hh", 0, False)]
    hh_shape = tuple(getattr(hh, "shape", ()))
    if len(hh_shape) != 2 or hh_shape[0] % 4 or hh_shape[0] == 0:
        raise ConfigError(
            f"{what} {hh_key} must have shape [4*hidden_size, recurrent size], not {list(hh_shape)}"
        )
    h_size, r_size = hh_shape[0] // 4, hh_shape[1]
    ih_key, ih = params[("weight_ih", 0, False)]
    ih_shape = tuple(getattr(ih, "shape", ()))
    if len(ih_shape) != 2 or ih_shape[1] < 1:
        raise ConfigError(f"{what} {ih_key} must have shape [4*hidden_size, input_size]")
    proj = r_size if has_proj else None
    if not has_proj and r_size != h_size:
        raise ConfigError(
            f"{what} {hh_key} must have shape {[4 * h_size, h_size]} without weight_hr_l0, "
            f"not {list(hh_shape)}"
        )
    layers: list[LSTMLayer] = []
    weights: list[tuple[LSTMWeights, ...]] = []
    for n in range(num_layers):
        in_size = ih_shape[1] if n == 0 else dirs * r_size
        directions = []
        for d in range(dirs):
            b = np.zeros(4 * h_size)
            if has_bias:
                b = array("bias_ih", n, d, (4 * h_size,)) + array("bias_hh", n, d, (4 * h_size,))
            directions.append(
                LSTMWeights(
                    w=array("weight_ih", n, d, (4 * h_size, in_size)),
                    u=array("weight_hh", n, d, (4 * h_size, r_size)),
                    b=b,
                    projection=array("weight_hr", n, d, (r_size, h_size)) if has_proj else None,
                )
            )
        layers.append(
            LSTMLayer(
                input_size=in_size,
                hidden_size=h_size,
                bidirectional=dirs == 2,
                projection_size=proj,
                name=f"L{n + 1}",
            )
        )
        weights.append(tuple(directions))
    return layers, weights


def _to_f64(torch: Any, value: Any, where: str) -> F64:
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point()):
            raise ConfigError(f"{where} must be a floating-point tensor, not {value.dtype}")
        return np.array(value.detach().to(device="cpu", dtype=torch.float64).numpy())
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return np.array(value, dtype=np.float64)
    raise ConfigError(f"{where} must be a floating-point tensor, not {type(value).__name__}")
