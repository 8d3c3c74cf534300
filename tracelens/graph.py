"""Build a trace's span tree: `build_tree(trace) -> SpanTree`, never raising on malformed data.

    tree = build_tree(trace)
    tree.root_span, tree.children_of(span_id), tree.problems, tree.shifts

The tree is index based (lists of ints, no per-span node objects) because it is built for every
trace of a corpus of millions of spans; every walk over it is iterative, so a 10,000-deep chain is
as safe as a flat one. Repairs are data, not exceptions:

- parent = `parent_id` when that span is in the trace, else the first of `links` that is (the
  Jaeger UI rule: its first CHILD_OF or FOLLOWS_FROM reference present);
- an exact copy of a span is dropped (DUPLICATE_SPAN); a different span reusing an id is renamed
  `<id>#2`, `<id>#3`, ... in input order (DUPLICATE_ID); children of that id hang under the first;
- a span whose parent is missing hangs under the root (ORPHAN);
- end before start -> zero length at the start (NEGATIVE_DURATION);
- one span without a parent is the root; several or none -> a synthetic root (`SYNTHETIC_ROOT_ID`,
  service and name "(trace)") over [min start, max end] with the candidates under it
  (MULTIPLE_ROOTS / NO_ROOT; an empty trace gives a zero-length synthetic root and EMPTY);
- a parent loop is broken by hanging its earliest span (by start, end, id) under the root (CYCLE);
- clock skew between hosts: a SERVER child (or a CONSUMER child of a CLIENT) that is not inside its
  CLIENT parent while the two differ in process or service is shifted, with its whole subtree, into
  the parent, as Jaeger's backend clock-skew adjuster does: centred when it is not longer than the
  parent (network latency split evenly between request and response), start-aligned when longer.
  Shifts run top-down, so a span is checked after its ancestors moved. Every shift is a ClockShift
  whose `shift_ns` is the move relative to its parent's (already corrected) clock: the estimated
  skew between the two hosts. Shifts are listed in time order.
  Children of the same process that overflow their parent are left alone: the critical path clips
  them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import lt

from msgspec.structs import replace

from tracelens.model import ClockShift, Problem, ProblemKind, Span, SpanKind, Trace

SYNTHETIC_ROOT_ID = "0000000000000000"  # id of the root made when a trace has several or none
SYNTHETIC_NAME = "(trace)"  # service and name of the synthetic root

_CLIENT = SpanKind.CLIENT
_RECEIVING = (SpanKind.SERVER, SpanKind.CONSUMER)  # kinds that receive a call from a client
_MAX_LISTED = 5  # span ids named in one problem's detail


@dataclass(frozen=True, slots=True)
class SpanTree:
    """Spans of one trace indexed for walking; index-based so large traces stay cheap.

    - `spans[i]` are the trace's spans with unique ids, after clock-skew shifts (shifted spans are
      new Span objects), plus a synthetic root when needed (service "(trace)").
    - `index[span_id] -> i`; `parent[i]` is the parent index, -1 for the root; `children[i]` are
      child indices sorted by (start_ns, end_ns, span_id) so results never depend on input order.
    - `root` is the index of the root span. Orphans hang under it.
    - `problems` and `shifts` record everything repaired.
    """

    trace_id: str
    spans: tuple[Span, ...]
    index: dict[str, int]
    parent: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    root: int
    problems: tuple[Problem, ...]
    shifts: tuple[ClockShift, ...]

    @property
    def root_span(self) -> Span:
        return self.spans[self.root]

    def span(self, span_id: str) -> Span:
        return self.spans[self.index[span_id]]

    def children_of(self, span_id: str) -> list[Span]:
        return [self.spans[c] for c in self.children[self.index[span_id]]]

    def parent_of(self, span_id: str) -> Span | None:
        p = self.parent[self.index[span_id]]
        return None if p < 0 else self.spans[p]

    def ancestors(self, span_id: str) -> Iterator[Span]:
        """Parent, grandparent, ... up to the root (iterative)."""
        spans, parent = self.spans, self.parent
        p = parent[self.index[span_id]]
        while p >= 0:
            yield spans[p]
            p = parent[p]

    def descendants(self, span_id: str) -> Iterator[Span]:
        """The span's subtree below it, depth first, in child order (iterative)."""
        spans, children = self.spans, self.children
        stack = list(reversed(children[self.index[span_id]]))
        while stack:
            i = stack.pop()
            yield spans[i]
            kids = children[i]
            if kids:
                stack.extend(reversed(kids))

    def self_check(self) -> None:
        """Assert the tree's invariants (one root, acyclic, children sorted, ids unique)."""
        n = len(self.spans)
        _require(len(self.parent) == n and len(self.children) == n, "arrays differ in length")
        _require(0 <= self.root < n, f"root index {self.root} out of range")
        _require(self.parent[self.root] == -1, "the root has a parent")
        _require(
            [i for i, p in enumerate(self.parent) if p < 0] == [self.root],
            "more than one span without a parent",
        )
        ids = [s.span_id for s in self.spans]
        _require(len(set(ids)) == n, "span ids are not unique")
        _require(self.index == {sid: i for i, sid in enumerate(ids)}, "index does not match spans")
        for i, kids in enumerate(self.children):
            for c in kids:
                _require(self.parent[c] == i, f"{ids[c]} listed under {ids[i]}, not its parent")
            keys = [(self.spans[c].start_ns, self.spans[c].end_ns, ids[c]) for c in kids]
            _require(keys == sorted(keys), f"children of {ids[i]} are not sorted")
        _require(sum(map(len, self.children)) == n - 1, "a span is missing from the child lists")
        order = [self.root]
        for i in order:  # breadth first; grows while iterating
            order.extend(self.children[i])
        _require(len(order) == n, "some spans are not reachable from the root (a cycle)")
        for s in self.spans:
            _require(s.end_ns >= s.start_ns, f"{s.span_id} ends before it starts")


def _require(ok: bool, what: str) -> None:
    if not ok:  # not `assert`: self_check must also check under python -O
        raise AssertionError(f"SpanTree invariant broken: {what}")


def _listed(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    return shown if len(ids) <= _MAX_LISTED else f"{shown}, ... ({len(ids)} in all)"


def build_tree(trace: Trace | Sequence[Span]) -> SpanTree:
    """Index, de-duplicate, attach orphans, break cycles, undo cross-host skew; never raises."""
    if isinstance(trace, Trace):
        trace_id, given = trace.trace_id, trace.spans
    else:
        given = tuple(trace)
        trace_id = given[0].trace_id if given else ""
    problems: list[Problem] = []

    # -- unique ids ------------------------------------------------------------------------
    ids = [sp.span_id for sp in given]
    lookup = dict(zip(ids, range(len(ids)), strict=True))  # original id -> span index
    if len(lookup) == len(given) and SYNTHETIC_ROOT_ID not in lookup:
        spans = list(given)
        renamed = False
    else:
        spans, lookup = _deduplicate(given, problems)
        ids = [sp.span_id for sp in spans]
        renamed = True
    n = len(spans)

    starts = [sp.start_ns for sp in spans]
    ends = [sp.end_ns for sp in spans]
    changed: set[int] = set()  # spans that need a new Span object (times moved)
    negative = [i for i in range(n) if ends[i] < starts[i]] if any(map(lt, ends, starts)) else []
    for i in negative:
        ends[i] = starts[i]
        changed.add(i)
        problems.append(
            Problem(
                ProblemKind.NEGATIVE_DURATION,
                spans[i].span_id,
                f"ends {starts[i] - spans[i].end_ns} ns before it starts; taken as zero length",
            )
        )

    # -- parents ---------------------------------------------------------------------------
    get = lookup.get
    parent = [get(sp.parent_id, -1) for sp in spans]  # type: ignore[arg-type]  # None -> -1
    parentless: list[int] = []
    orphans: list[int] = []
    unparented: list[int] = []
    i = -1
    for _ in range(parent.count(-1)):  # usually one: find them without a Python-level scan
        i = parent.index(-1, i + 1)
        unparented.append(i)
    for i in unparented:
        sp = spans[i]
        for link in sp.links:
            j = get(link)
            if j is not None and j != i:
                parent[i] = j
                break
        else:
            (parentless if sp.parent_id is None else orphans).append(i)

    # -- root ------------------------------------------------------------------------------
    if len(parentless) == 1:
        root = parentless[0]
    else:
        root = n
        start_ns = min(starts) if n else 0
        end_ns = max(ends) if n else 0
        spans.append(
            Span(
                trace_id=trace_id, span_id=SYNTHETIC_ROOT_ID, parent_id=None,
                service=SYNTHETIC_NAME, name=SYNTHETIC_NAME, kind=SpanKind.INTERNAL,
                start_ns=start_ns, end_ns=end_ns, process=SYNTHETIC_NAME,
            )
        )  # fmt: skip
        ids.append(SYNTHETIC_ROOT_ID)
        starts.append(start_ns)
        ends.append(end_ns)
        parent.append(-1)
        if n == 0:
            problems.append(Problem(ProblemKind.EMPTY, None, "the trace has no spans"))
        elif parentless:
            listed = [spans[i].span_id for i in parentless]
            problems.append(
                Problem(
                    ProblemKind.MULTIPLE_ROOTS,
                    None,
                    f"{len(listed)} spans without a parent ({_listed(listed)}); "
                    "a synthetic root spans them",
                )
            )
        else:
            problems.append(
                Problem(
                    ProblemKind.NO_ROOT,
                    None,
                    "every span names a parent; a synthetic root spans them",
                )
            )
        for i in parentless:
            parent[i] = root
    for i in orphans:
        parent[i] = root
        problems.append(
            Problem(
                ProblemKind.ORPHAN,
                spans[i].span_id,
                f"parent {spans[i].parent_id} is not in the trace; attached under the root",
            )
        )
    total = len(spans)

    # -- children, reachability, cycles ------------------------------------------------------
    kids: dict[int, list[int]] = {}
    for i, p in enumerate(parent):
        if p >= 0:
            lst = kids.get(p)
            if lst is None:
                kids[p] = [i]
            else:
                lst.append(i)
    order = [root]
    kget = kids.get
    for i in order:  # breadth first; the list grows while iterating
        lst = kget(i)
        if lst is not None:
            order.extend(lst)
    if len(order) < total:
        order = _break_cycles(spans, starts, ends, parent, kids, root, order, problems)

    # -- clock skew between hosts ------------------------------------------------------------
    shifts: list[ClockShift] = []
    candidates = _skew_candidates(spans, starts, ends, parent)
    if candidates:
        shifts = _undo_skew(spans, starts, ends, parent, order, changed, candidates)

    if changed:
        for i in changed:
            spans[i] = replace(spans[i], start_ns=starts[i], end_ns=ends[i])
    # `lookup` was built from these very ids unless spans were renamed or a root added
    index = dict(zip(ids, range(total), strict=True)) if renamed or root == n else lookup

    children: list[tuple[int, ...]] = [()] * total
    keys: list[tuple[int, int, str]] | None = None
    for p, lst in kids.items():
        if len(lst) > 1:
            if keys is None:
                keys = list(zip(starts, ends, ids, strict=True))
            lst.sort(key=keys.__getitem__)
        children[p] = tuple(lst)

    return SpanTree(
        trace_id=trace_id,
        spans=tuple(spans),
        index=index,
        parent=tuple(parent),
        children=tuple(children),
        root=root,
        problems=tuple(problems),
        shifts=tuple(shifts),
    )


def _deduplicate(
    given: Sequence[Span], problems: list[Problem]
) -> tuple[list[Span], dict[str, int]]:
    """Drop exact copies, rename distinct spans that reuse an id; map original ids to the first."""
    taken = {sp.span_id for sp in given}
    versions: dict[str, list[Span | None]] = {SYNTHETIC_ROOT_ID: [None]}  # the id is reserved
    spans: list[Span] = []
    lookup: dict[str, int] = {}
    for sp in given:
        sid = sp.span_id
        seen = versions.get(sid)
        if seen is None:
            versions[sid] = [sp]
            lookup[sid] = len(spans)
            spans.append(sp)
            continue
        if sp in seen:
            problems.append(
                Problem(ProblemKind.DUPLICATE_SPAN, sid, "an exact copy of this span was dropped")
            )
            continue
        seen.append(sp)
        k = len(seen)
        new_id = f"{sid}#{k}"
        while new_id in taken:
            k += 1
            new_id = f"{sid}#{k}"
        taken.add(new_id)
        lookup.setdefault(sid, len(spans))  # only for the reserved synthetic id
        spans.append(replace(sp, span_id=new_id))
        problems.append(
            Problem(
                ProblemKind.DUPLICATE_ID,
                sid,
                f"another span {sp.service}: {sp.name} reuses this id; renamed {new_id}",
            )
        )
    return spans, lookup


def _break_cycles(
    spans: list[Span],
    starts: list[int],
    ends: list[int],
    parent: list[int],
    kids: dict[int, list[int]],
    root: int,
    order: list[int],
    problems: list[Problem],
) -> list[int]:
    """Hang one span of every parent loop under the root; return the new breadth-first order."""
    reached = bytearray(len(spans))
    for i in order:
        reached[i] = 1
    for u in range(len(spans)):
        if reached[u]:
            continue
        # Walking up from a span the root cannot reach must end in a loop: every reached span's
        # children are reached too.
        chain: dict[int, int] = {}
        x = u
        while x not in chain:
            chain[x] = len(chain)
            x = parent[x]
        loop = list(chain)[chain[x] :]
        m = min(loop, key=lambda i: (starts[i], ends[i], spans[i].span_id))
        old = parent[m]
        kids[old].remove(m)
        parent[m] = root
        kids.setdefault(root, []).append(m)
        problems.append(
            Problem(
                ProblemKind.CYCLE,
                spans[m].span_id,
                f"parent links loop through {_listed([spans[i].span_id for i in loop])}; "
                f"detached from {spans[old].span_id} and attached under the root",
            )
        )
        sub = [m]
        for i in sub:  # mark the freed subtree, loop members included
            reached[i] = 1
            sub.extend(kids.get(i, ()))
        order.extend(sub)
    return order


def _differs(a: Span, b: Span) -> bool:
    return a.process != b.process or a.service != b.service


def _skew_candidate(child: Span, par: Span) -> bool:
    """A synchronous call received on another host: the only pair whose clocks we compare.

    Only a real CHILD_OF pair: an orphan hung under the root says nothing about the root's clock.
    """
    return (
        child.parent_id == par.span_id
        and par.kind == _CLIENT
        and child.kind in _RECEIVING
        and _differs(child, par)
    )


def _skew_candidates(
    spans: list[Span], starts: list[int], ends: list[int], parent: list[int]
) -> set[int]:
    """Spans `_skew_candidate` pairs with their parent; empty when all sit inside it already.

    Empty then because no shift can happen: every shift starts at a candidate that does not fit.
    """
    candidates: set[int] = set()
    misfit = False
    for i, sp in enumerate(spans):
        if sp.kind in _RECEIVING:
            p = parent[i]  # a parentless span (-1) is only the root, never a candidate
            if p >= 0 and _skew_candidate(sp, spans[p]):
                candidates.add(i)
                misfit = misfit or starts[i] < starts[p] or ends[i] > ends[p]
    return candidates if misfit else set()


def _undo_skew(
    spans: list[Span],
    starts: list[int],
    ends: list[int],
    parent: list[int],
    order: list[int],
    changed: set[int],
    candidates: set[int],
) -> list[ClockShift]:
    """Shift misaligned cross-host server spans into their client parents, top-down."""
    #  client  |--------------------|        centred:  |----[ server ]----|
    #  server                  |--------|    (equal latency each way)
    offset = [0] * len(spans)
    shifts: list[tuple[int, ClockShift]] = []
    for i in islice(order, 1, None):  # order[0] is the root: no parent to fit into
        p = parent[i]
        off = offset[p]
        if i in candidates:
            s, e = starts[i] + off, ends[i] + off
            ps, pe = starts[p], ends[p]  # already moved: parents come first in `order`
            if s < ps or e > pe:
                if e - s > pe - ps:
                    delta = ps - s
                    how = "start-aligned with it (the server span is longer)"
                else:
                    delta = ps + ((pe - ps) - (e - s)) // 2 - s
                    how = "centred in it"
                off += delta
                sp = spans[i]
                shift = ClockShift(
                    span_id=sp.span_id,
                    service=sp.service,
                    parent_service=spans[p].service,
                    shift_ns=delta,
                    reason=f"outside its client span {spans[p].span_id} on another host; {how}",
                )
                shifts.append((i, shift))
        if off:
            offset[i] = off
            starts[i] += off
            ends[i] += off
            changed.add(i)
    # `order` follows input order within a level; list the shifts in time order instead
    shifts.sort(key=lambda x: (starts[x[0]], spans[x[0]].span_id))
    return [shift for _, shift in shifts]
