"""The report as GitHub-flavoured Markdown for incident write-ups: `render(report, out)`.

A heading with the route and window, one stats line, the contributors as a table (cells escaped
so pipes, backticks and newlines in operation names cannot break it), the top findings as bullets
with trace ids or links, and the what-if list.
"""

from __future__ import annotations

import re
from typing import TextIO

from tracelens.answer import Report
from tracelens.model import Contributor
from tracelens.report import (
    ci_includes_zero,
    contributor_label,
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

MAX_FINDING_CONTRIBUTORS = 5


def table_cell(text: str) -> str:
    """Text safe inside a GFM table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """Inline code for any text: the fence is longer than any backtick run inside it."""
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Free text (a finding's summary) on one line, with Markdown and HTML syntax escaped."""
    text = re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", " ".join(text.split()))
    # a leading "1." or "-" would start a nested list inside the bullet
    return re.sub(
        r"^(\d+)([.)])|^([-+])", lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text
    )


def _trace_ref(trace_id: str, links: TraceLinks, start_ns: int | None) -> str:
    urls = links.urls(trace_id, start_ns)
    if not urls:
        return code(trace_id)
    return f"[{code(trace_id)}]({urls[0]})" + "".join(f" ([Grafana]({u}))" for u in urls[1:])


def render(
    report: Report,
    out: TextIO,
    *,
    jaeger_ui: str | None = None,
    grafana_url: str | None = None,
    grafana_datasource: str = "tempo",
) -> None:
    """Write the write-up; trace ids become links when a UI base URL is given."""
    links = TraceLinks(jaeger_ui, grafana_url, grafana_datasource)
    sel, stats = report.selection, report.stats
    lines = [f"## Why is {code(sel.route or '(all routes)')} slow?", ""]
    lines.append(f"Window: {window_text(sel.start_ns, sel.end_ns)}.  ")
    if sel.baseline_window is not None:
        lines.append(f"Baseline window: {window_text(*sel.baseline_window)}.  ")
    if sel.matched:
        matched = ", ".join(
            f"{code(name)} ({n})"
            for name, n in sorted(sel.matched.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        lines.append(f"Matched: {matched}.  ")
    lines.append(
        f"{sample_sentence(report).capitalize()}: {len(sel.slow_trace_ids)} slow "
        f"({percentile_name(sel.percentile)} and above), {len(sel.baseline_trace_ids)} baseline."
    )
    lines += [f"{prose(line[0].upper() + line[1:])}.  " for line in sampling_lines(report)]
    lines.append("")
    stat_line = (
        f"**p50 {duration(stats.p50_ns)} · p90 {duration(stats.p90_ns)} · "
        f"p99 {duration(stats.p99_ns)}**"
    )
    if stats.slo_ns is not None:
        verdict = "breached" if stats.breaches_slo else "met"
        stat_line += f" — SLO {duration(stats.slo_ns)} on p90 **{verdict}**"
    if report.baseline_stats is not None:
        stat_line += f" (baseline window p90 {duration(report.baseline_stats.p90_ns)})"
    lines += [stat_line, ""]

    rows = sorted(report.contributor_rows, key=lambda c: c.rank)
    if report.too_small:
        sel = report.selection
        lines += [
            f"> **Too few traces to conclude:** only {len(sel.slow_trace_ids)} slow and "
            f"{len(sel.baseline_trace_ids)} baseline traces; treat the ranking as a hint.",
            "",
        ]
    if any(ci_includes_zero(c) for c in rows):
        lines += ["Rows marked ? may be noise: their 95% interval includes 0.", ""]
    lines += _contributor_table(report, rows)
    lines += _findings(report, rows, links)
    lines += _whatif(report, rows)
    out.write("\n".join(lines).rstrip("\n") + "\n")


def _contributor_table(report: Report, rows: list[Contributor]) -> list[str]:
    if not rows:
        return ["No contributors: no slow trace had a critical path to compare.", ""]
    lines = [
        "### Contributors",
        "",
        "| # | contributor | slow | baseline | excess | share | 95% CI | traces | what-if p90 |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in rows:
        rank = f"{c.rank}?" if ci_includes_zero(c) else str(c.rank)
        whatif = (
            ""
            if c.whatif_p90_ns is None
            else (f"{duration(c.whatif_p90_ns)} ({percent(whatif_change(report, c), signed=True)})")
        )
        cells = [
            rank,
            code(contributor_label(c)),
            duration(c.slow_ns),
            duration(c.baseline_ns),
            duration(c.excess_ns),
            percent(c.share),
            duration_range(c.ci_low_ns, c.ci_high_ns),
            str(c.traces),
            whatif,
        ]
        lines.append("| " + " | ".join(table_cell(x) for x in cells) + " |")
    return [*lines, ""]


def _findings(report: Report, rows: list[Contributor], links: TraceLinks) -> list[str]:
    starts = {t.trace_id: t.start_ns for t in report.trace_rows}
    lines: list[str] = []
    for c in rows[:MAX_FINDING_CONTRIBUTORS]:
        shown = evidence_for(report, c)
        if not shown:
            continue
        lines += [f"**{c.rank}. {code(contributor_label(c))}**", ""]
        for f in shown:
            summary = prose(f.summary or f.pattern)
            ref = _trace_ref(f.trace_id, links, starts.get(f.trace_id))
            lines.append(f"- {summary} — trace {ref}")
        lines.append("")
    return ["### Findings", "", *lines] if lines else []


def _whatif(report: Report, rows: list[Contributor]) -> list[str]:
    lines = [
        f"- fix {code(contributor_label(c))} → p90 {duration(c.whatif_p90_ns)} "
        f"({percent(whatif_change(report, c), signed=True)})"
        for c in whatif_rows(report)
    ]
    if not lines:
        return []
    if report.whatif_together_p90_ns is not None:
        lines.append(
            f"- **fix the {len(report.whatif_together)} above together → p90 "
            f"{duration(report.whatif_together_p90_ns)}**"
        )
    title = (
        f"### What to fix first: p90 if each were fixed (p90 now {duration(report.stats.p90_ns)})"
    )
    return [title, "", *lines, ""]
