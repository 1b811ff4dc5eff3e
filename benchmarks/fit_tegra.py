"""Fit the Tegra X1's achieved fractions of peak to its measured cuDNN kernels.

Run: ``python benchmarks/fit_tegra.py``. Prints the fitted fractions (the defaults of
``epur.baselines.tegra_cudnn.FITTED``, which a unit test holds equal), every row's measured
and predicted time with the residual (predicted / measured), and the three Tegra scenarios
on the zoo networks.
"""

from __future__ import annotations

from epur.baselines import evaluate_tegra, tegra_scenarios
from epur.baselines.tegra_cudnn import FITTED
from epur.baselines.tegra_fit import fit_efficiencies
from epur.workload.zoo import ZOO_NAMES, zoo_network


def main() -> None:
    fit = fit_efficiencies()
    print("fitted fractions of FP32 peak (DeepBench PR 17, Jetson TX1, cuDNN 5.0.5):")
    for key, value in fit.fractions().items():
        same = "=" if FITTED[key] == value else "!= package default"
        print(f"  {key:24} {value:.3g}  {same} {FITTED[key]:.3g}")
    print("\nkernel     M/H     N   K/T   measured ms  predicted ms  residual")
    for row, predicted in fit.gemm_rows + fit.gemv_rows:
        print(f"{row.kernel:9} {row.m:5} {row.n:5} {row.k:5} {row.time_s * 1e3:12.3f} "
              f"{predicted * 1e3:13.3f}  {predicted / row.time_s:8.2f}")  # fmt: skip
    print("\nscenario          precision  step_fixed_s  power W")
    scenarios = tegra_scenarios()
    for name, cfg in scenarios.items():
        print(f"{name:17} {cfg.precision:9} {cfg.step_fixed_s:12.4g}  {cfg.power_w:7.2f}")
    print("\nnetwork              scenario          latency ms  energy mJ      RTF  DRAM MB")
    for key in ZOO_NAMES:
        network = zoo_network(key)
        nets = [network, network.with_known_inputs()] if network.is_autoregressive else [network]
        for net in nets:
            label = net.name + (" (known)" if net is not network else "")
            for name, cfg in scenarios.items():
                r = evaluate_tegra(net, cfg)
                rtf = "" if r.real_time_factor is None else f"{r.real_time_factor:.3f}"
                print(f"{label:20} {name:17} {r.latency_s * 1e3:10.2f} {r.energy_j * 1e3:10.1f} "
                      f"{rtf:>8} {r.dram_bytes / 1e6:8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
