"""Scheduling and simulating cost work linear in the number of layers (issue 9).

The check counts the algorithm's steps, never the clock: every Python line executed in
``epur.schedule`` and ``epur.timing`` (loop iterations and generator steps included) while
``build_schedule`` and ``simulate`` handle a network of ``n`` and of ``2n`` layers. Work
linear in the layers doubles; a quadratic part (each phase scanning every array, a
placement scanning every earlier array, ...) grows it about fourfold. Measured: 2.00x
for each network and dataflow here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import epur.schedule
import epur.timing
from epur.arch import paper_preset
from epur.schedule import build_schedule
from epur.timing import simulate
from epur.workload import FCLayer, LSTMLayer, Network, Stack

WATCHED = tuple(str(Path(m.__file__).parent) for m in (epur.schedule, epur.timing))


def lines_executed(fn: Callable[[], object]) -> int:
    """Python lines executed in the watched packages while ``fn`` runs."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(WATCHED) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def one_stack(n: int) -> Network:
    layers = tuple(
        LSTMLayer(8, 4, bidirectional=True, peepholes=True) if k % 3 == 0
        else LSTMLayer(8, 8, residual=True) if k % 3 == 1
        else FCLayer(8, 8)
        for k in range(n)
    )  # fmt: skip
    return Network("deep", (Stack("main", 5, layers),))


def many_stacks(n: int) -> Network:
    stacks = tuple(
        Stack(f"s{s}", 5, tuple(LSTMLayer(4, 4) for _ in range(5))) for s in range(n // 5)
    )
    return Network("wide", stacks)


@pytest.mark.parametrize("make", [one_stack, many_stacks])
@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_schedule_and_simulate_work_grows_linearly_with_layers(
    make: Callable[[int], Network], dataflow: str
) -> None:
    arch = paper_preset()

    def work(n: int) -> int:
        network = make(n)
        return lines_executed(lambda: simulate(build_schedule(network, arch, dataflow), arch))

    small, large = work(150), work(300)
    assert large <= 2.2 * small, (
        f"{make.__name__}, {dataflow}: {small} lines for 150 layers, {large} for 300 "
        f"({large / small:.2f}x for twice the layers)"
    )
