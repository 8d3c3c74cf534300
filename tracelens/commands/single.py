"""The core as `routes`, `trace` and `graph` use it: one module to adapt when the core changes.

analyses(source, window)            # every trace of a source, analysed (tree, critical path)
route_name(analysis)                # "service: GET /result/[id]"
findings_of(analysis)               # detectors run on one trace, without a baseline
route_sets(source, route, ...)      # a route's slow and baseline requests, as `slowest` picks them
call_spans(analysis)                # the span tree as (caller, service, operation, path time)
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from tracelens import bands
from tracelens.analysis import TraceAnalysis, analyze_trace, facts_of
from tracelens.bands import SAME, Timed, cut_of, slow_band
from tracelens.baseline import build_baseline
from tracelens.detectors import default_detectors, detect_all
from tracelens.errors import UsageError
from tracelens.model import Finding, Trace
from tracelens.remote import gather, read_remote
from tracelens.routes import RouteMatcher, display_route
from tracelens.sources import RemoteSource, Source, Window


def analyse(trace: Trace) -> TraceAnalysis:
    return analyze_trace(trace)


def analyses(source: Source, window: Window | None) -> Iterator[TraceAnalysis]:
    """Each trace of the source in the window, with its tree, critical path and route (not the
    per-span facts: listing routes needs none)."""
    for trace in source.traces(window):
        if trace.spans:
            yield analyze_trace(trace, with_facts=False)


def analyse_route(trace: Trace) -> TraceAnalysis:
    """A trace's tree, path and route, without the per-span facts naming its route needs none of."""
    return analyze_trace(trace, with_facts=False)


def route_name(analysis: TraceAnalysis) -> str:
    """The page a trace served, as `slowest --route` matches it: "web: GET /result/[id]"."""
    _, entry = analysis.route
    return f"{entry.service}: {display_route(entry)}"


def findings_of(analysis: TraceAnalysis) -> tuple[Finding, ...]:
    """Every pattern found in one trace with an empty baseline: rules that need one stay quiet."""
    return detect_all(analysis, build_baseline([]), default_detectors())


@dataclass(frozen=True, slots=True)
class CallSpan:
    """One span as the call graph sees it: who called it, what it is, its critical-path time."""

    caller: int  # position of the parent span in the same tuple; -1 for the root
    service: str
    operation: str  # normalised, as `slowest` names it (analysis.facts.keys)
    on_path_ns: int  # critical-path time the span holds itself, outside its children


def call_spans(analysis: TraceAnalysis) -> tuple[CallSpan, ...]:
    """The trace's spans from the root down (every caller before its callees)."""
    facts = facts_of(analysis)
    tree = analysis.tree
    if tree.root < 0:
        return ()
    out: list[CallSpan] = []
    stack = [(tree.root, -1)]
    while stack:
        i, caller = stack.pop()
        service, operation = facts.keys[i]
        # Interned: a route's requests name the same few calls, and a graph of a big input holds
        # the spans of every request until its sets are drawn.
        name = sys.intern(operation or facts.named[i])
        out.append(CallSpan(caller, sys.intern(service), name, facts.on_path[i]))
        here = len(out) - 1
        stack.extend((c, here) for c in reversed(tree.children[i]))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Request:
    """One request of a route as the call graph needs it: when, how long, and its spans
    (call_spans), without the trace."""

    trace_id: str
    start_ns: int
    duration_ns: int
    calls: tuple[CallSpan, ...]


def request_of(analysis: TraceAnalysis) -> Request:
    root = analysis.tree.root_span
    return Request(
        analysis.trace.trace_id, root.start_ns, root.end_ns - root.start_ns, call_spans(analysis)
    )


@dataclass(frozen=True, slots=True)
class RouteSets:
    """A route's requests split as `slowest` splits them: slow (at or above the percentile) and
    baseline (at or below the baseline percentile, or the baseline window's requests)."""

    route: str  # "web: GET /result/[id]", the entry that matched most often
    requests: int  # of the route in the current window
    slow: list[Request]
    baseline: list[Request]
    slow_from_ns: float  # the percentile's duration
    baseline_to_ns: float | None  # the baseline percentile's, None in before/after mode


def route_sets(
    source: Source,
    route: str | None,
    window: Window | None,
    baseline_window: Window | None,
    *,
    percentile: float,
    baseline: float,
    limit: int,
    sample: int,
    seed: int,
    baseline_band: str = SAME,
) -> RouteSets:
    """The route's slow and baseline requests, analysed; UsageError naming the routes seen when
    none match. A backend's requests are listed, then the two sets fetched (remote.py)."""
    if isinstance(source, RemoteSource):
        return _remote_sets(
            source,
            route,
            window,
            baseline_window,
            percentile,
            baseline,
            limit,
            sample,
            seed,
            baseline_band,
        )
    matcher = RouteMatcher(route) if route else None
    current: list[Request] = []
    before: list[Request] = []
    entries: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    # With two windows the source is read whole: it can narrow its reads to one window only.
    for trace in source.traces(window if baseline_window is None else None):
        if not trace.spans:
            continue
        a = analyze_trace(trace, with_facts=False)
        name, entry, into = place(a, matcher, window, baseline_window)
        seen[name] += 1
        if into == "current":
            entries[entry] += 1
        if into:
            request = request_of(replace(a, facts=facts_of(a)))
            (current if into == "current" else before).append(request)
    check_sets(seen, route, bool(current), baseline_window is not None and not before)
    return _split(
        entries.most_common(1)[0][0],
        current,
        before,
        baseline_window,
        percentile,
        baseline,
        baseline_band,
    )


def place(
    a: TraceAnalysis,
    matcher: RouteMatcher | None,
    window: Window | None,
    baseline_window: Window | None,
) -> tuple[str, str, str]:
    """(the trace's route name, the matched entry's name, "current", "before" or "": the set
    it belongs to, none when the route does not match or it is outside both windows)."""
    name = route_name(a)
    entry = matcher.match(a.tree) if matcher else a.route[1]
    if entry is None:
        return name, "", ""
    start_ns = a.tree.root_span.start_ns
    if baseline_window is not None and baseline_window.contains(start_ns):
        into = "before"
    elif window is None or window.contains(start_ns):
        into = "current"
    else:
        into = ""
    return name, f"{entry.service}: {display_route(entry)}", into


def check_sets(seen: Counter[str], route: str | None, current: bool, no_before: bool) -> None:
    """UsageError when the traces read (`seen`, by route) give no sets to compare."""
    if not seen:
        raise UsageError("no traces in the selected window; widen --since/--start/--end")
    if route is None and len(seen) > 1:
        listing = ", ".join(f"{n} ({c})" for n, c in seen.most_common(12))
        raise UsageError(f"several routes in the data, pick one with --route: {listing}")
    if not current:
        listing = ", ".join(f"{n} ({c})" for n, c in seen.most_common(8))
        raise UsageError(f"no traces match route {route!r} in the window; routes seen: {listing}")
    if no_before:
        raise UsageError("no traces of the route in the baseline window")


A = TypeVar("A", bound=Timed)


def split_sets(
    current: list[A],
    before: list[A],
    baseline_window: Window | None,
    percentile: float,
    baseline: float,
    baseline_band: str = SAME,
) -> tuple[list[A], list[A], float, float | None]:
    """(slow, baseline, the slow set's cut, the baseline's cut or None in before/after mode),
    the sets bands.py draws."""
    slow, cut = slow_band(current, percentile)
    if baseline_window is not None:
        base = bands.baseline_band(current, before, percentile, baseline, baseline_band)
        return slow, base, cut, None
    return (
        slow,
        bands.baseline_band(current, None, percentile, baseline),
        cut,
        cut_of(current, baseline),
    )


def _split(
    name: str,
    current: list[Request],
    before: list[Request],
    baseline_window: Window | None,
    percentile: float,
    baseline: float,
    baseline_band: str = SAME,
) -> RouteSets:
    slow, base, cut, base_cut = split_sets(
        current, before, baseline_window, percentile, baseline, baseline_band
    )
    return RouteSets(name, len(current), slow, base, cut, base_cut)


def _remote_sets(
    source: RemoteSource,
    route: str | None,
    window: Window | None,
    baseline_window: Window | None,
    percentile: float,
    baseline: float,
    limit: int,
    sample: int,
    seed: int,
    baseline_band: str,
) -> RouteSets:
    g = gather(
        source,
        route,
        window,
        baseline_window,
        percentile=percentile,
        baseline=baseline,
        limit=limit,
        sample=sample,
        seed=seed,
        baseline_band=baseline_band,
    )
    read = read_remote(source, g)
    matcher = RouteMatcher(route) if route else None
    found: dict[str, Request] = {}
    entries: Counter[str] = Counter()
    for trace in read.traces:
        a = analyze_trace(trace)
        entry = matcher.match(a.tree) if matcher else a.route[1]
        if entry is not None:
            found[trace.trace_id] = request_of(a)
            entries[f"{entry.service}: {display_route(entry)}"] += 1
    name = entries.most_common(1)[0][0] if entries else route or "(route)"
    if read.exact:
        current = [r for r in found.values() if read.window.contains(r.start_ns)]
        before = [r for r in found.values() if not read.window.contains(r.start_ns)]
        if current:
            return _split(
                name, current, before, baseline_window, percentile, baseline, baseline_band
            )
    slow = [found[t] for t in sorted(read.plan.slow_ids) if t in found]
    base = [found[t] for t in sorted(read.plan.baseline_ids) if t in found]
    if not slow or not base:
        raise UsageError("no fetched trace of the route is in the slow set or the baseline")
    base_cut = None if baseline_window else cut_of(g.listed.summaries, baseline)
    return RouteSets(name, len(g.listed.summaries), slow, base, read.plan.cut_ns, base_cut)
