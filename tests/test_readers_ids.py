"""The id decoder rule: hex of any case and length is padded, base64 decoded, never mixed up."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracelens.readers.ids import BadId, optional_span_id, plain_hex, span_id, trace_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5B8EFFF798038103D269B633813FC60C", "5b8efff798038103d269b633813fc60c"),
        ("d6e9329d67b6146a", "0000000000000000d6e9329d67b6146a"),  # Tempo search trims zeros
        ("W47/95gDgQPSabYzgT/HAA==", "5b8efff798038103d269b633813fc700"),
        ("W47_95gDgQPSabYzgT_HAA", "5b8efff798038103d269b633813fc700"),  # URL-safe, unpadded
        ("AAAAAAAAAJYAAAAAAAAAoA==", "000000000000009600000000000000a0"),
    ],
)
def test_trace_ids_normalise_to_32_lowercase_hex(raw, expected):
    assert trace_id(raw) == expected


def test_span_ids_normalise_to_16_lowercase_hex():
    assert span_id("EEE19B7EC3C1B174") == "eee19b7ec3c1b174"
    assert span_id("7uGbfsPBsQA=") == "eee19b7ec3c1b100"
    assert span_id("2") == "0000000000000002"


def test_no_id_is_none():
    assert optional_span_id("") is None
    assert optional_span_id(None) is None
    assert optional_span_id("0000000000000000") is None


@pytest.mark.parametrize("raw", ["zz", "!!", "A" * 40, "trace-123", "span-A", "Trace X"])
def test_ids_that_are_neither_hex_nor_base64_are_kept_as_given(raw):
    # Jaeger UI's own fixtures use `trace-123` and `span-A`; ids are opaque strings in every API
    assert trace_id(raw) == raw
    assert span_id(raw) == raw


def test_hex_is_still_lowercased_and_base64_still_decoded():
    assert trace_id("ABC") == "0" * 29 + "abc"
    assert span_id("AAAAAAAAAAE=") == "0000000000000001"


def test_an_empty_id_is_refused():
    with pytest.raises(BadId):
        trace_id("")
    with pytest.raises(BadId):
        span_id("")


@given(st.binary(min_size=16, max_size=16))
def test_hex_is_never_read_as_base64(raw_id):
    upper = raw_id.hex().upper()  # 32 chars, every one also a base64 character
    assert trace_id(upper) == raw_id.hex()
    assert trace_id(base64.b64encode(raw_id).decode()) == raw_id.hex()


@given(st.binary(min_size=8, max_size=8))
def test_span_ids_round_trip_through_every_encoding(raw_id):
    assert span_id(raw_id.hex()) == raw_id.hex()
    assert span_id(base64.urlsafe_b64encode(raw_id).decode()) == raw_id.hex()  # ends in =


def test_plain_hex_accepts_only_ids_that_need_no_work():
    assert plain_hex(["0123456789abcdef", "0000000000000002"], 16)
    assert not plain_hex(["0123456789abcdef", "0123456789ABCDEF"], 16)  # uppercase
    assert not plain_hex(["0123456789abcde ", "0123456789abcdef"], 16)  # whitespace
    assert not plain_hex(["0123456789abcdef", "2"], 16)  # short: needs padding
    assert not plain_hex(["7uGbfsPBsQA=0000"], 16)  # base64
