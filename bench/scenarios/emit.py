"""Replay `Node` trees through the real OpenTelemetry SDK and convert what it exports.

    emitter = Emitter()
    sdk_spans = emitter.emit(root, id_key="7:12", clock_offset_ns={"pricing-2": 210 * MS})
    trace = to_trace(sdk_spans)          # tracelens.model.Trace
    line = otlp_json_line(sdk_spans)     # one ExportTraceServiceRequest as OTLP JSON, hex ids

Each (service, host) gets its own TracerProvider (resource: service.name, host.name, the SDK's
language) with a SimpleSpanProcessor into one InMemorySpanExporter; ids come from a generator
reseeded per request, so a corpus is the same bytes for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, Status, StatusCode, Tracer, set_span_in_context

from bench.scenarios.plan import Node
from tracelens.model import AttributeValue, Event, Span, SpanKind, Trace
from tracelens.model import StatusCode as ModelStatus
from tracelens.otlp_json import sdk_spans_to_otlp_line

SDK_VERSIONS = {
    "nodejs": "1.30.1",
    "java": "1.49.0",
    "go": "1.35.0",
    "python": "1.33.1",
    "dotnet": "1.11.2",
}


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded stream, reseeded per request (`reseed("seed:index")`)."""

    def __init__(self) -> None:
        self._rng = random.Random(0)

    def reseed(self, key: str) -> None:
        self._rng = random.Random(f"ids:{key}")

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


class Emitter:
    """Owns the exporter, the id generator and one TracerProvider per (service, host)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.ids = SeededIds()
        self._providers: dict[tuple[str, str], TracerProvider] = {}
        self._tracers: dict[tuple[str, str, str], Tracer] = {}

    def _tracer(self, node: Node, host: str) -> Tracer:
        key = (node.svc.name, host, node.scope)
        tracer = self._tracers.get(key)
        if tracer is None:
            provider = self._providers.get(key[:2])
            if provider is None:
                lang = node.svc.language
                resource = Resource(
                    {
                        "service.name": node.svc.name,
                        "service.namespace": node.svc.namespace,
                        "host.name": host,
                        "telemetry.sdk.name": "opentelemetry",
                        "telemetry.sdk.language": lang,
                        "telemetry.sdk.version": SDK_VERSIONS.get(lang, "1.0.0"),
                    }
                )
                provider = TracerProvider(
                    resource=resource, id_generator=self.ids, shutdown_on_exit=False
                )
                provider.add_span_processor(SimpleSpanProcessor(self.exporter))
                self._providers[key[:2]] = provider
            tracer = self._tracers[key] = provider.get_tracer(node.scope or node.svc.name)
        return tracer

    def emit(
        self, root: Node, id_key: str, clock_offset_ns: Mapping[str, int] | None = None
    ) -> tuple[ReadableSpan, ...]:
        """Create, fill and end every span of one request; return what the SDK exported.

        `clock_offset_ns` maps a host to how far its clock runs ahead of true time: its spans'
        timestamps carry the offset, as a skewed host's would.
        """
        offsets = clock_offset_ns or {}
        self.ids.reseed(id_key)
        order: list[tuple[Node, Node | None]] = []
        stack: list[tuple[Node, Node | None]] = [(root, None)]
        while stack:  # pre-order, so parents and link targets start first
            node, parent = stack.pop()
            order.append((node, parent))
            stack.extend((c, node) for c in reversed(node.children))
        started: dict[int, SdkSpan] = {}
        for node, parent in order:
            host = node.host or node.svc.hosts[0]
            shift = offsets.get(host, 0)
            ctx = set_span_in_context(started[id(parent)]) if parent else Context()
            links = [Link(started[id(t)].get_span_context()) for t in node.links]
            span = self._tracer(node, host).start_span(
                node.name,
                context=ctx,
                kind=node.kind,
                attributes=node.attrs,
                links=links,
                start_time=node.start_ns + shift,
            )
            for at_ns, name, attrs in node.events:
                span.add_event(name, attrs, timestamp=at_ns + shift)
            if node.error is not None:
                span.set_status(Status(StatusCode.ERROR, node.error))
            assert isinstance(span, SdkSpan)
            started[id(node)] = span
        for node, _ in reversed(order):  # children end before their parents, as in real code
            host = node.host or node.svc.hosts[0]
            started[id(node)].end(end_time=node.end_ns + offsets.get(host, 0))
        spans = self.exporter.get_finished_spans()
        self.exporter.clear()
        return spans

    def shutdown(self) -> None:
        for provider in self._providers.values():
            provider.shutdown()


def _hex(span_id: int, digits: int) -> str:
    return format(span_id, f"0{digits}x")


def _scalar(value: object) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Sequence):
        return ",".join(str(v) for v in value)
    return str(value)


def to_span(s: ReadableSpan) -> Span:
    """One exported SDK span as a tracelens Span: hex ids, ns times, service and process
    ("service@host") from the resource."""
    ctx = s.context
    assert ctx is not None
    assert s.start_time is not None
    assert s.end_time is not None
    res = s.resource.attributes
    service = str(res.get("service.name", ""))
    host = res.get("host.name")
    return Span(
        trace_id=_hex(ctx.trace_id, 32),
        span_id=_hex(ctx.span_id, 16),
        parent_id=_hex(s.parent.span_id, 16) if s.parent is not None else None,
        service=service,
        name=s.name,
        kind=SpanKind[s.kind.name],
        start_ns=s.start_time,
        end_ns=s.end_time,
        status=ModelStatus[s.status.status_code.name],
        attributes={k: _scalar(v) for k, v in s.attributes.items()} if s.attributes else {},
        events=tuple(
            Event(e.timestamp, e.name, {k: _scalar(v) for k, v in (e.attributes or {}).items()})
            for e in s.events
        ),
        links=tuple(
            _hex(link.context.span_id, 16)
            for link in s.links
            if link.context.trace_id == ctx.trace_id
        ),
        process=f"{service}@{host}" if host else service,  # as tracelens's OTLP reader names it
    )


def to_trace(spans: Sequence[ReadableSpan], origin: str = "") -> Trace:
    """One request's exported spans (all of one trace id) as a Trace, in export order."""
    converted = tuple(to_span(s) for s in spans)
    return Trace(trace_id=converted[0].trace_id, spans=converted, origin=origin)


def otlp_json_line(spans: Sequence[ReadableSpan]) -> str:
    """One ExportTraceServiceRequest in OTLP JSON (integer enums, int64 as strings, hex ids)."""
    return sdk_spans_to_otlp_line(spans)
