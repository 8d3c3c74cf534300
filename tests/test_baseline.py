"""build_baseline: per-operation medians, calls per trace, self time, head gaps, sibling overlap."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import TraceAnalysis, analyze_trace
from tracelens.baseline import NO_CHILD, Baseline, build_baseline, head_gaps_ns, self_times_ns

ROOT = ("svc", "root")
A = ("svc", "A")
B = ("svc", "B")


def sample(a_end: int, b_start: int, tid: str):
    #  root |------------------------------|  0..100
    #  A      |--------|                      10..a_end
    #  B             |-----------|            b_start..b_start+30
    return trace(
        span("root", 0, 100, children=[span("A", 10, a_end), span("B", b_start, b_start + 30)]),
        trace_id=tid,
    )


def test_self_time_is_duration_minus_the_union_of_children():
    tree = analyze_trace(sample(40, 30, "1")).tree
    selfs = self_times_ns(tree)
    # union of A 10..40 and B 30..60 is 10..60: root's own time is 50
    assert selfs[tree.index[tree.root_span.span_id]] == 50
    heads = head_gaps_ns(tree)
    assert heads[tree.root] == 10
    assert sorted(h for h in heads if h == NO_CHILD) == [NO_CHILD, NO_CHILD]


def test_medians_and_counts_over_the_baseline_traces():
    traces = [sample(40, 30, "1"), sample(20, 50, "2"), sample(60, 40, "3")]
    base = build_baseline(analyze_trace(t) for t in traces)
    assert base.traces == 3
    assert base.duration_ns[A] == 30  # A lasted 30, 10, 50
    assert base.calls_per_trace[B] == 1.0
    assert base.head_gap_ns[ROOT] == 10
    assert base.self_ns[ROOT] == 50  # own time 50, 60 (A 10..20, B 50..80), 40


def test_overlap_share_counts_traces_where_siblings_ran_together():
    # A and B overlap in traces 1 and 3, not in trace 2
    traces = [sample(40, 30, "1"), sample(20, 50, "2"), sample(60, 40, "3")]
    base = build_baseline(analyze_trace(t) for t in traces)
    assert base.overlap_share(A, B) == base.overlap_share(B, A) == 2 / 3
    assert base.overlap_share(A, ROOT) is None  # never siblings


def test_a_repeated_operation_overlapping_itself_is_a_pair_with_itself():
    #  root |----------------|
    #  A      |-----|
    #  A         |-----|
    t = trace(span("root", 0, 100, children=[span("A", 10, 50), span("A", 30, 70)]))
    base = build_baseline([analyze_trace(t)])
    assert base.overlap_share(A, A) == 1.0


def test_no_baseline_traces_give_an_empty_profile():
    assert build_baseline([]) == Baseline()


def overlapping_calls(traces: int) -> list[TraceAnalysis]:
    """Traces of ten calls, each overlapping the next (also bench/speed.py's baseline input)."""
    ops = [f"op{i}" for i in range(10)]
    return [
        analyze_trace(
            trace(
                span(
                    "root",
                    0,
                    1000,
                    children=[span(ops[j], j * 50, j * 50 + 80 + (n % 7)) for j in range(10)],
                ),
                trace_id=f"{n:032x}",
            )
        )
        for n in range(traces)
    ]


def test_five_thousand_traces_are_all_counted():
    analyses = overlapping_calls(5000)
    base = build_baseline(analyses)  # its speed: bench/speed.py
    assert base.traces == 5000
    assert base.overlap_share(("svc", "op1"), ("svc", "op2")) == 1.0
