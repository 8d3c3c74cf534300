"""sequential: sibling calls that overlap in baseline traces but ran one after another."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import example, given
from hypothesis import strategies as st

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors.sequential import Sequential, _makespan_ns, _overlaps
from tracelens.model import Span, SpanKind

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


# --- the finding itself: what a user reads and what the what-if replays ----------------------


def test_the_finding_names_the_calls_in_start_order_and_the_baseline_share_of_each_pair():
    # two of three baseline traces ran them side by side: a share of 2/3 for every pair
    base = build_baseline(analyze_trace(page(p, f"b{n}")) for n, p in enumerate([1, 1, 0]))
    t = page(False, "s")
    ids = {s.name: s.span_id for s in t.spans}
    (f,) = Sequential().detect(analyze_trace(t), base)
    assert (f.pattern, f.trace_id) == ("sequential", "s")
    assert f.summary == (
        "3 calls under GET /home (web) ran one after another but overlap in baseline traces: "
        "GET profile, GET feed, GET ads; in parallel ≈ 70 ms less"
    )
    calls = (ids["GET profile"], ids["GET feed"], ids["GET ads"])
    assert f.span_ids == calls
    assert f.saving_ns == 70 * MS
    assert (f.edits.parallel, f.edits.parallel_width) == (frozenset(calls), {})
    assert f.evidence == {
        "calls": 3,
        "operations": ["GET profile", "GET feed", "GET ads"],
        "durations_ns": [40 * MS, 60 * MS, 30 * MS],
        "baseline_overlap": [
            {"a": "GET ads", "b": "GET feed", "share": 0.667},
            {"a": "GET ads", "b": "GET profile", "share": 0.667},
            {"a": "GET feed", "b": "GET profile", "share": 0.667},
        ],
        "parent_span_id": ids["GET /home"],
        "on_path_ns": 130 * MS,
        "example_span_ids": list(calls),
    }


def call(name: str, start_ms: float, ms: float, sid: str | None = None):
    start = round(start_ms * MS)
    return span(name, start, start + round(ms * MS), kind=SpanKind.CLIENT, service="web",
                span_id=sid)  # fmt: skip


def home(*kids, tid: str = "s"):
    end = max(k.end for k in kids) + 5 * MS
    return trace(span("GET /home", 0, end, kind=SpanKind.SERVER, service="web", children=kids),
                 trace_id=tid)  # fmt: skip


def two_at_a_time(names: list[str], tid: str):
    """The calls two at a time, 30 ms each: pairs from 5 ms, 35 ms, ..."""
    return home(*(call(name, 5 + 30 * (k // 2), 30) for k, name in enumerate(names)), tid=tid)


def one_by_one(names: list[str], tid: str = "s", ms: float = 30):
    return home(*(call(name, 5 + (ms + 1) * k, ms, f"{tid}{k}") for k, name in enumerate(names)),
                tid=tid)  # fmt: skip


def test_one_operation_repeated_runs_again_as_many_at_once_as_the_baseline_ran_it():
    base = build_baseline(analyze_trace(two_at_a_time(["GET feed"] * 4, f"b{n}")) for n in range(3))
    assert base.width[("web", "GET feed")] == 2
    (f,) = Sequential().detect(analyze_trace(one_by_one(["GET feed"] * 4)), base)
    assert f.saving_ns == (120 - 60) * MS  # four of 30 ms on two lanes take 60 ms
    assert f.edits.parallel_width == dict.fromkeys(f.span_ids, 2)


def test_no_cap_when_the_baseline_ran_as_many_at_once_as_there_are_here():
    # the baseline ran six, three at a time; here three one after another: all three at once
    base = build_baseline(
        analyze_trace(home(*(call("GET feed", 5 + 30 * (k // 3), 30) for k in range(6)),
                           tid=f"b{n}"))
        for n in range(3)
    )  # fmt: skip
    assert base.width[("web", "GET feed")] == 3
    (f,) = Sequential().detect(analyze_trace(one_by_one(["GET feed"] * 3)), base)
    assert f.saving_ns == (90 - 30) * MS
    assert f.edits.parallel_width == {}


def test_several_operations_run_all_at_once_whatever_the_baseline_width_of_each():
    # the baseline ran three profile and three feed calls two at a time (two profiles, two
    # feeds, then one of each: width 2 each)
    names = ["GET profile"] * 2 + ["GET feed"] * 2 + ["GET profile", "GET feed"]
    base = build_baseline(analyze_trace(two_at_a_time(names, f"b{n}")) for n in range(3))
    assert base.width[("web", "GET feed")] == base.width[("web", "GET profile")] == 2
    (f,) = Sequential().detect(analyze_trace(one_by_one(names)), base)
    assert f.saving_ns == (180 - 30) * MS
    assert f.edits.parallel_width == {}
    # six calls: the first five are the examples
    assert f.evidence["example_span_ids"] == ["s0", "s1", "s2", "s3", "s4"]


def test_one_operation_called_exactly_twice_is_a_pair_with_itself():
    base = build_baseline(analyze_trace(two_at_a_time(["GET feed"] * 2, f"b{n}")) for n in range(3))
    (f,) = Sequential().detect(analyze_trace(one_by_one(["GET feed"] * 2, ms=60)), base)
    assert f.span_ids == ("s0", "s1")
    assert f.saving_ns == 60 * MS


def test_an_operation_over_max_spans_is_left_out_of_pairs_with_other_operations_too():
    # the baseline ran ads beside two feeds; here ads, then 101 feeds of 1 ms
    base = build_baseline(
        analyze_trace(home(call("GET ads", 5, 10), call("GET feed", 5, 10), call("GET feed", 6, 10),
                           tid=f"b{n}"))
        for n in range(3)
    )  # fmt: skip
    for feeds, found in ((100, True), (101, False)):
        t = home(call("GET ads", 5, 10), *(call("GET feed", 20 + 1.5 * k, 1) for k in range(feeds)))
        assert sequential(t, base) is found, feeds


def test_a_pair_that_overlapped_here_does_not_stop_the_pairs_after_it():
    # baseline: ads, feed and profile side by side; here ads and feed overlap, profile after
    base = build_baseline(
        analyze_trace(home(call("GET ads", 5, 30), call("GET feed", 5, 60),
                           call("GET profile", 5, 40), tid=f"b{n}"))
        for n in range(3)
    )  # fmt: skip
    t = home(call("GET ads", 5, 30), call("GET feed", 20, 60), call("GET profile", 81, 40))
    (f,) = Sequential().detect(analyze_trace(t), base)
    pairs = [(p["a"], p["b"]) for p in f.evidence["baseline_overlap"]]
    assert pairs == [("GET ads", "GET profile"), ("GET feed", "GET profile")]
    assert f.evidence["operations"] == ["GET ads", "GET feed", "GET profile"]


def test_parents_without_a_finding_do_not_stop_the_search():
    #  GET /home |------------------------------------------------------------|
    #  GET auth   |-|                                   a leaf first
    #  render top    |----------|                       profile 20 + feed 20: saves 20 ms
    #  render main                |--------------------| profile 60 + feed 70: saves 60 ms
    # the root's own children never overlapped in the baseline: the root has no group
    def shape(parallel: bool, tid: str):
        def render(name: str, t0: float, a: float, b: float):
            kids = [
                call("GET profile", t0 + 1, a),
                call("GET feed", t0 + 1 + (0 if parallel else a + 1), b),
            ]
            return span(name, round(t0 * MS), max(k.end for k in kids) + MS, service="web",
                        children=kids)  # fmt: skip

        top = render("render top", 5, 20, 20)
        main = render("render main", top.end / MS + 1, 60, 70)
        return home(call("GET auth", 1, 2), top, main, tid=tid)

    base = build_baseline(analyze_trace(shape(True, f"b{n}")) for n in range(3))
    (f,) = Sequential().detect(analyze_trace(shape(False, "s")), base)
    assert f.operation == "render main"
    assert f.saving_ns == 60 * MS


def test_a_parent_with_too_many_operations_does_not_stop_the_search():
    # the root's first child has 41 operations under it (skipped), the second the pair
    def shape(parallel: bool, tid: str):
        batch = span("batch", 0, 90 * MS, service="web",
                     children=[call(f"GET op{k}", 1 + 2 * k, 1) for k in range(41)])  # fmt: skip
        pair = [call("GET profile", 101, 60), call("GET feed", 101 if parallel else 162, 70)]
        load = span("load", 100 * MS, 240 * MS, service="web", children=pair)
        return home(batch, load, tid=tid)

    base = build_baseline(analyze_trace(shape(True, f"b{n}")) for n in range(3))
    (f,) = Sequential().detect(analyze_trace(shape(False, "s")), base)
    assert f.operation == "load"


def test_an_operation_over_max_spans_sorted_first_does_not_stop_the_pairs_after_it():
    # GET aaa (101 calls) sorts before GET feed and GET profile, which the baseline overlapped
    aaa = [call("GET aaa", 200 + 0.5 * k, 0.25) for k in range(101)]
    t = home(call("GET profile", 5, 60), call("GET feed", 66, 70), *aaa)
    (f,) = Sequential().detect(analyze_trace(t), baseline_of(3, 0))
    assert f.evidence["operations"] == ["GET profile", "GET feed"]


def test_the_group_is_in_start_order_whatever_order_the_spans_arrive_in():
    # feed is listed first but starts after profile
    t = home(call("GET feed", 70, 60), call("GET profile", 5, 60))
    (f,) = Sequential().detect(analyze_trace(t), baseline_of(3, 0))
    assert f.evidence["operations"] == ["GET profile", "GET feed"]


def test_a_group_must_hold_critical_path_time_and_one_nanosecond_is_enough():
    base = baseline_of(3, 0)
    # a sibling ending last and starting before the group's parent ends: no path for the group
    group = span(
        "load",
        0,
        150 * MS,
        service="web",
        children=[call("GET profile", 5, 60), call("GET feed", 66, 70)],
    )
    other = span("other", MS, 200 * MS, service="web")
    t = trace(span("GET /home", 0, 200 * MS, kind=SpanKind.SERVER, service="web",
                   children=[group, other]))  # fmt: skip
    assert not sequential(t, base)
    # the group's parent lasts 1 ns: feed, clipped to it, holds that nanosecond
    x = 100 * MS
    group = span(
        "load",
        x,
        x + 1,
        service="web",
        children=[call("GET profile", 40, 60), call("GET feed", 100, 60)],
    )
    t = trace(span("GET /home", 0, x + 5 * MS, kind=SpanKind.SERVER, service="web",
                   children=[group]))  # fmt: skip
    (f,) = Sequential().detect(analyze_trace(t), base)
    assert f.evidence["on_path_ns"] == 1
    assert f.saving_ns == 1  # at most what it holds of the path


# --- the two helpers: overlap sweep and makespan -----------------------------------------------


@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 3)), min_size=1, max_size=7),
    st.integers(-1, 7),
)
@example([(0, 2), (1, 2)], -1)  # one operation overlapping itself
@example([(0, 2), (2, 2)], -1)  # back to back: no overlap
@example([(0, 10), (1, 2), (5, 1)], 2)  # b overlaps the longer of a's, not the later one
@example([(3, 0), (3, 2)], 1)  # no length, where the other starts
@example([(2, 3), (3, 0)], 1)  # no length, inside the other
def test_the_overlap_sweep_agrees_with_comparing_every_pair(intervals, split):
    # split -1: the spans against themselves; else the first `split` against the rest
    spans = tuple(
        Span(trace_id="t", span_id=f"{k}", parent_id=None, service="web", name="x",
             start_ns=s, end_ns=s + n)
        for k, (s, n) in enumerate(intervals)
    )  # fmt: skip
    idx = list(range(len(spans)))
    a, b = (idx, idx) if split < 0 else (idx[:split], idx[split:])  # (idx, idx): one list
    expected = any(
        i != j and spans[j].start_ns < spans[i].end_ns and spans[i].start_ns < spans[j].end_ns
        for i in a
        for j in b
    )
    assert _overlaps(SimpleNamespace(spans=spans), a, b) is expected  # type: ignore[arg-type]


def test_the_makespan_puts_each_call_on_the_lane_free_first_and_no_lanes_is_one():
    assert _makespan_ns([30, 10, 20, 40], 2) == 70  # 30 then 40 | 10 then 20
    assert _makespan_ns([30, 10, 20], 1) == 60
    assert _makespan_ns([30, 10, 20], 0) == 60
    assert _makespan_ns([30, 10, 20], 3) == 30
