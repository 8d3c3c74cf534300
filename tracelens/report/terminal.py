"""The report for people at a terminal, drawn with rich: `render(report, out, jaeger_ui=...)`.

    render(report, sys.stdout, jaeger_ui="http://localhost:16686")
    render(report, buf, width=100, color_system=None)          # tests and golden files

Sections, top to bottom: what was asked and what matched, sample sizes, p50/p90/p99 against the
SLO, a latency histogram, the ranked contributors, the findings behind them with trace links, the
critical path of a representative slow trace, and the what-if table. NO_COLOR turns off every
style (not only colours); tables fold to the console width, down to about 60 columns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tracelens.answer import Report
from tracelens.model import Contributor, Finding, Segment, Span
from tracelens.report import (
    ci_includes_zero,
    contributor_label,
    count_matching,
    duration,
    duration_range,
    evidence_for,
    percent,
    percentile_name,
    sample_sentence,
    sampling_lines,
    whatif_change,
    whatif_rows,
    window_text,
)
from tracelens.report.links import TraceLinks

ColorSystem = Literal["auto", "standard", "256", "truecolor", "windows"]

WIDE = 140  # room for every contributor column
NARROW = 80  # below this, details move into the contributor cell
MAX_CONTRIBUTORS_WITH_EVIDENCE = 5
MAX_WATERFALL_ROWS = 12
_EIGHTHS = " ▏▎▍▌▋▊▉"


def make_console(
    out: TextIO,
    *,
    width: int | None = None,
    color_system: ColorSystem | None = "auto",
    force_terminal: bool | None = None,
) -> Console:
    """A console on `out`; with NO_COLOR set (non-empty) it writes no escape codes at all."""
    if os.environ.get("NO_COLOR"):
        # rich's own no_color keeps bold and underline; the convention asks for plain text
        color_system = None
    return Console(
        file=out,
        width=width,
        color_system=color_system,
        force_terminal=force_terminal,
        highlight=False,
        emoji=False,
        markup=False,
    )


def render(
    report: Report,
    out: TextIO,
    *,
    width: int | None = None,
    color_system: ColorSystem | None = "auto",
    force_terminal: bool | None = None,
    jaeger_ui: str | None = None,
    grafana_url: str | None = None,
    grafana_datasource: str = "tempo",
) -> None:
    """Print the whole report on `out`; trace links point at the UIs given, if any."""
    console = make_console(
        out, width=width, color_system=color_system, force_terminal=force_terminal
    )
    links = TraceLinks(jaeger_ui, grafana_url, grafana_datasource)
    for block in sections(report, links, console.width):
        console.print(block, soft_wrap=isinstance(block, Link))


def sections(report: Report, links: TraceLinks, width: int) -> Iterator[RenderableType]:
    """The report's blocks in order, each separated by a blank line."""
    yield _header(report)
    yield Text()
    yield _latency(report)
    histogram = _histogram(report, width)
    if histogram is not None:
        yield Text()
        yield histogram
    yield Text()
    yield from _contributors(report, width)
    evidence = _findings(report, links)
    if evidence:
        yield Text()
        yield from evidence
    waterfall = _waterfall(report, width)
    if waterfall is not None:
        yield Text()
        yield waterfall
    whatif = _whatif(report)
    if whatif is not None:
        yield Text()
        yield whatif


# --- what was asked -----------------------------------------------------------------------
def _header(report: Report) -> RenderableType:
    sel = report.selection
    lines = [
        Text.assemble(
            ("Why is ", "bold"), (sel.route or "(all routes)", "bold cyan"), (" slow?", "bold")
        )
    ]
    lines.append(Text(f"window: {window_text(sel.start_ns, sel.end_ns)}"))
    if sel.baseline_window is not None:
        lines.append(Text(f"baseline window: {window_text(*sel.baseline_window)}"))
    if sel.matched:
        ranked = sorted(sel.matched.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{name} ({n})" for name, n in ranked[:5])
        more = f", and {len(ranked) - 5} more" if len(ranked) > 5 else ""
        lines.append(Text(f"matched: {shown}{more}"))
    lines.append(Text(sample_sentence(report)))
    lines += [Text(line) for line in sampling_lines(report)]
    slow_set = f"slow: {percentile_name(sel.percentile)} and above, {len(sel.slow_trace_ids)}"
    if sel.baseline_window is not None:
        base_set = f"baseline: the baseline window, {len(sel.baseline_trace_ids)}"
    else:
        base_set = (
            f"baseline: {percentile_name(sel.baseline_percentile)} and below, "
            f"{len(sel.baseline_trace_ids)}"
        )
    lines.append(Text(f"{slow_set} traces · {base_set} traces"))
    return Group(*lines)


NO_REGRESSION = 0.10  # before/after: a p90 rise below this is no regression to explain


def _latency(report: Report) -> RenderableType:
    stats = report.stats
    lines = [
        Text(
            f"p50 {duration(stats.p50_ns)} · p90 {duration(stats.p90_ns)} · "
            f"p99 {duration(stats.p99_ns)}   ({stats.count} traces)"
        )
    ]
    if stats.slo_ns is not None:
        if stats.breaches_slo:
            verdict = f"SLO breached: p90 {duration(stats.p90_ns)} > {duration(stats.slo_ns)}"
            lines.append(Text(verdict, style="bold red"))
        else:
            verdict = f"within SLO: p90 {duration(stats.p90_ns)} ≤ {duration(stats.slo_ns)}"
            lines.append(Text(verdict, style="green"))
    base = report.baseline_stats
    if base is not None:
        change = (stats.p90_ns - base.p90_ns) / base.p90_ns if base.p90_ns > 0 else None
        lines.append(
            Text(
                f"baseline window: p50 {duration(base.p50_ns)} · p90 {duration(base.p90_ns)} · "
                f"p99 {duration(base.p99_ns)}   ({base.count} traces); "
                f"p90 now {percent(change, signed=True)}"
            )
        )
        if change is not None and change < NO_REGRESSION:
            lines.append(
                Text(
                    "p90 has not risen against the baseline window: the ranking below explains "
                    "the route's usual tail, not a regression",
                    style="bold yellow",
                )
            )
    return Group(*lines)


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


def _histogram(report: Report, width: int) -> RenderableType | None:
    rows = report.trace_rows
    if report.selection.baseline_window is not None:
        rows = tuple(r for r in rows if r.group != "baseline")  # the current window only
    durations = sorted(max(r.duration_ns, 0) for r in rows)
    if not durations:
        return None
    edges = bucket_edges_ns(durations[0], durations[-1])
    counts = [0] * (len(edges) - 1)
    j = 0
    for d in durations:  # sorted, so one pass over the buckets
        while j < len(counts) - 1 and d >= edges[j + 1]:
            j += 1
        counts[j] += 1
    marks: dict[int, list[str]] = {}
    for label, value in (("p90", report.stats.p90_ns), ("SLO", report.stats.slo_ns)):
        if value is None:
            continue
        k = next((i for i in range(len(counts)) if value < edges[i + 1]), len(counts) - 1)
        marks.setdefault(k, []).append(label)
    bar_width = max(10, min(40, width - 40))
    table = Table(
        box=None,
        show_header=False,
        padding=(0, 1),
        title_justify="left",
        title=Text("Latency of the route's traces", style="bold"),
    )
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    top = max(counts)
    for i, n in enumerate(counts):
        label = f"{duration(edges[i])} – {duration(edges[i + 1])}"
        mark = "◀ " + ", ".join(marks[i]) if i in marks else ""
        table.add_row(label, bar(n, top, bar_width), str(n), Text(mark, style="yellow"))
    return table


# --- contributors -------------------------------------------------------------------------
def bar(value: float, top: float, width: int) -> str:
    """A left-aligned bar of `width` cells, `value / top` of it filled (eighths of a cell)."""
    if top <= 0 or value <= 0 or not math.isfinite(value):
        return " " * width
    eighths = round(min(value / top, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text.ljust(width)


def _why(c: Contributor) -> str:
    """`41 vs 1 calls, more calls`: whether the excess comes from more calls or slower ones."""
    calls = f"{c.slow_calls:.3g} vs {c.baseline_calls:.3g} calls"
    total = abs(c.more_calls_ns) + abs(c.slower_calls_ns)
    if c.excess_ns <= 0 or total == 0:
        return calls
    more = c.more_calls_ns / total
    kind = "more calls" if more >= 2 / 3 else "slower calls" if more <= 1 / 3 else "both"
    return f"{calls}, {kind}"


def _whatif_text(report: Report, c: Contributor) -> str:
    if c.whatif_p90_ns is None:
        return "-"
    return f"{duration(c.whatif_p90_ns)} ({percent(whatif_change(report, c), signed=True)})"


def _contributors(report: Report, width: int) -> Iterator[RenderableType]:
    rows = sorted(report.contributor_rows, key=lambda c: c.rank)
    yield Text("What the slow traces spend their extra time on", style="bold")
    if not rows:
        yield Text("no contributors: no slow trace had a critical path to compare")
        return
    unsure = [c for c in rows if ci_includes_zero(c)]
    if report.too_small:
        sel = report.selection
        yield Text(
            f"too few traces to conclude: only {len(sel.slow_trace_ids)} slow and "
            f"{len(sel.baseline_trace_ids)} baseline traces; treat the ranking as a hint",
            style="bold yellow",
        )
    if unsure:
        yield Text(
            f"rows marked ? ({len(unsure)}) may be noise: their 95% interval includes 0",
            style="yellow",
        )

    top_excess = max((c.excess_ns for c in rows), default=0.0)
    bar_width = 8 if width >= NARROW else 5
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("contributor", overflow="fold", min_width=16)
    wide, narrow = width >= WIDE, width < NARROW
    if wide:
        table.add_column("slow", justify="right", no_wrap=True)
        table.add_column("base", justify="right", no_wrap=True)
    table.add_column("excess", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    if not narrow:
        table.add_column("95% CI", justify="right", no_wrap=True)
    if wide:
        table.add_column("traces", justify="right", no_wrap=True)
        table.add_column("why", overflow="fold", min_width=16)
    if not narrow:
        table.add_column("what-if p90", justify="right", no_wrap=True)
    for c in rows:
        rank = Text(f"{c.rank}?" if ci_includes_zero(c) else str(c.rank))
        name = Text(contributor_label(c))
        details: list[str] = []
        if not wide:
            details.append(f"slow {duration(c.slow_ns)} vs {duration(c.baseline_ns)}")
            details.append(_why(c))
            details.append(f"in {c.traces} slow traces")
        if narrow:
            details.append(f"95% CI {duration_range(c.ci_low_ns, c.ci_high_ns)}")
            if c.whatif_p90_ns is not None:
                details.append(f"fixed: p90 {_whatif_text(report, c)}")
        if details:
            name.append("\n" + ("\n" if narrow else " · ").join(details), style="dim")
        excess = Text(f"{duration(c.excess_ns):>8} ")
        excess.append(bar(c.excess_ns, top_excess, bar_width), style="magenta")
        cells: list[RenderableType] = [rank, name]
        if wide:
            cells += [duration(c.slow_ns), duration(c.baseline_ns)]
        cells += [excess, percent(c.share)]
        if not narrow:
            cells.append(duration_range(c.ci_low_ns, c.ci_high_ns))
        if wide:
            cells += [str(c.traces), _why(c)]
        if not narrow:
            cells.append(_whatif_text(report, c))
        table.add_row(*cells)
    yield table


# --- findings with evidence ---------------------------------------------------------------
def _evidence_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and key.endswith("_ns"):
        return duration(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple | set | frozenset):
        items = [_evidence_value("", v) for v in list(value)[:3]]
        more = f", +{len(value) - 3}" if len(value) > 3 else ""
        return "[" + ", ".join(items) + more + "]"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def _evidence_line(evidence: Mapping[str, Any]) -> str:
    items = [f"{key}={_evidence_value(key, v)}" for key, v in list(evidence.items())[:6]]
    more = f" (+{len(evidence) - 6} more)" if len(evidence) > 6 else ""
    return ", ".join(items) + more


def _spans_line(f: Finding, spans: Mapping[str, Span]) -> str:
    names = sorted({spans[s].name for s in f.span_ids if s in spans})
    count = len(f.span_ids)
    noun = "span" if count == 1 else "spans"
    if names:
        return f"{count} {noun}: " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    return f"{count} {noun}: " + ", ".join(f.span_ids[:3]) + (" …" if count > 3 else "")


class Link(Text):
    """A URL printed whole on one logical line: never folded or cropped, so it stays clickable."""


def _findings(report: Report, links: TraceLinks) -> list[RenderableType]:
    starts = {t.trace_id: t.start_ns for t in report.trace_rows}
    blocks: list[RenderableType] = []
    ranked = sorted(report.contributor_rows, key=lambda c: c.rank)
    for c in ranked[:MAX_CONTRIBUTORS_WITH_EVIDENCE]:
        shown = evidence_for(report, c)
        if not shown:
            continue
        total = count_matching(report.finding_rows, c)
        blocks.append(
            Text.assemble((f"{c.rank}. {contributor_label(c)}", "bold"), f"  ({total} found)")
        )
        for f in shown:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(justify="right", width=3)
            grid.add_column(overflow="fold")
            grid.add_row("•", Text(f.summary or f.pattern))
            detail = f"trace {f.trace_id} · {_spans_line(f, report.example_spans)}"
            if f.saving_ns:
                detail += f" · saves {duration(f.saving_ns)}"
            if f.evidence:
                detail += f"\n{_evidence_line(f.evidence)}"
            grid.add_row("", Text(detail, style="dim"))
            blocks.append(grid)
            blocks.extend(
                Link(f"    {url}", style="blue")
                for url in links.urls(f.trace_id, starts.get(f.trace_id))
            )
    return [Text("Evidence", style="bold"), *blocks] if blocks else []


# --- critical path of the representative slow trace ---------------------------------------
@dataclass
class _PathRow:
    """One operation's share of the example critical path."""

    first_ns: int
    on_path_ns: int = 0
    span_ids: set[str] = field(default_factory=set)
    cells: set[int] = field(default_factory=set)


def _waterfall(report: Report, width: int) -> RenderableType | None:
    path: Sequence[Segment] = report.example_path
    if not path:
        return None
    spans = report.example_spans
    t0, t1 = path[0].start_ns, path[-1].end_ns
    total_ns = max(t1 - t0, 1)
    cells = max(10, min(40, width - 48))
    # one row per operation on the path, so an N+1 loop is one row, not 5,000
    rows: dict[tuple[str, str], _PathRow] = {}
    for seg in path:
        span = spans.get(seg.span_id)
        key = (span.service, span.name) if span else ("", seg.span_id)
        row = rows.setdefault(key, _PathRow(seg.start_ns))
        row.on_path_ns += seg.end_ns - seg.start_ns
        row.span_ids.add(seg.span_id)
        first = (seg.start_ns - t0) * cells // total_ns
        last = max(first, (seg.end_ns - t0 - 1) * cells // total_ns)
        row.cells.update(range(first, min(last, cells - 1) + 1))
    by_time_on_path = sorted(rows.items(), key=lambda kv: -kv[1].on_path_ns)
    kept, left_out = by_time_on_path[:MAX_WATERFALL_ROWS], by_time_on_path[MAX_WATERFALL_ROWS:]
    trace_id = next((s.trace_id for s in spans.values()), "")
    title = " ".join(x for x in ("Critical path of slow trace", trace_id) if x)
    table = Table(
        box=None,
        show_header=False,
        padding=(0, 1),
        title_justify="left",
        title=Text(f"{title} ({duration(t1 - t0)})", style="bold"),
    )
    table.add_column(overflow="fold")
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for (service, name), row in sorted(kept, key=lambda kv: kv[1].first_ns):
        timeline = "".join("█" if i in row.cells else "·" for i in range(cells))
        n = len(row.span_ids)
        table.add_row(
            f"{service}: {name}" if service else name,
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


# --- what-if ------------------------------------------------------------------------------
def _whatif(report: Report) -> RenderableType | None:
    rows = whatif_rows(report)
    if not rows:
        return None
    lines: list[RenderableType] = [
        Text(
            f"What to fix first: p90 if each were fixed (p90 now {duration(report.stats.p90_ns)})",
            style="bold",
        )
    ]
    for c in rows:
        change = percent(whatif_change(report, c), signed=True)
        lines.append(
            Text(
                f"  fix {contributor_label(c)} → p90 {duration(c.whatif_p90_ns)} ({change})",
                overflow="fold",
            )
        )
    if report.whatif_together_p90_ns is not None:
        together = report.whatif_together_p90_ns
        change = percent(
            together / report.stats.p90_ns - 1 if report.stats.p90_ns else 0.0, signed=True
        )
        slo = report.stats.slo_ns
        verdict = ""
        if slo is not None:
            verdict = " — within the SLO" if together <= slo else " — still above the SLO"
        lines.append(
            Text(
                f"  fix the {len(report.whatif_together)} above together → p90 "
                f"{duration(together)} ({change}){verdict}",
                style="bold",
                overflow="fold",
            )
        )
    return Group(*lines)
