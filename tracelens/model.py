"""The data that flows between tracelens's stages; no logic beyond small derived properties.

Times are integer nanoseconds since the Unix epoch and ids are lowercase hex everywhere: readers
convert units and encodings once, renderers alone turn nanoseconds into milliseconds.

`Span` is a frozen `msgspec.Struct` rather than a frozen dataclass: a trace corpus holds millions of
spans, and a frozen dataclass costs about seven times as much to build (bench/critical_path.py).
Everything else is a frozen dataclass.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec

AttributeValue = str | int | float | bool


class SpanKind(enum.IntEnum):
    """OpenTelemetry span kinds, numbered as in OTLP."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(enum.IntEnum):
    """OpenTelemetry status codes, numbered as in OTLP."""

    UNSET = 0
    OK = 1
    ERROR = 2


class Event(msgspec.Struct, frozen=True):
    """A timestamped event (Jaeger log, OTLP event, Zipkin annotation) on a span."""

    time_ns: int
    name: str
    attributes: Mapping[str, AttributeValue] = msgspec.field(default_factory=dict)


class Span(msgspec.Struct, frozen=True, gc=False):
    """One span as the backend recorded it, after id and unit normalisation.

    `parent_id` is the span's first CHILD_OF reference (OTLP: parentSpanId); `links` lists the
    span's other references into the same trace, in order (FOLLOWS_FROM, OTLP links): the tree uses
    the first of them present in the trace when the parent is missing, as the Jaeger UI does.
    `process` identifies the emitting process (host, pod or Jaeger process) for clock-skew
    adjustment; two spans of one service on two hosts differ in `process`.
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    kind: SpanKind = SpanKind.UNSPECIFIED
    start_ns: int = 0
    end_ns: int = 0
    status: StatusCode = StatusCode.UNSET
    attributes: Mapping[str, AttributeValue] = msgspec.field(default_factory=dict)
    events: tuple[Event, ...] = ()
    links: tuple[str, ...] = ()
    process: str = ""

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class Trace:
    """All spans of one trace id, in the order the source gave them."""

    trace_id: str
    spans: tuple[Span, ...]
    origin: str = ""  # where it was read from, e.g. "traces.jsonl:12", for messages


class Segment(NamedTuple):
    """One stretch of the critical path: span `span_id` held the path from start_ns to end_ns."""

    span_id: str
    start_ns: int
    end_ns: int


class ProblemKind(enum.StrEnum):
    ORPHAN = "orphan"  # parent id not in the trace; attached under the root
    DUPLICATE_ID = "duplicate_id"  # two different spans share an id; the later one was renamed
    DUPLICATE_SPAN = "duplicate_span"  # an exact copy of a span; dropped
    CYCLE = "cycle"  # parent links form a loop; broken by detaching one span
    NEGATIVE_DURATION = "negative_duration"  # end before start; treated as zero length
    MULTIPLE_ROOTS = "multiple_roots"  # several spans without a parent; a synthetic root spans them
    NO_ROOT = "no_root"  # every span has a missing parent
    EMPTY = "empty"  # no spans at all


class Unit(enum.StrEnum):
    """What a read issue counts: the input's units, largest first."""

    FILE = "file"
    LINE = "line"
    TRACE = "trace"
    SPAN = "span"


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """Part of the input that could not be used, and why ("traces.jsonl:12: not valid JSON").

    It left out `count` `unit`s (0: something repaired, nothing lost); `traces` is how many
    traces lost spans with them when that is known (a bad line of an OTLP export holds many).
    `reason` is the short, stable why that counts group by ("" : the message's first clause).
    """

    origin: str
    message: str
    unit: Unit = Unit.TRACE
    count: int = 1
    traces: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LeftOut:
    """What reading or analysis left out for one reason: `count` units and the traces hit."""

    unit: Unit
    reason: str
    count: int  # 0: repaired, nothing lost
    traces: int = 0
    issues: int = 1  # the read issues counted in it


@dataclass(frozen=True, slots=True)
class Problem:
    """Something malformed about a trace, recorded instead of raised."""

    kind: ProblemKind
    span_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ClockShift:
    """A span (and its subtree) moved in time to undo cross-host clock skew."""

    span_id: str
    service: str
    parent_service: str
    shift_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class Edits:
    """How to rewrite one trace as if a cause were fixed (whatif.py replays the trace).

    Every mapping is keyed by span id. Spans not named keep their own durations and gaps, and move
    earlier when the work they waited for finishes earlier.
    """

    remove: frozenset[str] = frozenset()  # drop these spans and their subtrees
    duration_ns: Mapping[str, int] = field(default_factory=dict)  # new length; subtree dropped
    head_gap_ns: Mapping[str, int] = field(default_factory=dict)  # new wait before first child
    gap_scale: Mapping[str, float] = field(default_factory=dict)  # scale the span's self time
    parallel: frozenset[str] = frozenset()  # these no longer wait for earlier siblings
    # These start as soon as what they waited for ends: the wait in between (a retry's back-off)
    # goes.
    no_wait: frozenset[str] = frozenset()
    # At most this many of a `parallel` span's group run at once (as many as the baseline ran
    # them): the others wait for a turn.
    parallel_width: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether the edits change nothing."""
        return not (
            self.remove
            or self.duration_ns
            or self.head_gap_ns
            or self.gap_scale
            or self.parallel
            or self.no_wait
        )

    def merged(self, other: Edits) -> Edits:
        return Edits(
            remove=self.remove | other.remove,
            duration_ns={**self.duration_ns, **other.duration_ns},
            head_gap_ns={**self.head_gap_ns, **other.head_gap_ns},
            gap_scale={**self.gap_scale, **other.gap_scale},
            parallel=self.parallel | other.parallel,
            no_wait=self.no_wait | other.no_wait,
            parallel_width={**self.parallel_width, **other.parallel_width},
        )


class ClaimPart(enum.StrEnum):
    """Which critical-path segments of a span a finding claims."""

    ALL = "all"  # every segment of the span (its self time)
    HEAD = "head"  # only the segments before its first child starts (connect, DNS, queueing)


@dataclass(frozen=True, slots=True)
class Finding:
    """One instance of a latency pattern in one trace, with the evidence a user can check.

    (pattern, service, operation) names the contributor the finding belongs to; the same key in
    other traces (slow or baseline) claims the matching segments there, so excess compares like
    with like. `span_ids` are the spans whose critical-path segments (per `part`) it claims.
    """

    pattern: str
    trace_id: str
    service: str
    operation: str
    span_ids: tuple[str, ...]
    summary: str
    part: ClaimPart = ClaimPart.ALL
    saving_ns: int = 0  # estimated critical-path saving in this trace
    edits: Edits = field(default_factory=Edits)
    evidence: Mapping[str, Any] = field(default_factory=dict)


# Columns of a contributor row in every export (CSV, JSON, DataFrame), in order; docs/csv.md
# describes each. The first thirteen are the documented stable set; new ones are only appended.
CONTRIBUTOR_COLUMNS: tuple[str, ...] = (
    "rank",
    "pattern",
    "service",
    "operation",
    "slow_ms",
    "baseline_ms",
    "excess_ms",
    "share",
    "ci_low_ms",
    "ci_high_ms",
    "traces",
    "example_trace_id",
    "whatif_p90_ms",
    "more_calls_ms",
    "slower_calls_ms",
    "slow_calls",
    "baseline_calls",
    "summary",
    "whatif_low_ms",
    "whatif_high_ms",
)


@dataclass(frozen=True, slots=True)
class Contributor:
    """One row of the ranking: an operation, or a pattern instance, and what it adds to p90.

    Times are mean critical-path nanoseconds per trace. `more_calls_ns + slower_calls_ns ==
    excess_ns`: the first is the part explained by more calls on the path at baseline speed, the
    second by each call being slower.
    """

    rank: int
    pattern: str  # "" for a plain operation
    service: str
    operation: str
    slow_ns: float
    baseline_ns: float
    excess_ns: float
    share: float
    ci_low_ns: float
    ci_high_ns: float
    traces: int  # slow traces in which it held part of the critical path
    example_trace_id: str
    whatif_p90_ns: float | None = None
    more_calls_ns: float = 0.0
    slower_calls_ns: float = 0.0
    slow_calls: float = 0.0  # mean calls on the path per slow trace
    baseline_calls: float = 0.0
    summary: str = ""
    whatif_low_ns: float | None = None  # 95% bootstrap interval of whatif_p90_ns
    whatif_high_ns: float | None = None

    @property
    def fix_name(self) -> str:
        """`dns · web: GET /x`: how `Report.whatif_together` names the row's fix."""
        where = f"{self.service}: {self.operation}"
        return f"{self.pattern} · {where}" if self.pattern else where


@dataclass(frozen=True, slots=True)
class RouteStats:
    """Latency of the route over the selected window, all traces considered."""

    count: int
    p50_ns: float
    p90_ns: float
    p99_ns: float
    slo_ns: int | None = None
    method: str = ""  # where the percentiles come from, when not from the analysed traces

    @property
    def breaches_slo(self) -> bool:
        return self.slo_ns is not None and self.p90_ns > self.slo_ns


@dataclass(frozen=True, slots=True)
class Sampling:
    """How a backend's requests were listed, chosen and fetched, for an honest report.

    Every listed request at or above the slow cut is fetched; the baseline is a seeded random
    sample of the others (all of them when there are at most --sample).
    """

    backend: str  # "Tempo at https://tempo.example.net"
    query: str  # what the backend was asked
    listed: int  # requests of the route whose durations the backend listed
    complete: bool  # False when the listing stopped at --limit: the window holds more
    slow_listed: int
    slow_fetched: int
    others_listed: int  # the requests below the cut (or of the baseline window)
    others_sampled: int
    others_fetched: int
    failed: Mapping[str, int] = field(default_factory=dict)  # reason -> traces not fetched
    failed_ids: tuple[str, ...] = ()
    cached: int = 0  # traces read from the disk cache
    unlisted: Mapping[str, int] = field(default_factory=dict)  # reason -> search results left out


@dataclass(frozen=True, slots=True)
class PageShare:
    """One page of a route and its traces in the slow set and the baseline (pages.py)."""

    page: str
    slow: int
    baseline: int


@dataclass(frozen=True, slots=True)
class Selection:
    """What was analysed: the route, what matched it, the window and the two sets."""

    route: str
    matched: Mapping[str, int]  # "service: entry span name" -> traces matched
    start_ns: int | None
    end_ns: int | None
    percentile: float
    baseline_percentile: float
    slow_trace_ids: tuple[str, ...]
    baseline_trace_ids: tuple[str, ...]
    baseline_window: tuple[int, int] | None = None  # before/after mode
    baseline_band: str = ""  # before/after mode: which of its requests (bands.py); "" otherwise
    traces_total: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> traces left out
    left_out: tuple[LeftOut, ...] = ()  # everything left out, by unit: files, lines, traces, spans
    traces_read: int = 0  # traces read from the input, in the windows or not
    files_read: int = 0  # files they were read from (0: not from files)
    sampling: Sampling | None = None  # set when the traces came from a tracing backend
    sample_level: int = 0  # > 0: 1 in 2**sample_level traces, by trace id, held to `max_spans`
    max_spans: int = 0  # the budget of spans held at once (--max-spans)
    # The pages behind the route when it serves several (pages.py); the baseline is weighted to
    # the slow set's mix of them. () when it serves one.
    pages: tuple[PageShare, ...] = ()

    @property
    def partial(self) -> bool:
        """Whether some of what was read was left out or sampled away."""
        return bool(self.left_out) or self.sample_level > 0


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One analysed trace: its entry span, duration, set membership and problems."""

    trace_id: str
    route: str
    service: str
    start_ns: int
    duration_ns: int
    group: str  # "slow", "baseline" or ""
    critical_path_ns: int
    problems: int
    clock_shifts: int
