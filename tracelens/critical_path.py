"""The chain of work that decided when a trace finished: `critical_path(tree) -> Segment tuple`.

    path = critical_path(build_tree(trace))            # the whole trace
    path = critical_path(tree, root_id="1a2b3c4d5e6f7a8b")   # any subtree
    time_on_path(path)                                  # span id -> ns held on the path

The rule is the Jaeger UI's CriticalPath module (2026):

- a CONSUMER child of a PRODUCER parent is non-blocking, and so is a span hung under its parent
  by a FOLLOWS_FROM reference (a link, no CHILD_OF to that parent): it and its subtree are out;
- each child is clipped to its parent's (clipped) interval, also one covering both ends; a child
  wholly outside it is dropped with its subtree;
- walking backwards from the root's end, take the child that finished last; the gap after it is
  the parent's self time; descend into it; back at the parent, continue from that child's start
  with the last child that ended by then. A sibling overlapping the chosen child's start is not on
  the path.

    X |------------------------------------|       path: X 0..20, C 20..60, X 60..100
    A       |--------|        (ends at 40, after C started at 20: overlaps, not on the path)
    C            |---------|

Where we differ from the Jaeger UI, deliberately:

- siblings that touch exactly are on the path: the UI takes only a child that ended strictly
  before the returning point, so back-to-back calls (the N+1 shape: one call starting the
  nanosecond the previous ended) would show as the parent's self time; here a child ending at or
  before the point counts;
- among children ending at the same instant the one that started first (the longest) is taken,
  then by span id, so the path never depends on input order (the UI keeps input order);
- orphans and cycle-broken spans hang under the root (graph.py) and block it like any child (the
  UI leaves them off the root's path);
- the segments of a span that meet (around a zero-length child) are merged into one.

Segments tile [root.start, root.end] exactly, in time order, with no zero-length segment. The walk
is iterative (an explicit stack), so a 10,000-deep chain and a 5,000-call fan-out are fine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tracelens.graph import SpanTree
from tracelens.model import Segment, Span, SpanKind

_PRODUCER = SpanKind.PRODUCER
_CONSUMER = SpanKind.CONSUMER

# One child as the walk sees it: (clipped end, -clipped start, span id, clipped start, index).
# Sorting these in reverse puts the last-finishing child first, the longest among equal ends.
_Candidate = tuple[int, int, str, int, int]
_NONE: list[_Candidate] = []
_new_segment = tuple.__new__  # skips the Python-level NamedTuple __new__ on a hot path


def critical_path(tree: SpanTree, root_id: str | None = None) -> tuple[Segment, ...]:
    """Segments tiling [root.start, root.end] exactly, in time order (the Jaeger UI's rule).

    `root_id` picks a subtree root (KeyError when it is not in the tree); its own interval is
    tiled, unclipped by its ancestors.
    """
    spans = tree.spans
    children = tree.children
    node = tree.root if root_id is None else tree.index[root_id]
    rsp = spans[node]
    nid = rsp.span_id
    lo, t = rsp.start_ns, rsp.end_ns  # t: the walk's point; everything after it is on the path
    kids = children[node]
    cands = _candidates(spans, kids, rsp, lo, t) if kids else _NONE
    pos = 0
    stack: list[tuple[int, str, int, list[_Candidate], int]] = []
    push, pop = stack.append, stack.pop
    backwards: list[Segment] = []  # latest first
    emit = backwards.append
    zero_length_child = False  # only then can two pieces of one span meet
    while True:
        # Skip children that end after the point: they overlap the child chosen last.
        ncands = len(cands)
        while pos < ncands and cands[pos][0] > t:
            pos += 1
        if pos < ncands:
            c_end, _, cid, c_start, c = cands[pos]
            pos += 1
            if c_end < t:
                emit(_new_segment(Segment, (nid, c_end, t)))
            kids = children[c]
            if c_start == c_end:
                zero_length_child = True
            elif not kids:  # a leaf holds the path for its whole clipped interval
                emit(_new_segment(Segment, (cid, c_start, c_end)))
            if not kids:
                t = c_start
                continue
            push((node, nid, lo, cands, pos))
            node, nid, lo, t = c, cid, c_start, c_end
            if len(kids) == 1:  # a chain: one child, no list to build and sort
                k = kids[0]
                ksp = spans[k]
                s, e = ksp.start_ns, ksp.end_ns
                if (
                    (s >= c_end or e <= c_start) and not (s >= c_start and e <= c_end)
                ) or not _blocks(spans[c], ksp):
                    cands = _NONE
                else:
                    s, e = max(s, c_start), min(e, c_end)
                    cands = [(e, -s, ksp.span_id, s, k)]
            else:
                cands = _candidates(spans, kids, spans[c], c_start, c_end)
            pos = 0
            continue
        if lo < t:
            emit(_new_segment(Segment, (nid, lo, t)))
        if not stack:
            break
        t = lo  # back at the parent, from the start of the child just walked
        node, nid, lo, cands, pos = pop()
    backwards.reverse()
    return _merged(backwards) if zero_length_child else tuple(backwards)


def _merged(path: list[Segment]) -> tuple[Segment, ...]:
    """Join pieces of one span that meet (around a zero-length child) into one segment."""
    out: list[Segment] = []
    for seg in path:
        if out and out[-1].span_id == seg.span_id and out[-1].end_ns == seg.start_ns:
            out[-1] = Segment(seg.span_id, out[-1].start_ns, seg.end_ns)
        else:
            out.append(seg)
    return tuple(out)


def _candidates(
    spans: Sequence[Span], kids: tuple[int, ...], psp: Span, lo: int, hi: int
) -> list[_Candidate]:
    """The blocking children of span p, clipped to [lo, hi], last-finishing first."""
    #  parent        |----------------|        lo..hi
    #  kept    |---------|  |--|  |---------|  clipped to the parent
    #  dropped |--|                      |--|  wholly outside (touching an end counts as outside)
    out: list[_Candidate] = []
    pid = psp.span_id
    producer = psp.kind == _PRODUCER
    for c in kids:
        sp = spans[c]
        # `_blocks(psp, sp)` inlined: this loop sees every child of every span on the path
        if producer and sp.kind == _CONSUMER:
            continue
        if sp.links and sp.parent_id != pid and pid in sp.links:
            continue
        s, e = sp.start_ns, sp.end_ns
        if s < lo or e > hi:
            if s >= hi or e <= lo:
                continue  # wholly outside the parent
            s = max(s, lo)
            e = min(e, hi)
        out.append((e, -s, sp.span_id, s, c))
    out.sort(reverse=True)
    return out


def _blocks(psp: Span, sp: Span) -> bool:
    """Whether the parent waits for this child (not an async consumer, not a FOLLOWS_FROM)."""
    if sp.kind == _CONSUMER and psp.kind == _PRODUCER:
        return False  # async: the producer does not wait for its consumer
    # hung by a FOLLOWS_FROM reference (a link, no CHILD_OF to this parent): does not block it
    return not (sp.links and sp.parent_id != psp.span_id and psp.span_id in sp.links)


def time_on_path(path: Sequence[Segment]) -> Mapping[str, int]:
    """Span id -> nanoseconds of the critical path it holds (its self time on the path)."""
    out: dict[str, int] = {}
    for seg in path:
        out[seg.span_id] = out.get(seg.span_id, 0) + (seg.end_ns - seg.start_ns)
    return out
