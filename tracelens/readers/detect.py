"""Recognise a JSON trace document by its content and convert it: `add_json(data, sink)`.

Two paths give the same spans. The fast path decodes bytes straight into typed wire structs
(msgspec, garbage collector paused), picking the types from the top-level keys or, for arrays,
from the first element's keys. Anything it cannot take whole (snake_case OTLP, a bad trace among
good ones, odd shapes) goes to the robust path, `add_document(obj, sink)`, which walks the
decoded JSON by its keys (backends.md §6) and converts each trace on its own, so one bad trace
becomes an issue instead of losing the file. Unknown shapes, metadata-only payloads (Tempo search
results, Jaeger trace summaries), error responses and Zipkin v1 raise SourceError.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from tracelens.errors import SourceError
from tracelens.model import Unit
from tracelens.readers import jaeger, otlp, zipkin
from tracelens.readers.group import Sink
from tracelens.readers.otlp import NO_RAW

T = TypeVar("T")


class _Top(msgspec.Struct, gc=False):
    """Every top-level object shape the fast path takes, typed; anything else is left unset."""

    data: list[jaeger.JTrace] | jaeger.JTrace | None = None
    spans: list[jaeger.JSpan] | None = None
    processes: dict[str, jaeger.Process] | None = None
    jaeger_trace_id: msgspec.Raw = msgspec.field(name="traceID", default=NO_RAW)
    resource_spans: list[otlp.ResourceSpans] | None = msgspec.field(
        name="resourceSpans", default=None
    )
    batches: list[otlp.ResourceSpans] | None = None
    result: otlp.TracesData | None = None
    trace: otlp.TracesData | None = None
    snake: msgspec.Raw = msgspec.field(name="resource_spans", default=NO_RAW)  # robust path


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.json.Decoder(kind, strict=False)
    return dec


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC: its passes over millions of fresh objects double decode time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_KEY = re.compile(rb'"([A-Za-z_]+)"\s*:')
_SPACE = re.compile(rb"\s*")
_SNAKE_KEYS = (b"resource_spans", b"scope_spans", b"instrumentation_library_spans", b"span_id")


def _first_keys(data: bytes | msgspec.Raw, at: int) -> set[bytes]:
    """Keys seen near `at`: enough to tell what the first array element is."""
    return set(_KEY.findall(data, at, at + 65536))


def _fast(data: bytes | msgspec.Raw, sink: Sink) -> bool:
    """Decode `data` with typed structs into `sink`; False if it must take the robust path."""
    at = _SPACE.match(data).end()  # type: ignore[union-attr]  # \s* always matches
    view = memoryview(data)
    head = view[at : at + 1].tobytes()
    if head == b"{":
        return _add_top(_decoder(_Top).decode(data), sink)
    if head != b"[":
        return False
    inner_at = _SPACE.match(data, at + 1).end()  # type: ignore[union-attr]
    inner = view[inner_at : inner_at + 1].tobytes()
    if inner == b"]":
        return True
    if inner == b"[":
        traces = _decoder(zipkin.TRACES).decode(data)
        zipkin.add_spans([s for trace in traces for s in trace], sink)
        return True
    keys = _first_keys(data, inner_at)
    if b"binaryAnnotations" in keys or any(k in keys for k in _SNAKE_KEYS):
        return False
    if b"spans" not in keys and b"spanID" in keys:
        jaeger.add_spans(_decoder(jaeger.SPANS).decode(data), sink)
        return True
    if b"traceId" in keys and b"id" in keys and b"resourceSpans" not in keys:
        zipkin.add_spans(_decoder(zipkin.SPANS).decode(data), sink)
        return True
    tops = _decoder(list[_Top]).decode(data)
    # Check every element before converting any, so a retry on the robust path can't double up.
    if not all(_recognised(top) for top in tops):
        return False
    for top in tops:
        _add_top(top, sink)
    return True


class _Envelope(msgspec.Struct, gc=False):
    data: list[msgspec.Raw] | None = None


def split_traces(data: bytes) -> list[msgspec.Raw] | None:
    """The elements of a list of whole Jaeger traces (`{"data": [...]}` or `[trace, ...]`).

    Each element is a complete trace, so they can be decoded and emitted one at a time, which
    keeps memory small and reuses it. None for every other shape (read as one document).
    """
    at = _SPACE.match(data).end()  # type: ignore[union-attr]  # \s* always matches
    head = data[at : at + 1]
    try:
        if head == b"{":
            envelope = msgspec.json.decode(data, type=_Envelope)
            return envelope.data
        if head == b"[":
            keys = _first_keys(data, at)
            if b"spans" in keys and b"traceID" in keys and b"resourceSpans" not in keys:
                return msgspec.json.decode(data, type=list[msgspec.Raw])
    except (msgspec.ValidationError, RecursionError):
        return None  # not a plain list of traces (or too deep): read as one document
    return None


def _recognised(top: _Top) -> bool:
    return (
        (
            top.data is not None
            or top.spans is not None
            or top.resource_spans is not None
            or top.batches is not None
            or top.result is not None
            or top.trace is not None
        )
        and not top.snake
        and not _snake_inside(top)
    )


def _snake_inside(top: _Top) -> bool:
    """True when camelCase resource spans hold snake_case scope spans (a mixed-style dump)."""
    for lst in (
        top.resource_spans,
        top.batches,
        top.result and top.result.resource_spans,
        top.trace and top.trace.resource_spans,
    ):
        if lst and any(rs.snake for rs in lst):
            return True
    return False


def _add_top(top: _Top, sink: Sink) -> bool:
    if not _recognised(top):
        return False
    if top.data is not None:
        jaeger.add_traces(top.data if isinstance(top.data, list) else [top.data], sink)
    if top.spans is not None:
        trace_id = msgspec.json.decode(top.jaeger_trace_id) if top.jaeger_trace_id else None
        jaeger.add_traces([jaeger.JTrace(top.spans, trace_id, top.processes)], sink)
    for doc in (top.result, top.trace):
        if doc is not None:
            otlp.add_traces_data(doc, sink)
    if top.resource_spans or top.batches:
        otlp.add_resource_spans((top.resource_spans or []) + (top.batches or []), sink)
    return True


def add_json(data: bytes | msgspec.Raw, sink: Sink) -> None:
    """Convert one JSON document (bytes) of any supported shape into `sink`.

    Raises msgspec.DecodeError when `data` is not JSON, SourceError when it is not traces.
    """
    with paused_gc():
        try:
            try:
                if _fast(data, sink):
                    return
            except msgspec.ValidationError:
                pass
            # The fast path converts only after a whole decode succeeded: nothing is in sink yet.
            add_document(_decoded(data), sink)
        except RecursionError as e:
            raise TooDeep(
                f"{sink.origin}: JSON nested deeper than {too_deep()} levels, more than any trace "
                "format needs; not read"
            ) from e


class TooDeep(SourceError):
    """JSON nested deeper than the decoders go: unreadable, rather than "not traces"."""


def too_deep() -> str:
    """The nesting depth the JSON decoders refuse (Python's recursion limit), for messages."""
    return f"{sys.getrecursionlimit():,}"


def _decoded(data: bytes | msgspec.Raw) -> Any:
    """The JSON value of `data`; numbers out of range of a float (`1e400`) become infinities.

    Raises msgspec.DecodeError when `data` is not JSON.
    """
    try:
        return msgspec.json.decode(data)
    except msgspec.ValidationError as e:  # msgspec refuses out-of-range numbers outright
        try:
            return json.loads(bytes(data))
        except ValueError:  # not JSON after all (or a number too long for int())
            raise msgspec.DecodeError(str(e)) from e


# ---- robust path: decoded JSON walked by its keys -------------------------------------------


def _describe(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(list(obj)[:6]) or "none"
        return f"a JSON object with keys {keys}"
    if isinstance(obj, list):
        return "a JSON array"
    return f"a JSON {type(obj).__name__}"


def _each(items: list[Any], kind: type[T], sink: Sink, label: str) -> Iterator[T]:
    """Each item converted to `kind`; one that does not fit is skipped with an issue."""
    for i, item in enumerate(items):
        try:
            yield msgspec.convert(item, kind, strict=False)
        except msgspec.ValidationError as e:
            if label == "span":
                sink.skip(f"{label} {i + 1}: {e}; skipped", reason="malformed span")
            else:
                spans = _spans_in(item)
                sink.skip(
                    f"{label} {i + 1}: {e}; skipped ({spans:,} spans)",
                    Unit.SPAN,
                    count=spans,
                    traces=1 if label == "trace" else 0,
                    reason=f"malformed {label}",
                )


def _spans_in(item: Any) -> int:
    """How many spans a decoded Jaeger trace or OTLP resourceSpans holds (what skipping costs)."""
    if not isinstance(item, dict):
        return 0
    spans = item.get("spans")
    if isinstance(spans, list):
        return len(spans)
    total = 0
    for key in ("scopeSpans", "instrumentationLibrarySpans"):
        lst = item.get(key)
        if isinstance(lst, list):
            total += sum(_spans_in(ss) for ss in lst)
    return total


def _add_jaeger_traces(traces: list[Any], sink: Sink) -> None:
    """Jaeger trace objects; in one that does not fit as a whole, each span on its own."""
    for i, item in enumerate(traces):
        try:
            jt = msgspec.convert(item, jaeger.JTrace, strict=False)
        except msgspec.ValidationError as e:
            spans = item.get("spans") if isinstance(item, dict) else None
            if not isinstance(spans, list):
                sink.skip(f"trace {i + 1}: {e}; skipped", Unit.TRACE, reason="malformed trace")
                continue
            rest = {k: v for k, v in item.items() if k != "spans"}
            try:
                shell = msgspec.convert({**rest, "spans": []}, jaeger.JTrace, strict=False)
            except msgspec.ValidationError:
                shell = jaeger.JTrace([])  # processes unreadable: services unknown
            good = list(_each(spans, jaeger.JSpan, sink, "span"))
            if not good:
                sink.emptied(shell.trace_id or f"{i + 1}")
                continue
            jt = jaeger.JTrace(good, shell.trace_id, shell.processes)
        jaeger.add_traces([jt], sink)


def _error_text(obj: dict[str, Any]) -> str | None:
    errors = obj.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        return str(first.get("msg", first) if isinstance(first, dict) else first)
    error = obj.get("error")
    if isinstance(error, dict):
        return str(error.get("message", error))
    if isinstance(error, str):
        return error
    return None


def _add_otlp(doc: dict[str, Any], sink: Sink) -> None:
    doc = otlp.camel_keys(doc)
    lists = [doc.get("resourceSpans"), doc.get("batches")]
    resource_spans = [rs for lst in lists if isinstance(lst, list) for rs in lst]
    otlp.add_resource_spans(_resource_spans(resource_spans, sink), sink)


def _resource_spans(items: list[Any], sink: Sink) -> list[otlp.ResourceSpans]:
    """OTLP resourceSpans; in one that does not fit as a whole (a number out of range in one
    span, say), each span on its own, so that one bad span does not cost its resource's others."""
    out: list[otlp.ResourceSpans] = []
    for i, item in enumerate(items):
        try:
            out.append(msgspec.convert(item, otlp.ResourceSpans, strict=False))
            continue
        except msgspec.ValidationError as e:
            error = e
        scopes = [item.get(k) for k in _SCOPE_KEYS] if isinstance(item, dict) else []
        if not any(isinstance(lst, list) for lst in scopes):
            sink.skip(
                f"resourceSpans {i + 1}: {error}; skipped",
                Unit.SPAN,
                count=0,
                reason="malformed resourceSpans",
            )
            continue
        try:
            resource = msgspec.convert(item.get("resource"), otlp.Resource | None, strict=False)
        except msgspec.ValidationError:
            resource = None  # its attributes unreadable: the service is unknown
        spans = [
            span
            for lst in scopes
            if isinstance(lst, list)
            for scope in lst
            if isinstance(scope, dict) and isinstance(scope.get("spans"), list)
            for span in scope["spans"]
        ]
        good = list(_each(spans, otlp.OSpan, sink, "span"))
        out.append(otlp.ResourceSpans(resource, [otlp.ScopeSpans(good)]))
    return out


_SCOPE_KEYS = ("scopeSpans", "instrumentationLibrarySpans")


def _is_otlp(obj: dict[str, Any]) -> bool:
    return "resourceSpans" in obj or "resource_spans" in obj or "batches" in obj


def _add_object(obj: dict[str, Any], sink: Sink) -> None:
    if "data" in obj:
        data = obj["data"]
        if data is None:
            why = _error_text(obj) or "no data"
            raise SourceError(f"{sink.origin}: holds an error response, not traces: {why}")
        _add_jaeger_traces(data if isinstance(data, list) else [data], sink)
    elif "spans" in obj and ("traceID" in obj or "processes" in obj):
        _add_jaeger_traces([obj], sink)
    elif _is_otlp(obj):
        _add_otlp(obj, sink)
    elif isinstance(obj.get("result"), dict) and _is_otlp(obj["result"]):
        _add_otlp(obj["result"], sink)
    elif "trace" in obj and isinstance(obj["trace"], dict):
        _add_otlp(obj["trace"], sink)  # Tempo v2; `{"trace": {}}` is "not found": no spans
    elif "summaries" in obj:
        raise SourceError(
            f"{sink.origin}: Jaeger trace summaries hold no spans; fetch the traces themselves"
        )
    elif "traces" in obj and isinstance(obj["traces"], list):
        raise SourceError(
            f"{sink.origin}: Tempo search results hold trace summaries, not spans; "
            "fetch the traces themselves"
        )
    elif "binaryAnnotations" in obj:
        raise SourceError(f"{sink.origin}: Zipkin v1 is not supported; export Zipkin v2 JSON")
    elif "traceID" in obj and "spanID" in obj:
        jaeger.add_spans(list(_each([obj], jaeger.JSpan, sink, "span")), sink)
    elif "traceId" in obj and "id" in obj:
        zipkin.add_spans(list(_each([obj], zipkin.ZSpan, sink, "span")), sink)
    elif (message := _error_text(obj)) is not None:
        raise SourceError(f"{sink.origin}: holds an error response, not traces: {message}")
    else:
        raise SourceError(f"{sink.origin}: not a trace format tracelens reads ({_describe(obj)})")


def _add_array(items: list[Any], sink: Sink) -> None:
    first = next((x for x in items if x is not None), None)
    if first is None:
        return
    if isinstance(first, list):
        for inner in items:
            if isinstance(inner, list):
                _add_array(inner, sink)
        return
    if not isinstance(first, dict):
        raise SourceError(
            f"{sink.origin}: not a trace format tracelens reads "
            f"(an array of {type(first).__name__})"
        )
    if any(isinstance(x, dict) and "binaryAnnotations" in x for x in items):
        raise SourceError(f"{sink.origin}: Zipkin v1 is not supported; export Zipkin v2 JSON")
    if "traceID" in first and "spanID" in first:
        jaeger.add_spans(list(_each(items, jaeger.JSpan, sink, "span")), sink)
    elif "traceId" in first and "id" in first:
        zipkin.add_spans(list(_each(items, zipkin.ZSpan, sink, "span")), sink)
    else:
        for item in items:
            if isinstance(item, dict):
                _add_object(item, sink)


def add_document(obj: Any, sink: Sink) -> None:
    """Convert one decoded JSON document of any supported shape into `sink`."""
    if isinstance(obj, dict):
        _add_object(obj, sink)
    elif isinstance(obj, list):
        _add_array(obj, sink)
    else:
        raise SourceError(f"{sink.origin}: not a trace format tracelens reads ({_describe(obj)})")


def add_whole_trace(part: bytes | msgspec.Raw, sink: Sink) -> None:
    """Add one whole trace of a Jaeger document (`split_traces`): a trace that is not valid JSON
    (bad UTF-8 inside a string, say) is left out and counted, not the whole file with it."""
    try:
        add_json(part, sink)
    except msgspec.DecodeError as e:
        sink.skip(f"not valid JSON ({e}); trace left out", Unit.TRACE, reason="not valid JSON")
