"""Explain the p90 excess: `attribute(slow, baseline) -> tuple[Contributor, ...]`, ranked by excess.

    contributors = attribute(slow_analyses, baseline_analyses, seed=0, resamples=2000)
    contributors[0].excess_ns, contributors[0].share, contributors[0].ci_low_ns

Every critical-path segment of every trace goes to exactly one contributor key (pattern, service,
operation). By default a segment belongs to ("", span.service, its operation). Findings claim
segments: each finding's spans give a claim rule (the claimed span's (service, operation), the
finding's `part`) -> (pattern, finding.service, finding.operation), and the rule applies in EVERY
trace, slow and baseline alike, so a baseline trace's three calls are compared with a slow trace's
forty under the same key. Spans a finding lists explicitly are always claimed by it. When several
patterns claim the same span, the pattern that claims the most spans overall wins, everywhere.

A HEAD claim takes only the part of a span's path time before its first child starts:

    span   |=========----------========|      = path time of the span (its self time)
    child            |--------|
           ^ HEAD ^             ^ rest: goes to the ALL claim, or to the plain operation

For contributor c and trace t, x_c(t) is its critical-path time. Excess = mean over slow traces
minus mean over baseline traces. Segments tile each trace, so excesses add up exactly to the
difference of mean durations (time the path misses, if any, is kept as "(trace)/(off path)").
The 95% interval comes from a vectorised bootstrap over traces; the excess splits exactly into
"more calls at baseline speed" and "each call slower".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.model import ClaimPart, Contributor

Key = tuple[str, str, str]  # (pattern, service, operation); pattern "" for a plain operation
FloatArray = npt.NDArray[np.float64]

MIN_TRACES = 10  # fewer slow or baseline traces than this and the intervals mean little
OFF_PATH: Key = ("", "(trace)", "(off path)")  # trace time no segment covers (never expected)
UNKNOWN: Key = ("", "(unknown)", "(unknown)")  # a segment whose span the tree does not know
_BOOTSTRAP_CELLS = 4_000_000  # count-matrix cells per chunk: bounds memory at ~32 MB


Owners = tuple[Key | None, Key | None]  # (HEAD claim, ALL claim) of one span


@dataclass(frozen=True, slots=True)
class Claims:
    """Who owns which span's segments: explicit claims per trace, and rules by operation."""

    explicit: Mapping[str, Mapping[str, Owners]]  # trace_id -> span_id -> owners
    rules: Mapping[tuple[str, str], Owners]  # (service, operation) -> owners
    summaries: Mapping[Key, str]  # most common finding summary per pattern key


@dataclass(frozen=True, slots=True)
class PathTimes:
    """Per-trace critical-path time and calls of each contributor, as dense matrices."""

    keys: tuple[Key, ...]
    slow_ns: FloatArray  # slow traces x contributors
    base_ns: FloatArray  # baseline traces x contributors
    slow_calls: FloatArray
    base_calls: FloatArray
    slow_duration_ns: tuple[int, ...]
    base_duration_ns: tuple[int, ...]
    slow_trace_ids: tuple[str, ...]


def too_small(slow_n: int, base_n: int) -> bool:
    """True when either set is too small for the intervals (and ranking) to be trusted."""
    return slow_n < MIN_TRACES or base_n < MIN_TRACES


def interval_includes_zero(c: Contributor) -> bool:
    """The excess may be noise: its 95% interval reaches zero, or is missing (NaN).

    The one rule for every output: the frames' `note` and each renderer's `?` mark use it.
    A missing bound means nothing was concluded, so it counts as including zero.
    """
    lo, hi = c.ci_low_ns, c.ci_high_ns
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return True
    return lo <= 0.0 <= hi


def note(c: Contributor) -> str:
    """A one-line caveat for a contributor, or "" when its interval excludes zero."""
    return "interval includes 0: may be noise" if interval_includes_zero(c) else ""


def attribute(
    slow: Sequence[TraceAnalysis],
    baseline: Sequence[TraceAnalysis],
    *,
    seed: int = 0,
    resamples: int = 2000,
    top: int | None = None,
    stratum: Callable[[TraceAnalysis], str] | None = None,
) -> tuple[Contributor, ...]:
    """Rank contributors by how much of the slow-minus-baseline mean duration each explains.

    With `stratum` (e.g. the page a gateway request really served), baseline traces are weighted
    so that each stratum counts as much as it does among the slow traces: a slow set made of heavy
    pages is compared with the same pages' baseline, not with an average over lighter ones.
    """
    if not slow:
        return ()
    claims = build_claims([*slow, *baseline])
    times = path_times(slow, baseline, claims)
    weights = None
    if stratum is not None and baseline:
        slow_strata = [stratum(a) for a in slow]
        base_strata = [stratum(a) for a in baseline]
        if len({*slow_strata, *base_strata}) > 1:  # one page: plain means are the same thing
            weights = baseline_weights(slow_strata, base_strata)
    return rank(
        times, claims.summaries, seed=seed, resamples=resamples, top=top, base_weights=weights
    )


def baseline_weights(
    slow_strata: Sequence[str], base_strata: Sequence[str], min_traces: int = 3
) -> FloatArray:
    """Weights (summing to 1) over baseline traces that give each stratum its slow-set share.

    A stratum with fewer than `min_traces` baseline traces can't stand for itself: its share is
    spread over all baseline traces, as an unweighted baseline would.
    """
    n_base = len(base_strata)
    slow_share = Counter(slow_strata)
    base_count = Counter(base_strata)
    weights = np.zeros(n_base)
    pooled = 0.0
    index: dict[str, list[int]] = {}
    for i, name in enumerate(base_strata):
        index.setdefault(name, []).append(i)
    for name, count in slow_share.items():
        share = count / len(slow_strata)
        if base_count[name] >= min_traces:
            weights[index[name]] += share / base_count[name]
        else:
            pooled += share
    weights += pooled / n_base
    return weights


ClaimRow = tuple[Key, str, str, ClaimPart, tuple[tuple[str, str, str], ...]]
# One finding's claim: (key, trace id, summary, part, (span id, span service, span operation) of
# each of its spans the tree knows).


def claim_rows(analyses: Iterable[TraceAnalysis]) -> list[ClaimRow]:
    """What the findings of some traces claim, in trace and finding order (the map side)."""
    rows: list[ClaimRow] = []
    for a in analyses:
        if not a.findings:
            continue
        index, spans, trace_id = a.tree.index, a.tree.spans, a.trace.trace_id
        ops = _operations(a)
        for f in a.findings:
            held = []
            for sid in f.span_ids:
                i = index.get(sid)
                if i is not None:
                    held.append((sid, spans[i].service, ops[i]))
            rows.append(
                ((f.pattern, f.service, f.operation), trace_id, f.summary, f.part, tuple(held))
            )
    return rows


def build_claims(analyses: Iterable[TraceAnalysis]) -> Claims:
    """Collect claim rules from every finding of every trace; conflicts go to the widest pattern."""
    return claims_from(claim_rows(analyses))


def claims_from(rows: Iterable[ClaimRow]) -> Claims:
    """The claims of all findings, given in trace order (`claim_rows` of each set, joined)."""
    claimed: list[tuple[Key, str, str, ClaimPart, str, str]] = []
    weight: Counter[Key] = Counter()
    summaries: dict[Key, Counter[str]] = {}
    for key, trace_id, summary, part, spans in rows:
        summaries.setdefault(key, Counter())[summary] += 1
        for sid, service, op in spans:
            claimed.append((key, trace_id, sid, part, service, op))
        if spans:
            weight[key] += len(spans)
    # The pattern claiming most spans wins a contested span; ties break on the key for stability.
    order = {k: i for i, k in enumerate(sorted(weight, key=lambda k: (-weight[k], k)))}
    explicit: dict[str, dict[str, Owners]] = {}
    # The strongest claim wins whatever the order, so each rule needs each distinct claim once.
    by_rule: dict[tuple[str, str, Key, ClaimPart], None] = {}
    for key, trace_id, sid, part, service, op in claimed:
        in_trace = explicit.setdefault(trace_id, {})
        in_trace[sid] = _stronger(in_trace.get(sid, (None, None)), key, part, order)
        by_rule[service, op, key, part] = None
    rules: dict[tuple[str, str], Owners] = {}
    for service, op, key, part in by_rule:
        rules[service, op] = _stronger(rules.get((service, op), (None, None)), key, part, order)
    return Claims(
        explicit=explicit,
        rules=rules,
        summaries={k: c.most_common(1)[0][0] for k, c in summaries.items() if c},
    )


def _stronger(held: Owners, key: Key, part: ClaimPart, order: Mapping[Key, int]) -> Owners:
    """The owners after `key` claims `part`: it takes the part unless a stronger key holds it."""
    head, rest = held
    if part is ClaimPart.HEAD:
        return (key if head is None or order[key] < order[head] else head), rest
    return head, (key if rest is None or order[key] < order[rest] else rest)


def trace_contributions(
    analysis: TraceAnalysis, claims: Claims
) -> tuple[dict[Key, int], dict[Key, int]]:
    """Path ns and calls (distinct spans holding path time) of each contributor in one trace."""
    tree = analysis.tree
    on_path: dict[str, int] = {}
    for sid, lo, hi in analysis.path:
        if hi > lo:
            on_path[sid] = on_path.get(sid, 0) + hi - lo
    explicit = claims.explicit.get(analysis.trace.trace_id, {})
    rules = claims.rules
    ns: dict[Key, int] = {}
    calls: dict[Key, int] = {}
    heads: dict[str, tuple[Key, Key, int]] = {}  # span id -> (head key, rest key, first child)
    ops = _operations(analysis)
    index, spans, parents = tree.index, tree.spans, tree.parent

    def is_call(i: int, key: Key) -> bool:
        """A pattern that claims whole subtrees (an N+1's calls with their server and DB spans)
        counts each subtree once: a span whose parent the same pattern owns is not a new call."""
        p = parents[i]
        if not key[0] or p < 0:
            return True
        parent = spans[p]
        held = explicit.get(parent.span_id) if explicit else None
        rule = rules.get((parent.service, ops[p]))
        return ((held and held[1]) or (rule and rule[1]) or None) != key

    for sid, held_ns in on_path.items():
        i = index.get(sid)
        if i is None:
            ns[UNKNOWN] = ns.get(UNKNOWN, 0) + held_ns
            calls[UNKNOWN] = calls.get(UNKNOWN, 0) + 1
            continue
        span = spans[i]
        service, op = span.service, ops[i]
        mine = explicit.get(sid) if explicit else None
        rule = rules.get((service, op))
        if mine is None and rule is None:  # the common case: a plain operation
            plain: Key = ("", service, op)
            ns[plain] = ns.get(plain, 0) + held_ns
            calls[plain] = calls.get(plain, 0) + 1
            continue
        plain = ("", service, op)
        if mine is not None:
            # A finding in this very trace knows this span best: rules from other traces only
            # fill the part no finding here claimed, and never split a span claimed whole.
            head = mine[0]
            rest = mine[1] or (rule and rule[1]) or plain
        elif rule is not None:  # always, past the shortcut: the rules of other traces decide
            head, rest = rule[0], rule[1] or plain
        if head is None:
            ns[rest] = ns.get(rest, 0) + held_ns
            if is_call(i, rest):
                calls[rest] = calls.get(rest, 0) + 1
        else:  # children are sorted by start: the first one ends the head
            kids = tree.children[i]
            first_ns = tree.spans[kids[0]].start_ns if kids else span.end_ns
            heads[sid] = (head, rest, max(first_ns, span.start_ns))
    if heads:
        split: dict[tuple[str, Key], int] = {}
        for seg in analysis.path:
            owners = heads.get(seg.span_id)
            if owners is None or seg.end_ns <= seg.start_ns:
                continue
            head, rest, first_ns = owners
            head_ns = max(0, min(seg.end_ns, first_ns) - seg.start_ns)
            for key, part_ns in ((head, head_ns), (rest, seg.end_ns - seg.start_ns - head_ns)):
                if part_ns:
                    split[seg.span_id, key] = split.get((seg.span_id, key), 0) + part_ns
        for (sid, key), part_ns in split.items():
            ns[key] = ns.get(key, 0) + part_ns
            if is_call(index[sid], key):
                calls[key] = calls.get(key, 0) + 1
    missing = duration_ns(analysis) - sum(on_path.values())
    if missing:
        ns[OFF_PATH] = ns.get(OFF_PATH, 0) + missing
    return ns, calls


def duration_ns(analysis: TraceAnalysis) -> int:
    """The trace's root duration; 0 for a trace without spans."""
    return analysis.duration_ns if analysis.tree.spans else 0


def _operations(analysis: TraceAnalysis) -> list[str]:
    """Each span's operation, as the detectors and the baseline name it (shared: don't mutate)."""
    return facts_of(analysis).named


def path_times(
    slow: Sequence[TraceAnalysis], baseline: Sequence[TraceAnalysis], claims: Claims
) -> PathTimes:
    """Build the traces x contributors matrices of path time and calls for both sets."""
    return dense_times(
        [trace_contributions(a, claims) for a in slow],
        [trace_contributions(a, claims) for a in baseline],
        [duration_ns(a) for a in slow],
        [duration_ns(a) for a in baseline],
        [a.trace.trace_id for a in slow],
    )


Contributions = tuple[dict[Key, int], dict[Key, int]]  # trace_contributions of one trace


def dense_times(
    per_slow: Sequence[Contributions],
    per_base: Sequence[Contributions],
    slow_durations_ns: Sequence[int],
    base_durations_ns: Sequence[int],
    slow_trace_ids: Sequence[str],
) -> PathTimes:
    """The matrices from each trace's contributions, the sets' durations and the slow ids."""
    column: dict[Key, int] = {}
    for ns, _ in (*per_slow, *per_base):
        for k in ns:
            column.setdefault(k, len(column))
    keys = tuple(column)

    def dense(rows: Sequence[Contributions]) -> tuple[FloatArray, FloatArray]:
        x = np.zeros((len(rows), len(keys)))
        calls = np.zeros((len(rows), len(keys)))
        for r, (ns, n) in enumerate(rows):
            x[r, [column[k] for k in ns]] = list(ns.values())
            calls[r, [column[k] for k in n]] = list(n.values())
        return x, calls

    slow_ns, slow_calls = dense(per_slow)
    base_ns, base_calls = dense(per_base)
    return PathTimes(
        keys=keys,
        slow_ns=slow_ns,
        base_ns=base_ns,
        slow_calls=slow_calls,
        base_calls=base_calls,
        slow_duration_ns=tuple(slow_durations_ns),
        base_duration_ns=tuple(base_durations_ns),
        slow_trace_ids=tuple(slow_trace_ids),
    )


def bootstrap_means(x: FloatArray, rng: np.random.Generator, resamples: int) -> FloatArray:
    """Column means of `resamples` bootstrap resamples of the rows of x: (resamples, columns).

    Each resample is a row of counts (how often each trace was drawn); counts @ x gives all
    resampled sums at once. Resamples are drawn in chunks so memory stays bounded.
    """
    n, width = x.shape
    out = np.zeros((resamples, width))
    if n == 0:
        return out
    chunk = max(1, _BOOTSTRAP_CELLS // n)
    for lo in range(0, resamples, chunk):  # loops over chunks of resamples, not resamples
        r = min(chunk, resamples - lo)
        draws = rng.integers(0, n, size=(r, n))
        draws += np.arange(r)[:, None] * n
        counts = np.bincount(draws.ravel(), minlength=r * n).reshape(r, n).astype(np.float64)
        out[lo : lo + r] = counts @ x
    out /= n
    return out


def bootstrap_excess(
    slow_ns: FloatArray,
    base_ns: FloatArray,
    *,
    seed: int = 0,
    resamples: int = 2000,
    base_weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """95% bootstrap interval (low, high) of mean(slow) - mean(base) for every column.

    With `base_weights`, each resample's baseline mean is the weighted mean of the traces drawn.
    """
    rng = np.random.default_rng(seed)
    slow_means = bootstrap_means(slow_ns, rng, resamples)
    if base_weights is None:
        base_means = bootstrap_means(base_ns, rng, resamples)
    else:
        # each resample's weighted sums, and its total weight, over the same draws (both as
        # means: the 1/n of each cancels in their ratio)
        weighted = bootstrap_means(
            np.column_stack([base_ns * base_weights[:, None], base_weights]), rng, resamples
        )
        totals = weighted[:, -1:]
        base_means = np.divide(
            weighted[:, :-1], totals, out=np.zeros_like(weighted[:, :-1]), where=totals > 0
        )
    diff = slow_means - base_means
    low, high = np.percentile(diff, [2.5, 97.5], axis=0)
    return low, high


def split_excess(
    slow_calls: float, base_calls: float, slow_ns: float, base_ns: float
) -> tuple[float, float]:
    """(more_calls_ns, slower_calls_ns): excess = (n_s - n_b) * d_b + n_s * (d_s - d_b).

    n is mean calls on the path per trace, d mean path time per call. When the baseline has no
    calls, the new calls are priced at their own speed, so all the excess is "more calls".
    """
    d_s = slow_ns / slow_calls if slow_calls else 0.0
    d_b = base_ns / base_calls if base_calls else d_s
    more = (slow_calls - base_calls) * d_b
    return more, (slow_ns - base_ns) - more  # the second term written so the sum is exact


def rank(
    times: PathTimes,
    summaries: Mapping[Key, str],
    *,
    seed: int = 0,
    resamples: int = 2000,
    top: int | None = None,
    base_weights: FloatArray | None = None,
) -> tuple[Contributor, ...]:
    """Turn path-time matrices into ranked Contributors with intervals and the calls split."""
    n_slow, n_base = times.slow_ns.shape[0], times.base_ns.shape[0]
    if n_slow == 0 or not times.keys:
        return ()
    slow_mean = times.slow_ns.sum(axis=0) / n_slow
    slow_calls = times.slow_calls.mean(axis=0)
    base_durations = np.asarray(times.base_duration_ns, dtype=np.float64)
    if n_base == 0:
        base_mean = base_calls = np.zeros(len(times.keys))
        base_duration = 0.0
    elif base_weights is None:  # plain means: exact sums for exact identities
        base_mean = times.base_ns.sum(axis=0) / n_base
        base_calls = times.base_calls.mean(axis=0)
        base_duration = float(base_durations.sum()) / n_base
    else:
        base_mean = base_weights @ times.base_ns
        base_calls = base_weights @ times.base_calls
        base_duration = float(base_weights @ base_durations)
    excess = slow_mean - base_mean
    total = sum(times.slow_duration_ns) / n_slow - base_duration
    low, high = bootstrap_excess(
        times.slow_ns, times.base_ns, seed=seed, resamples=resamples, base_weights=base_weights
    )
    held = (times.slow_ns > 0).sum(axis=0)
    example = times.slow_ns.argmax(axis=0)
    order = sorted(range(len(times.keys)), key=lambda j: (-excess[j], times.keys[j]))
    if top is not None:
        order = order[:top]
    rows: list[Contributor] = []
    for r, j in enumerate(order, start=1):
        pattern, service, operation = times.keys[j]
        more, slower = split_excess(
            float(slow_calls[j]), float(base_calls[j]), float(slow_mean[j]), float(base_mean[j])
        )
        rows.append(
            Contributor(
                rank=r,
                pattern=pattern,
                service=service,
                operation=operation,
                slow_ns=float(slow_mean[j]),
                baseline_ns=float(base_mean[j]),
                excess_ns=float(excess[j]),
                share=float(excess[j] / total) if total else 0.0,
                ci_low_ns=float(low[j]),
                ci_high_ns=float(high[j]),
                traces=int(held[j]),
                example_trace_id=times.slow_trace_ids[int(example[j])],
                more_calls_ns=more,
                slower_calls_ns=slower,
                slow_calls=float(slow_calls[j]),
                baseline_calls=float(base_calls[j]),
                summary=summaries.get(times.keys[j], "") if pattern else "",
            )
        )
    return tuple(rows)
