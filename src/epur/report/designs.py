"""The designs of ``epur reproduce``: one spelling (these keys) in every table, figure and
JSON key, each with a description."""

from __future__ import annotations

__all__ = ["DESIGNS", "DESIGN_TEXT"]

DESIGNS = ("baseline", "mwl", "baseline_on_mwl_buffers")
DESIGN_TEXT = {
    "baseline": "baseline dataflow; weight buffers sized for it (each layer's W and U rows "
    "per gate), banked to keep up with the clock",
    "mwl": "MWL dataflow on the given architecture (weight buffers that hold U)",
    "baseline_on_mwl_buffers": "baseline dataflow on the MWL design's buffers",
}
