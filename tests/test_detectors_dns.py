"""dns: DNS spans and events (timeouts, repeats, search paths) and inferred pre-connect time."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors.dns import INFERRED_OPERATION, Dns
from tracelens.model import ClaimPart, Edits, Event, SpanKind

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


def caller_trace(
    wait_ms: int, tid: str, earlier_call: bool = False, events: tuple[Event, ...] = ()
):
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
            events=events,
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
    assert first.summary == (
        "unattributed pre-connect time, likely DNS: 1 calls to inventory from cart waited 300 ms "
        "before the server side started, first call to the host"
    )
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


# --- DNS spans: the whole finding, what a user reads and what the what-if replays --------------


def lookup(t0_ns: int, ns: int, sid: str, host: str = "", *, name: str = "dns.lookup",
           service: str = "pay", attrs: dict[str, str] | None = None):  # fmt: skip
    """A `name` span of `ns` asking for `host` (dns.question.name; none if "")."""
    attrs = {**({"dns.question.name": host} if host else {}), **(attrs or {})}
    return span(name, t0_ns, t0_ns + ns, kind=SpanKind.CLIENT, service=service, attrs=attrs,
                span_id=sid)  # fmt: skip


def entry(children, tid: str = "s", end_ns: int | None = None):
    """pay's entry span, with no host of its own, over `children`; it ends 1 ms after them (or
    at `end_ns`)."""
    end = max(c.end for c in children) + MS if end_ns is None else end_ns
    root = span("POST /pay", 0, end, kind=SpanKind.SERVER, service="pay", children=children)
    return trace(root, trace_id=tid)


def test_a_lookup_finding_names_hosts_signal_and_fix_in_summary_evidence_and_edits():
    # Six lookups, one after another: a.internal three times (the signal), one of them at its
    # baseline 10 ms (no edit for it), the others 40 ms (also slower than baseline, but a named
    # signal is shown instead). Four hosts: the summary names the first three.
    hosts = ["a.internal", "a.internal", "b.internal", "a.internal", "c.internal", "d.internal"]
    times = [40, 40, 10, 40, 40, 40]
    t = entry([lookup((1 + 50 * n) * MS, ms * MS, f"l{n}", h)
               for n, (h, ms) in enumerate(zip(hosts, times, strict=True))], "t1")  # fmt: skip
    (f,) = Dns().detect(analyze_trace(t), Baseline(duration_ns={("pay", "dns.lookup"): 10e6}))
    ids = tuple(f"l{n}" for n in range(6))
    assert (f.pattern, f.trace_id, f.service, f.operation) == ("dns", "t1", "pay", "dns.lookup")
    assert (f.span_ids, f.part) == (ids, ClaimPart.ALL)
    assert f.summary == (
        "DNS: 6 lookups of a.internal, b.internal, c.internal (pay) took 210 ms, 210 ms on the "
        "critical path; 3 lookups of a.internal"
    )
    # the entry span ends 1 ms after the last lookup, at 292 ms
    assert f.evidence == {
        "lookups": 6,
        "hosts": ["a.internal", "b.internal", "c.internal", "d.internal"],
        "durations_ns": [ms * MS for ms in times],
        "timeouts": [0] * 6,
        "quantised": 0,
        "repeated": {"a.internal": 3},
        "search_expansions": {},
        "baseline_ns": 10e6,
        "operations": ["dns.lookup"],
        "on_path_ns": 210 * MS,
        "dns_share_of_path": 210 / 292,
        "example_span_ids": list(ids[:5]),
    }
    assert f.edits == Edits(duration_ns={s: 10 * MS for s in ids if s != "l2"})
    assert f.saving_ns == 5 * 30 * MS


def test_lookups_of_several_operations_and_no_host_are_one_finding_slower_than_baseline():
    # dns.lookup (baseline 10 ms) and getaddrinfo (no baseline): one finding for the service,
    # with no single baseline; each lookup back at its own baseline, else this trace's fastest
    t = entry([lookup(MS, 150 * MS, "l0"), lookup(152 * MS, 150 * MS, "l1", name="getaddrinfo")])
    (f,) = Dns().detect(analyze_trace(t), Baseline(duration_ns={("pay", "dns.lookup"): 10e6}))
    assert f.operation == "dns lookup"
    assert f.summary == (
        "DNS: 2 lookups (pay) took 300 ms, 300 ms on the critical path; 2 slower than baseline"
    )
    assert (f.evidence["hosts"], f.evidence["baseline_ns"]) == ([], None)
    assert f.evidence["operations"] == ["dns.lookup", "getaddrinfo"]
    assert f.edits == Edits(duration_ns={"l0": 10 * MS})  # l1 is the fastest without a baseline
    assert f.saving_ns == 140 * MS


def test_a_timeout_signal_is_named_instead_of_slower_than_baseline():
    base = baseline_of(go_call(3, "b1"), go_call(4, "b2"), go_call(3, "b3"))
    (f,) = Dns().detect(analyze_trace(go_call(5_003, "slow")), base)
    assert f.summary == (
        "DNS: 1 lookups of pricing.example.com (quote) took 5003 ms, 5003 ms on the critical "
        "path; 1 near multiples of the 5 s DNS timeout"
    )
    (f,) = Dns(timeout_ns=2_500 * MS).detect(analyze_trace(go_call(2_503, "slow")), base)
    assert f.summary.endswith("; 1 near multiples of the 2.5 s DNS timeout")


def test_several_signals_are_all_named():
    # one of three lookups of db.internal waited out the resolver timeout
    t = entry([lookup(MS, 5_000 * MS, "l0", "db.internal"),
               lookup(5_002 * MS, MS, "l1", "db.internal"),
               lookup(5_004 * MS, MS, "l2", "db.internal")])  # fmt: skip
    (f,) = dns_findings(t)
    assert f.summary.endswith("; 1 near multiples of the 5 s DNS timeout; 3 lookups of db.internal")


def test_each_service_is_judged_on_its_own_and_a_skipped_one_does_not_end_the_scan():
    # service a's slow lookup runs under `render`, off the critical path; b's is on it but fast;
    # c's is on it and slow: only c is a finding
    t = entry(
        [
            span("render", 0, 200 * MS, service="pay"),
            lookup(10 * MS, 150 * MS, "a", service="a"),
            lookup(200 * MS, 5 * MS, "b", service="b"),
            lookup(205 * MS, 150 * MS, "c", service="c"),
        ]
    )
    assert [f.span_ids for f in dns_findings(t)] == [("c",)]


def test_a_lookup_holding_one_ns_of_the_critical_path_is_enough():
    # it starts 1 ns before the entry span ends and outlives it: clipped to that 1 ns
    t = entry([lookup(200 * MS - 1, 150 * MS, "l")], end_ns=200 * MS)
    (f,) = dns_findings(t)
    assert f.evidence["on_path_ns"] == 1


def test_the_dns_share_of_a_one_ns_trace_all_dns_is_one():
    t = entry([lookup(0, 1, f"l{n}", "db.internal") for n in range(3)], end_ns=1)
    (f,) = dns_findings(t)
    assert f.evidence["dns_share_of_path"] == 1.0


# --- which host a lookup asked for -------------------------------------------------------------


def hosts_of(*lookups) -> list[str]:
    (f,) = dns_findings(entry(list(lookups)))
    return list(f.evidence["hosts"])


def test_a_lookups_host_comes_from_its_dns_attributes_then_its_name_then_its_server_address():
    slow = 150 * MS
    assert hosts_of(lookup(MS, slow, "q", "a.test")) == ["a.test"]
    assert hosts_of(lookup(MS, slow, "n", attrs={"net.host.name": "b.test"})) == ["b.test"]
    # peer.hostname is read ahead of the name and of the server address
    peer = {"peer.hostname": "p.test", "server.address": "s.test"}
    assert hosts_of(lookup(MS, slow, "p", name="DNS lookup c.test", attrs=peer)) == ["p.test"]
    assert hosts_of(lookup(MS, slow, "d", name="DNS lookup d.test")) == ["d.test"]
    assert hosts_of(lookup(MS, slow, "e", attrs={"server.address": "e.test"})) == ["e.test"]


def url_call(t0_ns: int, end_ns: int, host: str, sid: str):
    attrs = {"http.request.method": "GET", "url.full": f"http://{host}/p"}
    return span("GET", t0_ns, end_ns, kind=SpanKind.CLIENT, service="pay", attrs=attrs, span_id=sid)


def test_a_nameless_lookup_serves_the_call_starting_with_it_or_after_it_not_before():
    # Node: dns.lookup records no name; the call that started earlier asked for another host
    earlier = url_call(0, 10 * MS, "first.test", "c0")
    same_time = url_call(20 * MS, 60 * MS, "second.test", "c1")
    assert hosts_of(earlier, lookup(20 * MS, 150 * MS, "l"), same_time) == ["second.test"]


def nested(host_depth: int):
    """A nameless lookup under a chain of three `step` spans and the entry span; the span
    `host_depth` levels above the lookup (1: its parent) calls a.test."""
    node = lookup(10 * MS, 150 * MS, "l")
    for depth in range(1, 5):
        attrs = {"url.full": "http://a.test/p"} if depth == host_depth else {}
        name, kind = ("POST /pay", SpanKind.SERVER) if depth == 4 else ("step", SpanKind.INTERNAL)
        node = span(name, 0, (170 - depth) * MS, kind=kind, service="pay", attrs=attrs,
                    children=[node])  # fmt: skip
    return trace(node)


def test_a_nameless_lookup_takes_the_host_of_its_first_three_ancestors_only():
    assert dns_findings(nested(3))[0].evidence["hosts"] == ["a.test"]
    assert dns_findings(nested(4))[0].evidence["hosts"] == []


# --- search-path expansions --------------------------------------------------------------------


def expansions(*hosts: str) -> dict[str, int]:
    """The search_expansions of fast lookups of `hosts` ({} when that is no finding)."""
    found = dns_findings(named_lookups(list(hosts)))
    return dict(found[0].evidence["search_expansions"]) if found else {}


def test_search_path_expansions_ignore_a_trailing_dot_and_case():
    assert expansions("api.stripe.com.svc.cluster.local.", "api.stripe.com.") == {
        "api.stripe.com": 2
    }
    assert expansions("API.SANDBOX", "api.sandbox.svc.cluster.local") == {"api.sandbox": 2}


def test_a_short_kubernetes_name_and_its_expansion_are_one_name():
    assert expansions("db.svc.cluster.local", "db") == {"db": 2}


def test_two_services_of_one_namespace_are_not_expansions_of_one_name():
    assert expansions("cart.svc.cluster.local", "pay.svc.cluster.local") == {}


def test_expansions_are_grouped_under_the_base_the_names_share():
    # x.ns.svc.cluster.local splits as x + ns.svc.cluster.local, x.ns + svc.cluster.local or
    # x.ns.svc + cluster.local; x.svc.cluster.local as x or x.svc: x is the one they share
    assert expansions("x.ns.svc.cluster.local", "x.svc.cluster.local") == {"x": 2}


# --- DNS from Go's span events -----------------------------------------------------------------


def go_events(
    t0_ns: int,
    dns_ns: int,
    sid: str,
    *,
    host: str = "pricing.example.com",
    events: tuple[Event, ...] = (),
    head_ns: int | None = None,
    leaf: bool = False,
):
    """A Go HTTP client call to `host` with http.dns.start 1 ms in and http.dns.done `dns_ns`
    later (or `events`); its 8 ms server side starts 1 ms after that (or `head_ns` in). A leaf
    (the call never got a server side) is its lookup alone: the events span all of it."""
    attrs = {"http.request.method": "GET", "url.full": f"http://{host}/p/1"}
    if leaf:
        events = (Event(t0_ns, "http.dns.start"), Event(t0_ns + dns_ns, "http.dns.done"))
        return span("HTTP GET", t0_ns, t0_ns + dns_ns, kind=SpanKind.CLIENT, service="quote",
                    attrs=attrs, events=events, span_id=sid)  # fmt: skip
    at = t0_ns + MS
    events = events or (Event(at, "http.dns.start"), Event(at + dns_ns, "http.dns.done"))
    server = t0_ns + (dns_ns + 2 * MS if head_ns is None else head_ns)
    end = max(server, at + dns_ns) + 10 * MS
    return span(
        "HTTP GET", t0_ns, end, kind=SpanKind.CLIENT, service="quote", attrs=attrs,
        events=events, span_id=sid,
        children=[span("GET /p", server, server + 8 * MS, kind=SpanKind.SERVER, service="pricing")],
    )  # fmt: skip


def quote(children, end_ns: int | None = None, tid: str = "s"):
    """The entry span over `children`, ending 1 ms after them (or at `end_ns`)."""
    end = max(c.end for c in children) + MS if end_ns is None else end_ns
    root = span("GET /quote", 0, end, kind=SpanKind.SERVER, service="quote", children=children)
    return trace(root, trace_id=tid)


def test_a_finding_from_events_names_the_calls_in_summary_evidence_and_edits():
    # Six calls of one operation, one after another: one at the resolver timeout, one resolved
    # in 0 ns (cached), and a last one that never reached its server side (a leaf: its whole
    # time was the lookup)
    dns_ms = [5_003, 20, 0, 20, 20, 30]
    calls, t0 = [], MS
    for n, ms in enumerate(dns_ms):
        calls.append(go_events(t0, ms * MS, f"c{n}", leaf=n == 5))
        t0 = calls[-1].end + MS
    (f,) = Dns().detect(analyze_trace(quote(calls, tid="t1")), Baseline())
    ids = tuple(f"c{n}" for n in range(6))
    op = "GET pricing.example.com /p/{id}"
    assert (f.pattern, f.trace_id, f.service, f.operation) == ("dns", "t1", "quote", op)
    assert (f.span_ids, f.part) == (ids, ClaimPart.HEAD)
    assert f.summary == (
        f"DNS (from span events): 6 calls to {op} (quote) spent 5093 ms resolving, 1 near "
        "resolver timeouts"
    )
    # on the path: each head (its lookup + 2 ms) and all of the leaf
    assert f.evidence == {
        "lookups": 6,
        "durations_ns": [ms * MS for ms in dns_ms],
        "timeouts": [1, 0, 0, 0, 0, 0],
        "on_path_ns": (5_093 + 5 * 2) * MS,
        "from_events": True,
        "example_span_ids": list(ids[:5]),
    }
    # the heads lose their lookups; the leaf is its lookup, so it shrinks to nothing
    assert f.edits == Edits(head_gap_ns=dict.fromkeys(ids[:5], 2 * MS), duration_ns={"c5": 0})
    assert f.saving_ns == 5_093 * MS  # the lookups, all on the path


def test_events_off_the_critical_path_are_skipped_and_the_scan_goes_on():
    # a.test's call runs under `render`, off the path; b.test's call is on it. b.test's lookup
    # started twice (a retry): it counts from the first start.
    off = go_events(10 * MS, 150 * MS, "off", host="a.test")
    retried = (Event(251 * MS, "http.dns.start"), Event(260 * MS, "http.dns.start"),
               Event(401 * MS, "http.dns.done"))  # fmt: skip
    on = go_events(250 * MS, 150 * MS, "on", host="b.test", events=retried)
    (f,) = dns_findings(quote([span("render", 0, 250 * MS, service="quote"), off, on]))
    assert f.span_ids == ("on",)
    assert f.summary == (
        "DNS (from span events): 1 calls to GET b.test /p/{id} (quote) spent 150 ms resolving"
    )


def test_events_holding_one_ns_of_the_critical_path_are_enough():
    # the call starts 1 ns before the entry span ends: 1 ns of its head is on the path
    (f,) = dns_findings(quote([go_events(200 * MS - 1, 150 * MS, "c")], end_ns=200 * MS))
    assert f.evidence["on_path_ns"] == 1


def test_a_call_whose_server_side_starts_at_once_gets_a_head_edit_of_zero():
    # c0's server side starts with it (head 0, the lookup's events after): it is still a call
    # with a head, and a head can't shrink below 0
    calls = [go_events(MS, 150 * MS, "c0", head_ns=0), go_events(200 * MS, 150 * MS, "c1")]
    (f,) = dns_findings(quote(calls))
    assert f.edits == Edits(head_gap_ns={"c0": 0, "c1": 2 * MS})


# --- which events say a service resolves names itself ------------------------------------------


def test_only_a_dns_start_and_a_later_or_equal_done_say_the_service_resolves_names():
    base = baseline_of(caller_trace(1, "b1"), caller_trace(2, "b2"))

    def inferred(*events: Event) -> bool:
        return any(
            f.evidence.get("inferred")
            for f in dns_findings(caller_trace(5_001, "s", True, events), base)
        )

    assert inferred(Event(8 * MS, "message"))  # any other event says nothing
    assert inferred(Event(8 * MS, "http.dns.start"))  # a lookup that never finished
    assert inferred(Event(8 * MS, "http.dns.done"), Event(9 * MS, "http.dns.start"))  # out of order
    # a lookup answered at once (from cache) is still a lookup the service made: no guessing
    assert not inferred(Event(8 * MS, "http.dns.start"), Event(8 * MS, "http.dns.done"))


# --- inferred pre-connect waits ----------------------------------------------------------------


def cart_call(t0_ns: int, head_ns: int, callee: str, sid: str):
    """cart calls `callee` (inventory or pricing): a wait of `head_ns` before the callee's
    18 ms side starts, then 2 ms more."""
    route = "/items" if callee == "inventory" else "/price"
    server = span(route, t0_ns + head_ns, t0_ns + head_ns + 18 * MS, service=callee)
    return span("HTTP GET", t0_ns, t0_ns + head_ns + 20 * MS, kind=SpanKind.CLIENT,
                service="cart", span_id=sid, children=[server])  # fmt: skip


def cart(children, end_ns: int | None = None, tid: str = "s"):
    """cart's entry span over `children`, ending 1 ms after them (or at `end_ns`)."""
    end = max(c.end for c in children) + MS if end_ns is None else end_ns
    root = span("GET /cart", 0, end, kind=SpanKind.SERVER, service="cart", children=children)
    return trace(root, trace_id=tid)


def cart_calls(calls: list[tuple[int, str]], tid: str = "s"):
    """cart_call after cart_call, 1 ms apart, span ids c0, c1, ...: calls are (head_ns, callee)."""
    children, t0 = [], MS
    for n, (head_ns, callee) in enumerate(calls):
        children.append(cart_call(t0, head_ns, callee, f"c{n}"))
        t0 = children[-1].end + MS
    return cart(children, tid=tid)


INVENTORY = ("cart", "HTTP GET -> inventory /items")
PRICE = ("cart", "HTTP GET -> pricing /price")


def test_an_inferred_finding_names_callees_waits_and_fix_in_summary_evidence_and_edits():
    # six waits at the 5 s resolver timeout to two callees; one of them 100 ms short of it
    heads = [5_100, 5_100, 5_100, 4_900, 5_100, 5_100]
    callees = ["inventory", "pricing"] * 3
    t = cart_calls([(h * MS, c) for h, c in zip(heads, callees, strict=True)], "t1")
    (f,) = Dns().detect(analyze_trace(t), Baseline(head_gap_ns={INVENTORY: 2e6, PRICE: 2e6}))
    ids = tuple(f"c{n}" for n in range(6))
    assert (f.pattern, f.trace_id, f.service) == ("dns", "t1", "cart")
    assert (f.operation, f.span_ids, f.part) == (INFERRED_OPERATION, ids, ClaimPart.HEAD)
    assert f.summary == (
        "unattributed pre-connect time, likely DNS: 6 calls to inventory, pricing from cart "
        "waited 30400 ms before the server side started, 6 near resolver timeouts"
    )
    assert f.evidence == {
        "inferred": True,
        "waits_ns": [h * MS for h in heads],
        "baseline_head_gap_ns": {INVENTORY[1]: 2e6, PRICE[1]: 2e6},
        "quantised": 6,
        "caller": "cart",
        "callees": ["inventory", "pricing"],
        "on_path_ns": 30_400 * MS,
        "example_span_ids": list(ids[:5]),
    }
    # a wait past the timeout keeps the rest up to its baseline head gap; one short of it, none
    assert f.edits == Edits(head_gap_ns={s: 0 if s == "c3" else 2 * MS for s in ids})
    assert f.saving_ns == (5 * 5_098 + 4_900) * MS


def first_call_waits(first_head_ns: int, later_head_ns: int, base_ns: float) -> bool:
    """Whether cart's first of two calls to inventory is inferred as a lookup."""
    t = cart_calls([(first_head_ns, "inventory"), (later_head_ns, "inventory")])
    return bool(dns_findings(t, Baseline(head_gap_ns={INVENTORY: base_ns})))


def test_an_inferred_wait_must_exceed_the_baseline_head_gap_by_inferred_min_excess():
    assert Dns().inferred_min_excess_ns == 100 * MS
    # baseline 70 ms: 2 x 70 = 140 ms is passed before 70 + 100 = 170 ms
    assert first_call_waits(170 * MS, MS, 70e6)
    assert not first_call_waits(170 * MS - 1, MS, 70e6)


def test_an_inferred_first_call_wait_must_be_slow_ratio_times_the_baseline_head_gap():
    # baseline 150 ms: 150 + 100 = 250 ms is passed before 2 x 150 = 300 ms
    assert first_call_waits(300 * MS, MS, 150e6)
    assert not first_call_waits(300 * MS - 1, MS, 150e6)


def test_a_later_call_waiting_slow_ratio_times_the_baseline_makes_the_first_no_lookup():
    assert first_call_waits(300 * MS, 140 * MS - 1, 70e6)
    assert not first_call_waits(300 * MS, 140 * MS, 70e6)
    # a baseline head gap of 0 counts as 1 ns: a later call's 2 ns is a wait
    assert first_call_waits(300 * MS, 1, 0.0)
    assert not first_call_waits(300 * MS, 2, 0.0)


def test_without_a_baseline_a_quantised_wait_must_reach_inferred_min_excess_itself():
    dns = Dns(timeout_ns=100 * MS)  # so that a timeout multiple can sit at the 100 ms bar
    assert dns.timeouts_in(100 * MS - 1) == 1

    def found(head_ns: int) -> bool:
        t = cart_calls([(head_ns, "inventory")])
        return bool(list(dns.detect(analyze_trace(t), Baseline())))

    assert found(100 * MS)
    assert not found(100 * MS - 1)


def test_the_first_call_is_the_first_to_start_whatever_the_span_order_or_its_callees_start():
    # two calls to inventory at once: the one that started first waited (so its callee began
    # after the other's), and it comes second in the trace's span order
    waited = cart_call(MS, 300 * MS, "inventory", "first")
    cached = cart_call(2 * MS, MS, "inventory", "second")
    (f,) = dns_findings(cart([cached, waited]), Baseline(head_gap_ns={INVENTORY: 1e6}))
    assert f.span_ids == ("first",)


def test_an_inferred_wait_holding_one_ns_of_the_path_is_enough_after_a_wait_that_is_not_dns():
    # c0 waited 120 ms with no baseline and no timeout: not a lookup, and the scan goes on to
    # c1, which starts 1 ns before the entry span ends: 1 ns of its 5 s wait is on the path
    calls = [cart_call(MS, 120 * MS, "pricing", "c0"),
             cart_call(200 * MS - 1, 5_000 * MS, "inventory", "c1")]  # fmt: skip
    (f,) = dns_findings(cart(calls, end_ns=200 * MS))
    assert f.span_ids == ("c1",)
    assert f.evidence["on_path_ns"] == 1


def test_an_inferred_wait_off_the_critical_path_is_no_finding():
    call = cart_call(10 * MS, 5_100 * MS, "inventory", "c")
    assert dns_findings(cart([span("render", 0, 5_200 * MS, service="cart"), call])) == []
