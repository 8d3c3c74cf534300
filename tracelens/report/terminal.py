"""The report for people at a terminal, drawn with rich: `render(report, out, verbose=False)`.

    render(report, sys.stdout, jaeger_ui="http://localhost:16686")
    render(report, buf, width=80, color_system=None, verbose=True)   # tests and golden files

The first screen answers the question: route, window, sample sizes, p50/p90/p99 against the SLO,
then what to fix first (each cause in words, how much of the slow requests' extra time it explains,
the p90 if it were fixed, whether that meets the SLO, all fixes together, and where causes
overlap). Then the top contributors. `verbose` adds every contributor, the latency histogram, the
evidence, the critical path of the trace nearest p90 and the method (report/detail.py).

It fits the console's width with nothing cut (names shortened in the middle), uses more width when
there is more, writes no trailing spaces, and escapes every control character that came from a
trace. NO_COLOR turns off every style.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Literal, TextIO

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tracelens.answer import Report
from tracelens.attribution import interval_includes_zero
from tracelens.model import Contributor
from tracelens.report import (
    baseline_words,
    detail,
    duration,
    duration_range,
    page_mix,
    percent,
    percentile_name,
    percentiles_moved,
    read_sentence,
    sample_counts,
    sampling_lines,
    window_text,
)
from tracelens.report.facts import (
    Fix,
    fixes,
    nearest_p90,
    overlaps,
    shared_gain,
    together,
    trace_row,
)
from tracelens.report.links import TraceLinks
from tracelens.report.safe import visible
from tracelens.report.words import cause, label, shorten

ColorSystem = Literal["auto", "standard", "256", "truecolor", "windows"]

TOP_CONTRIBUTORS = 5  # shown without --verbose
MIN_NAME = 16  # the contributor column never gets narrower than this
_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)

# re-exported for callers and tests that drew these from here
bucket_edges_ns = detail.bucket_edges_ns
bar = detail.bar
Link = detail.Link


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
    verbose: bool = False,
) -> None:
    """Print the report on `out`: the summary and top contributors, or everything if `verbose`."""
    console = make_console(
        out, width=width, color_system=color_system, force_terminal=force_terminal
    )
    links = TraceLinks(jaeger_ui, grafana_url, grafana_datasource)
    with console.capture() as captured:
        for block in sections(report, links, console.width, verbose):
            console.print(block, soft_wrap=isinstance(block, Link))
    out.write(without_trailing_spaces(captured.get()))
    out.flush()


def without_trailing_spaces(text: str) -> str:
    """Each line's padding removed (rich pads tables to the width), styles kept."""
    return _TRAILING.sub(r"\1", text)


def sections(
    report: Report, links: TraceLinks, width: int, verbose: bool = False
) -> Iterator[RenderableType]:
    """The report's blocks in order, separated by blank lines."""
    yield _header(report)
    yield Text()
    yield from _fix_list(report, width)
    yield Text()
    rows = sorted(report.contributor_rows, key=lambda c: c.rank)
    shown = rows if verbose else rows[:TOP_CONTRIBUTORS]
    yield from contributors(report, shown, width, len(rows))
    yield from _p90_trace(report, links)
    if not verbose:
        yield Text()
        yield Text(
            "--verbose adds the latency histogram, the evidence with trace ids, the critical "
            "path of a p90 trace and how this was worked out",
            style="dim",
        )
        return
    for block in detail.sections(report, links, width):
        yield Text()
        yield block


def _p90_trace(report: Report, links: TraceLinks) -> Iterator[RenderableType]:
    """The trace nearest p90 and its links: one request to open and look at.

    It is the trace whose critical path --verbose draws (the slow trace nearest p90), when the
    report holds one, so the two never name different traces.
    """
    drawn = next((s.trace_id for s in report.example_spans.values()), None)
    row = trace_row(report, drawn) if drawn else None
    row = row or nearest_p90(report)
    if row is None:
        return
    yield Text()
    yield Text(f"a p90 request: trace {visible(row.trace_id)} ({duration(row.duration_ns)})")
    for url in links.urls(row.trace_id, row.start_ns):
        yield Link(f"  {visible(url)}", style="blue")


# --- what was asked and the answer's size -------------------------------------------------
def _header(report: Report) -> RenderableType:
    sel, stats = report.selection, report.stats
    route = visible(sel.route or "(all routes)")
    lines = [Text.assemble(("Why is ", "bold"), (route, "bold cyan"), (" slow?", "bold"))]
    where = [window_text(sel.start_ns, sel.end_ns)]
    if sel.matched:
        ranked = sorted(sel.matched.items(), key=lambda kv: (-kv[1], kv[0]))
        more = f", +{len(ranked) - 3} more" if len(ranked) > 3 else ""
        where.insert(0, ", ".join(f"{visible(n)} ({c})" for n, c in ranked[:3]) + more)
    lines.append(Text(" · ".join(where)))
    if sel.baseline_window is not None:
        lines.append(Text(f"baseline window: {window_text(*sel.baseline_window)}"))
    lines.append(_percentiles(report))
    analysed, total = sample_counts(report)
    of_total = f" of {total}" if total > analysed else ""
    typical = baseline_words(sel)
    lines.append(
        Text(
            f"{analysed}{of_total} traces: {len(sel.slow_trace_ids)} slow "
            f"({percentile_name(sel.percentile)} and above) vs "
            f"{len(sel.baseline_trace_ids)} typical ({typical})"
        )
    )
    lines += [Text(visible(line)) for line in sampling_lines(report)]
    mix = page_mix(sel)
    if mix is not None:
        lines.append(Text(visible(mix)))
    if sel.partial:  # a partial answer says what it left out
        lines.append(Text(visible(read_sentence(sel)), style="yellow"))
    if report.too_small:
        lines.append(
            Text(
                f"too few traces to conclude: only {len(sel.slow_trace_ids)} slow and "
                f"{len(sel.baseline_trace_ids)} baseline traces; treat the ranking as a hint",
                style="bold yellow",
            )
        )
    base = report.baseline_stats
    if base is not None:
        change = (stats.p90_ns - base.p90_ns) / base.p90_ns if base.p90_ns > 0 else None
        lines.append(
            Text(
                f"baseline window: p50 {duration(base.p50_ns)} · p90 {duration(base.p90_ns)} · "
                f"p99 {duration(base.p99_ns)} ({base.count} traces)"
            )
        )
        lines.append(Text(f"now {percentiles_moved(report)}"))
        if change is not None and change < detail.NO_REGRESSION:
            lines.append(
                Text(
                    "p90 has not risen against the baseline window: the ranking below explains "
                    "the route's usual tail, not a regression",
                    style="bold yellow",
                )
            )
    return Group(*lines)


def _percentiles(report: Report) -> Text:
    stats = report.stats
    text = Text(
        f"p50 {duration(stats.p50_ns)} · p90 {duration(stats.p90_ns)} · "
        f"p99 {duration(stats.p99_ns)}"
    )
    if stats.slo_ns is not None:
        if stats.breaches_slo:
            text.append(
                f" · SLO breached: p90 {duration(stats.p90_ns)} > {duration(stats.slo_ns)}",
                style="bold red",
            )
        else:
            text.append(
                f" · within SLO: p90 {duration(stats.p90_ns)} ≤ {duration(stats.slo_ns)}",
                style="green",
            )
    return text


# --- what to fix first --------------------------------------------------------------------
def _verdict(meets: bool | None) -> Text:
    if meets is None:
        return Text("")
    return Text("met", style="green") if meets else Text("missed", style="red")


def _fixed(p90_ns: float, change: float | None, unsure: bool = False) -> str:
    return f"{duration(p90_ns)} {percent(change, signed=True)}" + ("?" if unsure else "")


def _fix_list(report: Report, width: int) -> Iterator[RenderableType]:
    found = fixes(report)
    p90_now = duration(report.stats.p90_ns)
    if not found:
        yield Text("What to fix first", style="bold")
        yield Text(
            "no modelled fix moves p90: the contributors below show where the slow requests' "
            "extra time goes"
        )
        return
    yield Text(f"What to fix first (p90 now {p90_now})", style="bold")
    with_slo = report.stats.slo_ns is not None
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("cause", overflow="fold", ratio=1)
    table.add_column("explains", justify="right", no_wrap=True)
    table.add_column("p90 if fixed", justify="right", no_wrap=True)
    if with_slo:
        table.add_column("SLO", no_wrap=True)
    for fix in found:
        c = fix.contributor
        text = Text(label(c))
        text.append("\n" + _cause_line(fix), style="dim")
        cells: list[RenderableType] = [
            f"{c.rank}?" if fix.unsure else str(c.rank),
            text,
            percent(c.share),
            _fixed(fix.p90_ns, fix.change, fix.unsure),
        ]
        if with_slo:
            cells.append(_verdict(fix.meets_slo))
        table.add_row(*cells)
    both = together(report)
    if both is not None:
        cells = ["", Text(f"all {both.count} together", style="bold"), "", ""]
        cells[3] = Text(_fixed(both.p90_ns, both.change), style="bold")
        if with_slo:
            cells.append(_verdict(both.meets_slo))
        table.add_row(*cells)
    table.width = width if width < 100 else None
    yield table
    yield from _fix_notes(report, found, both is not None)


def _cause_line(fix: Fix) -> str:
    text = cause(fix.contributor)
    if fix.also_typical:
        text += f" (typical requests too: {fix.contributor.baseline_calls:.0f} calls)"
    return text


def _fix_notes(report: Report, found: list[Fix], with_together: bool) -> Iterator[Text]:
    """Why the numbers above may look at odds: overlapping causes, noise, small shares."""
    by_first: dict[int, list[str]] = {}
    for o in overlaps(report):
        by_first.setdefault(o.first.rank, []).append(f"#{o.second.rank}")
    for rank, others in by_first.items():
        yield Text(
            f"#{rank} and {', '.join(others)} act on the same calls: each fix also removes "
            "part of the other's time, so their p90s don't add up"
            + ("; 'together' replays the fixes at once" if with_together else ""),
            style="yellow",
        )
    shared = shared_gain(report)
    if shared is not None:
        yield Text(visible(shared), style="yellow")
    if any(f.also_typical for f in found):
        yield Text(
            "typical requests too: it explains little of the gap, but fixing it speeds all",
            style="dim",
        )
    if any(f.unsure for f in found):
        yield Text(
            "? may be noise: its extra time's 95% interval includes 0, so may its what-if",
            style="yellow",
        )
    yield Text(
        "explains: share of the extra time slow requests spend over typical ones",
        style="dim",
    )


# --- contributors -------------------------------------------------------------------------
def contributors(
    report: Report, rows: list[Contributor], width: int, total: int
) -> Iterator[RenderableType]:
    """The ranked contributors, one line each, the name shortened to what the width leaves."""
    more = f" (top {len(rows)} of {total})" if len(rows) < total else ""
    yield Text(f"Where the slow requests' extra time goes{more}", style="bold")
    if not rows:
        yield Text("no contributors: no slow trace had a critical path to compare")
        return
    unsure = [c for c in rows if interval_includes_zero(c)]
    if unsure:
        yield Text(
            f"rows marked ? ({len(unsure)}) may be noise: their 95% interval includes 0",
            style="yellow",
        )
    columns: list[tuple[str, bool]] = [("#", True), ("contributor", False)]
    values = [_cells(report, c) for c in rows]
    optional = [("slow", 100), ("typical", 100), ("calls", 120), ("traces", 140)]
    names = ["#", "contributor", "extra", "share", "95% CI"]
    names += [name for name, min_width in optional if width >= min_width]
    widths = {n: max(len(n), *(len(v[n]) for v in values)) for n in names if n != "contributor"}
    room = width - sum(widths.values()) - 2 * (len(names) - 1)
    name_width = max(MIN_NAME, room)
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False)
    columns = [(n, n != "contributor") for n in names]
    for name, right in columns:
        table.add_column(
            name,
            justify="right" if right else "left",
            no_wrap=True,
            width=widths.get(name, name_width),
            header_style="bold",
        )
    for v in values:
        cells: list[RenderableType] = []
        for name in names:
            if name == "contributor":
                cells.append(Text(shorten(v[name], name_width)))
            elif name == "extra":
                cells.append(Text(v[name], style="magenta"))
            else:
                cells.append(v[name])
        table.add_row(*cells)
    yield table


def _cells(report: Report, c: Contributor) -> dict[str, str]:
    return {
        "#": f"{c.rank}?" if interval_includes_zero(c) else str(c.rank),
        "contributor": label(c),
        "extra": duration(c.excess_ns),
        "share": percent(c.share),
        "95% CI": duration_range(c.ci_low_ns, c.ci_high_ns),
        "slow": duration(c.slow_ns),
        "typical": duration(c.baseline_ns),
        "calls": f"{c.slow_calls:.3g} vs {c.baseline_calls:.3g}",
        "traces": f"{c.traces}/{len(report.selection.slow_trace_ids)}",
    }
