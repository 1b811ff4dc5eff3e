"""Timing and memory models: the closed form, buffer sizing and their result types."""

from epur.timing.model import simulate
from epur.timing.result import AccessCycles, Counts, LayerResult, Peaks, TimingResult
from epur.timing.sizing import BufferSizes, required_sizes, weight_buffer_design

__all__ = [
    "AccessCycles",
    "BufferSizes",
    "Counts",
    "LayerResult",
    "Peaks",
    "TimingResult",
    "required_sizes",
    "simulate",
    "weight_buffer_design",
]
