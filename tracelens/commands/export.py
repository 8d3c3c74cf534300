"""`tracelens export`: a route's traces as OTLP JSON lines, to attach to a write-up, or as a
Parquet span archive for `--engine dask` (sources/archive.py).

    tracelens export --source tempo+https://tempo --route result --since 1h --out evidence.jsonl.gz
    tracelens export --source traces/ --route result --since 7d --parquet s3://bucket/week

From a backend it writes what `slowest` would fetch (the slow set and the baseline sample) or,
with `--all`, every listed request; from files or the store, every trace of the route in the
window. The file is OTLP JSON lines (gzip when the name ends in `.gz`), which `slowest --source`
reads back with the same answer. It is written to a temporary file and renamed when complete,
so an interrupted export leaves no partial file under the name asked for; an archive's manifest
is written last, so an interrupted one is no archive.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from tracelens.commands.backend import FetchBar, config_defaults, open_from_args, show_notices
from tracelens.commands.slowest import windows
from tracelens.errors import TracelensError, UsageError
from tracelens.graph import build_tree
from tracelens.model import Trace
from tracelens.otlp_json import write_otlp_lines
from tracelens.remote import gather
from tracelens.routes import RouteMatcher
from tracelens.sources import RemoteSource, Source, Window

EVERYTHING = 10**9  # a sample size no listing reaches


def run(args: argparse.Namespace) -> int:
    stderr = Console(stderr=True, highlight=False, emoji=False)
    config = config_defaults(args, ("source", "route"))
    window, _ = windows(args, time.time_ns())
    show_notices()
    source = open_from_args(args, config)
    if isinstance(source, RemoteSource):
        with FetchBar(stderr) as bar:
            got = gather(
                source,
                args.route,
                window,
                None,
                percentile=args.percentile,
                baseline=args.baseline,
                limit=args.limit,
                sample=EVERYTHING if args.all else args.sample,
                seed=args.seed,
                progress=bar.update,
            )
        traces: Iterable[Trace] = got.in_order()
        lost = None
        if got.fetched.failed:
            failed = len(got.fetched.failed)
            lost = (
                f"{failed:,} of {len(got.wanted):,} traces failed to fetch and are not in the file"
            )
    else:
        traces = _of_route(source, args.route, window)
        lost = None
    if args.parquet:
        from tracelens.sources.archive import write_archive

        written = write_archive(traces, args.parquet, buckets=args.buckets)
        count, spans, target = written.traces, written.spans, args.parquet
        files = f" in {len(written.files):,} files"
    else:
        count, spans = _write(traces, Path(args.out))
        target, files = args.out, ""
    if count == 0:
        raise UsageError(f"no traces of route {args.route!r} in the window; nothing written")
    for issue in source.issues[:5]:
        stderr.print(f"[yellow]warning:[/] {escape(issue.origin)}: {escape(issue.message)}")
    if lost:
        stderr.print(f"[yellow]warning:[/] {escape(lost)}", soft_wrap=True)
    stderr.print(
        f"wrote {count:,} traces ({spans:,} spans) to {escape(target)}{files}", soft_wrap=True
    )
    return 0


def _of_route(source: Source, route: str | None, window: Window | None) -> Iterator[Trace]:
    matcher = RouteMatcher(route) if route else None
    for trace in source.traces(window):
        if matcher is None or matcher.match(build_tree(trace)) is not None:
            yield trace


def _write(traces: Iterable[Trace], target: Path) -> tuple[int, int]:
    """Write the traces to `target` atomically; (traces, spans) written."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    except OSError as e:
        raise TracelensError(f"can't write {target}: {e.strerror or e}") from e
    os.close(fd)
    count = spans = 0
    try:
        opener = gzip.open if target.suffix == ".gz" else open
        with opener(tmp, "wb") as out:
            for trace in traces:
                spans += write_otlp_lines([trace], out)
                count += 1
        if count:
            os.replace(tmp, target)
    except OSError as e:
        raise TracelensError(f"can't write {target}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return count, spans
