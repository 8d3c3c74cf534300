"""error: failing spans on the critical path whose time is beyond baseline."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.error import Error
from tracelens.model import Event, SpanKind, StatusCode

MS = 1_000_000


def lookup(ms: int, failed: bool, tid: str):
    events = (
        (Event(ms * MS, "exception", {"exception.type": "TimeoutException"}),) if failed else ()
    )
    leaf = span(
        "GET rates",
        2 * MS,
        (2 + ms) * MS,
        kind=SpanKind.CLIENT,
        service="fx",
        status=StatusCode.ERROR if failed else StatusCode.UNSET,
        events=events,
    )
    return trace(
        span(
            "GET /convert",
            0,
            (ms + 5) * MS,
            kind=SpanKind.SERVER,
            service="fx",
            status=StatusCode.ERROR if failed else StatusCode.UNSET,
            children=[leaf],
        ),
        trace_id=tid,
    )


BASE = build_baseline(analyze_trace(lookup(20, False, f"b{n}")) for n in range(3))


def test_a_failing_call_that_ran_long_is_an_error_finding_and_its_echo_is_not():
    (f,) = Error().detect(analyze_trace(lookup(1000, True, "s")), BASE)
    assert (f.service, f.operation) == ("fx", "GET rates")  # not the parent echoing it
    assert f.evidence["reasons"] == ["TimeoutException"]
    (sid,) = f.span_ids
    assert f.edits.duration_ns == {sid: 20 * MS}
    assert f.saving_ns == 980 * MS


def test_a_fast_failure_costs_nothing_beyond_baseline():
    assert list(Error().detect(analyze_trace(lookup(25, True, "s")), BASE)) == []
