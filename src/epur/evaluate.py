"""``evaluate``: the one place where the models are composed (network -> results).

Today: schedule, then the timing and memory model. The energy model and the
functional model plug in here, after the timing model, as the roadmap adds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig
from epur.schedule import Dataflow, Schedule, build_schedule
from epur.timing import TimingResult, simulate
from epur.workload.network import Network

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    network: Network
    arch: ArchConfig
    schedule: Schedule
    timing: TimingResult

    @property
    def sequence_duration_s(self) -> float | None:
        """Time the input stands for (frames x frame period), if the network has a frame rate."""
        if self.network.frame_period_s is None:
            return None
        return self.network.stacks[0].seq_len * self.network.frame_period_s

    @property
    def real_time_factor(self) -> float | None:
        """Processing time / input duration: below 1 is faster than real time."""
        duration = self.sequence_duration_s
        return None if duration is None else self.timing.latency_s() / duration


def evaluate(
    network: Network,
    arch: ArchConfig,
    dataflow: Dataflow | str = Dataflow.BASELINE,
    tile_rows: int | None = None,
) -> Evaluation:
    """Schedule ``network`` on ``arch`` with ``dataflow`` and run the timing model."""
    schedule = build_schedule(network, arch, dataflow, tile_rows)
    return Evaluation(network, arch, schedule, simulate(schedule, arch))
