"""The report as one self-contained HTML page: `render(report, out)`.

No network, no external assets and no script: inline CSS and inline SVG only, so the page opens
from an attachment or a wiki and shows the same thing everywhere. It holds the answer in words,
the latency histogram with the SLO and p90 marked, what to fix first, the contributors with their
95% intervals drawn, and the critical paths of a p90 trace and a typical trace side by side.
Every string from a trace is escaped (controls made visible first, report/safe.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TextIO

from tracelens.answer import Report
from tracelens.attribution import interval_includes_zero
from tracelens.model import Contributor, Segment, Span
from tracelens.report import duration, duration_range, percent, window_text
from tracelens.report.detail import bucket_of, histogram_counts, method_lines, path_rows
from tracelens.report.facts import fixes, nearest_p90, together
from tracelens.report.links import TraceLinks
from tracelens.report.safe import visible
from tracelens.report.words import cause, label

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:.25em .6em;text-align:left;vertical-align:top}
th{border-bottom:1px solid #999}td.n,th.n{text-align:right;white-space:nowrap}
.met{color:#1a7f37}.missed{color:#cf222e}.unsure{color:#9a6700}
.pair{display:flex;gap:2em;flex-wrap:wrap}.pair figure{margin:0;flex:1;min-width:24em}
code{font-size:.92em}svg text{font:11px system-ui,sans-serif}
"""


def e(text: object) -> str:
    """Text from anywhere, safe as HTML text or attribute: controls shown, markup escaped."""
    return escape(visible(text), quote=True)


def render(
    report: Report,
    out: TextIO,
    *,
    jaeger_ui: str | None = None,
    grafana_url: str | None = None,
    grafana_datasource: str = "tempo",
) -> None:
    """Write the page."""
    links = TraceLinks(jaeger_ui, grafana_url, grafana_datasource)
    route = e(report.selection.route or "(all routes)")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>Why is {route} slow? — tracelens</title><style>{_CSS}</style></head><body>",
        f"<h1>Why is <code>{route}</code> slow?</h1>",
        _summary(report),
        "<h2>Latency of the route's traces</h2>",
        histogram_svg(report),
        _fix_table(report),
        _contributors(report),
        _waterfalls(report, links),
        "<h2>How this was worked out</h2><ul>",
        *(f"<li>{e(line)}</li>" for line in method_lines(report)),
        "</ul></body></html>",
    ]
    out.write("\n".join(parts) + "\n")


def _summary(report: Report) -> str:
    sel, stats = report.selection, report.stats
    slo = ""
    if stats.slo_ns is not None:
        verdict = "breached" if stats.breaches_slo else "met"
        slo = f'; SLO {duration(stats.slo_ns)} on p90: <b class="{verdict}">{verdict}</b>'
    text = (
        f'<p id="stats">p50 <b>{duration(stats.p50_ns)}</b> · p90 <b id="p90">'
        f"{duration(stats.p90_ns)}</b> · p99 <b>{duration(stats.p99_ns)}</b> over {stats.count} "
        f"traces ({e(window_text(sel.start_ns, sel.end_ns))}){slo}. "
        f"{len(sel.slow_trace_ids)} slow traces compared with {len(sel.baseline_trace_ids)} "
        "typical ones.</p>"
    )
    both = together(report)
    if both is not None:
        text += (
            f"<p>Fixing the {both.count} modelled causes together would bring p90 to "
            f'<b id="together">{duration(both.p90_ns)}</b> '
            f"({percent(both.change, signed=True)}).</p>"
        )
    return text


def _fix_table(report: Report) -> str:
    rows = []
    for fix in fixes(report):
        c = fix.contributor
        meets = "" if fix.meets_slo is None else ("met" if fix.meets_slo else "missed")
        rank = f'{c.rank}<span class="unsure">?</span>' if fix.unsure else str(c.rank)
        rows.append(
            f'<tr><td class="n">{rank}</td><td><code>{e(label(c, full=True))}</code><br>'
            f"<small>{e(cause(c))}</small></td><td class=n>{percent(c.share)}</td>"
            f"<td class=n>{duration(fix.p90_ns)} ({percent(fix.change, signed=True)})</td>"
            f'<td class="{meets}">{meets}</td></tr>'
        )
    if not rows:
        return "<h2>What to fix first</h2><p>No modelled fix moves p90.</p>"
    return (
        f"<h2>What to fix first (p90 now {duration(report.stats.p90_ns)})</h2>"
        '<table id="fixes"><tr><th class=n>#</th><th>cause</th><th class=n>explains</th>'
        "<th class=n>p90 if fixed</th><th>SLO</th></tr>" + "".join(rows) + "</table>"
    )


def _contributors(report: Report) -> str:
    rows = sorted(report.contributor_rows, key=lambda c: c.rank)
    if not rows:
        return "<p>No contributors: no slow trace had a critical path to compare.</p>"
    low = min(0.0, *(c.ci_low_ns for c in rows))
    high = max(1.0, *(c.ci_high_ns for c in rows))
    body = "".join(
        f'<tr><td class="n">{c.rank}{"?" if interval_includes_zero(c) else ""}</td>'
        f"<td><code>{e(label(c, full=True))}</code></td>"
        f"<td class=n>{duration(c.excess_ns)}</td><td class=n>{percent(c.share)}</td>"
        f"<td class=n>{duration_range(c.ci_low_ns, c.ci_high_ns)}</td>"
        f"<td>{interval_svg(c, low, high)}</td></tr>"
        for c in rows
    )
    return (
        "<h2>Where the slow requests' extra time goes</h2>"
        '<table id="contributors"><tr><th class=n>#</th><th>contributor</th>'
        "<th class=n>extra</th><th class=n>share</th><th class=n>95% CI</th><th>interval</th>"
        f"</tr>{body}</table><p><small>? may be noise: the 95% interval includes 0.</small></p>"
    )


def interval_svg(c: Contributor, low: float, high: float, width: int = 160) -> str:
    """The excess as a dot and its 95% interval as a bar, on a scale shared by every row."""

    def x(v: float) -> float:
        return 4 + (v - low) / (high - low) * (width - 8)

    zero = x(0.0)
    return (
        f'<svg width="{width}" height="14" role="img" aria-label="95% interval">'
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="14" stroke="#aaa"/>'
        f'<rect x="{x(c.ci_low_ns):.1f}" y="5" height="4" fill="#8250df" '
        f'width="{max(1.0, x(c.ci_high_ns) - x(c.ci_low_ns)):.1f}"/>'
        f'<circle cx="{x(c.excess_ns):.1f}" cy="7" r="3.5" fill="#5a32a3"/></svg>'
    )


def histogram_svg(report: Report, width: int = 640, height: int = 180) -> str:
    """Trace counts per 1-2-5 duration bucket, with the p90 and the SLO marked."""
    edges, counts = histogram_counts(report)
    if not counts:
        return "<p>No traces.</p>"
    top, n = max(counts), len(counts)
    bar_w = (width - 40) / n
    parts = [f'<svg id="histogram" width="{width}" height="{height + 30}" role="img">']
    for i, count in enumerate(counts):
        h = count / top * height if top else 0
        x = 30 + i * bar_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="#54aeff"><title>{count} traces</title></rect>'
            f'<text x="{x + bar_w / 2:.1f}" y="{height + 14}" text-anchor="middle">'
            f"{duration(edges[i])}</text>"
        )
    for name, value, colour in (
        ("p90", report.stats.p90_ns, "#cf222e"),
        ("SLO", report.stats.slo_ns, "#1a7f37"),
    ):
        if value is None:
            continue
        i = bucket_of(edges, value)
        share = (value - edges[i]) / max(edges[i + 1] - edges[i], 1)
        x = 30 + (i + min(max(share, 0.0), 1.0)) * bar_w
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{x + 3:.1f}" y="12" fill="{colour}">{name} '
            f"{duration(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def waterfall_svg(path: Sequence[Segment], spans: Mapping[str, Span], width: int = 460) -> str:
    """One row per operation on the critical path, its stretches drawn on the trace's timeline."""
    if not path:
        return "<p>No trace.</p>"
    cells = 100
    # the operations holding most of the path, drawn in the order they started
    biggest = sorted(path_rows(path, spans, cells), key=lambda kv: -kv[1].on_path_ns)[:16]
    rows = sorted(biggest, key=lambda kv: kv[1].first_ns)
    label_w, bar_w, row_h = 190, width - 250, 16
    parts = [f'<svg width="{width}" height="{len(rows) * row_h + 4}" role="img">']
    for k, (name, row) in enumerate(rows):
        y = k * row_h + 2
        short = name if len(name) <= 30 else name[:14] + "…" + name[-15:]
        parts.append(
            f'<text x="0" y="{y + 11}">{e(short)}<title>{e(name)}</title></text>'
            f'<text x="{width - 4}" y="{y + 11}" text-anchor="end">'
            f"{duration(row.on_path_ns)}</text>"
        )
        parts.extend(
            f'<rect x="{label_w + cell * bar_w / cells:.1f}" y="{y + 3}" '
            f'width="{bar_w / cells:.2f}" height="10" fill="#0969da"/>'
            for cell in sorted(row.cells)
        )
    parts.append("</svg>")
    return "".join(parts)


def _waterfalls(report: Report, links: TraceLinks) -> str:
    def figure(title: str, path: Sequence[Segment], spans: Mapping[str, Span], fid: str) -> str:
        trace_id = next((s.trace_id for s in spans.values()), "")
        total = duration(path[-1].end_ns - path[0].start_ns) if path else "-"
        urls = links.urls(trace_id) if trace_id else []
        link = f' <a href="{e(urls[0])}">open</a>' if urls else ""
        return (
            f'<figure id="{fid}"><figcaption><b>{title}</b>: trace <code>{e(trace_id)}</code> '
            f"({total}){link}</figcaption>{waterfall_svg(path, spans)}</figure>"
        )

    near = nearest_p90(report)
    slow_title = "A p90 request" if near is not None else "A slow request"
    return (
        "<h2>Critical paths: a p90 request and a typical one</h2><div class=pair>"
        + figure(slow_title, report.example_path, report.example_spans, "slow-path")
        + figure("A typical request", report.typical_path, report.typical_spans, "typical-path")
        + "</div>"
    )
