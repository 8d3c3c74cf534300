"""The stages wired together; read this file first.

    report = slowest("traces.jsonl", route="result")       # also the `tracelens slowest` command

source -> Trace -> SpanTree + critical path (analysis.py) -> route selection (routes.py) ->
slow and baseline sets -> baseline profile (baseline.py) -> findings (detectors/) ->
attribution with bootstrap intervals (attribution.py) -> what-if p90 (whatif.py) -> Report.
A tracing backend (Jaeger, Tempo) is read through remote.py: its requests are listed first, and only
the slow set and a sample of the rest are fetched whole.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from tracelens.analysis import TraceAnalysis, analyze_trace
from tracelens.answer import Report
from tracelens.attribution import attribute, too_small
from tracelens.baseline import build_baseline
from tracelens.detectors import Detector, default_detectors, detect_all
from tracelens.errors import UsageError
from tracelens.model import Contributor, ReadIssue, RouteStats, Selection, Trace, TraceSummary
from tracelens.pertree import forget, sharing
from tracelens.remote import RemoteRead, gather, read_remote
from tracelens.routes import RouteMatcher, display_route, route_of
from tracelens.sources import FetchProgress, RemoteSource, Source, Window, as_source
from tracelens.whatif import whatif_for_contributors, whatif_p90, whatif_together

Progress = Callable[[int], None]  # called with the number of traces read so far


def slowest(
    source: str | Source | Iterable[Trace] | None,
    route: str | None = None,
    *,
    percentile: float = 90.0,
    baseline: float = 50.0,
    window: Window | None = None,
    baseline_window: Window | None = None,
    slo_ns: int | None = None,
    top: int | None = None,
    detectors: Sequence[Detector] | None = None,
    seed: int = 0,
    resamples: int = 2000,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    limit: int = 2000,
    sample: int = 1000,
    fetch_progress: FetchProgress | None = None,
    jobs: int | None = None,
) -> Report:
    """Explain what makes the route's slow requests slow, against its baseline requests.

    From a backend, at most `limit` requests are listed per window and the baseline is a seeded
    sample of `sample` traces. `timings`, when given, receives the seconds spent in each stage
    (bench/slowest.py).
    """
    clock = _Stopwatch(timings)
    # Analyses hold millions of small objects that never form cycles; collecting them repeatedly
    # while they are being built, and again while every later stage allocates, costs more than
    # the analysis itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        src = as_source(source)
        remote = None
        if isinstance(src, RemoteSource):
            gathered = gather(
                src,
                route,
                window,
                baseline_window,
                percentile=percentile,
                baseline=baseline,
                limit=limit,
                sample=sample,
                seed=seed,
                progress=fetch_progress,
            )
            remote = read_remote(src, gathered)
            traces, issues, window = remote.analyses, remote.issues, remote.window
        else:
            traces, issues = _read(src, window, baseline_window, progress)
        # The stages below share each tree's operations, self times and route (pertree.py).
        with sharing():
            return _explain(
                traces,
                issues,
                route,
                percentile=percentile,
                baseline=baseline,
                window=window,
                baseline_window=baseline_window,
                slo_ns=slo_ns,
                top=top,
                detectors=detectors,
                seed=seed,
                resamples=resamples,
                clock=clock,
                remote=remote,
            )
    finally:
        if gc_was_enabled:
            gc.enable()


def _explain(
    traces: list[TraceAnalysis],
    issues: list[ReadIssue],
    route: str | None,
    *,
    percentile: float,
    baseline: float,
    window: Window | None,
    baseline_window: Window | None,
    slo_ns: int | None,
    top: int | None,
    detectors: Sequence[Detector] | None,
    seed: int,
    resamples: int,
    clock: _Stopwatch,
    remote: RemoteRead | None = None,
) -> Report:
    clock.lap("read + tree + critical path")
    current, before, matched = _select_route(traces, route, window, baseline_window)
    route_label = route or route_of(current[0].tree)[0]
    sampled = remote is not None and not remote.exact
    if remote is not None and sampled:
        # The sets were chosen on every listed request; the fetched traces are their members.
        slow = [a for a in current if a.trace.trace_id in remote.plan.slow_ids]
        pool = before if before is not None else current
        base = [a for a in pool if a.trace.trace_id in remote.plan.baseline_ids]
        if not slow or not base:
            raise UsageError("no fetched trace of the route is in the slow set or the baseline")
    else:
        durations = np.array([a.duration_ns for a in current], dtype=np.float64)
        cut = float(np.percentile(durations, percentile))
        slow = [a for a in current if a.duration_ns >= cut]
        if before is None:
            base_cut = float(np.percentile(durations, baseline))
            base = [a for a in current if a.duration_ns <= base_cut]
        else:
            base = before
    weights = remote.weights if remote is not None and sampled else None

    clock.lap("route selection")
    profile = build_baseline(base)
    clock.lap("baseline profile")
    chosen = list(detectors) if detectors is not None else default_detectors()
    everything = {id(a): a for a in (*current, *base)}
    with_findings = {
        key: replace(a, findings=detect_all(a, profile, chosen)) for key, a in everything.items()
    }
    current = [with_findings[id(a)] for a in current]
    slow = [with_findings[id(a)] for a in slow]
    base = [with_findings[id(a)] for a in base]
    forget("gaps", "op keys")  # only the baseline and the detectors use them
    clock.lap("detectors")

    contributors = attribute(
        slow, base, seed=seed, resamples=resamples, top=top, stratum=lambda a: route_of(a.tree)[0]
    )
    clock.lap("attribution + bootstrap")
    findings = tuple(f for a in current for f in a.findings)
    whatif = whatif_for_contributors(current, contributors, findings, weights=weights)
    clock.lap("what-if")
    contributors = tuple(
        replace(c, whatif_p90_ns=whatif.get((c.pattern, c.service, c.operation), c.whatif_p90_ns))
        for c in contributors
    )
    if remote is not None and sampled:
        stats = replace(remote.stats, slo_ns=slo_ns)
    else:
        stats = _stats(current, slo_ns)
        if remote is not None:
            stats = replace(stats, method=f"all {stats.count:,} requests of the route, fetched")
    # What a fix is compared with: the p90 of the analysed traces, as the what-if computes it.
    unfixed_p90 = whatif_p90({a.trace.trace_id: a.duration_ns for a in current}, {}, 90, weights)
    helpful = [
        c
        for c in contributors
        if c.pattern and c.whatif_p90_ns is not None and c.whatif_p90_ns < 0.99 * unfixed_p90
    ]
    keys = [(c.pattern, c.service, c.operation) for c in helpful]
    together = (
        whatif_together(current, keys, findings, weights=weights) if len(helpful) > 1 else None
    )

    slow_ids = {a.trace.trace_id for a in slow}
    base_ids = {a.trace.trace_id for a in base}
    # The waterfalls show what a p90 request and a typical request look like.
    example = _nearest(slow, stats.p90_ns)
    typical = _nearest(base, float(np.median([a.duration_ns for a in base]))) if base else None
    selection = Selection(
        route=route_label,
        matched=matched,
        start_ns=window.start_ns if window else None,
        end_ns=window.end_ns if window else None,
        percentile=percentile,
        baseline_percentile=baseline if before is None else 100.0,
        slow_trace_ids=tuple(sorted(slow_ids)),
        baseline_trace_ids=tuple(sorted(base_ids)),
        baseline_window=(
            (baseline_window.start_ns or 0, baseline_window.end_ns or 0)
            if baseline_window
            else None
        ),
        traces_total=len(current),
        skipped=_skipped(issues),
        sampling=remote.sampling if remote is not None else None,
    )
    if remote is not None and sampled and remote.baseline_stats is not None:
        baseline_stats: RouteStats | None = remote.baseline_stats
    else:
        baseline_stats = _stats(before, None) if before else None
    report = Report(
        selection=selection,
        stats=stats,
        baseline_stats=baseline_stats,
        contributor_rows=contributors,
        finding_rows=tuple(f for a in slow for f in a.findings),
        trace_rows=tuple(
            _summary(
                a,
                "slow"
                if a.trace.trace_id in slow_ids
                else "baseline"
                if a.trace.trace_id in base_ids
                else "",
            )
            for a in (*current, *(before or ()))
        ),
        example_path=example.path if example else (),
        example_spans={s.span_id: s for s in example.tree.spans} if example else {},
        typical_path=typical.path if typical else (),
        typical_spans={s.span_id: s for s in typical.tree.spans} if typical else {},
        warnings=tuple(f"{i.origin}: {i.message}" for i in issues[:20]),
        too_small=too_small(len(slow), len(base)),
        whatif_together_p90_ns=together,
        whatif_together=tuple(_label(c) for c in helpful) if together is not None else (),
    )
    clock.lap("report")
    return report


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now


def _read(
    src: Source,
    window: Window | None,
    baseline_window: Window | None,
    progress: Progress | None,
) -> tuple[list[TraceAnalysis], list[ReadIssue]]:
    """Read and analyse every trace in the current and baseline windows."""
    # A source can narrow its reads to one window; with two windows it must give both.
    stream = src.traces(window if baseline_window is None else None)
    analyses: list[TraceAnalysis] = []
    for n, trace in enumerate(stream, 1):
        if not trace.spans:
            continue
        start_ns = min(s.start_ns for s in trace.spans)
        if _in(window, start_ns) or (baseline_window and _in(baseline_window, start_ns)):
            analyses.append(analyze_trace(trace))
        if progress and n % 256 == 0:
            progress(n)
    return analyses, list(src.issues)


def _start_and_id(a: TraceAnalysis) -> tuple[int, str]:
    return a.tree.root_span.start_ns, a.trace.trace_id


def _in(window: Window | None, t_ns: int) -> bool:
    return window is None or window.contains(t_ns)


def _select_route(
    analyses: list[TraceAnalysis],
    route: str | None,
    window: Window | None,
    baseline_window: Window | None,
) -> tuple[list[TraceAnalysis], list[TraceAnalysis] | None, dict[str, int]]:
    """The route's traces in the current window, in the baseline window, and what matched."""
    if not analyses:
        raise UsageError("no traces in the selected window; widen --since/--start/--end")
    if route is None:
        names = Counter(route_of(a.tree)[0] for a in analyses)
        if len(names) > 1:
            listing = ", ".join(f"{n} ({c})" for n, c in names.most_common(12))
            more = f" and {len(names) - 12} more" if len(names) > 12 else ""
            raise UsageError(f"several routes in the data, pick one with --route: {listing}{more}")
        matcher = None
    else:
        matcher = RouteMatcher(route)
    current: list[TraceAnalysis] = []
    before: list[TraceAnalysis] = []
    matched: Counter[str] = Counter()
    for a in analyses:
        entry = matcher.match(a.tree) if matcher else route_of(a.tree)[1]
        if entry is None:
            continue
        start_ns = a.tree.root_span.start_ns
        if baseline_window is not None and baseline_window.contains(start_ns):
            before.append(a)
        elif _in(window, start_ns):
            current.append(a)
        else:
            continue
        matched[f"{entry.service}: {display_route(entry)}"] += 1
    if not current:
        known = Counter(route_of(a.tree)[0] for a in analyses)
        listing = ", ".join(f"{n} ({c})" for n, c in known.most_common(8))
        raise UsageError(f"no traces match route {route!r} in the window; routes seen: {listing}")
    if baseline_window is not None and not before:
        raise UsageError("no traces of the route in the baseline window")
    # In time order, so that the answer does not depend on the order a source gave the traces in
    # (a file and a backend give the same traces in different orders).
    current.sort(key=_start_and_id)
    before.sort(key=_start_and_id)
    return current, (before if baseline_window is not None else None), dict(matched)


def _stats(analyses: Sequence[TraceAnalysis] | None, slo_ns: int | None) -> RouteStats:
    durations = np.array([a.duration_ns for a in analyses or ()], dtype=np.float64)
    if durations.size == 0:
        return RouteStats(0, 0.0, 0.0, 0.0, slo_ns)
    p50, p90, p99 = np.percentile(durations, [50, 90, 99])
    return RouteStats(int(durations.size), float(p50), float(p90), float(p99), slo_ns)


def _summary(a: TraceAnalysis, group: str) -> TraceSummary:
    route, entry = route_of(a.tree)
    return TraceSummary(
        trace_id=a.trace.trace_id,
        route=route,
        service=entry.service,
        start_ns=a.tree.root_span.start_ns,
        duration_ns=a.duration_ns,
        group=group,
        critical_path_ns=sum(s.end_ns - s.start_ns for s in a.path),
        problems=len(a.tree.problems),
        clock_shifts=len(a.tree.shifts),
    )


def _label(c: Contributor) -> str:
    return (
        f"{c.pattern} · {c.service}: {c.operation}" if c.pattern else f"{c.service}: {c.operation}"
    )


def _nearest(analyses: Sequence[TraceAnalysis], target_ns: float) -> TraceAnalysis | None:
    """The trace whose duration is nearest `target_ns` (ties: the earlier one), or None."""
    return min(analyses, key=lambda a: abs(a.duration_ns - target_ns), default=None)


def _skipped(issues: Sequence[ReadIssue]) -> dict[str, int]:
    """Read issues grouped by the first clause of their message."""
    return dict(Counter(issue.message.split(":", 1)[0][:80] for issue in issues))
