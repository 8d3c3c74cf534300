"""error: failing spans on the critical path whose time is beyond baseline."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors.error import Error
from tracelens.model import Edits, Event, SpanKind, StatusCode

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


# --- the whole finding: what a user reads and what the what-if replays --------------------------

RATES = ("fx", "GET rates")


def failing_leaf(t0_ms: int, ms: int, reason: str, sid: str):
    """A failing call to `GET rates` of `ms`: an HTTP status (e.g. "503") or an exception type."""
    status = {"http.response.status_code": int(reason)} if reason.isdigit() else {}
    events = () if status else (Event((t0_ms + 1) * MS, "exception", {"exception.type": reason}),)
    return span(
        "GET rates", t0_ms * MS, (t0_ms + ms) * MS, kind=SpanKind.CLIENT, service="fx",
        status=StatusCode.ERROR, attrs=status, events=events, span_id=sid,
    )  # fmt: skip


def entry(children, tid: str = "s"):
    """A healthy entry span over children that run one after another from 0 ms."""
    end = max(c.end for c in children) + MS
    return trace(span("GET /convert", 0, end, kind=SpanKind.SERVER, service="fx",
                      children=children), trace_id=tid)  # fmt: skip


def test_a_finding_of_several_failing_calls_names_them_all_in_summary_evidence_and_edits():
    # A failure near its baseline first (not a finding: the scan goes on past it), then six slow
    # ones: more than the five example ids, two reasons (each named once in the summary).
    leaves = [failing_leaf(1, 30, "TimeoutException", "fast")]
    leaves += [
        failing_leaf(31 + 100 * n, 100, "503" if n == 0 else "TimeoutException", f"s{n}")
        for n in range(6)
    ]
    (f,) = Error().detect(analyze_trace(entry(leaves, "t1")), Baseline(duration_ns={RATES: 20e6}))
    ids = tuple(f"s{n}" for n in range(6))
    assert (f.pattern, f.trace_id, f.service, f.operation) == ("error", "t1", *RATES)
    assert f.span_ids == ids
    assert f.summary == (
        "errors: 6 failing GET rates spans (fx; HTTP 503, TimeoutException) held 600 ms of the "
        "critical path"
    )
    assert f.evidence == {
        "spans": 6,
        "reasons": ["HTTP 503"] + ["TimeoutException"] * 5,
        "durations_ns": [100 * MS] * 6,
        "baseline_ns": 20e6,
        "on_path_ns": 600 * MS,
        "example_span_ids": list(ids[:5]),
    }
    assert f.edits == Edits(duration_ns=dict.fromkeys(ids, 20 * MS))  # no gap_scale: all leaves
    assert f.saving_ns == 6 * 80 * MS  # each call back at 20 ms


def failing_parent(t0_ms: int, self_ns: int, sid: str):
    """A failing `charge` with `self_ns` of its own after a healthy 10 ms child."""
    child = span("GET ledger", t0_ms * MS, (t0_ms + 10) * MS, kind=SpanKind.CLIENT, service="fx")
    return span(
        "charge", t0_ms * MS, (t0_ms + 10) * MS + self_ns, service="fx", status=StatusCode.ERROR,
        span_id=sid, children=[child],
    )  # fmt: skip


CHARGE = ("fx", "charge")


def test_failing_parents_are_scaled_back_to_their_baseline_self_time():
    # baseline self time 30 ms: 130 ms is 100 ms over it, 80 ms exactly min_excess over it
    t = entry([failing_parent(1, 130 * MS, "p1"), failing_parent(200, 80 * MS, "p2")], "t2")
    (f,) = Error().detect(analyze_trace(t), Baseline(self_ns={CHARGE: 30e6}))
    assert (f.operation, f.span_ids) == ("charge", ("p1", "p2"))
    assert f.summary == (
        "errors: 2 failing charge spans (fx; error) held 210 ms of the critical path"
    )
    assert f.edits == Edits(gap_scale={"p1": 30 / 130, "p2": 30 / 80})  # children kept
    assert f.saving_ns == (100 + 50) * MS
    assert f.evidence["baseline_ns"] is None  # the baseline knows no whole duration of it


def test_a_failing_parent_must_exceed_its_baseline_self_time_by_min_excess():
    # baseline self time 30 ms: charge's own 80 ms - 1 ns is just under min_excess over it (and
    # the slow call after it is still found); 80 ms is exactly at it
    base = Baseline(duration_ns={RATES: 20e6}, self_ns={CHARGE: 30e6})

    def found(parent_self_ns: int) -> list[tuple[str, ...]]:
        leaf = failing_leaf(100, 100, "TimeoutException", "c")
        t = entry([failing_parent(1, parent_self_ns, "p"), leaf])
        return [f.span_ids for f in Error().detect(analyze_trace(t), base)]

    assert found(80 * MS - 1) == [("c",)]
    assert found(80 * MS) == [("p",), ("c",)]


def test_a_parent_exactly_at_its_baseline_self_time_saves_nothing_when_min_excess_is_zero():
    t = entry([failing_parent(1, 30 * MS, "p")])
    (f,) = Error(min_excess_ns=0).detect(analyze_trace(t), Baseline(self_ns={CHARGE: 30e6}))
    assert f.edits == Edits(gap_scale={"p": 1.0})
    assert f.saving_ns == 0


def test_the_fix_never_stretches_a_parents_own_time_even_below_the_baseline():
    # min_excess_ns < 0 also reports parents a little under their baseline self time: theirs
    # stays as it is (scale 1, no saving), it is not scaled up to the baseline
    t = entry([failing_parent(1, 30 * MS, "p")])
    (f,) = Error(min_excess_ns=-50 * MS).detect(analyze_trace(t), Baseline(self_ns={CHARGE: 40e6}))
    assert f.edits == Edits(gap_scale={"p": 1.0})
    assert f.saving_ns == 0


def test_the_fix_never_stretches_a_failing_call_even_below_the_baseline():
    # min_excess_ns <= 0 also reports calls at or under their baseline: one at it is set to it
    # and saves nothing; one under it keeps its own length (it is not lengthened to 40 ms)
    base = Baseline(duration_ns={RATES: 40e6})
    at = entry([failing_leaf(1, 40, "503", "at")])
    (f,) = Error(min_excess_ns=0).detect(analyze_trace(at), base)
    assert (f.edits, f.saving_ns) == (Edits(duration_ns={"at": 40 * MS}), 0)
    under = entry([failing_leaf(1, 30, "503", "under")])
    (f,) = Error(min_excess_ns=-50 * MS).detect(analyze_trace(under), base)
    assert (f.edits, f.saving_ns) == (Edits(duration_ns={"under": 30 * MS}), 0)
