"""Load networks from YAML or TOML files, validated at the edge with pydantic.

File format (``schema_version: 1``)::

    schema_version: 1
    name: my-net
    batch: 1                 # optional
    frame_period_ms: 10      # optional, gives the real-time factor
    seq_len: 100             # one stack: seq_len + layers at the top level ...
    layers:
      - {type: lstm, input: 120, hidden: 320, bidirectional: true, peepholes: true}
      - {type: fc, input: 640, output: 46, activation: none}

    stacks:                  # ... or several stacks
      - {name: encoder, seq_len: 27, layers: [...]}
      - {name: decoder, seq_len: 28, autoregressive: true, layers: [...]}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from epur._files import read_mapping, shown
from epur._validation import config_error, schema_is_one
from epur.errors import ConfigError
from epur.workload.network import (
    MAX_FRAME_PERIOD_S,
    MAX_LAYERS,
    MAX_SIZE,
    Activation,
    FCLayer,
    LSTMLayer,
    Network,
    Stack,
)

__all__ = ["load_network", "network_from_dict"]

_STRICT = ConfigDict(frozen=True, extra="forbid")
PositiveInt = Annotated[int, Field(gt=0, le=MAX_SIZE, strict=True)]
"""Sizes, ``seq_len`` and ``batch``: whole numbers from 1 to 2**24 (``MAX_SIZE``); a
bool, a float (even ``8.0``) or a string is refused."""
Milliseconds = Annotated[
    float, Field(gt=0, le=MAX_FRAME_PERIOD_S * 1e3, strict=True, allow_inf_nan=False)
]
"""``frame_period_ms``: a finite number of milliseconds in (0, 3,600,000] (an hour)."""


class _LSTMSpec(BaseModel):
    model_config = _STRICT
    type: Literal["lstm"]
    input: PositiveInt
    hidden: PositiveInt
    bidirectional: bool = False
    peepholes: bool = False
    projection: PositiveInt | None = None
    residual: bool = False
    reverse: bool = False
    name: str = ""

    def build(self) -> LSTMLayer:
        return LSTMLayer(
            self.input,
            self.hidden,
            self.bidirectional,
            self.peepholes,
            self.projection,
            self.residual,
            self.name,
            self.reverse,
        )


class _FCSpec(BaseModel):
    model_config = _STRICT
    type: Literal["fc"]
    input: PositiveInt
    output: PositiveInt
    activation: Activation = Activation.NONE
    name: str = ""

    def build(self) -> FCLayer:
        return FCLayer(self.input, self.output, self.activation, self.name)


_LayerSpec = Annotated[_LSTMSpec | _FCSpec, Field(discriminator="type")]
_Layers = Annotated[list[_LayerSpec], Field(min_length=1)]  # at most MAX_LAYERS in all


class _StackSpec(BaseModel):
    model_config = _STRICT
    name: str = "main"
    seq_len: PositiveInt
    autoregressive: bool = False
    layers: _Layers


class _NetworkSpec(BaseModel):
    model_config = _STRICT
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    batch: PositiveInt = 1
    frame_period_ms: Milliseconds | None = None
    seq_len: PositiveInt | None = None
    layers: _Layers | None = None
    stacks: list[_StackSpec] | None = None

    _schema_is_an_int = field_validator("schema_version", mode="before")(schema_is_one)

    @model_validator(mode="after")
    def _one_form(self) -> _NetworkSpec:
        if self.stacks is not None and (self.layers is not None or self.seq_len is not None):
            raise ValueError("give either 'stacks' or 'seq_len' and 'layers', not both")
        if self.stacks is None and (self.layers is None or self.seq_len is None):
            raise ValueError("give 'seq_len' and 'layers' (or 'stacks')")
        return self

    def build(self) -> Network:
        if self.stacks is None:
            assert self.layers is not None and self.seq_len is not None  # checked above
            stacks = [_StackSpec(name="main", seq_len=self.seq_len, layers=self.layers)]
        else:
            stacks = self.stacks
        return Network(
            name=self.name,
            stacks=tuple(
                Stack(s.name, s.seq_len, tuple(spec.build() for spec in s.layers), s.autoregressive)
                for s in stacks
            ),
            batch=self.batch,
            frame_period_s=None if self.frame_period_ms is None else self.frame_period_ms / 1e3,
            description=self.description,
        )


def network_from_dict(data: dict[str, Any], source: str = "network") -> Network:
    """Validate a mapping against the network schema and build the ``Network``."""
    count = _layer_count(data)
    if count > MAX_LAYERS:  # before validating them: a file of 50,000 is refused at once
        raise ConfigError(f"{source}: layers must be at most {MAX_LAYERS}, all stacks "
                          f"together, not {count}")  # fmt: skip
    try:
        spec = _NetworkSpec.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source) from None
    try:
        return spec.build()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {_file_names(str(exc), spec.stacks is None)}") from None


def _layer_count(data: Any) -> int:
    """The layers of a network mapping, all stacks together, before any validation."""
    if not isinstance(data, dict):
        return 0
    stacks = data.get("stacks")
    groups = [data.get("layers")]
    if isinstance(stacks, list):
        groups += [stack.get("layers") for stack in stacks if isinstance(stack, dict)]
    return sum(len(group) for group in groups if isinstance(group, list))


_FILE_FIELDS = {
    "input_size": "input",
    "hidden_size": "hidden",
    "output_size": "output",
    "projection_size": "projection",
}


def _file_names(message: str, single_stack: bool) -> str:
    """Speak of a ``Network`` validation error in the file's own field names."""
    if single_stack:
        message = message.replace("stacks[0].", "")
    for python_name, file_name in _FILE_FIELDS.items():
        message = re.sub(rf"(\]\.){python_name}\b", rf"\g<1>{file_name}", message)
    return message


def load_network(path: str | Path) -> Network:
    """Load a network from a YAML or TOML file."""
    path = Path(path)
    return network_from_dict(read_mapping(path, "network"), shown(path))
