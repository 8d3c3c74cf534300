"""Attribution: claims, exact sums, ranking, the calls split and the bootstrap interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import SpanSpec, span, trace
from tracelens.analysis import TraceAnalysis, analyze_trace
from tracelens.attribution import (
    attribute,
    baseline_weights,
    bootstrap_excess,
    bootstrap_means,
    build_claims,
    dense_times,
    interval_includes_zero,
    note,
    path_times,
    rank,
    split_excess,
    too_small,
    trace_contributions,
)
from tracelens.model import ClaimPart, Contributor, Finding, Segment, Span, Trace


def analysed(root: SpanSpec, trace_id: str, *findings: Finding) -> TraceAnalysis:
    return replace(analyze_trace(trace(root, trace_id=trace_id)), findings=findings)


def n_plus_one(trace_id: str, span_ids: list[str], summary: str = "N db calls") -> Finding:
    return Finding("n_plus_one", trace_id, "api", "db", tuple(span_ids), summary)


def slow_trace(k: int, calls: int = 4) -> TraceAnalysis:
    #  R |--|db|db|db|db|------|   0..100 + 20 * calls: db calls of 20 one after another
    ids = [f"s{k}c{i}" for i in range(calls)]
    root = span(
        "R",
        0,
        100 + 20 * calls,
        service="api",
        children=[
            span("db", 50 + 20 * i, 70 + 20 * i, service="api", span_id=sid)
            for i, sid in enumerate(ids)
        ],
    )
    return analysed(root, f"{k:032x}", n_plus_one(f"{k:032x}", ids))


def base_trace(k: int) -> TraceAnalysis:
    #  R |-----|db|------|        0..120: the same call, once, no finding here
    root = span("R", 0, 120, service="api", children=[span("db", 50, 70, service="api")])
    return analysed(root, f"b{k:031x}")


def by_key(contributors: Sequence[Contributor]) -> dict[tuple[str, str, str], Contributor]:
    return {(c.pattern, c.service, c.operation): c for c in contributors}


def test_a_finding_claims_the_same_operation_in_baseline_traces_too():
    slow = [slow_trace(k) for k in range(3)]
    base = [base_trace(k) for k in range(3)]
    got = by_key(attribute(slow, base, resamples=50))
    n1 = got[("n_plus_one", "api", "db")]
    # slow: 4 calls x 20 on the path; baseline: 1 call x 20, claimed by the same key
    assert (n1.slow_ns, n1.baseline_ns, n1.excess_ns) == (80.0, 20.0, 60.0)
    assert (n1.slow_calls, n1.baseline_calls) == (4.0, 1.0)
    assert (n1.more_calls_ns, n1.slower_calls_ns) == (60.0, 0.0)
    assert n1.summary == "N db calls"
    assert ("", "api", "db") not in got  # no db time is left to the plain operation
    root = got[("", "api", "R")]
    assert (root.slow_ns, root.baseline_ns, root.excess_ns) == (100.0, 100.0, 0.0)
    assert n1.share == 1.0
    assert n1.rank == 1


def test_a_head_claim_takes_only_the_time_before_the_first_child():
    #  R   |-------------------------------|  0..100
    #  CL     |======-------------=====|      10..90: waits 10..40 (HEAD), then 70..90 after SV
    #  SV                 |-------|           40..70
    root = span(
        "R",
        0,
        100,
        service="web",
        children=[
            span(
                "CL",
                10,
                90,
                service="web",
                span_id="cl",
                children=[
                    span("SV", 40, 70, service="db"),
                ],
            ),
        ],
    )
    queue = Finding("queueing", "t1", "db", "SV", ("cl",), "waited", part=ClaimPart.HEAD)
    a = analysed(root, "t1", queue)
    ns, calls = trace_contributions(a, build_claims([a]))
    assert ns == {
        ("", "web", "R"): 20,
        ("queueing", "db", "SV"): 30,
        ("", "db", "SV"): 30,
        ("", "web", "CL -> db SV"): 20,  # a bare call is named after its callee
    }
    assert calls[("queueing", "db", "SV")] == 1


def test_a_head_claim_splits_a_segment_that_straddles_the_first_child_start():
    #  S  |---------------------------------------|  0..100
    #  X        |--------------|                     20..60   overlaps Y's start: off the path
    #  Y                   |-------------|           50..80
    #  path: S 0..50 (HEAD is 0..20 only), Y 50..80, S 80..100
    root = span("S", 0, 100, span_id="s", children=[span("X", 20, 60), span("Y", 50, 80)])
    head = Finding("dns", "t1", "svc", "lookup", ("s",), "slow dns", part=ClaimPart.HEAD)
    a = analysed(root, "t1", head)
    ns, _ = trace_contributions(a, build_claims([a]))
    assert ns == {("dns", "svc", "lookup"): 20, ("", "svc", "S"): 50, ("", "svc", "Y"): 30}


def test_a_contested_span_goes_to_the_pattern_that_claims_most_spans():
    root = span(
        "R",
        0,
        100,
        children=[
            span("q", 10, 20, span_id="q1"),
            span("q", 30, 40, span_id="q2"),
        ],
    )
    wide = Finding("n_plus_one", "t1", "svc", "q", ("q1", "q2"), "two calls")
    narrow = Finding("slow_query", "t1", "svc", "q", ("q1",), "one slow query")
    a = analysed(root, "t1", narrow, wide)
    ns, _ = trace_contributions(a, build_claims([a]))
    assert ns[("n_plus_one", "svc", "q")] == 20
    assert ("slow_query", "svc", "q") not in ns


def test_ranking_is_by_excess_and_top_keeps_the_first():
    slow = [slow_trace(k, calls=2 + k % 3) for k in range(12)]
    base = [base_trace(k) for k in range(12)]
    ranked = attribute(slow, base, resamples=100)
    excesses = [c.excess_ns for c in ranked]
    assert excesses == sorted(excesses, reverse=True)
    assert [c.rank for c in ranked] == list(range(1, len(ranked) + 1))
    assert attribute(slow, base, resamples=100, top=1) == ranked[:1]


def test_traces_counts_slow_traces_holding_it_and_the_example_holds_the_most():
    slow = [slow_trace(0, calls=2), slow_trace(1, calls=7), slow_trace(2, calls=3)]
    c = by_key(attribute(slow, [base_trace(0)], resamples=10))[("n_plus_one", "api", "db")]
    assert c.traces == 3
    assert c.example_trace_id == slow[1].trace.trace_id


def test_calls_absent_from_the_baseline_count_as_more_calls():
    assert split_excess(3.0, 0.0, 60.0, 0.0) == (60.0, 0.0)
    assert split_excess(0.0, 2.0, 0.0, 40.0) == (-40.0, 0.0)
    # two calls of 30 against one call of 20: one more call at 20, and both 10 slower
    assert split_excess(2.0, 1.0, 60.0, 20.0) == (20.0, 20.0)


@st.composite
def set_means(draw: st.DrawFn) -> tuple[float, float]:
    """(mean calls, mean path ns) of one set: calls average whole counts over the traces."""
    traces = draw(st.integers(1, 50))
    calls = draw(st.integers(0, 500))
    return calls / traces, (draw(st.floats(0, 1e12)) if calls else 0.0)


@given(set_means(), set_means())
def test_the_split_adds_up_to_the_excess(
    slow: tuple[float, float], base: tuple[float, float]
) -> None:
    more, slower = split_excess(slow[0], base[0], slow[1], base[1])
    assert more + slower == pytest.approx(slow[1] - base[1], rel=1e-9, abs=1e-3)
    if slow[0] == base[0]:
        assert more == 0.0  # as many calls: all of the excess is slower calls


@st.composite
def random_analysis(draw: st.DrawFn, trace_id: str) -> TraceAnalysis:
    """A random tree (children may overlap or overflow) with random findings over its spans."""
    n = draw(st.integers(1, 15))
    bounds = [(0, draw(st.integers(1, 500)))]
    parents = [-1]
    for i in range(1, n):
        p = draw(st.integers(0, i - 1))
        lo, hi = bounds[p]
        start = draw(st.integers(lo - 3, hi))
        bounds.append((start, start + draw(st.integers(0, hi - lo + 3))))
        parents.append(p)
    ids = [f"{trace_id}{i:04x}" for i in range(n)]
    names = [draw(st.sampled_from(["a", "b", "c"])) for _ in range(n)]
    spans = tuple(
        Span(
            trace_id,
            ids[i],
            ids[parents[i]] if parents[i] >= 0 else None,
            draw(st.sampled_from(["x", "y"])),
            names[i],
            start_ns=s,
            end_ns=e,
            process="p",
        )
        for i, (s, e) in enumerate(bounds)
    )
    findings = tuple(
        Finding(
            draw(st.sampled_from(["n_plus_one", "dns"])),
            trace_id,
            "x",
            names[0],
            tuple(draw(st.sets(st.sampled_from(ids), min_size=1, max_size=3))),
            "s",
            part=draw(st.sampled_from(list(ClaimPart))),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    return replace(analyze_trace(Trace(trace_id, spans)), findings=findings)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_the_excesses_add_up_to_the_difference_of_mean_durations(data: st.DataObject) -> None:
    slow = [data.draw(random_analysis(f"s{k:03d}")) for k in range(data.draw(st.integers(1, 4)))]
    base = [data.draw(random_analysis(f"b{k:03d}")) for k in range(data.draw(st.integers(1, 4)))]
    claims = build_claims([*slow, *base])
    for a in (*slow, *base):  # every nanosecond of every trace goes to exactly one contributor
        assert sum(trace_contributions(a, claims)[0].values()) == a.duration_ns
    ranked = attribute(slow, base, resamples=20)
    gap = np.mean([a.duration_ns for a in slow]) - np.mean([a.duration_ns for a in base])
    assert math.fsum(c.excess_ns for c in ranked) == pytest.approx(gap, abs=1e-6)
    assert all(c.more_calls_ns + c.slower_calls_ns == pytest.approx(c.excess_ns) for c in ranked)
    if gap:
        assert math.fsum(c.share for c in ranked) == pytest.approx(1.0)


def test_a_synthetic_root_and_the_gaps_between_roots_are_attributed():
    #  two roots P 0..40 and Q 60..100 under "(trace)": the 40..60 gap is the synthetic root's
    spans = (
        *trace(span("P", 0, 40), trace_id="t1").spans,
        *trace(span("Q", 60, 100), trace_id="t1").spans,
    )
    a = analyze_trace(Trace("t1", spans))
    ns, _ = trace_contributions(a, build_claims([a]))
    assert sum(ns.values()) == 100
    assert ns[("", "svc", "P")] == 40
    assert sum(v for (_, service, _), v in ns.items() if service == "(trace)") == 20


def test_the_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    x_s, x_b = rng.exponential(50, (40, 3)), rng.exponential(30, (60, 3))
    first = bootstrap_excess(x_s, x_b, seed=7, resamples=500)
    again = bootstrap_excess(x_s, x_b, seed=7, resamples=500)
    other = bootstrap_excess(x_s, x_b, seed=8, resamples=500)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_the_interval_covers_the_true_excess_in_about_95_percent_of_samples():
    # exponential path times: true excess of the column = 80 - 50 = 30
    rng = np.random.default_rng(2024)
    covered = 0
    for trial in range(200):
        x_s = rng.exponential(80, (50, 1))
        x_b = rng.exponential(50, (80, 1))
        low, high = bootstrap_excess(x_s, x_b, seed=trial, resamples=400)
        covered += bool(low[0] <= 30 <= high[0])
    assert 0.88 <= covered / 200 <= 0.99


@pytest.mark.parametrize("weighted", [False, True])
def test_the_interval_is_the_95_percent_one_with_both_sets_resampled(weighted):
    # A known answer: the bootstrap distribution of a mean of n draws is close to normal with the
    # plug-in variance / n, so the 95% percentile interval of mean(slow) - mean(base) is
    # diff ± 1.96 sqrt(var_s / n_s + var_b / n_b). A 90% interval would be ± 1.645 (16%
    # narrower); leaving one set unresampled drops its term. Column 0: both sets vary; column 1:
    # only the baseline does (the slow set is constant); column 2: only the slow set does.
    rng = np.random.default_rng(5)
    n_s, n_b = 400, 300
    x_s = np.column_stack([rng.normal(100, 20, n_s), np.full(n_s, 70.0), rng.normal(90, 30, n_s)])
    x_b = np.column_stack([rng.normal(60, 20, n_b), rng.normal(50, 25, n_b), np.full(n_b, 40.0)])
    weights = np.full(n_b, 1 / n_b) if weighted else None  # uniform: the same distribution
    low, high = bootstrap_excess(x_s, x_b, seed=3, resamples=20_000, base_weights=weights)
    se = np.sqrt(x_s.var(axis=0) / n_s + x_b.var(axis=0) / n_b)
    diff = x_s.mean(axis=0) - x_b.mean(axis=0)
    assert (high - low) / 2 == pytest.approx(1.96 * se, rel=0.03)
    assert np.all(np.abs((low + high) / 2 - diff) < 0.05 * se)


def test_resamples_are_drawn_in_whole_chunks_not_one_by_one():
    class Counting:
        def __init__(self) -> None:
            self.rng = np.random.default_rng(0)
            self.calls = 0

        def integers(self, *args, **kwargs):
            self.calls += 1
            return self.rng.integers(*args, **kwargs)

    rng = Counting()
    means = bootstrap_means(np.arange(200.0).reshape(100, 2), rng, 2000)  # type: ignore[arg-type]
    assert rng.calls == 1
    assert means.shape == (2000, 2)
    assert means.mean(axis=0) == pytest.approx([99.0, 100.0], rel=0.01)


def test_the_bootstrap_gives_every_column_its_own_interval():
    # its speed at 1,000 x 5,000 traces and 200 columns: bench/speed.py
    rng = np.random.default_rng(0)
    x_s = rng.exponential(1e6, (100, 20))
    x_b = rng.exponential(1e6, (500, 20))
    x_s[:, 7] += 5e6  # one column with a clear excess
    low, high = bootstrap_excess(x_s, x_b, resamples=500)
    assert low.shape == high.shape == (20,)
    assert np.all(low < high)
    assert low[7] > 3e6
    assert np.delete(high, 7).max() < low[7]  # the others' intervals stay near zero


def test_an_interval_reaching_zero_is_flagged_and_small_samples_are_too_small():
    slow = [slow_trace(k, calls=2 + k % 2) for k in range(12)]
    base = [base_trace(k) for k in range(12)]
    ranked = by_key(attribute(slow, base, resamples=200))
    assert not interval_includes_zero(ranked[("n_plus_one", "api", "db")])
    assert interval_includes_zero(ranked[("", "api", "R")])  # no excess at all: 0..0
    assert too_small(9, 100)
    assert too_small(100, 9)
    assert not too_small(10, 10)


def test_no_slow_traces_means_nothing_to_explain():
    assert attribute([], [base_trace(0)]) == ()


def test_a_finding_span_missing_from_its_trace_is_ignored():
    a = analysed(span("R", 0, 10), "t1", Finding("retry", "t1", "svc", "R", ("nope",), "s"))
    ns, _ = trace_contributions(a, build_claims([a]))
    assert ns == {("", "svc", "R"): 10}


def test_without_baseline_traces_everything_is_excess_and_nothing_crashes():
    ranked = by_key(attribute([slow_trace(0), slow_trace(1)], [], resamples=20))
    c = ranked[("n_plus_one", "api", "db")]
    assert (c.baseline_ns, c.excess_ns, c.more_calls_ns) == (0.0, 80.0, 80.0)


def test_path_time_of_a_span_the_tree_does_not_know_is_kept_as_unknown():
    #  a path naming a span id that is not in the tree still counts, under "(unknown)"
    a = analyze_trace(trace(span("R", 0, 10, span_id="r"), trace_id="t1"))
    odd = replace(a, path=(Segment("r", 0, 4), Segment("ghost", 4, 10)))
    ns, calls = trace_contributions(odd, build_claims([odd]))
    assert ns == {("", "svc", "R"): 4, ("", "(unknown)", "(unknown)"): 6}
    assert calls[("", "(unknown)", "(unknown)")] == 1


def test_baseline_weights_give_each_page_its_share_of_the_slow_set():
    from tracelens.attribution import baseline_weights

    # slow: 3 heavy pages, 1 light; baseline: 3 heavy, 6 light, 1 rare page (too few to stand alone)
    weights = baseline_weights(["heavy"] * 3 + ["light"], ["heavy"] * 3 + ["light"] * 6 + ["rare"])
    assert weights.sum() == pytest.approx(1.0)
    assert weights[:3] == pytest.approx([0.25] * 3)
    assert weights[3:9] == pytest.approx([0.25 / 6] * 6)
    assert weights[9] == pytest.approx(0.0)


def test_a_pattern_claiming_whole_calls_counts_each_call_once():
    #  R  |--|GET------|GET------|GET------|--|
    #          |srv--|   |srv--|   |srv--|       each call's server span, claimed with it
    def calls(trace_id: str, n: int) -> TraceAnalysis:
        members, ids = [], []
        for i in range(n):
            cid, sid = f"{trace_id}c{i}", f"{trace_id}s{i}"
            ids += [cid, sid]
            start = 10 + 30 * i
            members.append(
                span(
                    "GET",
                    start,
                    start + 30,
                    service="web",
                    span_id=cid,
                    children=[span("srv", start + 5, start + 25, service="api", span_id=sid)],
                )
            )
        root = span("R", 0, 20 + 30 * n, service="web", children=members)
        return analysed(
            root, trace_id, Finding("n_plus_one", trace_id, "web", "GET", tuple(ids), "N")
        )

    got = by_key(attribute([calls("s", 5)], [calls("b", 2)], resamples=20))
    n1 = got[("n_plus_one", "web", "GET")]
    assert (n1.slow_calls, n1.baseline_calls) == (5.0, 2.0)


# --- rank as the pipeline calls it, and the rules around it ------------------------------------

A, B, C = ("", "svc", "a"), ("n_plus_one", "svc", "b"), ("", "svc", "c")


def times_of(slow_rows: list[dict], base_rows: list[dict]):
    """PathTimes from per-trace path ns per key (each key one call); durations are the sums."""

    def contributions(rows: list[dict]):
        return [(dict(r), dict.fromkeys(r, 1)) for r in rows]

    return dense_times(
        contributions(slow_rows),
        contributions(base_rows),
        [sum(r.values()) for r in slow_rows],
        [sum(r.values()) for r in base_rows],
        [f"s{i}" for i in range(len(slow_rows))],
    )


def random_times(seed: int = 4):
    rng = np.random.default_rng(seed)
    slow = [{A: int(rng.integers(50, 150)), B: int(rng.integers(0, 300))} for _ in range(30)]
    base = [{A: int(rng.integers(40, 120)), B: int(rng.integers(0, 50))} for _ in range(40)]
    return times_of(slow, base)


def test_rank_intervals_are_the_bootstrap_with_the_seed_and_resamples_given():
    times = random_times()
    ranked = {(c.pattern, c.service, c.operation): c for c in rank(times, {}, seed=3, resamples=7)}
    low, high = bootstrap_excess(times.slow_ns, times.base_ns, seed=3, resamples=7)
    for j, key in enumerate(times.keys):
        assert (ranked[key].ci_low_ns, ranked[key].ci_high_ns) == (low[j], high[j])
    assert rank(times, {}) == rank(times, {}, seed=0, resamples=2000)  # the defaults


def test_rank_with_baseline_weights_weights_the_means_the_total_and_the_bootstrap():
    times = random_times()
    n_base = times.base_ns.shape[0]
    weights = np.linspace(1, 3, n_base)
    weights /= weights.sum()
    ranked = rank(times, {}, seed=5, resamples=50, base_weights=weights)
    low, high = bootstrap_excess(
        times.slow_ns, times.base_ns, seed=5, resamples=50, base_weights=weights
    )
    total = np.mean(times.slow_duration_ns) - weights @ np.asarray(times.base_duration_ns)
    for c in ranked:
        j = times.keys.index((c.pattern, c.service, c.operation))
        assert c.baseline_ns == pytest.approx(weights @ times.base_ns[:, j], rel=1e-12)
        assert c.baseline_calls == pytest.approx(weights @ times.base_calls[:, j], rel=1e-12)
        assert c.share == pytest.approx(c.excess_ns / total, rel=1e-12)
        assert (c.ci_low_ns, c.ci_high_ns) == (low[j], high[j])


def test_rank_of_no_slow_traces_is_empty_even_with_baseline_keys():
    assert rank(times_of([], [{A: 10}]), {}) == ()


def test_traces_counts_the_slow_traces_holding_any_path_time_at_all():
    ranked = by_key(rank(times_of([{A: 1, C: 5}, {A: 0, C: 5}, {C: 5}], [{C: 5}]), {}))
    assert ranked[A].traces == 1  # one nanosecond is holding it
    assert ranked[C].traces == 3


def test_shares_are_zero_when_the_sets_are_equally_long_and_exact_without_a_baseline():
    same = rank(times_of([{A: 10, C: 5}], [{A: 5, C: 10}]), {})
    assert [c.share for c in same] == [0.0, 0.0]
    alone = rank(times_of([{A: 30, C: 10}, {A: 10, C: 30}], []), {})
    assert [c.share for c in alone] == [0.5, 0.5]  # each 20 of the 40 mean, no baseline


def test_a_plain_operation_has_no_summary_and_a_pattern_its_most_common_one():
    ranked = by_key(rank(times_of([{A: 10, B: 30}], [{A: 10}]), {B: "three calls"}))
    assert (ranked[A].summary, ranked[B].summary) == ("", "three calls")


@pytest.mark.parametrize("part", [ClaimPart.ALL, ClaimPart.HEAD])
@pytest.mark.parametrize("wide_first", [False, True])
def test_the_pattern_claiming_most_spans_wins_a_contested_span_whatever_the_order(part, wide_first):
    root = span(
        "R", 0, 100, children=[span("q", 10, 20, span_id="q1"), span("q", 30, 40, span_id="q2")]
    )
    wide = Finding("n_plus_one", "t1", "svc", "q", ("q1", "q2"), "two calls", part=part)
    narrow = Finding("slow_query", "t1", "svc", "q", ("q1",), "one slow query", part=part)
    a = analysed(root, "t1", *((wide, narrow) if wide_first else (narrow, wide)))
    claims = build_claims([a])
    winner = ("n_plus_one", "svc", "q")
    owners = (winner, None) if part is ClaimPart.HEAD else (None, winner)
    assert claims.explicit["t1"]["q1"] == owners
    assert claims.rules[("svc", "q")] == owners


def test_claims_come_from_every_trace_after_one_without_findings():
    quiet = base_trace(0)
    loud = slow_trace(1)
    claims = build_claims([quiet, loud])
    assert claims.rules[("api", "db")] == (None, ("n_plus_one", "api", "db"))


def test_strata_too_small_in_the_baseline_are_pooled_over_every_baseline_trace():
    # slow: half "heavy", a quarter each "odd" and "rare"; baseline: 4 heavy, 1 odd, 1 rare
    weights = baseline_weights(
        ["heavy", "heavy", "odd", "rare"], ["heavy"] * 4 + ["odd", "rare"], min_traces=3
    )
    pooled = (0.25 + 0.25) / 6  # both small strata's shares, spread over all six
    assert weights[:4] == pytest.approx([0.5 / 4 + pooled] * 4)
    assert weights[4:] == pytest.approx([pooled, pooled])
    assert weights.sum() == pytest.approx(1.0)
    # a stratum with exactly min_traces baseline traces stands for itself
    exact = baseline_weights(["a", "b"], ["a"] * 3 + ["b"] * 3, min_traces=3)
    assert exact == pytest.approx([0.5 / 3] * 6)


def test_the_note_says_when_the_interval_reaches_zero_or_is_missing():
    c = slow_trace_contributor()
    assert note(c) == ""
    assert note(replace(c, ci_low_ns=0.0)) == "interval includes 0: may be noise"
    assert note(replace(c, ci_low_ns=math.nan)) == "interval includes 0: may be noise"
    assert interval_includes_zero(replace(c, ci_high_ns=math.nan))
    assert not interval_includes_zero(replace(c, ci_low_ns=-5.0, ci_high_ns=-1.0))


def slow_trace_contributor() -> Contributor:
    slow = [slow_trace(k) for k in range(12)]
    base = [base_trace(k) for k in range(12)]
    return by_key(attribute(slow, base, resamples=100))[("n_plus_one", "api", "db")]


# --- trace_contributions: who gets each segment, and what counts as a call ---------------------


def test_a_plain_operation_counts_each_span_holding_path_time_as_one_call():
    root = span("R", 0, 100, children=[span("db", 10 + 20 * i, 20 + 20 * i) for i in range(3)])
    a = analysed(root, "t1")
    ns, calls = trace_contributions(a, build_claims([a]))
    assert (ns[("", "svc", "db")], calls[("", "svc", "db")]) == (30, 3)
    assert calls[("", "svc", "R")] == 1


def test_unknown_spans_anywhere_on_the_path_add_up_and_the_rest_still_counts():
    a = analyze_trace(trace(span("R", 0, 10, span_id="r"), trace_id="t1"))
    odd = replace(a, path=(Segment("ghost1", 0, 2), Segment("r", 2, 4), Segment("ghost2", 4, 10)))
    ns, calls = trace_contributions(odd, build_claims([odd]))
    assert ns == {("", "svc", "R"): 2, ("", "(unknown)", "(unknown)"): 8}
    assert calls[("", "(unknown)", "(unknown)")] == 2


def test_time_the_path_misses_is_kept_off_path():
    a = analyze_trace(trace(span("R", 0, 10, span_id="r"), trace_id="t1"))
    short = replace(a, path=(Segment("r", 0, 7),))
    ns, _ = trace_contributions(short, build_claims([short]))
    assert ns == {("", "svc", "R"): 7, ("", "(trace)", "(off path)"): 3}


def test_a_finding_in_the_trace_decides_its_spans_over_rules_from_other_traces():
    #  t1: X claimed whole by "weak" here; elsewhere "strong" (more spans) claims X's operation,
    #  and a third trace's "head" claims the part of X before its first child
    def x_trace(tid: str, *findings: Finding) -> TraceAnalysis:
        root = span("R", 0, 100, children=[
            span("X", 10, 90, span_id=f"{tid}x", children=[span("c", 40, 60, span_id=f"{tid}c")]),
        ])  # fmt: skip
        return analysed(root, tid, *findings)

    weak = x_trace("t1", Finding("weak", "t1", "svc", "X", ("t1x",), "one"))
    strong = x_trace("t2", Finding("strong", "t2", "svc", "X", ("t2x", "t2c"), "two"))
    head = x_trace("t3", Finding("head", "t3", "svc", "X", ("t3x",), "h", part=ClaimPart.HEAD))
    claims = build_claims([weak, strong, head])
    ns, _ = trace_contributions(weak, claims)
    assert ns[("weak", "svc", "X")] == 60  # X's whole self time: 10..40 and 60..90
    assert ("head", "svc", "X") not in ns  # not split by another trace's head claim
    # a trace whose own finding claims only X's head: the rest of X (30) goes to the strongest
    # rule, as does c (20), whose operation "strong" claims too
    ns, _ = trace_contributions(head, claims)
    assert (ns[("head", "svc", "X")], ns[("strong", "svc", "X")]) == (30, 50)


def test_a_subtree_claimed_by_one_pattern_is_one_call_with_or_without_a_finding_in_the_trace():
    #  R |--c--|--|   the root and its child, both claimed by "p" in t1; t2 has no finding but
    #  the same operations, which the rules give to "p" too
    def tree(tid: str, *findings: Finding) -> TraceAnalysis:
        root = span("R", 0, 30, span_id=f"{tid}r", children=[span("c", 10, 20, span_id=f"{tid}c")])
        return analysed(root, tid, *findings)

    claimed = tree("t1", Finding("p", "t1", "svc", "R", ("t1r", "t1c"), "both"))
    bare = tree("t2")
    # elsewhere a stronger pattern claims the root's operation: in t1 the root is still p's
    rival = analysed(
        span("R", 0, 30, span_id="t3r", children=[span("R", 5, 25, span_id="t3s",
             children=[span("R", 8, 20, span_id="t3u")])]),
        "t3",
        Finding("q", "t3", "svc", "R", ("t3r", "t3s", "t3u"), "three"),
    )  # fmt: skip
    claims = build_claims([claimed, bare])
    for a in (claimed, bare):
        ns, calls = trace_contributions(a, claims)
        assert (ns[("p", "svc", "R")], calls[("p", "svc", "R")]) == (30, 1)
    ns, calls = trace_contributions(claimed, build_claims([claimed, bare, rival]))
    assert calls[("p", "svc", "R")] == 1


def test_the_plain_rest_of_a_head_claimed_span_is_one_call():
    server = span("SV", 40, 70, service="db")
    root = span("R", 0, 100, service="web", children=[
        span("CL", 10, 90, service="web", span_id="cl", children=[server]),
    ])  # fmt: skip
    head = Finding("queueing", "t1", "db", "SV", ("cl",), "w", part=ClaimPart.HEAD)
    a = analysed(root, "t1", head)
    _, calls = trace_contributions(a, build_claims([a]))
    assert calls[("", "web", "CL -> db SV")] == 1


def test_attribute_defaults_and_its_strata_reach_the_ranking():
    many = [slow_trace(k, calls=1 + (7 * k) % 13) for k in range(40)]  # many distinct sums
    assert attribute(many, many[:5]) == attribute(many, many[:5], seed=0, resamples=2000)
    slow = [slow_trace(k, calls=2 + k % 3) for k in range(12)]
    base = [base_trace(k) for k in range(12)]
    # two pages: the slow set is all "heavy"; the baseline is 6 heavy and 6 light, and a light
    # page's db call is 40 instead of 20, so weighting by page changes the baseline mean
    light = [
        analysed(span("R", 0, 140, service="api", children=[span("db", 50, 90, service="api")]),
                 f"l{k:031x}")
        for k in range(6)
    ]  # fmt: skip
    page = {a.trace.trace_id: "light" for a in light}
    base = base[:6] + light

    def stratum(a: TraceAnalysis) -> str:
        return page.get(a.trace.trace_id, "heavy")

    plain = by_key(attribute(slow, base, resamples=50))
    weighted = by_key(attribute(slow, base, resamples=50, stratum=stratum))
    key = ("n_plus_one", "api", "db")
    assert plain[key].baseline_ns == 30.0  # (6 x 20 + 6 x 40) / 12
    assert weighted[key].baseline_ns == pytest.approx(20.0)  # heavy pages only
    weights = baseline_weights(["heavy"] * 12, [stratum(a) for a in base])
    times = path_times(slow, base, build_claims([*slow, *base]))
    j = times.keys.index(key)
    low, high = bootstrap_excess(
        times.slow_ns, times.base_ns, seed=0, resamples=50, base_weights=weights
    )
    assert (weighted[key].ci_low_ns, weighted[key].ci_high_ns) == (low[j], high[j])


def test_a_resample_drawing_only_zero_weight_baseline_traces_has_a_zero_mean_not_nan():
    x_s = np.arange(10.0).reshape(10, 1)
    x_b = np.array([[5.0], [7.0]])
    low, high = bootstrap_excess(x_s, x_b, resamples=200, base_weights=np.array([1.0, 0.0]))
    assert np.isfinite(low).all()
    assert np.isfinite(high).all()
    # the same draws, by hand: a resample's baseline mean is 5 when it drew the first trace, and
    # 0 when it drew only the weightless second one
    rng = np.random.default_rng(0)
    slow = bootstrap_means(x_s, rng, 200)[:, 0]
    drew_first = bootstrap_means(np.array([[1.0], [0.0]]), rng, 200)[:, 0] > 0
    diff = slow - np.where(drew_first, 5.0, 0.0)
    assert (~drew_first).any()  # the case is met
    assert (low[0], high[0]) == tuple(np.percentile(diff, [2.5, 97.5]))


def test_every_resample_is_drawn_none_left_empty():
    means = bootstrap_means(np.arange(1.0, 21.0).reshape(20, 1), np.random.default_rng(0), 300)
    assert means.shape == (300, 1)
    assert (means > 0).all()  # a row never drawn would stay 0


def test_a_trace_without_findings_splits_a_span_as_the_head_rule_of_another_trace_says():
    #  X |---(head 10..40)---|c 40..60|---(rest 60..90)---|: t2 has no finding of its own
    def x_trace(tid: str, *findings: Finding) -> TraceAnalysis:
        root = span("R", 0, 100, children=[
            span("X", 10, 90, span_id=f"{tid}x", children=[span("c", 40, 60, span_id=f"{tid}c")]),
        ])  # fmt: skip
        return analysed(root, tid, *findings)

    head = x_trace("t1", Finding("dns", "t1", "svc", "X", ("t1x",), "h", part=ClaimPart.HEAD))
    bare = x_trace("t2")
    ns, calls = trace_contributions(bare, build_claims([head, bare]))
    assert ns[("dns", "svc", "X")] == 30
    assert ns[("", "svc", "X")] == 30  # the rest of X stays the plain operation's
    assert calls[("dns", "svc", "X")] == 1


def test_each_head_claimed_span_of_a_trace_is_a_call_of_its_own():
    #  two calls, each waiting 10 before its server answers: two calls of the pattern, 20 in all
    def call(n: int) -> SpanSpec:
        lo = 10 + 40 * n
        return span("CL", lo, lo + 30, service="web", span_id=f"cl{n}",
                    children=[span("SV", lo + 10, lo + 30, service="db")])  # fmt: skip

    root = span("R", 0, 100, service="web", children=[call(0), call(1)])
    waits = [
        Finding("queueing", "t1", "web", "CL", (f"cl{n}",), "w", part=ClaimPart.HEAD)
        for n in (0, 1)
    ]
    a = analysed(root, "t1", *waits)
    ns, calls = trace_contributions(a, build_claims([a]))
    assert (ns[("queueing", "web", "CL")], calls[("queueing", "web", "CL")]) == (20, 2)


def test_the_most_common_summary_names_a_pattern():
    def finding(tid: str, summary: str) -> Finding:
        return Finding("n_plus_one", tid, "api", "db", ("x",), summary)

    traces = [
        analysed(span("R", 0, 10, children=[span("db", 2, 8, service="api", span_id="x")]),
                 f"t{i}", finding(f"t{i}", text))
        for i, text in enumerate(["4 calls", "9 calls", "9 calls"])
    ]  # fmt: skip
    assert build_claims(traces).summaries[("n_plus_one", "api", "db")] == "9 calls"


def test_the_pattern_claiming_most_spans_wins_even_when_its_name_sorts_last():
    # sorting by name alone would give the span to "n_plus_one"
    root = span(
        "R", 0, 100, children=[span("q", 10, 20, span_id="q1"), span("q", 30, 40, span_id="q2")]
    )
    wide = Finding("sequential", "t1", "svc", "q", ("q1", "q2"), "two calls")
    narrow = Finding("n_plus_one", "t1", "svc", "q", ("q1",), "one call")
    claims = build_claims([analysed(root, "t1", narrow, wide)])
    assert claims.explicit["t1"]["q1"] == (None, ("sequential", "svc", "q"))


def test_attribute_passes_its_seed_and_one_page_is_the_plain_baseline():
    slow = [slow_trace(k, calls=2 + k % 5) for k in range(15)]
    base = [base_trace(k) for k in range(15)]
    key = ("n_plus_one", "api", "db")
    times = path_times(slow, base, build_claims([*slow, *base]))
    j = times.keys.index(key)
    low, high = bootstrap_excess(times.slow_ns, times.base_ns, seed=9, resamples=40)
    c = by_key(attribute(slow, base, seed=9, resamples=40))[key]
    assert (c.ci_low_ns, c.ci_high_ns) == (low[j], high[j])
    # every trace on one page: exactly the unweighted answer, not a weighted one of equal weights
    one_page = attribute(slow, base, seed=9, resamples=40, stratum=lambda a: "the page")
    assert one_page == attribute(slow, base, seed=9, resamples=40)


def test_bootstrap_excess_defaults_to_seed_0_and_2000_resamples():
    rng = np.random.default_rng(1)
    x_s, x_b = rng.normal(10, 3, (25, 2)), rng.normal(8, 3, (30, 2))
    got = bootstrap_excess(x_s, x_b)
    want = bootstrap_excess(x_s, x_b, seed=0, resamples=2000)
    assert all((g == w).all() for g, w in zip(got, want, strict=True))
    other = bootstrap_excess(x_s, x_b, seed=1, resamples=2000)
    assert not (got[0] == other[0]).all()


def test_a_patterns_weight_is_every_span_its_findings_claim_across_traces():
    # "a" claims 2 spans in each of two traces (4 in all), "b" 3 spans in one: the operation's
    # rule goes to "a", though each of its findings alone claims fewer than "b"'s
    def q_trace(tid: str, pattern: str, n: int) -> TraceAnalysis:
        ids = [f"{tid}q{i}" for i in range(n)]
        root = span("R", 0, 100, children=[
            span("q", 10 + 20 * i, 20 + 20 * i, span_id=sid) for i, sid in enumerate(ids)
        ])  # fmt: skip
        return analysed(root, tid, Finding(pattern, tid, "svc", "q", tuple(ids), "calls"))

    claims = build_claims([q_trace("t1", "a", 2), q_trace("t2", "a", 2), q_trace("t3", "b", 3)])
    assert claims.rules[("svc", "q")] == (None, ("a", "svc", "q"))


def test_a_subtree_claimed_by_one_pattern_is_one_call_even_of_a_service_without_a_name():
    # spans built directly (the readers name a nameless service "unknown_service")
    root = span("R", 0, 30, service="", span_id="r", children=[
        span("c", 10, 20, service="", span_id="c"),
    ])  # fmt: skip
    a = analysed(root, "t1", Finding("p", "t1", "", "R", ("r", "c"), "both"))
    ns, calls = trace_contributions(a, build_claims([a]))
    assert (ns[("p", "", "R")], calls[("p", "", "R")]) == (30, 1)
