"""A network built in PyTorch and run as a framework user would: ``nn.LSTM`` per layer.

Each LSTM layer is one ``nn.LSTM`` (one layer; both directions when bidirectional; the
projection as ``proj_size``), each fully-connected layer an ``nn.Linear`` and its
activation. Weights are the model's (``NetworkWeights``: ``W``, ``U``, the bias as
``bias_ih`` with ``bias_hh = 0``, the projection) or random, drawn on the device as
PyTorch initialises ``nn.LSTM`` (U(-k, k), k = 1/sqrt(H)) from a seeded generator.
Peepholes (no ``nn.LSTM`` has them) are left out.

* A layer-by-layer stack runs each layer over the whole sequence ``[T, B, I]`` in one
  call (what cuDNN and oneDNN batch best: the input GEMM over the sequence, then the
  recurrence). A reverse layer runs on the flipped sequence; extra input features
  (``input_size`` above the size of the layer below) are a fixed random tensor
  concatenated to its input; a residual layer adds its input from below.
* An autoregressive stack advances one step at a time through all its layers, each
  ``nn.LSTM`` called on one step with its carried ``(h, c)``: the input of step ``t`` is
  the last layer's output of step ``t - 1`` (zeros at ``t = 0``), cut or completed with
  fixed random features to the first layer's ``input_size`` (the network says only that
  the step depends on the previous one; an embedding lookup is not modelled).

``torch`` is imported only by ``load_torch``; nothing here runs at import.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from epur.errors import ConfigError
from epur.workload.network import Activation, FCLayer, Layer, Network, Stack
from epur.workload.weights import FCWeights, LSTMWeights, NetworkWeights

__all__ = ["DTYPES", "INSTALL_TORCH", "TorchNetwork", "build", "load_torch", "torch_device"]

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
INSTALL_TORCH = (
    "epur baseline needs PyTorch (torch>=2.1): pip install 'epur[torch]' "
    "(in a source checkout pip install -e '.[torch]')"
)


def load_torch() -> Any:
    """The ``torch`` module, or a ``ConfigError`` saying how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ConfigError(INSTALL_TORCH) from None


def torch_device(torch: Any, device: str, dtype: str) -> Any:
    """``torch.device`` for ``device`` (``cpu`` or ``cuda``), checked to run an LSTM in
    ``dtype``: a ``ConfigError`` naming the value and what is allowed otherwise."""
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, not {device!r}")
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"--device cuda needs a CUDA GPU and a CUDA build of PyTorch; this PyTorch "
            f"({torch.__version__}) sees none: use --device cpu"
        )
    dev = torch.device(device)
    lstm = torch.nn.LSTM(8, 8).to(device=dev, dtype=getattr(torch, DTYPES[dtype]))
    try:
        with torch.inference_mode():
            lstm(torch.zeros(2, 1, 8, device=dev, dtype=lstm.weight_hh_l0.dtype))
    except (RuntimeError, NotImplementedError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"--dtype {dtype} is not supported on {device} by PyTorch {torch.__version__} "
            f"({first}); use fp32"
        ) from None
    return dev


@dataclass(frozen=True, eq=False)
class TorchNetwork:
    """A network's PyTorch modules and fixed inputs, ready to run ``batch`` sequences."""

    torch: Any
    network: Network
    device: Any
    stacks: tuple[tuple[Any, ...], ...]  # modules per layer, per stack
    inputs: tuple[Any, ...]  # per stack: [T, B, I] (autoregressive: [1, B, extra])
    extras: tuple[tuple[Any | None, ...], ...]  # per stack, per layer: extra features

    def run(self) -> Any:
        """One forward pass of the batch over every stack; the last stack's output."""
        out = None
        with self.torch.inference_mode(), warnings.catch_warnings():
            # PyTorch warns that oneDNN lacks projections and falls back: expected
            warnings.filterwarnings("ignore", message="LSTM with projections")
            for k, stack in enumerate(self.network.stacks):
                run = _run_stepwise if stack.autoregressive else _run_layers
                out = run(self, k)
        return out


def build(
    torch: Any, network: Network, weights: NetworkWeights | None, device: Any, dtype: str,
    seed: int,
) -> TorchNetwork:  # fmt: skip
    """``network`` (batch ``network.batch``) in PyTorch on ``device`` in ``dtype``."""
    tdtype = getattr(torch, DTYPES[dtype])
    gen = torch.Generator(device=device).manual_seed(seed)
    layer_weights = iter(weights.layers) if weights is not None else None
    stacks, inputs, extras = [], [], []
    for stack in network.stacks:
        mods = []
        for layer in stack.layers:
            given = next(layer_weights) if layer_weights is not None else None
            mod = _module(torch, layer).to(device=device, dtype=tdtype)
            _init(torch, layer, mod, given, gen)  # on the device: the generator is there
            mods.append(mod.eval())
        stacks.append(tuple(mods))
        b, t = network.batch, (1 if stack.autoregressive else stack.seq_len)
        first = stack.layers[0].input_size
        fed = _output_size(stack.layers[-1]) if stack.autoregressive else 0
        rand = _randn(torch, gen, device, tdtype)
        inputs.append(rand(t, b, max(first - fed, 0)))
        extras.append(tuple(_extra(stack, k, t, b, rand) for k in range(len(stack.layers))))
    return TorchNetwork(torch, network, device, tuple(stacks), tuple(inputs), tuple(extras))


def _randn(torch: Any, gen: Any, device: Any, dtype: Any) -> Callable[..., Any]:
    def rand(*shape: int) -> Any:
        return torch.randn(*shape, generator=gen, device=device).to(dtype)

    return rand


def _output_size(layer: Layer) -> int:
    return layer.output_size


def _extra(stack: Stack, k: int, t: int, b: int, rand: Callable[..., Any]) -> Any | None:
    if k == 0:
        return None
    extra = stack.layers[k].input_size - stack.layers[k - 1].output_size
    return rand(t, b, extra) if extra > 0 else None


def _module(torch: Any, layer: Layer) -> Any:
    nn = torch.nn
    if isinstance(layer, FCLayer):
        lin = nn.Linear(layer.input_size, layer.output_size)
        act = {Activation.RELU: nn.ReLU(), Activation.SIGMOID: nn.Sigmoid(),
               Activation.TANH: nn.Tanh()}.get(layer.activation)  # fmt: skip
        return lin if act is None else nn.Sequential(lin, act)
    return nn.LSTM(layer.input_size, layer.hidden_size, bidirectional=layer.bidirectional,
                   proj_size=layer.projection_size or 0)  # fmt: skip


def _init(torch: Any, layer: Layer, mod: Any, given: object, gen: Any) -> None:
    """The model's weights (``given``) or PyTorch's initialisation drawn from ``gen``."""
    if isinstance(layer, FCLayer):
        lin = mod[0] if isinstance(mod, torch.nn.Sequential) else mod
        if isinstance(given, FCWeights):
            _copy(torch, lin.weight, given.w)
            _copy(torch, lin.bias, given.b)
        else:
            _uniform(torch, lin, 1 / np.sqrt(layer.input_size), gen)
    elif isinstance(given, tuple):
        for d, wd in enumerate(given):
            _copy_direction(torch, mod, "_reverse" if d else "", wd)
    else:
        _uniform(torch, mod, 1 / np.sqrt(layer.hidden_size), gen)


def _uniform(torch: Any, module: Any, k: float, gen: Any) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-k, k, generator=gen)


def _copy(torch: Any, param: Any, value: np.ndarray[Any, Any]) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def _copy_direction(torch: Any, lstm: Any, suffix: str, wd: LSTMWeights) -> None:
    _copy(torch, getattr(lstm, f"weight_ih_l0{suffix}"), wd.w)
    _copy(torch, getattr(lstm, f"weight_hh_l0{suffix}"), wd.u)
    _copy(torch, getattr(lstm, f"bias_ih_l0{suffix}"), wd.b)
    _copy(torch, getattr(lstm, f"bias_hh_l0{suffix}"), np.zeros_like(wd.b))
    if wd.projection is not None:
        _copy(torch, getattr(lstm, f"weight_hr_l0{suffix}"), wd.projection)


def _layer(tn: TorchNetwork, layer: Layer, mod: Any, x: Any, extra: Any, state: Any) -> Any:
    """One layer on ``x`` (``[T, B, .]``); returns ``(y, state)``."""
    torch = tn.torch
    inp = x if extra is None else torch.cat((x, extra), dim=2)
    if isinstance(layer, FCLayer):
        return mod(inp), None
    if layer.reverse:
        inp = inp.flip(0)
    y, state = mod(inp, state)
    if layer.reverse:
        y = y.flip(0)
    if layer.residual:
        y = y + x
    return y, state


def _run_layers(tn: TorchNetwork, k: int) -> Any:
    stack = tn.network.stacks[k]
    x = tn.inputs[k]
    for layer, mod, extra in zip(stack.layers, tn.stacks[k], tn.extras[k], strict=True):
        x, _ = _layer(tn, layer, mod, x, extra, None)
    return x


def _run_stepwise(tn: TorchNetwork, k: int) -> Any:
    torch = tn.torch
    stack = tn.network.stacks[k]
    first = stack.layers[0].input_size
    fixed = tn.inputs[k]
    batch = tn.network.batch
    fed = torch.zeros(1, batch, _output_size(stack.layers[-1]), device=tn.device,
                      dtype=fixed.dtype)  # fmt: skip
    states: list[Any] = [None] * len(stack.layers)
    for _ in range(stack.seq_len):
        x = torch.cat((fed, fixed), dim=2)[:, :, :first]
        for j, (layer, mod, extra) in enumerate(
            zip(stack.layers, tn.stacks[k], tn.extras[k], strict=True)
        ):
            x, states[j] = _layer(tn, layer, mod, x, extra, states[j])
        fed = x
    return fed
