"""Where traces come from: `open_source(spec) -> Source`.

A source streams whole traces (`traces(window)`), and records what it could not read in
`issues` instead of raising, so a partial answer can say what it left out. Files and directories
(Jaeger JSON, OTLP JSON / JSON lines, Jaeger api_v3, Zipkin v2; `.gz`; `-` for stdin) and the local
store exist now; Jaeger and Tempo HTTP sources plug in through the same protocol and the same
`SOURCES` prefixes later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

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


def open_source(spec: str | None) -> Source:
    """A URL or path -> Source; None means TRACELENS_SOURCE, then the local store."""
    raise NotImplementedError
