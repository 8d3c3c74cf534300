"""What every write-up says beyond the raw rows: the fix list, overlaps, each row's own evidence.

    for fix in fixes(report): fix.contributor, fix.p90_ns, fix.change, fix.meets_slo, fix.unsure
    overlaps(report)        # causes whose findings share spans, so their what-ifs don't add up
    own_finding(report, c)  # the finding in c's example trace: what its summary must describe

The terminal, Markdown and HTML reports all read these, so they can never disagree. Nothing here
recomputes a number: the core's excess, intervals and what-if p90s are only compared and worded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tracelens.answer import Report
from tracelens.attribution import interval_includes_zero
from tracelens.model import Contributor, Finding, TraceSummary
from tracelens.report import duration, finite, whatif_change, whatif_rows
from tracelens.report.words import cause

Key = tuple[str, str, str]


def key_of(c: Contributor | Finding) -> Key:
    return (c.pattern, c.service, c.operation)


@dataclass(frozen=True, slots=True)
class Fix:
    """One line of "what to fix first": the cause and the route's p90 if it were fixed."""

    contributor: Contributor
    p90_ns: float
    change: float | None  # relative to p90 now: -0.68 is 68% faster
    meets_slo: bool | None  # None without an SLO
    unsure: bool  # the excess's 95% interval includes 0: the row may be noise
    also_typical: bool  # typical requests have it too: small share, yet the fix helps all


@dataclass(frozen=True, slots=True)
class Together:
    """Every helpful fix at once, replayed together (not the sum of the single what-ifs)."""

    count: int
    p90_ns: float
    change: float | None
    meets_slo: bool | None


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two causes whose findings share spans in `traces` slow traces: DNS waits in N+1 calls."""

    first: Contributor
    second: Contributor
    traces: int


def shared_gain(report: Report) -> str | None:
    """When the single fixes' gains add up to more than fixing them together gains: how much of
    it is the same time, counted by two causes (DNS waits inside the calls of an N+1)."""
    both = together(report)
    if both is None:
        return None
    now = report.stats.p90_ns
    chosen = set(report.whatif_together)
    singles = sum(now - f.p90_ns for f in fixes(report) if f.contributor.fix_name in chosen)
    joint = now - both.p90_ns
    if singles <= joint * 1.01:
        return None
    return (
        f"the {both.count} fixes alone gain {duration(singles)} between them, together "
        f"{duration(joint)}: {duration(singles - joint)} of their gains is the same time"
    )


def _meets(report: Report, p90_ns: float) -> bool | None:
    slo = report.stats.slo_ns
    return None if slo is None else p90_ns <= slo


def fixes(report: Report) -> list[Fix]:
    """The modelled fixes that move p90, biggest gain first."""
    out = []
    for c in whatif_rows(report):
        p90 = finite(c.whatif_p90_ns)
        if p90 is None:
            continue
        change = whatif_change(report, c)
        typical = c.baseline_calls >= 1 and c.share < 0.25 and (change or 0) < -0.05
        out.append(Fix(c, p90, change, _meets(report, p90), interval_includes_zero(c), typical))
    return out


def together(report: Report) -> Together | None:
    p90 = finite(report.whatif_together_p90_ns)
    if p90 is None or not report.whatif_together:
        return None
    now = report.stats.p90_ns
    change = p90 / now - 1 if now > 0 else None
    return Together(len(report.whatif_together), p90, change, _meets(report, p90))


def overlaps(report: Report, among: Sequence[Contributor] | None = None) -> list[Overlap]:
    """Pairs of causes (of `among`, default the fix list) claiming spans of the same calls."""
    chosen = list(among) if among is not None else [f.contributor for f in fixes(report)]
    wanted = {key_of(c): c for c in chosen}
    # trace -> key -> its spans: overlap is looked for within a trace only
    spans: dict[str, dict[Key, set[str]]] = defaultdict(lambda: defaultdict(set))
    for f in report.finding_rows:
        if key_of(f) in wanted:
            spans[f.trace_id][key_of(f)].update(f.span_ids)
    counts: dict[tuple[Key, Key], int] = defaultdict(int)
    for by_key in spans.values():
        keys = sorted(by_key)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if by_key[a] & by_key[b]:
                    counts[a, b] += 1
    rank = {key_of(c): c.rank for c in chosen}
    pairs = []
    for (a, b), n in counts.items():
        first, second = sorted((wanted[a], wanted[b]), key=lambda c: rank[key_of(c)])
        pairs.append(Overlap(first, second, n))
    return sorted(pairs, key=lambda o: (o.first.rank, o.second.rank))


def own_finding(report: Report, c: Contributor) -> Finding | None:
    """The finding of `c` in its own example trace (the biggest one there), if it has one."""
    found = [
        f
        for f in report.finding_rows
        if f.trace_id == c.example_trace_id and key_of(f) == key_of(c)
    ]
    return max(found, key=lambda f: f.saving_ns, default=None)


def row_summary(report: Report, c: Contributor) -> str:
    """What an export says of a row: its example trace's finding, or what the pattern means.

    The core's summary is the most common one among the row's findings, usually of another
    trace than `example_trace_id`; a row's words must describe its own example.
    """
    if not c.pattern:
        return ""
    own = own_finding(report, c)
    if own is not None:
        return own.summary
    return cause(c)


def nearest_p90(report: Report) -> TraceSummary | None:
    """The analysed trace of the current window whose duration is nearest the route's p90."""
    rows = [r for r in report.trace_rows if r.group != "baseline" or not _before_after(report)]
    p90 = report.stats.p90_ns
    return min(rows, key=lambda r: (abs(r.duration_ns - p90), r.trace_id), default=None)


def _before_after(report: Report) -> bool:
    return report.selection.baseline_window is not None


def trace_row(report: Report, trace_id: str) -> TraceSummary | None:
    return next((r for r in report.trace_rows if r.trace_id == trace_id), None)
