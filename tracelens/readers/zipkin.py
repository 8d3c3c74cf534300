"""Zipkin v2 JSON (a list of spans, or a list of such lists) -> spans: `add_spans(spans, sink)`.

µs become ns, `localEndpoint.serviceName` is the service, tags (strings) become attributes, an
`error` tag marks the span failed, annotations become events. A span without `timestamp` or
`duration` is skipped with an issue. Shared client/server ids are split later by
`group.split_shared_ids`. Zipkin v1 (`binaryAnnotations`) is not read (backends.md §5).
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracelens.model import AttributeValue, Event, Span, SpanKind, StatusCode
from tracelens.readers.group import MAX_TIME_NS, Sink
from tracelens.readers.ids import BadId, optional_span_id, span_id, trace_id
from tracelens.readers.values import compact


class Endpoint(msgspec.Struct, gc=False):
    service: str | None = msgspec.field(name="serviceName", default=None)
    ipv4: str | None = None
    ipv6: str | None = None
    port: int | None = None


class Annotation(msgspec.Struct, gc=False):
    timestamp: int = 0
    value: str = ""


class ZSpan(msgspec.Struct, gc=False):
    trace_id: str = msgspec.field(name="traceId")
    id: str
    parent_id: str | None = msgspec.field(name="parentId", default=None)
    kind: str | None = None
    name: str | None = None
    timestamp: int | None = None
    duration: int | None = None
    local: Endpoint | None = msgspec.field(name="localEndpoint", default=None)
    remote: Endpoint | None = msgspec.field(name="remoteEndpoint", default=None)
    annotations: list[Annotation] | None = None
    tags: dict[str, Any] | None = None


SPANS = list[ZSpan]
TRACES = list[list[ZSpan]]

_KINDS = {
    "SERVER": SpanKind.SERVER,
    "CLIENT": SpanKind.CLIENT,
    "PRODUCER": SpanKind.PRODUCER,
    "CONSUMER": SpanKind.CONSUMER,
}


def _endpoint(ep: Endpoint | None) -> tuple[str, str]:
    """(service, process identity) of a local endpoint."""
    if ep is None:
        return "unknown_service", "unknown_service"
    service = ep.service or "unknown_service"
    host = ep.ipv4 or ep.ipv6
    return service, f"{service}@{host}" if host else service


def add_spans(spans: list[ZSpan], sink: Sink) -> None:
    """Convert Zipkin v2 spans into `sink`, grouped by trace id."""
    last_raw = ""
    tid = ""
    bucket: list[Span] = []
    for zs in spans:
        try:
            if zs.trace_id != last_raw:
                tid = trace_id(zs.trace_id)
                bucket = sink.spans_of(tid)
                last_raw = zs.trace_id
            sid = span_id(zs.id)
            if not zs.timestamp or zs.duration is None:
                sink.no_time(tid, sid, "timestamp" if not zs.timestamp else "duration")
                continue
            start_ns = zs.timestamp * 1000
            end_ns = start_ns + zs.duration * 1000
            if not 0 <= start_ns <= MAX_TIME_NS or not 0 <= end_ns <= MAX_TIME_NS:
                sink.bad_time(tid, sid, start_ns, end_ns)
                continue
            attrs: dict[str, AttributeValue] = (
                {k: v if v.__class__ is str else compact(v) for k, v in zs.tags.items()}
                if zs.tags
                else {}
            )
            if zs.remote is not None and zs.remote.service and "peer.service" not in attrs:
                attrs["peer.service"] = zs.remote.service
            service, process = _endpoint(zs.local)
            bucket.append(
                Span(
                    tid,
                    sid,
                    optional_span_id(zs.parent_id),
                    service,
                    zs.name or "",
                    _KINDS.get(zs.kind or "", SpanKind.INTERNAL),
                    start_ns,
                    end_ns,
                    StatusCode.ERROR if "error" in attrs else StatusCode.UNSET,
                    attrs,
                    tuple(Event(a.timestamp * 1000, a.value) for a in zs.annotations)
                    if zs.annotations
                    else (),
                    (),
                    process,
                )
            )
        except (BadId, ValueError, TypeError) as e:
            sink.skip(f"span {zs.id!r}: {e}; span skipped", reason="malformed span")
