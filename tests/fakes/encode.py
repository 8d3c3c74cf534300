"""tracelens `Trace`s in each backend's JSON shape (backends.md §2 and §3), for the fake servers.

    jaeger_v1_trace(trace)                    # /api/traces/{id} `data[0]`
    otlp_v3(trace, ids="base64", enums="string")["result"]   # Jaeger api_v3 as 1.53 writes it
    tempo_v1(trace), tempo_v2(trace)          # /api/traces/{id}, /api/v2/traces/{id}
    tempo_search_entry(trace, matched, spss)  # one entry of /api/search `traces`

Jaeger v1 times are whole microseconds: `startTime = start_ns // 1000` and `duration =
end_ns // 1000 - start_ns // 1000`, so a span's end in µs is `end_ns // 1000` and a child that
ends with its parent in ns still ends with it in µs.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Literal

from tracelens.model import AttributeValue, Span, SpanKind, StatusCode, Trace
from tracelens.otlp_json import trace_to_otlp

_KIND_TAGS = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
MAX_SAFE_INT = 2**53 - 1
NO_ROOT = "<root span not yet received>"


# -- trace-level facts both backends report ---------------------------------------------------


def root_span(trace: Trace) -> Span | None:
    """The span whose parent is not in the trace (the earliest if several); None for a cycle."""
    ids = {s.span_id for s in trace.spans}
    roots = [s for s in trace.spans if s.parent_id not in ids]
    return min(roots, key=lambda s: s.start_ns) if roots else None


def bounds_ns(trace: Trace) -> tuple[int, int]:
    """(min start, max end) over the spans: Jaeger's and Tempo's idea of the trace's extent."""
    return min(s.start_ns for s in trace.spans), max(s.end_ns for s in trace.spans)


def jaeger_trace_id(trace_id: str) -> str:
    """The id as Jaeger v1 prints it: 16 chars when the high 64 bits are zero."""
    return trace_id[16:] if trace_id.startswith("0" * 16) else trace_id


def resource_attributes(span: Span) -> dict[str, AttributeValue]:
    """The resource attributes `trace_to_otlp` writes for the span's process."""
    attrs: dict[str, AttributeValue] = {"service.name": span.service}
    if span.process and span.process != span.service:
        attrs["service.instance.id"] = span.process
    return attrs


# -- Jaeger v1 ----------------------------------------------------------------------------------


def _tag(key: str, value: AttributeValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):  # beyond 2^53 Jaeger writes the number as a string
        big = abs(value) > MAX_SAFE_INT
        return {"key": key, "type": "int64", "value": str(value) if big else value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    return {"key": key, "type": "string", "value": str(value)}


def jaeger_tags(span: Span) -> dict[str, AttributeValue]:
    """The span's tags as Jaeger's OTLP translator writes them (kind, status, then attributes)."""
    tags: dict[str, AttributeValue] = dict(span.attributes)
    if span.kind in _KIND_TAGS:
        tags["span.kind"] = _KIND_TAGS[span.kind]
    if span.status == StatusCode.ERROR:
        tags["error"] = True
        tags["otel.status_code"] = "ERROR"
    elif span.status == StatusCode.OK:
        tags["otel.status_code"] = "OK"
    return tags


def _hostname(span: Span) -> str:
    # tracelens names a Jaeger process "service@host"; write back the host alone
    return span.process.removeprefix(f"{span.service}@")


def jaeger_v1_trace(trace: Trace) -> dict[str, Any]:
    """The trace object of `/api/traces/{id}`: one process per (service, process) pair."""
    tid = jaeger_trace_id(trace.trace_id)
    process_ids: dict[tuple[str, str], str] = {}
    processes: dict[str, Any] = {}
    spans = []
    for s in trace.spans:
        key = (s.service, s.process)
        if key not in process_ids:
            pid = process_ids[key] = f"p{len(process_ids) + 1}"
            host = s.process and s.process != s.service
            processes[pid] = {
                "serviceName": s.service,
                "tags": [_tag("hostname", _hostname(s))] if host else [],
            }
        parents = [("CHILD_OF", s.parent_id)] if s.parent_id else []
        links = [
            ("FOLLOWS_FROM", link) for link in s.links
        ]  # after the parent, as Jaeger puts them
        refs = [{"refType": r, "traceID": tid, "spanID": sid} for r, sid in parents + links]
        logs = [
            {
                "timestamp": e.time_ns // 1000,
                "fields": [_tag("event", e.name)] + [_tag(k, v) for k, v in e.attributes.items()],
            }
            for e in s.events
        ]
        spans.append(
            {
                "traceID": tid,
                "spanID": s.span_id,
                "operationName": s.name,
                "references": refs,
                "startTime": s.start_ns // 1000,
                "duration": s.end_ns // 1000 - s.start_ns // 1000,
                "tags": [_tag(k, v) for k, v in jaeger_tags(s).items()],
                "logs": logs,
                "processID": process_ids[key],
                "warnings": None,
            }
        )
    return {"traceID": tid, "spans": spans, "processes": processes, "warnings": None}


# -- OTLP shapes: Jaeger api_v3 and Tempo -------------------------------------------------------


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _recode(
    resource_spans: list[dict[str, Any]], ids: str, enums: str, empty_parent: bool
) -> list[dict[str, Any]]:
    """Rewrite trace_to_otlp's spans in place: id encoding, enum form, defaults omitted."""
    for rs in resource_spans:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for holder in (span, *span.get("links", ())):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if holder.get(key) and ids == "base64":
                            holder[key] = _b64(holder[key])
                if empty_parent:
                    span.setdefault("parentSpanId", "")  # as Jaeger 1.53 wrote roots
                kind = span.pop("kind")
                if kind:
                    span["kind"] = f"SPAN_KIND_{SpanKind(kind).name}" if enums == "string" else kind
                code = span["status"].get("code")
                if code and enums == "string":
                    span["status"]["code"] = f"STATUS_CODE_{StatusCode(code).name}"
                if not span["attributes"]:
                    del span["attributes"]
    return resource_spans


def otlp_v3(
    trace: Trace,
    ids: Literal["hex", "base64"] = "hex",
    enums: Literal["int", "string"] = "int",
) -> dict[str, Any]:
    """Jaeger api_v3 `{"result": {"resourceSpans": …}}`; 1.53 wrote base64 ids and enum names."""
    resource_spans = trace_to_otlp(trace)["resourceSpans"]
    return {"result": {"resourceSpans": _recode(resource_spans, ids, enums, ids == "base64")}}


def _tempo_resource_spans(trace: Trace) -> list[dict[str, Any]]:
    """Tempo's JSON (gogo jsonpb): base64 ids, enum names, one resource entry per span.

    Tempo combines a trace from many ingested batches without merging resources, so the same
    resource repeats; one entry per span is the extreme case a client must group.
    """
    out = []
    for span in trace.spans:
        one = Trace(trace.trace_id, (span,))
        out.extend(_recode(trace_to_otlp(one)["resourceSpans"], "base64", "string", False))
    return out


def tempo_v1(trace: Trace) -> dict[str, Any]:
    """`GET /api/traces/{id}`: `{"batches": […]}`."""
    return {"batches": _tempo_resource_spans(trace)}


def tempo_v2(trace: Trace) -> dict[str, Any]:
    """`GET /api/v2/traces/{id}` (Tempo 2.6+): `{"trace": {"resourceSpans": […]}}`."""
    return {"trace": {"resourceSpans": _tempo_resource_spans(trace)}}


# -- search metadata ----------------------------------------------------------------------------


def tempo_search_entry(trace: Trace, matched: Sequence[Span], spss: int = 3) -> dict[str, Any]:
    """One `/api/search` result: trimmed hex id, root, start, durationMs (absent under 1 ms)."""
    start, end = bounds_ns(trace)
    root = root_span(trace)
    entry: dict[str, Any] = {"traceID": trace.trace_id.lstrip("0") or "0"}
    entry["rootServiceName"] = root.service if root else NO_ROOT
    if root:
        entry["rootTraceName"] = root.name
    entry["startTimeUnixNano"] = str(start)
    if duration_ms := (end - start) // 1_000_000:
        entry["durationMs"] = duration_ms
    shown = matched if spss == 0 else matched[:spss]
    span_set = {
        "spans": [
            {
                "spanID": s.span_id,
                "name": s.name,
                "startTimeUnixNano": str(s.start_ns),
                "durationNanos": str(s.duration_ns),
                "attributes": [{"key": "service.name", "value": {"stringValue": s.service}}],
            }
            for s in shown
        ],
        "matched": len(matched),
    }
    entry["spanSet"] = span_set  # deprecated duplicate of spanSets[0], still sent
    entry["spanSets"] = [span_set]
    return entry


def jaeger_v3_summary(trace: Trace) -> dict[str, Any]:
    """One `/api/v3/trace-summaries` entry (2.19+); zero-valued fields omitted as protojson does."""
    start, end = bounds_ns(trace)
    root = root_span(trace)
    ids = {s.span_id for s in trace.spans}
    services: dict[str, dict[str, Any]] = {}
    for s in trace.spans:
        entry = services.setdefault(s.service, {"name": s.service, "spanCount": 0})
        entry["spanCount"] += 1
        if s.status == StatusCode.ERROR:
            entry["errorSpanCount"] = entry.get("errorSpanCount", 0) + 1
    summary: dict[str, Any] = {
        "traceId": trace.trace_id,
        "rootServiceName": root.service if root else "",
        "rootOperationName": root.name if root else "",
        "minStartTimeUnixNano": str(start),
        "maxEndTimeUnixNano": str(end),
        "spanCount": len(trace.spans),
        "errorSpanCount": sum(s.status == StatusCode.ERROR for s in trace.spans),
        "orphanSpanCount": sum(bool(s.parent_id) and s.parent_id not in ids for s in trace.spans),
        "services": list(services.values()),
    }
    return {k: v for k, v in summary.items() if v not in (0, "", "0", [])}
