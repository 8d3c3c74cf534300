"""slow_query: a statement template much slower than its baseline median."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.slow_query import SlowQuery
from tracelens.model import SpanKind

MS = 1_000_000


def checkout(query_ms: int, tid: str, order_id: int = 7):
    #  POST /checkout |---------------------------|
    #  UPDATE orders     |----query_ms----|
    q = span(
        "UPDATE orders",
        2 * MS,
        (2 + query_ms) * MS,
        kind=SpanKind.CLIENT,
        service="orders",
        attrs={
            "db.system": "mysql",
            "db.statement": f"UPDATE orders SET s = 'paid' WHERE id = {order_id}",
        },
    )
    return trace(
        span(
            "POST /checkout",
            0,
            (query_ms + 10) * MS,
            kind=SpanKind.SERVER,
            service="orders",
            children=[q],
        ),
        trace_id=tid,
    )


BASE = build_baseline(analyze_trace(checkout(ms, f"b{ms}", ms)) for ms in (20, 25, 30))


def test_a_statement_four_times_its_baseline_is_slow():
    (f,) = SlowQuery().detect(analyze_trace(checkout(100, "s", order_id=991)), BASE)
    assert (f.service, f.operation) == ("orders", "mysql UPDATE orders SET s = ? WHERE id = ?")
    (sid,) = f.span_ids
    assert f.edits.duration_ns == {sid: 25 * MS}
    assert f.saving_ns == 75 * MS
    assert "baseline median 25 ms" in f.summary


def test_twice_the_baseline_but_under_fifty_ms_excess_is_a_near_miss():
    assert list(SlowQuery().detect(analyze_trace(checkout(60, "s")), BASE)) == []


def test_without_a_baseline_only_half_a_second_counts():
    empty = build_baseline([])
    assert list(SlowQuery().detect(analyze_trace(checkout(400, "s")), empty)) == []
    (f,) = SlowQuery().detect(analyze_trace(checkout(700, "s")), empty)
    assert f.evidence["baseline_ns"] is None


def test_a_sql_named_span_without_attributes_is_a_statement_too():
    t = trace(span("/api/v1/trips", 0, 900 * MS, children=[span("SELECT Trip", 5 * MS, 805 * MS)]))
    (f,) = SlowQuery().detect(analyze_trace(t), build_baseline([]))
    assert f.operation == "SELECT Trip"
