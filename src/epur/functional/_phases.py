"""How ``model.run_network`` executes the schedule's phases on the layers' states.

``co_executed`` groups the phases that run together; an ``Executor`` runs each group:
a bidirectional layer's two input phases or two recurrences on its pool's two threads
(each direction writes only its own state), a whole recurrence in one compiled call
where the datapath has a compiled kernel, else step by step with numpy. The values
are those of the schedule's order in every case.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from epur.functional._steps import (
    LayerState,
    StepHook,
    fc_rows,
    input_tile,
    lstm_recurrence,
    lstm_steps,
)
from epur.functional.datapath import Datapath
from epur.schedule import ArrayKind, Direction, Phase, PhaseKind, Work
from epur.workload.network import FCLayer, LSTMLayer

__all__ = ["Executor", "co_executed"]


def co_executed(phases: tuple[Phase, ...]) -> list[tuple[Phase, ...]]:
    """The phases in execution groups: a bidirectional layer's two recurrences are
    independent, so they run together (one Python step for both directions; the
    values are those of the schedule's order). Under MWL, the backward input phase
    moves before the forward recurrence, which does not read it, and the two input
    phases run together."""
    out: list[tuple[Phase, ...]] = []
    k = 0
    while k < len(phases):
        a = phases[k : k + 4]
        if (
            _one_layer(a, 2)
            and all(_is_recurrence(p) for p in a[:2])
            and (a[0].works[0].direction != a[1].works[0].direction)
        ):
            out.append((a[0], a[1]))
            k += 2
        elif _one_layer(a, 4) and [p.kind for p in a] == [
            PhaseKind.INPUT, PhaseKind.RECURRENT, PhaseKind.INPUT, PhaseKind.RECURRENT
        ] and a[1].works[0].direction != a[3].works[0].direction:  # fmt: skip
            out += [(a[0], a[2]), (a[1], a[3])]
            k += 4
        else:
            out.append((a[0],))
            k += 1
    return out


@dataclass(frozen=True, eq=False)
class Executor:
    """One run's context: the layers' states, the datapath, the sequence lengths, the
    thread bound, the pool of two threads for a layer's directions, ``compiled``
    (whole recurrences in one compiled call) and the step hook."""

    states: list[LayerState]
    dp: Datapath
    lens: NDArray[np.int64] | None
    threads: int
    pool: ThreadPoolExecutor
    compiled: bool
    on_steps: StepHook | None

    def group(self, group: tuple[Phase, ...]) -> None:
        """Run one group of ``co_executed``."""
        first = group[0]
        if len(group) == 2 and first.kind == PhaseKind.INPUT:
            self._together(group, max(1, self.threads // 2))
        elif len(group) == 2 and self.compiled:
            self._together(group, 1)
        elif len(group) == 2:
            self._both_directions_in_numpy(group)
        elif self.compiled and _is_recurrence(first) and self._lstm(first):
            self.phase(first, 1)
        else:
            self.phase(first, self.threads)

    def phase(self, phase: Phase, threads: int) -> None:
        """One phase: a compiled recurrence, numpy steps, or input tiles (``threads``)."""
        if self.compiled and _is_recurrence(phase) and self._lstm(phase):
            work = phase.works[0]
            st = self.states[work.layer]
            order = np.asarray(phase.step_order(), dtype=np.int64)
            lstm_recurrence(st, self.dp, _direction(st.layer, work), order, _mwl(work),
                            self.lens, self.on_steps)  # fmt: skip
        elif phase.kind == PhaseKind.RECURRENT:
            self._steps_in_numpy(phase)
        else:
            self._input(phase, threads)

    def _together(self, pair: tuple[Phase, ...], threads: int) -> None:
        """A bidirectional layer's two phases on the pool's threads (the compiled code
        releases the GIL; each direction writes only its own state)."""
        for future in [self.pool.submit(self.phase, p, threads) for p in pair]:
            future.result()

    def _steps_in_numpy(self, phase: Phase) -> None:
        for t in phase.step_order():
            for work in phase.works:
                st = self.states[work.layer]
                if isinstance(st.layer, FCLayer):
                    fc_rows(st, self.dp, np.arange(st.layer.output_size), slice(t, t + 1))
                else:
                    lstm_steps(st, self.dp, [(_direction(st.layer, work), t)], _mwl(work),
                               self.lens)  # fmt: skip
                    self._done(1)

    def _both_directions_in_numpy(self, pair: tuple[Phase, ...]) -> None:
        first, second = pair
        st = self.states[first.works[0].layer]
        assert isinstance(st.layer, LSTMLayer)
        mwl = _mwl(first.works[0])
        d0, d1 = (_direction(st.layer, p.works[0]) for p in pair)
        for t0, t1 in zip(first.step_order(), second.step_order(), strict=True):
            lstm_steps(st, self.dp, [(d0, t0), (d1, t1)], mwl, self.lens)
            self._done(2)

    def _input(self, phase: Phase, threads: int) -> None:
        starts: dict[int, int] = {}  # per layer: the first row of its next tile
        for work in phase.works:
            st = self.states[work.layer]
            start = starts.get(work.layer, 0)
            if isinstance(st.layer, FCLayer):
                rows = work.groups[0].rows
                local = np.arange(max(rows))
                idx = np.sort(np.concatenate([4 * (start + local[: n]) + c
                                              for c, n in enumerate(rows)]))  # fmt: skip
                fc_rows(st, self.dp, idx.astype(np.int64), slice(None))
            else:
                d = _direction(st.layer, work)
                input_tile(st, self.dp, d, work.groups[0].rows[0], threads, start,
                           self.compiled)  # fmt: skip
            starts[work.layer] = start + max(work.groups[0].rows)

    def _lstm(self, phase: Phase) -> bool:
        return isinstance(self.states[phase.works[0].layer].layer, LSTMLayer)

    def _done(self, steps: int) -> None:
        if self.on_steps is not None:
            self.on_steps(steps)


def _direction(layer: LSTMLayer | FCLayer, work: Work) -> int:
    bidirectional = isinstance(layer, LSTMLayer) and layer.bidirectional
    return 1 if bidirectional and work.direction == Direction.BACKWARD else 0


def _mwl(work: Work) -> bool:
    return any(a.array.kind == ArrayKind.PARTIAL_SUMS for a in work.reads)


def _one_layer(phases: tuple[Phase, ...], n: int) -> bool:
    """The first ``n`` of ``phases`` exist and each is one work of the same layer."""
    if len(phases) < n:
        return False
    layer = phases[0].works[0].layer
    return all(len(p.works) == 1 and p.works[0].layer == layer for p in phases[:n])


def _is_recurrence(phase: Phase) -> bool:
    return phase.kind == PhaseKind.RECURRENT and len(phase.works) == 1
