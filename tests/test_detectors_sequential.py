"""sequential: sibling calls that overlap in baseline traces but ran one after another."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.sequential import Sequential
from tracelens.model import SpanKind

MS = 1_000_000


def page(parallel: bool, tid: str):
    #  parallel:                 sequential:
    #  GET /home |----------|    GET /home |----------------------|
    #  profile     |----|        profile     |----|
    #  feed        |------|      feed              |------|
    #  ads         |---|         ads                       |---|
    lengths = {"GET profile": 40, "GET feed": 60, "GET ads": 30}
    children, t0 = [], 5
    for name, ms in lengths.items():
        children.append(span(name, t0 * MS, (t0 + ms) * MS, kind=SpanKind.CLIENT, service="web"))
        if not parallel:
            t0 += ms + 1
    end = (t0 + 70) * MS if parallel else (t0 + 5) * MS
    return trace(
        span("GET /home", 0, end, kind=SpanKind.SERVER, service="web", children=children),
        trace_id=tid,
    )


BASE = build_baseline(analyze_trace(page(True, f"b{n}")) for n in range(3))


def test_calls_that_overlap_in_baseline_but_ran_back_to_back_are_sequential():
    (f,) = Sequential().detect(analyze_trace(page(False, "s")), BASE)
    assert (f.service, f.operation) == ("web", "GET /home")
    assert f.evidence["operations"] == ["GET profile", "GET feed", "GET ads"]
    assert f.saving_ns == ((40 + 60 + 30) - 60) * MS
    assert f.edits.parallel == frozenset(f.span_ids)


def test_the_same_shape_is_quiet_when_the_baseline_never_overlapped_them():
    base = build_baseline(analyze_trace(page(False, f"b{n}")) for n in range(3))
    assert list(Sequential().detect(analyze_trace(page(False, "s")), base)) == []


def test_no_baseline_means_no_claim_about_what_could_overlap():
    assert list(Sequential().detect(analyze_trace(page(False, "s")), build_baseline([]))) == []


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def two_calls(a_ns: int, b_ns: int, gap_ns: int, tid: str = "s"):
    """profile, then feed starting `gap_ns` after profile ends (negative: they overlap)."""
    a = span("GET profile", 5 * MS, 5 * MS + a_ns, kind=SpanKind.CLIENT, service="web")
    b_start = 5 * MS + a_ns + gap_ns
    b = span("GET feed", b_start, b_start + b_ns, kind=SpanKind.CLIENT, service="web")
    end = max(5 * MS + a_ns, b_start + b_ns) + 5 * MS
    return trace(span("GET /home", 0, end, kind=SpanKind.SERVER, service="web", children=[a, b]),
                 trace_id=tid)  # fmt: skip


def baseline_of(overlapping: int, apart: int):
    together = [two_calls(40 * MS, 60 * MS, -40 * MS, f"p{n}") for n in range(overlapping)]
    one_by_one = [two_calls(40 * MS, 60 * MS, MS, f"q{n}") for n in range(apart)]
    return build_baseline(analyze_trace(t) for t in together + one_by_one)


def sequential(t, baseline) -> bool:
    return bool(list(Sequential().detect(analyze_trace(t), baseline)))


def test_the_baseline_must_overlap_them_in_min_overlap_share_of_its_traces():
    assert Sequential().min_overlap_share == 0.5
    slow = two_calls(60 * MS, 70 * MS, MS)  # would save 60 ms
    assert sequential(slow, baseline_of(5, 5))  # 5 of 10 traces: exactly half
    assert not sequential(slow, baseline_of(5, 6))  # 5 of 11


def test_running_them_together_must_save_min_saving():
    assert Sequential().min_saving_ns == 50 * MS
    base = baseline_of(3, 0)
    (f,) = Sequential().detect(analyze_trace(two_calls(50 * MS, 70 * MS, MS)), base)
    assert f.saving_ns == 50 * MS  # the shorter one's length
    assert not sequential(two_calls(50 * MS - 1, 70 * MS, MS), base)


def test_calls_that_touch_did_not_overlap_and_one_nanosecond_of_overlap_did():
    base = baseline_of(3, 0)
    assert sequential(two_calls(60 * MS, 60 * MS, 0), base)
    assert not sequential(two_calls(60 * MS, 60 * MS, -1), base)


def many_ops(ops: int, overlapping: bool, tid: str):
    """profile and feed (overlapping or one after another) plus `ops - 2` other 1 ms calls."""
    t = two_calls(60 * MS, 70 * MS, -40 * MS if overlapping else MS, tid)
    _, a, b = t.spans
    others = [
        span(f"GET other{k}", 200 * MS + 2 * k * MS, 201 * MS + 2 * k * MS,
             kind=SpanKind.CLIENT, service="web")
        for k in range(ops - 2)
    ]  # fmt: skip
    kids = [span(s.name, s.start_ns, s.end_ns, kind=s.kind, service="web") for s in (a, b)]
    end = 210 * MS + 2 * ops * MS
    return trace(span("GET /home", 0, end, kind=SpanKind.SERVER, service="web",
                      children=[*kids, *others]), trace_id=tid)  # fmt: skip


def test_a_parent_with_up_to_max_ops_operations_is_looked_at_and_one_more_is_not():
    assert Sequential().max_ops_per_parent == 40
    for ops, found in ((40, True), (41, False)):
        base = build_baseline(analyze_trace(many_ops(ops, True, f"b{n}")) for n in range(3))
        assert sequential(many_ops(ops, False, "s"), base) is found, ops


def repeated(n: int, overlapping: bool, tid: str):
    """n calls of one operation, all at once or one after another."""
    step = 0 if overlapping else 11 * MS
    calls = [span("GET feed", 5 * MS + k * step, 15 * MS + k * step, kind=SpanKind.CLIENT,
                  service="web") for k in range(n)]  # fmt: skip
    end = 20 * MS + n * step
    return trace(span("GET /home", 0, end, kind=SpanKind.SERVER, service="web", children=calls),
                 trace_id=tid)  # fmt: skip


def test_an_operation_repeated_up_to_max_spans_is_looked_at_and_one_more_is_not():
    assert Sequential().max_spans_per_op == 100
    for n, found in ((100, True), (101, False)):
        base = build_baseline(analyze_trace(repeated(n, True, f"b{k}")) for k in range(3))
        assert sequential(repeated(n, False, "s"), base) is found, n
    # an operation needs two spans to overlap itself
    base = build_baseline(analyze_trace(repeated(2, True, f"b{k}")) for k in range(3))
    assert sequential(repeated(2, False, "s"), base) is False  # saving 10 ms: under the bar
