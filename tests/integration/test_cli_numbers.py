"""Every number is validated at the edge: ``epur`` refuses what no design can be.

Non-finite values, values outside a physical range, booleans where numbers belong,
absurd networks and number formats the datapath cannot hold all end the same way:
exit code 2, exactly one line on stderr naming the field (or option), the value and
what is allowed, no traceback and no output file. Formats it can hold run, and give
an error against the float64 reference that shrinks with their width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from epur.api import run
from epur.cli import main
from epur.errors import ConfigError
from epur.workload.network import FCLayer, LSTMLayer, Network, Stack
from epur.workload.weights import random_weights

NET = "schema_version: 1\nname: n\nseq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n"
SIM = ("simulate", "--energy-backend", "none")


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *names: str) -> str:
    """Run ``epur argv``: exit 2, one line on stderr naming each of ``names``."""
    try:
        code = main(argv)
    except SystemExit as exc:  # the option parser exits rather than returns
        code = exc.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and len(err) < 400, err
    for name in names:
        assert name in err, err
    return err


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((4, 3)))
    return tmp_path


# ---- --set and --arch -------------------------------------------------------------------------

SET_CASES = [
    ("clock_hz=inf", "must be a finite number"),
    ("clock_hz=1e999", "must be a finite number"),
    ("clock_hz=1e15", "less than or equal to 100000000000"),
    ("dram.latency_ns=inf", "must be a finite number"),  # was a ValueError traceback
    ("dram.latency_ns=.nan", "must be a finite number"),
    ("dram.latency_ns=true", "must be a valid number, not True"),  # was 1 ns, exit 0
    ("dram.energy_per_bit_j=.inf", "must be a finite number"),  # was "inf mJ", exit 0
    ("dram.bandwidth_bytes_per_s=1e30", "less than or equal to"),
    ("logic.mul_fp16_pj=1e9", "less than or equal to 100"),
    ("logic.add_fp32_um2=-1", "greater than or equal to 0"),
    ("dpu.lanes=1e6", "less than or equal to 4096"),
    ("weight_buffer.banks=1e6", "less than or equal to 4096"),
    ("weight_buffer.capacity_bytes=1e15", "less than or equal to"),
    ("input_buffer.port_bits=1e9", "less than or equal to 131072"),
    ("technology.temperature_k=1e9", "less than or equal to 400"),
    ("schema_version=true", "must be 1"),
    ("formats.accumulator=int8", "per-tensor scale"),  # was a ValueError mid-run
    ("formats.partial_sums=int8", "per-tensor scale"),
    ("formats.accumulator=bf16", "storage format fp16"),  # narrower than the storage
]


@pytest.mark.parametrize(("assignment", "allowed"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_simulate_set_refuses_bad_numbers(
    assignment: str, allowed: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = assignment.partition("=")[0]
    out = files / "o.json"
    argv = [*SIM, "--network", str(files / "net.yaml"), "--set", assignment, "--json", str(out)]
    err = refused(capsys, argv, f"--set: {key}: ", allowed)
    assert err.startswith("epur simulate: error: ")
    assert not out.exists()


ARCH_FILES = [
    ("clock_hz: .inf\n", "clock_hz"),
    ("dram:\n  bandwidth_bytes_per_s: .nan\n", "dram.bandwidth_bytes_per_s"),
    ("dram:\n  latency_ns: .inf\n", "dram.latency_ns"),
    ("dram:\n  energy_per_bit_j: true\n", "dram.energy_per_bit_j"),
    ("weight_buffer:\n  capacity_bytes: 1e30\n", "weight_buffer.capacity_bytes"),
    ("weight_buffer:\n  banks: true\n", "weight_buffer.banks"),
    ("logic:\n  mul_int8_pj: 1.0e+999\n", "logic.mul_int8_pj"),
    ("technology:\n  node_nm: .inf\n", "technology.node_nm"),
]


@pytest.mark.parametrize(("text", "key"), ARCH_FILES, ids=[c[1] for c in ARCH_FILES])
def test_simulate_arch_file_refuses_bad_numbers(
    text: str, key: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arch = files / "arch.yaml"
    arch.write_text(text, encoding="utf-8")
    argv = [*SIM, "--network", str(files / "net.yaml"), "--arch", str(arch)]
    refused(capsys, argv, f"{arch}: {key}: ")


def test_unknown_set_key_names_the_close_match_on_one_short_line(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*SIM, "--network", str(files / "net.yaml"), "--set", "dram.bandwith_bytes_per_s=1e9"]
    err = refused(capsys, argv, "'dram.bandwith_bytes_per_s'", "dram.bandwidth_bytes_per_s")
    assert len(err) < 200 and "logic." not in err


# ---- network files ----------------------------------------------------------------------------

NETWORKS = [
    ("seq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 1000000000}\n", "layers[0].hidden"),
    ("seq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 5, projection: .inf}\n",
     "layers[0].projection"),
    ("seq_len: 99999999999\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n", "seq_len"),
    ("seq_len: 4\nbatch: 1e999\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n", "batch"),
    ("seq_len: 4\nframe_period_ms: .inf\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n",
     "frame_period_ms"),  # was accepted: a real-time factor of 0
    ("seq_len: 4\nframe_period_ms: true\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n",
     "frame_period_ms"),  # was 1 ms
    ("seq_len: 4\nlayers:\n" + "  - {type: lstm, input: 5, hidden: 5}\n" * 10_001, "layers"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "key"), NETWORKS, ids=[f"{c[1]}-{i}" for i, c in
                                                         enumerate(NETWORKS)])  # fmt: skip
def test_simulate_refuses_absurd_networks(
    body: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "n.yaml"
    path.write_text("schema_version: 1\nname: n\n" + body, encoding="utf-8")
    refused(capsys, [*SIM, "--network", str(path)], f"{path}: {key}")


# ---- epur run: formats and the seed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("q20.20", "--format q20.20 is 40 bits wide; stored formats must be 8, 16 or 32 bits"),
        ("q12.12", "--format q12.12 is 24 bits wide; stored formats must be 8, 16 or 32 bits"),
        ("q40.40", "--format: fixed-point formats qM.N need M >= 1 (the sign bit) and M + N <= 64"),
        ("q0.16", "--format: fixed-point formats qM.N need M >= 1"),
    ],
)
def test_run_refuses_formats_it_cannot_store_naming_the_option(
    fmt: str, expected: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = files / "y.npz"
    argv = ["run", "--network", str(files / "net.yaml"), "--input", str(files / "x.npy"),
            "--format", fmt, "--out", str(out)]  # fmt: skip
    err = refused(capsys, argv, expected)
    assert "formats." not in err  # a field the user never set
    assert not out.exists()


def test_run_refuses_a_negative_seed(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--network", str(files / "net.yaml"), "--input", str(files / "x.npy"),
            "--seed", "-1", "--out", str(files / "y.npz")]  # fmt: skip
    refused(capsys, argv, "--seed", "must be an integer from 0 to 4,294,967,295", "'-1'")


def test_run_q16_16_end_to_end(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The widest fixed-point storage: a q32.32 accumulator and 64-bit partial sums."""
    out = files / "y.npz"
    argv = ["run", "--network", str(files / "net.yaml"), "--input", str(files / "x.npy"),
            "--format", "q16.16", "--out", str(out)]  # fmt: skip
    code = main(argv)
    _, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert np.load(out)["y"].shape == (4, 1, 5)


def _tiny() -> tuple[Network, object, np.ndarray]:  # type: ignore[type-arg]
    net = Network("tiny", (Stack("main", 6, (LSTMLayer(5, 8), LSTMLayer(8, 8), FCLayer(8, 3))),))
    weights = random_weights(net, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((6, 5))
    return net, weights, x


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_wider_fixed_point_formats_run_and_are_more_accurate(dataflow: str) -> None:
    """q16.16 runs (it raised before: its 64-bit partial sums were refused), and its
    error against the float64 reference is far below q8.8's: 8 more fraction bits."""
    net, weights, x = _tiny()
    error = {
        fmt: run((net, weights), x, fmt=fmt, dataflow=dataflow).errors[-1].relative  # type: ignore[arg-type]
        for fmt in ("q8.8", "q16.16")
    }
    assert 0 < error["q16.16"] < error["q8.8"] / 16, error
    assert error["q16.16"] < 2.0**-10, error


def test_q20_20_is_refused_by_the_api_with_the_limit() -> None:
    net, weights, x = _tiny()
    with pytest.raises(ConfigError, match=r"^--format q20\.20 is 40 bits wide; stored formats "):
        run((net, weights), x, fmt="q20.20")  # type: ignore[arg-type]
