"""Attribute values from the wire: `compact(value)` turns lists and maps into compact JSON text.

`AttributeValue` is flat (str, int, float, bool), so structured values (OTLP arrays and kvlists,
odd Jaeger tag values) are kept as their compact JSON text rather than dropped.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracelens.model import AttributeValue

_encode = msgspec.json.Encoder().encode


def compact(value: Any) -> AttributeValue:
    """A flat attribute value for any decoded JSON value (None becomes "")."""
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return value
    try:
        return _encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return str(value)
