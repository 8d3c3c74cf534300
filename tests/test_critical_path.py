"""critical_path: the Jaeger UI's rule on drawn cases, properties, and a reference transcription."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import names, span, trace
from tests.strategies import well_formed_traces
from tracelens.critical_path import critical_path, time_on_path
from tracelens.graph import SYNTHETIC_ROOT_ID, SpanTree, build_tree
from tracelens.model import Segment, Span, SpanKind, Trace

CLIENT, SERVER = SpanKind.CLIENT, SpanKind.SERVER
PRODUCER, CONSUMER = SpanKind.PRODUCER, SpanKind.CONSUMER


def path_of(t: Trace, root_id: str | None = None) -> list[tuple[str, int, int]]:
    tree = build_tree(t)
    return names(tree.spans, critical_path(tree, root_id))


# --- drawn cases -----------------------------------------------------------------------------


def test_walks_back_from_the_last_finishing_child():
    #  X |---------------------------------|  0..100
    #  A       |--------|                     10..40
    #  C            |---------|               20..60  <- finishes last, so it is on the path
    t = trace(span("X", 0, 100, children=[span("A", 10, 40), span("C", 20, 60)]))
    assert path_of(t) == [("X", 0, 20), ("C", 20, 60), ("X", 60, 100)]


def test_each_uncovered_gap_is_its_own_self_time_segment():
    #  X |----------------------------------------|  0..100
    #  A      |-------|                               10..30
    #  B                     |-------|                50..70
    t = trace(span("X", 0, 100, children=[span("A", 10, 30), span("B", 50, 70)]))
    assert path_of(t) == [("X", 0, 10), ("A", 10, 30), ("X", 30, 50), ("B", 50, 70), ("X", 70, 100)]


def test_a_sibling_overlapping_the_chosen_childs_start_is_not_on_the_path():
    #  X |----------------------------------------|  0..100
    #  A     |--------------|                         10..50  ends after B started
    #  B                |--------------|              40..80  <- last to finish
    t = trace(span("X", 0, 100, children=[span("A", 10, 50), span("B", 40, 80)]))
    assert path_of(t) == [("X", 0, 40), ("B", 40, 80), ("X", 80, 100)]


def test_the_walk_descends_and_comes_back_to_earlier_siblings():
    #  X |--------------------------------------------|  0..100
    #  A    |----------|                                 5..40
    #  A1      |---|                                     10..20
    #  B                  |-----------------|            45..90
    #  B1                      |-----|                   55..70
    t = trace(
        span(
            "X", 0, 100,
            children=[
                span("A", 5, 40, children=[span("A1", 10, 20)]),
                span("B", 45, 90, children=[span("B1", 55, 70)]),
            ],
        )
    )  # fmt: skip
    assert path_of(t) == [
        ("X", 0, 5), ("A", 5, 10), ("A1", 10, 20), ("A", 20, 40), ("X", 40, 45),
        ("B", 45, 55), ("B1", 55, 70), ("B", 70, 90), ("X", 90, 100),
    ]  # fmt: skip


def test_a_child_overflowing_its_parent_is_clipped_to_it():
    #  X |--------------------|          0..100
    #  A             |-------------|     60..130  same process: clipped at 100, not shifted
    t = trace(span("X", 0, 100, children=[span("A", 60, 130)]))
    assert path_of(t) == [("X", 0, 60), ("A", 60, 100)]


def test_a_child_starting_before_its_parent_is_clipped_at_the_parents_start():
    #  R |------------------------------|  0..100
    #  X         |------------|            30..70
    #  A      |-------|                    20..50  starts before X: clipped to 30..50
    t = trace(span("R", 0, 100, children=[span("X", 30, 70, children=[span("A", 20, 50)])]))
    assert path_of(t) == [("R", 0, 30), ("A", 30, 50), ("X", 50, 70), ("R", 70, 100)]


def test_a_child_covering_both_ends_of_its_parent_holds_all_of_it():
    #  R |------------------------------|  0..100
    #  X         |------------|            30..70
    #  A      |--------------------|       20..90  covers both ends of X: clipped to 30..70
    #  A1                      |-----|     75..85  outside the clipped A: dropped
    t = trace(
        span("R", 0, 100, children=[
            span("X", 30, 70, children=[span("A", 20, 90, children=[span("A1", 75, 85)])])
        ])
    )  # fmt: skip
    assert path_of(t) == [("R", 0, 30), ("A", 30, 70), ("R", 70, 100)]


def test_children_wholly_outside_their_parent_are_dropped_even_when_touching_it():
    #  X |----------|                  0..100
    #  A                 |-----|       120..150  wholly after X
    #  B            |----|             100..130  starts at X's end: outside too
    #  C  |-|                          -20..0   ends at X's start: outside too
    t = trace(
        span("X", 0, 100, children=[span("A", 120, 150), span("B", 100, 130), span("C", -20, 0)])
    )
    assert path_of(t) == [("X", 0, 100)]


def test_a_child_wholly_before_its_parent_does_not_hide_the_children_after_it():
    #  X      |----------|             0..100
    #  C  |-|                          -20..-5  wholly before X: dropped
    #  A         |---|                 10..40   still on the path
    t = trace(span("X", 0, 100, children=[span("C", -20, -5), span("A", 10, 40)]))
    assert path_of(t) == [("X", 0, 10), ("A", 10, 40), ("X", 40, 100)]


def test_a_consumer_of_a_producer_does_not_block_it():
    #  X |------------------------------------|  0..100  SERVER
    #  P      |--------------------|             10..60  PRODUCER
    #  C          |-----------|                  20..50  CONSUMER of P: async, left out
    #  C1           |----|                       25..35  ...with its subtree
    t = trace(
        span("X", 0, 100, kind=SERVER, children=[
            span("P", 10, 60, kind=PRODUCER, children=[
                span("C", 20, 50, kind=CONSUMER, children=[span("C1", 25, 35)])
            ])
        ])
    )  # fmt: skip
    assert path_of(t) == [("X", 0, 10), ("P", 10, 60), ("X", 60, 100)]


def test_a_consumer_under_a_client_span_is_a_blocking_child():
    #  X |------------------------------------|  0..100
    #  Q      |--------------------|             10..60  CLIENT (a synchronous request)
    #  C          |-----------|                  20..50  CONSUMER: the client waits for it
    t = trace(
        span("X", 0, 100, children=[
            span("Q", 10, 60, kind=CLIENT, children=[span("C", 20, 50, kind=CONSUMER)])
        ])
    )  # fmt: skip
    assert path_of(t) == [("X", 0, 10), ("Q", 10, 20), ("C", 20, 50), ("Q", 50, 60), ("X", 60, 100)]


def test_a_span_hung_by_a_follows_from_link_does_not_block_its_parent():
    #  X |------------------------------|  0..100
    #  F          |----------|             30..60  no parent id, links to X (FOLLOWS_FROM)
    t = trace(span("X", 0, 100, span_id="aaaaaaaaaaaaaaaa"))
    follower = Span(
        trace_id=t.trace_id, span_id="bbbbbbbbbbbbbbbb", parent_id=None, service="svc",
        name="F", start_ns=30, end_ns=60, links=("aaaaaaaaaaaaaaaa",),
    )  # fmt: skip
    t = Trace(t.trace_id, (*t.spans, follower))
    tree = build_tree(t)
    assert tree.parent_of("bbbbbbbbbbbbbbbb") == tree.span("aaaaaaaaaaaaaaaa")
    assert names(tree.spans, critical_path(tree)) == [("X", 0, 100)]


@pytest.mark.parametrize("sibling", [False, True])
@pytest.mark.parametrize(
    ("parent_id", "links", "blocks"),
    [
        (None, ("a000000000000000",), False),  # FOLLOWS_FROM A only: not waited for
        ("a000000000000000", ("a000000000000000",), True),  # CHILD_OF A, and a link to it too
        ("a000000000000000", ("00000000deadbeef",), True),  # CHILD_OF A, a link elsewhere
        ("a000000000000000", (), True),  # plain CHILD_OF
    ],
)
def test_a_child_blocks_unless_it_merely_follows_from_its_parent(parent_id, links, blocks, sibling):
    # An only child below the root takes the walk's one-child shortcut; with a sibling after it,
    # the general rule: the same answer either way, and the sibling is on the path regardless.
    #  X |------------------------------|  0..100
    #  A     |----------------------|      10..90
    #  K            |--------|             30..60  the child in question
    #  S                        |--|       70..80  (with `sibling`) an ordinary child after it
    kids = [span("S", 70, 80)] if sibling else []
    t = trace(span("X", 0, 100, children=[span("A", 10, 90, span_id="a000000000000000",
                                               children=kids)]))  # fmt: skip
    child = Span(
        trace_id=t.trace_id, span_id="c000000000000000", parent_id=parent_id, service="svc",
        name="K", start_ns=30, end_ns=60, links=links,
    )  # fmt: skip
    tree = build_tree(Trace(t.trace_id, (*t.spans, child)))
    assert tree.parent_of("c000000000000000") == tree.span("a000000000000000")
    inside = [("A", 10, 30), ("K", 30, 60), ("A", 60, 90)] if blocks else [("A", 10, 90)]
    if sibling:  # S splits A's last piece
        last = inside.pop()
        inside += [(last[0], last[1], 70), ("S", 70, 80), ("A", 80, 90)]
    assert names(tree.spans, critical_path(tree)) == [("X", 0, 10), *inside, ("X", 90, 100)]


def test_a_producers_consumer_is_skipped_but_its_later_children_still_block():
    #  P |------------------------------|  0..100  PRODUCER
    #  C     |----|                        10..20  CONSUMER: async, skipped
    #  A              |--------|           30..60  an ordinary child after it: on the path
    t = trace(
        span("P", 0, 100, kind=PRODUCER, children=[
            span("C", 10, 20, kind=CONSUMER), span("A", 30, 60),
        ])
    )  # fmt: skip
    assert path_of(t) == [("P", 0, 30), ("A", 30, 60), ("P", 60, 100)]


def test_an_only_consumer_child_of_a_producer_below_the_root_is_skipped():
    t = trace(
        span("X", 0, 100, children=[
            span("P", 10, 90, kind=PRODUCER, children=[span("C", 20, 50, kind=CONSUMER)]),
        ])
    )  # fmt: skip
    assert path_of(t) == [("X", 0, 10), ("P", 10, 90), ("X", 90, 100)]


def test_siblings_that_touch_exactly_are_both_on_the_path():
    # The Jaeger UI takes only a child ending strictly before the returning point, so it would
    # give A's time to X; back-to-back calls are the N+1 shape, so we keep them on the path.
    #  X |------------------------------|  0..100
    #  A     |--------|                    10..40
    #  B              |--------|           40..70  starts the instant A ends
    t = trace(span("X", 0, 100, children=[span("A", 10, 40), span("B", 40, 70)]))
    assert path_of(t) == [("X", 0, 10), ("A", 10, 40), ("B", 40, 70), ("X", 70, 100)]


def test_of_children_ending_together_the_longest_is_taken():
    #  X |------------------------------|  0..100
    #  A     |--------------|              10..60
    #  B            |-------|              30..60  same end, shorter
    t = trace(span("X", 0, 100, children=[span("B", 30, 60), span("A", 10, 60)]))
    assert path_of(t) == [("X", 0, 10), ("A", 10, 60), ("X", 60, 100)]


def test_a_zero_length_child_does_not_split_its_parents_self_time():
    #  X |----------|----------|  0..100, Z at 50..50
    t = trace(span("X", 0, 100, children=[span("Z", 50, 50)]))
    assert path_of(t) == [("X", 0, 100)]


def test_an_orphan_hangs_under_the_root_and_blocks_it():
    #  R |------------------------------|  0..100
    #  O          |----------|             30..60  parent "feedfacefeedface" is not in the trace
    t = trace(span("R", 0, 100))
    orphan = Span(
        trace_id=t.trace_id, span_id="cccccccccccccccc", parent_id="feedfacefeedface",
        service="svc", name="O", start_ns=30, end_ns=60,
    )  # fmt: skip
    assert path_of(Trace(t.trace_id, (*t.spans, orphan))) == [
        ("R", 0, 30),
        ("O", 30, 60),
        ("R", 60, 100),
    ]


def test_several_roots_get_a_synthetic_root_and_each_root_its_own_path():
    #  (trace) |--------------------------|  0..100  synthetic
    #  A       |-------------|               0..50
    #  A1          |---|                     10..20
    #  B                  |---------------|  40..100 overlaps A's end: A is off the whole path
    a = trace(span("A", 0, 50, span_id="f00000000000000a", children=[span("A1", 10, 20)]))
    b = trace(span("B", 40, 100, span_id="f00000000000000b"))
    tree = build_tree(Trace(a.trace_id, (*a.spans, *b.spans)))
    assert tree.root_span.span_id == SYNTHETIC_ROOT_ID
    assert names(tree.spans, critical_path(tree)) == [("(trace)", 0, 40), ("B", 40, 100)]
    assert names(tree.spans, critical_path(tree, "f00000000000000a")) == [
        ("A", 0, 10), ("A1", 10, 20), ("A", 20, 50),
    ]  # fmt: skip


def test_a_shifted_server_span_is_walked_at_its_corrected_time():
    #  C  |--------------------|            10..50  CLIENT on host h1
    #  S                           |----|   60..80  SERVER on h2, outside: centred to 20..40
    t = trace(
        span("C", 10, 50, kind=CLIENT, process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="back", process="h2"),
        ])
    )  # fmt: skip
    assert path_of(t) == [("C", 10, 20), ("S", 20, 40), ("C", 40, 50)]


def test_the_path_of_a_subtree_tiles_that_spans_own_interval():
    t = trace(span("X", 0, 100, children=[span("A", 10, 60, span_id="f0000000000000aa", children=[
        span("A1", 50, 80),
    ])]))  # fmt: skip
    assert path_of(t, "f0000000000000aa") == [("A", 10, 50), ("A1", 50, 60)]


def test_an_empty_trace_has_an_empty_path():
    assert critical_path(build_tree(Trace("00", ()))) == ()


def test_time_on_path_adds_up_each_spans_segments():
    t = trace(span("X", 0, 100, span_id="f000000000000001", children=[span("A", 10, 30)]))
    assert time_on_path(critical_path(build_tree(t))) == {
        "f000000000000001": 80,
        t.spans[1].span_id: 20,
    }


# --- size: iterative all the way -------------------------------------------------------------


def test_five_thousand_sequential_calls_are_all_on_the_path():
    # The N+1 shape: 5,000 back-to-back calls, each 10 ns, after a 7 ns head.
    calls = [span(f"q{k}", 7 + 10 * k, 17 + 10 * k) for k in range(5000)]
    t = trace(span("X", 0, 50_010, children=calls))
    tree = build_tree(t)
    path = critical_path(tree)  # its speed: bench/speed.py
    assert len(path) == 5002
    assert path[0] == Segment(tree.root_span.span_id, 0, 7)
    assert [s.end_ns - s.start_ns for s in path[1:-1]] == [10] * 5000
    assert path[-1] == Segment(tree.root_span.span_id, 50_007, 50_010)


def test_a_ten_thousand_deep_chain_has_no_recursion_limit():
    depth = 10_000
    spans = [
        Span(
            trace_id="ab" * 16, span_id=f"{k + 1:016x}", parent_id=f"{k:016x}" if k else None,
            service="svc", name=f"s{k}", start_ns=k, end_ns=2 * depth - k,
        )
        for k in range(depth)
    ]  # fmt: skip
    random.Random(7).shuffle(spans)
    tree = build_tree(spans)
    path = critical_path(tree)
    # Every span holds its first and last nanosecond; the deepest holds the middle two.
    assert len(path) == 2 * depth - 1
    assert path[depth - 1] == Segment(f"{depth:016x}", depth - 1, depth + 1)
    assert path[0] == Segment(f"{1:016x}", 0, 1)


# --- properties ------------------------------------------------------------------------------


def clipped_intervals(tree: SpanTree, root: int) -> dict[int, tuple[int, int]]:
    """Each blocking span's interval clipped to its parent's, as the Jaeger UI sanitises them."""
    spans = tree.spans
    out = {root: (spans[root].start_ns, spans[root].end_ns)}
    todo = [root]
    while todo:
        p = todo.pop()
        lo, hi = out[p]
        for c in tree.children[p]:
            if not blocking(tree, p, c):
                continue
            s, e = spans[c].start_ns, spans[c].end_ns
            if not (s >= lo and e <= hi):
                if s >= hi or e <= lo:
                    continue
                s, e = max(s, lo), min(e, hi)
            out[c] = (s, e)
            todo.append(c)
    return out


def blocking(tree: SpanTree, p: int, c: int) -> bool:
    par, child = tree.spans[p], tree.spans[c]
    if par.kind == PRODUCER and child.kind == CONSUMER:
        return False
    return child.parent_id == par.span_id or par.span_id not in child.links


def reference_path(tree: SpanTree) -> list[Segment]:
    """The Jaeger UI's computeCriticalPath transcribed (recursive: small trees only).

    Differences kept on purpose, as in critical_path: a child ending exactly at the returning
    point qualifies (`<=`), ties go to the longest child, and pieces that meet are merged.
    """
    spans = tree.spans
    eff = clipped_intervals(tree, tree.root)
    kids = {
        i: sorted(
            (c for c in tree.children[i] if c in eff),
            key=lambda c: (eff[c][1], -eff[c][0], spans[c].span_id),
            reverse=True,
        )
        for i in eff
    }
    taken: set[int] = set()
    out: list[tuple[int, int, int]] = []

    def compute(i: int, returning: int | None) -> None:
        hi = eff[i][1] if returning is None else returning
        lfc = next((c for c in kids[i] if c not in taken and eff[c][1] <= hi), None)
        if lfc is not None:
            taken.add(lfc)
            out.append((i, eff[lfc][1], hi))
            compute(lfc, None)
        else:
            out.append((i, eff[i][0], hi))
            if i != tree.root:
                compute(tree.parent[i], eff[i][0])

    compute(tree.root, None)
    merged: list[Segment] = []
    for i, s, e in reversed(out):
        if s == e:
            continue
        sid = spans[i].span_id
        if merged and merged[-1].span_id == sid and merged[-1].end_ns == s:
            merged[-1] = Segment(sid, merged[-1].start_ns, e)
        else:
            merged.append(Segment(sid, s, e))
    return merged


@settings(max_examples=300, deadline=None)
@given(well_formed_traces())
def test_segments_tile_the_root_in_time_order(t: Trace) -> None:
    tree = build_tree(t)
    path = critical_path(tree)
    root = tree.root_span
    if root.end_ns == root.start_ns:
        assert path == ()
        return
    assert (path[0].start_ns, path[-1].end_ns) == (root.start_ns, root.end_ns)
    assert all(a.end_ns == b.start_ns for a, b in pairwise(path))
    assert all(s.start_ns < s.end_ns for s in path)
    assert sum(time_on_path(path).values()) == root.end_ns - root.start_ns


@settings(max_examples=300, deadline=None)
@given(well_formed_traces())
def test_each_segment_lies_inside_its_spans_clipped_interval(t: Trace) -> None:
    tree = build_tree(t)
    eff = clipped_intervals(tree, tree.root)
    for seg in critical_path(tree):
        lo, hi = eff[tree.index[seg.span_id]]
        assert lo <= seg.start_ns < seg.end_ns <= hi


@settings(max_examples=300, deadline=None)
@given(well_formed_traces(), st.randoms(use_true_random=False))
def test_shuffling_the_input_spans_never_changes_the_path(t: Trace, rnd: random.Random) -> None:
    spans = list(t.spans)
    rnd.shuffle(spans)
    shuffled, tree = build_tree(Trace(t.trace_id, tuple(spans))), build_tree(t)
    assert critical_path(shuffled) == critical_path(tree)
    assert shuffled.shifts == tree.shifts
    # the same children, in the same order, whatever the indices
    assert shuffled.children == tuple(
        tuple(shuffled.index[tree.spans[c].span_id] for c in kids)
        for kids in (tree.children[tree.index[sp.span_id]] for sp in shuffled.spans)
    )


@settings(max_examples=300, deadline=None)
@given(well_formed_traces())
def test_the_walk_matches_the_jaeger_ui_rule_transcribed(t: Trace) -> None:
    tree = build_tree(t)
    assert list(critical_path(tree)) == reference_path(tree)
