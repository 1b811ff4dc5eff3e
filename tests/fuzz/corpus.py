"""A corpus of user mistakes for the ``epur`` command line, generated (not recorded).

Every case is something a user may type or hand over: a bad ``--set`` value, a broken
network or architecture file, a corrupt or hostile model or input file, an output path
that cannot be written, a flag given wrong. Each must end with exit code 2, exactly
one line on stderr, no traceback, no output file left behind, and no file written by a
payload (YAML tags, pickles and ONNX external data must never run or be read).

``cases()`` lists them; ``tests/fuzz/test_corpus.py`` runs them in CI and
``benchmarks/fuzz_cli.py`` runs them all as separate processes. Paths in ``argv`` are
relative to the case's own folder, where ``files`` are made first.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MARKER = "PAYLOAD_RAN"  # a payload that runs creates this file in the case folder
Maker = bytes | str | Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One mistake: ``epur *argv`` in a folder holding ``files``."""

    id: str
    argv: tuple[str, ...]
    files: tuple[tuple[str, Maker], ...] = ()
    outputs: tuple[str, ...] = ()  # must not exist afterwards
    isolate: bool = False  # run in its own process with a timeout (may block or hog)
    tags: frozenset[str] = field(default_factory=frozenset)

    def make(self, folder: Path) -> None:
        for name, maker in self.files:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(maker, bytes):
                path.write_bytes(maker)
            elif isinstance(maker, str):
                path.write_text(maker, encoding="utf-8")
            else:
                maker(path)


SIM = ("simulate", "--network", "bysdne", "--energy-backend", "none")
NET_HEAD = "schema_version: 1\nname: n\nseq_len: 4\n"
GOOD_LAYER = "  - {type: lstm, input: 8, hidden: 16}\n"


def _payload_shell() -> str:
    return f"touch {MARKER}"


# --set: every architecture key with values of the wrong kind or range ----------------

NUMERIC_KEYS = (
    "compute_units", "clock_hz", "dpu.lanes", "dpu.latency_cycles", "mfu.latency_cycles",
    "weight_buffer.capacity_bytes", "weight_buffer.port_bits", "weight_buffer.banks",
    "input_buffer.capacity_bytes", "input_buffer.port_bits", "input_buffer.banks",
    "intermediate_memory.capacity_bytes", "intermediate_memory.port_bits",
    "intermediate_memory.banks", "dram.bandwidth_bytes_per_s", "dram.latency_ns",
    "dram.energy_per_bit_j", "technology.node_nm", "technology.temperature_k",
    *(f"logic.{op}_{kind}_{unit}" for op in ("add", "mul")
      for kind in ("int8", "int16", "int32", "fp16", "fp32") for unit in ("pj", "um2")),
)  # fmt: skip
TEXT_KEYS = (
    "mfu.activation", "formats.storage", "formats.accumulator", "formats.partial_sums",
    "technology.sram_cell", "technology.sram_periphery",
)  # fmt: skip
BAD_NUMBERS = ("inf", "-inf", "nan", ".nan", "1e999", "-1", "abc", "true", "[1, 2]", "{a: 1}")
BAD_TEXTS = ("inf", "1", "true", "[a]", "q99.99", "fp7", "")


def _set_cases() -> Iterator[Case]:
    for key in NUMERIC_KEYS:
        for value in BAD_NUMBERS:
            yield Case(
                f"set-{key}={value}", (*SIM, "--set", f"{key}={value}", "--json", "o.json"),
                outputs=("o.json",), tags=frozenset({"set"}),
            )  # fmt: skip
    for key in TEXT_KEYS:
        for value in BAD_TEXTS:
            yield Case(
                f"set-{key}={value}", (*SIM, "--set", f"{key}={value}", "--json", "o.json"),
                outputs=("o.json",), tags=frozenset({"set"}),
            )  # fmt: skip
    for text in ("dpu.lanez=32", "nokey", "=3", "dpu=3", "dpu.lanes.x=3", "a.b.c.d=1"):
        yield Case(f"set-shape-{text}", (*SIM, "--set", text), tags=frozenset({"set"}))


# Architecture files -------------------------------------------------------------------


def _deep_yaml(depth: int) -> str:
    return "dpu: " + "[" * depth + "]" * depth + "\n"


def _deep_mapping(depth: int) -> str:
    return "".join(f"{'  ' * i}a:\n" for i in range(depth)) + "  " * depth + "b: 1\n"


ARCH_FILES: dict[str, Maker] = {
    "empty.yaml": "",
    "list.yaml": "- 1\n- 2\n",
    "scalar.yaml": "42\n",
    "unknown-key.yaml": "dpuu:\n  lanes: 8\n",
    "bad-nesting.yaml": "dpu: 8\n",
    "string-lanes.yaml": "dpu:\n  lanes: many\n",
    "inf-clock.yaml": "clock_hz: .inf\n",
    "nan-bandwidth.yaml": "dram:\n  bandwidth_bytes_per_s: .nan\n",
    "neg-capacity.yaml": "weight_buffer:\n  capacity_bytes: -2MiB\n",
    "huge-capacity.yaml": "weight_buffer:\n  capacity_bytes: 1e30\n",
    "bool-banks.yaml": "weight_buffer:\n  banks: true\n",
    "zero-clock.toml": "clock_hz = 0\n",
    "malformed.toml": "clock_hz = = 1\n",
    "malformed.yaml": "dpu: {lanes: 8\n",
    "deep-list.yaml": _deep_yaml(2000),
    "deep-map.yaml": _deep_mapping(500),
    "deep.toml": "a = " + "[" * 2000 + "]" * 2000 + "\n",
    "binary.yaml": bytes(range(256)) * 4,
    "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
    "tag.yaml": f"dpu: !!python/object/apply:os.system ['{_payload_shell()}']\n",
    "tag-new.yaml": "dpu: !!python/object/new:os.system ['touch PAYLOAD_RAN']\n",
    "anchors.yaml": "a: &a [1, 2]\nb: *a\n",
    "wrong-suffix.json": '{"dpu": {"lanes": 8}}',
}


def _arch_cases() -> Iterator[Case]:
    for name, maker in ARCH_FILES.items():
        yield Case(
            f"arch-{name}", (*SIM, "--arch", name, "--json", "o.json"),
            files=((name, maker),), outputs=("o.json",), tags=frozenset({"arch"}),
        )  # fmt: skip
    yield Case("arch-missing", (*SIM, "--arch", "nothere.yaml"), tags=frozenset({"arch"}))
    yield Case(
        "arch-directory", (*SIM, "--arch", "d.yaml"),
        files=(("d.yaml", lambda p: p.mkdir()),), tags=frozenset({"arch"}),
    )  # fmt: skip
    yield Case(
        "arch-fifo", (*SIM, "--arch", "f.yaml"),
        files=(("f.yaml", lambda p: os.mkfifo(p)),), isolate=True, tags=frozenset({"arch"}),
    )  # fmt: skip
    yield Case(
        "arch-dev-zero", (*SIM, "--arch", "z.yaml"),
        files=(("z.yaml", lambda p: p.symlink_to("/dev/zero")),), isolate=True,
        tags=frozenset({"arch"}),
    )  # fmt: skip


# Network files ------------------------------------------------------------------------


def _layer_cases() -> Iterator[tuple[str, str]]:
    for key in ("input", "hidden", "projection"):
        for value in ("0", "-8", ".inf", ".nan", "8.5", "true", "'8'", "1e999", "1000000000"):
            yield (
                f"lstm-{key}={value}",
                f"  - {{type: lstm, input: 8, hidden: 16, {key}: {value}}}\n",
            )
    for key in ("input", "output"):
        for value in ("0", "-1", ".inf", "2.5", "false"):
            line = "  - {type: fc, input: 8, output: 4, " + f"{key}: {value}}}\n"
            yield (
                f"fc-{key}={value}",
                GOOD_LAYER.replace("input: 8, hidden: 16", "input: 8, hidden: 8") + line,
            )
    yield "unknown-type", "  - {type: gru, input: 8, hidden: 16}\n"
    yield "unknown-field", "  - {type: lstm, input: 8, hidden: 16, dropout: 0.1}\n"
    yield "missing-hidden", "  - {type: lstm, input: 8}\n"
    yield "bad-activation", "  - {type: fc, input: 8, output: 4, activation: softmax}\n"
    yield "residual-mismatch", "  - {type: lstm, input: 8, hidden: 16, residual: true}\n"
    yield "narrow-input", GOOD_LAYER + "  - {type: lstm, input: 4, hidden: 16}\n"
    yield "layer-not-mapping", "  - 42\n"
    yield (
        "reverse-bidir",
        "  - {type: lstm, input: 8, hidden: 16, bidirectional: true, reverse: true}\n",
    )


NETWORK_FILES: dict[str, Maker] = {
    **{f"{name}.yaml": NET_HEAD + "layers:\n" + body for name, body in _layer_cases()},
    **{
        f"seq_len={v}.yaml": f"schema_version: 1\nname: n\nseq_len: {v}\nlayers:\n{GOOD_LAYER}"
        for v in ("0", "-3", ".inf", "2.5", "true", "'4'", "1e999")
    },
    **{
        f"batch={v}.yaml": NET_HEAD + f"batch: {v}\nlayers:\n{GOOD_LAYER}"
        for v in ("0", "-1", ".nan", "1.5", "false")
    },
    **{
        f"frame={v}.yaml": NET_HEAD + f"frame_period_ms: {v}\nlayers:\n{GOOD_LAYER}"
        for v in ("0", "-10", ".inf", ".nan", "fast")
    },
    "no-layers.yaml": NET_HEAD + "layers: []\n",
    "no-name.yaml": "schema_version: 1\nseq_len: 4\nlayers:\n" + GOOD_LAYER,
    "schema-2.yaml": "schema_version: 2\nname: n\nseq_len: 4\nlayers:\n" + GOOD_LAYER,
    "stacks-and-layers.yaml": NET_HEAD + "layers:\n" + GOOD_LAYER + "stacks: []\n",
    "empty-stacks.yaml": "schema_version: 1\nname: n\nstacks: []\n",
    "stack-no-seq.yaml": "schema_version: 1\nname: n\nstacks:\n  - {name: a, layers: []}\n",
    "50k-layers.yaml": NET_HEAD
    + "layers:\n"
    + GOOD_LAYER.replace("input: 8", "input: 16") * 50_000,
    "deep.yaml": _deep_yaml(3000),
    "deep.toml": "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "tag.yaml": NET_HEAD + f"layers: !!python/object/apply:os.system ['{_payload_shell()}']\n",
    "malformed.toml": "schema_version = 1\nname = \n",
    "binary.toml": os.urandom(0) + bytes(range(256)),
    "empty.yaml": "",
    "list.yaml": "- 1\n",
}


def _network_cases() -> Iterator[Case]:
    for name, maker in NETWORK_FILES.items():
        yield Case(
            f"network-{name}", ("simulate", "--network", name, "--energy-backend", "none",
                                "--json", "o.json"),
            files=((name, maker),), outputs=("o.json",), isolate=name.startswith("50k"),
            tags=frozenset({"network"}),
        )  # fmt: skip
    for spec in ("nothere.yaml", "eesenn", "network.json", "", "dir.yaml"):
        files: tuple[tuple[str, Maker], ...] = (
            (("dir.yaml", lambda p: p.mkdir()),) if spec == "dir.yaml" else ()
        )
        yield Case(
            f"network-spec-{spec or 'empty'}", ("simulate", "--network", spec),
            files=files, tags=frozenset({"network"}),
        )  # fmt: skip
    huge = NET_HEAD + "layers:\n  - {type: lstm, input: 8, hidden: 1000000}\n"
    yield Case(
        "run-hidden-1e6", ("run", "--network", "huge.yaml", "--input", "x.npy", "--out", "y.npz"),
        files=(("huge.yaml", huge), ("x.npy", _npy(np.zeros((4, 8))))), outputs=("y.npz",),
        isolate=True, tags=frozenset({"network", "run"}),
    )  # fmt: skip


# Inputs of epur run -------------------------------------------------------------------


def _npy(array: np.ndarray) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """A .npy header declaring ``shape`` with no data behind it."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1")


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (_payload_shell(),))


def _pickled_npy(path: Path) -> None:
    np.save(path, np.array([_Payload()], dtype=object), allow_pickle=True)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", _npy_header((1 << 20, 1 << 20)) + b"\0" * (1 << 20))


GOOD_X = np.random.default_rng(0).standard_normal((4, 8))
INPUTS: dict[str, Maker] = {
    "garbage.npy": b"not a numpy file at all",
    "empty.npy": b"",
    "truncated.npy": _npy(GOOD_X)[:100],
    "header-only.npy": _npy_header((4, 8)),
    "terabytes.npy": _npy_header((1 << 20, 1 << 20)),
    "object.npy": _pickled_npy,
    "strings.npy": _npy(np.array([["a"] * 8] * 4)),
    "complex.npy": _npy(GOOD_X.astype(np.complex128)),
    "bool.npy": _npy(GOOD_X > 0),
    "nan.npy": _npy(np.full((4, 8), np.nan)),
    "inf.npy": _npy(np.full((4, 8), np.inf)),
    "1d.npy": _npy(np.zeros(8)),
    "4d.npy": _npy(np.zeros((1, 4, 1, 8))),
    "zero-steps.npy": _npy(np.zeros((0, 8))),
    "wrong-features.npy": _npy(np.zeros((4, 7))),
    "garbage.npz": b"PK\x03\x04 garbage",
    "truncated.npz": _npz({"main": GOOD_X})[:60],
    "wrong-key.npz": _npz({"nope": GOOD_X}),
    "empty.npz": _npz({}),
    "bomb.npz": _zip_bomb,
    "x.txt": "1 2 3\n",
}


def _input_cases() -> Iterator[Case]:
    net = NET_HEAD + "layers:\n" + GOOD_LAYER
    for name, maker in INPUTS.items():
        yield Case(
            f"input-{name}", ("run", "--network", "n.yaml", "--input", name, "--out", "y.npz"),
            files=(("n.yaml", net), (name, maker)), outputs=("y.npz",),
            isolate=name.startswith(("terabytes", "bomb")), tags=frozenset({"input"}),
        )  # fmt: skip
    yield Case(
        "input-fifo.npy", ("run", "--network", "n.yaml", "--input", "f.npy", "--out", "y.npz"),
        files=(("n.yaml", net), ("f.npy", lambda p: os.mkfifo(p))), outputs=("y.npz",),
        isolate=True, tags=frozenset({"input"}),
    )  # fmt: skip
    yield Case(
        "input-missing", ("run", "--network", "n.yaml", "--input", "no.npy", "--out", "y.npz"),
        files=(("n.yaml", net),), outputs=("y.npz",), tags=frozenset({"input"}),
    )  # fmt: skip


# Model files --------------------------------------------------------------------------


def _pickle_payload(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weight_ih_l0": _Payload()}))


def _torch_file(state: Callable[[], object]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        import torch

        torch.save(state(), path)

    return make


def _gru_state() -> object:
    import torch

    return torch.nn.GRU(8, 16).state_dict()


def _huge_index_state() -> object:
    import torch

    state = torch.nn.LSTM(8, 16).state_dict()
    state["weight_ih_l999999999"] = state["weight_ih_l0"]
    return state


def _int_state() -> object:
    import torch

    return {k: v.to(torch.int32) for k, v in torch.nn.LSTM(8, 16).state_dict().items()}


TORCH_FILES: dict[str, Maker] = {
    "garbage.pt": b"definitely not a torch file",
    "empty.pt": b"",
    "payload.pt": _pickle_payload,
    "gru.pt": _torch_file(_gru_state),
    "huge-index.pt": _torch_file(_huge_index_state),
    "int.pt": _torch_file(_int_state),
    "list.pt": _torch_file(lambda: [1, 2, 3]),
    "no-lstm.pt": _torch_file(lambda: {"epoch": 3}),
}


def _onnx_bytes(kind: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from onnx import TensorProto, helper

        h, i = 4, 3
        x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 1, i])
        y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
        dtype = {"strings": TensorProto.STRING, "bools": TensorProto.BOOL}.get(
            kind, TensorProto.FLOAT
        )
        values: list[object]
        if kind == "strings":
            values = [b"a"] * (4 * h * i)
        elif kind == "bools":
            values = [True] * (4 * h * i)
        else:
            values = [0.1] * (4 * h * i)
        w = helper.make_tensor("W", dtype, [1, 4 * h, i], values)
        r = helper.make_tensor("R", TensorProto.FLOAT, [1, 4 * h, h], [0.1] * (4 * h * h))
        op = "GRU" if kind == "gru" else "LSTM"
        node = helper.make_node(op, ["X", "W", "R"], ["Y"], hidden_size=h)
        inits = [w, r]
        if kind == "external":
            w.ClearField("float_data")
            w.data_location = TensorProto.EXTERNAL
            w.external_data.add(key="location", value="/etc/passwd")
        graph = helper.make_graph([node], "g", [x], [y], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        path.write_bytes(model.SerializeToString())

    return make


ONNX_FILES: dict[str, Maker] = {
    "garbage.onnx": b"\x08\x07garbage protobuf",
    "empty.onnx": b"",
    "text.onnx": "ir_version: 7\n",
    "strings.onnx": _onnx_bytes("strings"),
    "bools.onnx": _onnx_bytes("bools"),
    "gru.onnx": _onnx_bytes("gru"),
    "external.onnx": _onnx_bytes("external"),
}


def _model_cases() -> Iterator[Case]:
    for name, maker in TORCH_FILES.items():
        for command in (("simulate", "--seq-len", "4", "--energy-backend", "none"),
                        ("run", "--input", "x.npy", "--out", "y.npz")):  # fmt: skip
            yield Case(
                f"torch-{command[0]}-{name}", (command[0], "--torch", name, *command[1:]),
                files=((name, maker), ("x.npy", _npy(GOOD_X))), outputs=("y.npz",),
                isolate=name.startswith("huge"), tags=frozenset({"torch"}),
            )  # fmt: skip
    for name, maker in ONNX_FILES.items():
        for command in (("simulate", "--seq-len", "4", "--energy-backend", "none"),
                        ("run", "--input", "x.npy", "--out", "y.npz")):  # fmt: skip
            yield Case(
                f"onnx-{command[0]}-{name}", (command[0], "--onnx", name, *command[1:]),
                files=((name, maker), ("x.npy", _npy(GOOD_X[:, :3]))), outputs=("y.npz",),
                tags=frozenset({"onnx"}),
            )  # fmt: skip


# Output paths -------------------------------------------------------------------------


def _output_cases() -> Iterator[Case]:
    net = NET_HEAD + "layers:\n" + GOOD_LAYER
    targets: dict[str, tuple[tuple[str, Maker], ...]] = {
        "a-dir": (("a-dir", lambda p: p.mkdir()),),
        "missing/o.json": (),
        "file/o.json": (("file", "I am a file\n"),),
        "x" * 300 + ".json": (),
        "bad\nname/o.json": (),
    }
    for target, files in targets.items():
        short = target[:20].replace("\n", "\\n")
        yield Case(
            f"out-json-{short}", (*SIM, "--json", target), files=files,
            tags=frozenset({"output"}),
        )  # fmt: skip
        yield Case(
            f"out-npz-{short}",
            ("run", "--network", "n.yaml", "--input", "x.npy", "--out", target),
            files=(*files, ("n.yaml", net), ("x.npy", _npy(GOOD_X))), tags=frozenset({"output"}),
        )  # fmt: skip
        yield Case(
            f"out-size-{short}", ("size", "--network", "eesen", "--json", target), files=files,
            tags=frozenset({"output"}),
        )  # fmt: skip
    yield Case(
        "out-reproduce-under-file", ("reproduce", "--out", "file/results"),
        files=(("file", "I am a file\n"),), tags=frozenset({"output"}),
    )  # fmt: skip
    yield Case(
        "out-reproduce-is-file", ("reproduce", "--out", "results"),
        files=(("results", "I am a file\n"),), tags=frozenset({"output"}),
    )  # fmt: skip
    yield Case(
        "out-reproduce-foreign-dir", ("reproduce", "--out", "mine"),
        files=(("mine/thesis.tex", "do not delete me\n"),), tags=frozenset({"output"}),
    )  # fmt: skip


# Flags --------------------------------------------------------------------------------

FLAGS: dict[str, tuple[str, ...]] = {
    "no-command": (),
    "unknown-command": ("simulat",),
    "unknown-flag": (*SIM, "--fast"),
    "twice": (*SIM, "--dataflow", "mwl", "--dataflow", "baseline"),
    "seq-len-0": (*SIM, "--seq-len", "0"),
    "seq-len-neg": (*SIM, "--seq-len", "-5"),
    "seq-len-float": (*SIM, "--seq-len", "2.5"),
    "batch-0": (*SIM, "--batch", "0"),
    "tile-rows-0": (*SIM, "--tile-rows", "0"),
    "tile-rows-baseline": (*SIM, "--dataflow", "baseline", "--tile-rows", "4"),
    "dataflow-bad": (*SIM, "--dataflow", "fast"),
    "backend-bad": ("simulate", "--network", "bysdne", "--energy-backend", "magic"),
    "two-sources": ("simulate", "--network", "eesen", "--onnx", "m.onnx"),
    "no-source": ("simulate",),
    "run-no-input": ("run", "--network", "eesen", "--out", "y.npz"),
    "run-seed-neg": ("run", "--network", "eesen", "--input", "x.npy", "--out", "y.npz",
                     "--seed", "-1"),
    "run-format-bad": ("run", "--network", "eesen", "--input", "x.npy", "--out", "y.npz",
                       "--format", "fp7"),
    "run-format-q40.40": ("run", "--network", "eesen", "--input", "x.npy", "--out", "y.npz",
                          "--format", "q40.40"),
    "run-activation-bad": ("run", "--network", "eesen", "--input", "x.npy", "--out", "y.npz",
                           "--activation", "relu"),
    "run-activation-pwl0": ("run", "--network", "eesen", "--input", "x.npy", "--out", "y.npz",
                            "--activation", "pwl0"),
    "run-batch-first-onnx": ("run", "--onnx", "m.onnx", "--input", "x.npy", "--out", "y.npz",
                             "--batch-first"),
    "size-no-network": ("size",),
    "size-dataflow-bad": ("size", "--network", "eesen", "--dataflow", "both"),
    "reproduce-backend-none": ("reproduce", "--energy-backend", "none"),
}  # fmt: skip


def _flag_cases() -> Iterator[Case]:
    for name, argv in FLAGS.items():
        yield Case(f"flag-{name}", argv, outputs=("y.npz",), tags=frozenset({"flag"}))


def cases() -> list[Case]:
    """Every case of the corpus, in a stable order with unique ids."""
    found = [
        *_set_cases(), *_arch_cases(), *_network_cases(), *_input_cases(), *_model_cases(),
        *_output_cases(), *_flag_cases(),
    ]  # fmt: skip
    ids = [c.id for c in found]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return found


# Running a case and judging what it left -----------------------------------------------

MEMORY_LIMIT = 6 << 30  # address space of a case run as its own process
PROGRAM = "import sys; from epur.cli import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_in_process(case: Case, folder: Path) -> Outcome:
    """``main(argv)`` in this process, in ``folder`` (for cases that cannot block)."""
    import contextlib

    from epur.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(folder)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as caught,
        ):
            _python_default_warning_filters()  # pytest's "error" filter would hide them
            try:
                code = main(list(case.argv))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(old)
    for w in caught:  # what a real process would print on stderr
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    return Outcome(code, out.getvalue(), err.getvalue())


def _python_default_warning_filters() -> None:
    """The warning filters of a plain ``python`` process (no ``-W``)."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", quiet)


def run_as_process(case: Case, folder: Path, timeout: float = 120) -> Outcome:
    """``epur *argv`` as its own process, as a user runs it."""
    import subprocess
    import sys

    def limit_memory() -> None:  # a case that over-allocates fails; it cannot sink the machine
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    try:
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM, *case.argv], cwd=folder, capture_output=True,
            text=True, timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=limit_memory,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Outcome(-1, "", f"timed out after {timeout} s")
    return Outcome(done.returncode, done.stdout, done.stderr)


def problems(case: Case, folder: Path, outcome: Outcome) -> list[str]:
    """Everything wrong with how ``case`` ended (an empty list: it ended as it must)."""
    found = []
    if outcome.code != 2:
        found.append(f"exit code {outcome.code}, not 2")
    lines = outcome.stderr.splitlines()
    if "Traceback" in outcome.stderr:
        found.append("a traceback")
    if len(lines) != 1:
        found.append(f"{len(lines)} lines on stderr, not 1")
    elif len(lines[0]) > 700:
        found.append(f"an error line of {len(lines[0])} characters")
    if (folder / MARKER).exists():
        found.append("a payload ran")
    for name in case.outputs:
        if (folder / name).exists():
            found.append(f"output {name} was written")
    leftovers = [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    if leftovers:
        found.append(f"temporary files left: {leftovers}")
    return found
