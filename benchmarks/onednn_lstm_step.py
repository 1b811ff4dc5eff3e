"""One step of GMAT's decoder LSTM (``nn.LSTM(2048, 1024)``) on the CPU, with PyTorch's
oneDNN path and without it, beside its ``[W U]`` product alone: where the per-call cost
that `epur baseline` measures on GMAT at batch 1 comes from (README, "Measured
baselines").

    python benchmarks/onednn_lstm_step.py [--threads 1] [--calls 20]

Prints the mean time of one call of each, after three warm-up calls. Needs PyTorch.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def mean_s(call: Callable[[], object], calls: int) -> float:
    for _ in range(3):
        call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lstm = torch.nn.LSTM(2048, 1024).eval()
    x = torch.randn(1, 1, 2048)
    wu = torch.cat([lstm.weight_ih_l0, lstm.weight_hh_l0], 1).detach()
    xh = torch.randn(2048 + 1024)
    with torch.no_grad():
        with_onednn = mean_s(lambda: lstm(x), args.calls)
        torch.backends.mkldnn.enabled = False
        without = mean_s(lambda: lstm(x), args.calls)
        torch.backends.mkldnn.enabled = True
        product = mean_s(lambda: wu @ xh, args.calls)
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s), {args.calls} calls each")
    print(f"nn.LSTM(2048, 1024), one step, oneDNN on   {with_onednn * 1e3:7.2f} ms")
    print(f"nn.LSTM(2048, 1024), one step, oneDNN off  {without * 1e3:7.2f} ms")
    print(f"its [W U] @ [x h] product alone           {product * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
