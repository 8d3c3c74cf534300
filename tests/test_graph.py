"""build_tree: parents, repairs recorded as problems, clock-skew shifts, and the tree's walks."""

from __future__ import annotations

import dataclasses
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import span, trace
from tests.strategies import well_formed_traces
from tracelens.graph import SYNTHETIC_ROOT_ID, SpanTree, build_tree
from tracelens.model import Problem, ProblemKind, Span, SpanKind, Trace

TID = "0af7651916cd43dd8448eb211c80319c"
CLIENT, SERVER, CONSUMER = SpanKind.CLIENT, SpanKind.SERVER, SpanKind.CONSUMER


def raw(span_id: str, parent_id: str | None, start: int, end: int, **kw: object) -> Span:
    return Span(
        trace_id=TID, span_id=span_id, parent_id=parent_id, service=str(kw.pop("service", "svc")),
        name=str(kw.pop("name", span_id)), start_ns=start, end_ns=end, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def kinds(tree: SpanTree) -> list[ProblemKind]:
    return [p.kind for p in tree.problems]


def test_a_well_formed_trace_has_one_real_root_and_no_problems():
    t = trace(span("X", 0, 100, children=[span("A", 10, 40), span("B", 20, 60)]))
    tree = build_tree(t)
    tree.self_check()
    assert tree.root_span.name == "X"
    assert [s.name for s in tree.children_of(tree.root_span.span_id)] == ["A", "B"]
    assert tree.problems == ()
    assert tree.shifts == ()
    assert tree.spans[tree.root] is t.spans[0]  # untouched spans are not copied


def test_children_are_sorted_by_start_end_and_id_whatever_the_input_order():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw("f000000000000004", "f000000000000001", 10, 30),
        raw("f000000000000003", "f000000000000001", 10, 30),
        raw("f000000000000002", "f000000000000001", 10, 20),
        raw("f000000000000005", "f000000000000001", 5, 90),
    ]
    expected = ["f000000000000005", "f000000000000002", "f000000000000003", "f000000000000004"]
    for seed in range(5):
        random.Random(seed).shuffle(spans)
        tree = build_tree(spans)
        assert [s.span_id for s in tree.children_of("f000000000000001")] == expected


def test_the_parent_falls_back_to_the_first_link_present_in_the_trace():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw("f000000000000002", "f000000000000001", 10, 50),
        raw("f000000000000003", "00000000deadbeef", 20, 30,
            links=("00000000cafef00d", "f000000000000002", "f000000000000001")),
    ]  # fmt: skip
    tree = build_tree(spans)
    assert tree.parent_of("f000000000000003") == spans[1]
    assert tree.problems == ()


def test_an_orphan_hangs_under_the_root_and_is_recorded():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw("f000000000000002", "00000000deadbeef", 5, 9),
    ]
    tree = build_tree(spans)
    tree.self_check()
    assert tree.parent_of("f000000000000002") == spans[0]
    assert kinds(tree) == [ProblemKind.ORPHAN]
    assert tree.problems[0].span_id == "f000000000000002"


def test_several_parentless_spans_get_a_synthetic_root_over_all_of_them():
    #  (trace) |----------------------|  0..90
    #  A       |-------|                 0..30
    #  B                  |--------|     50..80
    #  O                     |------|    60..90  orphan
    spans = [
        raw("f00000000000000a", None, 0, 30),
        raw("f00000000000000b", None, 50, 80),
        raw("f00000000000000c", "00000000deadbeef", 60, 90),
    ]
    tree = build_tree(spans)
    tree.self_check()
    root = tree.root_span
    assert (root.span_id, root.service, root.name) == (SYNTHETIC_ROOT_ID, "(trace)", "(trace)")
    assert (root.start_ns, root.end_ns) == (0, 90)
    assert [s.span_id for s in tree.children_of(SYNTHETIC_ROOT_ID)] == [
        "f00000000000000a", "f00000000000000b", "f00000000000000c",
    ]  # fmt: skip
    assert sorted(kinds(tree)) == sorted([ProblemKind.MULTIPLE_ROOTS, ProblemKind.ORPHAN])


def test_a_trace_of_orphans_only_has_no_root_and_gets_a_synthetic_one():
    spans = [raw("f00000000000000a", "00000000deadbeef", 10, 30)]
    tree = build_tree(spans)
    tree.self_check()
    assert tree.root_span.span_id == SYNTHETIC_ROOT_ID
    assert (tree.root_span.start_ns, tree.root_span.end_ns) == (10, 30)
    assert ProblemKind.NO_ROOT in kinds(tree)


def test_an_empty_trace_is_a_zero_length_synthetic_root():
    tree = build_tree(Trace(TID, ()))
    tree.self_check()
    assert tree.trace_id == TID
    assert (tree.root_span.span_id, tree.root_span.duration_ns) == (SYNTHETIC_ROOT_ID, 0)
    assert kinds(tree) == [ProblemKind.EMPTY]


def test_an_exact_copy_is_dropped_and_a_different_span_with_the_same_id_renamed():
    root = raw("f000000000000001", None, 0, 100)
    a = raw("f000000000000002", "f000000000000001", 10, 20, name="first")
    b = raw("f000000000000002", "f000000000000001", 30, 40, name="second")
    c = raw("f000000000000003", "f000000000000002", 12, 18)
    tree = build_tree([root, a, a, b, c, b])
    tree.self_check()
    assert len(tree.spans) == 4
    assert tree.span("f000000000000002#2").name == "second"
    assert tree.parent_of("f000000000000003") == a  # children of the id hang under the first
    assert kinds(tree) == [
        ProblemKind.DUPLICATE_SPAN,
        ProblemKind.DUPLICATE_ID,
        ProblemKind.DUPLICATE_SPAN,
    ]


def test_a_renamed_duplicate_never_takes_an_id_already_in_the_trace():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw("f000000000000001#2", "f000000000000001", 1, 2),
        raw("f000000000000001", "f000000000000001#2", 3, 4),
    ]
    tree = build_tree(spans)
    tree.self_check()
    assert "f000000000000001#3" in tree.index


def test_a_parent_loop_is_broken_under_the_root_at_its_earliest_span():
    #  R |------------------------|  0..100
    #  A     |-------|               10..40  parent B
    #  B         |-------|           20..50  parent A   <- A and B form a loop
    #  C           |--|              25..30  parent B
    spans = [
        raw("f00000000000000b", "f00000000000000a", 20, 50),
        raw("f00000000000000c", "f00000000000000b", 25, 30),
        raw("f000000000000001", None, 0, 100),
        raw("f00000000000000a", "f00000000000000b", 10, 40),
    ]
    tree = build_tree(spans)
    tree.self_check()
    assert kinds(tree) == [ProblemKind.CYCLE]
    assert tree.problems[0].span_id == "f00000000000000a"
    assert tree.parent_of("f00000000000000a") == spans[2]
    assert [s.span_id for s in tree.ancestors("f00000000000000c")] == [
        "f00000000000000b", "f00000000000000a", "f000000000000001",
    ]  # fmt: skip


def test_a_trace_that_is_only_a_loop_gets_a_synthetic_root():
    spans = [raw("f00000000000000a", "f00000000000000a", 10, 40)]
    tree = build_tree(spans)
    tree.self_check()
    assert tree.root_span.span_id == SYNTHETIC_ROOT_ID
    assert sorted(kinds(tree)) == sorted([ProblemKind.NO_ROOT, ProblemKind.CYCLE])


def test_a_negative_duration_becomes_zero_length_at_the_start():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw("f000000000000002", "f000000000000001", 50, 40),
    ]
    tree = build_tree(spans)
    tree.self_check()
    fixed = tree.span("f000000000000002")
    assert (fixed.start_ns, fixed.end_ns) == (50, 50)
    assert kinds(tree) == [ProblemKind.NEGATIVE_DURATION]


def test_a_server_span_outside_its_client_on_another_host_is_centred_with_its_subtree():
    #  C  |--------------------|             10..50  CLIENT, host h1
    #  S                           |----|    60..80  SERVER, host h2: outside C
    #  S1                            |-|     65..70  moves with S
    #  after: S 20..40 (centred: 10 ns of latency each way), S1 25..30
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="front", process="h1", span_id="f00000000000000c",
             children=[span("S", 60, 80, kind=SERVER, service="back", process="h2",
                            span_id="f000000000000005", children=[span("S1", 65, 70, service="back",
                                                                       process="h2")])])
    )  # fmt: skip
    tree = build_tree(t)
    tree.self_check()
    s = tree.span("f000000000000005")
    assert (s.start_ns, s.end_ns) == (20, 40)
    (s1,) = tree.children_of("f000000000000005")
    assert (s1.start_ns, s1.end_ns) == (25, 30)
    (shift,) = tree.shifts
    assert (shift.span_id, shift.service, shift.parent_service, shift.shift_ns) == (
        "f000000000000005", "back", "front", -40,
    )  # fmt: skip
    assert "centred" in shift.reason


def test_a_server_span_longer_than_its_client_is_aligned_to_its_start():
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="front", process="h1", children=[
            span("S", 0, 60, kind=SERVER, service="back", process="h2", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    s = tree.span("f000000000000005")
    assert (s.start_ns, s.end_ns) == (10, 70)
    assert [x.shift_ns for x in tree.shifts] == [10]


def test_a_same_host_child_overflowing_its_parent_is_not_shifted():
    #  C  |--------|          10..50  CLIENT on h1
    #  S        |--------|    40..70  SERVER, same process: left for the critical path to clip
    t = trace(
        span("C", 10, 50, kind=CLIENT, process="h1", children=[
            span("S", 40, 70, kind=SERVER, process="h1", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert tree.shifts == ()
    assert (tree.span("f000000000000005").start_ns, tree.span("f000000000000005").end_ns) == (
        40,
        70,
    )


def test_a_server_span_already_inside_its_client_stays_put():
    t = trace(
        span("C", 10, 50, kind=CLIENT, process="h1", children=[
            span("S", 20, 45, kind=SERVER, service="back", process="h2"),
        ])
    )  # fmt: skip
    assert build_tree(t).shifts == ()


def test_shifts_run_top_down_so_a_grandchild_is_checked_after_its_ancestors_moved():
    #  C1 |------------------------------|   0..100    CLIENT, h1
    #  S1                                   |--------------------|  200..260  SERVER h2 -> 20..80
    #  C2                                     |-----------|         210..250  CLIENT h2 -> 30..70
    #  S3                                       |----|              220..230  SERVER h3: fits
    #     C2 before its move, so only S1 is shifted; S3 moves with it and still fits.
    #  S4 (h3) at 0..10 under C2: outside C2 once C2 has moved -> centred in 30..70
    t = trace(
        span("C1", 0, 100, kind=CLIENT, service="a", process="h1", children=[
            span("S1", 200, 260, kind=SERVER, service="b", process="h2", children=[
                span("C2", 210, 250, kind=CLIENT, service="b", process="h2", children=[
                    span("S3", 220, 230, kind=SERVER, service="c", process="h3",
                         span_id="f000000000000003"),
                    span("S4", 0, 10, kind=SERVER, service="c", process="h3",
                         span_id="f000000000000004"),
                ]),
            ]),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    tree.self_check()
    s3, s4 = tree.span("f000000000000003"), tree.span("f000000000000004")
    assert (s3.start_ns, s3.end_ns) == (40, 50)
    assert (s4.start_ns, s4.end_ns) == (45, 55)
    assert [x.shift_ns for x in tree.shifts] == [-180, 225]  # each relative to its parent


def test_one_service_on_two_hosts_is_two_clocks():
    #  C  |--------|            10..50  CLIENT  api on h1
    #  S              |----|    60..80  SERVER  api on h2: same service, another host -> centred
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="api", process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="api", process="h2", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert (tree.span("f000000000000005").start_ns, tree.span("f000000000000005").end_ns) == (
        20,
        40,
    )
    assert [(x.service, x.parent_service, x.shift_ns) for x in tree.shifts] == [("api", "api", -40)]


def test_two_services_on_one_host_are_shifted_too():
    # The rule is "different service OR different host": readers often fill the process from a
    # shared tag (a node name, a pod IP), so a change of service alone counts as another clock.
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="web", process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="api", process="h1", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert (tree.span("f000000000000005").start_ns, tree.span("f000000000000005").end_ns) == (
        20,
        40,
    )
    assert [(x.service, x.parent_service) for x in tree.shifts] == [("api", "web")]


def test_one_service_on_one_host_is_one_clock_even_for_a_server_under_a_client():
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="api", process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="api", process="h1", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert tree.shifts == ()
    assert tree.span("f000000000000005").start_ns == 60


@pytest.mark.parametrize(
    ("start", "end", "shifted"),
    [
        (10, 50, False),  # exactly the client's interval: inside
        (9, 49, True),  # one ns early
        (11, 51, True),  # one ns late
        (10, 10, False),  # zero length at the client's start
        (50, 50, False),  # zero length at its end
    ],
)
def test_a_server_span_is_shifted_only_when_it_leaves_its_client(start, end, shifted):
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="web", process="h1", children=[
            span("S", start, end, kind=SERVER, service="api", process="h2"),
        ])
    )  # fmt: skip
    assert bool(build_tree(t).shifts) is shifted


def test_a_server_span_as_long_as_its_client_is_centred_which_is_start_aligned():
    t = trace(
        span("C", 10, 50, kind=CLIENT, service="web", process="h1", children=[
            span("S", 11, 51, kind=SERVER, service="api", process="h2", span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert (tree.span("f000000000000005").start_ns, tree.span("f000000000000005").end_ns) == (
        10,
        50,
    )
    (shift,) = tree.shifts
    assert "centred" in shift.reason
    assert shift.shift_ns == -1


def test_an_internal_or_client_child_of_a_client_on_another_host_is_not_shifted():
    for kind in (SpanKind.INTERNAL, CLIENT, SpanKind.PRODUCER):
        t = trace(
            span("C", 10, 50, kind=CLIENT, service="web", process="h1", children=[
                span("S", 60, 80, kind=kind, service="api", process="h2"),
            ])
        )  # fmt: skip
        assert build_tree(t).shifts == (), kind


def test_a_server_under_a_server_on_another_host_is_not_shifted():
    # only a CLIENT parent's clock is compared: a server span under a server span is not a call
    t = trace(
        span("P", 10, 50, kind=SERVER, service="web", process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="api", process="h2"),
        ])
    )  # fmt: skip
    assert build_tree(t).shifts == ()


def test_a_consumer_receiving_from_a_client_on_another_host_is_shifted_too():
    t = trace(
        span("C", 10, 50, kind=CLIENT, process="h1", children=[
            span("Q", 100, 110, kind=CONSUMER, service="worker", process="h2"),
        ])
    )  # fmt: skip
    assert len(build_tree(t).shifts) == 1


def test_descendants_are_depth_first_in_child_order_and_ancestors_go_up_to_the_root():
    t = trace(
        span("X", 0, 100, span_id="f000000000000001", children=[
            span("A", 10, 40, children=[span("A1", 12, 20), span("A2", 25, 30)]),
            span("B", 50, 90, span_id="f0000000000000b0", children=[span("B1", 60, 70)]),
        ])
    )  # fmt: skip
    tree = build_tree(t)
    assert [s.name for s in tree.descendants("f000000000000001")] == ["A", "A1", "A2", "B", "B1"]
    assert [s.name for s in tree.descendants("f0000000000000b0")] == ["B1"]
    leaf = tree.children_of("f0000000000000b0")[0].span_id
    assert [s.name for s in tree.ancestors(leaf)] == ["B", "X"]
    assert tree.parent_of("f000000000000001") is None


def test_a_ten_thousand_deep_chain_builds_and_walks_without_recursion():
    depth = 10_000
    spans = [
        raw(f"{k + 1:016x}", f"{k:016x}" if k else None, k, 2 * depth - k) for k in range(depth)
    ]
    tree = build_tree(spans[::-1])
    tree.self_check()
    assert sum(1 for _ in tree.descendants(f"{1:016x}")) == depth - 1
    assert sum(1 for _ in tree.ancestors(f"{depth:016x}")) == depth - 1


def test_self_check_catches_a_broken_tree():
    tree = build_tree(trace(span("X", 0, 100, children=[span("A", 10, 40), span("B", 50, 60)])))
    unsorted = dataclasses.replace(tree, children=tuple(c[::-1] for c in tree.children))
    with pytest.raises(AssertionError, match="not sorted"):
        unsorted.self_check()
    two_roots = dataclasses.replace(tree, parent=(-1, -1, 0))
    with pytest.raises(AssertionError):
        two_roots.self_check()


@settings(max_examples=200, deadline=None)
@given(well_formed_traces())
def test_every_built_tree_passes_its_self_check(t: Trace) -> None:
    tree = build_tree(t)
    tree.self_check()
    assert len(tree.spans) == len(t.spans)
    assert tree.problems == ()  # well-formed: nothing to repair


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 7), st.integers(-5, 50),
                          st.integers(-5, 50)), max_size=12))  # fmt: skip
def test_any_tangle_of_ids_and_parents_still_builds_a_valid_tree(rows) -> None:
    # Ids and parents from a tiny pool: duplicates, loops, orphans and self-parents all occur.
    spans = [
        raw(f"{sid:016x}", None if pid == 7 else f"{pid:016x}", s, e, name=f"n{k}")
        for k, (sid, pid, s, e) in enumerate(rows)
    ]
    tree = build_tree(spans)
    tree.self_check()
    kept = {(sp.span_id.split("#")[0], sp.name) for sp in tree.spans} - {
        (SYNTHETIC_ROOT_ID, "(trace)")
    }
    assert kept == {(sp.span_id, sp.name) for sp in spans}


def test_an_orphan_server_span_under_a_client_root_is_not_shifted():
    # Its real parent is missing, so the root's clock says nothing about it.
    spans = [
        raw("0000000000000001", None, 10, 50, kind=CLIENT, process="h1"),
        raw("0000000000000002", "00000000deadbeef", 60, 80, kind=SERVER, service="b", process="h2"),
    ]
    tree = build_tree(spans)
    assert tree.shifts == ()
    assert tree.span("0000000000000002").start_ns == 60


# --- what each repair says, exactly ------------------------------------------------------------


def test_each_duplicate_problem_names_the_id_and_what_was_done():
    root = raw("f000000000000001", None, 0, 100)
    a = raw("f000000000000002", "f000000000000001", 10, 20, name="first")
    b = raw("f000000000000002", "f000000000000001", 30, 40, name="second", service="api")
    assert build_tree([root, a, a, b]).problems == (
        Problem(ProblemKind.DUPLICATE_SPAN, "f000000000000002",
                "an exact copy of this span was dropped"),
        Problem(ProblemKind.DUPLICATE_ID, "f000000000000002",
                "another span api: second reuses this id; renamed f000000000000002#2"),
    )  # fmt: skip


def test_renamed_duplicates_never_collide_with_each_other_or_with_ids_in_the_trace():
    # "a" three times and an "a#2" of its own: the copies become a#3 and a#4
    spans = [
        raw("a", None, 0, 100),
        raw("a", "a", 1, 2, name="v2"),
        raw("a#2", "a", 3, 4),
        raw("a", "a", 5, 6, name="v3"),
    ]
    tree = build_tree(spans)
    tree.self_check()
    assert (tree.span("a#3").name, tree.span("a#4").name) == ("v2", "v3")


def test_a_span_using_the_synthetic_root_id_is_renamed_and_keeps_its_children():
    spans = [
        raw("f000000000000001", None, 0, 100),
        raw(SYNTHETIC_ROOT_ID, "f000000000000001", 10, 50, name="taken"),
        raw("f000000000000003", SYNTHETIC_ROOT_ID, 20, 30),
    ]
    tree = build_tree(spans)
    tree.self_check()
    renamed = f"{SYNTHETIC_ROOT_ID}#2"
    assert tree.span(renamed).name == "taken"
    assert tree.parent_of("f000000000000003") == tree.span(renamed)
    assert ProblemKind.ORPHAN not in kinds(tree)


@pytest.mark.parametrize(
    ("roots", "listed"),
    [
        (5, "a1, a2, a3, a4, a5"),
        (6, "a1, a2, a3, a4, a5, ... (6 in all)"),
    ],
)
def test_several_roots_are_listed_up_to_five_then_counted(roots, listed):
    tree = build_tree([raw(f"a{k}", None, 10 * k, 10 * k + 5) for k in range(1, roots + 1)])
    (problem,) = tree.problems
    assert problem == Problem(
        ProblemKind.MULTIPLE_ROOTS,
        None,
        f"{roots} spans without a parent ({listed}); a synthetic root spans them",
    )


def test_a_loop_entered_from_a_tail_is_broken_inside_the_loop_only():
    #  R |-----------------------------|  0..100
    #  D   |-|                            2..3    parent A: hangs off the loop, starts first
    #  A      |---------|                 10..40  parent C
    #  B         |---------|              20..50  parent A
    #  C            |---------|           30..60  parent B   <- A, B, C form a loop
    spans = [
        raw("d", "a", 2, 3),
        raw("r", None, 0, 100),
        raw("a", "c", 10, 40),
        raw("b", "a", 20, 50),
        raw("c", "b", 30, 60),
    ]
    tree = build_tree(spans)
    tree.self_check()
    assert tree.problems == (
        Problem(ProblemKind.CYCLE, "a",
                "parent links loop through a, c, b; detached from c and attached under the root"),
    )  # fmt: skip
    assert tree.parent_of("d") == tree.span("a")  # the tail keeps its parent


def test_a_shift_says_how_the_server_span_was_fitted():
    longer = trace(
        span("C", 10, 50, kind=CLIENT, service="web", process="h1", children=[
            span("S", 100, 160, kind=SERVER, service="api", process="h2",
                 span_id="f000000000000005"),
        ])
    )  # fmt: skip
    tree = build_tree(longer)
    (shift,) = tree.shifts
    assert (tree.span("f000000000000005").start_ns, shift.shift_ns) == (10, -90)
    c_id = tree.root_span.span_id
    assert shift.reason == (
        f"outside its client span {c_id} on another host; "
        "start-aligned with it (the server span is longer)"
    )
    shorter = trace(
        span("C", 10, 51, kind=CLIENT, service="web", process="h1", children=[
            span("S", 60, 80, kind=SERVER, service="api", process="h2", span_id="f000000000000006"),
        ])
    )  # fmt: skip
    tree = build_tree(shorter)
    (shift,) = tree.shifts
    s = tree.span("f000000000000006")
    # 21 ns of latency to split: 10 before, 11 after (whole nanoseconds)
    assert (s.start_ns, s.end_ns, shift.shift_ns) == (20, 40, -40)
    assert type(s.start_ns) is int
    assert shift.reason.endswith("; centred in it")


def test_with_one_server_span_outside_its_client_one_exactly_filling_its_own_stays_put():
    # the first misfit makes the tree check every pair: a server span exactly as long as its
    # client and aligned with it fits, at either edge
    t = trace(
        span("R", 0, 300, service="web", process="h1", children=[
            span("C1", 10, 50, kind=CLIENT, service="web", process="h1", children=[
                span("S1", 60, 80, kind=SERVER, service="api", process="h2"),
            ]),
            span("C2", 100, 140, kind=CLIENT, service="web", process="h1", children=[
                span("S2", 100, 140, kind=SERVER, service="db", process="h3"),
            ]),
        ])
    )  # fmt: skip
    assert [(s.service, s.parent_service) for s in build_tree(t).shifts] == [("api", "web")]


def test_shifts_are_listed_in_time_order_whatever_the_input_order():
    def pair(c_start: int, name: str):
        return span(f"C{name}", c_start, c_start + 40, kind=CLIENT, service="web", process="h1",
                    children=[span(f"S{name}", c_start + 100, c_start + 120, kind=SERVER,
                                   service=f"api{name}", process="h2")])  # fmt: skip

    t = trace(
        span("R", 0, 500, service="web", process="h1", children=[pair(200, "2"), pair(10, "1")])
    )
    assert [s.service for s in build_tree(t).shifts] == ["api1", "api2"]


def test_self_check_names_each_broken_invariant():
    tree = build_tree(trace(span("X", 0, 100, children=[span("A", 10, 40), span("B", 50, 60)])))
    tree.self_check()
    broken = {
        "arrays differ in length": dataclasses.replace(tree, parent=tree.parent[:-1]),
        "root index 3 out of range": dataclasses.replace(tree, root=3),
        "the root has a parent": dataclasses.replace(tree, parent=(1, -1, 0)),
        "more than one span without a parent": dataclasses.replace(tree, parent=(-1, -1, 0)),
        "span ids are not unique": dataclasses.replace(
            tree, spans=(tree.spans[0], tree.spans[1], tree.spans[1])
        ),
    }
    for what, bad in broken.items():
        with pytest.raises(AssertionError, match=f"^SpanTree invariant broken: {what}$"):
            bad.self_check()
    other = dataclasses.replace(tree, children=tree.children[:-1])  # only the child lists short
    with pytest.raises(AssertionError, match="arrays differ in length"):
        other.self_check()


def test_the_other_invariants_are_named_too():
    tree = build_tree(trace(span("X", 0, 100, children=[span("A", 10, 40), span("B", 50, 60)])))
    x, a, b = (s.span_id for s in tree.spans)
    loop = dataclasses.replace(tree, parent=(-1, 2, 1), children=((), (2,), (1,)))
    broken = {
        "index does not match spans": dataclasses.replace(tree, index={x: 0, a: 2, b: 1}),
        f"{a} listed under {x}, not its parent": dataclasses.replace(tree, parent=(-1, 2, 0)),
        "a span is missing from the child lists": dataclasses.replace(
            tree, children=((1,), (), ())
        ),
        "some spans are not reachable from the root \\(a cycle\\)": loop,
        f"{a} ends before it starts": dataclasses.replace(
            tree, spans=(tree.spans[0], replace_times(tree.spans[1], 40, 10), tree.spans[2])
        ),
    }
    for what, bad in broken.items():
        with pytest.raises(AssertionError, match=f"^SpanTree invariant broken: {what}$"):
            bad.self_check()


def replace_times(sp: Span, start: int, end: int) -> Span:
    return msgspec.structs.replace(sp, start_ns=start, end_ns=end)


def test_each_repair_of_a_root_says_what_was_done():
    (empty,) = build_tree([]).problems
    assert empty == Problem(ProblemKind.EMPTY, None, "the trace has no spans")
    assert build_tree([]).trace_id == ""
    orphans = build_tree([raw("a", "x", 0, 10), raw("b", "y", 5, 20)])
    assert orphans.trace_id == TID
    assert orphans.problems[0] == Problem(
        ProblemKind.NO_ROOT, None, "every span names a parent; a synthetic root spans them"
    )
    assert orphans.problems[1] == Problem(
        ProblemKind.ORPHAN, "a", "parent x is not in the trace; attached under the root"
    )
    root = orphans.root_span
    assert root == Span(
        trace_id=TID, span_id=SYNTHETIC_ROOT_ID, parent_id=None, service="(trace)",
        name="(trace)", kind=SpanKind.INTERNAL, start_ns=0, end_ns=20, process="(trace)",
    )  # fmt: skip


def test_a_negative_duration_says_by_how_much_and_a_zero_length_span_is_fine():
    tree = build_tree([raw("r", None, 0, 100), raw("n", "r", 50, 20), raw("z", "r", 60, 60)])
    detail = "ends 30 ns before it starts; taken as zero length"
    assert tree.problems == (Problem(ProblemKind.NEGATIVE_DURATION, "n", detail),)
