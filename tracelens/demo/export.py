"""Where the demo's spans go: `exporter_for(...) -> SpanExporter` and `processor_for(exporter)`.

Three real exporters: the local store (`StoreExporter`, the default), a file of OTLP JSON lines
(`JsonLinesExporter`: one ExportTraceServiceRequest per line, ids in hex as the OTLP JSON spec
asks), and any OTLP receiver through `opentelemetry-exporter-otlp` (HTTP/protobuf or gRPC).
`CountingExporter` wraps any of them so the demo can say how many spans made it, and fail loudly
when a receiver refused them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tracelens.errors import TracelensError
from tracelens.model import AttributeValue, Event, Span, SpanKind, StatusCode, Trace
from tracelens.otlp_json import sdk_spans_to_otlp_line
from tracelens.sources.store import LocalStore

PROTOCOLS = ("http/protobuf", "grpc")


def processor_for(exporter: SpanExporter, spans_expected: int = 0) -> BatchSpanProcessor:
    """A batch processor whose queue never drops: the demo emits a whole window at once."""
    return BatchSpanProcessor(
        exporter,
        max_queue_size=max(2048, spans_expected + 1),
        max_export_batch_size=2048,
        schedule_delay_millis=200,
    )


class CountingExporter(SpanExporter):
    """Passes batches on and counts what the wrapped exporter accepted and refused."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class FanoutExporter(SpanExporter):
    """Sends every batch to several exporters: one processor, several destinations."""

    def __init__(self, exporters: Sequence[SpanExporter]) -> None:
        self.exporters = tuple(exporters)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        results = [e.export(spans) for e in self.exporters]
        ok = all(r == SpanExportResult.SUCCESS for r in results)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        for e in self.exporters:
            e.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(e.force_flush(timeout_millis) for e in self.exporters)


def to_model_span(span: ReadableSpan) -> Span:
    """An SDK span as tracelens's `Span`: hex ids, OTLP kind numbers, scalar attributes."""
    ctx = span.get_span_context()
    assert ctx is not None  # SDK spans always carry a context
    resource = span.resource.attributes
    return Span(
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        parent_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        service=str(resource.get("service.name", "unknown_service")),
        name=span.name,
        kind=SpanKind[span.kind.name],
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        status=StatusCode[span.status.status_code.name],
        attributes=_scalars(span.attributes or {}),
        events=tuple(Event(e.timestamp, e.name, _scalars(e.attributes or {})) for e in span.events),
        links=tuple(f"{link.context.span_id:016x}" for link in span.links),
        process=str(resource.get("k8s.pod.name") or resource.get("host.name") or ""),
    )


def _scalars(attrs: Any) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key, value in attrs.items():
        if isinstance(value, str | int | float | bool):
            out[key] = value
        else:  # sequences: the model keeps attributes flat
            out[key] = json.dumps(list(value))
    return out


class StoreExporter(SpanExporter):
    """Collects spans and, on `commit()`, writes them to a `LocalStore` as whole traces.

    A trace's spans arrive in many batches, and the store indexes whole traces, so nothing is
    written before the end of the run (the demo emits a closed window; a long-running collector
    would flush traces once they go quiet). `shutdown()` alone writes nothing: a run stopped
    part-way (Ctrl-C, SIGTERM, lost spans) leaves the store as it was.
    """

    def __init__(self, store: LocalStore, *, replace: bool = True) -> None:
        self.store = store
        self.replace = replace
        self.traces_written = 0
        self._spans: dict[str, list[Span]] = {}
        self._done = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._done:
            return SpanExportResult.FAILURE
        for s in spans:
            m = to_model_span(s)
            self._spans.setdefault(m.trace_id, []).append(m)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._done = True

    def commit(self) -> None:
        """Write every collected trace, replacing the store's traces unless appending."""
        traces = [Trace(tid, tuple(spans)) for tid, spans in self._spans.items()]
        self.traces_written = self.store.write(traces, replace=self.replace)
        self._spans.clear()

    def discard(self) -> None:
        """Forget what was collected and not committed."""
        self._spans.clear()


class JsonLinesExporter(SpanExporter):
    """OTLP JSON lines: each exported batch becomes one ExportTraceServiceRequest on one line.

    Written to a temp file beside `path` and renamed over it by `commit()`; `discard()` removes
    the temp file instead, so a run stopped part-way leaves any earlier file as it was.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self._file = open(self._tmp, "w", encoding="utf-8")  # noqa: SIM115 - closed in shutdown
        except OSError as e:
            raise TracelensError(f"cannot write {self.path}: {e.strerror}") from e
        self.lines = 0
        self._committed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._file.closed:
            return SpanExportResult.FAILURE
        self._file.write(sdk_spans_to_otlp_line(spans) + "\n")
        self.lines += 1
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def commit(self) -> None:
        """Put the complete file in place with one atomic rename."""
        self.shutdown()
        os.replace(self._tmp, self.path)
        self._committed = True

    def discard(self) -> None:
        """Remove the temp file unless it was committed."""
        self._file.close()
        if not self._committed:
            self._tmp.unlink(missing_ok=True)


def otlp_exporter(endpoint: str, protocol: str = "http/protobuf") -> SpanExporter:
    """The standard OTLP exporter for `endpoint` (e.g. http://localhost:4318 or :4317 for gRPC)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parts.hostname:
        raise TracelensError(
            f"--otlp-endpoint {endpoint!r} is not a URL like http://localhost:4318"
        )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=parts.netloc, insecure=parts.scheme != "https", timeout=10)
    if protocol != "http/protobuf":
        raise TracelensError(f"unknown OTLP protocol {protocol!r}: use http/protobuf or grpc")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    # A URL without a path is the collector's base URL, as in OTEL_EXPORTER_OTLP_ENDPOINT.
    path = parts.path if parts.path not in ("", "/") else "/v1/traces"
    return HttpExporter(endpoint=f"{parts.scheme}://{parts.netloc}{path}", timeout=10)
