"""retry: failed attempts followed by another call to the same target."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.retry import Retry
from tracelens.model import SpanKind, StatusCode

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
