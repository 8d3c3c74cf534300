"""OTLP/JSON (TracesData, export requests, Tempo, Jaeger api_v3) -> spans: `add_resource_spans`.

Wire structs mirror the proto3 JSON mapping; decode with `strict=False` so int64 sent as decimal
strings (the norm) and as numbers both land in ints. Ids may be hex of any case or base64, enums
names or numbers, and `instrumentationLibrarySpans` stands in for `scopeSpans` in old producers
(backends.md §1, §4). snake_case documents go through `camel_keys` first.
"""

from __future__ import annotations

from sys import intern
from typing import Any

import msgspec

from tracelens.model import AttributeValue, Event, Span, SpanKind, StatusCode
from tracelens.readers.group import MAX_TIME_NS, Sink
from tracelens.readers.ids import (
    ZERO_SPAN_ID,
    BadId,
    optional_span_id,
    plain_hex,
    span_id,
    trace_id,
)
from tracelens.readers.values import compact

NO_RAW = msgspec.Raw()  # default of raw fields: empty, so falsy when the key is absent


class AnyValue(msgspec.Struct, gc=False):
    string_value: str | None = msgspec.field(name="stringValue", default=None)
    int_value: int | None = msgspec.field(name="intValue", default=None)
    bool_value: bool | None = msgspec.field(name="boolValue", default=None)
    double_value: float | None = msgspec.field(name="doubleValue", default=None)
    bytes_value: str | None = msgspec.field(name="bytesValue", default=None)
    array_value: ArrayValue | None = msgspec.field(name="arrayValue", default=None)
    kvlist_value: KeyValueList | None = msgspec.field(name="kvlistValue", default=None)


class ArrayValue(msgspec.Struct, gc=False):
    values: list[AnyValue] | None = None


class KeyValue(msgspec.Struct, gc=False):
    key: str
    value: AnyValue = msgspec.field(default_factory=AnyValue)


class KeyValueList(msgspec.Struct, gc=False):
    values: list[KeyValue] | None = None


class OEvent(msgspec.Struct, gc=False):
    time_ns: int = msgspec.field(name="timeUnixNano", default=0)
    name: str = ""
    attributes: list[KeyValue] | None = None


class OLink(msgspec.Struct, gc=False):
    trace_id: str | None = msgspec.field(name="traceId", default=None)
    span_id: str | None = msgspec.field(name="spanId", default=None)


class OStatus(msgspec.Struct, gc=False):
    code: int | str = 0


class OSpan(msgspec.Struct, gc=False):
    trace_id: str = msgspec.field(name="traceId")
    span_id: str = msgspec.field(name="spanId")
    parent_span_id: str | None = msgspec.field(name="parentSpanId", default=None)
    name: str = ""
    kind: int | str = 0
    start_ns: int | None = msgspec.field(name="startTimeUnixNano", default=None)
    end_ns: int | None = msgspec.field(name="endTimeUnixNano", default=None)
    attributes: list[KeyValue] | None = None
    events: list[OEvent] | None = None
    links: list[OLink] | None = None
    status: OStatus | None = None


class ScopeSpans(msgspec.Struct, gc=False):
    spans: list[OSpan] | None = None


class Resource(msgspec.Struct, gc=False):
    attributes: list[KeyValue] | None = None


class ResourceSpans(msgspec.Struct, gc=False):
    resource: Resource | None = None
    scope_spans: list[ScopeSpans] | None = msgspec.field(name="scopeSpans", default=None)
    library_spans: list[ScopeSpans] | None = msgspec.field(
        name="instrumentationLibrarySpans", default=None
    )
    snake: msgspec.Raw = msgspec.field(name="scope_spans", default=NO_RAW)  # -> camel_keys


class TracesData(msgspec.Struct, gc=False):
    """`TracesData` / `ExportTraceServiceRequest`; Tempo v1 calls the list `batches`."""

    resource_spans: list[ResourceSpans] | None = msgspec.field(name="resourceSpans", default=None)
    batches: list[ResourceSpans] | None = None


_KINDS: dict[int | str, SpanKind] = {}
for _k in SpanKind:
    _KINDS[int(_k)] = _KINDS[str(int(_k))] = _KINDS[f"SPAN_KIND_{_k.name}"] = _k
_STATUS: dict[int | str, StatusCode] = {}
for _c in StatusCode:
    _STATUS[int(_c)] = _STATUS[str(int(_c))] = _STATUS[f"STATUS_CODE_{_c.name}"] = _c

# Resource attributes that tell two processes of one service apart, most specific first.
_HOST_KEYS = ("host.name", "k8s.pod.name", "service.instance.id", "host.id")


def _plain(v: AnyValue | None) -> Any:
    """The JSON-ish Python value of an AnyValue (arrays and kvlists nested)."""
    if v is None:
        return None
    if v.string_value is not None:
        return v.string_value
    if v.int_value is not None:
        return v.int_value
    if v.bool_value is not None:
        return v.bool_value
    if v.double_value is not None:
        return v.double_value
    if v.bytes_value is not None:
        return v.bytes_value
    if v.array_value is not None:
        return [_plain(x) for x in v.array_value.values or ()]
    if v.kvlist_value is not None:
        return {kv.key: _plain(kv.value) for kv in v.kvlist_value.values or ()}
    return None


def _flat(v: AnyValue) -> AttributeValue:
    """An attribute value that is not a string: ints as they are, the rest via `_plain`."""
    if v.int_value is not None:
        return v.int_value
    return compact(_plain(v))


def attributes(kvs: list[KeyValue]) -> dict[str, AttributeValue]:
    """A flat attribute map; arrays and kvlists become compact JSON text, empty values ""."""
    return {
        kv.key: s if (s := kv.value.string_value) is not None else _flat(kv.value) for kv in kvs
    }


_SHORT = 32  # attribute values up to this length are interned: kinds, methods, hosts


def _resource(rs: ResourceSpans) -> tuple[str, str]:
    """(service, process identity) of one resource."""
    attrs = attributes(rs.resource.attributes) if rs.resource and rs.resource.attributes else {}
    service = intern(str(attrs.get("service.name") or "unknown_service"))
    for key in _HOST_KEYS:
        host = attrs.get(key)
        if host not in (None, ""):
            return service, intern(f"{service}@{host}")
    return service, service


def add_resource_spans(resource_spans: list[ResourceSpans], sink: Sink) -> None:
    """Convert OTLP resource spans into `sink`, grouped by each span's trace id."""
    last_raw = ""
    tid = ""
    bucket: list[Span] = []
    kinds = _KINDS.get
    unspecified = SpanKind.UNSPECIFIED
    unset = StatusCode.UNSET
    statuses = _STATUS.get
    flat = _flat
    max_ns = MAX_TIME_NS
    for rs in resource_spans:
        service, process = _resource(rs)
        for ss in (rs.scope_spans or []) + (rs.library_spans or []):
            spans = ss.spans
            if not spans:
                continue
            plain_ids = plain_hex([o.span_id for o in spans], 16)
            parents = [p for o in spans if (p := o.parent_span_id)]
            plain_parents = plain_hex(parents, 16) and ZERO_SPAN_ID not in parents
            for os in spans:
                try:
                    if os.trace_id != last_raw:
                        tid = trace_id(os.trace_id)
                        bucket = sink.spans_of(tid)
                        last_raw = os.trace_id
                    sid = os.span_id if plain_ids else span_id(os.span_id)
                    start_ns, end_ns = os.start_ns, os.end_ns
                    if not start_ns or not end_ns:  # absent, or 0: proto3's "not set"
                        sink.no_time(tid, sid, "start time" if not start_ns else "end time")
                        continue
                    if start_ns > max_ns or end_ns > max_ns or start_ns < 0 or end_ns < 0:
                        sink.bad_time(tid, sid, start_ns, end_ns)
                        continue
                    parent = (
                        os.parent_span_id or None
                        if plain_parents
                        else optional_span_id(os.parent_span_id)
                    )
                    bucket.append(
                        Span(
                            tid,
                            sid,
                            parent,
                            service,
                            intern(os.name),
                            kinds(os.kind, unspecified),
                            start_ns,
                            end_ns,
                            statuses(os.status.code, unset) if os.status else unset,
                            # `attributes(kvs)` inlined, keys and short values interned (one copy
                            # of each repeated string, as the Jaeger reader keeps)
                            {
                                intern(kv.key): (intern(s) if len(s) <= _SHORT else s)
                                if (s := kv.value.string_value) is not None
                                else flat(kv.value)
                                for kv in kvs
                            }
                            if (kvs := os.attributes)
                            else {},
                            _events(os.events) if os.events else (),
                            _links(os.links, tid) if os.links else (),
                            process,
                        )
                    )
                except (BadId, ValueError, TypeError) as e:
                    sink.skip(f"span {os.span_id!r}: {e}; span skipped", reason="malformed span")


def _events(events: list[OEvent]) -> tuple[Event, ...]:
    return tuple(
        Event(e.time_ns, e.name, attributes(e.attributes) if e.attributes else {}) for e in events
    )


def _links(links: list[OLink], tid: str) -> tuple[str, ...]:
    """Span ids of the links into the same trace, in order."""
    return tuple(
        lid
        for link in links
        if not link.trace_id or trace_id(link.trace_id) == tid
        if (lid := optional_span_id(link.span_id)) is not None
    )


def add_traces_data(doc: TracesData, sink: Sink) -> None:
    add_resource_spans((doc.resource_spans or []) + (doc.batches or []), sink)


def camel_keys(obj: Any) -> Any:
    """`obj` with every object key in lowerCamelCase (`resource_spans` -> `resourceSpans`).

    Safe for OTLP only: its object keys are all field names; attribute keys are values.
    Iterative, so deeply nested kvlists cannot exhaust the stack.
    """
    root: list[Any] = [obj]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        value = container[key]
        if isinstance(value, dict):
            renamed = {_camel(k): v for k, v in value.items()}
            container[key] = renamed
            stack.extend((renamed, k) for k in renamed)
        elif isinstance(value, list):
            copied = list(value)
            container[key] = copied
            stack.extend((copied, i) for i in range(len(copied)))
    return root[0]


def _camel(key: str) -> str:
    if "_" not in key:
        return key
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
