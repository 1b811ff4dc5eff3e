"""Unit tests for ``epur.arch.overrides``: ``--set KEY=VALUE`` and architecture files."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

import pytest

from epur.arch import apply_overrides, load_arch, paper_preset
from epur.arch.config import DERIVED
from epur.arch.overrides import leaf_keys
from epur.errors import ConfigError

KIB = 1024
MIB = 1024 * KIB
CHUNK_BITS = 16 * 16  # the paper's lanes x fp16
KNOWN = set(leaf_keys(paper_preset().model_dump()))


def one_line(excinfo: pytest.ExceptionInfo[ConfigError]) -> None:
    assert "\n" not in str(excinfo.value)


def get(tree: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        tree = tree[part]
    return tree


def test_leaf_keys() -> None:
    tree = {"a": 1, "b": {"c": 2, "d": {"e": 3}}, "f": None}
    assert leaf_keys(tree) == ["a", "b.c", "b.d.e", "f"]
    assert leaf_keys({}) == []


@pytest.mark.parametrize(
    ("assignment", "key", "expected"),
    [
        ("dpu.lanes=32", "dpu.lanes", 32),
        ("clock_hz=1000000000", "clock_hz", 10**9),
        ("clock_hz=1e9", "clock_hz", 10**9),
        ("clock_hz=250e6", "clock_hz", 250 * 10**6),
        ("weight_buffer.capacity_bytes=4MiB", "weight_buffer.capacity_bytes", 4 * MIB),
        ("weight_buffer.capacity_bytes=4 MiB", "weight_buffer.capacity_bytes", 4 * MIB),
        ("weight_buffer.capacity_bytes=8KiB", "weight_buffer.capacity_bytes", 8 * KIB),
        ("input_buffer.capacity_bytes=16KiB", "input_buffer.capacity_bytes", 16 * KIB),
        ("input_buffer.capacity_bytes=4096", "input_buffer.capacity_bytes", 4096),
        (
            "intermediate_memory.capacity_bytes=12MiB",
            "intermediate_memory.capacity_bytes",
            12 * MIB,
        ),
        ("intermediate_memory.capacity_bytes=8KiB", "intermediate_memory.capacity_bytes", 8 * KIB),
        ("dram.bandwidth_bytes_per_s=12.8e9", "dram.bandwidth_bytes_per_s", 128 * 10**8),
        ("dram.latency_ns=60", "dram.latency_ns", 60.0),
        ("dpu.latency_cycles=0", "dpu.latency_cycles", 0),
        ("formats.storage=FP32", "formats.storage", "fp32"),
        ("formats.accumulator=q16.16", "formats.accumulator", "q16.16"),
        ("weight_buffer.port_bits=512", "weight_buffer.port_bits", 512),
        ("name=mine", "name", "mine"),
        (" dpu.lanes = 8 ", "dpu.lanes", 8),
    ],
)
def test_set_one_key(assignment: str, key: str, expected: Any) -> None:
    preset = paper_preset()
    arch = apply_overrides(preset, [assignment])
    after, before = arch.model_dump(), preset.model_dump()
    assert get(after, key) == expected
    # nothing else moved, but for what derives from the key (tested below)
    for other in leaf_keys(before):
        if other != key and DERIVED.get(other) != key:
            assert get(after, other) == get(before, other), other
    assert paper_preset() == preset  # the input is untouched


def test_bandwidth_from_scientific_notation() -> None:
    arch = apply_overrides(
        paper_preset(), ["dram.bandwidth_bytes_per_s=1", "dram.bandwidth_bytes_per_s=25.6e9"]
    )
    assert arch.dram.bandwidth_bytes_per_s == 256 * 10**8


def test_later_assignments_win_and_combine() -> None:
    arch = apply_overrides(paper_preset(), ["dpu.lanes=32", "clock_hz=1e9", "dpu.lanes=8"])
    assert (arch.dpu.lanes, arch.clock_hz) == (8, 10**9)


def test_port_default_follows_the_overrides() -> None:
    arch = apply_overrides(paper_preset(), ["dpu.lanes=32", "formats.storage=fp32"])
    assert arch.port_bits(arch.weight_buffer) == 32 * 32


def test_null_port_returns_to_auto() -> None:
    arch = apply_overrides(paper_preset(), ["input_buffer.port_bits=512"])
    arch = apply_overrides(arch, ["input_buffer.port_bits=null"])
    assert arch.input_buffer.port_bits is None
    assert arch.port_bits(arch.input_buffer) == CHUNK_BITS


def test_no_assignments_is_the_preset() -> None:
    assert apply_overrides(paper_preset(), []) == paper_preset()
    assert load_arch() == paper_preset()


def test_load_arch_applies_assignments() -> None:
    sets = ["dpu.lanes=32", "weight_buffer.capacity_bytes=4MiB"]
    assert load_arch(None, sets) == apply_overrides(paper_preset(), sets)


# ---- --set errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "meant"),
    [
        ("dpu.lane=3", "dpu.lanes"),
        ("dram.bandwidth=1", "dram.bandwidth_bytes_per_s"),
        ("clock=1e9", "clock_hz"),
        ("weight_buffer.capacity=1MiB", "weight_buffer.capacity_bytes"),
        ("logic.mul_fp16=1", "logic.mul_fp16_pj"),
    ],
)
def test_unknown_key_suggests_the_close_matches_only(assignment: str, meant: str) -> None:
    """One short line naming the key and what was probably meant, not all 48 keys."""
    key = assignment.partition("=")[0]
    pattern = rf"^--set key must be one of the architecture keys, not {re.escape(repr(key))}"
    with pytest.raises(ConfigError, match=pattern) as excinfo:
        apply_overrides(paper_preset(), [assignment])
    one_line(excinfo)
    message = str(excinfo.value)
    named = set(re.findall(r"[a-z_]+\.[a-z0-9_]+|[a-z_]+_hz", message))
    assert meant in named, message
    assert len(message) <= 200 and len(named & KNOWN) <= 3, message


@pytest.mark.parametrize("assignment", ["dpu=3", "lanes=3", "turbo=1", "logic.foo=1", "a.b.c=1"])
def test_unknown_key_without_a_close_match_stays_short(assignment: str) -> None:
    prefix = r"^--set key must be one of the architecture keys, not "
    with pytest.raises(ConfigError, match=prefix) as excinfo:
        apply_overrides(paper_preset(), [assignment])
    one_line(excinfo)
    assert len(str(excinfo.value)) <= 300, str(excinfo.value)


@pytest.mark.parametrize("assignment", ["dpu.lanes", "=32", " =32", ""])
def test_assignment_without_equals_or_key(assignment: str) -> None:
    message = (
        rf"^--set takes KEY=VALUE \(e\.g\. dpu\.lanes=32\), not {re.escape(repr(assignment))}$"
    )
    with pytest.raises(ConfigError, match=message) as excinfo:
        load_arch(None, [assignment])
    one_line(excinfo)


BAD_VALUES = [
    ("dpu.lanes=-1", r"dpu\.lanes: must be greater than or equal to 1, not -1"),
    ("dpu.lanes=0", r"dpu\.lanes: must be greater than or equal to 1, not 0"),
    ("clock_hz=0", r"clock_hz: must be greater than or equal to 1000000, not 0"),
    (
        "weight_buffer.capacity_bytes=-1",
        r"weight_buffer\.capacity_bytes: must be greater than or equal to 0, not -1",
    ),
    ("dram.latency_ns=-5", r"dram\.latency_ns: must be greater than or equal to 0, not -5"),
    ("dpu.lanes=abc", r"dpu\.lanes: must be a valid integer, not 'abc'"),
    ("clock_hz=500MHz", r"clock_hz: must be a valid integer, not '500MHz'"),
    (
        "input_buffer.capacity_bytes=lots",
        r"input_buffer\.capacity_bytes: must be a byte count such as 8192, '8KiB' or '2MiB', "
        r"not 'lots'",
    ),
    ("dpu.lanes=16.5", r"dpu\.lanes: must be a valid integer, not 16\.5"),
    ("dpu.lanes=true", r"dpu\.lanes: must be a valid integer, not True"),
    ("dpu.lanes=", r"dpu\.lanes: must be a valid integer, not ''"),
    (
        "formats.storage=fp8",
        r"formats\.storage: number format must be fp32, fp16, bf16, int8 or qM\.N\S* \(.*\), "
        r"not 'fp8'",
    ),
    ("formats.accumulator=float", r"formats\.accumulator: number format must be .*, not 'float'"),
    (
        "formats.storage=q4.3",
        r"formats\.storage: must be 8, 16 or 32 bits wide \(q4\.3 is 7\), "
        r"not 'q4\.3'",
    ),
    ("compute_units=2", r"compute_units: must be 4 \(one compute unit per LSTM gate\), not 2"),
    ("schema_version=2", r"schema_version: must be 1, not 2"),
    (
        f"weight_buffer.port_bits={CHUNK_BITS // 2}",
        rf"\(top level\): weight_buffer\.port_bits must be at least dpu\.lanes x storage bits "
        rf"\({CHUNK_BITS}\) to feed one chunk per cycle, not {CHUNK_BITS // 2}",
    ),
    (
        f"input_buffer.port_bits={CHUNK_BITS - 1}",
        rf"\(top level\): input_buffer\.port_bits must be at least dpu\.lanes x storage bits "
        rf"\({CHUNK_BITS}\) to feed one chunk per cycle, not {CHUNK_BITS - 1}",
    ),
]


@pytest.mark.parametrize(("assignment", "message"), BAD_VALUES, ids=[a for a, _ in BAD_VALUES])
def test_bad_values(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^--set: {message}$") as excinfo:
        apply_overrides(paper_preset(), [assignment])
    one_line(excinfo)


# ---- every number, systematically ----------------------------------------------------------


def _numeric_keys() -> list[str]:
    """Every leaf of the preset holding a number (or ``None``: the auto port widths)."""
    tree = paper_preset().model_dump()
    return [
        key
        for key in leaf_keys(tree)
        if get(tree, key) is None
        or (isinstance(get(tree, key), int | float) and not isinstance(get(tree, key), bool))
    ]


NUMERIC_KEYS = _numeric_keys()
assert len(NUMERIC_KEYS) >= 40 and {"clock_hz", "dram.energy_per_bit_j"} <= set(NUMERIC_KEYS)
ZERO_IS_VALID = {
    "dpu.latency_cycles",
    "mfu.latency_cycles",
    "weight_buffer.capacity_bytes",  # no buffer: the timing model streams from DRAM
    "input_buffer.capacity_bytes",
    "intermediate_memory.capacity_bytes",
    "dram.latency_ns",
    "dram.energy_per_bit_j",
    "dram.background_active_standby_w",  # 0: no background power of that state
    "dram.background_power_down_w",
    "dram.background_self_refresh_w",
    "dram.refresh_w",
    "dram.refresh_ns",  # 0: no refresh
    # 0: left out of the totals (the overhead factor multiplies: 1 is none)
    *(key for key in NUMERIC_KEYS if key.startswith("logic.") and key != "logic.overhead_factor"),
}
# (--set text, YAML scalar, TOML value): non-finite, negative, absurdly large, not numbers
BAD_NUMBERS = [
    ("inf", ".inf", "inf"),
    ("-inf", "-.inf", "-inf"),
    ("nan", ".nan", "nan"),
    ("1e999", "1.0e+999", "1e999"),
    ("-1", "-1", "-1"),
    ("1e30", "1.0e+30", "1e30"),
    (str(10**30), str(10**30), "1e30"),
    ("true", "true", "true"),
    ("fast", "fast", '"fast"'),
]


def _bad_cases() -> list[tuple[str, tuple[str, str, str]]]:
    cases = [(key, bad) for key in NUMERIC_KEYS for bad in BAD_NUMBERS]
    cases += [(key, ("0", "0", "0")) for key in NUMERIC_KEYS if key not in ZERO_IS_VALID]
    return cases


BAD_CASES = _bad_cases()
BAD_IDS = [f"{key}={bad[0]}" for key, bad in BAD_CASES]


def _refused(call: Any, source: str, key: str) -> str:
    with pytest.raises(ConfigError) as excinfo:
        call()
    message = str(excinfo.value)
    assert message.startswith(f"{source}: {key}: "), message
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.mark.parametrize(("key", "bad"), BAD_CASES, ids=BAD_IDS)
def test_every_numeric_field_refuses_bad_numbers_through_set(
    key: str, bad: tuple[str, str, str]
) -> None:
    text = bad[0]
    message = _refused(lambda: apply_overrides(paper_preset(), [f"{key}={text}"]), "--set", key)
    assert "not " in message  # the value is named


@pytest.mark.parametrize(("key", "bad"), BAD_CASES, ids=BAD_IDS)
def test_every_numeric_field_refuses_bad_numbers_in_a_yaml_file(
    key: str, bad: tuple[str, str, str], tmp_path: Path
) -> None:
    *parents, leaf = key.split(".")
    text = "".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(parents))
    text += f"{'  ' * len(parents)}{leaf}: {bad[1]}\n"
    path = tmp_path / "arch.yaml"
    path.write_text(text, encoding="utf-8")
    _refused(lambda: load_arch(path), str(path), key)


@pytest.mark.parametrize("key", NUMERIC_KEYS)
@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e30", "true", '"fast"'])
def test_every_numeric_field_refuses_bad_numbers_in_a_toml_file(
    key: str, value: str, tmp_path: Path
) -> None:
    *parents, leaf = key.split(".")
    header = f"[{'.'.join(parents)}]\n" if parents else ""
    path = tmp_path / "arch.toml"
    path.write_text(f"{header}{leaf} = {value}\n", encoding="utf-8")
    _refused(lambda: load_arch(path), str(path), key)


RANGES = [
    # (key, smallest allowed, largest allowed, just below, just above)
    ("clock_hz", "1e6", "100e9", "999999", "100000000001"),
    ("dpu.lanes", "1", "4096", "0", "4097"),
    ("dpu.latency_cycles", "0", "1000", "-1", "1001"),
    ("mfu.latency_cycles", "0", "1000", "-1", "1001"),
    ("weight_buffer.capacity_bytes", "0", str(2**40), "-1", str(2**40 + 1)),
    ("intermediate_memory.port_bits", "1", "131072", "0", "131073"),
    ("input_buffer.banks", "1", "4096", "0", "4097"),
    ("dram.bandwidth_bytes_per_s", "1e6", "1e13", "999999", "10000000000001"),
    ("dram.latency_ns", "0", "1e4", "-0.001", "10000.001"),
    ("dram.energy_per_bit_j", "0", "1e-9", "-1e-15", "1.001e-9"),
    ("dram.refresh_w", "0", "100", "-0.001", "100.001"),
    ("dram.refresh_interval_ns", "280.001", "1e4", "280", "10000.001"),
    ("logic.overhead_factor", "1", "10", "0.999", "10.001"),
    ("logic.mul_fp32_pj", "0", "100", "-0.01", "100.01"),
    ("logic.add_int8_um2", "0", "1e6", "-0.01", "1000000.1"),
    ("technology.temperature_k", "300", "400", "299", "401"),
]


@pytest.mark.parametrize(
    ("key", "low", "high", "below", "above"), RANGES, ids=[r[0] for r in RANGES]
)
def test_the_documented_ranges_are_the_enforced_ones(
    key: str, low: str, high: str, below: str, above: str
) -> None:
    for text in (low, high):
        assert get(apply_overrides(paper_preset(), [f"{key}={text}"]).model_dump(), key) == float(
            text
        )
    for text in (below, above):
        _refused(lambda t=text: apply_overrides(paper_preset(), [f"{key}={t}"]), "--set", key)


def test_port_checked_against_the_final_chunk() -> None:
    # a 256-bit port feeds 16 fp16 lanes but not 16 fp32 lanes (512 bits)
    ok = apply_overrides(paper_preset(), [f"weight_buffer.port_bits={CHUNK_BITS}"])
    assert ok.port_bits(ok.weight_buffer) == CHUNK_BITS
    with pytest.raises(ConfigError, match=r"weight_buffer\.port_bits .* \(512\) .*, not 256$"):
        apply_overrides(ok, ["formats.storage=fp32"])


def test_byte_sizes_accept_scientific_notation() -> None:
    arch = apply_overrides(paper_preset(), ["weight_buffer.capacity_bytes=4e6"])
    assert arch.weight_buffer.capacity_bytes == 4 * 10**6


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match=r"^preset must be one of paper, not 'nope'$"):
        load_arch(preset="nope")


# ---- architecture files ---------------------------------------------------------------------


PARTIAL = {
    "arch.yaml": "name: mine\ndpu:\n  lanes: 32\nweight_buffer:\n  capacity_bytes: 4MiB\n",
    "arch.yml": "name: mine\ndpu: {lanes: 32}\nweight_buffer: {capacity_bytes: 4194304}\n",
    "arch.toml": 'name = "mine"\n[dpu]\nlanes = 32\n[weight_buffer]\ncapacity_bytes = "4MiB"\n',
}


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_file_partially_overrides_the_preset(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(PARTIAL[name], encoding="utf-8")
    arch = load_arch(path)
    assert arch.name == "mine"
    assert arch.dpu.lanes == 32
    assert arch.weight_buffer.capacity_bytes == 4 * MIB
    # siblings of overridden keys keep the preset's values (a deep merge); the DPU's
    # latency, derived from its lanes, follows them: 1 + log2(32) + 1
    preset = paper_preset()
    assert arch.dpu.latency_cycles == 7
    assert arch.mfu == preset.mfu
    assert arch.weight_buffer.banks == preset.weight_buffer.banks
    assert arch.input_buffer == preset.input_buffer
    assert arch.dram == preset.dram and arch.clock_hz == preset.clock_hz
    assert arch.port_bits(arch.weight_buffer) == 32 * 16


def test_set_applies_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("dpu: {lanes: 32}\nclock_hz: 1e9\n", encoding="utf-8")
    arch = load_arch(path, ["dpu.lanes=8"])
    assert arch.dpu.lanes == 8
    assert arch.clock_hz == 10**9


FILE_ERRORS = [
    ("unknown.yaml", "dpu:\n  lanes: 32\n  width: 3\n", r"{p}: dpu\.width: unknown field"),
    ("unknown.toml", "[dram]\nlatency_cycles = 3\n", r"{p}: dram\.latency_cycles: unknown field"),
    ("top.yaml", "turbo: true\n", r"{p}: turbo: unknown field"),
    (
        "neg.yaml",
        "dpu: {lanes: -4}\n",
        r"{p}: dpu\.lanes: must be greater than or equal to 1, not -4",
    ),
    (
        "scalar.yaml",
        "dpu: 3\n",
        r"{p}: dpu: must be a valid dictionary or instance of DPUConfig, not 3",
    ),
    ("bad.yaml", "dpu: {lanes: [32\n", r"architecture file {p} is malformed: .+"),
    ("bad.toml", "[dpu\nlanes = 32\n", r"architecture file {p} is malformed: .+"),
    ("list.yaml", "- 1\n", r"architecture file {p} must hold a mapping, not list"),
    (
        "arch.json",
        "{}",
        r"architecture file {p} must end in \.yaml, \.yml or \.toml, not '\.json'",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), FILE_ERRORS, ids=[f[0] for f in FILE_ERRORS])
def test_file_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    expected = "^" + message.replace("{p}", re.escape(str(path))) + "$"
    with pytest.raises(ConfigError, match=expected) as excinfo:
        load_arch(path)
    one_line(excinfo)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    message = (
        rf"^cannot read architecture file {re.escape(str(path))}: "
        rf"{re.escape(os.strerror(errno.ENOENT))}$"
    )
    with pytest.raises(ConfigError, match=message):
        load_arch(path)


# ---- fields derived from others follow their source unless given ------------------------


def test_the_dpu_latency_follows_its_lanes_unless_given(tmp_path: Path) -> None:
    """1 multiplier stage + ceil(log2(lanes)) adder-tree levels + 1 accumulator stage."""
    assert load_arch(None, ["dpu.lanes=32"]).dpu.latency_cycles == 1 + 5 + 1
    assert load_arch(None, ["dpu.lanes=12"]).dpu.latency_cycles == 1 + 4 + 1  # 16-leaf tree
    assert load_arch(None, ["dpu.lanes=1"]).dpu.latency_cycles == 1 + 0 + 1  # no tree
    # given explicitly, in either order, it wins
    for order in (
        ["dpu.lanes=32", "dpu.latency_cycles=3"],
        ["dpu.latency_cycles=3", "dpu.lanes=32"],
    ):
        assert load_arch(None, order).dpu.latency_cycles == 3
    # a file that gives it keeps it under --set dpu.lanes; one that does not derives it
    given, lanes_only = tmp_path / "given.yaml", tmp_path / "lanes.yaml"
    given.write_text("dpu: {lanes: 8, latency_cycles: 4}\n", encoding="utf-8")
    lanes_only.write_text("dpu: {lanes: 64}\n", encoding="utf-8")
    assert load_arch(given, ["dpu.lanes=32"]).dpu.latency_cycles == 4
    assert load_arch(lanes_only).dpu.latency_cycles == 1 + 6 + 1
    # null makes a given latency derived again
    again = load_arch(given, ["dpu.latency_cycles=null", "dpu.lanes=256"])
    assert again.dpu.latency_cycles == 1 + 8 + 1 and again.dpu.latency_is_derived
