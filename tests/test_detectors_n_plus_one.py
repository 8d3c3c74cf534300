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
