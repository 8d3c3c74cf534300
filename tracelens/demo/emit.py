"""Simulated spans -> real OpenTelemetry SDK spans: `emit(requests, processor, ids) -> span count`.

One `TracerProvider` per pod (a resource is bound to its provider: `service.name`, `host.name`,
`k8s.pod.name`, the SDK language of the stack), all feeding the same span processor. Spans are
started with their simulated start time and ended at once with their simulated end time; the SDK
assigns ids from `SeededIdGenerator`, so a seed fixes trace and span ids too.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator

from tracelens.demo.world import POD_NODE, Request, SimSpan
from tracelens.model import StatusCode

_LANGUAGES = {
    "node": "nodejs",
    "java": "java",
    "python": "python",
    "dotnet": "dotnet",
    "envoy": "cpp",
    "cdn": "rust",
}
_KINDS = {
    1: trace_api.SpanKind.INTERNAL,
    2: trace_api.SpanKind.SERVER,
    3: trace_api.SpanKind.CLIENT,
    4: trace_api.SpanKind.PRODUCER,
    5: trace_api.SpanKind.CONSUMER,
}


class SeededIdGenerator(IdGenerator):
    """Trace and span ids drawn from a seeded `random.Random`: the same seed, the same ids."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1  # 0 is the invalid id

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


class Emitter:
    """The providers of one demo run, sharing one processor and one id generator."""

    def __init__(self, processor: SpanProcessor, ids: IdGenerator) -> None:
        self._processor = processor
        self._ids = ids
        self._providers: dict[tuple[str, str], TracerProvider] = {}
        self._tracers: dict[tuple[str, str, str], trace_api.Tracer] = {}
        self.spans = 0

    def _tracer(self, span: SimSpan) -> trace_api.Tracer:
        key = (span.service.name, span.pod, span.scope)
        tracer = self._tracers.get(key)
        if tracer is None:
            provider = self._providers.get(key[:2])
            if provider is None:
                attrs: dict[str, str] = {
                    "service.name": span.service.name,
                    "service.namespace": "medisearch",
                    "host.name": span.pod,
                    "telemetry.sdk.name": "opentelemetry",
                    "telemetry.sdk.language": _LANGUAGES[span.service.stack],
                }
                if span.service.stack != "cdn":  # the edge runs outside the cluster
                    attrs["k8s.pod.name"] = span.pod
                    attrs["k8s.node.name"] = POD_NODE.get(span.pod, "")
                    attrs["k8s.namespace.name"] = (
                        "istio-system"
                        if span.service.stack == "envoy" and "gateway" in span.pod
                        else "prod"
                    )
                resource = Resource(attrs)
                provider = TracerProvider(
                    resource=resource, id_generator=self._ids, shutdown_on_exit=False
                )
                provider.add_span_processor(self._processor)
                self._providers[key[:2]] = provider
            tracer = provider.get_tracer(span.scope or span.service.stack)
            self._tracers[key] = tracer
        return tracer

    def emit(self, root: SimSpan) -> None:
        """Start and end every span of one simulated trace, parents before children."""
        stack: list[tuple[SimSpan, Context]] = [(root, Context())]
        while stack:
            sim, parent_ctx = stack.pop()
            span = self._tracer(sim).start_span(
                sim.name,
                context=parent_ctx,
                kind=_KINDS[int(sim.kind)],
                attributes=sim.attributes,
                start_time=sim.start_ns,
            )
            for time_ns, name, attrs in sim.events:
                span.add_event(name, attrs, timestamp=time_ns)
            if sim.status == StatusCode.ERROR:
                span.set_status(
                    trace_api.Status(trace_api.StatusCode.ERROR, sim.status_message or None)
                )
            span.end(end_time=sim.end_ns)
            self.spans += 1
            ctx = trace_api.set_span_in_context(span, Context())
            stack.extend((child, ctx) for child in reversed(sim.children))

    def shutdown(self) -> None:
        """Flush and shut down every provider (the shared processor shuts down once)."""
        for provider in self._providers.values():
            provider.force_flush()
        for provider in self._providers.values():
            provider.shutdown()
        if not self._providers:
            self._processor.shutdown()


def emit(requests: Iterable[Request], processor: SpanProcessor, ids: IdGenerator) -> int:
    """Emit every request's spans through `processor`, then flush and shut down; count the spans."""
    emitter = Emitter(processor, ids)
    try:
        for request in requests:
            emitter.emit(request.root)
    finally:
        emitter.shutdown()
    return emitter.spans
