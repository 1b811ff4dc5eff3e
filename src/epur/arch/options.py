"""Design options the E-PUR paper does not describe, for what-if studies (docs/model.md s3).

Every option defaults to the design as modelled so far, so that the defaults keep every
result exactly. None of them is published: each is an assumed alternative, defined
exactly in ``docs/model.md`` ("Design options") and implemented in both timing models.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from epur.arch._fields import _to_int

__all__ = ["MAX_INPUT_STEPS_PER_WEIGHT_READ", "DesignOptions"]

MAX_INPUT_STEPS_PER_WEIGHT_READ = 64  # input registers per DPU lane

_Flag = Annotated[bool, Field(strict=True)]
_StepsPerRead = Annotated[
    int,
    BeforeValidator(_to_int),
    Field(strict=True, ge=1, le=MAX_INPUT_STEPS_PER_WEIGHT_READ),
]


class DesignOptions(BaseModel):
    """Alternatives to the modelled datapath; all off (1 for the count) is E-PUR as modelled.

    * ``constants_in_mfu``: biases and peepholes are held in a register file beside the
      accumulators and the MFU, not read from the weight buffer at every step.
    * ``double_buffered_weights``: weights fetched from main memory are written into a
      bank the DPU is not reading, so fills do not hold the weight buffer's port.
    * ``prefetch_next_layer``: a phase's first weights are fetched during the previous
      phase's idle main-memory time, where they fit beside it, instead of cold.
    * ``input_steps_per_weight_read``: MWL's input phase reads each weight chunk once for
      ``k`` consecutive steps (``k`` input registers and accumulators per lane).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    constants_in_mfu: _Flag = Field(
        False,
        description="biases and peepholes in a register file: no weight-buffer reads for them",
    )
    double_buffered_weights: _Flag = Field(
        False, description="weight fills go to a bank the DPU is not reading: no port contention"
    )
    prefetch_next_layer: _Flag = Field(
        False,
        description="fetch a phase's first resident weights in the previous phase's idle DRAM time",
    )
    input_steps_per_weight_read: _StepsPerRead = Field(
        1,
        description="MWL input phase: steps served by one weight-buffer read, 1 to 64",
    )
