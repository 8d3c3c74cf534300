"""Collect converted spans by trace id and turn them into `Trace`s: `Sink(origin, issues)`.

Readers append spans to `sink.spans_of(trace_id)` and report what they skip with
`sink.skip(message)`; `finish(trace_id, spans, origin)` makes the `Trace`, splitting Zipkin-style
shared client/server span ids (backends.md §3.2, §5) so the server half becomes a child of the
client half, as Jaeger's and Tempo's span-id de-duplication does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import msgspec

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Span, SpanKind, Trace, Unit

# 2300-01-01T00:00:00Z: anything later is a broken clock or a zero time cast to uint64.
MAX_TIME_NS = 10_413_792_000 * 1_000_000_000


class Sink:
    """Spans grouped by trace id in first-seen order, and the issues met on the way.

    With `issues` None the first problem raises SourceError instead of being recorded.
    """

    __slots__ = ("groups", "issues", "origin")

    def __init__(self, origin: str, issues: list[ReadIssue] | None) -> None:
        self.origin = origin
        self.issues = issues
        self.groups: dict[str, list[Span]] = {}

    def spans_of(self, trace_id: str) -> list[Span]:
        spans = self.groups.get(trace_id)
        if spans is None:
            spans = self.groups[trace_id] = []
        return spans

    def skip(
        self,
        message: str,
        unit: Unit = Unit.SPAN,
        *,
        count: int = 1,
        traces: int = 0,
        reason: str = "",
    ) -> None:
        """Record that `count` `unit`s were left out (SourceError when there is no issue list)."""
        if self.issues is None:
            raise SourceError(f"{self.origin}: {message}")
        self.issues.append(ReadIssue(self.origin, message, unit, count, traces, reason))

    def bad_time(self, trace_id: str, span_id: str, start_ns: int, end_ns: int) -> None:
        value = start_ns if not 0 <= start_ns <= MAX_TIME_NS else end_ns
        self.skip(
            f"span {span_id} of trace {trace_id}: time {value} ns is not a plausible timestamp "
            "(before 1970 or after 2300); span skipped",
            reason="implausible timestamp",
        )

    def no_time(self, trace_id: str, span_id: str, missing: str) -> None:
        self.skip(
            f"span {span_id} of trace {trace_id} has no {missing}; span skipped",
            reason=f"no {missing}",
        )

    def traces(self, origin: str | None = None) -> Iterator[Trace]:
        """The finished traces; a trace whose every span was skipped is an issue of its own."""
        where = origin or self.origin
        for tid, spans in self.groups.items():
            if spans:
                yield finish(tid, spans, where)
            else:
                self.emptied(tid)

    def emptied(self, trace_id: str) -> None:
        self.skip(
            f"trace {trace_id}: every span of it was skipped; trace left out",
            Unit.TRACE,
            reason="every span skipped",
        )


def _server_id(trace_id: str, span_id: str) -> str:
    """A stable new id for the server half of a shared span id."""
    digest = hashlib.blake2b(f"{trace_id}/{span_id}/server".encode(), digest_size=8)
    return digest.hexdigest()


def split_shared_ids(trace_id: str, spans: list[Span]) -> list[Span]:
    """Give the SERVER half of a CLIENT/SERVER pair sharing an id a new id under the client.

    Every other span whose parent was the shared id moves under the server half, as Jaeger's
    SpanIDDeduper does: in the shared-span model the server's own calls name the shared id.
    """
    ids = [s.span_id for s in spans]
    if len(set(ids)) == len(ids):  # the norm: one C-level check instead of a loop
        return spans
    seen: set[str] = set()
    dup: set[str] = set()
    for sid in ids:
        if sid in seen:
            dup.add(sid)
        seen.add(sid)
    clients = {s.span_id for s in spans if s.span_id in dup and s.kind == SpanKind.CLIENT}
    renamed: dict[str, str] = {}
    out: list[Span] = []
    for s in spans:
        sid = s.span_id
        if sid in clients and s.kind == SpanKind.SERVER and sid not in renamed:
            new_id = _server_id(trace_id, sid)
            renamed[sid] = new_id
            s = msgspec.structs.replace(s, span_id=new_id, parent_id=sid)
        out.append(s)
    if not renamed:
        return spans
    new_ids = set(renamed.values())
    return [
        msgspec.structs.replace(s, parent_id=renamed[s.parent_id])
        if s.parent_id in renamed and s.span_id not in new_ids
        else s
        for s in out
    ]


def finish(trace_id: str, spans: list[Span], origin: str) -> Trace:
    """The Trace for one trace id's spans, shared client/server ids split."""
    return Trace(trace_id, tuple(split_shared_ids(trace_id, spans)), origin)
