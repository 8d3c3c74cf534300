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
