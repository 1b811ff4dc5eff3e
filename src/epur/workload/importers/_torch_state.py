"""A PyTorch state_dict as epur layers: one ``nn.LSTM`` and an optional ``nn.Linear`` head.

``layers_from_state`` reads the LSTM's parameters (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` and their
``_reverse`` twins, all under one prefix) and accounts for every other tensor:

* exactly one more ``<name>.weight [N, out]`` with an optional ``<name>.bias [N]``,
  stored after the LSTM's parameters, where ``out`` is the LSTM's output size
  (``dirs * (proj_size or hidden_size)``), is an ``nn.Linear`` head applied to every
  step of the LSTM's output: an ``FCLayer`` named ``<name>``;
* anything else is refused with a ``ConfigError`` naming the keys, never dropped.

Entries that hold no tensor (an epoch counter in a checkpoint) are metadata and are
ignored; a list or tuple of tensors is refused like any other unknown tensor.
Weights whose recurrent matrix has 3 gate blocks (``weight_hh_l0 [3H, H]``) are a
GRU's and are refused as such, as are a plain RNN's (``[H, H]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.errors import ConfigError
from epur.workload.importers._limits import check_elements
from epur.workload.network import FCLayer, Layer, LSTMLayer
from epur.workload.weights import FCWeights, LayerWeights, LSTMWeights

__all__ = ["layers_from_state", "to_f64"]

F64 = NDArray[np.float64]

_KEY = re.compile(
    r"^(?P<prefix>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"_l(?P<layer>\d+)(?P<rev>_reverse)?$"
)
_Params = dict[tuple[str, int, bool], tuple[str, Any]]
_MAX_INDEX_DIGITS = 9  # int() of a longer index is wasted work (and fails past 4,300 digits)


def layers_from_state(
    torch: Any, state: Mapping[str, Any], what: str
) -> tuple[list[Layer], list[LayerWeights]]:
    """The LSTM layers (and the FC head, if any) of a flat state_dict, with their weights."""
    groups: dict[str, _Params] = {}
    positions: dict[str, int] = {}
    for position, (key, value) in enumerate(state.items()):
        match = _KEY.match(key)
        if match:
            if len(match["layer"]) > _MAX_INDEX_DIGITS:
                raise ConfigError(
                    f"{what} {_short(key)}: layer index of {len(match['layer'])} digits; an "
                    "nn.LSTM numbers its layers 0, 1, 2, ... (weight_ih_l0, weight_ih_l1, ...)"
                )
            slot = (match["kind"], int(match["layer"]), match["rev"] is not None)
            groups.setdefault(match["prefix"], {})[slot] = (key, value)
        elif _holds_tensor(torch, value):
            positions[key] = position
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
    params = next(iter(groups.values()))
    _check_layer_indices(params, what)
    check_elements(
        ((key, tuple(value.shape)) for key, value in state.items() if _is_tensor(torch, value)),
        what,
    )
    _refuse_other_rnns(params, what)
    lstm, weights = _build(torch, params, what)
    layers: list[Layer] = list(lstm)
    order = {key: position for position, key in enumerate(state)}
    lstm_end = max(order[key] for key, _ in params.values())
    head = _head(torch, state, positions, lstm_end, lstm[-1].output_size, what)
    if head is not None:
        layers.append(head[0])
        weights.append(head[1])
    return layers, weights


def _check_layer_indices(params: _Params, what: str) -> None:
    """Layers must be numbered 0, 1, ..., n-1: a ConfigError naming the first key after a
    gap (``weight_ih_l999999999`` leaves layers 1 to 999999998 without parameters)."""
    for expected, index in enumerate(sorted({n for _, n, _ in params})):
        if index != expected:
            key = next(k for (_, n, _), (k, _) in params.items() if n == index)  # the first
            raise ConfigError(
                f"{what} {_short(key)}: layer index {index} follows "
                f"{f'layer {expected - 1}' if expected else 'no layer 0'}; an nn.LSTM numbers "
                f"its layers 0, 1, 2, ... without gaps, so layer {expected} is missing"
            )


def _short(key: str) -> str:
    return key if len(key) <= 80 else f"{key[:40]}...{key[-20:]}"


def _is_tensor(torch: Any, value: Any) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray)


def _holds_tensor(torch: Any, value: Any) -> bool:
    """A tensor, or a list or tuple with a tensor somewhere inside (never metadata)."""
    if isinstance(value, list | tuple):
        return any(_holds_tensor(torch, v) for v in value)
    return isinstance(value, torch.Tensor | np.ndarray)


def _refuse_other_rnns(params: _Params, what: str) -> None:
    """A GRU's or a plain RNN's keys look like an LSTM's: tell them apart by gate count."""
    if ("weight_hh", 0, False) not in params or any(k == "weight_hr" for k, _, _ in params):
        return
    key, value = params[("weight_hh", 0, False)]
    shape = tuple(getattr(value, "shape", ()))
    if len(shape) != 2 or shape[1] < 1:
        return
    rows, cols = shape
    if rows == 3 * cols:
        kind, blocks = "GRU", 3
    elif rows == cols:
        kind, blocks = "RNN", 1
    else:
        return
    raise ConfigError(
        f"{kind} is not supported: {what} {key} has shape {list(shape)}, {blocks} gate "
        f"block{'s' * (blocks > 1)} of hidden size {cols}: the weights of an nn.{kind}; epur "
        f"runs LSTMs (nn.LSTM: 4 gate blocks, [{4 * cols}, {cols}])"
    )


def _head(
    torch: Any,
    state: Mapping[str, Any],
    positions: Mapping[str, int],
    lstm_end: int,
    out_size: int,
    what: str,
) -> tuple[FCLayer, FCWeights] | None:
    """The ``nn.Linear`` head among the non-LSTM tensors, or a ConfigError naming them."""
    extra = sorted(positions, key=positions.__getitem__)
    if not extra:
        return None
    weight_keys = [k for k in extra if k == "weight" or k.endswith(".weight")]
    prefix = weight_keys[0][: -len("weight")] if len(weight_keys) == 1 else None
    allowed = {f"{prefix}weight", f"{prefix}bias"} if prefix is not None else set()
    if prefix is not None and set(extra) <= allowed:
        w = to_f64(torch, state[f"{prefix}weight"], f"{what} {prefix}weight")
        b_value = state.get(f"{prefix}bias")
        b = None if b_value is None else to_f64(torch, b_value, f"{what} {prefix}bias")
        fits = w.ndim == 2 and w.shape[1] == out_size and w.shape[0] >= 1
        fits = fits and (b is None or b.shape == (w.shape[0],))
        after = min(positions[k] for k in extra) > lstm_end
        if fits and after:
            name = prefix.rstrip(".").rsplit(".", 1)[-1] or "fc"
            layer = FCLayer(input_size=out_size, output_size=w.shape[0], name=name)
            return layer, FCWeights(w, np.zeros(w.shape[0]) if b is None else b)
    shown = ", ".join(f"{k} {_shape(state[k])}" for k in extra[:8])
    more = f" and {len(extra) - 8} more" if len(extra) > 8 else ""
    raise ConfigError(
        f"{what} holds keys epur does not understand: {shown}{more}; besides one nn.LSTM, "
        f"epur imports only an nn.Linear head stored after it (<name>.weight [N, {out_size}] "
        "and optionally <name>.bias [N], applied to every step of the LSTM's output)"
    )


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return str(list(shape)) if shape is not None else f"({type(value).__name__})"


def _build(torch: Any, params: _Params, what: str) -> tuple[list[LSTMLayer], list[LayerWeights]]:
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
        return to_f64(torch, value, f"{what} {key}", shape)

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
    weights: list[LayerWeights] = []
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


def to_f64(torch: Any, value: Any, where: str, shape: tuple[int, ...] | None = None) -> F64:
    """A floating-point tensor or array as float64 (exact for float32 and float16); with
    ``shape``, its declared shape is checked first, before anything is converted."""
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point()):
            raise ConfigError(f"{where} must be a floating-point tensor, not {value.dtype}")
    elif not (isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
        raise ConfigError(f"{where} must be a floating-point tensor, not {type(value).__name__}")
    if shape is not None and tuple(value.shape) != shape:
        raise ConfigError(f"{where} must have shape {list(shape)}, not {list(value.shape)}")
    if isinstance(value, torch.Tensor):
        return np.array(value.detach().to(device="cpu", dtype=torch.float64).numpy())
    return np.array(value, dtype=np.float64)
