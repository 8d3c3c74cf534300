"""`tracelens routes`: each route in the window with its request count and p50/p90/p99.

Sorted by p90 (or by count); routes whose p90 is over `--slo` are marked. Files and the store are
read whole; a Jaeger or Tempo backend lists every server operation's requests once (up to
`--limit`): Jaeger's listing holds whole traces, named by their entry span as for files; Tempo's
names each request by its root span.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from tracelens.commands.backend import config_defaults, open_from_args, show_notices
from tracelens.commands.options import positive_duration_ns
from tracelens.commands.single import analyse_route, analyses, route_name
from tracelens.commands.slowest import engine_of, windows
from tracelens.errors import SourceError, UsageError
from tracelens.model import Trace
from tracelens.report import duration
from tracelens.report.safe import visible
from tracelens.report.terminal import make_console, without_trailing_spaces
from tracelens.sources import DEFAULT_WINDOW_NS, InMemorySource, RemoteSource, Source, Window


@dataclass(frozen=True, slots=True)
class RouteLatency:
    name: str
    count: int
    p50_ns: float
    p90_ns: float
    p99_ns: float


def latency(name: str, durations_ns: list[int]) -> RouteLatency:
    p50, p90, p99 = np.percentile(np.asarray(durations_ns, dtype=np.float64), [50, 90, 99])
    return RouteLatency(name, len(durations_ns), float(p50), float(p90), float(p99))


def route_latencies(source: Source, window: Window | None, limit: int) -> list[RouteLatency]:
    """Every route's latency in the window, from whole traces or from a backend's listing."""
    by_route: dict[str, list[int]] = {}
    if isinstance(source, RemoteSource):
        now = time.time_ns()
        bounds = Window(*(window or Window()).bounds(DEFAULT_WINDOW_NS, now))
        # One listing of every server operation's requests. Where it carries whole traces
        # (Jaeger's search does) each is named by its entry span, as for files; otherwise by the
        # root span the backend reports (Tempo's search).
        listed = source.requests(None, bounds, limit)
        for summary in listed.summaries:
            trace = listed.traces.get(summary.trace_id)
            if trace is not None and trace.spans:
                name = route_name(analyse_route(trace))
            else:
                name = f"{summary.service}: {summary.name}"
            by_route.setdefault(name, []).append(summary.duration_ns)
    else:
        for a in analyses(source, window):
            by_route.setdefault(route_name(a), []).append(a.duration_ns)
    return [latency(name, ds) for name, ds in by_route.items() if ds]


def durations_in(item: Any) -> dict[str, list[int]]:
    """The map step of `routes --engine dask`: each route's durations in one archive file (an
    ArchivePart) or one batch of traces, counted as `route_latencies` counts them."""
    if isinstance(item, list):
        traces: Iterable[Trace] = item
    else:
        from tracelens.sources.archive import read_part

        traces = read_part(item, [])
    by_route: dict[str, list[int]] = {}
    try:
        for a in analyses(InMemorySource(traces), None):
            by_route.setdefault(route_name(a), []).append(a.duration_ns)
    except SourceError:
        return {}  # an unreadable file is left out, as ArchiveSource.traces leaves it out
    return by_route


def dask_route_latencies(
    source: Source, window: Window | None, scheduler: str | None, workers: int | None
) -> list[RouteLatency]:
    """`route_latencies` with the traces read and analysed on Dask, file by file of an archive
    (or batch by batch of another source's traces); only the durations come back."""
    from tracelens.engine_dask import DaskEngine, batches
    from tracelens.stages import Scope

    parts = getattr(source, "parts", None)
    with DaskEngine(scheduler, workers) as engine:
        if parts is not None:
            found = engine.map(durations_in, parts(Scope(window=window)))
        else:
            found = engine.map(durations_in, batches(source.traces(window)))
    by_route: dict[str, list[int]] = {}
    for part in found:
        for name, durations in part.items():
            by_route.setdefault(name, []).extend(durations)
    return [latency(name, ds) for name, ds in by_route.items() if ds]


def run(args: argparse.Namespace) -> int:
    config = config_defaults(args, ("source", "slo"))
    current, _ = windows(args, time.time_ns())
    show_notices()
    source = open_from_args(args, config)
    slo_ns = positive_duration_ns("--slo", args.slo) if args.slo else None
    if engine_of(args) == "dask" and not isinstance(source, RemoteSource):
        rows = dask_route_latencies(source, current, args.scheduler, args.jobs)
    else:  # a backend's listing is one request: nothing to spread over workers
        rows = route_latencies(source, current, args.limit)
    if not rows:
        raise UsageError("no traces in the selected window; widen --since/--start/--end")
    if args.sort == "count":
        rows.sort(key=lambda r: (-r.count, r.name))
    else:
        rows.sort(key=lambda r: (-r.p90_ns, r.name))
    console = make_console(sys.stdout)
    table = Table(box=None, padding=(0, 1), pad_edge=False)
    table.add_column("route", overflow="fold")
    for name in ("requests", "p50", "p90", "p99"):
        table.add_column(name, justify="right", no_wrap=True)
    if slo_ns is not None:
        table.add_column(f"SLO {duration(slo_ns)}", no_wrap=True)
    for r in rows:
        cells: list[str | Text] = [
            visible(r.name),
            str(r.count),
            duration(r.p50_ns),
            duration(r.p90_ns),
            duration(r.p99_ns),
        ]
        if slo_ns is not None:
            over = r.p90_ns > slo_ns
            cells.append(Text("over" if over else "ok", style="bold red" if over else "green"))
        table.add_row(*cells)
    with console.capture() as captured:
        console.print(table)
    sys.stdout.write(without_trailing_spaces(captured.get()))
    return 0
