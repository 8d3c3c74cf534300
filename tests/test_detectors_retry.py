"""retry: failed attempts followed by another call to the same target."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.retry import Retry
from tracelens.model import SpanKind, StatusCode, Trace

MS = 1_000_000
EMPTY = build_baseline([])


def attempt(t0: int, ms: int, status: int):
    return span(
        "POST",
        t0 * MS,
        (t0 + ms) * MS,
        kind=SpanKind.CLIENT,
        service="checkout",
        attrs={
            "http.request.method": "POST",
            "url.full": "http://payments/charge",
            "http.response.status_code": status,
        },
        status=StatusCode.ERROR if status >= 500 else StatusCode.UNSET,
        children=[
            span(
                "POST /charge",
                (t0 + 1) * MS,
                (t0 + ms - 1) * MS,
                kind=SpanKind.SERVER,
                service="payments",
            )
        ],
    )


def test_two_failed_attempts_before_a_success_are_retries():
    #  POST /checkout |-------------------------------------------|
    #  POST charge      |--503--| |--503--|  |--200--|
    t = trace(
        span(
            "POST /checkout",
            0,
            400 * MS,
            kind=SpanKind.SERVER,
            service="checkout",
            children=[attempt(5, 100, 503), attempt(110, 100, 503), attempt(215, 50, 200)],
        )
    )
    (f,) = Retry().detect(analyze_trace(t), EMPTY)
    assert (f.service, f.operation) == ("checkout", "POST payments /charge")
    assert f.evidence["failed"] == 2
    assert f.evidence["reasons"] == ["HTTP 503", "HTTP 503"]
    assert len(f.span_ids) == 4  # two attempts and their server spans
    assert len(f.edits.remove) == 2
    assert f.saving_ns == 200 * MS


def test_a_failure_that_was_not_tried_again_is_not_a_retry():
    t = trace(
        span(
            "POST /checkout",
            0,
            400 * MS,
            kind=SpanKind.SERVER,
            service="checkout",
            children=[attempt(5, 100, 200), attempt(110, 100, 503)],
        )
    )
    assert list(Retry().detect(analyze_trace(t), EMPTY)) == []


# --- thresholds: exactly at the bar fires, just below it does not ----------------------------


def one_retry_ns(failed_ns: int):
    """A failed POST of `failed_ns` (no server span under it), then one that succeeds."""

    def post(start: int, end: int, status: int):
        return span(
            "POST", start, end, kind=SpanKind.CLIENT, service="checkout",
            attrs={"http.request.method": "POST", "url.full": "http://payments/charge",
                   "http.response.status_code": status},
            status=StatusCode.ERROR if status >= 500 else StatusCode.UNSET,
        )  # fmt: skip

    first = post(MS, MS + failed_ns, 503)
    second = post(2 * MS + failed_ns, 22 * MS + failed_ns, 200)
    root = span(
        "POST /checkout", 0, 25 * MS + failed_ns, kind=SpanKind.SERVER, service="checkout",
        children=[first, second],
    )  # fmt: skip
    return trace(root)


def test_failed_attempts_must_hold_min_path_of_the_critical_path():
    assert Retry().min_path_ns == 10 * MS
    (f,) = Retry().detect(analyze_trace(one_retry_ns(10 * MS)), EMPTY)
    assert f.saving_ns == 10 * MS
    assert list(Retry().detect(analyze_trace(one_retry_ns(10 * MS - 1)), EMPTY)) == []


# --- the finding itself: what a user reads and what the what-if replays ----------------------


def post(sid: str, t0_ms: int, ms: int, status: int, url: str = "http://payments/charge"):
    """A POST with a given span id and HTTP status and no server span under it."""
    return span(
        "POST", t0_ms * MS, (t0_ms + ms) * MS, kind=SpanKind.CLIENT, service="checkout",
        attrs={"http.request.method": "POST", "url.full": url, "http.response.status_code": status},
        status=StatusCode.ERROR if status >= 500 else StatusCode.UNSET, span_id=sid,
    )  # fmt: skip


def checkout(*children, end_ms: int = 400):
    return trace(
        span("POST /checkout", 0, end_ms * MS, kind=SpanKind.SERVER, service="checkout",
             children=children)
    )  # fmt: skip


def test_the_finding_names_the_reasons_and_frees_the_attempt_after_each_failed_one():
    # 503, then 429, then a success: two reasons; the fix drops the failed two and lets the
    # attempt after each start without its back-off
    t = checkout(post("a1", 5, 100, 503), post("a2", 110, 60, 429), post("a3", 175, 50, 200))
    (f,) = Retry().detect(analyze_trace(t), EMPTY)
    assert (f.pattern, f.trace_id) == ("retry", t.trace_id)
    assert f.span_ids == ("a1", "a2")
    assert f.summary == (
        "retries: 2 failed attempts of POST payments /charge (checkout) under 'POST /checkout' "
        "(HTTP 503, HTTP 429) cost 160 ms of the critical path"
    )
    assert f.saving_ns == 160 * MS
    assert f.edits.remove == {"a1", "a2"}
    assert f.edits.no_wait == {"a2", "a3"}
    assert f.evidence == {
        "attempts": 3,
        "failed": 2,
        "reasons": ["HTTP 503", "HTTP 429"],
        "durations_ns": [100 * MS, 60 * MS],
        "last_attempt_ok": True,
        "on_path_ns": 160 * MS,
        "example_span_ids": ["a1", "a2"],
    }


def test_a_last_attempt_that_failed_too_is_said_even_when_one_before_it_succeeded():
    # 503, 200, 503: only the first is a retried failure; the last one failed as well
    t = checkout(post("b1", 5, 100, 503), post("b2", 110, 50, 200), post("b3", 165, 80, 503))
    (f,) = Retry().detect(analyze_trace(t), EMPTY)
    assert f.summary == (
        "retries: 1 failed attempts of POST payments /charge (checkout) under 'POST /checkout' "
        "(HTTP 503) cost 100 ms of the critical path; the last attempt failed too"
    )
    assert f.evidence["last_attempt_ok"] is False
    assert f.edits.no_wait == {"b2"}


def test_at_most_five_failed_attempts_are_given_as_examples():
    failed = [post(f"c{n}", 5 + 20 * n, 15, 503) for n in range(6)]
    (f,) = Retry().detect(analyze_trace(checkout(*failed, post("ok", 130, 10, 200))), EMPTY)
    assert f.evidence["failed"] == 6
    assert f.evidence["example_span_ids"] == ["c0", "c1", "c2", "c3", "c4"]


def test_a_retry_is_found_among_calls_that_are_not_retries():
    #  GET /order |----------------------------------------------------------|
    #  checkout     |------------------------------------------------------|  (one child)
    #  stock          |-|                                a single call
    #  prices            |-| |-|                         two calls, neither failed
    #  tax                      |x| |-|                  a retry of 2 ms: under the bar
    #  charge                           |--503--| |-200-|
    # each of these, looked at first, must not stop the search for the retry after it
    kids = [
        post("s1", 5, 2, 200, "http://stock/s"),
        post("p1", 10, 2, 200, "http://prices/p"),
        post("p2", 13, 2, 200, "http://prices/p"),
        post("t1", 20, 2, 503, "http://tax/t"),
        post("t2", 23, 2, 200, "http://tax/t"),
        post("a1", 30, 100, 503),
        post("a2", 135, 50, 200),
    ]
    inner = span("checkout", MS, 390 * MS, service="checkout", children=kids)
    t = trace(span("GET /order", 0, 400 * MS, kind=SpanKind.SERVER, service="checkout",
                   children=[inner]))  # fmt: skip
    (f,) = Retry().detect(analyze_trace(t), EMPTY)
    assert f.span_ids == ("a1",)


def test_an_untyped_span_whose_server_side_is_listed_first_is_still_an_attempt():
    # INTERNAL spans with no call attributes are attempts only through their callee (a SERVER
    # span of another service); the first callee is the trace's first span, index 0
    def charge(sid: str, t0_ms: int, ms: int, status: StatusCode):
        server = span(
            "POST /charge",
            (t0_ms + 1) * MS,
            (t0_ms + ms - 1) * MS,
            kind=SpanKind.SERVER,
            service="payments",
            span_id=sid + "-srv",
        )
        return span("charge", t0_ms * MS, (t0_ms + ms) * MS, service="checkout", status=status,
                    span_id=sid, children=[server])  # fmt: skip

    t = checkout(charge("d1", 5, 100, StatusCode.ERROR), charge("d2", 110, 50, StatusCode.UNSET))
    first_server = next(s for s in t.spans if s.span_id == "d1-srv")
    reordered = Trace(t.trace_id, (first_server, *(s for s in t.spans if s is not first_server)))
    analysis = analyze_trace(reordered)
    assert analysis.tree.index["d1-srv"] == 0
    (f,) = Retry().detect(analysis, EMPTY)
    assert f.span_ids == ("d1", "d1-srv")
    assert f.evidence["reasons"] == ["error"]
