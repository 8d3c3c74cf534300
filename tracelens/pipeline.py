"""The stages wired together; read this file first.

    report = slowest("traces.jsonl", route="result")       # also the `tracelens slowest` command

The run is a map over the input's traces and a few reductions over what the map returns
(stages.py; engine.py runs the map on every core):

    map (per piece of input)   bytes -> Trace -> SpanTree + critical path + facts (analysis.py),
                               kept on a shard; a Brief per trace comes back
    route selection            briefs -> slow and baseline sets (routes.py)
    reduce 1                   baseline traces -> profile parts -> baseline profile (baseline.py)
    map 2                      traces + profile -> findings (detectors/), kept with their traces
    reduce 2                   findings -> claims; path times -> contributors with bootstrap
                               intervals (attribution.py); edits -> what-if p90 (whatif.py)
                               -> Report

A tracing backend (Jaeger, Tempo) is read through remote.py: its requests are listed first, and
only the slow set and a sample of the rest are fetched whole.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import numpy as np

from tracelens import bands
from tracelens.answer import Report
from tracelens.attribution import baseline_weights, claims_from, dense_times, rank, too_small
from tracelens.bands import BANDS, SAME, slow_band
from tracelens.baseline import Baseline, merge_profile
from tracelens.budget import MAX_SPANS, MAX_SPANS_PER_TRACE, UNBOUNDED, run_cut
from tracelens.detectors import Detector, default_detectors
from tracelens.engine import Engine, Shards, default_jobs, workers_can_start
from tracelens.errors import SourceError, UsageError
from tracelens.model import (
    Contributor,
    LeftOut,
    PageShare,
    ReadIssue,
    RouteStats,
    Selection,
    Trace,
    TraceSummary,
    Unit,
)
from tracelens.readers.accounting import describe, skipped_traces, tally
from tracelens.readers.pieces import join_parts, pieces
from tracelens.remote import RemoteRead, gather, read_remote
from tracelens.routes import RouteMatcher
from tracelens.sources import FetchProgress, RemoteSource, Source, Window, as_source
from tracelens.sources.files import FileSource
from tracelens.stages import (
    BEFORE,
    CURRENT,
    Brief,
    Scope,
    claims_of,
    contributions_of,
    detect_in,
    drop_loose,
    examples_of,
    held_counts,
    keep_sample,
    profile_of,
    savings_of,
    take_parts,
    whatif_of,
)
from tracelens.whatif import Key, replay_floor_ns, whatif_interval, whatif_p90

if TYPE_CHECKING:
    from tracelens.sources.archive import ArchiveSource

Progress = Callable[[int], None]  # called with the number of traces read so far
PLAIN_WHATIFS = 5  # plain operations whose what-if is replayed, biggest first
PARALLEL_BYTES = 16 << 20  # smaller inputs are read in this process: workers cost a start-up


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
    jobs: int | None = 1,
    max_spans_per_trace: int = MAX_SPANS_PER_TRACE,
    max_spans: int | None = None,
    baseline_band: str = SAME,
    engine: str | Shards = "local",
    scheduler: str | None = None,
) -> Report:
    """Explain what makes the route's slow requests slow, against its baseline requests.

    From a backend, at most `limit` requests are listed per window and the baseline is a seeded
    sample of `sample` traces. `jobs` worker processes read and analyse trace files big enough to
    gain from them (None: one per core); the answer is the same for any number. A trace with more
    than `max_spans_per_trace` spans, and a fragment whose root span was lost, are left out and
    counted (`Selection.left_out`). When the traces would hold more than `max_spans` spans (each
    trace counting 8 more for its own records), a uniform sample of them by trace id is analysed,
    the same for any `jobs` (`Selection.sample_level`; budget.py). None: 2,000,000 on the local
    engine; unbounded on Dask, whose workers hold the traces (size the cluster instead).
    With a `baseline_window`, the baseline is its requests in the same band as the slow set by
    default (`baseline_band`: "same", "typical" for those at or below `baseline`, or "all";
    bands.py).
    `engine` "dask" runs the map steps on Dask (engine_dask.py): on the cluster whose scheduler is
    at `scheduler`, else on a LocalCluster of `jobs` workers; the answer is the same. An engine
    object (an `Engine`, a `DaskEngine`) is used as it is, and left open.
    `timings`, when given, receives the seconds spent in each stage (bench/slowest.py).
    """
    if baseline_band not in BANDS:
        raise UsageError(f"baseline band {baseline_band!r}: use one of {', '.join(BANDS)}")
    if max_spans is None:
        local = isinstance(engine, Engine) or (engine == "local" and scheduler is None)
        max_spans = MAX_SPANS if local else UNBOUNDED
    clock = _Stopwatch(timings)
    # Analyses hold millions of small objects that never form cycles; collecting them repeatedly
    # while they are being built, and again while every later stage allocates, costs more than
    # the analysis itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        src = as_source(source)
        scope = Scope(
            RouteMatcher(route) if route else None,
            window,
            baseline_window,
            max_spans_per_trace,
            max_spans,
        )
        with _engine_for(src, jobs, engine, scheduler) as shards:
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
                    baseline_band=baseline_band,
                )
                remote = read_remote(src, gathered)
                window = remote.window
                # The backend chose the traces by their root's start: no first-span filter.
                scope = replace(scope, window=None, baseline_window=None)
                briefs = shards.add(remote.traces, 0, scope)
                briefs, cut = _sampled(shards, briefs, scope)
                briefs = [_in_windows(b, window, baseline_window) for b in briefs]
                read = _Read(
                    briefs, list(remote.issues), len(remote.traces), 0, cut, scope.max_held
                )
            else:
                read = _read(shards, src, scope, progress)
            return _explain(
                shards,
                read,
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
                baseline_band=baseline_band,
            )
    finally:
        if gc_was_enabled:
            gc.enable()


def _explain(
    engine: Shards,
    read: _Read,
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
    baseline_band: str = SAME,
) -> Report:
    clock.lap("read + tree + critical path")
    briefs = [b for b in read.briefs if not b.left_out]
    issues = read.issues + [
        ReadIssue(
            f"trace {b.trace_id}",
            f"{b.left_out} ({b.spans:,} spans); left out of route analysis",
            Unit.TRACE,
            reason=b.left_out,
        )
        for b in read.briefs
        if b.left_out
    ]
    left_out = tally(issues)
    if not briefs:
        _nothing_analysed(left_out, read, window is not None or baseline_window is not None)
    current, before, matched = _select_route(briefs, route, baseline_window)
    route_label = route or current[0].route
    sampled = remote is not None and not remote.exact
    if remote is not None and sampled:
        # The sets were chosen on every listed request; the fetched traces are their members.
        slow = [b for b in current if b.trace_id in remote.plan.slow_ids]
        pool = before if before is not None else current
        base = [b for b in pool if b.trace_id in remote.plan.baseline_ids]
        if not slow or not base:
            raise UsageError("no fetched trace of the route is in the slow set or the baseline")
    else:
        slow, _ = slow_band(current, percentile)
        base = _like_pages(current, before, percentile, baseline, baseline_band)
    weights = remote.weights if remote is not None and sampled else None
    slow_ids = frozenset(b.trace_id for b in slow)
    base_ids = frozenset(b.trace_id for b in base)
    current_ids = frozenset(b.trace_id for b in current)

    clock.lap("route selection")
    profile = merge_profile(engine.run(profile_of, base_ids))
    clock.lap("baseline profile")
    chosen = tuple(detectors) if detectors is not None else default_detectors()
    found = _merged(engine.run(detect_in, profile, chosen, current_ids | base_ids, slow_ids))
    clock.lap("detectors")

    contributors: tuple[Contributor, ...] = ()
    if slow:
        rows = _merged(engine.run(claims_of, slow_ids | base_ids))
        claims = claims_from(r for b in (*slow, *base) for r in rows.get(b.trace_id, ()))
        per_trace = _merged(engine.run(contributions_of, claims, slow_ids | base_ids))
        times = dense_times(
            [per_trace[b.trace_id] for b in slow],
            [per_trace[b.trace_id] for b in base],
            [b.duration_ns for b in slow],
            [b.duration_ns for b in base],
            [b.trace_id for b in slow],
        )
        strata = None
        if base and len({b.page for b in (*slow, *base)}) > 1:
            # Each page counts as much in the baseline as among the slow traces (attribution.py).
            strata = baseline_weights([b.page for b in slow], [b.page for b in base])
        contributors = rank(
            times, claims.summaries, seed=seed, resamples=resamples, top=top, base_weights=strata
        )
    clock.lap("attribution + bootstrap")
    durations_of = {b.trace_id: b.duration_ns for b in current}
    # Every pattern's fix, and the biggest plain operations at their baseline cost (each costs a
    # replay of most traces, so only those a reader looks at first).
    plain = [c for c in contributors if not c.pattern and c.excess_ns > 0][:PLAIN_WHATIFS]
    fixes = {
        c.fix_name: [(c.pattern, c.service, c.operation)]
        for c in contributors
        if c.pattern or c in plain
    }
    rewritten = _replayed(
        engine, fixes, current_ids, profile, durations_of, weights, seed=seed, resamples=resamples
    )
    contributors = tuple(
        _with_whatif(c, durations_of, rewritten.get(c.fix_name), weights, seed, resamples)
        for c in contributors
    )
    clock.lap("what-if")
    if remote is not None and sampled:
        stats = replace(remote.stats, slo_ns=slo_ns)
    else:
        stats = _stats(current, slo_ns)
        if remote is not None:
            stats = replace(stats, method=f"all {stats.count:,} requests of the route, fetched")
    # What a fix is compared with: the p90 of the analysed traces, as the what-if computes it.
    unfixed_p90 = whatif_p90(durations_of, {}, 90, weights)
    helpful = [
        c
        for c in contributors
        if c.pattern and c.whatif_p90_ns is not None and c.whatif_p90_ns < 0.99 * unfixed_p90
    ]
    together = None
    if len(helpful) > 1:
        keys = [(c.pattern, c.service, c.operation) for c in helpful]
        new = _replayed(
            engine,
            {"together": keys},
            current_ids,
            None,
            durations_of,
            weights,
            seed=seed,
            resamples=resamples,
        )["together"]
        if new is not None:
            together = whatif_p90(durations_of, new, 90, weights)

    # The waterfalls show what a p90 request and a typical request look like.
    example = _nearest(slow, stats.p90_ns)
    typical = _nearest(base, float(np.median([b.duration_ns for b in base]))) if base else None
    shown = [t.trace_id for t in (example, typical) if t is not None]
    held = _merged(engine.run(examples_of, frozenset(shown)))
    example_path, example_spans = held.get(example.trace_id, ((), {})) if example else ((), {})
    typical_path, typical_spans = held.get(typical.trace_id, ((), {})) if typical else ((), {})
    selection = Selection(
        route=route_label,
        matched=matched,
        start_ns=window.start_ns if window else None,
        end_ns=window.end_ns if window else None,
        percentile=percentile,
        baseline_percentile=baseline,
        baseline_band=baseline_band if before is not None else "",
        slow_trace_ids=tuple(sorted(slow_ids)),
        baseline_trace_ids=tuple(sorted(base_ids)),
        baseline_window=(
            (baseline_window.start_ns or 0, baseline_window.end_ns or 0)
            if baseline_window
            else None
        ),
        traces_total=len(current),
        skipped=skipped_traces(left_out),
        sampling=remote.sampling if remote is not None else None,
        left_out=left_out,
        traces_read=read.traces,
        files_read=read.files,
        pages=_page_mix(slow, base),
        sample_level=read.sample_level,
        max_spans=read.max_spans,
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
        finding_rows=tuple(f for b in slow for f in found.get(b.trace_id, ())),
        trace_rows=tuple(
            _summary(
                b,
                "slow" if b.trace_id in slow_ids else "baseline" if b.trace_id in base_ids else "",
            )
            for b in (*current, *(before or ()))
        ),
        example_path=example_path,
        example_spans=example_spans,
        typical_path=typical_path,
        typical_spans=typical_spans,
        warnings=tuple(f"{i.origin}: {i.message}" for i in issues[:20]),
        too_small=too_small(len(slow), len(base)),
        whatif_together_p90_ns=together,
        whatif_together=tuple(c.fix_name for c in helpful) if together is not None else (),
    )
    clock.lap("report")
    return report


T = TypeVar("T")


def _merged(parts: Iterable[Mapping[str, T]]) -> dict[str, T]:
    """The shards' results keyed by trace id (or fix), as one mapping."""
    out: dict[str, T] = {}
    for part in parts:
        out.update(part)
    return out


def _replayed(
    engine: Shards,
    fixes: Mapping[str, Sequence[Key]],
    trace_ids: frozenset[str],
    profile: Baseline | None,
    durations_of: Mapping[str, int],
    weights: Mapping[str, float] | None,
    *,
    seed: int,
    resamples: int,
) -> dict[str, dict[str, int] | None]:
    """Each fix's rewritten durations (None: the fix edits no trace), replaying only the traces
    that can move its what-if p90 or interval: a replay costs about as much as reading the trace,
    and a plain operation's fix edits most traces of the route. Each trace's most possible
    saving comes first (no replay); a trace no longer than the fix's floor keeps its duration
    (whatif.replay_floor_ns), exactly as if replayed. A sampled backend's weighted interval
    resamples any trace, so there every edited trace is replayed."""
    savings = _rewritten(engine.run(savings_of, fixes, trace_ids, profile))
    floors = None
    if weights is None:
        floors = {
            fix: replay_floor_ns(durations_of, saved, seed=seed, resamples=resamples)
            for fix, saved in savings.items()
        }
    rewritten = _rewritten(engine.run(whatif_of, fixes, trace_ids, profile, floors))
    return {fix: rewritten.get(fix, {}) if savings.get(fix) else None for fix in fixes}


def _rewritten(parts: Iterable[Mapping[str, Mapping[str, int]]]) -> dict[str, dict[str, int]]:
    """The shards' what-if durations joined per fix."""
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for fix, durations in part.items():
            out.setdefault(fix, {}).update(durations)
    return out


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now


@contextlib.contextmanager
def _engine_for(
    src: Source, jobs: int | None, engine: str | Shards, scheduler: str | None
) -> Iterator[Shards]:
    """The engine the map steps run on: given, on Dask, or in this process and its workers."""
    if not isinstance(engine, str):
        yield engine
        return
    if engine == "dask" or scheduler is not None:
        from tracelens.engine_dask import DaskEngine

        with DaskEngine(scheduler, workers=jobs) as on_dask:
            yield on_dask
        return
    if engine != "local":
        raise UsageError(f"--engine {engine!r}: choose local or dask")
    with Engine(_jobs_for(src, jobs)) as local:
        yield local


def _archive(src: Source) -> ArchiveSource | None:
    """The source as a span archive; pyarrow is not imported for sources that are not one."""
    module = sys.modules.get("tracelens.sources.archive")
    return src if module is not None and isinstance(src, module.ArchiveSource) else None


def _jobs_for(src: Source, jobs: int | None) -> int:
    """Worker processes worth starting: only for trace files, big enough ones, and archives of
    several files."""
    archive = _archive(src)
    if not workers_can_start() or not (isinstance(src, FileSource) or archive is not None):
        return 1
    if jobs is None:
        jobs = default_jobs()
    if jobs <= 1:
        return 1
    if archive is not None:
        return min(jobs, len(archive.files))
    assert isinstance(src, FileSource)
    if src.path == "-":
        return 1
    root = Path(src.path)
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    return jobs if size >= PARALLEL_BYTES else 1


@dataclass(frozen=True, slots=True)
class _Read:
    """What reading gave: the briefs, the issues and how many traces from how many files."""

    briefs: list[Brief]
    issues: list[ReadIssue]
    traces: int
    files: int
    sample_level: int = 0  # the sampling cut (budget.py): 0 when every trace was analysed
    max_spans: int = MAX_SPANS  # the budget it kept to


def _read(engine: Shards, src: Source, scope: Scope, progress: Progress | None) -> _Read:
    """Read and analyse every trace in the current and baseline windows into the engine."""
    archive = _archive(src)
    if isinstance(src, FileSource) or archive is not None:
        if isinstance(src, FileSource):
            mapped = engine.load(pieces(src.path), scope, progress)
        else:
            from tracelens.sources.archive import map_part

            assert archive is not None
            mapped = engine.load(archive.parts(scope), scope, progress, step=map_part)
        issues = [i for m in mapped for i in m.issues]
        failed = [m.failed for m in mapped if m.failed is not None]
        if failed and len(failed) == len(mapped):
            more = f" (and {len(failed) - 1} more unreadable files)" if len(failed) > 1 else ""
            raise SourceError(f"{failed[0]}{more}")
        # The sample is cut before the parts of split traces are joined, so that no trace is
        # joined from parts of which one fell out of the sample in one shard, and again after.
        briefs, _ = _sampled(engine, [b for m in mapped for b in m.briefs], scope)
        briefs, rejoined = _joined(engine, briefs, scope)
        briefs, cut = _sampled(engine, briefs, scope)
        traces = sum(m.traces for m in mapped) - rejoined
        files = len({m.file for m in mapped if m.file and m.failed is None})
        return _Read(briefs, issues, traces, files, cut, scope.max_held)
    # A source can narrow its reads to one window; with two windows it must give both.
    window = scope.window if scope.baseline_window is None else None
    counted: list[int] = []
    briefs = engine.add(_counting(src.traces(window), counted), 0, scope)
    briefs, cut = _sampled(engine, briefs, scope)
    read = counted[0] if counted else len(briefs)
    return _Read(briefs, list(src.issues), read, 0, cut, scope.max_held)


def _counting(traces: Iterable[Trace], counted: list[int]) -> Iterator[Trace]:
    n = 0
    for trace in traces:
        n += 1
        yield trace
    counted.append(n)


def _sampled(engine: Shards, briefs: list[Brief], scope: Scope) -> tuple[list[Brief], int]:
    """The briefs of the run's sample and its cut (budget.py); every shard keeps just those."""
    cut = run_cut(engine.run(held_counts), scope.max_held)
    engine.run(keep_sample, cut)
    return [b for b in briefs if b.level >= cut], cut


def _joined(engine: Shards, briefs: list[Brief], scope: Scope) -> tuple[list[Brief], int]:
    """The briefs after joining the traces that one file's pieces cut in parts, and how many
    parts were joined away (a trace read in three parts counts two)."""
    pieces_of: dict[str, set[int]] = {}
    for b in briefs:
        pieces_of.setdefault(b.trace_id, set()).add(b.piece)
    split = frozenset(t for t, numbers in pieces_of.items() if len(numbers) > 1)
    rejoined = sum(len(pieces_of[t]) - 1 for t in split)
    if split:
        parts = sorted(
            (p for found in engine.run(take_parts, split) for p in found), key=lambda p: p[0]
        )
        by_id: dict[str, list[Trace]] = {}
        for _, trace in parts:
            by_id.setdefault(trace.trace_id, []).append(trace)
        first = {t: min(pieces_of[t]) for t in split}
        joined = sorted(by_id.items(), key=lambda item: first[item[0]])
        briefs = [b for b in briefs if b.trace_id not in split]
        for trace_id, traces in joined:
            briefs += engine.add([join_parts(traces)], first[trace_id], scope)
    engine.run(drop_loose)
    return briefs, rejoined


def _nothing_analysed(left_out: Sequence[LeftOut], read: _Read, windowed: bool) -> NoReturn:
    """SourceError (exit 1) saying why no trace at all could be analysed."""
    lost = describe(left_out)
    if windowed and read.traces:
        raise UsageError(
            "no traces in the selected window; widen --since/--start/--end"
            + (f" (left out: {lost})" if lost else "")
        )
    if not lost:
        raise SourceError("no traces in the input")
    raise SourceError(f"no trace could be analysed: read {read.traces:,} traces, left out {lost}")


def _in_windows(b: Brief, window: Window | None, baseline_window: Window | None) -> Brief:
    if baseline_window is not None and baseline_window.contains(b.start_ns):
        return replace(b, period=BEFORE)
    if window is None or window.contains(b.start_ns):
        return replace(b, period=CURRENT)
    return replace(b, period="")


def _start_and_id(b: Brief) -> tuple[int, str]:
    return b.start_ns, b.trace_id


def _select_route(
    briefs: list[Brief], route: str | None, baseline_window: Window | None
) -> tuple[list[Brief], list[Brief] | None, dict[str, int]]:
    """The route's traces in the current window, in the baseline window, and what matched."""
    if not briefs:
        raise UsageError("no traces in the selected window; widen --since/--start/--end")
    if route is None:
        names = Counter(b.route for b in briefs)
        if len(names) > 1:
            listing = ", ".join(f"{n} ({c})" for n, c in names.most_common(12))
            more = f" and {len(names) - 12} more" if len(names) > 12 else ""
            raise UsageError(f"several routes in the data, pick one with --route: {listing}{more}")
    current: list[Brief] = []
    before: list[Brief] = []
    matched: Counter[str] = Counter()
    for b in briefs:
        if b.entry is None or not b.period:
            continue
        if b.period == BEFORE:
            before.append(b)
        else:
            current.append(b)
            matched[b.entry] += 1  # the requests of the window the report explains
    if not current:
        known = Counter(b.route for b in briefs)
        listing = ", ".join(f"{n} ({c})" for n, c in known.most_common(8))
        raise UsageError(f"no traces match route {route!r} in the window; routes seen: {listing}")
    if baseline_window is not None and not before:
        raise UsageError("no traces of the route in the baseline window")
    # In time order, so that the answer does not depend on the order a source gave the traces in
    # (a file and a backend give the same traces in different orders).
    current.sort(key=_start_and_id)
    before.sort(key=_start_and_id)
    return current, (before if baseline_window is not None else None), dict(matched)


def _stats(briefs: Sequence[Brief] | None, slo_ns: int | None) -> RouteStats:
    durations = np.array([b.duration_ns for b in briefs or ()], dtype=np.float64)
    if durations.size == 0:
        return RouteStats(0, 0.0, 0.0, 0.0, slo_ns)
    p50, p90, p99 = np.percentile(durations, [50, 90, 99])
    return RouteStats(int(durations.size), float(p50), float(p90), float(p99), slo_ns)


def _like_pages(
    current: Sequence[Brief],
    before: Sequence[Brief] | None,
    percentile: float,
    baseline: float,
    band: str,
) -> list[Brief]:
    """The baseline, drawn page by page when the route serves several (pages.py): each page's
    own typical requests (or its band of the baseline window), so that the heavy pages that fill
    the slow set are compared with their own kind, not with the light pages below the median."""
    now_of, then_of = _by_page(current), _by_page(before or ())
    pages = sorted(now_of.keys() | then_of.keys())
    if len(pages) < 2:
        return bands.baseline_band(current, before, percentile, baseline, band)
    out: list[Brief] = []
    for page in pages:
        now = now_of.get(page, [])
        then = None if before is None else then_of.get(page, [])
        if then if then is not None else now:
            out += bands.baseline_band(now, then, percentile, baseline, band)
    return sorted(out, key=_start_and_id)


def _by_page(briefs: Iterable[Brief]) -> dict[str, list[Brief]]:
    """The briefs of each page, in their order (one pass, however many pages there are)."""
    out: dict[str, list[Brief]] = {}
    for b in briefs:
        out.setdefault(b.page, []).append(b)
    return out


def _page_mix(slow: Sequence[Brief], base: Sequence[Brief]) -> tuple[PageShare, ...]:
    """Each page's traces among the slow and the baseline ones, most slow first; () for one page."""
    slow_pages, base_pages = Counter(b.page for b in slow), Counter(b.page for b in base)
    if len(slow_pages | base_pages) < 2:
        return ()
    return tuple(
        PageShare(page, slow_pages[page], base_pages[page])
        for page in sorted(
            slow_pages | base_pages, key=lambda p: (-slow_pages[p], -base_pages[p], p)
        )
    )


def _summary(b: Brief, group: str) -> TraceSummary:
    return TraceSummary(
        trace_id=b.trace_id,
        route=b.route,
        service=b.service,
        start_ns=b.start_ns,
        duration_ns=b.duration_ns,
        group=group,
        critical_path_ns=b.critical_path_ns,
        problems=b.problems,
        clock_shifts=b.clock_shifts,
    )


def _with_whatif(
    c: Contributor,
    durations_of: Mapping[str, int],
    rewritten: Mapping[str, int] | None,
    weights: Mapping[str, float] | None,
    seed: int,
    resamples: int,
) -> Contributor:
    """The contributor with its what-if p90 and interval; None when no fix is modelled."""
    if rewritten is None:
        return replace(c, whatif_p90_ns=None, whatif_low_ns=None, whatif_high_ns=None)
    low, high = whatif_interval(
        durations_of, rewritten, seed=seed, resamples=resamples, weights=weights
    )
    p90 = whatif_p90(durations_of, rewritten, 90, weights)
    return replace(c, whatif_p90_ns=p90, whatif_low_ns=low, whatif_high_ns=high)


def _nearest(briefs: Sequence[Brief], target_ns: float) -> Brief | None:
    """The trace whose duration is nearest `target_ns` (ties: the earlier one), or None."""
    return min(briefs, key=lambda b: abs(b.duration_ns - target_ns), default=None)
