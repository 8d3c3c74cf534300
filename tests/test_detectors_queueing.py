"""queueing: a call's time outside its server side, filed under the common end."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors.queueing import Queueing
from tracelens.model import ClaimPart, Edits, SpanKind

MS = 1_000_000


def call(caller: str, callee: str, t0: int, wait_ms: int, name: str = "GET"):
    #  caller |--wait--|=============|
    #  callee          |===========|
    return span(
        name,
        t0 * MS,
        (t0 + wait_ms + 12) * MS,
        kind=SpanKind.CLIENT,
        service=caller,
        children=[
            span(
                "handle",
                (t0 + wait_ms) * MS,
                (t0 + wait_ms + 10) * MS,
                kind=SpanKind.SERVER,
                service=callee,
            )
        ],
    )


def fan(waits: dict[tuple[str, str], int], tid: str):
    # the calls run one after another under the entry span, in order
    calls, t0 = [], 1
    for (caller, callee), wait in waits.items():
        calls.append(call(caller, callee, t0, wait, name=f"GET {callee}"))
        t0 += wait + 13
    return trace(
        span("GET /", 0, (t0 + 1) * MS, kind=SpanKind.SERVER, service="gw", children=calls),
        trace_id=tid,
    )


ENDS = [("gw", "inventory"), ("gw", "pricing"), ("gw", "reviews")]
BASE = build_baseline(analyze_trace(fan(dict.fromkeys(ENDS, 1), f"b{n}")) for n in range(3))


def test_a_wait_beyond_baseline_in_front_of_one_callee_is_filed_under_the_callee():
    waits = {("gw", "inventory"): 1, ("gw", "pricing"): 200, ("gw", "reviews"): 1}
    (f,) = Queueing().detect(analyze_trace(fan(waits, "s")), BASE)
    assert (f.service, f.operation) == ("pricing", "GET pricing -> pricing handle")
    assert f.part is ClaimPart.ALL  # the gap before the server side and after it
    assert f.evidence["caller_services"] == ["gw"]
    assert f.evidence["callee_services"] == ["pricing"]
    assert f.evidence["end"] == "callee"
    (sid,) = f.span_ids
    # baseline gap: 1 ms before + 2 ms after the server side; now 200 ms + 2 ms
    assert f.edits.gap_scale == {sid: 3 / 202}
    assert f.saving_ns == 199 * MS


def test_a_caller_whose_every_call_waits_is_the_common_end():
    waits = dict.fromkeys(ENDS, 150)
    findings = list(Queueing().detect(analyze_trace(fan(waits, "s")), BASE))
    assert {f.service for f in findings} == {"gw"}
    assert all(f.evidence["end"] == "caller" for f in findings)


def test_waits_within_twice_the_baseline_are_a_near_miss():
    # baseline gap 30 ms; 55 ms is 25 ms more: under both the ratio and the 50 ms excess
    base = build_baseline(analyze_trace(fan(dict.fromkeys(ENDS, 30), f"b{n}")) for n in range(3))
    waits = dict.fromkeys(ENDS, 55)
    assert list(Queueing().detect(analyze_trace(fan(waits, "s")), base)) == []


def test_a_slow_response_after_the_server_side_ended_is_queueing_too():
    #  caller |=|===========|------ 200 ms ------|   (a delay on the callee's egress)
    #  callee   |===========|
    slow = trace(
        span(
            "GET /",
            0,
            300 * MS,
            kind=SpanKind.SERVER,
            service="gw",
            children=[
                span(
                    "GET pricing",
                    1 * MS,
                    213 * MS,
                    kind=SpanKind.CLIENT,
                    service="gw",
                    children=[
                        span("handle", 2 * MS, 12 * MS, kind=SpanKind.SERVER, service="pricing"),
                    ],
                ),
            ],
        ),
        trace_id="tail",
    )
    (f,) = Queueing().detect(analyze_trace(slow), BASE)
    assert f.service == "pricing"
    assert f.evidence["waits_ns"] == [202 * MS]


def test_kindless_spans_calling_another_service_are_calls():
    # As in traces converted from logs: every span INTERNAL, the call only visible as a child
    # span in another service.
    def page(tid, tail_ms):
        return trace(
            span(
                "/*",
                0,
                (40 + tail_ms) * MS,
                service="gw",
                children=[
                    span(
                        "HTTP POST",
                        1 * MS,
                        (30 + tail_ms) * MS,
                        service="gw",
                        children=[
                            span("/api/v1/price", 3 * MS, 28 * MS, service="price"),
                        ],
                    ),
                ],
            ),
            trace_id=tid,
        )

    base = build_baseline(analyze_trace(page(f"b{n}", 0)) for n in range(5))
    (f,) = Queueing().detect(analyze_trace(page("s", 300)), base)
    assert f.service == "price"


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def one_call(gap_ns: int, tid: str):
    """gw calls pricing once; the call's time outside the server side is `gap_ns` (ns)."""
    before = gap_ns - 2 * MS  # and 2 ms after the server side
    client = span(
        "GET pricing", MS, MS + before + 12 * MS, kind=SpanKind.CLIENT, service="gw",
        children=[span("handle", MS + before, MS + before + 10 * MS, kind=SpanKind.SERVER,
                       service="pricing")],
    )  # fmt: skip
    root = span("GET /", 0, before + 15 * MS, kind=SpanKind.SERVER, service="gw", children=[client])
    return trace(root, trace_id=tid)


def queued(baseline, gap_ns: int) -> bool:
    return bool(list(Queueing().detect(analyze_trace(one_call(gap_ns, "s")), baseline)))


def test_a_gap_must_exceed_the_baseline_gap_by_min_excess():
    # baseline gap 3 ms: 2 x 3 ms is passed long before 3 + 50 = 53 ms
    assert Queueing().min_excess_ns == 50 * MS
    base = build_baseline(analyze_trace(one_call(3 * MS, f"b{n}")) for n in range(3))
    assert queued(base, 53 * MS)
    assert not queued(base, 53 * MS - 1)


def test_a_gap_must_be_ratio_times_the_baseline_gap():
    # baseline gap 100 ms: 100 + 50 ms is passed long before 2 x 100 = 200 ms
    assert Queueing().ratio == 2.0
    base = build_baseline(analyze_trace(one_call(100 * MS, f"b{n}")) for n in range(3))
    assert queued(base, 200 * MS)
    assert not queued(base, 200 * MS - 1)


def test_without_a_baseline_a_gap_must_reach_the_absolute_bar():
    assert Queueing().absolute_ns == 500 * MS
    assert queued(build_baseline([]), 500 * MS)
    assert not queued(build_baseline([]), 500 * MS - 1)


# --- the whole finding: what a user reads and what the what-if replays --------------------------

URL = {"http.request.method": "GET", "url.full": "http://pricing/p"}
KEY = ("gw", "GET pricing /p")  # named by its URL: the callee is not part of the operation


def url_call(t0_ns: int, gap_ns: int, callee: str, sid: str):
    """gw calls `callee` by URL; the call's time outside its server side is `gap_ns`, all of it
    before the 10 ms server side but 2 ms after."""
    server_at = t0_ns + gap_ns - 2 * MS
    return span(
        "GET", t0_ns, server_at + 12 * MS, kind=SpanKind.CLIENT, service="gw", attrs=URL,
        span_id=sid, children=[span("handle", server_at, server_at + 10 * MS,
                                    kind=SpanKind.SERVER, service=callee)],
    )  # fmt: skip


def url_calls(gaps: list[tuple[int, str]], tid: str = "s"):
    """One url_call after another under gw's entry span, span ids c0, c1, ..."""
    calls, t0 = [], MS
    for n, (gap_ns, callee) in enumerate(gaps):
        calls.append(url_call(t0, gap_ns, callee, f"c{n}"))
        t0 += gap_ns + 11 * MS
    root = span("GET /", 0, t0 + MS, kind=SpanKind.SERVER, service="gw", children=calls)
    return trace(root, trace_id=tid)


def test_a_finding_of_several_calls_names_both_ends_in_summary_evidence_and_edits():
    # gw's every call waits; each callee is behind only half of them: the caller is the common
    # end (six calls: more than the five example ids)
    callees = ["pricing-a"] * 3 + ["pricing-b"] * 3
    t = url_calls([(150 * MS, c) for c in callees], "t1")
    (f,) = Queueing().detect(analyze_trace(t), Baseline(self_ns={KEY: 3e6}))
    ids = tuple(f"c{n}" for n in range(6))
    assert (f.pattern, f.trace_id, f.service, f.operation) == ("queueing", "t1", *KEY)
    assert (f.span_ids, f.part) == (ids, ClaimPart.ALL)
    assert f.summary == (
        "queueing at the caller gw: 6 calls gw -> pricing-a, pricing-b (GET pricing /p) waited "
        "900 ms outside the server side (network, queues) (baseline 3.0 ms each)"
    )
    assert f.evidence == {
        "end": "caller",
        "caller_services": ["gw"],
        "callee_services": ["pricing-a", "pricing-b"],
        "waits_ns": [150 * MS] * 6,
        "baseline_gap_ns": 3e6,
        "caller_wait_share": {"gw": 1.0},
        "callee_wait_share": {"pricing-a": 1.0, "pricing-b": 1.0},
        "on_path_ns": 900 * MS,
        "example_span_ids": list(ids[:5]),
    }
    assert f.edits == Edits(gap_scale=dict.fromkeys(ids, 3 / 150))
    assert f.saving_ns == 6 * 147 * MS


def test_the_end_is_the_one_whose_calls_waited_more_often_then_more_of_them():
    # gw: 2 of its 4 calls waited (a half); pricing-a: both of its calls (all): the callee
    callees = ["pricing-a", "pricing-b", "pricing-a", "pricing-b"]
    gaps = [150 * MS, 3 * MS, 150 * MS, 3 * MS]
    (f,) = Queueing().detect(
        analyze_trace(url_calls(list(zip(gaps, callees, strict=True)))),
        Baseline(self_ns={KEY: 3e6}),
    )
    assert (f.evidence["end"], f.service) == ("callee", "pricing-a")
    assert f.evidence["caller_wait_share"] == {"gw": 0.5}
    assert f.evidence["callee_wait_share"] == {"pricing-a": 1.0}


def fastest_target(gaps_ns: list[int]) -> dict[str, float]:
    """Without a baseline: the gap scale of the one call over the absolute bar."""
    t = url_calls([(g, "pricing") for g in gaps_ns])
    (f,) = Queueing().detect(analyze_trace(t), Baseline())
    return dict(f.edits.gap_scale)


def test_without_a_baseline_a_gap_is_scaled_to_the_fastest_of_its_operation_under_half_of_it():
    # the fastest gap (10 ms) is neither the first call nor the last one; the first call is
    # under the absolute bar and must not end the scan
    assert fastest_target([10 * MS, 600 * MS, 100 * MS]) == {"c1": 10 / 600}
    assert fastest_target([600 * MS, 250 * MS]) == {"c0": 250 / 600}  # a third would be 200
    # exactly half (600 ms + 1 ns halves to 300 ms, rounded down) is no typical gap: to nothing
    assert fastest_target([600 * MS + 1, 300 * MS]) == {"c0": 0.0}


def test_without_a_baseline_the_summary_names_no_baseline():
    t = url_calls([(600 * MS, "pricing")], "t2")
    (f,) = Queueing().detect(analyze_trace(t), Baseline())
    assert f.summary == (
        "queueing at the callee pricing: 1 calls gw -> pricing (GET pricing /p) waited 600 ms "
        "outside the server side (network, queues)"
    )
    assert f.evidence["baseline_gap_ns"] is None
    assert f.saving_ns == 600 * MS


def overhang(head_ns: int):
    """A call that outlives the entry span (clipped at its 200 ms end), its server side
    starting `head_ns` after it: only that head is on the critical path."""
    client = span(
        "GET", 100 * MS, 300 * MS, kind=SpanKind.CLIENT, service="gw", attrs=URL, span_id="c",
        children=[span("handle", 100 * MS + head_ns, 240 * MS, kind=SpanKind.SERVER,
                       service="pricing")],
    )  # fmt: skip
    return trace(span("GET /", 0, 200 * MS, kind=SpanKind.SERVER, service="gw", children=[client]))


def test_a_gap_must_hold_critical_path_time_one_ns_is_enough():
    # the gap (60 ms after the server side, plus the head) is far over the 1 ms baseline
    base = Baseline(self_ns={KEY: 1e6})
    assert [f.span_ids for f in Queueing().detect(analyze_trace(overhang(1)), base)] == [("c",)]
    assert list(Queueing().detect(analyze_trace(overhang(0)), base)) == []


def test_a_call_waiting_off_the_critical_path_does_not_end_the_scan():
    # `off` runs inside `on`'s time: not on the path. It comes first in the trace's span order.
    off = span(
        "GET", 5 * MS, 100 * MS, kind=SpanKind.CLIENT, service="gw", attrs=URL, span_id="off",
        children=[span("handle", 80 * MS, 90 * MS, kind=SpanKind.SERVER, service="pricing")],
    )  # fmt: skip
    on = span(
        "GET", 0, 290 * MS, kind=SpanKind.CLIENT, service="gw", attrs=URL, span_id="on",
        children=[span("handle", 200 * MS, 280 * MS, kind=SpanKind.SERVER, service="pricing")],
    )  # fmt: skip
    t = trace(span("GET /", 0, 300 * MS, kind=SpanKind.SERVER, service="gw", children=[off, on]))
    findings = list(Queueing().detect(analyze_trace(t), Baseline(self_ns={KEY: 3e6})))
    assert [f.span_ids for f in findings] == [("on",)]


def test_with_zero_bars_a_call_with_no_time_of_its_own_is_left_as_it_is():
    # The server side and a second child cover the whole call: no self time, yet the call holds
    # its first 10 ms on the path (the server side overlaps the second child's start). A gap of
    # 0 has nothing to scale.
    call = span(
        "GET", 0, 100 * MS, kind=SpanKind.CLIENT, service="gw", attrs=URL, span_id="c",
        children=[span("handle", 0, 60 * MS, kind=SpanKind.SERVER, service="pricing"),
                  span("audit", 10 * MS, 100 * MS, service="gw")],
    )  # fmt: skip
    t = trace(span("GET /", 0, 100 * MS, kind=SpanKind.SERVER, service="gw", children=[call]))
    bare = Queueing(ratio=0.0, min_excess_ns=0)
    (f,) = bare.detect(analyze_trace(t), Baseline(self_ns={KEY: 0.0}))
    assert f.evidence["waits_ns"] == [0]
    assert f.edits == Edits(gap_scale={"c": 1.0})
