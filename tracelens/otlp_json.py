"""Traces out as OTLP/JSON, the format every backend and tracelens itself reads back.

    with open("traces.jsonl", "wb") as out:
        write_otlp_lines(traces, out)          # one ExportTraceServiceRequest per trace per line

Ids are lowercase hex as the OTLP/JSON spec says; int64 values are decimal strings.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from tracelens.model import AttributeValue, Span, Trace

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

_encoder = msgspec.json.Encoder()


def _value(v: AttributeValue) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _attributes(attrs: Iterable[tuple[str, AttributeValue]]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in attrs]


def _span(s: Span) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": s.trace_id,
        "spanId": s.span_id,
        "name": s.name,
        "kind": int(s.kind),
        "startTimeUnixNano": str(s.start_ns),
        "endTimeUnixNano": str(s.end_ns),
        "attributes": _attributes(s.attributes.items()),
        "status": {"code": int(s.status)} if s.status else {},
    }
    if s.parent_id:
        out["parentSpanId"] = s.parent_id
    if s.events:
        out["events"] = [
            {
                "timeUnixNano": str(e.time_ns),
                "name": e.name,
                "attributes": _attributes(e.attributes.items()),
            }
            for e in s.events
        ]
    if s.links:
        out["links"] = [{"traceId": s.trace_id, "spanId": link} for link in s.links]
    return out


def trace_to_otlp(trace: Trace) -> dict[str, Any]:
    """One ExportTraceServiceRequest holding the trace, one resource per emitting process."""
    by_process: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for s in trace.spans:
        by_process[(s.service, s.process)].append(s)
    resource_spans = []
    for (service, process), spans in by_process.items():
        attrs: list[tuple[str, AttributeValue]] = [("service.name", service)]
        if process and process != service:
            attrs.append(("service.instance.id", process))
        resource_spans.append(
            {
                "resource": {"attributes": _attributes(attrs)},
                "scopeSpans": [
                    {"scope": {"name": "tracelens"}, "spans": [_span(s) for s in spans]}
                ],
            }
        )
    return {"resourceSpans": resource_spans}


def write_otlp_lines(traces: Iterable[Trace], out: SupportsWrite[bytes]) -> int:
    """Write one JSON line per trace; returns the number of spans written."""
    spans = 0
    for trace in traces:
        out.write(_encoder.encode(trace_to_otlp(trace)))
        out.write(b"\n")
        spans += len(trace.spans)
    return spans


def sdk_spans_to_otlp_line(spans: Sequence[ReadableSpan]) -> str:
    """OpenTelemetry SDK spans as one ExportTraceServiceRequest line of OTLP JSON.

    The SDK's own encoder gives the protobuf message; protobuf's JSON mapping writes bytes as
    base64, so trace and span ids are turned into the hex the OTLP JSON spec asks for.
    """
    message: dict[str, Any] = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in message.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for holder in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if holder.get(key):
                            holder[key] = base64.b64decode(holder[key]).hex()
    return json.dumps(message, separators=(",", ":"))
