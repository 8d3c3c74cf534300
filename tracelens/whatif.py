"""Rewrite a trace as if a cause were fixed: `replay(tree, edits) -> Trace`, then its new duration.

    new_trace = replay(analysis.tree, finding.edits)
    new_ns = whatif_duration_ns(analysis, finding.edits)     # from the new trace's critical path
    p90 = whatif_p90(durations_ns, {trace_id: new_ns})       # the route's p90 with it replaced

The replay model. Spans are processed top-down (an explicit stack, no recursion); a span's
children are placed in start order, and each child waits for what it waited for originally:

    parent   |-h-|======|-g-|======|--------|-t-|       h: head gap (self time before 1st child)
    A            |------|                             g: gap after the sibling it waited for
    B                       |------|                  t: trailing self time after the last child
    C                    |-o-------------|            o: offset from the first child (C ran
                                                         alongside A, it waited for no sibling)

- A child's predecessors are the earlier siblings that ended at or before it started. With
  predecessors, new start = the latest new end among them + the original gap after the latest
  original one (g). Taking the latest *new* end is conservative: a call never starts before
  anything it could have waited for has finished. Without predecessors, new start = parent's new
  start + head gap (h) + the child's original offset from the first child (o).
- A span's new end = the latest new end of its children that ended inside it originally, plus the
  original trailing self time (t); with no such child, new start + its own (self-time) length.
- Edits (keyed by span id): `remove` leaves a zero-length placeholder so siblings that waited for
  it move up by its length, and drops it with its subtree from the output; `duration_ns` sets the
  span's length and drops its subtree; `head_gap_ns` overrides h; `gap_scale` scales the span's
  self-time gaps (h, g, t, or the whole length of a leaf); `parallel` spans stop waiting for each
  other: every member of the group starts where the group's first member starts, and a later
  sibling waits for the slowest of them; with `parallel_width` k, at most k members run at once
  and each further one starts as the earliest running one ends; `no_wait` spans start as soon as
  their predecessors end (a retry's back-off wait after a removed attempt goes).

With no edits the replay reproduces every span's start and end exactly.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence

import msgspec
import numpy as np

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.critical_path import critical_path
from tracelens.graph import SYNTHETIC_ROOT_ID, SpanTree, build_tree
from tracelens.model import Edits, Finding, Span, Trace

Key = tuple[str, str, str]  # (pattern, service, operation), as attribution.Key
REPLAY_ORIGIN = "(what-if replay)"


def _scaled(gap_ns: int, scale: float) -> int:
    """Scale a self-time gap; overlaps (negative gaps) are not self time and stay as they are."""
    return round(gap_ns * scale) if gap_ns > 0 and scale != 1.0 else gap_ns


class _Frame:
    """A span whose children are being placed; the stack of these replaces recursion."""

    __slots__ = (
        "block_end",
        "block_orig",
        "group_start",
        "i",
        "lanes",
        "pos",
        "pred_end",
        "pred_orig",
        "start",
        "waiting",
    )

    def __init__(self, i: int, start: int) -> None:
        self.i = i
        self.start = start  # the span's new start
        self.pos = 0  # next child to place
        self.waiting: list[tuple[int, int]] = []  # placed siblings: heap of (orig end, new end)
        self.pred_orig: int | None = None  # latest original end among predecessors so far
        self.pred_end: int | None = None  # latest new end among predecessors so far
        self.group_start: int | None = None  # new start of the first `parallel` child
        self.lanes: list[int] = []  # new ends of the width-capped `parallel` children, a heap
        self.block_orig: int | None = None  # latest original end of children ending inside
        self.block_end: int | None = None  # ... and the latest new end among those


def replay(tree: SpanTree, edits: Edits) -> Trace:
    """The trace rewritten as if `edits` were applied (see the module docstring for the model)."""
    spans = tree.spans
    n = len(spans)
    if n == 0 or tree.root < 0:
        return Trace(trace_id=tree.trace_id, spans=(), origin=REPLAY_ORIGIN)
    index = tree.index
    removed = {index[s] for s in edits.remove if s in index}
    durations = {index[s]: d for s, d in edits.duration_ns.items() if s in index}
    heads = {index[s]: h for s, h in edits.head_gap_ns.items() if s in index}
    scales = {index[s]: x for s, x in edits.gap_scale.items() if s in index}
    parallel = {index[s] for s in edits.parallel if s in index}
    widths = {index[s]: w for s, w in edits.parallel_width.items() if s in index and w > 0}
    no_wait = {index[s] for s in edits.no_wait if s in index}
    new_start = [0] * n
    new_end = [0] * n
    kept: list[int] = []

    def enter(i: int, start: int) -> _Frame | None:
        """Place span i at `start`; a frame when its children still have to be placed."""
        new_start[i] = start
        span = spans[i]
        if i in removed:
            new_end[i] = start
            return None
        kept.append(i)
        if i in durations:
            new_end[i] = start + durations[i]
            return None
        if not tree.children[i]:
            new_end[i] = start + _scaled(span.end_ns - span.start_ns, scales.get(i, 1.0))
            return None
        return _Frame(i, start)

    stack: list[_Frame] = []
    top = enter(tree.root, spans[tree.root].start_ns)
    if top is not None:
        stack.append(top)
    while stack:
        f = stack[-1]
        parent = spans[f.i]
        kids = tree.children[f.i]
        if f.pos == len(kids):
            stack.pop()
            scale = scales.get(f.i, 1.0)
            if f.block_orig is None or f.block_end is None:
                end = f.start + _scaled(parent.end_ns - parent.start_ns, scale)
            else:
                end = f.block_end + _scaled(parent.end_ns - f.block_orig, scale)
            new_end[f.i] = end
            if stack:
                _placed(stack[-1], spans, f.i, end, f.i in widths)
            continue
        c = kids[f.pos]
        f.pos += 1
        child = spans[c]
        while f.waiting and f.waiting[0][0] <= child.start_ns:
            orig, end = heapq.heappop(f.waiting)
            if f.pred_orig is None or orig > f.pred_orig:
                f.pred_orig = orig
            f.pred_end = end if f.pred_end is None else max(f.pred_end, end)
        if c in parallel and f.group_start is not None:
            start = f.group_start
            if c in widths and len(f.lanes) >= widths[c]:  # wait for a member to finish
                start = max(start, heapq.heappop(f.lanes))
        elif f.pred_orig is not None and f.pred_end is not None:
            wait = 0 if c in no_wait else child.start_ns - f.pred_orig
            start = f.pred_end + _scaled(wait, scales.get(f.i, 1.0))
        else:
            first = spans[kids[0]].start_ns
            head = heads.get(f.i)
            if head is None:
                head = _scaled(first - parent.start_ns, scales.get(f.i, 1.0))
            start = f.start + head + (child.start_ns - first)
        if c in parallel and f.group_start is None:
            f.group_start = start
        sub = enter(c, start)
        if sub is None:
            _placed(f, spans, c, new_end[c], c in widths)
        else:
            stack.append(sub)

    out: list[Span] = []
    for i in sorted(kept):
        span = spans[i]
        if span.span_id == SYNTHETIC_ROOT_ID and span.service == "(trace)":
            continue  # build_tree makes it again from the roots it holds together
        if (new_start[i], new_end[i]) == (span.start_ns, span.end_ns):
            out.append(span)
        else:
            out.append(msgspec.structs.replace(span, start_ns=new_start[i], end_ns=new_end[i]))
    return Trace(trace_id=tree.trace_id, spans=tuple(out), origin=REPLAY_ORIGIN)


def _placed(f: _Frame, spans: Sequence[Span], c: int, end: int, capped: bool) -> None:
    """Record a placed child: later siblings may wait for it; it may decide the parent's end."""
    child = spans[c]
    heapq.heappush(f.waiting, (child.end_ns, end))
    if capped:
        heapq.heappush(f.lanes, end)
    if child.end_ns <= spans[f.i].end_ns:
        if f.block_orig is None or child.end_ns > f.block_orig:
            f.block_orig = child.end_ns
        f.block_end = end if f.block_end is None else max(f.block_end, end)


def whatif_duration_ns(analysis: TraceAnalysis, edits: Edits) -> int:
    """The trace's duration after `edits`: the sum of the rewritten trace's critical path."""
    if edits.empty:
        return sum(s.end_ns - s.start_ns for s in analysis.path)
    rewritten = replay(analysis.tree, edits)
    if not rewritten.spans:
        return 0
    return sum(s.end_ns - s.start_ns for s in critical_path(build_tree(rewritten)))


def whatif_p90(
    durations_ns: Mapping[str, int],
    rewritten: Mapping[str, int],
    q: float = 90,
    weights: Mapping[str, float] | None = None,
) -> float:
    """The q-th percentile of the route's durations with the rewritten traces' durations swapped in.

    Percentiles are numpy's linear interpolation, as the route statistics use; nan when empty.
    With `weights` (a sampled backend: each trace stands for that many requests) they are the
    weighted inverted CDF.
    """
    if not durations_ns:
        return math.nan
    values = np.fromiter(
        (rewritten.get(t, d) for t, d in durations_ns.items()),
        dtype=np.float64,
        count=len(durations_ns),
    )
    if weights is not None:
        w = np.fromiter((weights.get(t, 1.0) for t in durations_ns), dtype=np.float64)
        return float(np.percentile(values, q, weights=w, method="inverted_cdf"))
    return float(np.percentile(values, q))


def whatif_interval(
    durations_ns: Mapping[str, int],
    rewritten: Mapping[str, int],
    *,
    seed: int,
    resamples: int,
    q: float = 90,
    weights: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> tuple[float, float]:
    """The `level` bootstrap interval of `whatif_p90`: the route's requests resampled with
    replacement, each with its duration as fixed, and the q-th percentile of each resample.
    (nan, nan) when empty. Seeded, so that the same run gives the same interval."""
    n = len(durations_ns)
    if n == 0:
        return math.nan, math.nan
    values = np.fromiter((rewritten.get(t, d) for t, d in durations_ns.items()), np.float64, n)
    rng = np.random.default_rng(seed)
    if weights is None:
        drawn = _resampled_percentiles(np.sort(values), q, resamples, rng)
    else:  # a sampled backend: each trace stands for `weight` requests
        w = np.fromiter((weights.get(t, 1.0) for t in durations_ns), np.float64, n)
        rows = (rng.integers(0, n, n) for _ in range(resamples))
        drawn = np.array(
            [np.percentile(values[r], q, weights=w[r], method="inverted_cdf") for r in rows]
        )
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(drawn, [tail, 100 - tail])
    return float(low), float(high)


def _drawn_ranks(
    n: int, q: float, resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """Where numpy's linear q-th percentile of each of `resamples` bootstrap resamples of n sorted
    values lies, drawn exactly without building the resamples: it interpolates (by `frac`) between
    a resample's k-th and (k+1)-th smallest values, which are the values at ranks `lows` and
    `highs` of the sorted values. The k-th smallest of n draws from the values is the value at the
    k-th smallest of n uniforms, which is Beta(k, n + 1 - k); the next one lies a Beta(1, n - k)
    share of the rest above it. O(resamples), whatever the number of requests; the ranks depend
    on n, q and the generator only, not on the values."""
    if n == 1:
        zero = np.zeros(resamples, dtype=np.int64)
        return zero, zero, 0.0
    h = (n - 1) * q / 100
    k = math.floor(h)  # 0-based: the resample's (k + 1)-th smallest, then the next
    u = rng.beta(k + 1, n - k, resamples)
    v = u + (1 - u) * rng.beta(1, n - k - 1, resamples) if k + 1 < n else u
    lows = np.minimum((u * n).astype(np.int64), n - 1)
    highs = np.minimum((v * n).astype(np.int64), n - 1)
    return lows, highs, h - k


def _resampled_percentiles(
    ordered: np.ndarray, q: float, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """numpy's linear q-th percentile of `resamples` bootstrap resamples of the sorted values."""
    lows, highs, frac = _drawn_ranks(len(ordered), q, resamples, rng)
    return np.asarray(ordered[lows] + frac * (ordered[highs] - ordered[lows]))


def replay_floor_ns(
    durations_ns: Mapping[str, int],
    savings_ns: Mapping[str, int],
    *,
    seed: int,
    resamples: int,
    q: float = 90,
) -> float:
    """A duration at or below which a trace's fix changes neither `whatif_p90` nor the
    (unweighted) `whatif_interval` of the same seed, so its replay can be skipped.

    `savings_ns` bounds how much each trace's fix can shorten it (a fix that only shortens: the
    rewritten duration lies in [duration - saving, duration]). Both results read only the
    sorted durations at and above one rank: the percentile's own rank, or the lowest rank a
    resample draws (`_drawn_ranks` gives the same ranks for the same seed, whatever the
    values). The rewritten duration at that rank is at least the same rank of the lower bounds;
    a trace whose duration is at or below that stays at or below it fixed or not, so the values
    at and above the rank are the same either way."""
    n = len(durations_ns)
    if n == 0:
        return -math.inf
    lows, _, _ = _drawn_ranks(n, q, resamples, np.random.default_rng(seed))
    k = min(math.floor((n - 1) * q / 100), int(lows.min()))
    bounds = np.fromiter((d - savings_ns.get(t, 0) for t, d in durations_ns.items()), np.float64, n)
    return float(np.partition(bounds, k)[k])


def saving_bound_ns(tree: SpanTree, edits: Edits) -> int | None:
    """The most `edits` can shorten the trace, or None when they may do more than shorten spans.

    Every end in the replay is a latest end plus lengths and gaps, so a span that is removed, cut
    to a shorter length, or has its self time scaled down by s moves any later end earlier by at
    most its length, the length it lost, or (1 - s) of its length: their sum bounds the trace's
    saving, and nothing moves later. Parallel and no-wait edits, head gaps, and a span made longer
    are not bounded this way (None)."""
    if edits.parallel or edits.no_wait or edits.head_gap_ns or edits.parallel_width:
        return None
    index, spans = tree.index, tree.spans
    total = 0
    for span_id in edits.remove:
        if span_id in index:
            span = spans[index[span_id]]
            total += span.end_ns - span.start_ns
    for span_id, new_ns in edits.duration_ns.items():
        if span_id in index:
            span = spans[index[span_id]]
            if new_ns > span.end_ns - span.start_ns:
                return None
            total += span.end_ns - span.start_ns - new_ns
    for span_id, scale in edits.gap_scale.items():
        if span_id in index:
            if scale > 1:
                return None
            span = spans[index[span_id]]
            total += math.ceil((1 - scale) * (span.end_ns - span.start_ns))
    return total


def typical_edits(analysis: TraceAnalysis, key: Key, profile: Baseline) -> Edits:
    """A plain operation (no pattern) at its baseline cost: each of its spans in the trace that
    took longer than the baseline's median takes the median; one with children keeps them and
    its self time is scaled to the baseline's median self time. An operation the baseline never
    ran costs nothing: its leaf spans are removed, its self time goes."""
    _, service, operation = key
    facts = facts_of(analysis)
    tree = analysis.tree
    durations: dict[str, int] = {}
    scales: dict[str, float] = {}
    removed: set[str] = set()
    for i, span in enumerate(tree.spans):
        if span.service != service or facts.named[i] != operation:
            continue
        op_key = facts.keys[i]
        if tree.children[i]:  # its children are contributors of their own
            base_self, own = profile.self_ns.get(op_key, 0.0), facts.self_ns[i]
            if own > base_self:
                scales[span.span_id] = base_self / own
            continue
        base = profile.duration_ns.get(op_key)
        if base is None:
            removed.add(span.span_id)
        elif span.end_ns - span.start_ns > base:
            durations[span.span_id] = int(base)
    return Edits(remove=frozenset(removed), duration_ns=durations, gap_scale=scales)


def edits_by_key(findings: Iterable[Finding], by_id: Container[str]) -> dict[Key, dict[str, Edits]]:
    """Each pattern key's edits, merged per trace, for the findings of traces in `by_id`."""
    edits_of: dict[Key, dict[str, Edits]] = defaultdict(dict)
    for f in findings:
        if f.trace_id not in by_id or f.edits.empty:
            continue
        per_trace = edits_of[(f.pattern, f.service, f.operation)]
        held = per_trace.get(f.trace_id)
        per_trace[f.trace_id] = f.edits if held is None else held.merged(f.edits)
    return edits_of


def merged_edits(
    edits_of: Mapping[Key, Mapping[str, Edits]], keys: Iterable[Key]
) -> dict[str, Edits]:
    """Per trace, the edits of every cause in `keys` at once."""
    merged: dict[str, Edits] = {}
    for key in keys:
        for trace_id, edits in edits_of.get(key, {}).items():
            held = merged.get(trace_id)
            merged[trace_id] = edits if held is None else held.merged(edits)
    return merged
