"""Number formats of E-PUR's datapath (a leaf package: it imports nothing from epur)."""

from epur.numerics.formats import FormatKind, NumberFormat, parse_format

__all__ = ["FormatKind", "NumberFormat", "parse_format"]
