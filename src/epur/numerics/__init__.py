"""Number formats of E-PUR's datapath and their bit-exact arithmetic.

A leaf package: it imports nothing else from epur. ``formats`` defines the
formats and their grammar, ``quantize`` rounds to them, ``activations`` holds
the MFU's sigmoid and tanh (exact, LUT, PWL). ``epur.numerics.strategies``
(Hypothesis strategies for tests) is not imported here.
"""

from epur.numerics.activations import (
    ActivationFunction,
    ActivationKind,
    ActivationSpec,
    ActivationTable,
    activation,
    activation_table,
    parse_activation,
    sigmoid,
    tanh,
)
from epur.numerics.formats import (
    ALLOWED,
    SUFFIXES,
    FormatKind,
    NumberFormat,
    Overflow,
    Rounding,
    parse_format,
)
from epur.numerics.quantize import (
    INT8_MAX,
    FloatLimits,
    fixed_code_range,
    float_limits,
    from_fixed_int,
    int8_codes,
    int8_scale,
    quantize_int8,
    round_to_format,
    to_fixed_int,
)

__all__ = [
    "ALLOWED",
    "INT8_MAX",
    "SUFFIXES",
    "ActivationFunction",
    "ActivationKind",
    "ActivationSpec",
    "ActivationTable",
    "FloatLimits",
    "FormatKind",
    "NumberFormat",
    "Overflow",
    "Rounding",
    "activation",
    "activation_table",
    "fixed_code_range",
    "float_limits",
    "from_fixed_int",
    "int8_codes",
    "int8_scale",
    "parse_activation",
    "parse_format",
    "quantize_int8",
    "round_to_format",
    "sigmoid",
    "tanh",
    "to_fixed_int",
]
