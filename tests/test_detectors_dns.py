"""dns: DNS spans and events (timeouts, repeats, search paths) and inferred pre-connect time."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.dns import Dns
from tracelens.model import ClaimPart, Event, SpanKind

MS = 1_000_000
URL = {"http.request.method": "GET", "url.full": "http://pricing.example.com/p/1"}


def go_call(dns_ms: int, tid: str):
    #  GET /quote       |-----------------------------------------|
    #  HTTP GET           |---------------------------------|
    #  http.getconn        |-----------|
    #  http.dns             |--------|      dns_ms
    #  pricing (server)                |----------------|
    end_dns = 2 + dns_ms
    return trace(
        span(
            "GET /quote",
            0,
            (end_dns + 40) * MS,
            kind=SpanKind.SERVER,
            service="quote",
            children=[
                span(
                    "HTTP GET",
                    1 * MS,
                    (end_dns + 35) * MS,
                    kind=SpanKind.CLIENT,
                    service="quote",
                    attrs=URL,
                    children=[
                        span(
                            "http.getconn",
                            1 * MS,
                            (end_dns + 1) * MS,
                            kind=SpanKind.CLIENT,
                            service="quote",
                            children=[
                                span(
                                    "http.dns",
                                    2 * MS,
                                    end_dns * MS,
                                    kind=SpanKind.CLIENT,
                                    service="quote",
                                    attrs={"http.dns.addrs": "10.0.0.7"},
                                ),
                            ],
                        ),
                        span(
                            "GET /p/{id}",
                            (end_dns + 2) * MS,
                            (end_dns + 30) * MS,
                            kind=SpanKind.SERVER,
                            service="pricing",
                        ),
                    ],
                )
            ],
        ),
        trace_id=tid,
    )


def baseline_of(*traces):
    return build_baseline(analyze_trace(t) for t in traces)


def test_a_lookup_at_the_resolver_timeout_is_a_dns_finding():
    base = baseline_of(go_call(3, "b1"), go_call(4, "b2"), go_call(3, "b3"))
    (f,) = Dns().detect(analyze_trace(go_call(5_003, "slow")), base)
    assert (f.pattern, f.service, f.operation) == ("dns", "quote", "http.dns")
    assert f.evidence["quantised"] == 1
    assert f.evidence["timeouts"] == [1]
    assert f.evidence["hosts"] == ["pricing.example.com"]  # from the HTTP client span above
    assert "5 s DNS timeout" in f.summary
    (sid,) = f.span_ids
    assert f.edits.duration_ns == {sid: 3 * MS}
    assert f.saving_ns == 5_000 * MS


def test_a_lookup_as_fast_as_the_baseline_is_not_a_finding():
    base = baseline_of(go_call(3, "b1"), go_call(4, "b2"), go_call(3, "b3"))
    assert list(Dns().detect(analyze_trace(go_call(4, "slow")), base)) == []


def test_two_timeouts_stacked_count_as_k_equals_two():
    assert Dns().timeouts_in(10_020 * MS) == 2
    assert Dns().timeouts_in(7_500 * MS) == 0
    assert Dns(timeout_ns=2_000 * MS).timeouts_in(4_100 * MS) == 2


def test_repeated_node_lookups_of_one_host_are_reported_with_the_host_inferred():
    # Node's dns.lookup records no host: each lookup precedes a call from the same parent
    children = []
    for n in range(3):
        t0 = 60 * n
        children.append(
            span("dns.lookup", t0 * MS, (t0 + 25) * MS, kind=SpanKind.CLIENT, service="web")
        )
        children.append(
            span(
                "GET",
                (t0 + 26) * MS,
                (t0 + 58) * MS,
                kind=SpanKind.CLIENT,
                service="web",
                attrs=URL,
            )
        )
    t = trace(span("GET /", 0, 200 * MS, kind=SpanKind.SERVER, service="web", children=children))
    (f,) = Dns().detect(analyze_trace(t), build_baseline([]))
    assert f.evidence["repeated"] == {"pricing.example.com": 3}
    assert "3 lookups of pricing.example.com" in f.summary


def test_search_path_expansion_is_named():
    names = [
        "api.stripe.com.shop.svc.cluster.local",
        "api.stripe.com.svc.cluster.local",
        "api.stripe.com.cluster.local",
        "api.stripe.com",
    ]
    lookups = [
        span(
            f"DNS lookup {h}",
            (2 + 10 * n) * MS,
            (10 + 10 * n) * MS,
            kind=SpanKind.CLIENT,
            service="pay",
            attrs={"dns.question.name": h},
        )
        for n, h in enumerate(names)
    ]
    t = trace(span("POST /pay", 0, 60 * MS, kind=SpanKind.SERVER, service="pay", children=lookups))
    findings = list(Dns().detect(analyze_trace(t), build_baseline([])))
    expansions = [f.evidence["search_expansions"] for f in findings]
    assert {"api.stripe.com": 4} in expansions


def caller_trace(wait_ms: int, tid: str, earlier_call: bool = False):
    #  GET /cart |--------------------------------------------|
    #  HTTP GET     |------wait------|=======================|
    #  inventory (server)            |====================|
    calls = []
    t0 = 1
    if earlier_call:
        calls.append(
            span(
                "HTTP GET",
                1 * MS,
                6 * MS,
                kind=SpanKind.CLIENT,
                service="cart",
                children=[span("/items", 2 * MS, 5 * MS, service="inventory")],
            )
        )
        t0 = 7
    calls.append(
        span(
            "HTTP GET",
            t0 * MS,
            (t0 + wait_ms + 20) * MS,
            kind=SpanKind.CLIENT,
            service="cart",
            children=[
                span("/items", (t0 + wait_ms) * MS, (t0 + wait_ms + 18) * MS, service="inventory")
            ],
        )
    )
    return trace(
        span(
            "GET /cart",
            0,
            (t0 + wait_ms + 25) * MS,
            kind=SpanKind.SERVER,
            service="cart",
            children=calls,
        ),
        trace_id=tid,
    )


def test_a_quantised_wait_before_the_server_side_is_likely_dns_without_dns_spans():
    base = baseline_of(caller_trace(1, "b1"), caller_trace(2, "b2"))
    (f,) = Dns().detect(analyze_trace(caller_trace(5_001, "slow", earlier_call=True)), base)
    assert f.part is ClaimPart.HEAD
    assert f.evidence["inferred"] is True
    assert f.evidence["callees"] == ["inventory"]
    assert f.summary.startswith("unattributed pre-connect time, likely DNS")
    (sid,) = f.span_ids
    assert f.edits.head_gap_ns[sid] <= 2 * MS


def test_a_first_call_wait_is_likely_dns_only_when_later_calls_to_the_host_did_not_wait():
    #  HTTP GET |--300 ms--|====|            first call to inventory: resolves the name
    #  HTTP GET                   |=|==|     second call: cached, no wait
    def two_calls(first_wait_ms: int, second_wait_ms: int, tid: str):
        calls, t0 = [], 1
        for wait in (first_wait_ms, second_wait_ms):
            calls.append(
                span(
                    "HTTP GET",
                    t0 * MS,
                    (t0 + wait + 20) * MS,
                    kind=SpanKind.CLIENT,
                    service="cart",
                    children=[
                        span("/items", (t0 + wait) * MS, (t0 + wait + 18) * MS, service="inventory")
                    ],
                )
            )
            t0 += wait + 21
        return trace(
            span(
                "GET /cart", 0, (t0 + 1) * MS, kind=SpanKind.SERVER, service="cart", children=calls
            ),
            trace_id=tid,
        )

    base = baseline_of(two_calls(1, 1, "b1"), two_calls(2, 1, "b2"))
    (first,) = Dns().detect(analyze_trace(two_calls(300, 1, "s1")), base)
    assert "first call to the host" in first.summary
    # every call waited: a slow network or callee, not a lookup -> left to queueing
    assert list(Dns().detect(analyze_trace(two_calls(300, 300, "s2")), base)) == []
    # a single call can't tell a lookup from a slow network
    assert list(Dns().detect(analyze_trace(caller_trace(300, "s3")), base)) == []


def test_go_dns_events_on_a_client_span_claim_its_head():
    events = (Event(2 * MS, "http.dns.start"), Event(5_005 * MS, "http.dns.done"))
    call = span(
        "HTTP GET",
        1 * MS,
        5_040 * MS,
        kind=SpanKind.CLIENT,
        service="quote",
        attrs=URL,
        events=events,
        children=[span("GET /p", 5_010 * MS, 5_035 * MS, kind=SpanKind.SERVER, service="pricing")],
    )
    t = trace(
        span("GET /quote", 0, 5_050 * MS, kind=SpanKind.SERVER, service="quote", children=[call])
    )
    (f,) = Dns().detect(analyze_trace(t), build_baseline([]))
    assert f.evidence["from_events"] is True
    assert f.evidence["timeouts"] == [1]
    assert f.part is ClaimPart.HEAD


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def test_a_timeout_multiple_is_within_tolerance_at_both_edges_and_up_to_max_timeouts():
    dns = Dns()
    assert (dns.timeout_ns, dns.timeout_tolerance, dns.max_timeouts) == (5_000 * MS, 0.10, 3)
    assert [dns.timeouts_in(d) for d in (4_500 * MS, 5_500 * MS)] == [1, 1]
    assert [dns.timeouts_in(d) for d in (4_500 * MS - 1, 5_500 * MS + 1)] == [0, 0]
    assert [dns.timeouts_in(d) for d in (13_500 * MS, 16_500 * MS)] == [3, 3]
    assert dns.timeouts_in(20_000 * MS) == 0  # four timeouts: past max_timeouts
    assert Dns(max_timeouts=4).timeouts_in(20_000 * MS) == 4
    assert dns.timeouts_in(0) == 0


def named_lookups(hosts: list[str], lookup_ns: int = MS, tid: str = "s"):
    """Fast lookups of the given names, one after another under one entry span."""
    lookups = [
        span(f"DNS lookup {h}", (2 + 10 * n) * MS, (2 + 10 * n) * MS + lookup_ns,
             kind=SpanKind.CLIENT, service="pay", attrs={"dns.question.name": h})
        for n, h in enumerate(hosts)
    ]  # fmt: skip
    end = (10 * len(hosts) + 5) * MS + lookup_ns
    root = span("POST /pay", 0, end, kind=SpanKind.SERVER, service="pay", children=lookups)
    return trace(root, trace_id=tid)


def dns_findings(t, baseline=None):
    return list(Dns().detect(analyze_trace(t), baseline or build_baseline([])))


def test_min_repeat_lookups_of_one_name_is_a_finding_and_one_fewer_is_not():
    assert Dns().min_repeat_lookups == 3
    (f,) = dns_findings(named_lookups(["db.internal"] * 3))
    assert f.evidence["repeated"] == {"db.internal": 3}
    assert dns_findings(named_lookups(["db.internal"] * 2)) == []


def test_min_search_expansions_of_one_name_is_a_finding_and_one_fewer_is_not():
    assert Dns().min_search_expansions == 2
    (f,) = dns_findings(named_lookups(["api.stripe.com.svc.cluster.local", "api.stripe.com"]))
    assert f.evidence["search_expansions"] == {"api.stripe.com": 2}
    assert dns_findings(named_lookups(["api.stripe.com.svc.cluster.local", "x.example.org"])) == []


def one_lookup_ns(lookup_ns: int, tid: str = "s"):
    return named_lookups(["db.internal"], lookup_ns, tid)


def test_a_lookup_must_exceed_its_baseline_by_min_excess_and_ratio():
    dns = Dns()
    assert (dns.slow_ratio, dns.min_excess_ns) == (2.0, 20 * MS)
    # baseline 10 ms: 2 x 10 = 20 ms is passed before 10 + 20 = 30 ms
    fast = baseline_of(*(one_lookup_ns(10 * MS, f"b{n}") for n in range(3)))
    assert dns_findings(one_lookup_ns(30 * MS), fast)
    assert not dns_findings(one_lookup_ns(30 * MS - 1), fast)
    # baseline 40 ms: 40 + 20 = 60 ms is passed before 2 x 40 = 80 ms
    slower = baseline_of(*(one_lookup_ns(40 * MS, f"b{n}") for n in range(3)))
    assert dns_findings(one_lookup_ns(80 * MS), slower)
    assert not dns_findings(one_lookup_ns(80 * MS - 1), slower)


def test_without_a_baseline_a_lookup_must_reach_the_absolute_bar():
    assert Dns().absolute_ns == 100 * MS
    (f,) = dns_findings(one_lookup_ns(100 * MS))
    assert f.evidence["lookups"] == 1
    assert dns_findings(one_lookup_ns(100 * MS - 1)) == []


def dns_events_call(dns_ns: int):
    """A Go HTTP client span whose http.dns.start/done events are `dns_ns` apart (no timeout)."""
    events = (Event(2 * MS, "http.dns.start"), Event(2 * MS + dns_ns, "http.dns.done"))
    server_at = 3 * MS + dns_ns
    call = span(
        "HTTP GET", MS, server_at + 30 * MS, kind=SpanKind.CLIENT, service="quote", attrs=URL,
        events=events,
        children=[span("GET /p", server_at, server_at + 25 * MS, kind=SpanKind.SERVER,
                       service="pricing")],
    )  # fmt: skip
    root = span("GET /quote", 0, server_at + 40 * MS, kind=SpanKind.SERVER, service="quote",
                children=[call])  # fmt: skip
    return trace(root)


def test_dns_events_without_a_timeout_must_add_up_to_the_absolute_bar():
    (f,) = dns_findings(dns_events_call(100 * MS))
    assert (f.evidence["from_events"], f.evidence["timeouts"]) == (True, [0])
    assert dns_findings(dns_events_call(100 * MS - 1)) == []
