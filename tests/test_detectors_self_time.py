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
