"""Trace files -> `Trace`s: `read_traces(path, issues)` streams a file, a directory or stdin.

Reads Jaeger query-API JSON (envelopes, trace objects, span dumps with embedded processes, one
trace per line), OTLP/JSON (TracesData, export requests one per line, Tempo `batches` and
`{"trace": …}`, Jaeger api_v3 `{"result": …}`), and Zipkin v2 JSON, plain or gzip, recognised by
content alone. Ids come out as lowercase hex (32 for traces, 16 for spans), times in ns.

    issues: list[ReadIssue] = []
    for trace in read_traces("traces.jsonl.gz", issues):
        ...
    # issues: one ReadIssue("file:line", why, unit, count) per file, line, trace or span skipped

`parse_json(body, origin)` converts one JSON document given as bytes (an HTTP response), by the
typed fast path where its shape allows; `parse_document(obj, origin)` one already decoded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from tracelens.model import ReadIssue, Trace
from tracelens.readers.detect import add_document, add_json, paused_gc
from tracelens.readers.group import Sink
from tracelens.readers.stream import read_path

__all__ = ["parse_document", "parse_json", "read_traces"]


def read_traces(
    path: str | os.PathLike[str], issues: list[ReadIssue] | None = None
) -> Iterator[Trace]:
    """Every trace in a file, a directory (recursively, sorted) or "-" (stdin).

    Raises SourceError for a file it cannot read at all. Bad traces, lines and spans are
    appended to `issues` and skipped; with `issues` None the first of them raises SourceError.
    """
    return read_path(path, issues)


def parse_document(obj: Any, origin: str, issues: list[ReadIssue] | None = None) -> list[Trace]:
    """The traces in one decoded JSON document of any supported shape.

    Raises SourceError when `obj` is not traces (unknown shape, metadata only, an error
    response, Zipkin v1); bad traces or spans go to `issues`, or raise when it is None.
    """
    sink = Sink(origin, issues)
    with paused_gc():
        add_document(obj, sink)
    return list(sink.traces())


def parse_json(body: bytes, origin: str, issues: list[ReadIssue] | None = None) -> list[Trace]:
    """The traces in one JSON document given as bytes, of any supported shape.

    Raises msgspec.DecodeError when `body` is not JSON and SourceError when it is not traces.
    """
    sink = Sink(origin, issues)
    add_json(body, sink)
    return list(sink.traces())
