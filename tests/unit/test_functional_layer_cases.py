"""The shared small layers (tests/layer_cases.py, which the RTL engine and the timing
model are checked on too): the compiled functional model gives numpy's bits."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from epur.functional.model import run_network
from tests.layer_cases import CASES, Case, ident, random_layer, weights_of


@pytest.mark.parametrize("case", CASES, ids=ident)
def test_compiled_is_numpy_on_the_shared_layers(case: Case) -> None:
    rng = np.random.default_rng(zlib.crc32(ident(case).encode()))
    arch, net = case.arch(), case.network()
    for wide in (False, True):  # inputs up to 4, and over the storage format's range
        w, x = random_layer(case, rng, wide)
        runs = [
            run_network(net, weights_of(w), {"main": x}, arch, case.dataflow,
                        tile_rows=case.tile_rows, keep_layers=True, compiled=compiled)
            for compiled in (True, False)
        ]  # fmt: skip
        fast, slow = ([*r.layer_outputs, *r.h_n, *r.c_n] for r in runs)
        for p, q in zip(fast, slow, strict=True):
            assert np.array_equal(p.view(np.uint64), q.view(np.uint64))
