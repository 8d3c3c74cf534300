"""The whole pipeline survives traces as big and as deep as real ones get."""

from __future__ import annotations

import pytest

import tracelens
from tracelens.model import Span, SpanKind, Trace

MS = 1_000_000


def chain(k: int, depth: int) -> Trace:
    """A 10,000-deep chain: each span the only child of the one before."""
    tid, base = f"{k + 1:032x}", k * 100_000 * MS
    spans, parent = [], None
    for d in range(depth):
        sid = f"{d + 1:016x}"
        end = base + (10_000 + k * 100) * MS - d * 1000
        spans.append(
            Span(
                tid,
                sid,
                parent,
                f"svc{d % 7}",
                f"op{d % 13}",
                SpanKind.INTERNAL,
                base + d * 1000,
                end,
            )
        )
        parent = sid
    return Trace(tid, tuple(spans))


def wide(k: int, calls: int) -> Trace:
    """A request making `calls` queries one after another (100,000 for the biggest)."""
    tid, base = f"{k + 1000:032x}", k * 10**12
    root = "f" * 16
    spans = [
        Span(
            tid,
            root,
            None,
            "gw",
            "GET /wide",
            SpanKind.SERVER,
            base,
            base + (calls + 1) * MS,
            attributes={"http.route": "/wide"},
        )
    ]
    spans += [
        Span(
            tid,
            f"{i + 1:016x}",
            root,
            "gw",
            "SELECT",
            SpanKind.CLIENT,
            base + i * MS,
            base + (i + 1) * MS,
            attributes={
                "db.system": "postgresql",
                "db.query.text": f"SELECT * FROM t WHERE id={i}",
            },
        )
        for i in range(calls)
    ]
    return Trace(tid, tuple(spans))


@pytest.mark.slow
def test_ten_thousand_deep_chains_go_through_the_whole_pipeline():
    report = tracelens.slowest([chain(k, 10_000) for k in range(6)], route="op0", resamples=100)
    assert report.stats.count == 6
    slow = [t.duration_ns for t in report.trace_rows if t.group == "slow"]
    base = [t.duration_ns for t in report.trace_rows if t.group == "baseline"]
    gap = sum(slow) / len(slow) - sum(base) / len(base)
    assert gap > 0
    assert sum(c.excess_ns for c in report.contributor_rows) == pytest.approx(gap)
    assert all(t.critical_path_ns == t.duration_ns for t in report.trace_rows)


@pytest.mark.slow
def test_a_hundred_thousand_span_trace_goes_through_the_whole_pipeline():
    traces = [wide(0, 100_000)] + [wide(k, 200 + k) for k in range(1, 12)]
    report = tracelens.slowest(traces, route="wide", resamples=100)
    top = report.contributor_rows[0]
    assert top.pattern == "n_plus_one"
    assert top.example_trace_id == traces[0].trace_id
