"""slow_query: a statement template much slower than its baseline median."""

from __future__ import annotations

from dataclasses import replace

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


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def checkout_ns(query_ns: int, tid: str, order_id: int = 7):
    """`checkout` with the query's length in nanoseconds."""
    q = span(
        "UPDATE orders",
        2 * MS,
        2 * MS + query_ns,
        kind=SpanKind.CLIENT,
        service="orders",
        attrs={
            "db.system": "mysql",
            "db.statement": f"UPDATE orders SET s = 'paid' WHERE id = {order_id}",
        },
    )
    root = span("POST /checkout", 0, query_ns + 10 * MS, kind=SpanKind.SERVER, service="orders")
    return trace(replace(root, children=(q,)), trace_id=tid)


def fires(detector: SlowQuery, query_ns: int, baseline) -> bool:
    return bool(list(detector.detect(analyze_trace(checkout_ns(query_ns, "s", 991)), baseline)))


def test_the_excess_over_the_baseline_median_must_reach_min_excess():
    # baseline median 25 ms: 2 x 25 = 50 ms is passed long before 25 + 50 = 75 ms
    assert SlowQuery().min_excess_ns == 50 * MS
    assert fires(SlowQuery(), 75 * MS, BASE)
    assert not fires(SlowQuery(), 75 * MS - 1, BASE)


def test_the_ratio_to_the_baseline_median_must_reach_ratio():
    # baseline median 100 ms: 100 + 50 = 150 ms is passed long before 2 x 100 = 200 ms
    assert SlowQuery().ratio == 2.0
    base = build_baseline(analyze_trace(checkout(ms, f"b{ms}", ms)) for ms in (90, 100, 110))
    assert fires(SlowQuery(), 200 * MS, base)
    assert not fires(SlowQuery(), 200 * MS - 1, base)


def test_without_a_baseline_a_statement_must_take_the_absolute_bar():
    assert SlowQuery().absolute_ns == 500 * MS
    assert fires(SlowQuery(), 500 * MS, build_baseline([]))
    assert not fires(SlowQuery(), 500 * MS - 1, build_baseline([]))
