"""A point's accuracy: the functional model on a random input against the float64
reference (``accuracy:`` in a sweep spec).

Each network gets random weights (PyTorch's initialisation, ``random_weights``) and a
random standard-normal input of ``steps`` steps, batch 1, both drawn from ``seed``; its
float64 reference is computed once per worker process (a cache of a pure function of
the network, the steps and the seed) and every design of that network is run on the
same case. The error is the largest absolute difference between the design's output
and the reference's, over every step and feature of the last layer.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from epur.evaluation import Design
from epur.functional.feeds import needed_inputs
from epur.functional.model import run_network
from epur.functional.reference import LayerResult, reference_run
from epur.workload.network import Network
from epur.workload.weights import NetworkWeights, random_weights

__all__ = ["accuracy_error"]

_Case = tuple[Network, NetworkWeights, dict[str, NDArray[np.float64]], list[LayerResult]]


@lru_cache(maxsize=4)
def _case(network: Network, steps: int, seed: int) -> _Case:
    rng = np.random.default_rng(seed)
    net = replace(network, stacks=tuple(replace(s, seq_len=steps) for s in network.stacks))
    weights = random_weights(net, rng)
    inputs = {name: rng.standard_normal((steps, 1, features))
              for name, (_, features) in needed_inputs(net).items()}  # fmt: skip
    return net, weights, inputs, reference_run(net, weights, inputs)


def accuracy_error(network: Network, design: Design, steps: int, seed: int) -> float:
    """The largest absolute error of ``design``'s output on the network's random case."""
    net, weights, inputs, ref = _case(network, steps, seed)
    out = run_network(net, weights, inputs, design.arch, design.dataflow,
                      tile_rows=design.tile_rows, reference=ref, threads=1)  # fmt: skip
    return float(np.max(np.abs(out.y - ref[-1].y), initial=0.0))
