"""The report as GitHub-flavoured Markdown for incident write-ups: `render(report, out)`.

A one-paragraph summary in plain words (what is slow, by how much against the SLO, the top causes,
what fixing them would give, how sure we are), then what to fix first, the contributors, the
evidence with trace links, and the method. Every string from a trace has its control characters
escaped (report/safe.py) and then its Markdown: table cells escape pipes, inline code takes a
fence longer than any backtick run, prose escapes Markdown and HTML syntax.
"""

from __future__ import annotations

import re
from typing import TextIO

from tracelens.answer import Report
from tracelens.attribution import interval_includes_zero
from tracelens.model import Contributor, Finding
from tracelens.report import (
    count_matching,
    duration,
    duration_range,
    evidence_for,
    percent,
    percentile_name,
    window_text,
)
from tracelens.report.detail import finding_body, method_lines, trace_length
from tracelens.report.facts import Fix, fixes, overlaps, shared_gain, together
from tracelens.report.links import TraceLinks
from tracelens.report.safe import visible
from tracelens.report.words import cause, label, per_request

MAX_FINDING_CONTRIBUTORS = 5


def table_cell(text: str) -> str:
    """Text safe inside a GFM table cell: one line, pipes escaped (also inside code spans)."""
    return " ".join(visible(text).split()).replace("|", "\\|")


def code(text: str) -> str:
    """Inline code for any text: the fence is longer than any backtick run inside it."""
    text = " ".join(visible(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Free text (a finding's summary) on one line, with Markdown and HTML syntax escaped."""
    text = re.sub(r"([\\`*_\[\]<>|#~&])", r"\\\1", " ".join(visible(text).split()))
    # a leading "1." or "-" would start a nested list inside the bullet
    return re.sub(
        r"^(\d+)([.)])|^([-+])", lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text
    )


def _trace_ref(trace_id: str, links: TraceLinks, start_ns: int | None) -> str:
    urls = links.urls(trace_id, start_ns)
    if not urls:
        return code(trace_id)
    # our URLs are percent-encoded: no space or parenthesis can end the link early
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
    sel = report.selection
    lines = [f"## Why is {code(sel.route or '(all routes)')} slow?", "", summary(report), ""]
    lines += _fix_table(report)
    lines += _contributor_table(report)
    lines += _evidence(report, links)
    lines += ["### Method", ""]
    lines += [f"- {prose(line)}" for line in method_lines(report)]
    out.write("\n".join(lines).rstrip("\n") + "\n")


def summary(report: Report) -> str:
    """The paragraph an incident write-up opens with."""
    sel, stats = report.selection, report.stats
    matched = sorted(sel.matched.items(), key=lambda kv: (-kv[1], kv[0]))
    what = code(matched[0][0]) if matched else code(sel.route or "(all routes)")
    parts = [
        f"**Summary.** {what} had a p90 of **{duration(stats.p90_ns)}** over "
        f"{stats.count} requests ({prose(window_text(sel.start_ns, sel.end_ns))}; "
        f"p50 {duration(stats.p50_ns)}, p99 {duration(stats.p99_ns)})"
    ]
    if stats.slo_ns is not None:
        times = stats.p90_ns / stats.slo_ns if stats.slo_ns else 0
        parts[0] += (
            f", {times:.1f}× its {duration(stats.slo_ns)} SLO."
            if stats.breaches_slo
            else f", within its {duration(stats.slo_ns)} SLO."
        )
    else:
        parts[0] += "."
    ranked = sorted(report.contributor_rows, key=lambda c: c.rank)
    if ranked:
        top = ranked[0]
        parts.append(
            f"The slow requests ({percentile_name(sel.percentile)} and above, "
            f"{len(sel.slow_trace_ids)} traces) spend {percent(top.share)} of their extra time "
            f"over typical ones on {code(label(top, full=True))}."
        )
    found = fixes(report)
    if found:
        best = found[0]
        same = bool(ranked) and best.contributor.rank == ranked[0].rank
        name = "it" if same else code(label(best.contributor, full=True))
        parts.append(
            f"Fixing {name} alone would bring p90 to "
            f"{duration(best.p90_ns)} ({percent(best.change, signed=True)}){_slo_words(best)}."
        )
    both = together(report)
    if both is not None:
        verdict = (
            ""
            if both.meets_slo is None
            else ", within the SLO"
            if both.meets_slo
            else ", still above the SLO"
        )
        parts.append(
            f"Fixing the {both.count} modelled causes together would bring it to "
            f"{duration(both.p90_ns)}{verdict}."
        )
    parts.append(_confidence(report, ranked, found))
    return " ".join(parts)


def _slo_words(fix: Fix) -> str:
    if fix.meets_slo is None:
        return ""
    return ", within the SLO" if fix.meets_slo else ", still above the SLO"


def _confidence(report: Report, ranked: list[Contributor], found: list[Fix]) -> str:
    sel = report.selection
    sizes = f"{len(sel.slow_trace_ids)} slow and {len(sel.baseline_trace_ids)} typical traces"
    if report.too_small:
        return f"Too few traces to conclude ({sizes}): treat this as a hint."
    if not ranked:
        return f"From {sizes}."
    top = ranked[0]
    text = (
        f"How sure: from {sizes}, the top cause's extra time has a 95% interval of "
        f"{duration_range(top.ci_low_ns, top.ci_high_ns)}"
    )
    unsure = sum(1 for f in found if f.unsure)
    if unsure:
        text += f"; {unsure} of the fixes listed may be noise"
    return text + "."


def _fix_table(report: Report) -> list[str]:
    found = fixes(report)
    title = f"### What to fix first (p90 now {duration(report.stats.p90_ns)})"
    if not found:
        return [title, "", "No modelled fix moves p90; the contributors show where time goes.", ""]
    with_slo = report.stats.slo_ns is not None
    slo = (" SLO |", "---|") if with_slo else ("", "")
    lines = [
        title,
        "",
        "| # | cause | in plain words | explains | p90 if fixed | 95% CI |" + slo[0],
        "|--:|---|---|--:|--:|--:|" + slo[1],
    ]
    for fix in found:
        c = fix.contributor
        cells = [
            f"{c.rank}?" if fix.unsure else str(c.rank),
            code(label(c, full=True)),
            cause(c),
            percent(c.share),
            f"{duration(fix.p90_ns)} ({percent(fix.change, signed=True)})",
            duration_range(c.whatif_low_ns, c.whatif_high_ns),
        ]
        lines.append(_row(*cells, *([_met(fix.meets_slo)] if with_slo else [])))
    both = together(report)
    if both is not None:
        cells = [
            "",
            f"**all {both.count} together**",
            "replayed at once",
            "",
            f"**{duration(both.p90_ns)} ({percent(both.change, signed=True)})**",
            "",
        ]
        lines.append(_row(*cells, *([_met(both.meets_slo)] if with_slo else [])))
    lines.append("")
    by_first: dict[int, list[str]] = {}
    for o in overlaps(report):
        by_first.setdefault(o.first.rank, []).append(f"#{o.second.rank}")
    lines += [
        f"> #{rank} and {', '.join(others)} act on the same calls: each fix also removes part "
        "of the other's time, so their p90s don't add up; \"together\" replays the fixes at once."
        for rank, others in by_first.items()
    ]
    shared = shared_gain(report)
    if shared is not None:
        lines.append(f"> {prose(shared[0].upper() + shared[1:])}.")
    if any(f.unsure for f in found):
        lines.append("> ? may be noise: the 95% interval of its extra time includes 0.")
    lines += [
        "",
        "*explains*: its share of the extra time slow requests spend over typical ones. "
        "*p90 if fixed*: every trace replayed with the fix; *95% CI*: its bootstrap interval.",
        "",
    ]
    return lines


def _met(meets: bool | None) -> str:
    return "" if meets is None else "met" if meets else "missed"


def _row(*cells: str) -> str:
    return "| " + " | ".join(table_cell(x) for x in cells) + " |"


def _contributor_table(report: Report) -> list[str]:
    rows = sorted(report.contributor_rows, key=lambda c: c.rank)
    if not rows:
        return ["No contributors: no slow trace had a critical path to compare.", ""]
    n_slow = len(report.selection.slow_trace_ids)
    lines = [
        "### Where the slow requests' extra time goes",
        "",
        "| # | contributor | slow | typical | extra | share | 95% CI | traces |",
        "|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [
        _row(
            f"{c.rank}?" if interval_includes_zero(c) else str(c.rank),
            code(label(c, full=True)),
            duration(c.slow_ns),
            duration(c.baseline_ns),
            duration(c.excess_ns),
            percent(c.share),
            duration_range(c.ci_low_ns, c.ci_high_ns),
            f"{c.traces}/{n_slow}",
        )
        for c in rows
    ]
    if any(interval_includes_zero(c) for c in rows):
        lines += ["", "Rows marked ? may be noise: their 95% interval includes 0."]
    return [*lines, ""]


def _evidence(report: Report, links: TraceLinks) -> list[str]:
    starts = {t.trace_id: t.start_ns for t in report.trace_rows}
    lines: list[str] = []
    ranked = sorted(report.contributor_rows, key=lambda c: c.rank)
    for c in ranked[:MAX_FINDING_CONTRIBUTORS]:
        shown = evidence_for(report, c)
        if not shown:
            continue
        found = count_matching(report.finding_rows, c)
        lines += [
            f"**{c.rank}. {code(label(c, full=True))}**: mean over the slow set "
            f"{prose(per_request(c))}; found {found}×.",
            "",
        ]
        lines += [_finding_line(report, f, links, starts) for f in shown]
        lines.append("")
    return ["### Evidence", "", *lines] if lines else []


def _finding_line(report: Report, f: Finding, links: TraceLinks, starts: dict[str, int]) -> str:
    ref = _trace_ref(f.trace_id, links, starts.get(f.trace_id))
    return f"- one trace, {ref}{trace_length(report, f)}: {prose(finding_body(f))}"
