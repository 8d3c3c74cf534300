"""The terminal report's detail, shown with --verbose: `sections(report, links, width)`.

The latency histogram with p90 and the SLO marked; the evidence behind each top contributor in
words (each trace's own numbers labelled as such, beside the row's mean); the critical path of the
trace nearest p90, one row per operation; and how the answer was worked out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Group, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

from tracelens.answer import Report
from tracelens.model import Contributor, Finding, Segment, Span
from tracelens.report import (
    baseline_words,
    count_matching,
    duration,
    duration_range,
    evidence_for,
    page_mix,
    percentile_name,
    percentiles_moved,
    read_sentence,
    sample_sentence,
    sampling_lines,
)
from tracelens.report.facts import Overlap, overlaps, trace_row
from tracelens.report.links import TraceLinks
from tracelens.report.safe import visible
from tracelens.report.words import humanize, label, per_request, shorten

NO_REGRESSION = 0.10  # before/after: a p90 rise below this is no regression to explain
MAX_CONTRIBUTORS_WITH_EVIDENCE = 5
MAX_WATERFALL_ROWS = 12
_EIGHTHS = " ▏▎▍▌▋▊▉"


class Link(Text):
    """A URL printed whole on one logical line: never folded or cropped, so it stays clickable."""


def sections(report: Report, links: TraceLinks, width: int) -> Iterator[RenderableType]:
    histogram = _histogram(report, width)
    if histogram is not None:
        yield histogram
    evidence = _evidence(report, links, width)
    if evidence:
        yield Group(*evidence)
    path = waterfall(report.example_path, report.example_spans, width, "nearest p90")
    if path is not None:
        yield path
    yield _method(report)


# --- latency histogram --------------------------------------------------------------------
def bucket_edges_ns(low_ns: int, high_ns: int) -> list[int]:
    """1-2-5 edges (1 µs, 2 µs, 5 µs, 10 µs, ...) from at or below `low_ns` to above `high_ns`.

    Durations under 1 µs fall into the first bucket.
    """
    edges = [1000]
    steps = (2, 2.5, 2)  # 1 -> 2 -> 5 -> 10
    i = 0
    while edges[-1] * steps[i % 3] <= low_ns:
        edges[-1] = int(edges[-1] * steps[i % 3])
        i += 1
    while edges[-1] <= high_ns or len(edges) < 2:
        edges.append(int(edges[-1] * steps[i % 3]))
        i += 1
    return edges


def histogram_counts(report: Report) -> tuple[list[int], list[int]]:
    """(edges, counts) of the current window's trace durations in 1-2-5 buckets."""
    rows = report.trace_rows
    if report.selection.baseline_window is not None:
        rows = tuple(r for r in rows if r.group != "baseline")  # the current window only
    durations = sorted(max(r.duration_ns, 0) for r in rows)
    if not durations:
        return [], []
    edges = bucket_edges_ns(durations[0], durations[-1])
    counts = [0] * (len(edges) - 1)
    j = 0
    for d in durations:  # sorted, so one pass over the buckets
        while j < len(counts) - 1 and d >= edges[j + 1]:
            j += 1
        counts[j] += 1
    return edges, counts


def bucket_of(edges: Sequence[int], value_ns: float) -> int:
    return next((i for i in range(len(edges) - 1) if value_ns < edges[i + 1]), len(edges) - 2)


def _histogram(report: Report, width: int) -> RenderableType | None:
    edges, counts = histogram_counts(report)
    if not counts:
        return None
    marks: dict[int, list[str]] = {}
    for name, value in (("p90", report.stats.p90_ns), ("SLO", report.stats.slo_ns)):
        if value is not None:
            marks.setdefault(bucket_of(edges, value), []).append(name)
    bar_width = max(10, min(40, width - 40))
    table = Table(
        box=None,
        show_header=False,
        padding=(0, 1),
        title_justify="left",
        title=Text("Latency of the route's traces", style="bold"),
    )
    justify: JustifyMethod
    for justify in ("right", "left", "right", "left"):
        table.add_column(justify=justify, no_wrap=True)
    top = max(counts)
    for i, n in enumerate(counts):
        span = f"{duration(edges[i])} – {duration(edges[i + 1])}"
        mark = "◀ " + ", ".join(marks[i]) if i in marks else ""
        table.add_row(span, bar(n, top, bar_width), str(n), Text(mark, style="yellow"))
    return table


def bar(value: float, top: float, width: int) -> str:
    """A left-aligned bar of `width` cells, `value / top` of it filled (eighths of a cell)."""
    if top <= 0 or value <= 0 or not math.isfinite(value):
        return " " * width
    eighths = round(min(value / top, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text.ljust(width)


# --- evidence -----------------------------------------------------------------------------
def _evidence(report: Report, links: TraceLinks, width: int) -> list[RenderableType]:
    starts = {t.trace_id: t.start_ns for t in report.trace_rows}
    n_slow = len(report.selection.slow_trace_ids)
    blocks: list[RenderableType] = []
    ranked = sorted(report.contributor_rows, key=lambda c: c.rank)
    top = ranked[:MAX_CONTRIBUTORS_WITH_EVIDENCE]
    shared = overlaps(report, among=top)
    for c in top:
        shown = evidence_for(report, c)
        if not shown:
            continue
        found = count_matching(report.finding_rows, c)
        blocks.append(Text())
        blocks.append(Text(f"{c.rank}. {label(c, full=True)}", style="bold"))
        blocks.append(_indented(_row_words(c, n_slow, found) + _shared(c, shared), "dim"))
        for f in shown:
            blocks.append(_indented(finding_words(report, f), bullet="•"))
            blocks.extend(
                Link(f"    {visible(url)}", style="blue")
                for url in links.urls(f.trace_id, starts.get(f.trace_id))
            )
    return [Text("Evidence", style="bold"), *blocks] if blocks else []


def _row_words(c: Contributor, n_slow: int, found: int) -> str:
    """The row's own quantity, labelled: a mean over the slow set, not any one trace."""
    return (
        f"mean over the slow set: {per_request(c)}; extra {duration(c.excess_ns)} "
        f"(95% CI {duration_range(c.ci_low_ns, c.ci_high_ns)}); on the path in {c.traces} of "
        f"{n_slow} slow traces; found {found}×"
    )


def _shared(c: Contributor, shared: Sequence[Overlap]) -> str:
    """Why one trace's time in these calls is larger than the row: a higher row claims part."""
    above = [f"#{o.first.rank}" for o in shared if o.second.rank == c.rank]
    if not above:
        return ""
    return (
        f"; part of these calls' time (e.g. waits before they connect) counts under "
        f"{', '.join(above)}, not here"
    )


def finding_words(report: Report, f: Finding) -> str:
    """`one trace, <id> (27.7 s): <summary in s/ms>; fixing it there saves 25 s`."""
    return f"one trace, {visible(f.trace_id)}{trace_length(report, f)}: {finding_body(f)}"


def trace_length(report: Report, f: Finding) -> str:
    """` (27.7 s)`: the finding's trace's duration, or "" when the report does not hold it."""
    row = trace_row(report, f.trace_id)
    return f" ({duration(row.duration_ns)})" if row is not None else ""


def finding_body(f: Finding) -> str:
    """What the finding says of its one trace, in s and ms, and what fixing it there saves."""
    text = humanize(f.summary or f.pattern)
    if f.saving_ns:
        text += f"; fixing it there saves {duration(f.saving_ns)}"
    return text


def _indented(text: str, style: str = "", bullet: str = "") -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", width=3)
    grid.add_column(overflow="fold")
    grid.add_row(bullet, Text(text, style=style))
    return grid


# --- critical path of one trace -----------------------------------------------------------
@dataclass
class _PathRow:
    """One operation's share of a critical path."""

    first_ns: int
    on_path_ns: int = 0
    span_ids: set[str] = field(default_factory=set)
    cells: set[int] = field(default_factory=set)


def path_rows(
    path: Sequence[Segment], spans: Mapping[str, Span], cells: int
) -> list[tuple[str, _PathRow]]:
    """One row per (service, operation) on the path, so an N+1 loop is one row, not 5,000."""
    t0, t1 = path[0].start_ns, path[-1].end_ns
    total_ns = max(t1 - t0, 1)
    rows: dict[str, _PathRow] = {}
    for seg in path:
        span = spans.get(seg.span_id)
        name = f"{visible(span.service)}: {visible(span.name)}" if span else visible(seg.span_id)
        row = rows.setdefault(name, _PathRow(seg.start_ns))
        row.on_path_ns += seg.end_ns - seg.start_ns
        row.span_ids.add(seg.span_id)
        first = (seg.start_ns - t0) * cells // total_ns
        last = max(first, (seg.end_ns - t0 - 1) * cells // total_ns)
        row.cells.update(range(first, min(last, cells - 1) + 1))
    return list(rows.items())


def waterfall(
    path: Sequence[Segment], spans: Mapping[str, Span], width: int, why: str
) -> RenderableType | None:
    """The critical path as a table: operation, its time on the path and where it fell."""
    if not path:
        return None
    cells = max(10, min(40, width - 56))
    by_time = sorted(path_rows(path, spans, cells), key=lambda kv: -kv[1].on_path_ns)
    kept, left_out = by_time[:MAX_WATERFALL_ROWS], by_time[MAX_WATERFALL_ROWS:]
    trace_id = visible(next((s.trace_id for s in spans.values()), ""))
    total = duration(path[-1].end_ns - path[0].start_ns)
    name_width = max(12, width - cells - 18)
    table = Table(
        box=None,
        show_header=False,
        padding=(0, 1),
        pad_edge=False,
        title_justify="left",
        title=Text(f"Critical path of trace {trace_id}, {why} ({total})", style="bold"),
    )
    table.add_column(no_wrap=True, width=name_width)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True, width=7)
    table.add_column(justify="right", no_wrap=True, width=6)
    for name, row in sorted(kept, key=lambda kv: kv[1].first_ns):
        timeline = "".join("█" if i in row.cells else "·" for i in range(cells))
        n = len(row.span_ids)
        table.add_row(
            shorten(name, name_width),
            Text(timeline, style="cyan"),
            duration(row.on_path_ns),
            f"×{n}" if n > 1 else "",
        )
    if left_out:
        rest_ns = sum(row.on_path_ns for _, row in left_out)
        table.add_row(
            Text(f"{len(left_out)} more operations", style="dim"), "", duration(rest_ns), ""
        )
    return table


# --- how this was worked out --------------------------------------------------------------
def method_lines(report: Report) -> list[str]:
    """The method in sentences: the sets, the arithmetic, the intervals, the what-if, the sample."""
    sel = report.selection
    slow = f"{len(sel.slow_trace_ids)} requests at or above {percentile_name(sel.percentile)}"
    typical = f"the {len(sel.baseline_trace_ids)} requests ({baseline_words(sel)})"
    lines = [
        f"slow set: the {slow}; typical (baseline): {typical}",
        *([mix] if (mix := page_mix(sel)) else []),
        *([f"route percentiles: {moved}"] if (moved := percentiles_moved(report)) else []),
        "each request's critical path (the chain of work that decided when it finished) is "
        "split among operations and the patterns found in them; a row's extra time is its mean "
        "on the slow paths minus its mean on the typical ones, so the rows add up to the "
        "difference of the two sets' mean durations",
        "95% intervals come from a bootstrap over traces; a row whose interval includes 0 is "
        "marked ? and may be noise",
        "p90 if fixed: every trace in which the pattern was found is rewritten as if it were "
        "fixed (N+1 batched into one call, DNS at its typical cost, a slow query at its typical "
        "duration, sequential calls in parallel, a retry without its failed attempts and their "
        "back-off; a plain operation at its typical cost), its critical path recomputed, and the "
        "route's p90 taken again over all traces, with a 95% interval from a bootstrap over the "
        "requests; fixes acting on the same calls overlap",
        "an N+1's batched call is costed as one of its calls: a batch that does work per item "
        "(a database reading every row) costs more, and its p90 if fixed is then optimistic",
        sample_sentence(report),
        *([read_sentence(report.selection)] if report.selection.partial else []),
        *sampling_lines(report),
    ]
    if report.too_small:
        lines.append("too few traces for firm intervals: treat the ranking as a hint")
    lines += [visible(w) for w in report.warnings[:3]]
    return lines


def _method(report: Report) -> RenderableType:
    lines: list[RenderableType] = [Text("How this was worked out", style="bold")]
    lines += [_indented(line, bullet="-") for line in method_lines(report)]
    return Group(*lines)
