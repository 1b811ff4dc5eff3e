"""Number formatting shared by the text, Markdown, HTML and figure reports."""

from __future__ import annotations

import math

__all__ = ["sig"]


def sig(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant figures, in plain notation with thousands
    separators (``6,867``, ``97.25``, ``5.653``, ``0.01234``); scientific notation only
    below 1e-4 or from 1e9 on."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4 or magnitude >= 9:
        return f"{value:.{digits - 1}e}"
    if round(abs(value), digits - 1 - magnitude) >= 10 ** (magnitude + 1):  # 9.9996 -> 10.00
        magnitude += 1
    rounded = round(value, digits - 1 - magnitude)
    return f"{rounded:,.{max(0, digits - 1 - magnitude)}f}"
