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


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def failing_ns(leaf_ns: int, tid: str, parent_self_ns: int = 5 * MS):
    """A failing call of `leaf_ns` under a failing entry span with `parent_self_ns` of its own."""
    leaf = span(
        "GET rates", 2 * MS, 2 * MS + leaf_ns, kind=SpanKind.CLIENT, service="fx",
        status=StatusCode.ERROR,
    )  # fmt: skip
    root = span(
        "GET /convert", 0, leaf_ns + parent_self_ns, kind=SpanKind.SERVER, service="fx",
        status=StatusCode.ERROR, children=[leaf],
    )  # fmt: skip
    return trace(root, trace_id=tid)


def failing_ops(t, baseline) -> list[str]:
    return [f.operation for f in Error().detect(analyze_trace(t), baseline)]


def test_a_failure_must_last_min_excess_beyond_its_baseline():
    assert Error().min_excess_ns == 50 * MS
    assert failing_ops(failing_ns(70 * MS, "s"), BASE) == ["GET rates"]  # baseline 20 ms
    assert failing_ops(failing_ns(70 * MS - 1, "s"), BASE) == []


def test_without_a_baseline_a_failure_must_hold_min_path_of_the_critical_path():
    assert Error().min_path_ns == 10 * MS
    none = build_baseline([])
    assert failing_ops(failing_ns(10 * MS, "s"), none) == ["GET rates"]
    assert failing_ops(failing_ns(10 * MS - 1, "s"), none) == []


def test_a_failing_parent_is_an_echo_until_its_own_time_reaches_min_excess():
    none = build_baseline([])
    both = failing_ops(failing_ns(20 * MS, "s", parent_self_ns=50 * MS), none)
    assert sorted(both) == ["GET /convert", "GET rates"]
    echo = failing_ops(failing_ns(20 * MS, "s", parent_self_ns=50 * MS - 1), none)
    assert echo == ["GET rates"]
