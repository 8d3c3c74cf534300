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
