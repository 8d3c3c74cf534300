"""What normal looks like for a route: `build_baseline(analyses) -> Baseline` over baseline traces.

    baseline = build_baseline(analyze_trace(t) for t in baseline_traces)
    baseline.duration_ns.get(key)     # key = (service, operation); the median duration, or None
    baseline.overlap_share(key_a, key_b)        # how often the two ran side by side as siblings

Detectors compare a slow trace against these per-operation figures; the what-if uses them as the
cost of a fixed cause (DNS at baseline cost, a query at its baseline duration, a queue at its
baseline gap, self time at its baseline). `self_times_ns` and `head_gaps_ns` are the per-span
figures the profile summarises; detectors use them on the trace at hand too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from tracelens.analysis import TraceAnalysis
from tracelens.graph import SpanTree
from tracelens.operations import OpKey, op_keys_in
from tracelens.pertree import per_tree

NO_CHILD = -1  # head gap of a span without children


@dataclass(frozen=True)
class Baseline:
    traces: int = 0
    duration_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median span duration
    calls_per_trace: Mapping[OpKey, float] = field(default_factory=dict)  # mean count per trace
    self_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median self time per span
    head_gap_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median start->first child
    overlap: Mapping[tuple[OpKey, OpKey], float] = field(default_factory=dict)  # pair (sorted)
    # -> share of the baseline traces holding both as siblings of one parent in which two such
    # siblings ran at the same time

    def overlap_share(self, a: OpKey, b: OpKey) -> float | None:
        """Share of baseline traces where siblings `a` and `b` overlapped; None: never siblings."""
        return self.overlap.get((a, b) if a <= b else (b, a))


def self_times_ns(tree: SpanTree) -> list[int]:
    """Per span index: duration minus the union of its children (clipped to it)."""
    return gaps_ns(tree)[0]


def head_gaps_ns(tree: SpanTree) -> list[int]:
    """Per span index: time from its start to its first child's start (NO_CHILD if a leaf)."""
    return gaps_ns(tree)[1]


def gaps_ns(tree: SpanTree, *, keep: bool = True) -> tuple[list[int], list[int]]:
    """(self_times_ns, head_gaps_ns) in one pass; kept within `pertree.sharing()` for the
    detectors, which take them (`keep=False`). The lists are shared: do not mutate them."""
    return per_tree(tree, "gaps", _gaps_ns, keep=keep)


def _gaps_ns(tree: SpanTree) -> tuple[list[int], list[int]]:
    spans = tree.spans
    self_ns: list[int] = []
    head_ns: list[int] = []
    for s, kids in zip(spans, tree.children, strict=True):
        start, end = s.start_ns, s.end_ns
        if not kids:
            self_ns.append(max(0, end - start))
            head_ns.append(NO_CHILD)
            continue
        covered = 0
        cursor = start
        for c in kids:  # sorted by start, so one sweep merges the union
            child = spans[c]
            lo = child.start_ns if child.start_ns > cursor else cursor
            hi = child.end_ns if child.end_ns < end else end
            if hi > lo:
                covered += hi - lo
                cursor = hi
        self_ns.append(max(0, end - start - covered))
        head_ns.append(max(0, spans[kids[0]].start_ns - start))
    return self_ns, head_ns


def sibling_pairs(
    tree: SpanTree, keys: list[OpKey]
) -> tuple[set[tuple[OpKey, OpKey]], set[tuple[OpKey, OpKey]]]:
    """(pairs of ops that were siblings, pairs that overlapped in time), each pair sorted."""
    spans = tree.spans
    together: set[tuple[OpKey, OpKey]] = set()
    overlapped: set[tuple[OpKey, OpKey]] = set()
    for kids in tree.children:
        if len(kids) < 2:
            continue
        distinct = sorted({keys[c] for c in kids})
        if len(distinct) > 64:  # a wide fan-out of many shapes: pairs would explode, skip
            continue
        # Same-op pairs count only when the op repeats under this parent.
        counts: dict[OpKey, int] = defaultdict(int)
        for c in kids:
            counts[keys[c]] += 1
        for x, a in enumerate(distinct):
            if counts[a] > 1:
                together.add((a, a))
            for b in distinct[x + 1 :]:
                together.add((a, b))
        # Sweep in start order keeping, per op, the latest end seen so far.
        active: dict[OpKey, int] = {}
        for c in kids:
            child, key = spans[c], keys[c]
            for other, end_ns in active.items():
                if end_ns > child.start_ns:
                    overlapped.add((key, other) if key <= other else (other, key))
            if active.get(key, -1) < child.end_ns:
                active[key] = child.end_ns
    return together, overlapped


def _medians(values: Mapping[OpKey, list[int]]) -> dict[OpKey, float]:
    return {k: float(np.median(np.asarray(v, dtype=np.int64))) for k, v in values.items()}


def build_baseline(analyses: Iterable[TraceAnalysis]) -> Baseline:
    """Per-operation medians, call counts and sibling overlap over the baseline traces."""
    durations: dict[OpKey, list[int]] = defaultdict(list)
    selfs: dict[OpKey, list[int]] = defaultdict(list)
    heads: dict[OpKey, list[int]] = defaultdict(list)
    calls: dict[OpKey, int] = defaultdict(int)
    together: dict[tuple[OpKey, OpKey], int] = defaultdict(int)
    overlapped: dict[tuple[OpKey, OpKey], int] = defaultdict(int)
    traces = 0
    for analysis in analyses:
        traces += 1
        tree = analysis.tree
        keys = op_keys_in(tree)
        self_ns, head_ns = gaps_ns(tree)
        for i, s in enumerate(tree.spans):
            key = keys[i]
            durations[key].append(s.end_ns - s.start_ns)
            selfs[key].append(self_ns[i])
            calls[key] += 1
            if head_ns[i] != NO_CHILD:
                heads[key].append(head_ns[i])
        pairs_together, pairs_overlapped = sibling_pairs(tree, keys)
        for pair in pairs_together:
            together[pair] += 1
        for pair in pairs_overlapped:
            overlapped[pair] += 1
    if not traces:
        return Baseline()
    return Baseline(
        traces=traces,
        duration_ns=_medians(durations),
        calls_per_trace={k: n / traces for k, n in calls.items()},
        self_ns=_medians(selfs),
        head_gap_ns=_medians(heads),
        overlap={pair: overlapped.get(pair, 0) / n for pair, n in together.items()},
    )
