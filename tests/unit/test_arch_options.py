"""Unit tests for ``epur.arch.options``: the design options, their defaults and ranges."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from epur.arch import PROVENANCE, apply_overrides, paper_preset
from epur.arch.options import MAX_INPUT_STEPS_PER_WEIGHT_READ, DesignOptions
from epur.errors import ConfigError

FIELDS = (
    "constants_in_mfu",
    "double_buffered_weights",
    "prefetch_next_layer",
    "input_steps_per_weight_read",
)


def test_defaults_are_the_design_as_modelled() -> None:
    options = paper_preset().options
    assert options == DesignOptions()
    assert not options.constants_in_mfu
    assert not options.double_buffered_weights
    assert not options.prefetch_next_layer
    assert options.input_steps_per_weight_read == 1


def test_every_option_is_described_and_assumed() -> None:
    assert tuple(DesignOptions.model_fields) == FIELDS
    for name, info in DesignOptions.model_fields.items():
        assert info.description, name
        assert PROVENANCE[f"options.{name}"].status == "assumed"


def test_options_are_set_from_the_command_line() -> None:
    arch = apply_overrides(
        paper_preset(),
        [
            "options.constants_in_mfu=true",
            "options.double_buffered_weights=true",
            "options.prefetch_next_layer=true",
            "options.input_steps_per_weight_read=8",
        ],
    )
    assert arch.options == DesignOptions(
        constants_in_mfu=True,
        double_buffered_weights=True,
        prefetch_next_layer=True,
        input_steps_per_weight_read=8,
    )
    assert arch.dpu == paper_preset().dpu  # nothing else moves


@pytest.mark.parametrize("k", [0, -1, MAX_INPUT_STEPS_PER_WEIGHT_READ + 1, 2.5, True])
def test_input_steps_per_weight_read_has_a_range(k: object) -> None:
    with pytest.raises(ValidationError, match="input_steps_per_weight_read"):
        DesignOptions.model_validate({"input_steps_per_weight_read": k})


@pytest.mark.parametrize("k", [1, 2, MAX_INPUT_STEPS_PER_WEIGHT_READ, "16", 4.0])
def test_input_steps_per_weight_read_accepts_whole_numbers(k: int | str | float) -> None:
    options = DesignOptions.model_validate({"input_steps_per_weight_read": k})
    assert options.input_steps_per_weight_read == int(k)


@pytest.mark.parametrize("bad", ["yes please", 2, "1"])
def test_flags_are_booleans(bad: object) -> None:
    with pytest.raises(ValidationError, match="constants_in_mfu"):
        DesignOptions.model_validate({"constants_in_mfu": bad})


def test_unknown_options_are_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"options\.constant_in_mfu"):
        apply_overrides(paper_preset(), ["options.constant_in_mfu=true"])
    with pytest.raises(ValidationError):
        DesignOptions.model_validate({"prefetch": True})


def test_options_are_frozen() -> None:
    with pytest.raises(ValidationError):
        DesignOptions().constants_in_mfu = True  # type: ignore[misc]
