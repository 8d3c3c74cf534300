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

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.facts import NO_CHILD, gaps_ns
from tracelens.graph import SpanTree
from tracelens.operations import OpKey


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
    repeats: Mapping[OpKey, float] = field(default_factory=dict)  # median count of an op's
    # siblings under one parent, over the parents holding it more than once
    width: Mapping[OpKey, float] = field(default_factory=dict)  # ... and the median of the most
    # of them that ran at once there, 0 for a parent that ran them all at once (no cap)

    def overlap_share(self, a: OpKey, b: OpKey) -> float | None:
        """Share of baseline traces where siblings `a` and `b` overlapped; None: never siblings."""
        return self.overlap.get((a, b) if a <= b else (b, a))


def self_times_ns(tree: SpanTree) -> list[int]:
    """Per span index: duration minus the union of its children (clipped to it)."""
    return gaps_ns(tree)[0]


def head_gaps_ns(tree: SpanTree) -> list[int]:
    """Per span index: time from its start to its first child's start (NO_CHILD if a leaf)."""
    return gaps_ns(tree)[1]


def sibling_pairs(
    tree: SpanTree,
    keys: list[OpKey],
    repeats: dict[OpKey, list[int]] | None = None,
    widths: dict[OpKey, list[int]] | None = None,
) -> tuple[set[tuple[OpKey, OpKey]], set[tuple[OpKey, OpKey]]]:
    """(pairs of ops that were siblings, pairs that overlapped in time), each pair sorted.

    `repeats` and `widths`, when given, receive for each op repeated under one parent its count
    there and the most of those siblings that ran at once (0 when that was all of them)."""
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
                if repeats is not None:
                    repeats[a].append(counts[a])
            for b in distinct[x + 1 :]:
                together.add((a, b))
        # Sweep in start order keeping, per op, the latest end seen so far.
        active: dict[OpKey, int] = {}
        running: dict[OpKey, list[int]] = defaultdict(list)  # per repeated op: ends, a heap
        peak: dict[OpKey, int] = defaultdict(int)
        for c in kids:
            child, key = spans[c], keys[c]
            for other, end_ns in active.items():
                if end_ns > child.start_ns:
                    overlapped.add((key, other) if key <= other else (other, key))
            if active.get(key, -1) < child.end_ns:
                active[key] = child.end_ns
            if widths is not None and counts[key] > 1:
                ends = running[key]
                while ends and ends[0] <= child.start_ns:
                    heapq.heappop(ends)
                heapq.heappush(ends, child.end_ns)
                peak[key] = max(peak[key], len(ends))
        if widths is not None:
            for key, most in peak.items():
                widths[key].append(most if most < counts[key] else 0)
    return together, overlapped


def _medians(values: Mapping[OpKey, list[int]]) -> dict[OpKey, float]:
    return {k: float(np.median(np.asarray(v, dtype=np.int64))) for k, v in values.items()}


@dataclass
class ProfilePart:
    """What a set of baseline traces adds to the profile; parts of disjoint sets merge exactly."""

    traces: int = 0
    durations: dict[OpKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    selfs: dict[OpKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    heads: dict[OpKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[OpKey, int] = field(default_factory=lambda: defaultdict(int))
    together: dict[tuple[OpKey, OpKey], int] = field(default_factory=lambda: defaultdict(int))
    overlapped: dict[tuple[OpKey, OpKey], int] = field(default_factory=lambda: defaultdict(int))
    repeats: dict[OpKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    widths: dict[OpKey, list[int]] = field(default_factory=lambda: defaultdict(list))


def profile_part(analyses: Iterable[TraceAnalysis]) -> ProfilePart:
    """The per-operation values and counts of some baseline traces (the map side)."""
    part = ProfilePart()
    durations, selfs, heads, calls = part.durations, part.selfs, part.heads, part.calls
    together, overlapped = part.together, part.overlapped
    for analysis in analyses:
        part.traces += 1
        facts = facts_of(analysis)
        tree, keys, self_ns, head_ns = facts.tree, facts.keys, facts.self_ns, facts.head_ns
        for i, s in enumerate(tree.spans):
            key = keys[i]
            durations[key].append(s.end_ns - s.start_ns)
            selfs[key].append(self_ns[i])
            calls[key] += 1
            if head_ns[i] != NO_CHILD:
                heads[key].append(head_ns[i])
        pairs_together, pairs_overlapped = sibling_pairs(tree, keys, part.repeats, part.widths)
        for pair in pairs_together:
            together[pair] += 1
        for pair in pairs_overlapped:
            overlapped[pair] += 1
    return part


def merge_profile(parts: Iterable[ProfilePart]) -> Baseline:
    """Per-operation medians, call counts and sibling overlap over all the parts' traces."""
    whole = ProfilePart()
    for part in parts:
        whole.traces += part.traces
        for mine, theirs in (
            (whole.durations, part.durations),
            (whole.selfs, part.selfs),
            (whole.heads, part.heads),
            (whole.repeats, part.repeats),
            (whole.widths, part.widths),
        ):
            for key, values in theirs.items():
                mine[key].extend(values)
        for counts, more in (
            (whole.calls, part.calls),
            (whole.together, part.together),
            (whole.overlapped, part.overlapped),
        ):
            for k, n in more.items():
                counts[k] += n  # type: ignore[index]
    traces = whole.traces
    if not traces:
        return Baseline()
    return Baseline(
        traces=traces,
        duration_ns=_medians(whole.durations),
        calls_per_trace={k: n / traces for k, n in whole.calls.items()},
        self_ns=_medians(whole.selfs),
        head_gap_ns=_medians(whole.heads),
        overlap={pair: whole.overlapped.get(pair, 0) / n for pair, n in whole.together.items()},
        repeats=_medians(whole.repeats),
        width=_medians(whole.widths),
    )


def build_baseline(analyses: Iterable[TraceAnalysis]) -> Baseline:
    """Per-operation medians, call counts and sibling overlap over the baseline traces."""
    return merge_profile([profile_part(analyses)])
