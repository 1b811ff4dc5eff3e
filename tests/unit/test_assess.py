"""``epur.evaluate``: the analytical models, and the functional model's accuracy on a
given input."""

from __future__ import annotations

import numpy as np
import pytest

import epur
from epur.api import format_settings
from epur.errors import ConfigError
from epur.evaluation import Design, SramSource
from epur.evaluation import evaluate as models_only
from epur.workload import LSTMLayer, Network, Stack, zoo_network
from epur.workload.weights import random_weights

NET = Network("n", (Stack("main", 6, (LSTMLayer(12, 16, bidirectional=True),)),))


def test_without_an_input_it_is_the_models_evaluate() -> None:
    design = Design.paper(sram=SramSource.NONE)
    got = epur.evaluate(zoo_network("bysdne"), design)
    want = models_only(zoo_network("bysdne"), design)
    assert got.accuracy is None and got.timing.latency_s() == want.timing.latency_s()


def test_accuracy_follows_the_designs_number_format() -> None:
    x = np.random.default_rng(0).standard_normal((6, 2, 12))
    weights = random_weights(NET, np.random.default_rng(1))
    errors = {}
    for fmt in ("fp32", "fp16", "q4.4"):
        design = Design.paper(format_settings(fmt), sram=SramSource.NONE)
        ev = epur.evaluate(NET, design, accuracy_inputs=x, weights=weights)
        assert ev.accuracy is not None and (ev.accuracy.steps, ev.accuracy.batch) == (6, 2)
        errors[fmt] = ev.accuracy.max_abs_error
        assert 0 <= ev.accuracy.max_abs_error <= ev.accuracy.max_rel_error  # |y| < 1
    assert errors["fp32"] < 1e-5 < errors["fp16"] < errors["q4.4"], errors


def test_a_several_stack_network_needs_a_mapping() -> None:
    gmat = zoo_network("gmat")
    with pytest.raises(ConfigError, match="map each stack"):
        epur.evaluate(gmat, Design.paper(sram=SramSource.NONE),
                      accuracy_inputs=np.zeros((3, 1, 1)))  # fmt: skip
