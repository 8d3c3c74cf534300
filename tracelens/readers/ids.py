"""Normalise trace and span ids to lowercase hex: `trace_id(s) -> 32 chars`, `span_id(s) -> 16`.

Every backend's encoding ends up the same way (backends.md §1.1): hex of any case and any length
up to the full width is left-padded and lowercased; anything that ends in `=` or holds a character
outside the hex alphabet is base64 (standard or URL-safe, padded or not) when it decodes to a
whole binary id. The order matters: a 32-character hex id is also valid base64 and would decode to
24 bytes of garbage. Any other id (`span-A`, `trace-123`: hand-written and converted traces, the
Jaeger UI's own fixtures) is kept exactly as given, since ids are opaque strings in every trace
API. Empty or missing ids mean "no id" and come back as None from `optional_span_id`.
"""

from __future__ import annotations

import base64
import binascii

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ZEROS = "0" * 32

# Trace ids repeat on every span of a trace, so a small cache pays; cleared when it grows large.
_trace_cache: dict[str, str] = {}
_TRACE_CACHE_MAX = 100_000


class BadId(ValueError):
    """An id that cannot be used at all: an empty one."""


def _from_base64(raw: str) -> bytes | None:
    text = raw.strip().rstrip("=")
    padded = (text + "=" * (-len(text) % 4)).encode("ascii", "replace")
    for altchars in (b"+/", b"-_"):  # standard first, then URL-safe
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _normalise(raw: str, width: int) -> str:
    """Hex of `width` characters for `raw`, whatever its encoding (§1.1 decoder rule); an id
    that is neither hex nor base64 of a whole binary id, as given."""
    n = len(raw)
    if n <= width and not raw.endswith("=") and _HEX_DIGITS.issuperset(raw):
        return raw.lower() if n == width else (_ZEROS[: width - n] + raw).lower()
    data = _from_base64(raw)
    # Base64 ids are whole binary ids: 16 or 8 bytes (a 64-bit trace id) for traces, 8 for spans.
    if data is None or len(data) not in (width // 2, 8):
        return raw  # an opaque id ("span-A"): kept as given
    hexed = data.hex()
    return _ZEROS[: width - len(hexed)] + hexed


def trace_id(raw: str) -> str:
    """32-char lowercase hex for a trace id in any encoding (an opaque id as given); raises
    BadId when it is empty."""
    hit = _trace_cache.get(raw)
    if hit is not None:
        return hit
    if not raw:
        raise BadId("empty trace id")
    value = _normalise(raw, 32)
    if len(_trace_cache) >= _TRACE_CACHE_MAX:
        _trace_cache.clear()
    _trace_cache[raw] = value
    return value


# Span ids come back as parent ids of their children: cache them too (bounded, cleared whole).
span_cache: dict[str, str] = {}
_SPAN_CACHE_MAX = 500_000


def span_id(raw: str) -> str:
    """16-char lowercase hex for a span id in any encoding (an opaque id as given); raises
    BadId when it is empty.

    Hot loops call `span_cache.get(raw) or span_id(raw)` to skip the call on a hit.
    """
    hit = span_cache.get(raw)
    if hit is not None:
        return hit
    value = None
    if len(raw) == 16:
        # Fast path for the usual case: fromhex rejects non-hex, and 8 bytes out means no spaces.
        try:
            decoded = bytes.fromhex(raw)
        except ValueError:
            decoded = b""
        if len(decoded) == 8:
            value = decoded.hex()
    if value is None:
        if not raw:
            raise BadId("empty span id")
        value = _normalise(raw, 16)
    if len(span_cache) >= _SPAN_CACHE_MAX:
        span_cache.clear()
    span_cache[raw] = value
    return value


def optional_span_id(raw: str | None) -> str | None:
    """Like `span_id`, but None, "" and all zeros mean "no id" (roots in OTLP and Jaeger)."""
    if not raw:
        return None
    value = span_cache.get(raw) or span_id(raw)
    return None if value == "0000000000000000" else value


ZERO_SPAN_ID = "0000000000000000"


def plain_hex(raws: list[str], width: int) -> bool:
    """True when every id is already `width` lowercase hex characters, the norm in OTLP files.

    One check for a whole batch of ids, in C, instead of one call per id: readers then use
    the ids as they are and fall back to `span_id`/`trace_id` per id otherwise.
    """
    joined = "".join(raws)
    if len(joined) != width * len(raws):
        return False
    try:
        decoded = bytes.fromhex(joined)
    except ValueError:
        return False
    # hex() writes lowercase without the whitespace fromhex skips: equal means already plain.
    # (A C-level compare; str.islower would check every character's Unicode case.)
    return bool(raws) and decoded.hex() == joined
