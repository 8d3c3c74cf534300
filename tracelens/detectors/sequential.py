"""Sibling calls that usually run side by side but waited for each other here:
`Sequential().detect(analysis, baseline)`.

    A |-----|                          baseline:  A |-----|
    B        |------|                             B |------|
    C                |----|                       C |----|
    saving = (A + B + C) - max(A, B, C)      (one op repeated: minus its time on as many lanes
                                             as the baseline ran it on)
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, TraceFacts
from tracelens.model import Edits, Finding
from tracelens.operations import OpKey


def _overlaps(facts: TraceFacts, a: list[int], b: list[int]) -> bool:
    """Whether any span of `a` runs at the same time as a different span of `b`; `a` and `b` are
    one list (an operation with itself) or disjoint (two operations).

    One sweep in start order: a span overlaps an earlier-starting one exactly when that one ends
    after it starts. A span of no length overlaps nothing that starts or ends where it is: it
    sorts before a longer span starting at the same instant, and an end equal to its start does
    not count.
    """
    spans = facts.spans
    same = a is b
    tagged = sorted(
        [(spans[i].start_ns, spans[i].end_ns, 0) for i in a]
        + ([] if same else [(spans[j].start_ns, spans[j].end_ns, 1) for j in b])
    )
    latest_end: list[int | None] = [None, None]  # per side: the latest end so far
    for start, end, side in tagged:
        other = latest_end[side if same else 1 - side]
        if other is not None and other > start:
            return True
        held = latest_end[side]
        if held is None or end > held:
            latest_end[side] = end
    return False


def _makespan_ns(durations: list[int], lanes: int) -> int:
    """How long the calls take in order on `lanes` lanes, each taking the next free one."""
    free = [0] * max(1, lanes)
    for d in durations:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


@dataclass(frozen=True)
class Sequential:
    """Sequential: under one parent, sibling operations that did not overlap at all in this trace
    although siblings of the same two operations overlapped in ≥ `min_overlap_share` of the
    baseline traces holding both (the same operation repeated counts as a pair with itself).
    The spans of all such pairs form the group; saving = Σ durations − the longest, and it must
    be ≥ `min_saving_ns` and the group must hold critical-path time. The fix runs them in
    parallel; one operation repeated runs at most as many at once as the baseline did (its
    median width). Needs a baseline: without one there is nothing to say what could overlap.
    """

    name: ClassVar[str] = "sequential"
    min_overlap_share: float = 0.5
    min_saving_ns: int = 50 * MS
    max_ops_per_parent: int = 40
    max_spans_per_op: int = 100

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        if not baseline.overlap:
            return
        facts = facts_of(analysis)
        spans = facts.spans
        for parent, kids in enumerate(facts.tree.children):
            if len(kids) < 2:
                continue
            by_key: dict[OpKey, list[int]] = defaultdict(list)
            for c in kids:
                by_key[facts.keys[c]].append(c)
            if len(by_key) > self.max_ops_per_parent:
                continue
            ordered = sorted(by_key)
            members: set[int] = set()
            pairs: list[tuple[OpKey, OpKey, float]] = []
            for x, a in enumerate(ordered):
                if len(by_key[a]) > self.max_spans_per_op:
                    continue
                for b in ordered[x:]:
                    if len(by_key[b]) > self.max_spans_per_op or (a == b and len(by_key[a]) < 2):
                        continue
                    share = baseline.overlap_share(a, b)
                    if share is None or share < self.min_overlap_share:
                        continue
                    if _overlaps(facts, by_key[a], by_key[b]):
                        continue
                    members.update(by_key[a])
                    members.update(by_key[b])
                    pairs.append((a, b, share))
            if not members:
                continue
            group = sorted(members, key=lambda j: (spans[j].start_ns, spans[j].span_id))
            durations = [spans[j].duration_ns for j in group]
            # One operation repeated (lost concurrency) runs again as wide as the baseline ran it.
            ops = {facts.keys[j] for j in group}
            width = baseline.width.get(next(iter(ops))) if len(ops) == 1 else None
            lanes = round(width or 0)
            if lanes >= len(group):  # the baseline ran as many at once: no cap
                lanes = 0
            saving = sum(durations) - _makespan_ns(durations, lanes or len(group))
            path_ns = sum(facts.subtree_on_path(j) for j in group)
            if saving < self.min_saving_ns or path_ns <= 0:
                continue
            service, operation = facts.keys[parent]
            names = [facts.keys[j][1] for j in group]
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=service,
                operation=operation,
                span_ids=tuple(spans[k].span_id for j in group for k in facts.subtree(j)),
                summary=(
                    f"{len(group)} calls under {operation} ({service}) ran one after another "
                    f"but overlap in baseline traces: {', '.join(dict.fromkeys(names))}; "
                    f"in parallel ≈ {saving / MS:.0f} ms less"
                ),
                saving_ns=int(min(saving, path_ns)),
                edits=Edits(
                    parallel=frozenset(spans[j].span_id for j in group),
                    parallel_width={spans[j].span_id: lanes for j in group} if lanes else {},
                ),
                evidence={
                    "calls": len(group),
                    "operations": list(dict.fromkeys(names)),
                    "durations_ns": durations,
                    "baseline_overlap": [
                        {"a": a[1], "b": b[1], "share": round(s, 3)} for a, b, s in pairs
                    ],
                    "parent_span_id": spans[parent].span_id,
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[j].span_id for j in group[:5]],
                },
            )
