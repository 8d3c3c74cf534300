"""`tracelens slowest`: windows from the options, the pipeline, then the renderers.

The report goes to stdout (terminal report, or JSON with --json); progress, warnings and errors go
to stderr; --csv and --markdown write files. Exit 3 when --fail-on-slo and p90 breaks --slo.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tracelens.answer import Report
from tracelens.bands import SAME
from tracelens.commands.backend import FetchBar, config_defaults, open_from_args, show_notices
from tracelens.commands.options import positive_duration_ns
from tracelens.engine import default_jobs
from tracelens.errors import TracelensError, UsageError
from tracelens.pipeline import slowest
from tracelens.remote import failure_line
from tracelens.report import read_sentence
from tracelens.report.safe import visible
from tracelens.sources import RemoteSource, Window
from tracelens.timespec import parse_time_ns

SLO_BREACHED = 3


def windows(args: argparse.Namespace, now_ns: int) -> tuple[Window | None, Window | None]:
    """The current window and, in before/after mode, the baseline window."""
    start = _time("--start", args.start, now_ns)
    end = _time("--end", args.end, now_ns)
    if args.since:
        if args.start:
            raise UsageError("give --since or --start, not both")
        start = now_ns - positive_duration_ns("--since", args.since)
    if start is not None and end is not None and end <= start:
        raise UsageError("--end must be after --start")
    current = Window(start, end) if start is not None or end is not None else None

    base_start = _time("--baseline-start", args.baseline_start, now_ns)
    base_end = _time("--baseline-end", args.baseline_end, now_ns)
    if args.baseline_since:
        if start is None:
            raise UsageError("--baseline-since needs --since or --start for the current window")
        base_start = now_ns - positive_duration_ns("--baseline-since", args.baseline_since)
        base_end = start
    if base_start is None and base_end is None:
        if args.baseline_band:
            raise UsageError(
                "--baseline-band needs a baseline window (--baseline-since, or --baseline-start"
                " and --baseline-end)"
            )
        return current, None
    if base_start is None or base_end is None:
        raise UsageError("before/after mode needs both --baseline-start and --baseline-end")
    if base_end <= base_start:
        raise UsageError("the baseline window ends before it starts")
    return current, Window(base_start, base_end)


def _time(option: str, text: str | None, now_ns: int) -> int | None:
    if not text:
        return None
    try:
        return parse_time_ns(text, now_ns)
    except UsageError as e:
        raise UsageError(f"{option}: {e}") from None


def run(args: argparse.Namespace) -> int:
    stderr = Console(stderr=True, highlight=False, emoji=False)
    config = config_defaults(args, ("source", "route", "slo", "jaeger_ui", "grafana_url"))
    now_ns = time.time_ns()
    current, baseline_window = windows(args, now_ns)
    show_notices()
    source = open_from_args(args, config)
    if args.jaeger_ui is None and isinstance(source, RemoteSource) and source.link_base:
        args.jaeger_ui = source.link_base
    slo_ns = positive_duration_ns("--slo", args.slo) if args.slo else None
    if args.fail_on_slo and slo_ns is None:
        raise UsageError("--fail-on-slo needs --slo, e.g. --slo 3s")
    if baseline_window is None and args.baseline >= args.percentile:
        raise UsageError(
            f"--baseline {args.baseline:g} must be below --percentile {args.percentile:g}: "
            "the baseline and the slow set would overlap"
        )
    outputs = [o for o in ("csv", "markdown", "html") if getattr(args, o) == "-"]
    if len(outputs) > 1 or (outputs and args.json):
        raise UsageError("only one output can go to stdout (-)")

    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as bar:
        remote = isinstance(source, RemoteSource)
        task = bar.add_task(f"asking {source.description}" if remote else "reading traces")
        fetch_bar = FetchBar(stderr, bar)  # a second line of the same display
        report = slowest(
            source,
            args.route,
            percentile=args.percentile,
            baseline=args.baseline,
            window=current,
            baseline_window=baseline_window,
            slo_ns=slo_ns,
            top=args.top,
            seed=args.seed,
            resamples=args.resamples,
            progress=lambda n: bar.update(task, description=f"reading traces: {n:,}"),
            limit=args.limit,
            sample=args.sample,
            fetch_progress=fetch_bar.update,
            jobs=args.jobs or default_jobs(),
            max_spans_per_trace=args.max_spans_per_trace,
            max_spans=args.max_spans,
            baseline_band=args.baseline_band or SAME,
        )

    sampling = report.selection.sampling
    lost = failure_line(sampling, len(report.trace_rows)) if sampling else None
    if lost:
        stderr.print(f"[yellow]warning:[/] {escape(visible(lost))}", soft_wrap=True)
    for warning in report.warnings[:5]:
        stderr.print(f"[yellow]warning:[/] {escape(visible(warning))}", soft_wrap=True)
    if report.selection.partial:
        stderr.print(
            f"[yellow]warning:[/] {escape(visible(read_sentence(report.selection)))}",
            soft_wrap=True,
        )

    _write_files(report, args)
    if outputs:
        pass  # the file output given as - is the report on stdout
    elif args.json:
        from tracelens.report import json as json_report

        json_report.render(report, sys.stdout)
    else:
        from tracelens.report import terminal

        terminal.render(
            report,
            sys.stdout,
            jaeger_ui=args.jaeger_ui,
            grafana_url=args.grafana_url,
            verbose=args.verbose,
        )
    if args.fail_on_slo and report.stats.breaches_slo:
        return SLO_BREACHED
    return 0


def _write_files(report: Report, args: argparse.Namespace) -> None:
    from tracelens.report import csv as csv_report
    from tracelens.report import html, markdown

    ui = {"jaeger_ui": args.jaeger_ui, "grafana_url": args.grafana_url}
    targets: tuple[tuple[str | None, Callable[[Report, TextIO], None]], ...] = (
        (args.csv, csv_report.render),
        (args.markdown, lambda report, out: markdown.render(report, out, **ui)),
        (args.html, lambda report, out: html.render(report, out, **ui)),
    )
    for path, render in targets:
        if not path:
            continue
        if path == "-":
            render(report, sys.stdout)
            continue
        try:
            with Path(path).open("w", encoding="utf-8", newline="") as out:
                render(report, out)
        except OSError as e:
            raise TracelensError(f"can't write {path}: {e.strerror or e}") from e
