"""detect_all: every detector in precedence order, one claim per span, ranked by path cost."""

from __future__ import annotations

import random

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors import DETECTORS, default_detectors, detect_all
from tracelens.model import ClaimPart, SpanKind, StatusCode, Trace

MS = 1_000_000


def test_the_registry_lists_the_nine_patterns_most_specific_first():
    assert list(DETECTORS) == [
        "n_plus_one",
        "dns",
        "connect",
        "retry",
        "slow_query",
        "queueing",
        "sequential",
        "self_time",
        "error",
    ]
    assert [d.name for d in default_detectors()] == list(DETECTORS)


def n_plus_one_of_slow_queries(ms: int, tid: str):
    calls = [
        span(
            "SELECT",
            (5 + n * (ms + 1)) * MS,
            (5 + n * (ms + 1) + ms) * MS,
            kind=SpanKind.CLIENT,
            service="shop",
            attrs={"db.system": "postgresql", "db.statement": f"SELECT * FROM item WHERE id = {n}"},
        )
        for n in range(8)
    ]
    return trace(
        span(
            "GET /cart",
            0,
            (10 + 8 * (ms + 1)) * MS,
            kind=SpanKind.SERVER,
            service="shop",
            children=calls,
        ),
        trace_id=tid,
    )


def test_a_span_is_claimed_by_the_most_specific_pattern_only():
    base = build_baseline(analyze_trace(n_plus_one_of_slow_queries(2, f"b{n}")) for n in range(3))
    findings = detect_all(
        analyze_trace(n_plus_one_of_slow_queries(80, "s")), base, default_detectors()
    )
    patterns = [f.pattern for f in findings]
    assert patterns[0] == "n_plus_one"
    assert "slow_query" not in patterns  # the same spans: the N+1 explains them first
    claimed = [sid for f in findings for sid in f.span_ids]
    assert len(claimed) == len(set(claimed))


def trainticket(seed: int, scale: float, tid: str) -> Trace:
    # No kinds, no attributes: only names, as some public benchmark traces have.
    rng = random.Random(seed)

    def ms(x: float) -> int:
        return int(x * scale * MS * rng.uniform(0.9, 1.1))

    t = 0
    kids = []
    for name, svc in [
        ("HTTP POST", "ts-travel"),
        ("HTTP GET", "ts-route"),
        ("HTTP POST", "ts-price"),
    ]:
        length = ms(30)
        kids.append(
            span(
                name,
                t + MS,
                t + MS + length,
                kind=SpanKind.UNSPECIFIED,
                service="ts-travel",
                children=[
                    span(
                        f"/api/v1/{svc}/q",
                        t + 2 * MS,
                        t + length,
                        service=svc,
                        kind=SpanKind.UNSPECIFIED,
                        children=[
                            span(
                                "SELECT Trip",
                                t + 3 * MS,
                                t + length - MS,
                                service=svc,
                                kind=SpanKind.UNSPECIFIED,
                            )
                        ],
                    )
                ],
            )
        )
        t += length + 2 * MS
    return trace(
        span(
            "/api/v1/travelservice/trips/left",
            0,
            t + 3 * MS,
            service="ts-travel",
            kind=SpanKind.UNSPECIFIED,
            children=kids,
        ),
        trace_id=tid,
    )


def test_attribute_free_traces_a_bit_slower_than_baseline_get_no_findings():
    base = build_baseline(analyze_trace(trainticket(n, 1.0, f"b{n}")) for n in range(20))
    for n in range(10):
        slow = analyze_trace(trainticket(100 + n, 1.3, f"s{n}"))
        assert detect_all(slow, base, default_detectors()) == ()


def random_trace(rng: random.Random, n_spans: int) -> Trace:
    kinds = list(SpanKind)
    names = ["HTTP GET", "SELECT x", "dns.lookup", "http.connect", "work", "/api/{id}", "query Q"]
    root = span("root", 0, 10_000 * MS, service="a")
    nodes = [root]
    for _ in range(n_spans):
        parent = rng.choice(nodes)
        lo = rng.randint(parent.start, parent.end)
        hi = rng.randint(lo, parent.end)
        child = span(
            rng.choice(names),
            lo,
            hi,
            kind=rng.choice(kinds),
            service=rng.choice("abc"),
            status=rng.choice(list(StatusCode)),
            attrs=rng.choice([{}, {"http.status_code": 503}, {"db.system": "redis"}]),
        )
        parent.children = (*parent.children, child)
        nodes.append(child)
    return trace(root, trace_id=f"{rng.getrandbits(64):032x}")


def test_random_traces_never_crash_and_never_claim_a_span_part_twice():
    rng = random.Random(7)
    base = build_baseline(analyze_trace(random_trace(rng, 40)) for _ in range(20))
    for _ in range(40):
        analysis = analyze_trace(random_trace(rng, rng.randint(0, 120)))
        findings = detect_all(analysis, base, default_detectors())
        claimed = [(sid, f.part) for f in findings for sid in f.span_ids]
        assert len(claimed) == len(set(claimed))
        assert all(sid in analysis.tree.index for sid, _ in claimed)
        costs = [f.evidence.get("on_path_ns", 0) for f in findings]
        assert costs == sorted(costs, reverse=True)


def test_a_dns_wait_inside_an_n_plus_one_call_is_claimed_by_both_causes():
    # A Java BFF (no DNS spans) loops over 6 calls; one call waits a 5 s resolver timeout before
    # its server side starts. N+1 claims the calls, DNS claims only that call's head.
    MS_ = 1_000_000
    calls = []
    t = 0
    for k in range(6):
        wait = 5_000 * MS_ if k == 2 else MS_
        calls.append(
            span(
                "GET",
                t,
                t + wait + 20 * MS_,
                service="bff",
                kind=SpanKind.CLIENT,
                attrs={
                    "http.request.method": "GET",
                    "server.address": "hospitals",
                    "url.full": f"http://hospitals/hospitals/{k}",
                },
                children=[
                    span(
                        "GET /hospitals/{id}",
                        t + wait,
                        t + wait + 19 * MS_,
                        service="hospitals",
                        kind=SpanKind.SERVER,
                        attrs={"http.route": "/hospitals/{id}"},
                    )
                ],
            )
        )
        t += wait + 21 * MS_
    slow = analyze_trace(trace(span("query ResultPage", 0, t, service="bff", children=calls)))
    findings = detect_all(slow, build_baseline([]), default_detectors())
    patterns = {f.pattern: f for f in findings}
    assert {"n_plus_one", "dns"} <= set(patterns)
    assert patterns["dns"].part is ClaimPart.HEAD
    assert len(patterns["dns"].span_ids) == 1
