"""connect: TCP/TLS set-up and pool waits beyond the baseline."""

from __future__ import annotations

from dataclasses import replace

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


# --- the finding itself, spans with children, and which spans take part ------------------------


def conn(name: str, start_ns: int, end_ns: int, sid: str | None = None, *children, **attrs):
    """A connection span of service api (attributes given as keyword arguments)."""
    dotted = {k.replace("_", "."): v for k, v in attrs.items()}
    return span(name, start_ns, end_ns, children, kind=SpanKind.CLIENT, service="api",
                span_id=sid, attrs=dotted)  # fmt: skip


def secret(*setup, tid: str = "s"):
    """GET /secret calling vault, the call's set-up spans before vault's server span."""
    t0 = max(s.end for s in setup)
    server = span("GET /v", t0, t0 + 20 * MS, kind=SpanKind.SERVER, service="vault")
    call = span("HTTP GET", 0, t0 + 22 * MS, kind=SpanKind.CLIENT, service="api",
                attrs={"http.method": "GET", "http.url": "https://vault/v"},
                children=[*setup, server])  # fmt: skip
    root = span("GET /secret", 0, t0 + 25 * MS, kind=SpanKind.SERVER, service="api")
    return trace(replace(root, children=(call,)), trace_id=tid)


def connect_tls(connect_ms: int, tls_ms: int, tid: str):
    c = conn("http.connect", MS, (1 + connect_ms) * MS, None)
    return secret(c, conn("http.tls", c.end, c.end + tls_ms * MS, None), tid=tid)


def getconn(self_ms: int, connect_ms: int, tls_ms: int, tid: str, ids=(None, None, None)):
    """A pool wait (http.getconn) that dials and shakes hands under it: its own time is
    `self_ms`, all of it after the handshake."""
    c = conn("http.connect", 2 * MS, (2 + connect_ms) * MS, ids[1])
    t = conn("http.tls", c.end, c.end + tls_ms * MS, ids[2])
    end = t.end + (self_ms - 1) * MS
    return secret(conn("http.getconn", MS, end, ids[0], c, t), tid=tid)


def baseline(build, *args):
    return build_baseline(analyze_trace(build(*args, f"b{n}")) for n in range(3))


def test_the_finding_says_what_held_the_path_and_how_much_beyond_the_baseline():
    # baseline: connect 10 ms, TLS 20 ms; here 30 and 90 ms on a new connection
    base = baseline(connect_tls, 10, 20)
    c = conn("http.connect", MS, 31 * MS, "c1", server_address="vault", http_conn_reused=False)
    t = secret(c, conn("http.tls", 31 * MS, 121 * MS, "t1", http_conn_reused=False))
    (f,) = Connect().detect(analyze_trace(t), base)
    assert (f.pattern, f.trace_id, f.service, f.operation) == (
        "connect", "s", "api", "connection set-up"
    )  # fmt: skip
    assert f.span_ids == ("c1", "t1")
    assert f.summary == (
        "connection set-up: 2 spans (http.connect, http.tls) in api held 120 ms of the critical "
        "path, 90 ms beyond baseline"
    )
    assert f.saving_ns == 90 * MS
    assert (f.edits.duration_ns, f.edits.gap_scale) == ({"c1": 10 * MS, "t1": 20 * MS}, {})
    assert f.evidence == {
        "spans": 2,
        "new_connections": 2,
        "hosts": ["vault"],
        "durations_ns": [30 * MS, 90 * MS],
        "operations": ["http.connect", "http.tls"],
        "baseline_ns": [10 * MS, 20 * MS],
        "on_path_ns": 120 * MS,
        "example_span_ids": ["c1", "t1"],
    }


def test_without_a_baseline_one_kind_of_span_names_the_finding_and_no_baseline_is_given():
    (f,) = Connect().detect(analyze_trace(request_ns(250 * MS, "s")), build_baseline([]))
    assert f.operation == "http.connect"
    assert f.summary == (
        "connection set-up: 1 spans (http.connect) in api held 250 ms of the critical path, "
        "250 ms beyond baseline"
    )
    assert f.evidence["baseline_ns"] is None


def test_a_baseline_of_one_trace_is_a_baseline():
    one = build_baseline([analyze_trace(request(0, 0, "b", reused=True))])
    assert one.traces == 1
    (f,) = Connect().detect(analyze_trace(request_ns(20 * MS, "s")), one)  # not 200 ms
    assert f.saving_ns == 20 * MS


def test_a_pool_wait_with_children_is_cut_to_the_baseline_share_of_its_own_time():
    # baseline: getconn's own time 4 ms, connect 2 ms, TLS 4 ms; here 30, 10 and 20 ms
    base = baseline(getconn, 4, 2, 4)
    t = getconn(30, 10, 20, "s", ids=("g", "c", "t"))
    (f,) = Connect().detect(analyze_trace(t), base)
    assert f.span_ids == ("g", "c", "t")
    assert f.saving_ns == (26 + 8 + 16) * MS
    assert f.edits.duration_ns == {"c": 2 * MS, "t": 4 * MS}
    assert f.edits.gap_scale == {"g": 4 / 30}
    assert f.evidence["on_path_ns"] == 60 * MS


def test_a_pool_wait_with_children_but_no_baseline_of_its_own_loses_all_its_own_time():
    # the baseline reused its connections (no getconn at all), or there is no baseline
    t = getconn(270, 10, 20, "s", ids=("g", "c", "t"))
    for base in (REUSED, build_baseline([])):
        (f,) = Connect().detect(analyze_trace(t), base)
        assert f.saving_ns == 300 * MS
        assert f.edits.gap_scale == {"g": 0.0}
        assert f.edits.duration_ns == {"c": 0, "t": 0}


def test_a_pool_wait_whose_own_time_is_the_baseline_s_is_not_slow():
    base = baseline(getconn, 4, 2, 4)
    (f,) = Connect().detect(analyze_trace(getconn(4, 10, 20, "s", ids=("g", "c", "t"))), base)
    assert f.span_ids == ("c", "t")
    assert f.saving_ns == (8 + 16) * MS
    assert f.edits.gap_scale == {}


def test_a_childless_span_is_held_to_the_baseline_duration_even_where_that_had_children():
    # the baseline's getconn took 10 ms, 4 of them its own; here a bare 60 ms wait
    base = baseline(getconn, 4, 2, 4)
    (f,) = Connect().detect(analyze_trace(secret(conn("http.getconn", MS, 61 * MS, "g"))), base)
    assert f.saving_ns == 50 * MS
    assert f.edits.duration_ns == {"g": 10 * MS}


def test_a_span_one_nanosecond_beyond_its_baseline_is_slow_and_one_at_it_is_not():
    base = baseline(connect_tls, 15, 10)
    for connect_ns, slow in ((15 * MS + 1, ("c", "t")), (15 * MS, ("t",))):
        c = conn("http.connect", MS, MS + connect_ns, "c")
        t = secret(c, conn("http.tls", c.end, c.end + 40 * MS, "t"))
        (f,) = Connect().detect(analyze_trace(t), base)
        assert f.span_ids == slow, connect_ns


def test_only_spans_holding_critical_path_time_take_part():
    # a TLS span of no length holds none of the path, one of a nanosecond holds that nanosecond
    c = conn("http.connect", MS, 31 * MS, "c")
    (f,) = Connect().detect(analyze_trace(secret(c, conn("http.tls", 31 * MS, 31 * MS))), REUSED)
    assert (f.operation, f.span_ids) == ("http.connect", ("c",))
    t = secret(c, conn("http.tls", 31 * MS, 31 * MS + 1, "t"))
    (f,) = Connect().detect(analyze_trace(t), REUSED)
    assert (f.operation, f.span_ids) == ("connection set-up", ("c", "t"))
    assert f.saving_ns == 30 * MS + 1


def test_a_service_under_the_bar_does_not_hide_one_over_it():
    # api's own connect takes 1 ms; vault's, under its server span, 30 ms
    db = span("http.connect", 21 * MS, 51 * MS, kind=SpanKind.CLIENT, service="vault",
              span_id="v")  # fmt: skip
    server = span("GET /v", 2 * MS, 60 * MS, kind=SpanKind.SERVER, service="vault", children=[db])
    call = span("HTTP GET", 0, 61 * MS, kind=SpanKind.CLIENT, service="api",
                attrs={"http.method": "GET", "http.url": "https://vault/v"},
                children=[conn("http.connect", 0, MS, "a"), server])  # fmt: skip
    t = trace(span("GET /secret", 0, 62 * MS, kind=SpanKind.SERVER, service="api",
                   children=[call]))  # fmt: skip
    (f,) = Connect().detect(analyze_trace(t), REUSED)
    assert (f.service, f.span_ids) == ("vault", ("v",))


def test_at_most_five_slow_spans_are_given_as_examples():
    dials = [conn("http.connect", (1 + 10 * k) * MS, (11 + 10 * k) * MS, f"k{k}") for k in range(6)]
    (f,) = Connect().detect(analyze_trace(secret(*dials)), REUSED)
    assert f.evidence["spans"] == 6
    assert f.evidence["example_span_ids"] == ["k0", "k1", "k2", "k3", "k4"]
