"""queueing: a call's time outside its server side, filed under the common end."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.queueing import Queueing
from tracelens.model import ClaimPart, SpanKind

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
