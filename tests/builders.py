"""Hand-built traces for tests: `trace(span("X", 0, 100, children=[span("A", 10, 40)]))`.

Times are whatever unit the test draws in (nanoseconds as far as tracelens knows). Span ids are
generated hex strings unless given; `names(tree, path)` turns a path back into (name, start, end).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracelens.model import AttributeValue, Event, Segment, Span, SpanKind, StatusCode, Trace

_ids = itertools.count(1)


@dataclass
class SpanSpec:
    name: str
    start: int
    end: int
    children: Sequence[SpanSpec] = ()
    service: str = "svc"
    kind: SpanKind = SpanKind.INTERNAL
    attrs: Mapping[str, AttributeValue] = field(default_factory=dict)
    span_id: str | None = None
    status: StatusCode = StatusCode.UNSET
    process: str = ""
    events: tuple[Event, ...] = ()


def span(
    name: str,
    start: int,
    end: int,
    children: Iterable[SpanSpec] = (),
    *,
    service: str = "svc",
    kind: SpanKind = SpanKind.INTERNAL,
    attrs: Mapping[str, AttributeValue] | None = None,
    span_id: str | None = None,
    status: StatusCode = StatusCode.UNSET,
    process: str = "",
    events: tuple[Event, ...] = (),
) -> SpanSpec:
    return SpanSpec(
        name,
        start,
        end,
        tuple(children),
        service,
        kind,
        dict(attrs or {}),
        span_id,
        status,
        process,
        events,
    )


def flatten(
    root: SpanSpec, trace_id: str = "0af7651916cd43dd8448eb211c80319c", parent_id: str | None = None
) -> list[Span]:
    """Depth-first list of Spans with parent ids filled in (iterative: deep chains are fine)."""
    out: list[Span] = []
    stack: list[tuple[SpanSpec, str | None]] = [(root, parent_id)]
    while stack:
        spec, parent = stack.pop()
        sid = spec.span_id or f"{next(_ids):016x}"
        out.append(
            Span(
                trace_id=trace_id,
                span_id=sid,
                parent_id=parent,
                service=spec.service,
                name=spec.name,
                kind=spec.kind,
                start_ns=spec.start,
                end_ns=spec.end,
                status=spec.status,
                attributes=dict(spec.attrs),
                events=spec.events,
                process=spec.process or spec.service,
            )
        )
        stack.extend((child, sid) for child in reversed(spec.children))
    return out


def trace(
    root: SpanSpec, *extra: Span, trace_id: str = "0af7651916cd43dd8448eb211c80319c"
) -> Trace:
    return Trace(trace_id=trace_id, spans=(*flatten(root, trace_id), *extra))


def names(
    spans_by_id: Mapping[str, Span] | Iterable[Span], path: Sequence[Segment]
) -> list[tuple[str, int, int]]:
    """(span name, start, end) for each segment, for readable assertions."""
    by_id = spans_by_id if isinstance(spans_by_id, Mapping) else {s.span_id: s for s in spans_by_id}
    return [(by_id[s.span_id].name, s.start_ns, s.end_ns) for s in path]


def demo_file(path: Path, requests: int, *options: str) -> Path:
    """`tracelens demo --out PATH` in a subprocess (the demo's OTLP JSON lines, as the SDK's
    batch exporter writes them), with `options` such as `--inject`, `--seed`."""
    subprocess.run(
        [
            *(sys.executable, "-m", "tracelens", "demo", "--out", str(path)),
            *("--requests", str(requests), *options),
        ],
        check=True,
        capture_output=True,
    )
    return path


def once_it_has_children(pid: int, timeout_s: float = 60.0) -> None:
    """Wait until the process has started a child (a worker pool, a cluster), so that a signal
    sent next reaches a run in progress however loaded or fast the machine is."""
    import time

    import psutil

    began = time.monotonic()
    while not psutil.Process(pid).children() and time.monotonic() - began < timeout_s:
        time.sleep(0.05)


def with_default_ctrl_c() -> None:
    """A child's Ctrl-C as a terminal gives it (Popen's preexec_fn): a child inherits an ignored
    SIGINT, and Python then leaves it ignored, so a test run after one that ignores it would
    send a signal the run never sees."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
