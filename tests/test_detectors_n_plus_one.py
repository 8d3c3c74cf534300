"""n_plus_one: repeated identical calls under one parent, and the DataLoader (MN+1) shape."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline
from tracelens.detectors.n_plus_one import NPlusOne
from tracelens.model import SpanKind

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
