"""Networks as E-PUR sees them: stacks of LSTM and fully-connected layers.

A network is an ordered list of *stacks*. Each stack is an ordered list of layers
that run over one sequence of ``seq_len`` steps (docs/model.md section 2):

* The first layer of a stack reads the stack's input sequence from main memory.
* Layer ``k > 0`` reads the output of layer ``k - 1``. If its ``input_size`` is
  larger than that output, the difference is *external features* read from main
  memory at every step (GNMT's attention context concatenated to every decoder
  layer's input, for example).
* The last layer's output is written to main memory.
* An *autoregressive* stack (GNMT's decoder) cannot run layer by layer: the input
  of step ``t`` depends on the output of step ``t - 1``, so the whole stack
  advances one step at a time through all its layers.

All validation happens in ``__post_init__``, so a ``Network`` built from Python is
checked exactly like one loaded from a file. Messages name the field, the value
and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from epur.errors import ConfigError

__all__ = [
    "MAX_FRAME_PERIOD_S",
    "MAX_LAYERS",
    "MAX_SIZE",
    "Activation",
    "FCLayer",
    "LSTMLayer",
    "Layer",
    "Network",
    "Stack",
]

MAX_SIZE = 2**24
"""The largest vector size, sequence length and batch (16,777,216): a 2**24-wide layer
already has 2**50 weights; anything larger is a mistake, refused before any work."""
MAX_LAYERS = 10_000
"""The most layers a network may have, all stacks together (the deepest published
recurrent networks have tens)."""
MAX_FRAME_PERIOD_S = 3600.0
"""The longest time one input step may stand for: an hour."""


class Activation(StrEnum):
    """Activation function a fully-connected layer applies in the MFU."""

    NONE = "none"
    RELU = "relu"
    SIGMOID = "sigmoid"
    TANH = "tanh"


def _positive(path: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path} must be a positive integer, not {value!r}")
    if value > MAX_SIZE:
        raise ConfigError(f"{path} must be at most 2**24 = {MAX_SIZE}, not {value}")


@dataclass(frozen=True, slots=True)
class LSTMLayer:
    """One LSTM layer (the cell of README, "The datapath, exactly").

    Parameters
    ----------
    input_size, hidden_size
        ``I`` and ``H``.
    bidirectional
        Forward and backward passes with their own weights; outputs concatenated.
    peepholes
        Diagonal peepholes ``p_i, p_f, p_o`` (``p_i*c_{t-1}`` and ``p_f*c_{t-1}``
        added to ``z_i, z_f``; ``p_o*c_t`` to ``z_o``).
    projection_size
        LSTMP: ``r_t = W_r h_t`` of size ``P`` feeds the recurrence and the next layer.
    residual
        The layer's input from the previous layer is added to its output
        (``y_t = out_t + x_t``), which needs equal sizes.
    reverse
        A unidirectional layer that runs backward in time, ``t = T-1 .. 0`` (ONNX's
        ``direction="reverse"``).
    """

    input_size: int
    hidden_size: int
    bidirectional: bool = False
    peepholes: bool = False
    projection_size: int | None = None
    residual: bool = False
    name: str = ""
    reverse: bool = False

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def recurrent_size(self) -> int:
        """Length of the recurrent vector: ``P`` with a projection, else ``H``."""
        return self.projection_size if self.projection_size is not None else self.hidden_size

    @property
    def output_size(self) -> int:
        """Output elements per step, both directions together."""
        return self.directions * self.recurrent_size

    def parameter_count(self) -> int:
        """Weights, biases, peepholes and projection of all directions."""
        h, r = self.hidden_size, self.recurrent_size
        per_dir = 4 * h * (self.input_size + r) + 4 * h
        per_dir += 3 * h if self.peepholes else 0
        per_dir += h * self.projection_size if self.projection_size is not None else 0
        return self.directions * per_dir

    def macs_per_step(self) -> int:
        h, r = self.hidden_size, self.recurrent_size
        per_dir = 4 * h * (self.input_size + r)
        per_dir += h * self.projection_size if self.projection_size is not None else 0
        return self.directions * per_dir


@dataclass(frozen=True, slots=True)
class FCLayer:
    """A fully-connected layer applied at every step: ``y_t = act(W x_t + b)``."""

    input_size: int
    output_size: int
    activation: Activation = Activation.NONE
    name: str = ""

    def __post_init__(self) -> None:
        """Accept the activation's name (``"tanh"``) as well as the enum member."""
        if not isinstance(self.activation, Activation):
            try:
                object.__setattr__(self, "activation", Activation(self.activation))
            except ValueError:
                allowed = ", ".join(a.value for a in Activation)
                raise ConfigError(
                    f"activation must be one of {allowed}, not {self.activation!r}"
                ) from None

    def parameter_count(self) -> int:
        return self.output_size * (self.input_size + 1)

    def macs_per_step(self) -> int:
        return self.output_size * self.input_size


Layer = LSTMLayer | FCLayer


@dataclass(frozen=True, slots=True)
class Stack:
    """Layers that run over one sequence of ``seq_len`` steps."""

    name: str
    seq_len: int
    layers: tuple[Layer, ...]
    autoregressive: bool = False


@dataclass(frozen=True, slots=True)
class Network:
    """A recurrent network: stacks of layers, a batch size and an optional frame period.

    ``frame_period_s`` is the time one input step stands for (10 ms for speech
    frames); it gives the real-time factor. ``provenance`` says where the
    topology comes from.
    """

    name: str
    stacks: tuple[Stack, ...]
    batch: int = 1
    frame_period_s: float | None = None
    description: str = ""
    provenance: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _validate(self)

    def layers(self) -> Iterator[tuple[Stack, Layer]]:
        """Every layer, in execution order, with its stack."""
        for stack in self.stacks:
            for layer in stack.layers:
                yield stack, layer

    @property
    def num_layers(self) -> int:
        return sum(len(s.layers) for s in self.stacks)

    def parameter_count(self) -> int:
        return sum(layer.parameter_count() for _, layer in self.layers())

    def macs_per_sequence(self) -> int:
        """Multiply-accumulates of one inference (all stacks, all steps, the whole batch)."""
        return self.batch * sum(
            stack.seq_len * sum(layer.macs_per_step() for layer in stack.layers)
            for stack in self.stacks
        )

    @property
    def sequence_duration_s(self) -> float | None:
        """Time one input sequence stands for (the first stack's steps x the frame
        period), if the network has a frame rate: what real time is measured against."""
        if self.frame_period_s is None:
            return None
        return self.stacks[0].seq_len * self.frame_period_s

    @property
    def is_autoregressive(self) -> bool:
        return any(s.autoregressive for s in self.stacks)

    def with_known_inputs(self) -> Network:
        """The same network with every stack's inputs known in advance (teacher forcing)."""
        stacks = tuple(replace(s, autoregressive=False) for s in self.stacks)
        return replace(self, stacks=stacks)

    def with_seq_len(self, seq_len: int) -> Network:
        """The same network with every stack running ``seq_len`` steps."""
        return replace(self, stacks=tuple(replace(s, seq_len=seq_len) for s in self.stacks))


def shortcut_size(stack: Stack, index: int) -> int:
    """Size of the vector a layer receives from below (the stack input for layer 0)."""
    if index == 0:
        return stack.layers[0].input_size
    return stack.layers[index - 1].output_size


def _validate(net: Network) -> None:
    if not isinstance(net.name, str) or not net.name:
        raise ConfigError(f"name must be a non-empty string, not {net.name!r}")
    _positive("batch", net.batch)
    period = net.frame_period_s
    if period is not None and (
        isinstance(period, bool)
        or not isinstance(period, int | float)
        or not 0 < period <= MAX_FRAME_PERIOD_S
    ):
        raise ConfigError(
            f"frame_period_s must be a number of seconds in (0, {MAX_FRAME_PERIOD_S:g}], "
            f"not {net.frame_period_s!r}"
        )
    if not net.stacks:
        raise ConfigError("stacks must hold at least one stack, not 0")
    layers = sum(len(s.layers) if isinstance(s, Stack) else 0 for s in net.stacks)
    if layers > MAX_LAYERS:
        raise ConfigError(f"layers must be at most {MAX_LAYERS}, all stacks together, not {layers}")
    for s, stack in enumerate(net.stacks):
        where = f"stacks[{s}]"
        _positive(f"{where}.seq_len", stack.seq_len)
        if not stack.layers:
            raise ConfigError(f"{where}.layers must hold at least one layer, not 0")
        for k, layer in enumerate(stack.layers):
            _validate_layer(stack, k, layer, f"{where}.layers[{k}]")


def _validate_layer(stack: Stack, k: int, layer: Layer, where: str) -> None:
    if not isinstance(layer, LSTMLayer | FCLayer):
        raise ConfigError(f"{where} must be an LSTMLayer or an FCLayer, not {layer!r}")
    _positive(f"{where}.input_size", layer.input_size)
    if isinstance(layer, LSTMLayer):
        _positive(f"{where}.hidden_size", layer.hidden_size)
        if layer.reverse and layer.bidirectional:
            raise ConfigError(f"{where}.reverse applies to unidirectional layers only")
        if layer.projection_size is not None:
            _positive(f"{where}.projection_size", layer.projection_size)
    else:
        _positive(f"{where}.output_size", layer.output_size)
    if k > 0:
        below = stack.layers[k - 1].output_size
        if layer.input_size < below:
            raise ConfigError(
                f"{where}.input_size must be at least the output size of the layer below "
                f"({below}), not {layer.input_size}"
            )
    if isinstance(layer, LSTMLayer) and layer.residual:
        shortcut = shortcut_size(stack, k)
        if layer.output_size != shortcut:
            raise ConfigError(
                f"{where}.residual needs the layer's output size ({layer.output_size}) to equal "
                f"the size of its input from below ({shortcut})"
            )
