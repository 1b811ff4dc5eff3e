"""``epur.run``: execute a network with real weights in E-PUR's datapath.

Takes what the importers produce (``from_torch``, ``from_onnx``) or a ``Network``
with ``NetworkWeights``, runs the functional model in the chosen number format,
activation and dataflow (MWL, E-PUR's own, unless told otherwise), and measures its
error against the float64 reference.

This module never imports ONNX or PyTorch itself: a model can only be an
``OnnxModel`` if ``epur.workload.importers.onnx`` has been imported (by
``from_onnx``), so ``epur.run`` on a PyTorch model leaves ``onnx`` unloaded.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.arch.config import STORAGE_BITS
from epur.errors import ConfigError
from epur.functional.accuracy import ErrorStats, error_stats
from epur.functional.feeds import Feed, as_float64, real_array, stack_inputs
from epur.functional.memory import check_memory
from epur.functional.model import progress_line, run_network, sized_to_inputs
from epur.functional.reference import layer_name, lstm_layer, reference_run
from epur.numerics import FormatKind, parse_format
from epur.schedule import Dataflow
from epur.workload.importers.torch import TorchModel
from epur.workload.network import FCLayer, LSTMLayer, Network, Stack
from epur.workload.weights import FCWeights, NetworkWeights

if TYPE_CHECKING:
    from epur.workload.importers.onnx import FCFn, LSTMFn, OnnxModel

__all__ = [
    "MAX_THREADS",
    "RunOutput",
    "RunTimings",
    "available_cores",
    "bounded_threads",
    "check_run_memory",
    "format_settings",
    "run",
]

F64 = NDArray[np.float64]
Progress = Callable[[str], None]
StepProgress = Callable[[int, int], None]
MAX_THREADS = 256


@dataclass(frozen=True)
class RunTimings:
    """Wall seconds of a run's parts: E-PUR's datapath (the emulation) and the float64
    reference the error report compares it with (computed once: int8 calibrates its
    activation scales on it too)."""

    datapath_s: float = 0.0
    reference_s: float = 0.0


@dataclass(frozen=True, eq=False)
class RunOutput:
    """Named output arrays (what ``epur run --out`` writes), the error report and what
    each part of the run cost."""

    outputs: dict[str, F64]
    errors: list[ErrorStats]
    timings: RunTimings = field(default_factory=RunTimings)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), the default thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return min(available_cores(), MAX_THREADS)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ConfigError(f"threads must be an integer from 1 to {MAX_THREADS}, not {threads!r}")
    return threads


_OPENBLAS_SET = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                 "openblas_set_num_threads64_", "openblas_set_num_threads")  # fmt: skip


@functools.cache
def _openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """numpy's OpenBLAS thread setter and getter, found among the libraries this process
    has loaded (``/proc/self/maps``, Linux); ``None`` elsewhere or for another BLAS."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(p for p in paths if ".so" in p):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _OPENBLAS_SET:
            if hasattr(lib, name) and hasattr(lib, name.replace("_set_", "_get_")):
                setter = getattr(lib, name)
                getter = getattr(lib, name.replace("_set_", "_get_"))
                setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                return setter, getter
    return None


@contextmanager
def bounded_threads(threads: int) -> Iterator[int]:
    """Run the body with at most ``threads`` threads in numba's parallel kernels and in
    numpy's OpenBLAS; the previous settings are restored on exit. Yields the bound.

    Neither is ever raised above what it had. Bounded: numba (``numba.set_num_threads``,
    at most the ``NUMBA_NUM_THREADS`` its pool started with; the setting is per Python
    thread, so a worker thread sets its own) and OpenBLAS, the BLAS numpy's wheels ship
    (found by its ``openblas_set_num_threads`` symbol on Linux). Not bounded: another
    BLAS (MKL, Accelerate) or OpenBLAS on other systems, which read ``OMP_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` or
    ``MKL_NUM_THREADS`` once, when numpy is imported.
    """
    import numba

    previous = numba.get_num_threads()
    pool = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(threads, pool)))
    blas = _openblas()
    blas_previous = blas[1]() if blas is not None else 0
    if blas is not None and 0 < threads < blas_previous:  # never more than it had
        blas[0](threads)
    try:
        yield threads
    finally:
        numba.set_num_threads(previous)
        if blas is not None and 0 < threads < blas_previous:
            blas[0](blas_previous)


class _StepCounter:
    """Steps done over the whole run (one step: one time step of one layer direction),
    reported to a ``(done, total)`` callback: at each layer's start, and in between when
    the datapath reports steps through its ``on_steps`` hook."""

    def __init__(self, network: Network, report: StepProgress | None) -> None:
        self.offsets: list[int] = []
        total = 0
        for stack, layer in network.layers():
            self.offsets.append(total)
            total += stack.seq_len * (layer.directions if isinstance(layer, LSTMLayer) else 1)
        self.total, self.done, self.report = total, 0, report
        self._lock = threading.Lock()

    def layer_started(self, k: int) -> None:
        with self._lock:
            self.done = max(self.done, self.offsets[k])
        self._emit()

    def add(self, steps: int) -> None:
        with self._lock:
            self.done = min(self.done + steps, self.total)
        self._emit()

    def finish(self) -> None:
        self.done = self.total
        self._emit()

    def _emit(self) -> None:
        if self.report is not None:
            self.report(self.done, self.total)


def format_settings(fmt: str) -> list[str]:
    """``--set`` assignments for a datapath format: storage, accumulator, partial sums.

    Floats accumulate in fp32; ``qM.N`` in ``q(2M).(2N)``, which holds every product
    exactly (with the same rounding and overflow suffixes); int8 sums integers and
    dequantises to fp32. The partial sums take the accumulator's format.

    Every format ``FormatsConfig`` takes as storage is accepted: fp32, fp16, bf16,
    int8 and every ``qM.N`` of 8, 16 or 32 bits (``q16.16`` accumulates in ``q32.32``,
    64 bits, the widest fixed-point format, ``MAX_FIXED_BITS``: codes are int64).
    Anything else is a ``ConfigError`` naming ``--format`` and the limit.

    The functional model holds values in float64. Beyond 53 bits (a ``q32.32``
    accumulator) its DPU sums stay exact while they are below 2**53 units in the last
    place (``Datapath`` checks), but an MFU product is rounded to float64 before the
    accumulator: ``(1 + (2**31 + 1) * 2**-32) * (1 + 2**-32)`` comes out one unit
    below its exact rounding. The error against the float64 reference is not
    affected; bit-exactness is, in the last place.

    Raises
    ------
    ConfigError
        If ``fmt`` is not a format, or not one the datapath can store and accumulate.
    """
    try:
        f = parse_format(fmt)
    except ValueError as exc:
        raise ConfigError(f"--format: {exc}") from None
    if f.bits not in STORAGE_BITS:
        widths = ", ".join(map(str, STORAGE_BITS[:-1])) + f" or {STORAGE_BITS[-1]}"
        raise ConfigError(
            f"--format {f.name} is {f.bits} bits wide; stored formats must be {widths} bits "
            f"wide (qM.N with M + N = {widths})"
        )
    if f.kind == FormatKind.FIXED:  # at most q64.0 (MAX_FIXED_BITS), as storage <= 32 bits
        plain = f"q{f.int_bits}.{f.frac_bits}"
        acc = parse_format(f"q{2 * f.int_bits}.{2 * f.frac_bits}{f.name[len(plain) :]}").name
    else:
        acc = "fp32"
    return [f"formats.storage={f.name}", f"formats.accumulator={acc}",
            f"formats.partial_sums={acc}"]  # fmt: skip


def _arch(arch: ArchConfig | None, fmt: str | None, activation: str | None) -> ArchConfig:
    sets = format_settings(fmt) if fmt is not None else []
    if activation is not None:
        sets.append(f"mfu.activation={activation}")
    return apply_overrides(arch or paper_preset(), sets)


def run(
    model: TorchModel | OnnxModel | tuple[Network, NetworkWeights],
    inputs: Any,
    *,
    arch: ArchConfig | None = None,
    fmt: str | None = None,
    activation: str | None = None,
    dataflow: Dataflow | str = Dataflow.MWL,
    batch_first: bool | None = None,
    progress: Progress | None = None,
    memory_limit: int | None = None,
    threads: int | None = None,
    step_progress: StepProgress | None = None,
) -> RunOutput:
    """Run ``model`` on ``inputs`` in E-PUR's datapath and report the error.

    ``inputs``: for ONNX models a mapping keyed by the model's input names (``X``,
    optionally ``sequence_lens``, ``initial_h``, ``initial_c``), or the one input
    array; a 2-D ``[T, I]`` sequence is a batch of one. Otherwise the input sequence
    ``[T, I]`` or ``[T, B, I]`` (``[B, T, I]`` with ``batch_first``), or, for networks
    of several stacks or with external features, a mapping with one array per stack
    name and per ``"<layer>.external_in"``. ``batch_first`` defaults to the
    PyTorch model's own (``False`` for networks) and is refused for ONNX models,
    whose graph fixes their layout; it applies to the inputs and to ``y``, while
    ``h_n``/``c_n`` stay ``[layers*dirs, B, .]`` as in PyTorch. ``fmt`` (fp32, fp16,
    bf16, qM.N, int8) and ``activation`` (exact, pwlN, lutN) override ``arch``.
    ``progress`` is called with one line before each layer runs; ``step_progress``
    with ``(done, total)`` steps (one step: a time step of one layer direction; for ONNX
    models, a layer) when each layer starts, in between as often as the datapath reports
    its steps, and once at the end with ``done == total``.

    ``threads`` (1 to ``MAX_THREADS``; default: the cores available to the process)
    bounds the threads of the run: numba's compiled kernels, numpy's OpenBLAS and the
    datapath's own worker threads (see ``bounded_threads``). Results are identical
    for every thread count. ``RunOutput.timings`` gives the wall time of the datapath
    and of the float64 reference separately.

    Before anything is allocated, the memory the run needs is estimated
    (``epur.functional.memory``) and a run that would need more than ``memory_limit``
    bytes is refused with a ``ConfigError`` giving the estimate; by default the limit is
    the smaller of the machine's physical memory and 8 GiB (``MEMORY_CAP``).
    """
    arch = _arch(arch, fmt, activation)
    threads = _check_threads(threads)
    if _is_onnx(model):
        if batch_first:
            raise ConfigError(
                "batch_first applies to PyTorch models and networks, not to ONNX models, "
                "whose graph fixes the layout (the LSTM's layout attribute, Transpose nodes)"
            )
        with bounded_threads(threads):
            return _run_onnx(model, inputs, arch, dataflow, progress, memory_limit,
                             threads, step_progress)  # fmt: skip
    if isinstance(model, TorchModel):
        network, weights = model.network, model.weights
        first = model.batch_first if batch_first is None else batch_first
    elif (
        isinstance(model, tuple)
        and len(model) == 2
        and isinstance(model[0], Network)
        and isinstance(model[1], NetworkWeights)
    ):
        network, weights = model
        first = bool(batch_first)
    else:
        raise ConfigError(
            "model must be what from_torch or from_onnx returns, or a (Network, "
            f"NetworkWeights) pair, not {type(model).__name__}"
        )
    raw, sized, _ = _checked_inputs(network, inputs, first, dataflow, memory_limit)
    feeds = {key: as_float64(label, x) for key, (label, x) in raw.items()}
    counter = _StepCounter(sized, step_progress)

    def on_layer(line: str) -> None:
        found = re.match(r"layer (\d+)/", line)
        if found:
            counter.layer_started(int(found.group(1)) - 1)
        if progress is not None:
            progress(line)

    reports = progress is not None or step_progress is not None
    with bounded_threads(threads):
        start = time.perf_counter()
        ref = reference_run(sized, weights, feeds)  # int8 also calibrates on it
        reference_s = time.perf_counter() - start
        start = time.perf_counter()
        result = run_network(network, weights, feeds, arch, dataflow, keep_layers=True,
                             progress=on_layer if reports else None, reference=ref,
                             threads=threads,
                             on_steps=counter.add if step_progress else None)  # fmt: skip
        datapath_s = time.perf_counter() - start
    counter.finish()
    errors = [
        error_stats(layer_name(layer, k), result.layer_outputs[k], ref[k].y)
        for k, (_, layer) in enumerate(network.layers())
    ]
    out = {"y": result.y.transpose(1, 0, 2) if first else result.y}
    if result.h_n and len({h.shape[1:] for h in result.h_n}) == 1:
        out["h_n"] = np.concatenate(result.h_n)
    if result.c_n and len({c.shape[1:] for c in result.c_n}) == 1:
        out["c_n"] = np.concatenate(result.c_n)
    return RunOutput(out, errors, RunTimings(datapath_s, reference_s))


def check_run_memory(
    network: Network,
    inputs: Any,
    *,
    dataflow: Dataflow | str = Dataflow.MWL,
    batch_first: bool = False,
    memory_limit: int | None = None,
) -> int:
    """The bytes (about) ``run`` needs for ``network`` on ``inputs``, or the ``ConfigError``
    ``run`` would raise when that exceeds ``memory_limit`` (default: the smaller of the
    machine's physical memory and 8 GiB). Needs no weights, so that a caller can check
    before drawing or loading them; the inputs are checked as ``run`` checks them."""
    return _checked_inputs(network, inputs, batch_first, dataflow, memory_limit)[2]


def _checked_inputs(
    network: Network,
    inputs: Any,
    batch_first: bool,
    dataflow: Dataflow | str,
    memory_limit: int | None,
) -> tuple[dict[str, Feed], Network, int]:
    """The inputs as ``[T, B, I]`` views (not yet copied), the network sized to them and
    the memory the run needs, checked against the limit."""
    raw = stack_inputs(network, inputs, batch_first)
    sized = sized_to_inputs(network, {key: x for key, (_, x) in raw.items()})
    return raw, sized, check_memory(sized, dataflow == Dataflow.MWL, memory_limit).total


def _is_onnx(model: object) -> TypeGuard[OnnxModel]:
    module = sys.modules.get("epur.workload.importers.onnx")
    return module is not None and isinstance(model, module.OnnxModel)


def _node_runner(
    model: OnnxModel,
    arch: ArchConfig | None,
    dataflow: Dataflow | str,
    progress: Progress | None,
    threads: int | None = None,
    step_progress: StepProgress | None = None,
) -> tuple[LSTMFn, FCFn]:
    """The ``lstm`` and ``fc`` callables of ``OnnxModel.run``: E-PUR's datapath, or
    float64 if no ``arch``."""
    layers = [layer for _, layer in model.network.layers()]

    def report(k: int) -> None:
        if progress is not None:
            progress(progress_line(k, len(layers), layers[k]))
        if step_progress is not None:
            step_progress(k, len(layers))

    def lstm(
        k: int, x: F64, h0: F64 | None, c0: F64 | None, seq_lens: NDArray[np.int64] | None
    ) -> tuple[F64, F64, F64]:
        layer, w = layers[k], model.weights.layers[k]
        assert isinstance(layer, LSTMLayer) and isinstance(w, tuple)
        x = x.astype(np.float64)
        t, b = x.shape[:2]
        if arch is None:
            res = lstm_layer(layer, w, x, x.shape[-1], h0, c0, seq_lens)
            y = res.y
            h = np.stack([d.h for d in res.directions])
            c = np.stack([d.c for d in res.directions])
        else:
            report(k)
            net = Network("node", (Stack("main", t, (layer,)),), batch=b)
            out = run_network(net, NetworkWeights((w,)), {"main": x}, arch, dataflow,
                              seq_lens=seq_lens, initial={0: (h0, c0)},
                              threads=threads)  # fmt: skip
            y, h, c = out.y, out.h_n[0], out.c_n[0]
        return y.reshape(t, b, layer.directions, -1).transpose(0, 2, 1, 3), h, c

    def fc(k: int, x: F64) -> F64:
        layer, w = layers[k], model.weights.layers[k]
        assert isinstance(layer, FCLayer) and isinstance(w, FCWeights)
        if arch is None:
            return x @ w.w.T + w.b
        report(k)
        rows = x.reshape(-1, 1, x.shape[-1])  # each vector is one step of one sequence
        net = Network("node", (Stack("main", max(len(rows), 1), (layer,)),))
        out = run_network(net, NetworkWeights((w,)), {"main": rows}, arch, dataflow,
                          threads=threads)  # fmt: skip
        return out.y.reshape(*x.shape[:-1], layer.output_size)

    return lstm, fc


def _run_onnx(
    model: OnnxModel,
    inputs: Any,
    arch: ArchConfig,
    dataflow: Dataflow | str,
    progress: Progress | None,
    memory_limit: int | None,
    threads: int,
    step_progress: StepProgress | None,
) -> RunOutput:
    if not isinstance(inputs, Mapping):
        inputs = {model.input_names[0]: inputs}
    unknown = sorted(set(inputs) - set(model.input_names))
    if unknown:
        raise ConfigError(
            f"inputs {unknown} are not inputs of the model (its inputs: {model.input_names})"
        )
    raw = {name: real_array(name, value, (1, 2, 3)) for name, value in inputs.items()}
    steps = _onnx_steps(model, raw)
    check_memory(model.network, dataflow == Dataflow.MWL, memory_limit, steps)
    feeds: dict[str, Any] = {}
    for name, value in raw.items():
        ints = "lens" in name or value.dtype.kind in "iu"
        arr = as_float64(name, value)
        if arr.ndim == 2 and name in model.batch_axes:  # one sequence [T, I]: a batch of 1
            arr = np.expand_dims(arr, model.batch_axes[name])
        feeds[name] = arr.astype(np.int64) if ints and arr.ndim == 1 else arr
    start = time.perf_counter()
    runner = _node_runner(model, arch, dataflow, progress, threads, step_progress)
    outputs = model.run(feeds, *runner)
    datapath_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = model.run(feeds, *_node_runner(model, None, dataflow, None))
    reference_s = time.perf_counter() - start
    if step_progress is not None:
        step_progress(model.network.num_layers, model.network.num_layers)
    errors = [error_stats(name, outputs[name], reference[name]) for name in model.output_names]
    outs = {k: np.asarray(v, dtype=np.float64) for k, v in outputs.items()}
    return RunOutput(outs, errors, RunTimings(datapath_s, reference_s))


def _onnx_steps(model: OnnxModel, raw: Mapping[str, NDArray[Any]]) -> list[int] | None:
    """Steps x sequences per stack (all the memory estimate needs): elements of the graph
    inputs that feed an LSTM's X (or, failing that, of every input but the states) over
    the features of the stack's first layer; ``None`` if no input tells."""
    xs = [raw[n] for n in model.batch_axes if n in raw]
    xs = xs or [a for n, a in raw.items() if a.ndim >= 2 and not n.startswith("initial")]
    if not xs:
        return None
    size = max(a.size for a in xs)
    return [max(1, size // s.layers[0].input_size) for s in model.network.stacks]
