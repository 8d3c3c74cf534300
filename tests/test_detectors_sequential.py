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
