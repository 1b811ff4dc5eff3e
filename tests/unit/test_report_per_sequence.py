"""Energy per batch, per sequence and per step: one definition for the text and the JSON."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from epur.arch import paper_preset
from epur.energy import sram_backend
from epur.evaluation import Evaluation, evaluate
from epur.report import evaluation_json, summary_text
from epur.report._format import sig
from epur.report.per_sequence import normalise, steps_per_sequence
from epur.workload import zoo_network


def _evaluate(name: str, batch: int = 1) -> Evaluation:
    network = replace(zoo_network(name), batch=batch)
    return evaluate(network, paper_preset(), "mwl", energy_backend=sram_backend("table"))


def _number(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return float(match.group(1).replace(",", ""))


def test_steps_of_a_sequence_are_every_stack_s_steps() -> None:
    # the zoo: EESEN 800 frames; GMAT 27 encoder steps then 28 decoder steps
    assert steps_per_sequence(zoo_network("eesen")) == 800
    assert steps_per_sequence(zoo_network("gmat")) == 27 + 28


def test_a_batch_s_energy_is_shared_by_its_sequences() -> None:
    per = normalise(8.0, replace(zoo_network("gmat"), batch=4))
    assert (per.per_batch_j, per.per_sequence_j) == (8.0, 2.0)
    assert per.per_step_j == pytest.approx(2.0 / 55)
    assert per.steps_text == "55 steps per sequence: encoder 27 + decoder 28"


def test_gmat_text_and_json_give_the_same_energy_per_step() -> None:
    ev = _evaluate("gmat")
    data = evaluation_json(ev)["total"]
    text = summary_text(ev)
    per_step_uj = _number(text, r"([\d.,]+) uJ per step")
    assert per_step_uj == pytest.approx(data["energy_per_step_j"] * 1e6, rel=1e-3)
    # one sequence of GMAT: the encoder's and the decoder's steps
    assert data["energy_per_step_j"] == pytest.approx(data["energy_j"] / 55)
    assert data["steps_per_sequence"] == 55
    assert "55 steps per sequence: encoder 27 + decoder 28" in text


def test_a_batch_of_four_says_what_is_per_batch_and_what_per_sequence() -> None:
    ev = _evaluate("eesen", batch=4)
    data = evaluation_json(ev)
    total = data["total"]
    assert total["energy_per_sequence_j"] == pytest.approx(total["energy_j"] / 4)
    assert total["energy_per_step_j"] == pytest.approx(total["energy_j"] / 4 / 800)
    assert set(data["energy_definitions"]) >= {"energy_j", "energy_per_sequence_j",
                                               "energy_per_step_j"}  # fmt: skip
    text = summary_text(ev)
    assert "latency per sequence" not in text
    latency_ms = _number(text, r"latency per batch\s+([\d.,]+) ms for 4 sequences")
    assert latency_ms == pytest.approx(total["latency_s"] * 1e3, rel=1e-3)
    batch_mj = _number(text, r"energy per batch\s+([\d.,]+) mJ for 4 sequences")
    assert batch_mj == pytest.approx(total["energy_j"] * 1e3, rel=1e-3)
    sequence_mj = _number(text, r"energy per sequence\s+([\d.,]+) mJ")
    assert sequence_mj == pytest.approx(total["energy_j"] / 4 * 1e3, rel=1e-3)


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [(6867.4, 4, "6,867"), (6867.4, 3, "6,870"), (5.6531, 3, "5.65"), (97.2512, 4, "97.25"),
     (0.0123449, 3, "0.0123"), (9.99996, 4, "10.00"), (0.5, 2, "0.50"), (2.5e10, 3, "2.50e+10")],
)  # fmt: skip
def test_significant_figures(value: float, digits: int, shown: str) -> None:
    assert sig(value, digits) == shown
