"""Jaeger v1 JSON (query API, UI files, Elasticsearch dumps) -> spans: `add_traces(traces, sink)`.

Wire structs mirror the JSON so msgspec decodes straight into them (`TRACES`, `SPANS`;
decode with `strict=False` so int64 sent as strings are accepted);
`add_traces` / `add_spans` turn them into `Span`s in a `Sink`. Parent = first CHILD_OF reference
into the same trace, other same-trace references become links; service and process come from
`processes[processID]` or an embedded `process`; µs become ns (backends.md §2.2).
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


class KV(msgspec.Struct, gc=False):
    key: str
    type: str = "string"
    value: Any = None


class Log(msgspec.Struct, gc=False):
    timestamp: int = 0
    fields: list[KV] | None = None


class Ref(msgspec.Struct, gc=False):
    ref_type: str = msgspec.field(name="refType", default="CHILD_OF")
    trace_id: str | None = msgspec.field(name="traceID", default=None)
    span_id: str | None = msgspec.field(name="spanID", default=None)


class Process(msgspec.Struct, gc=False):
    service: str | None = msgspec.field(name="serviceName", default=None)
    tags: list[KV] | None = None


class JSpan(msgspec.Struct, gc=False):
    span_id: str = msgspec.field(name="spanID")
    trace_id: str | None = msgspec.field(name="traceID", default=None)
    operation: str | None = msgspec.field(name="operationName", default=None)
    references: list[Ref] | None = None
    start_us: int | None = msgspec.field(name="startTime", default=None)
    duration_us: int | None = msgspec.field(name="duration", default=None)
    tags: list[KV] | None = None
    logs: list[Log] | None = None
    process_id: str | None = msgspec.field(name="processID", default=None)
    process: Process | None = None
    parent_span_id: str | None = msgspec.field(name="parentSpanID", default=None)


class JTrace(msgspec.Struct, gc=False):
    spans: list[JSpan]
    trace_id: str | None = msgspec.field(name="traceID", default=None)
    processes: dict[str, Process] | None = None


TRACES = list[JTrace]
SPANS = list[JSpan]

_KINDS = {
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
    "internal": SpanKind.INTERNAL,
}
# Tags that tell two processes of one service apart, most specific first.
_HOST_TAGS = ("host.name", "hostname", "k8s.pod.name", "service.instance.id", "ip", "client-uuid")
_TRUE = frozenset((True, "true", "True", "TRUE", "1", 1))


def _coerce(kind: str, value: str) -> AttributeValue:
    """A tag value sent as a string although its type says otherwise (int64 above 2^53, bool)."""
    try:
        if kind == "int64":
            return int(value)
        if kind == "float64":
            return float(value)
    except ValueError:
        return value
    if kind == "bool":
        return value.lower() == "true"
    return value


def _typed(t: KV) -> AttributeValue:
    """A tag value that is not a plain string: typed JSON as it is, typed strings converted."""
    v = t.value
    if v.__class__ is str:
        return v if t.type == "binary" else _coerce(t.type, v)
    if isinstance(v, int | float | bool):
        return v
    return compact(v)


def _tags(tags: list[KV]) -> dict[str, AttributeValue]:
    return {
        t.key: v if (v := t.value).__class__ is str and t.type == "string" else _typed(t)
        for t in tags
    }


_SHORT = 32  # attribute values up to this length are interned: kinds, methods, hosts, systems


def _process_key(service: str, tags: list[KV] | None) -> str | None:
    if tags:
        found = {t.key: t.value for t in tags if t.key in _HOST_TAGS}
        for key in _HOST_TAGS:
            if found.get(key) not in (None, ""):
                return f"{service}@{found[key]}"
    return None


def _processes(processes: dict[str, Process] | None) -> dict[str, tuple[str, str]]:
    """processID -> (service, process identity) for one trace."""
    if not processes:
        return {}
    services = [p.service or "unknown_service" for p in processes.values()]
    out: dict[str, tuple[str, str]] = {}
    for (pid, proc), service in zip(processes.items(), services, strict=True):
        key = _process_key(service, proc.tags)
        if key is None:
            # Jaeger merges identical processes, so two ids of one service are two processes.
            key = service if services.count(service) == 1 else f"{service}#{pid}"
        out[pid] = (intern(service), intern(key))
    return out


def _events(logs: list[Log]) -> tuple[Event, ...]:
    events = []
    for log in logs:
        fields = _tags(log.fields) if log.fields else {}
        name = fields.pop("event", None)
        if name is None:
            name = fields.get("message", "log")
        events.append(Event(log.timestamp * 1000, str(name), fields))
    return tuple(events)


def _references(refs: list[Ref], raw: str, tid: str) -> tuple[str | None, tuple[str, ...]]:
    """(parent, links): the first CHILD_OF into this trace, then the other same-trace refs."""
    parent: str | None = None
    links: list[str] = []
    for ref in refs:
        if ref.trace_id and ref.trace_id != raw and trace_id(ref.trace_id) != tid:
            continue  # a reference into another trace is neither parent nor link
        rid = optional_span_id(ref.span_id)
        if rid is None:
            continue
        if parent is None and ref.ref_type == "CHILD_OF":
            parent = rid
        else:
            links.append(rid)
    return parent, tuple(links)


def _status(attrs: dict[str, AttributeValue]) -> StatusCode:
    code = attrs.get("otel.status_code")
    if attrs.get("error") in _TRUE or code == "ERROR":
        return StatusCode.ERROR
    return StatusCode.OK if code == "OK" else StatusCode.UNSET


def add_spans(
    spans: list[JSpan],
    sink: Sink,
    processes: dict[str, tuple[str, str]] | None = None,
    default_trace_id: str | None = None,
) -> None:
    """Convert Jaeger spans into `sink`; services from `processes` or each span's own process."""
    last_raw: str | None = None
    tid = ""
    bucket: list[Span] = []
    plain_ids = plain_hex([js.span_id for js in spans], 16)
    parents = [r[0].span_id or "" for js in spans if (r := js.references)]
    plain_parents = plain_hex(parents, 16) and ZERO_SPAN_ID not in parents
    kinds = _KINDS.get
    internal = SpanKind.INTERNAL
    unset = StatusCode.UNSET
    no_process = ("unknown_service", "")
    typed = _typed
    max_ns = MAX_TIME_NS
    for js in spans:
        try:
            raw = js.trace_id or default_trace_id or ""
            if raw != last_raw:
                if not raw:
                    sink.skip(f"span {js.span_id!r} has no traceID; span skipped", reason="no id")
                    continue
                tid = trace_id(raw)
                bucket = sink.spans_of(tid)
                last_raw = raw
            sid = js.span_id if plain_ids else span_id(js.span_id)

            parent: str | None = None
            links: tuple[str, ...] = ()
            refs = js.references
            if refs:
                ref = refs[0]
                if len(refs) == 1 and ref.ref_type == "CHILD_OF" and ref.trace_id == raw:
                    parent = ref.span_id if plain_parents else optional_span_id(ref.span_id)
                else:
                    parent, links = _references(refs, raw, tid)
            if parent is None and js.parent_span_id:
                parent = optional_span_id(js.parent_span_id)

            if js.process is not None:
                service = intern(js.process.service or "unknown_service")
                process = intern(_process_key(service, js.process.tags) or service)
            else:
                pid = js.process_id or ""
                service, process = processes.get(pid, no_process) if processes else no_process

            if tags := js.tags:
                # `_tags(tags)` inlined, ints taken as they are whatever their type says
                # Keys and short values repeat on every span: one shared copy of each (interned)
                # keeps a corpus's memory to its distinct strings.
                attrs = {
                    intern(t.key): (intern(v) if len(v) <= _SHORT else v)
                    if (c := (v := t.value).__class__) is str and t.type == "string"
                    else v
                    if c is int
                    else typed(t)
                    for t in tags
                }
                kind = kinds(attrs.get("span.kind"), internal)  # type: ignore[arg-type]
                status = (
                    _status(attrs) if "error" in attrs or "otel.status_code" in attrs else unset
                )
            else:
                attrs, kind, status = {}, internal, unset

            if not js.start_us or js.duration_us is None:  # 0: a zero time, as good as none
                sink.no_time(tid, sid, "start time" if not js.start_us else "duration")
                continue
            start_ns = js.start_us * 1000
            end_ns = start_ns + js.duration_us * 1000
            if start_ns > max_ns or end_ns > max_ns or start_ns < 0:
                sink.bad_time(tid, sid, start_ns, end_ns)
                continue
            bucket.append(
                Span(
                    tid,
                    sid,
                    parent,
                    service,
                    intern(js.operation) if js.operation else "",
                    kind,
                    start_ns,
                    end_ns,
                    status,
                    attrs,
                    _events(js.logs) if js.logs else (),
                    links,
                    process,
                )
            )
        except (BadId, ValueError, TypeError, OverflowError) as e:
            sink.skip(f"span {js.span_id!r}: {e}; span skipped", reason="malformed span")


def add_traces(traces: list[JTrace], sink: Sink) -> None:
    """Convert Jaeger trace objects (`{"traceID", "spans", "processes"}`) into `sink`."""
    for jt in traces:
        add_spans(jt.spans, sink, _processes(jt.processes), jt.trace_id)
