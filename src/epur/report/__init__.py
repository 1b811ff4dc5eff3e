"""Reports: tables, JSON and the paper reproduction."""

from epur.report.per_sequence import EnergyPer, energy_per
from epur.report.reproduce import Reproduction, reproduce, reproduction_json, reproduction_table
from epur.report.results import reproduction_text
from epur.report.tables import (
    evaluation_json,
    format_table,
    layer_table,
    sizes_json,
    sizes_table,
    summary_text,
)

__all__ = [
    "EnergyPer",
    "Reproduction",
    "energy_per",
    "evaluation_json",
    "format_table",
    "layer_table",
    "reproduce",
    "reproduction_json",
    "reproduction_table",
    "reproduction_text",
    "sizes_json",
    "sizes_table",
    "summary_text",
]
