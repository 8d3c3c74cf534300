"""self_time: uninstrumented time in a span, beyond its baseline self time."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors.self_time import SelfTime
from tracelens.model import Edits, SpanKind

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


# --- the whole finding: what a user reads and what the what-if replays --------------------------


def page(t0_ms: int, self_ms: int, sid: str, name: str = "render page", child_ms: int = 10):
    """A `name` span whose child runs its first `child_ms`, then `self_ms` of its own."""
    child = span("load", t0_ms * MS, (t0_ms + child_ms) * MS, service="pdf")
    end = (t0_ms + child_ms + self_ms) * MS
    return span(name, t0_ms * MS, end, service="pdf", span_id=sid, children=[child])


def render(children, tid: str = "s"):
    """An entry span over children that run one after another; it holds 1 ms itself."""
    end = max(c.end for c in children) + MS
    return trace(span("POST /render", 0, end, kind=SpanKind.SERVER, service="pdf",
                      children=children), trace_id=tid)  # fmt: skip


PAGE = ("pdf", "render page")


def test_a_finding_of_several_spans_names_them_all_in_summary_evidence_and_edits():
    # six spans: more than the five example ids
    t = render([page(1 + 110 * n, 100, f"p{n}") for n in range(6)], "t1")
    (f,) = SelfTime().detect(analyze_trace(t), Baseline(self_ns={PAGE: 20e6}))
    ids = tuple(f"p{n}" for n in range(6))
    assert (f.pattern, f.trace_id, f.service, f.operation) == ("self_time", "t1", *PAGE)
    assert f.span_ids == ids
    assert f.summary == (
        "uninstrumented time in render page (pdf): 600 ms on the critical path with no child "
        "span running (baseline 20 ms)"
    )
    assert f.evidence == {
        "spans": 6,
        "self_ns": [100 * MS] * 6,
        "baseline_self_ns": 20e6,
        "on_path_ns": 600 * MS,
        "example_span_ids": list(ids[:5]),
    }
    assert f.edits == Edits(gap_scale=dict.fromkeys(ids, 0.2))
    assert f.saving_ns == 6 * 80 * MS


def test_an_operation_the_baseline_lacks_is_scaled_to_nothing_and_names_no_baseline():
    (f,) = SelfTime().detect(analyze_trace(render([page(1, 300, "p")])), Baseline())
    assert f.summary == (
        "uninstrumented time in render page (pdf): 300 ms on the critical path with no child "
        "span running"
    )
    assert f.evidence["baseline_self_ns"] is None
    assert f.edits == Edits(gap_scale={"p": 0.0})
    assert f.saving_ns == 300 * MS


def test_spans_short_of_each_bar_do_not_stop_the_scan_of_the_spans_after_them():
    # In index order: the entry span (1 ms of its own: under min_self), then a span under
    # min_share, one the baseline lacks under the unknown bar, one within min_excess of its
    # baseline, and last the one that is a finding.
    t = render(
        [
            page(1, 60, "share", name="merge", child_ms=940),  # 60 of 1000 ms: 6%
            page(1001, 200, "unknown", name="sign"),  # under 250 ms, no baseline
            page(1211, 70, "near", name="stamp"),  # 70 ms: 40 ms over the baseline 30 ms
            page(1291, 100, "found"),
        ]
    )
    base = Baseline(self_ns={("pdf", "stamp"): 30e6, PAGE: 20e6})
    assert [f.span_ids for f in SelfTime().detect(analyze_trace(t), base)] == [("found",)]


def test_with_every_bar_at_zero_a_span_of_no_self_time_is_left_as_it_is():
    # the load child covers all of `render page`: nothing to scale (and no division by zero)
    t = render([page(1, 0, "p")])
    bare = SelfTime(min_self_ns=0, min_share=0.0, min_excess_ns=0, unknown_min_ns=0)
    findings = {f.operation: f for f in bare.detect(analyze_trace(t), Baseline())}
    assert findings["render page"].edits == Edits(gap_scale={"p": 1.0})
    assert findings["render page"].saving_ns == 0


def test_the_fix_never_stretches_self_time_even_below_the_baseline():
    # min_excess_ns < 0 also reports spans a little under their baseline: their self time stays
    # as it is (scale 1, no saving), it is not scaled up to the baseline
    t = render([page(1, 100, "p")])
    lax = SelfTime(min_excess_ns=-50 * MS)
    (f,) = lax.detect(analyze_trace(t), Baseline(self_ns={PAGE: 120e6}))
    assert f.edits == Edits(gap_scale={"p": 1.0})
    assert f.saving_ns == 0
