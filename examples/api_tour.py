"""A tour of the Python API: load a network, configure E-PUR, compare the dataflows."""

from __future__ import annotations

from pathlib import Path

from epur.arch import apply_overrides, load_arch
from epur.evaluation import evaluate
from epur.timing import required_sizes
from epur.workload import load_network, zoo_network

HERE = Path(__file__).parent


def main() -> None:
    arch = load_arch()  # the paper preset
    gmat = zoo_network("gmat").with_known_inputs()
    for dataflow in ("baseline", "mwl"):
        ev = evaluate(gmat, arch, dataflow)
        t = ev.timing
        print(
            f"GMAT (known inputs) {dataflow:8s}: {t.latency_s() * 1e3:7.2f} ms, "
            f"{t.total.dram_weight_bytes / 1e6:8.2f} MB of weights from DRAM"
        )

    # What weight buffer would the baseline need to stop re-fetching GMAT's weights?
    sizes = required_sizes(gmat, arch, "baseline")
    print(f"baseline needs {sizes.weight_buffer_bytes:,} B per CU of weight buffer")

    # A network of your own, on a wider DPU.
    kws = load_network(HERE / "small_lstm.yaml")
    wide = apply_overrides(arch, ["dpu.lanes=32"])
    ev = evaluate(kws, wide, "mwl")
    print(f"{kws.name}: real-time factor {ev.real_time_factor:.5f} on 32 lanes")


if __name__ == "__main__":
    main()
