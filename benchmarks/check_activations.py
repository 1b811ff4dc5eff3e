"""Every float32 input of the compiled recurrences' exact sigmoid and tanh (``_vmath``)
against numpy's float64 definition (``epur.numerics.activations``).

Run: ``python benchmarks/check_activations.py [--json FILE]`` (about 2**32 inputs per
function, a few minutes on 2 cores; writes ``benchmarks/results/activations_check.json``).

For each function it records the largest relative difference between the two float64
evaluations (over the finite values of at least 2**-150, below which both round to an
fp32 zero; the compiled sigmoid's exp stops at exp(-200)), how many inputs
``unsure`` hands back to numpy, and how many inputs it keeps whose fp32 rounding differs
from numpy's: that count must be 0, since it is what makes the compiled recurrences
bit-identical to the numpy datapath.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

from epur.functional._vmath import sigmoid64, tanh64, unsure
from epur.numerics.activations import ActivationFunction, _f64

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1 << 24


@njit(parallel=True, error_model="numpy", cache=True)
def _evaluate(x: np.ndarray, fn: int) -> tuple[np.ndarray, np.ndarray]:
    e = np.empty(x.size)
    bad = np.empty(x.size, dtype=np.bool_)
    for j in prange(x.size):
        v = np.float64(x[j])
        e[j] = sigmoid64(v) if fn == 0 else tanh64(v)
        bad[j] = unsure(e[j])
    return e, bad


def check(function: ActivationFunction) -> dict[str, float | int]:
    worst, handed, wrong = 0.0, 0, 0
    for start in range(0, 1 << 32, CHUNK):
        x = np.arange(start, start + CHUNK, dtype=np.uint32).view(np.float32)
        e, bad = _evaluate(x, 0 if function is ActivationFunction.SIGMOID else 1)
        with np.errstate(all="ignore"):
            ref = _f64(function, x.astype(np.float64))
        got, want = e.astype(np.float32), ref.astype(np.float32)
        same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
        wrong += int(np.count_nonzero(~same & ~bad))
        handed += int(np.count_nonzero(bad))
        normal = np.isfinite(ref) & (np.abs(ref) >= 2.0**-150)  # below: fp32 zero either way
        rel = np.abs(e[normal] - ref[normal]) / np.abs(ref[normal])
        worst = max(worst, float(rel.max(initial=0.0)))
    return {
        "inputs": 1 << 32,
        "max_relative_difference": worst,
        "max_relative_difference_log2": math.log2(worst) if worst else None,
        "handed_to_numpy": handed,
        "kept_but_rounded_differently": wrong,
    }  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks/results/activations_check.json"
    )
    args = parser.parse_args()
    results: dict[str, object] = {"date": time.strftime("%Y-%m-%d")}
    for function in ActivationFunction:
        t = time.perf_counter()
        results[function.value] = check(function)
        print(
            function.value, results[function.value], f"{time.perf_counter() - t:.0f} s", flush=True
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
