"""Unit tests for ``epur.units``: byte-size parsing and exact ceiling division."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest

from epur.units import GIB, KIB, MIB, ceil_div, parse_bytes


def test_binary_constants() -> None:
    assert (KIB, MIB, GIB) == (2**10, 2**20, 2**30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6291456", 6291456),
        ("0", 0),
        ("12B", 12),
        ("8KiB", 8 * 1024),
        ("8 KiB", 8 * 1024),
        ("  2MiB  ", 2 * 1024**2),
        ("6MiB", 6 * 1024**2),
        ("1GiB", 1024**3),
        ("1.5KiB", 1536),
        ("0.5MiB", 512 * 1024),
        ("2kB", 2000),
        ("2KB", 2000),
        ("3MB", 3 * 10**6),
        ("25.6GB", 25_600_000_000),
        ("2mib", 2 * 1024**2),
        ("8kib", 8 * 1024),
    ],
)
def test_parse_bytes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("value", [0, 1, 8192, 2 * 1024**2])
def test_parse_bytes_passes_ints_through(value: int) -> None:
    assert parse_bytes(value) == value


@pytest.mark.parametrize("text", ["lots", "2 TiB", "-1KiB", "1e3", "KiB", "2 MiB B", "0x10"])
def test_parse_bytes_rejects_garbage(text: str) -> None:
    message = (
        rf"^expected a byte count such as 8192, '8KiB' or '2MiB', not {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_bytes(text)


@pytest.mark.parametrize("text", ["1.5B", "0.1KiB", "1.0001kB"])
def test_parse_bytes_rejects_fractions_of_a_byte(text: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^{re.escape(repr(text))} is not a whole number of bytes$"
    ):
        parse_bytes(text)


@pytest.mark.parametrize("value", [True, False])
def test_parse_bytes_rejects_bools(value: bool) -> None:
    with pytest.raises(ValueError, match=rf"^expected a byte count, not {value!r}$"):
        parse_bytes(value)


@pytest.mark.parametrize(("text", "expected"), [("4.1GB", 4_100_000_000)])
def test_parse_bytes_exact_decimal_sizes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0, 1, 0), (0, 7, 0), (1, 1, 1), (7, 2, 4), (8, 2, 4), (9, 4, 3), (1, 1000, 1)],
)
def test_ceil_div_table(a: int, b: int, expected: int) -> None:
    assert ceil_div(a, b) == expected


def test_ceil_div_matches_exact_ceiling() -> None:
    for a in range(0, 60):
        for b in range(1, 13):
            assert ceil_div(a, b) == math.ceil(Fraction(a, b))


def test_ceil_div_is_exact_beyond_float_precision() -> None:
    big = 10**30
    assert ceil_div(big + 1, 10**15) == 10**15 + 1
    assert ceil_div(big, 10**15) == 10**15
    assert ceil_div(2**80 * 3 + 1, 3) == 2**80 + 1


def test_si_prefixes() -> None:
    from epur.units import si

    assert si(172e9, "B/s") == "172 GB/s"
    assert si(9.96e-3, "s") == "9.96 ms"
    assert si(767e-6, "s") == "767 µs"
    assert si(1.11e12, "FLOPS") == "1.11 TFLOPS"
    assert si(2.5e-9, "s") == "2.5 ns"
    assert si(0.0, "s") == "0 s"
    assert si(None, "J") == "n/a"
