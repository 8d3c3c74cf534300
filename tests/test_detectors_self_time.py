"""self_time: uninstrumented time in a span, beyond its baseline self time."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.self_time import SelfTime
from tracelens.model import SpanKind

MS = 1_000_000


def handler(gap_ms: int, tid: str):
    #  POST /render |--|A|-----gap-----|B|--|
    return trace(
        span(
            "POST /render",
            0,
            (gap_ms + 30) * MS,
            kind=SpanKind.SERVER,
            service="pdf",
            children=[
                span("load", 2 * MS, 12 * MS, service="pdf"),
                span("store", (12 + gap_ms) * MS, (22 + gap_ms) * MS, service="pdf"),
            ],
        ),
        trace_id=tid,
    )


BASE = build_baseline(analyze_trace(handler(10, f"b{n}")) for n in range(3))


def test_a_long_gap_between_children_beyond_baseline_is_self_time():
    (f,) = SelfTime().detect(analyze_trace(handler(400, "s")), BASE)
    assert (f.service, f.operation) == ("pdf", "POST /render")
    assert f.evidence["self_ns"] == [410 * MS]
    assert f.evidence["baseline_self_ns"] == 20 * MS
    (sid,) = f.span_ids
    assert abs(f.edits.gap_scale[sid] - 20 / 410) < 1e-9
    assert f.saving_ns == 390 * MS


def test_self_time_close_to_baseline_is_a_near_miss():
    assert list(SelfTime().detect(analyze_trace(handler(50, "s")), BASE)) == []


def test_leaves_are_never_self_time_findings():
    t = trace(span("crunch", 0, 900 * MS, service="batch"))
    assert list(SelfTime().detect(analyze_trace(t), build_baseline([]))) == []


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def own_ns(self_ns: int, child_ns: int, tid: str = "s"):
    """An entry span whose one child takes `child_ns` and which holds `self_ns` itself after it."""
    root = span(
        "POST /render", 0, child_ns + self_ns, kind=SpanKind.SERVER, service="pdf",
        children=[span("load", 0, child_ns, service="pdf")],
    )  # fmt: skip
    return trace(root, trace_id=tid)


def found(t, baseline) -> bool:
    return bool(list(SelfTime().detect(analyze_trace(t), baseline)))


NO_SELF = build_baseline(analyze_trace(own_ns(0, 100 * MS, f"b{n}")) for n in range(3))


def test_self_time_must_reach_min_self_and_min_excess_over_a_baseline_of_none():
    assert (SelfTime().min_self_ns, SelfTime().min_excess_ns) == (50 * MS, 50 * MS)
    assert found(own_ns(50 * MS, 100 * MS), NO_SELF)
    assert not found(own_ns(50 * MS - 1, 100 * MS), NO_SELF)


def test_self_time_must_exceed_the_baseline_self_time_by_min_excess():
    base = build_baseline(analyze_trace(own_ns(30 * MS, 100 * MS, f"b{n}")) for n in range(3))
    assert found(own_ns(80 * MS, 100 * MS), base)
    assert not found(own_ns(80 * MS - 1, 100 * MS), base)


def test_self_time_must_be_min_share_of_the_spans_duration():
    assert SelfTime().min_share == 0.10
    assert found(own_ns(60 * MS, 540 * MS), NO_SELF)  # 60 of 600 ms: exactly 10%
    assert not found(own_ns(60 * MS, 540 * MS + 1), NO_SELF)


def test_an_operation_the_baseline_lacks_must_reach_the_unknown_bar():
    assert SelfTime().unknown_min_ns == 250 * MS
    none = build_baseline([])
    assert found(own_ns(250 * MS, 100 * MS), none)
    assert not found(own_ns(250 * MS - 1, 100 * MS), none)


def test_a_leaf_is_never_self_time():
    leaf = trace(span("POST /render", 0, 900 * MS, kind=SpanKind.SERVER, service="pdf"))
    assert not found(leaf, build_baseline([]))
