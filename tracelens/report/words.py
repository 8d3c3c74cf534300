"""Rows and findings in the words people use: `cause(c)`, `humanize(summary)`, `shorten(text, n)`.

    cause(c)             # "result-bff calls departments-api /departments one by one (N+1)"
    humanize("waited 15036 ms")      # -> "waited 15 s"
    short_hosts("GET departments-api.prod.svc.cluster.local /x")  # -> "GET departments-api /x"
    shorten("a-very-long-name", 9)   # -> "a-ve…name": cut in the middle, both ends kept

Every function returns terminal-safe text (controls escaped, report/safe.py); formats with syntax
of their own (Markdown, HTML) escape it once more.
"""

from __future__ import annotations

import re

from tracelens.model import Contributor
from tracelens.report import duration, pattern_label
from tracelens.report.safe import visible

# A dotted host name of two labels or more before a path or the end: `api.prod.svc.cluster.local`.
_HOST = re.compile(r"\b([a-z][a-z0-9-]*)((?:\.[a-z0-9-]+){2,})(?=[\s/:]|$)", re.IGNORECASE)
_MS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ms\b")

# What each pattern means, as an SRE would say it; the row's label names the service and call.
_CAUSES = {
    "n_plus_one": "called once per item instead of in one batch",
    "dns": "calls wait for DNS before they connect",
    "slow_query": "the query runs slower than in typical requests",
    "sequential": "calls run one after another that overlap in typical requests",
    "queueing": "calls wait in a queue or the network before the server starts them",
    "self_time": "time in the span itself, outside any child span (uninstrumented work)",
    "connect": "new TCP/TLS connections are set up on the critical path",
    "retry": "failed attempts are retried on the critical path",
    "error": "failing calls sit on the critical path",
}


def short_hosts(text: str) -> str:
    """Host names cut to their first label, which names the service: the full name is in the
    evidence and the JSON."""
    return _HOST.sub(lambda m: m.group(1), text)


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters, the middle replaced by `…` (both ends tell)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def humanize(summary: str) -> str:
    """A detector's summary with `15036 ms` written as `15 s`, controls escaped."""
    return _MS.sub(lambda m: duration(float(m.group(1)) * 1_000_000), visible(summary))


def where(c: Contributor, full: bool = False) -> str:
    """`result-bff: GET departments-api /departments` (hosts kept whole with `full`)."""
    op = visible(c.operation) if full else short_hosts(visible(c.operation))
    return f"{visible(c.service)}: {op}" if c.service else op


def label(c: Contributor, full: bool = False) -> str:
    """`N+1 · result-bff: GET departments-api /departments`, safe for a terminal."""
    text = where(c, full)
    return f"{pattern_label(c.pattern)} · {text}" if c.pattern else text


def cause(c: Contributor) -> str:
    """What the row means in plain words: the pattern's rule, not its name."""
    return _CAUSES.get(c.pattern, "slower on the critical path of slow requests")


def calls_text(value: float) -> str:
    """`12` calls, `4.4` calls, `0.2` calls: as many digits as tell."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def per_request(c: Contributor) -> str:
    """`14.2 s per slow request vs 21.1 ms typical (4.4 vs 1.9 calls)`: the row's own means."""
    calls = ""
    if c.slow_calls or c.baseline_calls:
        calls = f" ({calls_text(c.slow_calls)} vs {calls_text(c.baseline_calls)} calls)"
    return f"{duration(c.slow_ns)} per slow request vs {duration(c.baseline_ns)} typical{calls}"
