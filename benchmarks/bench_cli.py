"""The ``epur`` command as a user runs it: whole-process figures beside model-only ones.

Run: ``python benchmarks/bench_cli.py [--repeat N] [--json FILE]`` (needs PyTorch).

1. ``epur --help``: CPU time (user + system) of the whole process, interpreter
   start-up included; the goal is under 0.2 s.
2. ``epur run --torch lstm.pt --input x.npy --out y.npz`` on the README's example model
   (``examples/make_models.py``: 2 LSTM layers of 128, a linear head, 200 steps, fp16):
   wall time of a fresh process (interpreter start-up, imports, reading the state_dict
   with PyTorch, the run, its float64 reference and writing the outputs), once with
   an empty numba cache (the first run on a machine compiles the DPU kernels) and
   then warm; beside it the model alone (``epur.run`` in a warm process: the datapath
   run and its float64 reference, nothing else).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _epur() -> list[str]:
    found = shutil.which("epur")
    return [found] if found else [sys.executable, "-m", "epur"]


def help_cpu(repeat: int) -> list[float]:
    """CPU seconds of ``epur --help``, children's rusage around each run."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*_epur(), "--help"], check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return times


def run_command(work: Path, repeat: int) -> tuple[float, list[float]]:
    """Wall seconds of ``epur run``: once with an empty numba cache, then ``repeat`` warm."""
    command = [*_epur(), "run", "--torch", "lstm.pt", "--input", "x.npy", "--out", "y.npz"]
    cold_cache = tempfile.mkdtemp()
    env = {**os.environ, "NUMBA_CACHE_DIR": cold_cache}
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=work, env=env)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=work, env=env)
        warm.append(time.perf_counter() - start)
    shutil.rmtree(cold_cache, ignore_errors=True)
    return cold, warm


def model_only(work: Path, repeat: int) -> list[float]:
    """Seconds of ``epur.run`` alone in a warm process (after one untimed call)."""
    import numpy as np

    import epur

    model = epur.from_torch(str(work / "lstm.pt"))
    x = np.load(work / "x.npy")
    epur.run(model, x)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        epur.run(model, x)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "make_models.py")],
            check=True, capture_output=True, cwd=work,
        )  # fmt: skip
        helps = help_cpu(4 * args.repeat)
        cold, warm = run_command(work, args.repeat)
        alone = model_only(work, args.repeat)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "help_cpu_s_median": statistics.median(helps),
        "run_command_s_cold_numba_cache": cold,
        "run_command_s_median": statistics.median(warm),
        "run_model_only_s_median": statistics.median(alone),
    }
    print(f"epur --help, CPU time:                      {result['help_cpu_s_median']:.3f} s")
    print(f"epur run (whole process, cold numba cache): {cold:.2f} s")
    print(f"epur run (whole process, warm):             {result['run_command_s_median']:.2f} s")
    print(f"epur.run (model only, warm process):        {result['run_model_only_s_median']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
