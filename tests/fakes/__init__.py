"""Loopback HTTP servers that answer like Jaeger's and Tempo's query APIs, for client tests.

    with FakeTempo(traces, faults=[Fault(r"^/api/search", "retry_after", seconds=0)]) as tempo:
        TempoSource(f"tempo+{tempo.url}").requests(...)

Behaviour follows /work/shared/reference/backends.md §1-§3; `encode` holds the JSON converters.
"""

from tests.fakes.jaeger import FakeJaeger
from tests.fakes.server import FakeServer, Fault, Reply, Request, Seen
from tests.fakes.tempo import FakeTempo, TraceQLError, matched_spans, parse_traceql

__all__ = [
    "FakeJaeger",
    "FakeServer",
    "FakeTempo",
    "Fault",
    "Reply",
    "Request",
    "Seen",
    "TraceQLError",
    "matched_spans",
    "parse_traceql",
]
