"""Where traces come from: `open_source(spec) -> Source`.

A source streams whole traces (`traces(window)`), and records what it could not read in
`issues` instead of raising, so a partial answer can say what it left out: files and directories
(Jaeger JSON, OTLP JSON / JSON lines, Jaeger api_v3, Zipkin v2; `.gz`; `-` for stdin) and the local
store. A `RemoteSource` (Jaeger, Tempo: `jaeger+http://…`, `tempo+https://…`) also answers the
cheap question first: `requests(route, window, limit)` lists the route's requests with their
durations, so that only the slow set and a sample of the baseline are fetched whole with
`fetch(ids)`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tracelens.errors import SourceError, UsageError
from tracelens.model import ReadIssue, Trace

if TYPE_CHECKING:
    from tracelens.sources.http import BackendOptions


@dataclass(frozen=True, slots=True)
class Window:
    """Half-open time window [start_ns, end_ns) on the root span's start; None means unbounded."""

    start_ns: int | None = None
    end_ns: int | None = None

    def bounds(self, span_ns: int, now_ns: int) -> tuple[int, int]:
        """Both ends: an open end is `now_ns`, an open start `span_ns` before the end."""
        end_ns = self.end_ns if self.end_ns is not None else now_ns
        start_ns = self.start_ns if self.start_ns is not None else end_ns - span_ns
        if end_ns <= start_ns:
            raise UsageError("the window ends before it starts")
        return start_ns, end_ns

    def contains(self, t_ns: int) -> bool:
        return (self.start_ns is None or t_ns >= self.start_ns) and (
            self.end_ns is None or t_ns < self.end_ns
        )


# A backend holds days of traces, and Tempo searches only recent data without a time range: when a
# window leaves its start open, a backend is asked for the last hour.
DEFAULT_WINDOW_NS = 3600 * 10**9


def split_window(start_ns: int, end_ns: int, n: int) -> list[tuple[int, int]]:
    """[start, end) cut into `n` consecutive slices of (nearly) equal length."""
    step = (end_ns - start_ns) // n
    edges = [start_ns + i * step for i in range(n)] + [end_ns]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


class Source(Protocol):
    description: str  # e.g. "file traces.jsonl" or "local store ~/.local/share/tracelens"
    issues: list[ReadIssue]

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every trace whose earliest span starts inside `window`."""
        ...


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One request of a route as a backend's search lists it: no spans, just its timing."""

    trace_id: str
    start_ns: int
    duration_ns: int
    service: str = ""  # the root span's service and name, as the backend reports them
    name: str = ""
    matched: str = ""  # the name of the span the search matched, where the backend says


@dataclass(frozen=True, slots=True)
class Percentiles:
    """A route's latency computed by the backend over every request in the window."""

    count: int | None
    p50_ns: float
    p90_ns: float
    p99_ns: float
    method: str  # e.g. "TraceQL metrics (quantile_over_time)"


@dataclass(frozen=True, slots=True)
class Requests:
    """What a backend listed for a route in a window: the requests and how they were found.

    `complete` is False when the listing stopped at the limit, so more requests exist. `traces`
    holds traces the listing already returned whole (Jaeger's v1 search does), which need no
    second fetch.
    """

    summaries: tuple[RequestSummary, ...]
    query: str  # what was asked, in the backend's terms
    complete: bool = True
    percentiles: Percentiles | None = None
    traces: Mapping[str, Trace] = field(default_factory=dict)
    left_out: Mapping[str, int] = field(default_factory=dict)  # reason -> requests not listed


@dataclass(frozen=True, slots=True)
class Fetched:
    """Traces fetched by id: those that came, and for each that did not, why."""

    traces: tuple[Trace, ...]
    failed: Mapping[str, str]  # trace id -> short reason ("timeouts", "HTTP 503", "not found")
    cached: int = 0  # how many came from the disk cache


FetchProgress = Callable[[int, int, int, int], None]  # (done, failed, cached, total)


@runtime_checkable
class RemoteSource(Source, Protocol):
    """A tracing backend: lists a route's requests cheaply, then fetches chosen traces whole."""

    link_base: str  # where the backend's UI shows a trace ("" when it has none)

    def requests(self, route: str | None, window: Window, limit: int) -> Requests:
        """The route's requests that started in `window`, at most `limit` of them."""
        ...

    def routes(self, window: Window) -> Mapping[str, int]:
        """The routes ("service: entry span name") the backend knows in `window`, with counts
        where the backend gives them (0 where it does not)."""
        ...

    def fetch(self, trace_ids: Sequence[str], progress: FetchProgress | None = None) -> Fetched:
        """The traces with these ids, concurrently; failures are returned, not raised."""
        ...


# URL-style sources register a factory under their scheme ("jaeger+http", "tempo+https", ...).
SourceFactory = Callable[[str, "BackendOptions | None"], Source]
SOURCES: dict[str, SourceFactory] = {}
# Span archives (sources/archive.py): a directory holding this manifest, or an fsspec URL.
ARCHIVE_MANIFEST = "tracelens-archive.json"
ARCHIVE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "memory"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def _register_backends() -> None:
    from tracelens.sources.jaeger import JaegerSource
    from tracelens.sources.tempo import TempoSource

    for scheme in ("http", "https"):
        SOURCES[f"jaeger+{scheme}"] = JaegerSource
        SOURCES[f"jaeger+v3+{scheme}"] = JaegerSource  # api_v3 forced (jaeger.py)
        SOURCES[f"tempo+{scheme}"] = TempoSource


def open_source(spec: str | None, options: BackendOptions | None = None) -> Source:
    """A URL or path -> Source; None means TRACELENS_SOURCE, then the local store.

    `options` (auth, TLS, concurrency, cache) apply to Jaeger and Tempo URLs.
    """
    if spec is None:
        spec = os.environ.get("TRACELENS_SOURCE") or None
    if spec is None:
        # Local store branch: the store is imported only when it is the source.
        try:
            from tracelens.sources.store import LocalStore
        except ImportError:
            raise SourceError(
                "no --source given and no local store; run `tracelens demo` or pass --source"
            ) from None
        return LocalStore.default()
    scheme = _SCHEME.match(spec)
    if scheme is not None:
        name = scheme.group(1).lower()
        if not SOURCES:
            _register_backends()
        if name == "file":
            spec = spec[len("file://") :]
        elif name in ARCHIVE_SCHEMES:
            from tracelens.sources.archive import ArchiveSource

            return ArchiveSource(spec)
        elif name in SOURCES:
            return SOURCES[name](spec, options)
        else:
            from tracelens.sources.http import redact_url

            hint = (
                f"write jaeger+{name}://… for Jaeger's query service or tempo+{name}://… for Tempo"
                if name in ("http", "https")
                else "URL sources are jaeger+http(s):// and tempo+http(s)://, span archives "
                "s3://, gs:// and file://; or pass a file, a directory or - for stdin"
            )
            raise UsageError(f"--source {redact_url(spec)}: no source reads {name}:// URLs; {hint}")
    if os.path.isfile(os.path.join(spec, ARCHIVE_MANIFEST)):
        from tracelens.sources.archive import ArchiveSource

        return ArchiveSource(spec)
    from tracelens.sources.files import FileSource

    return FileSource(spec)


class InMemorySource:
    """Traces already in memory (the Python API's `slowest(list_of_traces)`) as a Source."""

    def __init__(self, traces: Iterable[Trace], description: str = "traces in memory") -> None:
        self._traces = traces
        self.description = description
        self.issues: list[ReadIssue] = []

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        for trace in self._traces:
            if not trace.spans:
                self.issues.append(ReadIssue(trace.origin or trace.trace_id, "trace has no spans"))
            elif window is None or window.contains(min(s.start_ns for s in trace.spans)):
                yield trace


def as_source(source: str | Source | Iterable[Trace] | None) -> Source:
    """Whatever the Python API was given -> a Source: a spec string, a Source, or traces."""
    if source is None or isinstance(source, str | os.PathLike):
        return open_source(None if source is None else os.fspath(source))
    if isinstance(getattr(source, "issues", None), list) and callable(
        getattr(source, "traces", None)
    ):
        return source  # type: ignore[return-value]
    return InMemorySource(source)  # type: ignore[arg-type]
