"""The map and reduce steps of `slowest`, as functions of explicit data: a `Shard` and arguments.

    shard = Shard()
    briefs = map_piece(shard, piece, number, scope)    # map: read + tree + path + facts
    part = profile_of(shard, baseline_ids)             # reduce 1 input: merge_profile(parts)
    found = detect_in(shard, profile, detectors, ids)  # map 2: findings, kept on the shard
    ...

A shard holds the analyses of some of the input's traces, where they were made (this process, a
worker process, a Dask worker); only what a step returns travels: a `Brief` per trace, profile
parts, findings, path times, what-if durations, all far smaller than the traces. Every step reads
nothing but its shard and its arguments, so running the shards in one process or in several gives
the same answer (engine.py runs them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from tracelens.analysis import TraceAnalysis, analyze_trace
from tracelens.attribution import ClaimRow, Claims, claim_rows, trace_contributions
from tracelens.baseline import Baseline, ProfilePart, profile_part
from tracelens.budget import MAX_SPANS, MAX_SPANS_PER_TRACE, Budget, level_of
from tracelens.detectors import Detector, detect_all
from tracelens.errors import SourceError
from tracelens.facts import trace_facts
from tracelens.model import Edits, Finding, ProblemKind, ReadIssue, Segment, Span, Trace
from tracelens.pages import page_of
from tracelens.readers.pieces import Piece, read_piece
from tracelens.readers.stream import unreadable
from tracelens.routes import RouteMatcher, display_route
from tracelens.sources import Window
from tracelens.whatif import (
    edits_by_key,
    merged_edits,
    saving_bound_ns,
    typical_edits,
    whatif_duration_ns,
)

Key = tuple[str, str, str]  # (pattern, service, operation), as attribution.Key
CURRENT, BEFORE = "current", "before"
TOO_MANY_SPANS = "more spans than --max-spans-per-trace"
FRAGMENT = "fragment: every span's parent is missing (its root span was lost)"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which traces the run analyses: the route (None: every route) and the windows."""

    matcher: RouteMatcher | None = None
    window: Window | None = None
    baseline_window: Window | None = None
    max_spans: int = MAX_SPANS_PER_TRACE  # a trace with more spans is left out, counted
    max_held: int = MAX_SPANS  # past it, a shard keeps a sample of its traces (budget.py)


@dataclass(frozen=True, slots=True)
class Brief:
    """What the reduce steps know of one trace without holding it."""

    trace_id: str
    piece: int  # the input piece it was read from, in input order
    start_ns: int  # the root's
    duration_ns: int
    route: str  # routes.route_of
    service: str  # of the route's entry span
    entry: str | None  # "service: route" of the entry span that matched; None: not the route
    period: str  # CURRENT, BEFORE, or "" outside both windows
    critical_path_ns: int
    problems: int
    clock_shifts: int
    left_out: str = ""  # why the trace is not analysed although read (FRAGMENT, too many spans)
    spans: int = 0  # how many it has, when left out
    level: int = 64  # its sampling level (budget.py): in the run's sample when >= the cut
    page: str = ""  # the page it served (pages.py), for comparing like pages with like

    @property
    def analysed(self) -> bool:
        return self.entry is not None and bool(self.period) and not self.left_out


@dataclass
class Shard:
    """The analyses of the traces a shard read, and the parts of traces that may continue in
    another piece of the same file (`loose`, joined by the engine once reading is done)."""

    analyses: list[TraceAnalysis] = field(default_factory=list)
    pieces: list[int] = field(default_factory=list)  # the piece each analysis was read from
    loose: list[tuple[int, Trace]] = field(default_factory=list)
    budget: Budget | None = None  # what it holds, by sampling level; set by the first map step

    def copied(self) -> Shard:
        """A copy with lists and a budget of its own: a step on Dask changes only the copy, so
        the version it came from can be stepped again, as lineage may ask (engine_dask.py)."""
        budget = (
            None if self.budget is None else replace(self.budget, units=list(self.budget.units))
        )
        return Shard(list(self.analyses), list(self.pieces), list(self.loose), budget)

    def hold(self, level: int, spans: int) -> None:
        """Count a trace as held (analysed or kept aside); past the budget, drop the traces
        below the cut it rises to."""
        assert self.budget is not None
        if self.budget.hold(level, spans):
            self.drop_below(self.budget.cut)

    def drop_below(self, cut: int) -> None:
        """Forget the traces of a sampling level below `cut`."""
        kept = [
            (n, a)
            for n, a in zip(self.pieces, self.analyses, strict=True)
            if level_of(a.trace.trace_id) >= cut
        ]
        self.pieces = [n for n, _ in kept]
        self.analyses = [a for _, a in kept]
        self.loose = [(n, t) for n, t in self.loose if level_of(t.trace_id) >= cut]


@dataclass(frozen=True, slots=True)
class Mapped:
    """What mapping a piece returns."""

    briefs: list[Brief]
    issues: list[ReadIssue]
    failed: SourceError | None = None  # a whole file of a directory that could not be read
    traces: int = 0  # traces read from the piece, in the windows or not
    file: str = ""  # the file it was read from ("" when no file of a directory was read)


def _in(window: Window | None, t_ns: int) -> bool:
    return window is None or window.contains(t_ns)


def _left_out(trace: Trace, number: int, why: str, first_ns: int, level: int) -> Brief:
    """The brief of a trace that is read but not analysed, so that it is counted."""
    return Brief(
        trace_id=trace.trace_id,
        piece=number,
        start_ns=first_ns,
        duration_ns=0,
        route="",
        service="",
        entry=None,
        period="",
        critical_path_ns=0,
        problems=0,
        clock_shifts=0,
        left_out=why,
        spans=len(trace.spans),
        level=level,
    )


def map_traces(
    shard: Shard,
    traces: Iterable[Trace],
    number: int,
    scope: Scope,
    *,
    loose: bool = False,
    counted: list[int] | None = None,
) -> list[Brief]:
    """Analyse traces into the shard; the briefs of those in a window. With `loose`, a trace that
    is not analysed is kept aside as it may be part of a trace split over pieces.

    A fragment (no span of it has its parent in the trace: the root was lost) and a trace over
    `scope.max_spans` are not analysed: their briefs say why (`Brief.left_out`). Past the budget
    of `scope.max_held` spans, a trace below the shard's sampling cut is read and counted but
    neither analysed nor briefed (budget.py). `counted`, when given, gets the number of traces
    read appended.
    """
    briefs: list[Brief] = []
    window, before = scope.window, scope.baseline_window
    if shard.budget is None:
        shard.budget = Budget(scope.max_held)
    budget = shard.budget

    def keep_aside(trace: Trace, level: int) -> None:
        if loose:
            shard.loose.append((number, trace))
            shard.hold(level, len(trace.spans))

    read = 0
    for trace in traces:
        read += 1
        if not trace.spans:
            continue
        level = level_of(trace.trace_id)
        if level < budget.cut:  # out of the sample (budget.py): counted as read, not analysed
            continue
        first_ns = min(s.start_ns for s in trace.spans)
        if not (_in(window, first_ns) or (before is not None and before.contains(first_ns))):
            keep_aside(trace, level)
            continue
        if len(trace.spans) > scope.max_spans:
            briefs.append(_left_out(trace, number, TOO_MANY_SPANS, first_ns, level))
            keep_aside(trace, level)
            continue
        a = analyze_trace(trace, with_facts=False)
        if any(p.kind is ProblemKind.NO_ROOT for p in a.tree.problems):
            briefs.append(_left_out(trace, number, FRAGMENT, first_ns, level))
            keep_aside(trace, level)
            continue
        root = a.tree.root_span
        entry = scope.matcher.match(a.tree) if scope.matcher else a.route[1]
        if before is not None and before.contains(root.start_ns):
            period = BEFORE
        elif _in(window, root.start_ns):
            period = CURRENT
        else:
            period = ""
        brief = Brief(
            trace_id=trace.trace_id,
            piece=number,
            start_ns=root.start_ns,
            duration_ns=root.end_ns - root.start_ns,
            route=a.route[0],
            service=a.route[1].service,
            entry=f"{entry.service}: {display_route(entry)}" if entry is not None else None,
            period=period,
            critical_path_ns=sum(s.end_ns - s.start_ns for s in a.path),
            problems=len(a.tree.problems),
            clock_shifts=len(a.tree.shifts),
            level=level,
            page=page_of(a.tree, entry) if entry is not None else "",
        )
        briefs.append(brief)
        if brief.analysed:
            shard.analyses.append(replace(a, facts=trace_facts(a.tree, a.path)))
            shard.pieces.append(number)
            shard.hold(level, len(trace.spans))
        else:
            keep_aside(trace, level)
    if counted is not None:
        counted.append(read)
    return briefs


def map_piece(shard: Shard, piece: Piece, number: int, scope: Scope) -> Mapped:
    """Read one piece of the input and analyse its traces into the shard."""
    issues: list[ReadIssue] = []
    counted: list[int] = []
    try:
        briefs = map_traces(
            shard,
            read_piece(piece, issues),
            number,
            scope,
            loose=piece.lines is not None,
            counted=counted,
        )
    except SourceError as e:
        if piece.path is None:
            raise
        # One unreadable file must not hide the rest of a directory.
        issues.append(unreadable(piece.name, e))
        return Mapped([], issues, failed=e)
    file = "" if piece.unread is not None else piece.name
    return Mapped(briefs, issues, traces=sum(counted), file=file)


def take_parts(shard: Shard, trace_ids: frozenset[str]) -> list[tuple[int, Trace]]:
    """Remove and return (piece, part) of these traces: they continue in another piece."""
    taken = [(n, t) for n, t in shard.loose if t.trace_id in trace_ids]
    shard.loose = [(n, t) for n, t in shard.loose if t.trace_id not in trace_ids]
    kept = [(n, a) for n, a in zip(shard.pieces, shard.analyses, strict=True)]
    taken += [(n, a.trace) for n, a in kept if a.trace.trace_id in trace_ids]
    kept = [(n, a) for n, a in kept if a.trace.trace_id not in trace_ids]
    shard.pieces = [n for n, _ in kept]
    shard.analyses = [a for _, a in kept]
    return taken


def held_counts(shard: Shard) -> tuple[int, list[int]]:
    """The shard's sampling cut and what it held by level (budget.run_cut reads them)."""
    budget = shard.budget or Budget(MAX_SPANS)
    return budget.cut, budget.units


def keep_sample(shard: Shard, cut: int) -> None:
    """Keep only the traces in the run's sample: those of level `cut` and above."""
    if shard.budget is not None and cut > shard.budget.cut:
        shard.budget.raise_to(cut)
        shard.drop_below(cut)


def drop_loose(shard: Shard) -> None:
    """Forget the parts kept aside; reading is over."""
    shard.loose = []


def profile_of(shard: Shard, trace_ids: frozenset[str]) -> ProfilePart:
    """The baseline profile's part from this shard's baseline traces."""
    return profile_part(a for a in shard.analyses if a.trace.trace_id in trace_ids)


def detect_in(
    shard: Shard,
    profile: Baseline,
    detectors: Sequence[Detector],
    trace_ids: frozenset[str],
    wanted: frozenset[str],
) -> dict[str, tuple[Finding, ...]]:
    """Run the detectors on the traces in `trace_ids`; the findings stay on the shard, and those
    of the traces in `wanted` (the ones the report lists) are returned."""
    found: dict[str, tuple[Finding, ...]] = {}
    analyses = shard.analyses
    for n, a in enumerate(analyses):
        trace_id = a.trace.trace_id
        if trace_id in trace_ids:
            findings = detect_all(a, profile, detectors)
            analyses[n] = replace(a, findings=findings)
            if trace_id in wanted:
                found[trace_id] = findings
    return found


def claims_of(shard: Shard, trace_ids: frozenset[str]) -> dict[str, list[ClaimRow]]:
    """Each of these traces' claim rows (attribution.claims_from joins them in trace order)."""
    return {
        a.trace.trace_id: claim_rows([a]) for a in shard.analyses if a.trace.trace_id in trace_ids
    }


def contributions_of(
    shard: Shard, claims: Claims, trace_ids: frozenset[str]
) -> dict[str, tuple[dict[Key, int], dict[Key, int]]]:
    """Each of these traces' path time and calls per contributor."""
    return {
        a.trace.trace_id: trace_contributions(a, claims)
        for a in shard.analyses
        if a.trace.trace_id in trace_ids
    }


def whatif_of(
    shard: Shard,
    fixes: Mapping[str, Sequence[Key]],
    trace_ids: frozenset[str],
    profile: Baseline | None = None,
    floors_ns: Mapping[str, float] | None = None,
) -> dict[str, dict[str, int]]:
    """For each fix (a name -> the keys it fixes at once), the new duration of each of these
    traces that the fix edits (whatif.py): a pattern's findings, or, for a plain operation
    (pattern ""), the operation at its cost in the baseline `profile`. A trace no longer than
    its fix's floor (`floors_ns`, from `savings_of` and whatif.replay_floor_ns) is not replayed:
    its fix cannot move the what-if percentile or its interval."""
    out: dict[str, dict[str, int]] = {fix: {} for fix in fixes}
    for a, fix, edits in _fixed(shard, fixes, trace_ids, profile, floors_ns or {}):
        out[fix][a.trace.trace_id] = whatif_duration_ns(a, edits)
    return out


def savings_of(
    shard: Shard,
    fixes: Mapping[str, Sequence[Key]],
    trace_ids: frozenset[str],
    profile: Baseline | None = None,
) -> dict[str, dict[str, int]]:
    """For each fix, the most it can shorten each of these traces that it edits (the trace's
    whole duration when its edits are not bounded: whatif.saving_bound_ns), without replaying."""
    out: dict[str, dict[str, int]] = {fix: {} for fix in fixes}
    for a, fix, edits in _fixed(shard, fixes, trace_ids, profile, {}):
        bound = saving_bound_ns(a.tree, edits)
        out[fix][a.trace.trace_id] = a.duration_ns if bound is None else bound
    return out


def _fixed(
    shard: Shard,
    fixes: Mapping[str, Sequence[Key]],
    trace_ids: frozenset[str],
    profile: Baseline | None,
    floors_ns: Mapping[str, float],
) -> Iterator[tuple[TraceAnalysis, str, Edits]]:
    """(analysis, fix, its edits) for each of these traces and each fix that edits it, leaving
    out the traces no longer than the fix's floor."""
    plain = any(not k[0] for keys in fixes.values() for k in keys) and profile is not None
    for a in shard.analyses:
        trace_id = a.trace.trace_id
        if trace_id not in trace_ids or not (a.findings or plain):
            continue
        edits_of = edits_by_key(a.findings, (trace_id,)) if a.findings else {}
        for fix, keys in fixes.items():
            if a.duration_ns <= floors_ns.get(fix, -math.inf):
                continue
            edits = merged_edits(edits_of, keys).get(trace_id)
            for key in keys:
                if not key[0] and profile is not None:
                    typical = typical_edits(a, key, profile)
                    edits = typical if edits is None else edits.merged(typical)
            if edits is not None and not edits.empty:
                yield a, fix, edits


def examples_of(
    shard: Shard, trace_ids: frozenset[str]
) -> dict[str, tuple[tuple[Segment, ...], dict[str, Span]]]:
    """The critical path and spans of each of these traces this shard holds (the waterfalls)."""
    return {
        a.trace.trace_id: (a.path, {s.span_id: s for s in a.tree.spans})
        for a in shard.analyses
        if a.trace.trace_id in trace_ids
    }
