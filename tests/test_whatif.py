"""What-if replay: drawn cases of each edit, the identity property, scale, the what-if p90, typical
(baseline-cost) edits and the exact bootstrap interval."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import cast

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline
from tracelens.graph import SYNTHETIC_ROOT_ID, SpanTree, build_tree
from tracelens.model import Edits, Finding, Trace
from tracelens.whatif import (
    REPLAY_ORIGIN,
    _drawn_ranks,
    _resampled_percentiles,
    edits_by_key,
    merged_edits,
    replay,
    replay_floor_ns,
    saving_bound_ns,
    typical_edits,
    whatif_duration_ns,
    whatif_interval,
    whatif_p90,
)


def times(t: Trace) -> dict[str, tuple[int, int]]:
    """span name -> (start, end) of a (rewritten) trace."""
    return {s.name: (s.start_ns, s.end_ns) for s in t.spans}


def test_removing_a_sequential_call_shortens_the_root_by_its_length():
    #  R |----------------------------------|  0..100
    #  A   |-----|                              10..30
    #  B              |--------|                35..60   <- removed (25 long)
    #  C                          |------|      65..90
    #  => C waits for A + the gaps: 40..65, R ends 75
    t = trace(
        span(
            "R",
            0,
            100,
            span_id="r",
            children=[
                span("A", 10, 30),
                span("B", 35, 60, span_id="b"),
                span("C", 65, 90),
            ],
        )
    )
    out = replay(build_tree(t), Edits(remove=frozenset({"b"})))
    assert times(out) == {"R": (0, 75), "A": (10, 30), "C": (40, 65)}
    assert whatif_duration_ns(analyze_trace(t), Edits(remove=frozenset({"b"}))) == 75


def test_making_sequential_siblings_parallel_leaves_the_longest():
    #  R |-----------------------------------------------|  0..60
    #  A           |----|                                   10..20
    #  B                |-----------|                       20..45
    #  C                            |----|                  45..55
    #  => all start at 10: A 10..20, B 10..35, C 10..20; R = 35 + 5 trailing = 40
    t = trace(
        span(
            "R",
            0,
            60,
            children=[
                span("A", 10, 20, span_id="a"),
                span("B", 20, 45, span_id="b"),
                span("C", 45, 55, span_id="c"),
            ],
        )
    )
    edits = Edits(parallel=frozenset({"a", "b", "c"}))
    assert times(replay(build_tree(t), edits)) == {
        "R": (0, 40),
        "A": (10, 20),
        "B": (10, 35),
        "C": (10, 20),
    }
    assert whatif_duration_ns(analyze_trace(t), edits) == 40


def test_a_sibling_after_a_parallel_group_waits_for_its_slowest_member():
    #  R |--------------------------------------------|  0..80
    #  A      |-------|                                  5..20   (parallel)
    #  B              |--------|                        20..35   (parallel)
    #  D                          |---------|           40..70   waited for B, gap 5
    #  => A 5..20, B 5..20, D starts 20 + 5 = 25 .. 55, R ends 55 + 10 = 65
    t = trace(
        span(
            "R",
            0,
            80,
            children=[
                span("A", 5, 20, span_id="a"),
                span("B", 20, 35, span_id="b"),
                span("D", 40, 70),
            ],
        )
    )
    out = replay(build_tree(t), Edits(parallel=frozenset({"a", "b"})))
    assert times(out) == {"R": (0, 65), "A": (5, 20), "B": (5, 20), "D": (25, 55)}


def test_a_retry_without_its_back_off_starts_where_the_failed_attempt_did():
    #  R |-----------------------------------------|  0..100
    #  A   |--failed--|                              5..35    <- removed
    #        back-off     ...........                35..60
    #  B                          |--ok--|           60..80   <- no wait
    #  => B starts at 5 (where A started): 5..25, R ends 25 + 20 trailing = 45
    t = trace(
        span(
            "R",
            0,
            100,
            children=[span("A", 5, 35, span_id="a"), span("B", 60, 80, span_id="b")],
        )
    )
    without_back_off = Edits(remove=frozenset({"a"}), no_wait=frozenset({"b"}))
    assert times(replay(build_tree(t), without_back_off)) == {"R": (0, 45), "B": (5, 25)}
    # removing the attempt alone keeps the 25 of back-off
    assert times(replay(build_tree(t), Edits(remove=frozenset({"a"})))) == {
        "R": (0, 70),
        "B": (30, 50),
    }


def test_a_slower_overlapping_sibling_keeps_the_path_when_one_call_is_removed():
    #  R |---------------------------------------|  0..100
    #  A    |------|                                10..30  <- removed
    #  D       |----------------------|             15..80  overlaps A, finishes later
    #  C                                 |----|     85..95  waited for D
    #  => nothing moves: D still decides when C starts, the root stays 100 long
    t = trace(
        span(
            "R",
            0,
            100,
            children=[
                span("A", 10, 30, span_id="a"),
                span("D", 15, 80),
                span("C", 85, 95),
            ],
        )
    )
    edits = Edits(remove=frozenset({"a"}))
    assert times(replay(build_tree(t), edits)) == {"R": (0, 100), "D": (15, 80), "C": (85, 95)}
    assert whatif_duration_ns(analyze_trace(t), edits) == 100


def test_a_new_duration_drops_the_subtree_and_moves_later_siblings():
    #  R |-----------------------------------|  0..100
    #  Q   |------------------|                 10..60   -> 20 long, its child dropped
    #  q      |--------|                        20..40
    #  N                        |------|        70..90   waited for Q, gap 10
    t = trace(
        span(
            "R",
            0,
            100,
            children=[
                span("Q", 10, 60, span_id="q", children=[span("q", 20, 40)]),
                span("N", 70, 90),
            ],
        )
    )
    out = replay(build_tree(t), Edits(duration_ns={"q": 20}))
    assert times(out) == {"R": (0, 70), "Q": (10, 30), "N": (40, 60)}  # trailing 10 kept


def test_a_new_head_gap_moves_the_children_and_the_end_of_the_span():
    #  R |-------------------------------------------|  0..100
    #  CL     |------------------------------|          10..80  waits 50 before its child
    #  SV                            |------|           60..75
    #  => head gap 5: SV 15..30, CL ends 30 + 5 = 35, R ends 35 + 20 = 55
    t = trace(
        span(
            "R",
            0,
            100,
            children=[
                span("CL", 10, 80, span_id="cl", children=[span("SV", 60, 75)]),
            ],
        )
    )
    out = replay(build_tree(t), Edits(head_gap_ns={"cl": 5}))
    assert times(out) == {"R": (0, 55), "CL": (10, 35), "SV": (15, 30)}


def test_gap_scale_scales_every_self_time_gap_of_the_span():
    #  R |----------|----|----------|----|----------|  0..60: self 10, A, self 20, B, self 10
    #  A            |----|                             10..20
    #  B                            |----|             40..50
    #  => halved: A 5..15, B 25..35, R ends 40
    t = trace(span("R", 0, 60, span_id="r", children=[span("A", 10, 20), span("B", 40, 50)]))
    out = replay(build_tree(t), Edits(gap_scale={"r": 0.5}))
    assert times(out) == {"R": (0, 40), "A": (5, 15), "B": (25, 35)}


def test_a_child_overlapping_its_first_sibling_keeps_its_offset_from_it():
    #  R |---------------------------------|  0..100
    #  A      |------------|                  20..50
    #  B           |---------------|          30..70   waited for no sibling: 10 after A starts
    #  => head gap 0: A 0..30, B 10..50, R 50 + 30 = 80
    t = trace(span("R", 0, 100, span_id="r", children=[span("A", 20, 50), span("B", 30, 70)]))
    out = replay(build_tree(t), Edits(head_gap_ns={"r": 0}))
    assert times(out) == {"R": (0, 80), "A": (0, 30), "B": (10, 50)}


def test_removing_the_root_leaves_an_empty_trace_of_zero_duration():
    t = trace(span("R", 0, 100, span_id="r", children=[span("A", 10, 20)]))
    assert replay(build_tree(t), Edits(remove=frozenset({"r"}))).spans == ()
    assert whatif_duration_ns(analyze_trace(t), Edits(remove=frozenset({"r"}))) == 0


def test_a_synthetic_root_is_left_for_build_tree_to_make_again():
    #  two roots: P 0..50 and Q 60..100 under a synthetic "(trace)" root; Q's A is removed
    p = span("P", 0, 50)
    q = span("Q", 60, 100, children=[span("A", 70, 90, span_id="a")])
    t = Trace("t1", (*trace(p, trace_id="t1").spans, *trace(q, trace_id="t1").spans))
    tree = build_tree(t)
    assert tree.root_span.span_id == SYNTHETIC_ROOT_ID
    out = replay(tree, Edits(remove=frozenset({"a"})))
    assert all(s.span_id != SYNTHETIC_ROOT_ID for s in out.spans)
    assert times(out) == {"P": (0, 50), "Q": (60, 80)}
    assert whatif_duration_ns(analyze_trace(t), Edits(remove=frozenset({"a"}))) == 80


@st.composite
def random_traces(draw: st.DrawFn) -> Trace:
    """Trees of up to 30 spans; children may overlap, touch, or overflow their parent."""
    n = draw(st.integers(1, 30))
    bounds = [(0, draw(st.integers(0, 1000)))]
    parents = [-1]
    for i in range(1, n):
        p = draw(st.integers(0, i - 1))
        lo, hi = bounds[p]
        start = draw(st.integers(lo - 5, hi + 5))
        bounds.append((start, start + draw(st.integers(0, max(1, hi - lo + 5)))))
        parents.append(p)
    ids = [f"{i + 1:016x}" for i in range(n)]
    from tracelens.model import Span

    return Trace(
        "t",
        tuple(
            Span(
                "t",
                ids[i],
                ids[parents[i]] if parents[i] >= 0 else None,
                "svc",
                f"s{i}",
                start_ns=s,
                end_ns=e,
                process="p",
            )
            for i, (s, e) in enumerate(bounds)
        ),
    )


@settings(max_examples=150, deadline=None)
@given(random_traces())
def test_empty_edits_reproduce_every_span_exactly(t: Trace) -> None:
    tree = build_tree(t)
    out = replay(tree, Edits())
    expected = {
        s.span_id: (s.start_ns, s.end_ns) for s in tree.spans if s.span_id != SYNTHETIC_ROOT_ID
    }
    assert {s.span_id: (s.start_ns, s.end_ns) for s in out.spans} == expected


@settings(max_examples=60, deadline=None)
@given(random_traces(), st.data())
def test_removing_spans_never_lengthens_the_trace(t: Trace, data: st.DataObject) -> None:
    analysis = analyze_trace(t)
    ids = [s.span_id for s in analysis.tree.spans if s.span_id != analysis.tree.root_span.span_id]
    gone = data.draw(st.sets(st.sampled_from(ids))) if ids else set()
    assert whatif_duration_ns(analysis, Edits(remove=frozenset(gone))) <= analysis.duration_ns


@settings(max_examples=300, deadline=None)
@given(random_traces(), st.data())
def test_shortening_edits_save_at_most_their_bound_and_never_lengthen_the_trace(
    t: Trace, data: st.DataObject
) -> None:
    # The bound lets the pipeline skip replays (whatif.replay_floor_ns): a trace it understates
    # would be priced wrong, one that a shortening edit lengthens would be skipped wrongly.
    analysis = analyze_trace(t)
    tree = analysis.tree
    ids = [s.span_id for s in tree.spans if s.span_id != SYNTHETIC_ROOT_ID]
    pick = st.sets(st.sampled_from(ids), max_size=6)
    cut = {
        i: data.draw(st.integers(0, tree.span(i).end_ns - tree.span(i).start_ns))
        for i in data.draw(pick)
    }
    scaled = {i: data.draw(st.floats(0, 1)) for i in data.draw(pick)}
    edits = Edits(remove=frozenset(data.draw(pick)), duration_ns=cut, gap_scale=scaled)
    bound = saving_bound_ns(tree, edits)
    assert bound is not None
    new = whatif_duration_ns(analysis, edits)
    assert analysis.duration_ns - bound <= new <= analysis.duration_ns


def test_edits_that_may_lengthen_or_reorder_a_trace_have_no_saving_bound():
    tree = build_tree(
        trace(span("R", 1000, 1100, span_id="r", children=[span("A", 1010, 1030, span_id="a")]))
    )
    assert saving_bound_ns(tree, Edits(duration_ns={"a": 21})) is None  # longer than it was
    assert saving_bound_ns(tree, Edits(gap_scale={"r": 1.5})) is None
    assert saving_bound_ns(tree, Edits(parallel=frozenset({"a"}))) is None
    assert saving_bound_ns(tree, Edits(no_wait=frozenset({"a"}))) is None
    assert saving_bound_ns(tree, Edits(head_gap_ns={"r": 0})) is None
    assert saving_bound_ns(tree, Edits(parallel_width={"a": 2})) is None
    # removed 20 + cut by 5 + a quarter of the root's 100 (its self time can shrink no more)
    both = Edits(remove=frozenset({"a"}), duration_ns={"a": 15}, gap_scale={"r": 0.75})
    assert saving_bound_ns(tree, both) == 20 + 5 + 25
    assert saving_bound_ns(tree, Edits(remove=frozenset({"not-in-trace"}))) == 0
    assert saving_bound_ns(tree, Edits(gap_scale={"r": 1.0})) == 0  # unscaled: saves nothing


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=60),
    st.data(),
)
def test_traces_at_or_below_the_replay_floor_leave_the_whatif_and_its_interval_unchanged(
    drawn: list[tuple[int, int]], data: st.DataObject
) -> None:
    durations = {f"t{i}": d for i, (d, _) in enumerate(drawn)}
    savings = {f"t{i}": min(s, d) for i, (d, s) in enumerate(drawn)}
    # each fixed duration anywhere its bound allows
    fixed = {t: data.draw(st.integers(d - savings[t], d)) for t, d in durations.items()}
    seed, resamples = data.draw(st.integers(0, 5)), 200
    floor = replay_floor_ns(durations, savings, seed=seed, resamples=resamples)
    replayed = {t: v for t, v in fixed.items() if durations[t] > floor}
    assert whatif_p90(durations, replayed) == whatif_p90(durations, fixed)
    full = whatif_interval(durations, fixed, seed=seed, resamples=resamples)
    assert whatif_interval(durations, replayed, seed=seed, resamples=resamples) == full


def test_the_replay_floor_sits_below_every_rank_a_resample_draws():
    # 1,000 traces of 1..1000 ms, no fix saving anything: the floor is the duration at the
    # lowest rank any of the 2,000 resamples reaches, some way below the p90's rank of 899.
    durations = {f"t{i}": i + 1 for i in range(1000)}
    floor = replay_floor_ns(durations, {}, seed=0, resamples=2000)
    assert 800 < floor < 899
    # a fix that may save 1,000 in every trace bounds nothing: every trace is replayed
    everything = dict.fromkeys(durations, 1000)
    assert replay_floor_ns(durations, everything, seed=0, resamples=2000) <= 0
    assert replay_floor_ns({}, {}, seed=0, resamples=10) == -math.inf


def test_the_replay_floor_is_the_lower_of_the_percentiles_rank_and_the_seeded_draws():
    durations = {f"t{i}": i for i in range(100)}  # the duration at rank r is r
    for seed in range(40):
        drawn = _drawn_ranks(100, 90, 1, np.random.default_rng(seed))[0][0]
        # one resample: the floor is the duration at the lower of p90's rank (89) and its draw
        assert replay_floor_ns(durations, {}, seed=seed, resamples=1) == min(89, drawn)
    # and the floor is made of the same draws as the interval's, by the seed
    many = {f"t{i}": i for i in range(100_000)}
    lowest = int(_drawn_ranks(100_000, 90, 3, np.random.default_rng(7))[0].min())
    assert replay_floor_ns(many, {}, seed=7, resamples=3) == lowest


def test_a_ten_thousand_deep_chain_replays_without_recursion():
    from tracelens.model import Span

    n = 10_000
    spans = tuple(
        Span(
            "t",
            f"{i + 1:016x}",
            f"{i:016x}" if i else None,
            "svc",
            "op",
            start_ns=i,
            end_ns=2 * n - i,
            process="p",
        )
        for i in range(n)
    )
    tree = build_tree(Trace("t", spans))
    out = replay(tree, Edits(gap_scale={f"{n:016x}": 0.0}))  # the innermost span becomes 0 long
    assert max(s.end_ns for s in out.spans) == 2 * n - 2


def test_a_hundred_traces_of_a_hundred_calls_made_parallel_end_with_their_slowest():
    trees = []
    for k in range(100):
        calls = [span("db", 10 + 20 * i, 25 + 20 * i, span_id=f"{k:08x}{i:08x}") for i in range(99)]
        trees.append(build_tree(trace(span("R", 0, 2000, children=calls), trace_id=f"{k:032x}")))
    edits = [Edits(parallel=frozenset(s.span_id for s in tr.spans[1:])) for tr in trees]
    out = [replay(tr, e) for tr, e in zip(trees, edits, strict=True)]  # speed: bench/speed.py
    # all 99 calls start at 10 and last 15; the root's trailing self time (2000 - 1985) follows
    assert {max(s.end_ns for s in o.spans) for o in out} == {10 + 15 + (2000 - 1985)}


def test_the_whatif_p90_replaces_only_the_rewritten_traces():
    durations = {f"t{i}": 100 * i for i in range(1, 11)}  # 100 .. 1000: p90 = 910
    assert whatif_p90(durations, {}) == 910.0
    # 1000 -> 100: sorted 100,100,200..900 -> p90 between 800 and 900
    assert whatif_p90(durations, {"t10": 100}) == 810.0
    assert whatif_p90(durations, {"t10": 100}, q=50) == 450.0


def test_a_patterns_fix_is_replayed_in_each_trace_it_edits_and_priced_over_the_route():
    # ten traces: two slow ones have 4 sequential db calls of 100 under a 500 long root; as
    # stages.whatif_of does, each trace's edits of the key are replayed, then the route's p90
    analyses = []
    findings = []
    for k in range(10):
        tid = f"{k:032x}"
        if k < 2:
            calls = [span("db", 50 + 100 * i, 150 + 100 * i, span_id=f"{k}c{i}") for i in range(4)]
            analyses.append(analyze_trace(trace(span("R", 0, 500, children=calls), trace_id=tid)))
            findings.append(
                Finding(
                    "n_plus_one",
                    tid,
                    "svc",
                    "db",
                    tuple(f"{k}c{i}" for i in range(4)),
                    "4 db calls",
                    edits=Edits(parallel=frozenset(f"{k}c{i}" for i in range(4))),
                )
            )
        else:
            analyses.append(analyze_trace(trace(span("R", 0, 100 + 10 * k), trace_id=tid)))
    by_id = {a.trace.trace_id: a for a in analyses}
    edits = merged_edits(edits_by_key(findings, by_id), [("n_plus_one", "svc", "db")])
    rewritten = {t: whatif_duration_ns(by_id[t], e) for t, e in edits.items()}
    assert rewritten == {f"{0:032x}": 200, f"{1:032x}": 200}  # 50 + 100 + 50
    durations = {t: a.duration_ns for t, a in by_id.items()}
    # durations 120..190, 200, 200 -> p90 = 200
    assert whatif_p90(durations, rewritten) == 200.0


def test_a_weighted_whatif_p90_counts_each_trace_as_the_requests_it_stands_for():
    # inverted CDF: 100 (1 request), 200 (1), 1000 (8): the 90th percentile is the 1000 one
    durations = {"a": 100, "b": 200, "c": 1000}
    weights = {"a": 1.0, "b": 1.0, "c": 8.0}
    assert whatif_p90(durations, {}, weights=weights) == 1000.0
    # fixed, c is 150: 100 (1), 150 (8), 200 (1) -> the 90th percentile is 150
    assert whatif_p90(durations, {"c": 150}, weights=weights) == 150.0
    # a trace without a weight stands for one request
    assert whatif_p90(durations, {"c": 150}, weights={"c": 8.0}) == 150.0
    assert whatif_p90(durations, {"c": 150}, weights={"a": 20.0}) == 100.0  # 20 of 22 requests
    assert math.isnan(whatif_p90({}, {}))


def test_edits_are_merged_per_trace_across_causes_and_findings_of_other_traces_left_out():
    a = Finding("n_plus_one", "t1", "svc", "db", ("x",), "", edits=Edits(remove=frozenset({"x"})))
    b = Finding("n_plus_one", "t1", "svc", "db", ("y",), "", edits=Edits(remove=frozenset({"y"})))
    c = Finding("dns", "t1", "svc", "lookup", ("z",), "", edits=Edits(duration_ns={"z": 5}))
    elsewhere = Finding("dns", "t9", "svc", "lookup", ("w",), "", edits=Edits(duration_ns={"w": 1}))
    nothing = Finding("error", "t1", "svc", "GET", ("v",), "")  # no edits: its fix is not modelled
    edits_of = edits_by_key([elsewhere, nothing, a, b, c], {"t1"})  # skipped ones first
    assert set(edits_of) == {("n_plus_one", "svc", "db"), ("dns", "svc", "lookup")}
    assert edits_of[("n_plus_one", "svc", "db")]["t1"].remove == {"x", "y"}
    both = merged_edits(edits_of, [("n_plus_one", "svc", "db"), ("dns", "svc", "lookup")])
    assert set(both) == {"t1"}
    assert (both["t1"].remove, dict(both["t1"].duration_ns)) == ({"x", "y"}, {"z": 5})
    assert merged_edits(edits_of, [("error", "svc", "GET")]) == {}


def test_only_a_head_gap_or_only_a_gap_scale_is_an_edit_too():
    #  R |--10--|A 10..40|--30--|   (R 0..70)
    analysis = analyze_trace(trace(span("R", 0, 70, span_id="r", children=[span("A", 10, 40)])))
    assert whatif_duration_ns(analysis, Edits(head_gap_ns={"r": 0})) == 60
    assert whatif_duration_ns(analysis, Edits(gap_scale={"r": 0.0})) == 30


def test_a_child_ending_with_its_parent_still_decides_the_parents_end():
    #  R |----------------|  0..100
    #  A      |-----------|  20..100, ends with R: shortened to 10, R ends at 30
    t = trace(span("R", 0, 100, children=[span("A", 20, 100, span_id="a")]))
    out = replay(build_tree(t), Edits(duration_ns={"a": 10}))
    assert max(s.end_ns for s in out.spans) == 30


def test_a_sibling_that_touches_the_previous_one_waited_for_it():
    #  A 10..40, B 40..70 (starts the instant A ends): without A, B starts at 10
    t = trace(span("R", 0, 100, children=[span("A", 10, 40, span_id="a"), span("B", 40, 70)]))
    out = replay(build_tree(t), Edits(remove=frozenset({"a"})))
    (b,) = [s for s in out.spans if s.name == "B"]
    assert (b.start_ns, b.end_ns) == (10, 40)


def test_a_later_call_waits_for_the_latest_new_end_among_what_it_waited_for():
    #  A 10..30 and B 15..40 both end before C 50..60 starts; B shortened to 1 ends at 16, so
    #  C waits for A (new end 30), then its gap of 10 after B's original end: starts at 40
    t = trace(span("R", 0, 100, children=[
        span("A", 10, 30), span("B", 15, 40, span_id="b"), span("C", 50, 60),
    ]))  # fmt: skip
    out = replay(build_tree(t), Edits(duration_ns={"b": 1}))
    (c,) = [s for s in out.spans if s.name == "C"]
    assert (c.start_ns, c.end_ns) == (40, 50)


def test_scaling_self_time_leaves_overlaps_alone_and_scales_a_gap_of_one():
    #  R 10..100; A 5..50 starts before R (a negative head gap: not self time), B 40..60 runs
    #  alongside A, C 61..70 follows B after a gap of 1; R's gaps scaled to 0, then doubled
    t = trace(span("R", 10, 100, span_id="r", children=[
        span("A", 5, 50), span("B", 40, 60), span("C", 61, 70),
    ]))  # fmt: skip
    tree = build_tree(t)

    def placed(scale: float) -> dict[str, tuple[int, int]]:
        out = replay(tree, Edits(gap_scale={"r": scale}))
        return {s.name: (s.start_ns, s.end_ns) for s in out.spans}

    assert placed(0.0) == {"R": (10, 69), "A": (5, 50), "B": (40, 60), "C": (60, 69)}
    assert placed(2.0) == {"R": (10, 131), "A": (5, 50), "B": (40, 60), "C": (62, 71)}


def test_replaying_a_tree_with_no_spans_gives_an_empty_replayed_trace():
    empty = SpanTree("t", (), {}, (), (), -1, (), ())
    assert replay(empty, Edits()) == Trace("t", (), origin=REPLAY_ORIGIN)


def test_a_replayed_trace_keeps_its_id_and_says_it_was_replayed():
    t = trace(span("R", 0, 100, children=[span("A", 10, 40)]), trace_id="ab" * 16)
    out = replay(build_tree(t), Edits())
    assert (out.trace_id, out.origin) == ("ab" * 16, REPLAY_ORIGIN)


def test_a_parallel_group_starts_where_its_own_first_member_started():
    #  A 0..10 (not in the group), then B 20..30 and C 31..41 made parallel: both start at 20
    t = trace(span("R", 0, 50, children=[
        span("A", 0, 10), span("B", 20, 30, span_id="b"), span("C", 31, 41, span_id="c"),
    ]))  # fmt: skip
    out = replay(build_tree(t), Edits(parallel=frozenset({"b", "c"})))
    placed = {s.name: (s.start_ns, s.end_ns) for s in out.spans}
    assert (placed["B"], placed["C"]) == ((20, 30), (20, 30))


def test_only_the_synthetic_root_is_left_out_not_a_span_of_a_service_named_like_it():
    t = trace(span("R", 0, 100, children=[span("odd", 10, 40, service="(trace)")]))
    out = replay(build_tree(t), Edits())
    assert [s.name for s in out.spans] == ["R", "odd"]


def test_the_whatif_interval_is_the_bootstrap_of_the_fixed_route_p90():
    rng = np.random.default_rng(4)
    durations = {f"t{i}": int(x) for i, x in enumerate(rng.lognormal(20, 0.6, 300))}
    fixed = {t: d // 3 for t, d in list(durations.items())[:120]}
    low, high = whatif_interval(durations, fixed, seed=1, resamples=20_000)
    # the same bootstrap, done the slow way: resamples built and their p90 taken
    values = np.array([fixed.get(t, d) for t, d in durations.items()], dtype=np.float64)
    drawn = [np.percentile(values[rng.integers(0, 300, 300)], 90) for _ in range(20_000)]
    want_low, want_high = np.percentile(drawn, [2.5, 97.5])
    spread = want_high - want_low
    assert abs(low - want_low) < 0.06 * spread  # about one gap between order statistics
    assert abs(high - want_high) < 0.06 * spread
    assert low < whatif_p90(durations, fixed) < high
    # a 90% interval is narrower: the level is honoured
    low90, high90 = whatif_interval(durations, fixed, seed=1, resamples=20_000, level=0.9)
    assert low < low90 < high90 < high


def test_a_parallel_group_of_width_two_runs_two_at_a_time_each_next_when_the_first_ends():
    #  R |--5--|A 5..15|B 15..35 (b1 17..33)|C 35..45|D 45..50|--10--|   (R 0..60)
    #  at most 2 at once: A 5..15 and B 5..25 (b1 7..23) start together; C takes A's lane
    #  when A ends (15..25), D the next lane to free (25..30); R ends 30 + 10 trailing
    t = trace(span("R", 0, 60, children=[
        span("A", 5, 15, span_id="a"),
        span("B", 15, 35, span_id="b", children=[span("b1", 17, 33)]),
        span("C", 35, 45, span_id="c"),
        span("D", 45, 50, span_id="d"),
    ]))  # fmt: skip
    tree = build_tree(t)
    group = frozenset("abcd")

    def placed(width: int) -> dict[str, tuple[int, int]]:
        return times(
            replay(tree, Edits(parallel=group, parallel_width=dict.fromkeys(group, width)))
        )

    assert placed(2) == {
        "R": (0, 40), "A": (5, 15), "B": (5, 25), "b1": (7, 23), "C": (15, 25), "D": (25, 30),
    }  # fmt: skip
    # width 1: one at a time, as they ran; width 0: no cap, all start at 5
    assert placed(1) == times(t)
    assert placed(0) == {
        "R": (0, 35), "A": (5, 15), "B": (5, 25), "b1": (7, 23), "C": (5, 15), "D": (5, 10),
    }  # fmt: skip


def test_a_no_wait_span_starts_as_its_predecessor_ends_and_a_first_child_keeps_its_head_gap():
    #  R 0..100: A 10..30, then B 50..70 after a wait of 20; B with no_wait starts at 30,
    #  and A with no_wait waited for no sibling: it keeps its head gap of 10
    t = trace(
        span("R", 0, 100, children=[span("A", 10, 30, span_id="a"), span("B", 50, 70, span_id="b")])
    )
    tree = build_tree(t)
    assert times(replay(tree, Edits(no_wait=frozenset({"b"})))) == {
        "R": (0, 80), "A": (10, 30), "B": (30, 50),
    }  # fmt: skip
    assert times(replay(tree, Edits(no_wait=frozenset({"a"})))) == times(t)


def _plain_trace() -> Trace:
    #  R 0..300 (svc): three leaf "load" calls of 40, 25 and 10; "load" of another service and
    #  "save" of svc, both 40 long; "work" 200..290 with one child of 10: self time 80, and
    #  "work" 290..300 with a child of 3: self time 7
    return trace(span("R", 0, 300, children=[
        span("load", 10, 50, span_id="a"),
        span("load", 60, 85, span_id="b"),
        span("load", 90, 100, span_id="c"),
        span("load", 100, 140, service="other"),
        span("save", 140, 180),
        span("work", 200, 290, span_id="w", children=[span("step", 210, 220)]),
        span("work", 290, 300, span_id="v", children=[span("step", 292, 295)]),
    ]))  # fmt: skip


def test_typical_edits_give_each_longer_leaf_call_the_baseline_median_whole_nanoseconds():
    analysis = analyze_trace(_plain_trace())
    key = ("(self)", "svc", "load")  # the pattern part of the key is not read
    # the median 25: only the call of 40 is longer; the call of exactly 25 stays as it is
    assert typical_edits(analysis, key, Baseline(duration_ns={("svc", "load"): 25.0})) == Edits(
        duration_ns={"a": 25}
    )
    got = typical_edits(analysis, key, Baseline(duration_ns={("svc", "load"): 24.7}))
    assert got == Edits(duration_ns={"a": 24, "b": 24})
    assert all(type(d) is int for d in got.duration_ns.values())


def test_typical_edits_remove_the_leaf_calls_of_an_operation_the_baseline_never_ran():
    analysis = analyze_trace(_plain_trace())
    other = Baseline(duration_ns={("svc", "save"): 1.0})
    assert typical_edits(analysis, ("x", "svc", "load"), other) == Edits(
        remove=frozenset({"a", "b", "c"})
    )


def test_typical_edits_scale_a_parents_self_time_to_the_baseline_median_self_time():
    analysis = analyze_trace(_plain_trace())
    key = ("x", "svc", "work")
    # self time 80 against a median of 20: scaled by a quarter, its child left alone; the
    # other, 7, is below the median
    assert typical_edits(analysis, key, Baseline(self_ns={("svc", "work"): 20.0})) == Edits(
        gap_scale={"w": 0.25}
    )
    # no slower than the baseline (80 is not above 80 or 90): nothing to edit
    for median in (80.0, 90.0):
        assert typical_edits(analysis, key, Baseline(self_ns={("svc", "work"): median})) == Edits()
    # a baseline that never ran it: the self time of both goes
    assert typical_edits(analysis, key, Baseline()) == Edits(gap_scale={"w": 0.0, "v": 0.0})


def _exact_bootstrap(values: list[float], q: float) -> dict[float, float]:
    """Each value of the q-th percentile of a resample -> its probability, over every resample."""
    counts = Counter(
        round(float(np.percentile(r, q)), 6) for r in itertools.product(values, repeat=len(values))
    )
    total = len(values) ** len(values)
    return {v: c / total for v, c in counts.items()}


def test_resampled_percentiles_draw_the_exact_bootstrap_distribution():
    # every resample of 2, 3 and 4 values enumerated: the Beta draws give each percentile value
    # its exact probability, at the ends (q 0 and 100) and between order statistics (q 90)
    rng = np.random.default_rng(7)
    for values in ([1.0, 10.0], [1.0, 10.0, 100.0], [1.0, 3.0, 10.0, 100.0]):
        for q in (0, 50, 90, 100):
            drawn = _resampled_percentiles(np.array(values), q, 100_000, rng)
            seen = Counter(round(float(x), 6) for x in drawn)
            want = _exact_bootstrap(values, q)
            assert set(seen) <= set(want), (values, q)
            for v, p in want.items():
                assert abs(seen[v] / 100_000 - p) < 0.01, (values, q, v)


def test_resampled_percentiles_of_one_value_are_that_value():
    drawn = _resampled_percentiles(np.array([5.0]), 90, 10, np.random.default_rng(0))
    assert drawn.tolist() == [5.0] * 10


def test_a_beta_draw_rounded_up_to_one_still_picks_the_largest_value():
    class Ones:  # a Beta draw of exactly 1.0: the float rounding of one just below it
        def beta(self, a: float, b: float, size: int) -> np.ndarray:
            return np.ones(size)

    ordered = np.array([1.0, 2.0, 3.0])
    drawn = _resampled_percentiles(ordered, 50, 4, cast(np.random.Generator, Ones()))
    assert drawn.tolist() == [3.0] * 4


def test_the_whatif_interval_takes_the_tails_of_the_seeded_resampled_percentiles():
    # 60 distinct durations, not in order: the resampled percentiles take many values
    durations = {f"t{i}": (37 * i) % 61 + 1 for i in range(60)}
    fixed = {"t5": 500}
    ordered = np.sort(np.array([fixed.get(t, d) for t, d in durations.items()], np.float64))

    def want(q: float, level: float) -> tuple[float, float]:
        drawn = _resampled_percentiles(ordered, q, 500, np.random.default_rng(3))
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(drawn, [tail, 100 - tail])
        return float(low), float(high)

    assert whatif_interval(durations, fixed, seed=3, resamples=500) == want(90, 0.95)
    assert whatif_interval(durations, fixed, seed=3, resamples=500, q=50, level=0.8) == want(
        50, 0.8
    )
    assert whatif_interval(durations, fixed, seed=4, resamples=500) != want(90, 0.95)


def test_a_weighted_whatif_interval_resamples_traces_and_weighs_each_as_its_requests():
    # 40 traces of 10 .. 400; the 10 fastest stand for 5 requests each, the rest (no weight
    # given) for 1: the weighted p75 is far lower than the plain one
    durations = {f"t{i}": 10 * (i + 1) for i in range(40)}
    fixed = {"t39": 5}
    weights = {f"t{i}": 5.0 for i in range(10)}
    values = np.array([fixed.get(t, d) for t, d in durations.items()], np.float64)
    w = np.array([5.0] * 10 + [1.0] * 30)
    rng = np.random.default_rng(2)
    rows = [rng.integers(0, 40, 40) for _ in range(200)]
    drawn = [np.percentile(values[r], 75, weights=w[r], method="inverted_cdf") for r in rows]
    want = tuple(float(x) for x in np.percentile(drawn, [5, 95]))
    got = whatif_interval(durations, fixed, seed=2, resamples=200, q=75, weights=weights, level=0.9)
    assert got == want
    unweighted = whatif_interval(durations, fixed, seed=2, resamples=200, q=75, level=0.9)
    assert got[0] < unweighted[0]
    assert got[1] < unweighted[1]


def test_the_whatif_interval_of_no_requests_is_nan_and_of_one_is_its_duration():
    low, high = whatif_interval({}, {}, seed=0, resamples=10)
    assert math.isnan(low)
    assert math.isnan(high)
    assert whatif_interval({"t": 7}, {}, seed=0, resamples=10) == (7.0, 7.0)
    assert whatif_interval({"t": 7}, {"t": 3}, seed=0, resamples=10, weights={}) == (3.0, 3.0)
