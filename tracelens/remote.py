"""Reading a route from a tracing backend: `read_remote(source, gather(source, route, ...))`.

`gather` lists the route's requests in the window (durations only), places the percentiles on
them, and fetches the slow set and a seeded sample of the rest (`sampling.plan_fetch`);
`read_remote` analyses what came and accounts for every trace that could not be fetched. The
analyses are the pipeline's usual input; the rest of `RemoteRead` tells the pipeline which sets
were chosen, the route's percentiles over every listed request (or over the whole window, from
TraceQL metrics), and each trace's weight.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tracelens.bands import SAME
from tracelens.errors import SourceError, UsageError
from tracelens.model import ReadIssue, RouteStats, Sampling, Trace
from tracelens.sampling import FetchPlan, plan_fetch
from tracelens.sources import (
    DEFAULT_WINDOW_NS,
    Fetched,
    FetchProgress,
    RemoteSource,
    Requests,
    Window,
)


@dataclass(frozen=True)
class RemoteRead:
    traces: list[Trace]  # the fetched traces, in the order they were asked for
    issues: list[ReadIssue]
    plan: FetchPlan
    sampling: Sampling
    stats: RouteStats  # the current window, over everything listed (or TraceQL metrics)
    baseline_stats: RouteStats | None
    weights: Mapping[str, float] | None  # None when every listed request was analysed
    window: Window
    # Every request of the route in the window(s) was listed and fetched: the analysis is then
    # exactly that of the same traces in a file, and the sets are chosen as for files.
    exact: bool


@dataclass(frozen=True)
class Gathered:
    """A route's listed requests and the traces fetched for them (`gather`)."""

    window: Window
    listed: Requests
    before: Requests | None
    plan: FetchPlan
    wanted: list[str]  # the ids the plan asked for, in order
    traces: Mapping[str, Trace]  # those that came
    fetched: Fetched

    def in_order(self) -> list[Trace]:
        return [self.traces[t] for t in self.wanted if t in self.traces]


def read_remote(source: RemoteSource, g: Gathered) -> RemoteRead:
    """The analyses of what `gather` fetched, with the account of how it was chosen."""
    listed, before, plan, got, fetched = g.listed, g.before, g.plan, g.traces, g.fetched
    failed = Counter(fetched.failed.values())
    traces = [t for t in g.in_order() if t.spans]
    slow_fetched = sum(1 for t in plan.slow_ids if t in got)
    others_fetched = sum(1 for t in plan.sampled_ids if t in got)
    baseline_from = plan.baseline_ids if before else plan.sampled_ids
    sampling = Sampling(
        backend=source.description,
        query=listed.query,
        listed=len(listed.summaries),
        complete=listed.complete,
        slow_listed=len(plan.slow_ids),
        slow_fetched=slow_fetched,
        others_listed=plan.baseline_listed if before else plan.others_listed,
        others_sampled=len(baseline_from),
        others_fetched=sum(1 for t in baseline_from if t in got),
        failed=dict(failed),
        failed_ids=tuple(sorted(fetched.failed)),
        cached=fetched.cached,
        unlisted=dict(listed.left_out),
    )
    exact = (
        listed.complete
        and len(plan.sampled_ids) == plan.others_listed
        and (
            before is None or (before.complete and len(plan.baseline_ids) == len(before.summaries))
        )
    )
    weights: dict[str, float] | None = None
    if slow_fetched < len(plan.slow_ids) or others_fetched < plan.others_listed:
        # Each fetched trace stands for the listed requests of its stratum that were not fetched.
        w_slow = len(plan.slow_ids) / max(1, slow_fetched)
        w_other = plan.others_listed / max(1, others_fetched)
        weights = dict.fromkeys(plan.slow_ids, w_slow) | dict.fromkeys(plan.sampled_ids, w_other)
    return RemoteRead(
        traces=traces,
        issues=list(source.issues),
        plan=plan,
        sampling=sampling,
        stats=_listed_stats(listed),
        baseline_stats=_listed_stats(before) if before else None,
        weights=weights,
        window=g.window,
        exact=exact,
    )


def gather(
    source: RemoteSource,
    route: str | None,
    window: Window | None,
    baseline_window: Window | None,
    *,
    percentile: float,
    baseline: float,
    limit: int,
    sample: int,
    seed: int,
    progress: FetchProgress | None = None,
    baseline_band: str = SAME,
) -> Gathered:
    """List the route's requests, plan what to fetch (sampling.py) and fetch it.

    Without a window start the window is the last hour. SourceError when more than half of the
    traces fail to fetch; UsageError when the window holds no request of the route.
    """
    if route is None:
        known = source.routes(window or Window())
        if len(known) != 1:
            ranked = sorted(known.items(), key=lambda kv: (-kv[1], kv[0]))
            listing = ", ".join(f"{name} ({n})" if n else name for name, n in ranked[:12]) or "none"
            raise UsageError(f"pick a route with --route; {source.description} has: {listing}")
    window = Window(*(window or Window()).bounds(DEFAULT_WINDOW_NS, time.time_ns()))
    listed = source.requests(route, window, limit)
    before = source.requests(route, baseline_window, limit) if baseline_window else None
    if not listed.summaries:
        raise UsageError(
            f"{source.description}: no requests of the route in the window "
            f"({listed.query}); widen --since or check --route"
        )
    if before is not None and not before.summaries:
        raise UsageError(f"{source.description}: no requests of the route in the baseline window")
    plan = plan_fetch(
        listed.summaries,
        before.summaries if before else None,
        percentile=percentile,
        baseline=baseline,
        sample=sample,
        seed=seed,
        band=baseline_band,
    )
    whole = {**listed.traces, **(before.traces if before else {})}
    wanted = plan.ids
    fetched = source.fetch([t for t in wanted if t not in whole], progress)
    got = {**{t: whole[t] for t in wanted if t in whole}, **{t.trace_id: t for t in fetched.traces}}
    if len(fetched.failed) * 2 > len(wanted):
        failed = Counter(fetched.failed.values())
        raise SourceError(
            f"{source.description}: {len(fetched.failed):,} of {len(wanted):,} traces failed to "
            f"fetch ({_reasons(failed)}); try again, or lower --concurrency"
        )
    return Gathered(window, listed, before, plan, wanted, got, fetched)


def _listed_stats(listed: Requests) -> RouteStats:
    if listed.percentiles is not None:
        p = listed.percentiles
        count = p.count if p.count is not None else len(listed.summaries)
        return RouteStats(
            count, p.p50_ns, p.p90_ns, p.p99_ns, method=f"{p.method}, {count:,} requests"
        )
    durations = np.array([s.duration_ns for s in listed.summaries], dtype=np.float64)
    p50, p90, p99 = np.percentile(durations, [50, 90, 99])
    more = "" if listed.complete else " (the --limit; the window holds more)"
    method = f"durations of the {durations.size:,} requests listed{more}"
    return RouteStats(int(durations.size), float(p50), float(p90), float(p99), method=method)


def _reasons(failed: Counter[str]) -> str:
    return ", ".join(f"{n:,} {why}" for why, n in failed.most_common())


def failure_line(sampling: Sampling, analysed: int) -> str | None:
    """ "analysed 812 of 1,000 traces; 188 failed: 120 timeouts, 68 HTTP 503", or None."""
    if not sampling.failed:
        return None
    total = analysed + sum(sampling.failed.values())
    failed = sum(sampling.failed.values())
    return (
        f"analysed {analysed:,} of {total:,} traces; {failed:,} failed: "
        f"{_reasons(Counter(sampling.failed))}"
    )
