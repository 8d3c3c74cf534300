"""Renderers of a `Report`, plus the few presentation rules they all share.

Each renderer module has `render(report, out: TextIO, ...) -> None`:

    from tracelens.report import csv, json, markdown, terminal
    terminal.render(report, sys.stdout, jaeger_ui="http://localhost:16686")
    csv.render(report, open("report.csv", "w", newline=""))

This module holds what the renderers must agree on: human durations, contributor labels, the
window text, the ordered contributor record (the CSV columns, also used by JSON), and which
findings are shown as evidence for a contributor. Nanoseconds become milliseconds only here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from tracelens.answer import Report
from tracelens.bands import SAME, band_words
from tracelens.budget import share
from tracelens.model import CONTRIBUTOR_COLUMNS, Contributor, Finding, Selection
from tracelens.readers.accounting import describe

NS_PER_MS = 1_000_000

COLUMNS = CONTRIBUTOR_COLUMNS

Cell = str | int | float | None

_PATTERN_LABELS = {
    "n_plus_one": "N+1",
    "dns": "DNS",
    "slow_query": "slow query",
    "sequential": "sequential calls",
    "queueing": "queueing",
    "self_time": "self time",
    "connect": "connect",
    "retry": "retries",
    "error": "errors",
}


def pattern_label(pattern: str) -> str:
    """A pattern name as people say it: `n_plus_one` -> `N+1`; "" for a plain operation."""
    return _PATTERN_LABELS.get(pattern, pattern.replace("_", " "))


def contributor_label(c: Contributor | Finding) -> str:
    """`N+1 · api: SELECT ...` for a pattern, `api: GET /orders` for a plain operation."""
    where = f"{c.service}: {c.operation}" if c.service else c.operation
    return f"{pattern_label(c.pattern)} · {where}" if c.pattern else where


def finite(value: float | None) -> float | None:
    """The value, or None when it is missing or not a finite number."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def ms(value_ns: float | None, ndigits: int = 1) -> float | None:
    """Nanoseconds -> milliseconds rounded to `ndigits`; None stays None (NaN becomes None)."""
    v = finite(value_ns)
    if v is None:
        return None
    out = round(v / NS_PER_MS, ndigits)
    return out + 0.0  # turns -0.0 into 0.0


def _sig(value: float) -> str:
    """2-3 significant digits, never scientific notation."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def duration(value_ns: float | None) -> str:
    """Human duration: `850 ms`, `0.42 ms`, `15.2 s`, `3 s`; `-` for None."""
    v = finite(value_ns)
    if v is None:
        return "-"
    sign = "-" if v < 0 else ""
    v_ms = abs(v) / NS_PER_MS
    if v_ms == 0:
        return "0 ms"
    if v_ms < 0.01:
        return f"{sign}{_sig(v_ms * 1000)} µs"
    if float(_sig(v_ms)) < 1000:
        return f"{sign}{_sig(v_ms)} ms"
    return f"{sign}{_sig(v_ms / 1000)} s"


def duration_range(low_ns: float | None, high_ns: float | None) -> str:
    """An interval in one unit: `0.9–1.4 s`, `-20–310 ms`."""
    lo, hi = finite(low_ns), finite(high_ns)
    if lo is None or hi is None:
        return "-"
    in_seconds = max(abs(lo), abs(hi)) >= 999.5 * NS_PER_MS
    unit, scale = ("s", 1e9) if in_seconds else ("ms", 1e6)

    def one(v: float) -> str:
        return ("-" if v < 0 else "") + _sig(abs(v) / scale)

    return f"{one(lo)}–{one(hi)} {unit}"


def percent(value: float | None, signed: bool = False) -> str:
    """`62%`; with signed=True `−62%` / `+5%` (a real minus sign, as people write it)."""
    v = finite(value)
    if v is None:
        return "-"
    text = f"{abs(v) * 100:.0f}%"
    if text == "0%":
        return text
    if v < 0:
        return "−" + text
    return "+" + text if signed else text


def percentile_name(p: float) -> str:
    """`p90` whether the selection stores 0.9 or 90."""
    value = p * 100 if p <= 1 else p
    return f"p{value:g}"


def timestamp(t_ns: int) -> str:
    return datetime.fromtimestamp(t_ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def window_text(start_ns: int | None, end_ns: int | None) -> str:
    """`2024-05-01 10:00:00 UTC → 2024-05-01 11:00:00 UTC`, or what is open-ended."""
    if start_ns is None and end_ns is None:
        return "all traces in the source"
    if end_ns is None:
        return f"since {timestamp(start_ns or 0)}"
    if start_ns is None:
        return f"until {timestamp(end_ns)}"
    return f"{timestamp(start_ns)} → {timestamp(end_ns)}"


def sample_counts(report: Report) -> tuple[int, int]:
    """(traces analysed, traces considered): skipped traces count towards the second only.

    The analysed traces are those of the current window (`stats.count`); traces_total may or
    may not include the skipped ones, so the total is whichever is larger.
    """
    selection = report.selection
    skipped = sum(selection.skipped.values())
    if selection.sampling is not None:  # stats.count is then every request the backend listed
        failed = sum(selection.sampling.failed.values())
        return selection.traces_total, selection.traces_total + failed + skipped
    analysed = report.stats.count or selection.traces_total
    return analysed, max(selection.traces_total, analysed + skipped)


def sample_sentence(report: Report) -> str:
    """`analysed 812 of 1000 traces; 188 failed to fetch` (or `analysed 812 traces`)."""
    analysed, total = sample_counts(report)
    text = (
        f"analysed {analysed} of {total} traces" if total > analysed else f"analysed {total} traces"
    )
    skipped = sorted(report.selection.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{n} {reason}" for reason, n in skipped if n]
    return "; ".join([text, *parts])


def read_sentence(selection: Selection) -> str:
    """`read 812 traces from 3 files; left out 1 line (not valid JSON: spans of 15 traces lost);
    4 spans (no start time)`: what was read, the share analysed when the input held more than
    --max-spans, and by unit what was left out and why."""
    source = f" from {selection.files_read:,} file{'s' if selection.files_read != 1 else ''}"
    n = selection.traces_read
    read = f"read {n:,} trace{'s' if n != 1 else ''}" + (source if selection.files_read else "")
    if selection.sample_level:
        read += (
            f"; analysed {share(selection.sample_level)} of them, chosen by trace id, to hold at"
            f" most {selection.max_spans:,} spans (--max-spans)"
        )
    lost = describe(selection.left_out)
    return f"{read}; left out {lost}" if lost else read


def sampling_lines(report: Report) -> list[str]:
    """How a backend's requests were listed, sampled and fetched, and where p50/p90/p99 come from.

    Empty for files and the store, where every trace in the window is analysed.
    """
    s = report.selection.sampling
    if s is None:
        return []
    more = " (the --limit: the window holds more)" if not s.complete else ""
    others = (
        f"all {s.others_listed:,} others"
        if s.others_sampled >= s.others_listed
        else f"a seeded sample of {s.others_sampled:,} of the {s.others_listed:,} others"
    )
    lines = [
        f"source: {s.backend}; {s.query}",
        f"listed {s.listed:,} requests{more}; fetched all {s.slow_listed:,} slow and {others}"
        + (f" ({s.cached:,} from the cache)" if s.cached else ""),
    ]
    if s.unlisted:
        why = ", ".join(f"{n:,} {reason}" for reason, n in sorted(s.unlisted.items()))
        lines.append(f"search results left out of the listing: {why}")
    if report.stats.method:
        lines.append(f"p50/p90/p99 from {report.stats.method}")
    if s.others_sampled < s.others_listed:
        lines.append(
            "intervals come from the fetched traces; the baseline sample widens them, "
            "and what-if p90s weight each sampled trace by the requests it stands for"
        )
    if s.failed:
        failed = sum(s.failed.values())
        reasons = ", ".join(
            f"{n:,} {why}" for why, n in sorted(s.failed.items(), key=lambda kv: -kv[1])
        )
        shown = ", ".join(s.failed_ids[:5]) + (" …" if len(s.failed_ids) > 5 else "")
        lines.append(f"{failed:,} traces failed to fetch ({reasons}): {shown}")
    return lines


def whatif_change(report: Report, c: Contributor) -> float | None:
    """Relative change of the route's p90 if the contributor were fixed (-0.62 = 62% faster)."""
    after, before = finite(c.whatif_p90_ns), finite(report.stats.p90_ns)
    if after is None or before is None or before <= 0:
        return None
    return (after - before) / before


def contributor_record(
    c: Contributor, ndigits: int = 1, summary: str | None = None
) -> dict[str, Cell]:
    """One contributor as an ordered record (keys are `COLUMNS`), durations in milliseconds.

    `summary` replaces the contributor's own (the most common one among its findings) so that
    it can describe the row's example trace.
    """
    share = finite(c.share)
    calls_digits = ndigits + 1
    slow_calls, baseline_calls = finite(c.slow_calls), finite(c.baseline_calls)
    return {
        "rank": c.rank,
        "pattern": c.pattern,
        "service": c.service,
        "operation": c.operation,
        "slow_ms": ms(c.slow_ns, ndigits),
        "baseline_ms": ms(c.baseline_ns, ndigits),
        "excess_ms": ms(c.excess_ns, ndigits),
        "share": None if share is None else round(share, ndigits + 2) + 0.0,
        "ci_low_ms": ms(c.ci_low_ns, ndigits),
        "ci_high_ms": ms(c.ci_high_ns, ndigits),
        "traces": c.traces,
        "example_trace_id": c.example_trace_id or None,
        "whatif_p90_ms": ms(c.whatif_p90_ns, ndigits),
        "more_calls_ms": ms(c.more_calls_ns, ndigits),
        "slower_calls_ms": ms(c.slower_calls_ns, ndigits),
        "slow_calls": None if slow_calls is None else round(slow_calls, calls_digits) + 0.0,
        "baseline_calls": (
            None if baseline_calls is None else round(baseline_calls, calls_digits) + 0.0
        ),
        "summary": (c.summary if summary is None else summary) or None,
        "whatif_low_ms": ms(c.whatif_low_ns, ndigits),
        "whatif_high_ms": ms(c.whatif_high_ns, ndigits),
    }


def evidence_for(report: Report, contributor: Contributor, limit: int = 3) -> Sequence[Finding]:
    """The findings that back a contributor, most telling first: slow traces, biggest saving."""
    slow = set(report.selection.slow_trace_ids)
    key = (contributor.pattern, contributor.service, contributor.operation)
    matching = [f for f in report.finding_rows if (f.pattern, f.service, f.operation) == key]
    matching.sort(key=lambda f: (f.trace_id not in slow, -f.saving_ns, f.trace_id))
    return matching[:limit]


def count_matching(findings: Iterable[Finding], contributor: Contributor) -> int:
    key = (contributor.pattern, contributor.service, contributor.operation)
    return sum(1 for f in findings if (f.pattern, f.service, f.operation) == key)


def whatif_rows(report: Report) -> list[Contributor]:
    """Contributors whose fix is modelled and moves p90, biggest gain first: what to fix first."""
    p90 = report.stats.p90_ns
    rows = [
        c
        for c in report.contributor_rows
        if c.whatif_p90_ns is not None and (not p90 or c.whatif_p90_ns < 0.995 * p90)
    ]
    return sorted(rows, key=lambda c: (c.whatif_p90_ns, c.rank))


def baseline_words(sel: Selection) -> str:
    """What the baseline is: `p50 and below`, `p90 and above of the baseline window`, and
    `per page` when it was drawn page by page (pages.py)."""
    words = band_words(
        percentile_name(sel.percentile),
        percentile_name(sel.baseline_percentile),
        sel.baseline_band or SAME,
        2 if sel.baseline_window is not None else 1,
    )
    return f"{words}, per page" if sel.pages else words


def page_mix(sel: Selection, shown: int = 3) -> str | None:
    """`pages (slow / baseline): query Search 70% / 20%, query Home 30% / 80%`; None for one."""
    if not sel.pages:
        return None
    slow = sum(p.slow for p in sel.pages) or 1
    base = sum(p.baseline for p in sel.pages) or 1
    parts = [
        f"{p.page} {percent(p.slow / slow)} / {percent(p.baseline / base)}"
        for p in sel.pages[:shown]
    ]
    more = f", +{len(sel.pages) - shown} more" if len(sel.pages) > shown else ""
    return (
        "pages (slow / baseline): " + ", ".join(parts) + more + "; the baseline is weighted to "
        "the slow set's mix"
    )


def percentiles_moved(report: Report) -> str | None:
    """`p50 +4% · p90 +38% · p99 +61% against the baseline window`; None with one window."""
    base, now = report.baseline_stats, report.stats
    if base is None:
        return None
    moves = [
        f"{name} {percent((new - old) / old, signed=True) if old > 0 else '—'}"
        for name, new, old in (
            ("p50", now.p50_ns, base.p50_ns),
            ("p90", now.p90_ns, base.p90_ns),
            ("p99", now.p99_ns, base.p99_ns),
        )
    ]
    return " · ".join(moves) + " against the baseline window"
