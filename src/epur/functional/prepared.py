"""Weights prepared once for many runs of the functional model.

A run quantises every weight matrix into the storage format and lays it out for the
kernels (MWL's transposed chunks, the recurrence's packed blocks): passes over all the
weights that cost a run on EESEN about a tenth of its time. ``prepare_weights`` does it
once (as E-PUR loads a model once and then streams sequences through it);
``run_network(network, prepared, ...)`` then starts from the prepared operands, and the
kernels keep their layouts in them for the next run. The bits are the same as with the
raw weights (tested). The runs read the prepared arrays and never write them; weights
changed after preparing are not seen: prepare again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig
from epur.errors import ConfigError
from epur.functional._steps import Ops, operands, peak
from epur.functional.datapath import Datapath
from epur.functional.reference import layer_name
from epur.numerics import ActivationFunction, ActivationKind, activation_table, parse_activation
from epur.workload.network import Layer, Network
from epur.workload.weights import FCWeights, NetworkWeights

__all__ = ["PreparedWeights", "check_finite", "datapath_of", "prepare_weights"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PreparedWeights:
    """A network's weights in a datapath's storage format (``prepare_weights``): per
    layer, one ``Ops`` per direction."""

    network: Network
    weights: NetworkWeights
    datapath: Datapath
    layers: tuple[list[Ops], ...]


def prepare_weights(
    network: Network, weights: NetworkWeights, arch: ArchConfig, *, threads: int | None = None
) -> PreparedWeights:
    """Check ``weights`` (shapes, finite values) and quantise them into ``arch``'s storage
    format, layer by layer on up to ``threads`` threads (default 2; numpy and the
    compiled passes release the GIL)."""
    weights.check(network)
    workers = 2 if threads is None else threads
    dp = datapath_of(arch)
    peaks = check_finite(network, weights, workers, peaks=dp.is_int8)
    pairs = zip(network.layers(), weights.layers, strict=True)
    jobs = [(layer, w, dp, peaks) for (_, layer), w in pairs]
    if workers == 1 or len(jobs) == 1:
        return PreparedWeights(network, weights, dp, tuple(operands(*job) for job in jobs))
    with ThreadPoolExecutor(min(workers, len(jobs)), thread_name_prefix="epur-load") as pool:
        layers = tuple(future.result() for future in [pool.submit(operands, *j) for j in jobs])
    return PreparedWeights(network, weights, dp, layers)


def datapath_of(arch: ArchConfig) -> Datapath:
    """The datapath of ``arch``'s number formats, lanes and activation; a ConfigError if
    its PWL/LUT tables cannot be built in the accumulator format."""
    f = arch.formats
    spec = parse_activation(arch.mfu.activation)
    for function in ActivationFunction if spec.kind != ActivationKind.EXACT else ():
        try:
            activation_table(function, spec, f.accumulator_format)
        except ValueError as exc:
            raise ConfigError(
                f"mfu.activation {spec.name} cannot be built in the accumulator format "
                f"{f.accumulator}: {exc}"
            ) from None
    return Datapath(
        storage=f.storage_format,
        acc=f.accumulator_format,
        psum=f.partial_sums_format,
        lanes=arch.dpu.lanes,
        activation=spec,
    )


def check_finite(
    network: Network, weights: NetworkWeights, threads: int = 1, *, peaks: bool = False
) -> dict[int, float]:
    """A ConfigError naming the first weight array that holds NaN or an infinity. Each
    array is summed once (a finite sum has no NaN or infinity behind it), on up to
    ``threads`` threads (numpy releases the GIL); only a non-finite sum is looked at
    element by element. ``peaks``: the LSTM matrices ``W`` and ``U`` are checked by
    their largest and smallest values instead (finite exactly when both are), and their
    ``max |a|`` is returned by ``id`` of the array (int8's scales need it)."""
    named: list[tuple[int, Layer, str, F64]] = []
    for k, ((_, layer), w) in enumerate(zip(network.layers(), weights.layers, strict=True)):
        arrays: list[tuple[str, F64 | None]]
        if isinstance(w, FCWeights):
            arrays = [("w", w.w), ("b", w.b)]
        else:
            arrays = [
                (f"{name} (direction {d})", a)
                for d, wd in enumerate(w)
                for name, a in (("w", wd.w), ("u", wd.u), ("b", wd.b),
                                ("peepholes", wd.peepholes), ("projection", wd.projection))
            ]  # fmt: skip
        named += [(k, layer, name, a) for name, a in arrays if a is not None]
    found: dict[int, float] = {}

    def finite(item: tuple[int, Layer, str, F64]) -> bool:
        *_, name, a = item
        if not (peaks and name[:2] in ("w ", "u ")):
            return bool(np.isfinite(a.sum()))
        found[id(a)] = top = peak(a)  # NaN or inf if a holds one
        return bool(np.isfinite(top))

    if threads > 1 and len(named) > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="epur-check") as pool:
            sums = list(pool.map(finite, named))
    else:
        sums = [finite(item) for item in named]
    for (k, layer, name, a), ok in zip(named, sums, strict=True):
        if not ok and not np.isfinite(a).all():
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise ConfigError(
                f"layer {layer_name(layer, k)} weights {name} hold NaN or Inf values "
                f"({bad} of them); weights must be finite"
            )
    return found
