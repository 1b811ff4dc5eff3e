"""The golden reproduction: ``epur reproduce``'s figures (paper preset, the recorded SRAM
table) against ``tests/golden/reproduce.json``. A deliberate change of the models
regenerates the file with ``python tests/golden/regenerate.py``, which prints the diff."""

from __future__ import annotations

import json

from tests.golden.regenerate import GOLDEN, differences, golden_figures


def test_reproduce_matches_the_golden_figures() -> None:
    stored = json.loads(GOLDEN.read_text())
    diff = differences(stored, golden_figures(), stored["relative_tolerance"])
    assert not diff, "run python tests/golden/regenerate.py and review:\n" + "\n".join(diff)


def test_the_comparison_sees_a_change_beyond_the_tolerance() -> None:
    stored = json.loads(GOLDEN.read_text())
    rel = stored["relative_tolerance"]
    latency = stored["networks"]["eesen"]["mwl"]["latency_s"]
    changed = json.loads(GOLDEN.read_text())
    changed["networks"]["eesen"]["mwl"]["latency_s"] = latency * (1 + 10 * rel)
    assert differences(stored, changed, rel) == [
        f"networks.eesen.mwl.latency_s: {latency} -> {latency * (1 + 10 * rel)} (+0.001%)"
    ]
    changed["networks"]["eesen"]["mwl"]["latency_s"] = latency * (1 + rel / 10)
    assert differences(stored, changed, rel) == []
