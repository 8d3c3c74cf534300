"""Repeated identical calls one batch would replace: `NPlusOne().detect(analysis, baseline)`.

Two shapes: N calls to one operation under one parent (the classic N+1), and N sibling subtrees
under one ancestor up to three levels up, each making the same call (MN+1: a GraphQL resolver per
item, each loading alone because the DataLoader is not batching).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, TraceFacts, composite_count, is_cache
from tracelens.model import Edits, Finding
from tracelens.operations import OpKey

_GRAPHQL_NAME = re.compile(
    r"^(query|mutation|subscription)(\s|$)|^graphql[ .]|graphql operation", re.I
)


def in_graphql(facts: TraceFacts, i: int) -> bool:
    """Whether span i or an ancestor is a GraphQL operation (by attributes or by name)."""
    for j in (i, *facts.ancestors(i)):
        span = facts.spans[j]
        if any(k.startswith("graphql.operation.") for k in span.attributes):
            return True
        if _GRAPHQL_NAME.search(span.name):
            return True
    return False


def _union_ns(facts: TraceFacts, members: list[int]) -> int:
    """Time covered by at least one of the spans."""
    total, cursor = 0, None
    for start_ns, end_ns in sorted(
        [(facts.spans[m].start_ns, facts.spans[m].end_ns) for m in members]
    ):
        lo = start_ns if cursor is None else max(start_ns, cursor)
        if end_ns > lo:  # lo >= cursor: this end is the latest so far
            total += end_ns - lo
            cursor = end_ns
    return total


@dataclass(frozen=True)
class NPlusOne:
    """N+1: ≥ `min_repeats` calls to one operation (same service and normalised statement or URL
    template) under one parent, or — MN+1 — one identical call in each of ≥ `min_repeats` sibling
    subtrees under an ancestor at most `max_levels` up. A compressed span counts as its repeat
    count (`span.composite.count`). The calls must add up to ≥ `min_total_ns` (their union when
    they overlap) and hold part of the critical path.

    Members that mostly overlap (union < `sequential_min_union` × sum) are a concurrent N+1 (a
    fan-out of identical calls started together), ranked by what they hold of the critical path.
    Calls that did not overlap at all although the baseline ran that operation's repeats side by
    side (in ≥ `min_baseline_overlap` of the baseline traces repeating it under one parent), and
    no more of them than `max_count_growth` × the baseline's usual count, are lost concurrency,
    not an N+1: they are left to `sequential`. The fix is one batched call: keep the median
    member (by time per call; a compressed span shrinks to one call) and remove the others.
    Under a GraphQL operation the finding says the DataLoader is not batching.
    """

    name: ClassVar[str] = "n_plus_one"
    min_repeats: int = 5
    min_total_ns: int = 50 * MS
    max_levels: int = 3
    sequential_min_union: float = 0.9
    min_baseline_overlap: float = 0.5
    max_count_growth: float = 1.5

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans, tree = facts.spans, facts.tree
        calls = facts.calls
        claimed: set[int] = set()
        # Level 1: siblings under one parent.
        by_parent: dict[tuple[int, OpKey], list[int]] = defaultdict(list)
        for i in calls:
            by_parent[(tree.parent[i], facts.keys[i])].append(i)
        for (parent, _), members in by_parent.items():
            if parent < 0:
                continue
            # Each span counts at least once: only short groups need their composite counts.
            if len(members) >= self.min_repeats or (
                facts.composite
                and sum(composite_count(spans[m]) for m in members) >= self.min_repeats
            ):
                finding = self._finding(facts, baseline, members, parent, members)
                if finding is not None:
                    claimed.update(members)
                    yield finding
        # Levels 2..max_levels: one call per sibling subtree of a common ancestor. Calls in
        # different subtrees have different parents, so an operation called from fewer than
        # `min_repeats` parents (a claimed group is claimed whole) can't make one at any level.
        spread = Counter(
            key
            for (parent, key), members in by_parent.items()
            if parent >= 0 and members[0] not in claimed
        )
        parents, keys = tree.parent, facts.keys
        calls = [i for i in calls if spread[keys[i]] >= self.min_repeats and i not in claimed]
        up = [(i, i, parents[i]) for i in calls]  # (call, branch, ancestor) one level up
        for level in range(2, self.max_levels + 1):
            # One level further up; a claimed call or one past the root stays out for good.
            up = [(i, a, parents[a]) for i, _, a in up if a >= 0 and i not in claimed]
            buckets: dict[tuple[int, OpKey], list[tuple[int, int]]] = {}
            for i, branch, ancestor in up:
                if ancestor >= 0:
                    bucket = buckets.get((ancestor, keys[i]))
                    if bucket is None:
                        buckets[(ancestor, keys[i])] = [(i, branch)]
                    else:
                        bucket.append((i, branch))
            for (ancestor, _), bucket in buckets.items():
                if len(bucket) < self.min_repeats:  # fewer calls than branches needed
                    continue
                branches: dict[int, list[int]] = {}
                for i, branch in bucket:
                    branches.setdefault(branch, []).append(i)
                if len(branches) < self.min_repeats:
                    continue
                members = [m for group in branches.values() for m in group]
                finding = self._finding(facts, baseline, members, ancestor, list(branches), level)
                if finding is not None:
                    claimed.update(members)
                    yield finding

    def _lost_concurrency(self, facts: TraceFacts, baseline: Baseline, repeated: list[int]) -> bool:
        """Whether the repeated spans (the calls, or for MN+1 the subtrees holding them) are one
        operation that overlapped itself in the baseline, as often as it repeated there: then
        a pool that ran dry or a lost `await` made them wait in turn, and batching is not the
        fix. A compressed span's own calls can't be seen to overlap: it stays an N+1."""
        key = facts.keys[repeated[0]]
        if facts.composite or any(facts.keys[h] != key for h in repeated):
            return False
        spans = facts.spans
        if _union_ns(facts, repeated) < sum(spans[h].duration_ns for h in repeated):
            return False  # some overlap here too: not the shape of lost concurrency
        share = baseline.overlap_share(key, key)
        usual = baseline.repeats.get(key)
        if share is None or usual is None or share < self.min_baseline_overlap:
            return False
        return len(repeated) <= self.max_count_growth * usual

    @staticmethod
    def _wait_ns(facts: TraceFacts, call: int) -> int:
        """Time from a call's start to its server side's (0 when the callee is not traced)."""
        callee = facts.callee(call)
        return facts.spans[callee].start_ns - facts.spans[call].start_ns if callee >= 0 else 0

    def _finding(
        self,
        facts: TraceFacts,
        baseline: Baseline,
        members: list[int],
        ancestor: int,
        repeated: list[int],
        levels: int = 1,
    ) -> Finding | None:
        spans = facts.spans
        branches = len(repeated) if levels > 1 else 1
        # The cost is at most the sum of the calls: most groups are rejected before sorting.
        total_ns = sum([spans[m].duration_ns for m in members])
        if total_ns < self.min_total_ns:
            return None
        union_ns = _union_ns(facts, members)
        sequential = union_ns >= self.sequential_min_union * total_ns
        cost_ns = total_ns if sequential else union_ns
        if cost_ns < self.min_total_ns:
            return None
        if sequential and self._lost_concurrency(facts, baseline, repeated):
            return None  # one after another where the baseline overlaps them: `sequential`'s
        members.sort(key=lambda j: (spans[j].start_ns, spans[j].span_id))
        counts = (
            [composite_count(spans[m]) for m in members] if facts.composite else [1] * len(members)
        )
        repeats = sum(counts)
        if repeats < self.min_repeats:
            return None
        durations = [spans[m].duration_ns for m in members]
        subtree = {m: list(facts.subtree(m)) for m in members}
        path_ns = sum(facts.on_path[j] for group in subtree.values() for j in group)
        if path_ns <= 0:
            return None
        # Batched: one typical call stays (the median one), the rest go. Keeping the longest
        # would keep whatever else slowed that call (a DNS timeout, a retry): another cause.
        per_call = [d // c for d, c in zip(durations, counts, strict=True)]
        by_cost = sorted(range(len(members)), key=lambda x: (per_call[x], x))
        keep = members[by_cost[len(by_cost) // 2]]
        removed = [m for m in members if m != keep]
        kept_span = spans[keep]
        new_duration = {}
        if composite_count(kept_span) > 1:
            new_duration[kept_span.span_id] = kept_span.duration_ns // composite_count(kept_span)
        elif not sequential:
            # Started together, the calls queued for connections or workers before their server
            # side began: one batched call pays a call's own time, not the wait of a queue.
            own = sorted(spans[m].duration_ns - self._wait_ns(facts, m) for m in members)
            own_ns = own[len(own) // 2]
            if own_ns < kept_span.duration_ns:
                new_duration[kept_span.span_id] = own_ns
        # After batching, the group holds the path for about one call.
        one_call_ns = new_duration.get(kept_span.span_id, kept_span.duration_ns)
        saving_ns = max(0, path_ns - one_call_ns)
        service, operation = facts.keys[members[0]]
        graphql = in_graphql(facts, ancestor)
        shape = "sequential" if sequential else "parallel"
        under = spans[ancestor].name
        mn = levels > 1
        what = (
            f"{repeats} {shape} calls to {operation} ({service})"
            + (f" from {branches} sibling subtrees" if mn else "")
            + f" under {under!r}: {total_ns / MS:.0f} ms of calls, "
            f"{path_ns / MS:.0f} ms on the critical path"
        )
        if graphql:
            what = "GraphQL resolver fan-out: likely DataLoader not batching — " + what
        elif not sequential:
            what = "concurrent N+1, a parallel fan-out of one call — " + what
        all_ids = tuple(spans[j].span_id for m in members for j in subtree[m])
        return Finding(
            pattern=self.name,
            trace_id=facts.trace_id,
            service=service,
            operation=operation,
            span_ids=all_ids,
            summary=what,
            saving_ns=int(saving_ns),
            edits=Edits(
                remove=frozenset(spans[m].span_id for m in removed), duration_ns=new_duration
            ),
            evidence={
                "shape": shape,
                "kind": "mn_plus_one" if mn else "n_plus_one",
                "calls": repeats,
                "spans": len(members),
                "levels_up": levels,
                "branches": branches,
                "ancestor": under,
                "ancestor_span_id": spans[ancestor].span_id,
                "graphql": graphql,
                "cache": all(is_cache(spans[m]) for m in members),
                "total_ns": total_ns,
                "union_ns": union_ns,
                "on_path_ns": path_ns,
                "longest_ns": max(durations),
                "example_span_ids": [spans[m].span_id for m in members[:5]],
            },
        )
