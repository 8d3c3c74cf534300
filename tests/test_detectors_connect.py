"""connect: TCP/TLS set-up and pool waits beyond the baseline."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.connect import Connect
from tracelens.model import SpanKind

MS = 1_000_000


def request(connect_ms: int, tls_ms: int, tid: str, reused: bool = False):
    #  HTTP GET |----------------------------------|
    #  http.connect |--c--|
    #  http.tls           |--t--|
    #  server                   |------------|
    setup = []
    t0 = 1
    if not reused:
        setup = [
            span(
                "http.connect",
                t0 * MS,
                (t0 + connect_ms) * MS,
                kind=SpanKind.CLIENT,
                service="api",
                attrs={"http.remote": "10.0.0.9:443"},
            ),
            span(
                "http.tls",
                (t0 + connect_ms) * MS,
                (t0 + connect_ms + tls_ms) * MS,
                kind=SpanKind.CLIENT,
                service="api",
            ),
        ]
        t0 += connect_ms + tls_ms
    server = span("GET /v", t0 * MS, (t0 + 20) * MS, kind=SpanKind.SERVER, service="vault")
    call = span(
        "HTTP GET",
        0,
        (t0 + 22) * MS,
        kind=SpanKind.CLIENT,
        service="api",
        attrs={"http.method": "GET", "http.url": "https://vault/v"},
        children=[*setup, server],
    )
    return trace(
        span(
            "GET /secret", 0, (t0 + 25) * MS, kind=SpanKind.SERVER, service="api", children=[call]
        ),
        trace_id=tid,
    )


def test_a_new_tls_connection_the_baseline_did_not_need_is_connect_time():
    base = build_baseline(analyze_trace(request(0, 0, f"b{n}", reused=True)) for n in range(3))
    (f,) = Connect().detect(analyze_trace(request(30, 90, "s")), base)
    assert (f.service, f.operation) == ("api", "connection set-up")
    assert f.evidence["operations"] == ["http.connect", "http.tls"]
    assert f.saving_ns == 120 * MS
    assert sorted(f.edits.duration_ns.values()) == [0, 0]  # the baseline reused its connection
    assert set(f.edits.duration_ns) == set(f.span_ids)


def test_set_up_as_fast_as_the_baseline_is_a_near_miss():
    base = build_baseline(analyze_trace(request(2, 8, f"b{n}")) for n in range(3))
    assert list(Connect().detect(analyze_trace(request(3, 9, "s")), base)) == []


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def request_ns(setup_ns: int, tid: str):
    """One TCP connect of `setup_ns` (in ns) before the call reaches its server."""
    connect = span(
        "http.connect", MS, MS + setup_ns, kind=SpanKind.CLIENT, service="api",
        attrs={"http.remote": "10.0.0.9:443"},
    )  # fmt: skip
    t0 = MS + setup_ns
    server = span("GET /v", t0, t0 + 20 * MS, kind=SpanKind.SERVER, service="vault")
    call = span(
        "HTTP GET", 0, t0 + 22 * MS, kind=SpanKind.CLIENT, service="api",
        attrs={"http.method": "GET", "http.url": "https://vault/v"}, children=[connect, server],
    )  # fmt: skip
    root = span(
        "GET /secret", 0, t0 + 25 * MS, kind=SpanKind.SERVER, service="api", children=[call]
    )
    return trace(root, trace_id=tid)


REUSED = build_baseline(analyze_trace(request(0, 0, f"b{n}", reused=True)) for n in range(3))


def test_set_up_beyond_a_reusing_baseline_must_reach_min_excess():
    assert Connect().min_excess_ns == 20 * MS
    (f,) = Connect().detect(analyze_trace(request_ns(20 * MS, "s")), REUSED)
    assert f.saving_ns == 20 * MS
    assert list(Connect().detect(analyze_trace(request_ns(20 * MS - 1, "s")), REUSED)) == []


def test_set_up_beyond_the_baseline_median_is_what_counts():
    # the baseline's connect takes 15 ms: 35 ms is exactly 20 ms beyond it
    base = build_baseline(analyze_trace(request_ns(15 * MS, f"b{n}")) for n in range(3))
    (f,) = Connect().detect(analyze_trace(request_ns(35 * MS, "s")), base)
    assert f.saving_ns == 20 * MS
    assert f.edits.duration_ns == {f.span_ids[0]: 15 * MS}
    assert list(Connect().detect(analyze_trace(request_ns(35 * MS - 1, "s")), base)) == []


def test_without_a_baseline_set_up_must_reach_the_absolute_bar():
    assert Connect().absolute_ns == 200 * MS
    none = build_baseline([])
    (f,) = Connect().detect(analyze_trace(request_ns(200 * MS, "s")), none)
    assert f.saving_ns == 200 * MS
    assert list(Connect().detect(analyze_trace(request_ns(200 * MS - 1, "s")), none)) == []
