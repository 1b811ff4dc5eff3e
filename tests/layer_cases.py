"""Small LSTM layers, drawn once, that the three models check: the functional model
(compiled against numpy, ``test_functional_layer_cases``), the timing model (closed form
against the step-by-step reference, ``test_timing_layer_cases``) and the RTL layer engine
(bits against the functional model, cycles against the timing model,
``test_rtl_engine``): one vector set for all three (issue 13).

``CASES``: fixed configurations that reach the corners (one-chunk rows, ``[x h]`` in one
chunk, the largest sizes, reverse layers, MWL tiles) and four drawn ones;
``random_layer`` draws a layer's weights and inputs for a case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epur.api import format_settings
from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.workload.network import LSTMLayer, Network, Stack
from epur.workload.weights import LSTMWeights, NetworkWeights


@dataclass(frozen=True)
class Case:
    lanes: int
    storage: str
    act: str
    dataflow: str
    peep: bool
    i: int
    h: int
    t: int
    reverse: bool = False
    tile_rows: int | None = None

    def arch(self) -> ArchConfig:
        return apply_overrides(
            paper_preset(),
            [*format_settings(self.storage), f"mfu.activation={self.act}",
             f"dpu.lanes={self.lanes}"],
        )  # fmt: skip

    def rtl_arch(self) -> ArchConfig:
        """``arch()`` as the RTL engine builds it: the constants (biases, peepholes) read
        beside the MFU rather than through the weight buffers' port, weight fills into a
        spare bank, and a main memory that never holds the layer back (the engine's
        weights and inputs are loaded before it starts). Same numerics as ``arch()``."""
        return apply_overrides(
            self.arch(),
            ["options.constants_in_mfu=true", "options.double_buffered_weights=true",
             "dram.latency_ns=0", "dram.refresh_ns=0", "dram.bandwidth_bytes_per_s=1e13"],
        )  # fmt: skip

    def network(self, steps: int | None = None) -> Network:
        layer = LSTMLayer(self.i, self.h, peepholes=self.peep, reverse=self.reverse)
        return Network("n", (Stack("main", steps or self.t, (layer,)),))


CASES = [
    Case(4, "q8.8", "pwl16", "mwl", True, 13, 9, 4),
    Case(4, "q4.12", "lut256", "baseline", False, 7, 10, 3),
    Case(16, "q8.8", "lut256", "baseline", True, 21, 32, 3),
    Case(16, "q4.12", "pwl16", "mwl", False, 48, 20, 3),
    Case(16, "q8.8", "pwl16", "mwl", True, 5, 11, 5, tile_rows=4),  # one-chunk U rows
    Case(4, "q8.8", "lut256", "baseline", True, 3, 6, 4, reverse=True),
    Case(16, "q4.12", "pwl16", "baseline", True, 2, 3, 2),  # [x h] in one chunk
    Case(4, "q4.12", "lut256", "mwl", True, 48, 32, 8),  # the largest sizes
    Case(16, "q8.8", "pwl16", "baseline", False, 48, 32, 8),
    Case(16, "q4.12", "lut256", "mwl", True, 17, 16, 6, reverse=True, tile_rows=5),
]


def _drawn(seed: int, count: int) -> list[Case]:
    """Random configurations: every choice drawn, sizes up to H 32, I 48, T 8."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        h = int(rng.integers(1, 33))
        flow = str(rng.choice(["mwl", "baseline"]))
        tile = int(rng.integers(1, h + 1)) if flow == "mwl" and rng.random() < 0.3 else None
        out.append(Case(int(rng.choice([4, 16])), str(rng.choice(["q8.8", "q4.12"])),
                        str(rng.choice(["pwl16", "lut256"])), flow,
                        bool(rng.random() < 0.5), int(rng.integers(1, 49)), h,
                        int(rng.integers(1, 9)), bool(rng.random() < 0.25), tile))  # fmt: skip
    return out


CASES += _drawn(2024, 4)


def ident(c: Case) -> str:
    """A case's test id."""
    extra = ("-rev" if c.reverse else "") + (f"-tile{c.tile_rows}" if c.tile_rows else "")
    return (f"L{c.lanes}-{c.storage}-{c.act}-{c.dataflow}-{'peep' if c.peep else 'nopeep'}"
            f"-I{c.i}H{c.h}T{c.t}{extra}")  # fmt: skip


# ---- random layers and the functional model ------------------------------------------------


def random_layer(
    case: Case, rng: np.random.Generator, wide: bool = False
) -> tuple[LSTMWeights, np.ndarray]:
    """Weights of a random scale (up to 4/sqrt(H): saturated gates too) and inputs up to
    4 (``wide``: over the storage format's whole range)."""
    k = rng.uniform(0.5, 4.0) / np.sqrt(case.h)
    hi = (2.0 ** (int(case.storage[1]) - 1) if wide else 4.0) * rng.uniform(0.1, 1.0)

    def u(scale: float, *shape: int) -> np.ndarray:
        return rng.uniform(-scale, scale, size=shape)

    w = LSTMWeights(
        w=u(k, 4 * case.h, case.i), u=u(k, 4 * case.h, case.h), b=u(2 * k, 4 * case.h),
        peepholes=u(k, 3, case.h) if case.peep else None,
    )  # fmt: skip
    return w, u(hi, case.t, 1, case.i)


def weights_of(w: LSTMWeights) -> NetworkWeights:
    """A one-layer network's weights."""
    return NetworkWeights(((w,),))
