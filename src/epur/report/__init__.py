"""Reports: tables, JSON and the paper reproduction."""

from epur.report.reproduce import Reproduction, reproduce, reproduction_json, reproduction_table
from epur.report.tables import (
    evaluation_json,
    format_table,
    layer_table,
    sizes_json,
    sizes_table,
    summary_text,
)

__all__ = [
    "Reproduction",
    "evaluation_json",
    "format_table",
    "layer_table",
    "reproduce",
    "reproduction_json",
    "reproduction_table",
    "sizes_json",
    "sizes_table",
    "summary_text",
]
