"""Times and durations as users type them: `parse_duration_ns("3s")`, `parse_time_ns("1h")`.

Durations take a unit (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`), may chain (`1m30s`) and accept a bare
number as seconds. Times are ISO 8601 (a missing zone means UTC), Unix seconds, or a duration ago
(`1h` = one hour before now).
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

from tracelens.errors import UsageError

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
MAX_DURATION_NS = 100 * 365 * 86_400_000_000_000  # a century: past it, a typo or an overflow
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")


def parse_duration_ns(text: str) -> int:
    """'3s' -> 3_000_000_000; '1m30s', '250ms', '2h'; a bare number means seconds."""
    value = text.strip().lower()
    try:
        return _bounded(float(value) * 1e9, text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise UsageError(
            f"can't read duration {text!r}: use a number and a unit, e.g. 3s, 250ms, 1h"
        )
    return _bounded(total, text)


def _bounded(ns: float, text: str) -> int:
    if math.isnan(ns):
        raise ValueError(text)  # not a number: read as a duration with units, which fails
    if not -MAX_DURATION_NS <= ns <= MAX_DURATION_NS:
        raise UsageError(f"duration {text!r} is out of range: at most 100 years")
    return round(ns)


def parse_time_ns(text: str, now_ns: int | None = None) -> int:
    """ISO 8601, Unix seconds, or a duration meaning that long before now."""
    value = text.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
        return round(float(value) * 1e9)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            ago = parse_duration_ns(value)
        except UsageError:
            raise UsageError(
                f"can't read time {text!r}: use ISO 8601 (2026-11-25T10:00Z), Unix seconds or an "
                "age such as 1h"
            ) from None
        return (now_ns if now_ns is not None else time.time_ns()) - ago
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1e9)
