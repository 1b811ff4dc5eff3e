"""``epur run`` and ``epur.run``: resources checked before work, extreme inputs (issue 9).

A run whose memory estimate exceeds the limit is refused in one line, before anything is
allocated: inputs here are zero-stride views (``np.broadcast_to``) of astronomic shape that
take no memory themselves, so a run that copied or allocated before checking would raise
``MemoryError`` (or exhaust the machine) instead.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import epur
from epur.api import check_run_memory
from epur.cli import main
from epur.errors import ConfigError
from epur.workload import FCLayer, LSTMLayer, Network, Stack
from epur.workload.weights import random_weights
from tests.unit.test_workload_importers_onnx import N_IN, _lstm_model

ESTIMATE = re.compile(
    r"^the run would need about [\d,.]+ [KMGTP]iB \(weights [\d,.]+ [KMGTP]?i?B in float64 "
    r"and [\d,.]+ [KMGTP]?i?B in the storage format, inputs .+, activations .+, float64 "
    r"reference .+, working buffers .+\), more than the (?P<limit>[\d,.]+ [KMGTP]?i?B) limit "
    r"\((?P<what>[^)]+)\); .+$"
)
SMALL = Network("small", (Stack("main", 1, (LSTMLayer(4, 8), FCLayer(8, 3))),))


def huge(*shape: int) -> np.ndarray:
    """An input of ``shape`` that takes 8 bytes of memory."""
    return np.broadcast_to(np.zeros(1), shape)


def allocated_while(fn: Callable[[], object]) -> tuple[int, Exception | None]:
    """Peak bytes numpy and Python allocated while ``fn()`` ran, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        fn()
    except Exception as exc:  # returned to the caller
        raised = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, raised


def test_a_run_beyond_the_limit_is_refused_in_one_line_before_allocating() -> None:
    weights = random_weights(SMALL, np.random.default_rng(0))
    x = huge(2**24, 2**24, 4)  # T and B at their largest: petabytes of activations
    peak, raised = allocated_while(lambda: epur.run((SMALL, weights), x, fmt="fp16"))
    assert isinstance(raised, ConfigError), raised
    text = str(raised)
    assert "\n" not in text
    match = ESTIMATE.match(text)
    assert match, text
    assert match["limit"] in ("8.0 GiB",) or "physical memory" in match["what"], text
    assert peak < 1 << 20, f"{peak} bytes allocated before the refusal"


def test_memory_limit_sets_the_limit() -> None:
    weights = random_weights(SMALL, np.random.default_rng(0))
    x = np.zeros((1000, 8, 4))
    with pytest.raises(ConfigError) as info:
        epur.run((SMALL, weights), x, memory_limit=1 << 20)
    match = ESTIMATE.match(str(info.value))
    assert match and (match["limit"], match["what"]) == ("1.0 MiB", "memory_limit"), info.value
    epur.run((SMALL, weights), x[:10], memory_limit=1 << 20)  # this one fits


def test_an_onnx_run_beyond_the_limit_is_refused_before_allocating() -> None:
    model = epur.from_onnx(_lstm_model("bidirectional")[0])
    peak, raised = allocated_while(lambda: epur.run(model, {"X": huge(2**24, 2**20, N_IN)}))
    assert isinstance(raised, ConfigError) and ESTIMATE.match(str(raised)), raised
    assert peak < 1 << 20, f"{peak} bytes allocated before the refusal"


def test_check_run_memory_needs_no_weights() -> None:
    """What ``epur run --network`` can call before drawing random weights."""
    wide = Network("wide", (Stack("main", 1, (LSTMLayer(40, 1_000_000),)),))
    with pytest.raises(ConfigError) as info:
        check_run_memory(wide, np.zeros((10, 40)))  # 4 * 10**12 weights
    assert ESTIMATE.match(str(info.value)), info.value
    assert re.search(r"weights (2\d|3\d)\.\d TiB in float64", str(info.value)), info.value


BI = Network("bi", (Stack("main", 1, (LSTMLayer(16, 32, True, True), FCLayer(64, 256))),))
DEEP = Network("deep", (Stack("main", 1, (LSTMLayer(32, 48), LSTMLayer(48, 48, residual=True))),))


@pytest.mark.parametrize(
    ("network", "fmt", "dataflow"),
    [(SMALL, "q8.8", "baseline"), (BI, "bf16", "mwl"), (DEEP, "int8", "mwl")],
)
def test_the_estimate_bounds_what_a_run_allocates(
    network: Network, fmt: str, dataflow: str
) -> None:
    weights = random_weights(network, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((500, 4, network.stacks[0].layers[0].input_size))
    epur.run((network, weights), x[:2], fmt=fmt, dataflow=dataflow)  # compile, fill caches
    estimate = check_run_memory(network, x, dataflow=dataflow)
    peak, raised = allocated_while(lambda: epur.run((network, weights), x, fmt=fmt,
                                                    dataflow=dataflow))  # fmt: skip
    assert raised is None
    used = peak + 8 * network.parameter_count()  # the float64 weights, held before the run
    assert used <= estimate <= 3 * used, (used, estimate)


# ---- the command line ------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_epur_run_refuses_a_network_too_large_before_drawing_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(
        "schema_version: 1\nname: wide\nseq_len: 10\nlayers:\n"
        "  - {type: lstm, input: 4, hidden: 1000000}\n"
    )
    np.save(tmp_path / "x.npy", np.zeros((10, 4)))
    code, out, err = cli(capsys, "run", "--network", str(spec), "--input",
                         str(tmp_path / "x.npy"), "--out", str(tmp_path / "y.npz"))  # fmt: skip
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "the run would need about" in err, err
    assert not (tmp_path / "y.npz").exists()


def test_epur_run_on_extreme_inputs_prints_no_numpy_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pytest turns warnings into errors: an overflow warning would fail the run."""
    spec = tmp_path / "n.yaml"
    spec.write_text(
        "schema_version: 1\nname: n\nseq_len: 4\nlayers:\n"
        "  - {type: lstm, input: 40, hidden: 16, peepholes: true}\n"
        "  - {type: fc, input: 16, output: 3}\n"
    )
    sign = np.where(np.arange(40) % 2, 1.0, -1.0)
    np.save(tmp_path / "x.npy", np.tile(1e308 * sign, (6, 1)))  # W x overflows float64
    for fmt in ("fp16", "int8", "q8.8"):
        out_file = tmp_path / f"y-{fmt}.npz"
        code, text, err = cli(capsys, "run", "--network", str(spec), "--input",
                              str(tmp_path / "x.npy"), "--format", fmt, "--out",
                              str(out_file))  # fmt: skip
        assert (code, err) == (0, ""), (fmt, err)
        assert "error against the float64 reference" in text
        assert out_file.exists()
