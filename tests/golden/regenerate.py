"""Regenerate ``tests/golden/reproduce.json``: the figures of ``epur reproduce`` that the
golden test holds fixed (``tests/golden/test_golden.py``).

    python tests/golden/regenerate.py          # print the differences, then write
    python tests/golden/regenerate.py --check  # print them only; exit 1 if any

The figures come from the SRAM table recorded in the repository (``--energy-backend
table``), so they do not depend on the CACTI binary. Every run prints what changed
against the stored file before writing it: review that diff in the commit.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).with_name("reproduce.json")
RELATIVE_TOLERANCE = 1e-6  # everything here is deterministic: only float rounding may differ
_POINT = ("latency_s", "energy_j", "real_time_factor")
_SUMMARY = (
    "energy_reduction_vs_tegra_x1_avg",
    "speedup_vs_tegra_x1_avg",
    "energy_reduction_vs_tegra_x1_range",
    "speedup_vs_tegra_x1_range",
    "tegra_scenario",
)


def golden_figures() -> dict[str, Any]:
    """The figures the golden file holds, computed now."""
    from epur.arch import paper_preset
    from epur.energy import sram_backend
    from epur.report import reproduce, reproduction_json

    data = reproduction_json(reproduce(paper_preset(), sram_backend("table")))
    cases = {k: v for k, v in data["networks"].items()}
    cases |= {f"{k}_known_inputs": v for k, v in data["known_inputs"].items()}
    return {
        "relative_tolerance": RELATIVE_TOLERANCE,
        "summary": {k: data["summary"][k] for k in _SUMMARY},
        "networks": {
            key: {
                design: {f: entry[design].get(f) for f in _POINT}
                for design in ("baseline", "mwl", "baseline_on_mwl_buffers", "tegra_x1")
            }
            for key, entry in cases.items()
        },
        "consistency_holds": data["consistency"]["holds"],
    }


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out |= _leaves(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(tree, list):
        return {f"{prefix}[{i}]": v for i, v in enumerate(tree)}
    return {prefix: tree}


def differences(stored: dict[str, Any], now: dict[str, Any], rel: float) -> list[str]:
    """One line per figure that differs beyond ``rel`` (relative), is new or is gone."""
    old, new = _leaves(stored), _leaves(now)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        same = a == b
        if isinstance(a, float) and isinstance(b, float):
            same = math.isclose(a, b, rel_tol=rel, abs_tol=0.0)
        if not same:
            change = (
                f" ({b / a - 1:+.3%})"
                if isinstance(a, float) and isinstance(b, float) and a
                else ""
            )
            lines.append(f"{key}: {a} -> {b}{change}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print the diff only")
    args = parser.parse_args(argv)
    now = golden_figures()
    stored = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    diff = differences(stored, now, RELATIVE_TOLERANCE)
    print("\n".join(diff) if diff else "no differences")
    if args.check:
        return 1 if diff else 0
    if diff:
        GOLDEN.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
