"""n_plus_one: repeated identical calls under one parent, and the DataLoader (MN+1) shape."""

from __future__ import annotations

from msgspec.structs import replace

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors.n_plus_one import NPlusOne
from tracelens.model import SpanKind, Trace

MS = 1_000_000
NONE = Baseline()


def query(n: int, start_ms: int, length_ms: int = 10):
    return span(
        "SELECT reviews",
        start_ms * MS,
        (start_ms + length_ms) * MS,
        kind=SpanKind.CLIENT,
        service="catalog",
        attrs={"db.system": "postgresql", "db.statement": f"SELECT * FROM reviews WHERE pid = {n}"},
        span_id=f"{0xA00 + n:016x}",
    )


def product_page(calls: int, length_ms: int = 10, gap_ms: int = 1):
    step = length_ms + gap_ms
    return trace(
        span(
            "GET /product/{id}",
            0,
            (5 + calls * step + 5) * MS,
            kind=SpanKind.SERVER,
            service="catalog",
            children=[query(n, 5 + n * step, length_ms) for n in range(calls)],
        )
    )


def test_eight_sequential_identical_queries_are_one_n_plus_one():
    #  GET /product |-----------------------------------------------|
    #  SELECT         |--| |--| |--| |--| |--| |--| |--| |--|          8 x 10 ms, one after another
    (f,) = NPlusOne().detect(analyze_trace(product_page(8)), NONE)
    assert f.pattern == "n_plus_one"
    assert (f.service, f.operation) == ("catalog", "postgresql SELECT * FROM reviews WHERE pid = ?")
    assert f.evidence["calls"] == 8
    assert f.evidence["shape"] == "sequential"
    assert len(f.span_ids) == 8
    assert len(f.edits.remove) == 7  # batched: one call stays
    assert f.saving_ns == 70 * MS
    assert "8 sequential calls" in f.summary


def test_four_repeats_or_too_little_time_is_not_an_n_plus_one():
    assert list(NPlusOne().detect(analyze_trace(product_page(4)), NONE)) == []
    # eight calls of 5 ms add up to 40 ms, under the 50 ms bar
    assert list(NPlusOne().detect(analyze_trace(product_page(8, length_ms=5)), NONE)) == []


def test_overlapping_repeats_are_a_cheap_parallel_fan_out():
    #  parent |------------------|
    #  calls    |------|  x6 starting 1 ms apart
    calls = [query(n, 5 + n, 60) for n in range(6)]
    t = trace(span("GET /p", 0, 100 * MS, kind=SpanKind.SERVER, service="catalog", children=calls))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.evidence["shape"] == "parallel"
    assert "parallel fan-out" in f.summary
    assert f.saving_ns < 10 * MS  # only the stagger was on the path


def test_resolver_subtrees_each_making_one_call_are_a_dataloader_miss():
    #  query SearchResults |--------------------------------------|
    #  resolve Product.reviews |---| |---| |---| |---| |---| |---|
    #  GET reviews               |-|   |-|   |-|   |-|   |-|   |-|
    resolvers = [
        span(
            'graphql.resolve "Product.reviews"',
            (10 + 20 * n) * MS,
            (28 + 20 * n) * MS,
            service="bff",
            children=[
                span(
                    "GET",
                    (11 + 20 * n) * MS,
                    (27 + 20 * n) * MS,
                    kind=SpanKind.CLIENT,
                    service="bff",
                    attrs={"http.request.method": "GET", "url.full": f"http://reviews/r/{n}"},
                )
            ],
        )
        for n in range(6)
    ]
    t = trace(
        span(
            "query SearchResults",
            0,
            140 * MS,
            service="bff",
            attrs={"graphql.operation.type": "query", "graphql.operation.name": "SearchResults"},
            children=resolvers,
        )
    )
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.operation == "GET reviews /r/{id}"
    assert f.evidence["kind"] == "mn_plus_one"
    assert f.evidence["branches"] == 6
    assert f.evidence["graphql"] is True
    assert f.summary.startswith("GraphQL resolver fan-out: likely DataLoader not batching")
    assert len(f.edits.remove) == 5


def test_a_compressed_span_counts_as_its_repeat_count():
    composite = span(
        "SELECT FROM users",
        5 * MS,
        125 * MS,
        kind=SpanKind.CLIENT,
        attrs={"db.system": "mysql", "span.composite.count": 12},
    )
    t = trace(span("GET /users", 0, 130 * MS, kind=SpanKind.SERVER, children=[composite]))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.evidence["calls"] == 12
    assert f.edits.duration_ns == {f.span_ids[0]: 10 * MS}  # one call of the twelve


def test_spans_without_attributes_fire_only_on_true_repeats():
    # TrainTicket-style names, no kinds, no attributes
    distinct = [
        span(name, (10 + 30 * n) * MS, (35 + 30 * n) * MS, kind=SpanKind.UNSPECIFIED)
        for n, name in enumerate(["HTTP POST", "SELECT Trip", "HTTP GET", "SELECT Route", "x"])
    ]
    t = trace(span("/api/v1/travel/trips/left", 0, 200 * MS, children=distinct))
    assert list(NPlusOne().detect(analyze_trace(t), NONE)) == []
    repeated = [
        span("SELECT Trip", (10 + 12 * n) * MS, (20 + 12 * n) * MS, kind=SpanKind.UNSPECIFIED)
        for n in range(10)
    ]
    t = trace(span("/api/v1/travel/trips/left", 0, 200 * MS, children=repeated))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.operation == "SELECT Trip"


# --- thresholds: each one exactly at the bar fires, just below it does not ---------------------


def calls_under_root(lengths_ns: list[int], starts_ns: list[int] | None = None):
    """One parent with a query per length, back to back from 5 ms unless `starts_ns` are given."""
    if starts_ns is None:
        starts_ns, t = [], 5 * MS
        for length in lengths_ns:
            starts_ns.append(t)
            t += length
    children = [
        span(
            "SELECT reviews",
            s,
            s + length,
            kind=SpanKind.CLIENT,
            service="catalog",
            attrs={"db.system": "postgresql", "db.statement": f"SELECT * FROM r WHERE id = {n}"},
        )
        for n, (s, length) in enumerate(zip(starts_ns, lengths_ns, strict=True))
    ]
    end = max(s + length for s, length in zip(starts_ns, lengths_ns, strict=True)) + 5 * MS
    return trace(span("GET /p", 0, end, kind=SpanKind.SERVER, service="catalog", children=children))


def test_exactly_min_repeats_calls_fire_and_one_fewer_do_not_whatever_the_time():
    assert NPlusOne().min_repeats == 5
    (f,) = NPlusOne().detect(analyze_trace(calls_under_root([20 * MS] * 5)), NONE)
    assert f.evidence["calls"] == 5
    # four calls of 20 ms: 80 ms, well over the time bar, so only the count keeps it quiet
    assert list(NPlusOne().detect(analyze_trace(calls_under_root([20 * MS] * 4)), NONE)) == []


def test_calls_adding_up_to_exactly_min_total_fire_and_one_nanosecond_less_do_not():
    assert NPlusOne().min_total_ns == 50 * MS
    (f,) = NPlusOne().detect(analyze_trace(calls_under_root([10 * MS] * 5)), NONE)
    assert f.evidence["total_ns"] == 50 * MS
    short = [10 * MS] * 4 + [10 * MS - 1]
    assert list(NPlusOne().detect(analyze_trace(calls_under_root(short)), NONE)) == []


def test_a_parallel_fan_out_must_cover_min_total_with_its_union_not_its_sum():
    # six 20 ms calls, all at once: 120 ms of calls but a union of 20 ms (< 50 ms) -> nothing;
    # staggered so the union is exactly 50 ms (but < 0.9 x 120 ms: still parallel) -> fires
    together = calls_under_root([20 * MS] * 6, [5 * MS] * 6)
    assert list(NPlusOne().detect(analyze_trace(together), NONE)) == []
    staggered = calls_under_root([20 * MS] * 6, [5 * MS + k * 6 * MS for k in range(6)])
    (f,) = NPlusOne().detect(analyze_trace(staggered), NONE)
    assert (f.evidence["shape"], f.evidence["union_ns"]) == ("parallel", 50 * MS)
    nearly = calls_under_root(
        [20 * MS] * 6, [5 * MS + k * 6 * MS for k in range(5)] + [35 * MS - 1]
    )
    assert list(NPlusOne().detect(analyze_trace(nearly), NONE)) == []


def test_a_union_of_exactly_the_sequential_share_is_sequential_and_just_under_is_parallel():
    assert NPlusOne().sequential_min_union == 0.9
    # five 20 ms calls (100 ms), 17.5 ms apart: each overlaps the next by 2.5 ms -> union 90 ms
    starts = [5 * MS + k * 17_500_000 for k in range(5)]
    (f,) = NPlusOne().detect(analyze_trace(calls_under_root([20 * MS] * 5, starts)), NONE)
    assert (f.evidence["union_ns"], f.evidence["shape"]) == (90 * MS, "sequential")
    starts[-1] -= 1  # the union is one nanosecond short of 90% of the sum
    (f,) = NPlusOne().detect(analyze_trace(calls_under_root([20 * MS] * 5, starts)), NONE)
    assert (f.evidence["union_ns"], f.evidence["shape"]) == (90 * MS - 1, "parallel")


def resolver_tree(branches: int, depth: int):
    """`branches` sibling subtrees under the root, each a chain of `depth` spans above one call."""
    subtrees = []
    for n in range(branches):
        node = span(
            "GET",
            (11 + 20 * n) * MS,
            (27 + 20 * n) * MS,
            kind=SpanKind.CLIENT,
            service="bff",
            attrs={"http.request.method": "GET", "url.full": f"http://reviews/r/{n}"},
        )
        for _ in range(depth):
            node = span("resolve", (10 + 20 * n) * MS, (28 + 20 * n) * MS, children=[node])
        subtrees.append(node)
    return trace(span("page", 0, (20 * branches + 20) * MS, service="bff", children=subtrees))


def test_one_call_in_exactly_min_repeats_sibling_subtrees_fires_and_in_one_fewer_does_not():
    (f,) = NPlusOne().detect(analyze_trace(resolver_tree(5, depth=1)), NONE)
    assert (f.evidence["kind"], f.evidence["branches"], f.evidence["levels_up"]) == (
        "mn_plus_one",
        5,
        2,
    )
    assert list(NPlusOne().detect(analyze_trace(resolver_tree(4, depth=1)), NONE)) == []


def test_the_common_ancestor_may_be_exactly_max_levels_up_and_not_one_more():
    assert NPlusOne().max_levels == 3
    (f,) = NPlusOne().detect(analyze_trace(resolver_tree(5, depth=2)), NONE)
    assert f.evidence["levels_up"] == 3
    assert list(NPlusOne().detect(analyze_trace(resolver_tree(5, depth=3)), NONE)) == []


def test_the_batched_fix_keeps_the_median_call_not_the_longest():
    # five calls of 10, 50, 30, 20, 40 ms: the one of 30 ms stays, the 50 ms outlier goes
    lengths = [10 * MS, 50 * MS, 30 * MS, 20 * MS, 40 * MS]
    t = calls_under_root(lengths)
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    kept = {s.span_id for s in t.spans[1:]} - f.edits.remove
    (only,) = [s for s in t.spans if s.span_id in kept]
    assert only.end_ns - only.start_ns == 30 * MS
    assert f.saving_ns == 150 * MS - 30 * MS  # the group held the path for all 150 ms


def test_compressed_spans_add_up_to_exactly_min_repeats_calls():
    def composite(n: int, start_ms: int, count: int):
        return span(
            "SELECT FROM users", start_ms * MS, (start_ms + 30) * MS, kind=SpanKind.CLIENT,
            attrs={"db.system": "mysql", "span.composite.count": count},
            span_id=f"{0xC00 + n:016x}",
        )  # fmt: skip

    def page(counts: list[int]):
        calls = [composite(n, 5 + 31 * n, c) for n, c in enumerate(counts)]
        return trace(span("GET /users", 0, 100 * MS, kind=SpanKind.SERVER, children=calls))

    (f,) = NPlusOne().detect(analyze_trace(page([2, 3])), NONE)
    assert f.evidence["calls"] == 5
    assert list(NPlusOne().detect(analyze_trace(page([2, 2])), NONE)) == []


# --- the finding itself: what a user reads and what the what-if replays ----------------------

REVIEWS = "postgresql SELECT * FROM reviews WHERE pid = ?"


def test_a_sequential_n_plus_one_finding_in_full():
    t = product_page(6)
    ids = [f"{0xA00 + n:016x}" for n in range(6)]
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert (f.pattern, f.trace_id, f.span_ids) == ("n_plus_one", t.trace_id, tuple(ids))
    assert f.summary == (
        f"6 sequential calls to {REVIEWS} (catalog) under 'GET /product/{{id}}': "
        "60 ms of calls, 60 ms on the critical path"
    )
    assert f.saving_ns == 50 * MS
    # all of 10 ms: the fourth (the median by position among equals) stays, unchanged
    assert (f.edits.remove, f.edits.duration_ns) == (frozenset(ids) - {ids[3]}, {})
    assert f.evidence == {
        "shape": "sequential",
        "kind": "n_plus_one",
        "calls": 6,
        "spans": 6,
        "levels_up": 1,
        "branches": 1,
        "ancestor": "GET /product/{id}",
        "ancestor_span_id": t.spans[0].span_id,
        "graphql": False,
        "cache": False,
        "total_ns": 60 * MS,
        "union_ns": 60 * MS,
        "on_path_ns": 60 * MS,
        "longest_ns": 10 * MS,
        "example_span_ids": ids[:5],
    }


def test_a_parallel_fan_out_that_holds_the_path_for_one_call_saves_nothing():
    #  GET /p |--------------------|
    #  calls    |------|  x6 of 60 ms starting 1 ms apart: the last one holds the path
    t = trace(span("GET /p", 0, 100 * MS, kind=SpanKind.SERVER, service="catalog",
                   children=[query(n, 5 + n, 60) for n in range(6)]))  # fmt: skip
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.summary == (
        "concurrent N+1, a parallel fan-out of one call — 6 parallel calls to "
        f"{REVIEWS} (catalog) under 'GET /p': 360 ms of calls, 60 ms on the critical path"
    )
    assert (f.evidence["union_ns"], f.evidence["on_path_ns"]) == (65 * MS, 60 * MS)
    assert f.saving_ns == 0
    assert f.edits.duration_ns == {}  # no server side: nothing queued, a call is a call


def test_an_mn_plus_one_summary_names_the_sibling_subtrees():
    t = resolver_tree(5, depth=1)
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.summary == (
        "5 sequential calls to GET reviews /r/{id} (bff) from 5 sibling subtrees under 'page': "
        "80 ms of calls, 80 ms on the critical path"
    )
    assert (f.evidence["ancestor"], f.evidence["graphql"]) == ("page", False)


def test_graphql_attributes_alone_or_a_graphql_name_alone_make_it_a_dataloader_miss():
    # named after the operation, not "query ...": only the attributes say it is GraphQL; or
    # named "query ..." without attributes
    t = resolver_tree(5, depth=1)
    by_attrs = replace(t.spans[0], name="SearchResults",
                       attributes={"graphql.operation.name": "SearchResults"})  # fmt: skip
    by_name = replace(t.spans[0], name="query SearchResults")
    for root in (by_attrs, by_name):
        (f,) = NPlusOne().detect(analyze_trace(Trace(t.trace_id, (root, *t.spans[1:]))), NONE)
        assert f.evidence["graphql"] is True, root.name
        assert f.summary.startswith("GraphQL resolver fan-out: likely DataLoader not batching — 5 ")


def test_a_sequential_group_is_costed_by_its_sum_not_its_union():
    # five 11 ms calls, each overlapping the next by 1.3 ms: 55 ms of calls, a union of
    # 49.8 ms (over 90% of the sum: sequential), so the sum clears the 50 ms bar
    starts = [5 * MS + k * 9_700_000 for k in range(5)]
    (f,) = NPlusOne().detect(analyze_trace(calls_under_root([11 * MS] * 5, starts)), NONE)
    assert (f.evidence["shape"], f.evidence["union_ns"]) == ("sequential", 49_800_000)


def test_a_group_must_hold_critical_path_time_and_one_nanosecond_is_enough():
    calls = [query(n, 5 + 20 * n, 20) for n in range(5)]
    # a sibling that ends last and starts before the group's parent ends: no path for the group
    load = span("load", 0, 150 * MS, service="catalog", children=calls)
    other = span("other", MS, 200 * MS, service="catalog")
    t = trace(span("GET /p", 0, 200 * MS, kind=SpanKind.SERVER, service="catalog",
                   children=[load, other]))  # fmt: skip
    assert list(NPlusOne().detect(analyze_trace(t), NONE)) == []
    # the calls' parent lasts 1 ns, at the start of the last call: clipped to it, that call
    # holds the nanosecond
    load = span("load", 85 * MS, 85 * MS + 1, service="catalog", children=calls)
    t = trace(span("GET /p", 0, 90 * MS, kind=SpanKind.SERVER, service="catalog",
                   children=[load]))  # fmt: skip
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert (f.evidence["on_path_ns"], f.saving_ns) == (1, 0)


def test_the_fix_keeps_the_median_call_by_cost_not_the_middle_one_in_time():
    # 10, 20, 50, 30, 40 ms: the middle one in time is the 50 ms outlier; the 30 ms one stays
    t = calls_under_root([10 * MS, 20 * MS, 50 * MS, 30 * MS, 40 * MS])
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    (kept,) = [s for s in t.spans[1:] if s.span_id not in f.edits.remove]
    assert kept.end_ns - kept.start_ns == 30 * MS


def test_calls_are_taken_in_start_order_whatever_order_they_arrive_in():
    t = calls_under_root([10 * MS] * 5, [45 * MS, 35 * MS, 25 * MS, 15 * MS, 5 * MS])
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    by_start = [s.span_id for s in sorted(t.spans[1:], key=lambda s: s.start_ns)]
    assert f.evidence["example_span_ids"] == by_start


def composite_call(sid: str, start_ns: int, length_ns: int, count: int):
    attrs = {"db.system": "mysql", "span.composite.count": count}
    return span("SELECT FROM users", start_ns, start_ns + length_ns, kind=SpanKind.CLIENT,
                attrs=attrs, span_id=sid)  # fmt: skip


def users(*calls):
    return trace(span("GET /users", 0, 100 * MS, kind=SpanKind.SERVER, children=calls))


def test_a_kept_compressed_span_of_two_calls_shrinks_to_one_call_in_whole_nanoseconds():
    # 30 ms + 1 ns for 2 calls (15 ms each), 30 ms for 3 (10 ms each): the pair is the median
    t = users(composite_call("a", 5 * MS, 30 * MS + 1, 2), composite_call("b", 40 * MS, 30 * MS, 3))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.edits.remove == {"b"}
    assert f.edits.duration_ns == {"a": 15 * MS}
    assert type(f.edits.duration_ns["a"]) is int


def test_time_per_call_is_compared_in_whole_nanoseconds_ties_going_by_start():
    # 30 ms + 2 ns and 30 ms + 1 ns for three calls each: 10 ms per call both; the later stays
    t = users(
        composite_call("a", 5 * MS, 30 * MS + 2, 3), composite_call("b", 40 * MS, 30 * MS + 1, 3)
    )
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.edits.remove == {"a"}


def test_a_queued_fan_out_keeps_the_median_own_time_of_a_call_without_its_wait():
    # six calls started together; each one's server side began after a wait: durations 60..110
    # ms, waits 50..25 ms, so own times 10, 25, 40, 55, 70, 85 ms. The call of median
    # duration (90 ms) stays, at the median own time, 55 ms.
    durations, waits = [60, 70, 80, 90, 100, 110], [50, 45, 40, 35, 30, 25]
    calls = []
    for n, (d, w) in enumerate(zip(durations, waits, strict=True)):
        server = span(
            "GET /r",
            (5 + w) * MS,
            (5 + d - 1) * MS,
            kind=SpanKind.SERVER,
            service="reviews",
            span_id=f"srv{n}",
        )
        calls.append(span("GET", 5 * MS, (5 + d) * MS, kind=SpanKind.CLIENT, service="bff",
                          attrs={"http.request.method": "GET", "url.full": f"http://reviews/r/{n}"},
                          span_id=f"c{n}", children=[server]))  # fmt: skip
    t = trace(span("GET /page", 0, 120 * MS, kind=SpanKind.SERVER, service="bff", children=calls))
    # the first call's server side listed first: span index 0 is a callee like any other
    first = next(s for s in t.spans if s.span_id == "srv0")
    t = Trace(t.trace_id, (first, *(s for s in t.spans if s is not first)))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert f.evidence["shape"] == "parallel"
    assert f.edits.remove == {"c0", "c1", "c2", "c4", "c5"}
    assert f.edits.duration_ns == {"c3": 55 * MS}
    assert f.saving_ns == (110 - 55) * MS  # the 110 ms call held the path


# --- calls the baseline ran side by side are lost concurrency, left to `sequential` ------------


def baseline_with(together: int, apart: int, calls: int = 4):
    """Baseline traces of `calls` 20 ms queries: `together` traces all at once, `apart` one
    after another."""
    shapes = [[5 * MS] * calls] * together + [[5 * MS + 20 * MS * k for k in range(calls)]] * apart
    return build_baseline(analyze_trace(calls_under_root([20 * MS] * calls, s)) for s in shapes)


def one_after_another(n: int):
    return calls_under_root([20 * MS] * n)


def fires(t, baseline) -> bool:
    return bool(list(NPlusOne().detect(analyze_trace(t), baseline)))


def test_up_to_max_count_growth_times_the_usual_count_is_lost_concurrency_and_more_is_n_plus_one():
    assert NPlusOne().max_count_growth == 1.5
    base = baseline_with(3, 0)  # four at once, every time
    assert not fires(one_after_another(6), base)  # 6 = 1.5 x 4
    assert fires(one_after_another(7), base)


def test_the_baseline_must_overlap_them_in_min_baseline_overlap_of_its_traces():
    assert NPlusOne().min_baseline_overlap == 0.5
    assert not fires(one_after_another(5), baseline_with(1, 1))  # exactly half
    assert fires(one_after_another(5), baseline_with(1, 2))  # a third


def test_calls_that_overlap_here_too_are_not_lost_concurrency():
    # four of five one after another, the last overlapping the one before by 1 ns
    starts = [5 * MS + 20 * MS * k for k in range(5)]
    starts[-1] -= 1
    assert fires(calls_under_root([20 * MS] * 5, starts), baseline_with(3, 0))


def test_a_trace_with_compressed_spans_is_never_lost_concurrency():
    t = one_after_another(5)
    marked = replace(t.spans[1], attributes={**t.spans[1].attributes, "span.composite.count": 1})
    t = Trace(t.trace_id, (t.spans[0], marked, *t.spans[2:]))
    assert not fires(one_after_another(5), baseline_with(3, 0))
    assert fires(t, baseline_with(3, 0))


# --- the search: what must not stop it, what must not be claimed twice -------------------------


def test_a_root_that_is_a_call_itself_does_not_stop_the_search():
    root = span("GET /batch", 0, 100 * MS, kind=SpanKind.CLIENT, service="catalog",
                children=[query(n, 5 + 12 * n, 10) for n in range(5)])  # fmt: skip
    (f,) = NPlusOne().detect(analyze_trace(trace(root)), NONE)
    assert f.evidence["calls"] == 5


def test_a_resolver_listed_first_in_the_trace_is_a_branch_like_the_others():
    # span index 0 is the first resolver, not the root
    t = resolver_tree(5, depth=1)
    first = next(s for s in t.spans if s.name == "resolve")
    t = Trace(t.trace_id, (first, *(s for s in t.spans if s is not first)))
    analysis = analyze_trace(t)
    assert analysis.tree.index[first.span_id] == 0
    (f,) = NPlusOne().detect(analysis, NONE)
    assert f.evidence["branches"] == 5


def resolver(n: int, t0_ms: float, calls: int = 1):
    """One resolver at t0 making `calls` GET reviews calls of 10 ms one after another."""
    kids = [
        span("GET", round((t0_ms + 1 + 11 * k) * MS), round((t0_ms + 11 + 11 * k) * MS),
             kind=SpanKind.CLIENT, service="bff",
             attrs={"http.request.method": "GET", "url.full": f"http://reviews/r/{n}{k}"})
        for k in range(calls)
    ]  # fmt: skip
    return span("resolve", round(t0_ms * MS), kids[-1].end + MS, service="bff", children=kids)


def group(name: str, t0_ms: float, resolvers: int, calls: int = 1):
    step = 11 * calls + 2
    kids = [resolver(100 * len(name) + r, t0_ms + 1 + step * r, calls) for r in range(resolvers)]
    return span(name, round(t0_ms * MS), kids[-1].end + MS, service="bff", children=kids)


def test_buckets_with_too_few_calls_or_branches_do_not_stop_the_search():
    # under `a` 2 calls in 2 branches; under `bb` 6 calls in 2 branches; under `ccc` 5 in 5
    a = group("a", 0, 2)
    bb = group("bb", a.end / MS + 1, 2, calls=3)
    ccc = group("ccc", bb.end / MS + 1, 5)
    t = trace(span("page", 0, ccc.end + MS, service="bff", children=[a, bb, ccc]))
    (f,) = NPlusOne().detect(analyze_trace(t), NONE)
    assert (f.evidence["ancestor"], f.evidence["branches"]) == ("ccc", 5)


def test_calls_claimed_by_an_mn_plus_one_are_not_claimed_again_further_up():
    # five groups of five resolvers: five findings two levels up, none three levels up
    groups, t0 = [], 0.0
    for g in range(5):
        groups.append(group("g" * (g + 1), t0, 5))
        t0 = groups[-1].end / MS + 1
    t = trace(span("page", 0, groups[-1].end + MS, service="bff", children=groups))
    found = list(NPlusOne().detect(analyze_trace(t), NONE))
    assert [f.evidence["levels_up"] for f in found] == [2] * 5
