"""Mutations of real trace files for the fuzz test and bench/fuzz.py: `mutate(data, rng)`.

Each mutation is one a hostile or broken export makes: bit flips, truncation, deleted and swapped
fields, huge and non-finite numbers, odd ids, unicode and control characters, deep nesting.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.is_file() and p.suffix != ".md")

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_FIELD = re.compile(rb'"[A-Za-z_]+"\s*:\s*(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false|null)\s*,?')

NUMBERS = (b"1e400", b"1e999", b"-1e400", b"NaN", b"Infinity", b"99999999999999999999999",
           b"-1", b"0", b"18446744073709551616", b"1.5", b'"11651379494838206464"')  # fmt: skip
STRINGS = (b'"span-A"', b'"trace-123"', b'""', b'"=="', b'"\\u0000"', b'"\xff\xfe"', b'"\\ud800"',
           b'"\x1b[2J"', b'"\xe2\x80\xae"', b'"ZZZZ"', b'"0000000000000000"', b"null", b"[]",
           b"{}")  # fmt: skip


def _spans(pattern: re.Pattern[bytes], data: bytes, rng: random.Random) -> re.Match[bytes] | None:
    found = list(pattern.finditer(data, 0, 1 << 20))
    return rng.choice(found) if found else None


def bit_flip(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def delete_field(data: bytes, rng: random.Random) -> bytes:
    m = _spans(_FIELD, data, rng)
    return data if m is None else data[: m.start()] + data[m.end() :]


def swap_fields(data: bytes, rng: random.Random) -> bytes:
    found = list(_STRING.finditer(data, 0, 1 << 20))
    if len(found) < 2:
        return data
    a, b = sorted(rng.sample(found, 2), key=lambda m: m.start())
    if a.end() > b.start():
        return data
    return data[: a.start()] + b.group() + data[a.end() : b.start()] + a.group() + data[b.end() :]


def odd_number(data: bytes, rng: random.Random) -> bytes:
    m = _spans(_NUMBER, data, rng)
    return data if m is None else data[: m.start()] + rng.choice(NUMBERS) + data[m.end() :]


def odd_string(data: bytes, rng: random.Random) -> bytes:
    m = _spans(_STRING, data, rng)
    return data if m is None else data[: m.start()] + rng.choice(STRINGS) + data[m.end() :]


def control_chars(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    junk = bytes(rng.choice(b"\x00\x01\x07\x1b\x7f\n\r\t\xc3\xe2\x80\xae\xff") for _ in range(4))
    return data[:i] + junk + data[i:]


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((500, 999, 1000, 1001, 5000, 100_000))
    m = _spans(_NUMBER, data, rng) or _spans(_STRING, data, rng)
    if m is None:
        return b"[" * depth + data + b"]" * depth
    return data[: m.start()] + b"[" * depth + m.group() + b"]" * depth + data[m.end() :]


def duplicate(data: bytes, rng: random.Random) -> bytes:
    i, j = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    return data[:j] + data[i:j] + data[j:]


MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    bit_flip, truncate, delete_field, swap_fields, odd_number, odd_string, control_chars,
    deep_nesting, duplicate,
)  # fmt: skip


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """`data` with 1 to `rounds` random mutations applied."""
    for _ in range(rng.randint(1, rounds)):
        if data:
            data = rng.choice(MUTATIONS)(data, rng)
    return data
