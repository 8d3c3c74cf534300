"""Where traces come from: `open_source(spec) -> Source`.

A source streams whole traces (`traces(window)`), and records what it could not read in
`issues` instead of raising, so a partial answer can say what it left out. Files and directories
(Jaeger JSON, OTLP JSON / JSON lines, Jaeger api_v3, Zipkin v2; `.gz`; `-` for stdin) and the local
store exist now; Jaeger and Tempo HTTP sources plug in through the same protocol and the same
`SOURCES` prefixes later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from tracelens.errors import SourceError
from tracelens.model import Trace


@dataclass(frozen=True, slots=True)
class Window:
    """Half-open time window [start_ns, end_ns) on the root span's start; None means unbounded."""

    start_ns: int | None = None
    end_ns: int | None = None

    def contains(self, t_ns: int) -> bool:
        return (self.start_ns is None or t_ns >= self.start_ns) and (
            self.end_ns is None or t_ns < self.end_ns
        )


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """One trace or line that could not be used, and why ("traces.jsonl:12: not JSON")."""

    origin: str
    message: str


class Source(Protocol):
    description: str  # e.g. "file traces.jsonl" or "local store ~/.local/share/tracelens"
    issues: list[ReadIssue]

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every trace whose earliest span starts inside `window`."""
        ...


# URL-style sources register a factory under their scheme ("jaeger+http", "tempo+https", ...).
SOURCES: dict[str, Callable[[str], Source]] = {}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def open_source(spec: str | None) -> Source:
    """A URL or path -> Source; None means TRACELENS_SOURCE, then the local store."""
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
        if name == "file":
            spec = spec[len("file://") :]
        elif name in SOURCES:
            return SOURCES[name](spec)
        else:
            known = ", ".join(sorted(SOURCES)) or "none yet"
            raise SourceError(
                f"{spec}: no source reads {name}:// URLs (URL sources: {known}); "
                "pass a file, a directory or - for stdin"
            )
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
